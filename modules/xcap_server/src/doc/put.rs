//! PUT of an element or attribute into a document (RFC 4825 §8.2): replace the node when it
//! exists, otherwise insert it where the selector says, and make sure a GET with the same
//! selector then returns exactly what was PUT (§8.2.5).

use std::ops::Range;

use roxmltree::{Document, Node};

use super::fragment::{self, ExpandedName};
use super::locate::{closest_ancestor, find_attribute, named_children, select_elements};
use super::parse::parse;
use super::selection::{select, Selection};
use super::text::{
    attribute_insertion_point, attribute_name, end_tag_start, is_xml_blank, splice, tag_name,
};
use crate::error::XcapError;
use xcap::node_selector::{Name, NodeSelector, Step, Terminal};
use xcap::xml_name::XML_NAMESPACE;

/// The document after a PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    pub doc: String,
    /// A new node was inserted (201), rather than an existing one replaced (200).
    pub created: bool,
}

/// One text replacement, and where the new node's text starts afterwards.
struct Edit {
    range: Range<usize>,
    replacement: String,
    node_start: usize,
}

/// PUTs the element `fragment` (white space around it ignored) at `selector`.
pub fn put_element(
    doc: &str,
    selector: &NodeSelector,
    fragment: &str,
) -> Result<PutOutcome, XcapError> {
    match selector.terminal {
        None => {}
        Some(Terminal::Namespaces) => return Err(XcapError::MethodNotAllowed { allow: "GET" }),
        Some(Terminal::Attribute(_)) => return Err(XcapError::UnsupportedMediaType),
    }
    let Some((last, parent_steps)) = selector.steps.split_last() else {
        return Err(XcapError::BadRequest("the node selector has no element step".to_string()));
    };
    let fragment = fragment.trim_matches(is_xml_blank);
    let document = parse(doc)?;
    let existing = select_elements(&document, &selector.steps);
    let (target, context) = match existing.as_slice() {
        [element] => (Some(*element), element.parent().unwrap_or(document.root())),
        [] => (None, parent_of_new(&document, parent_steps)?),
        _ => {
            return Err(XcapError::CannotInsert(
                "the node selector matches more than one element".to_string(),
            ))
        }
    };
    let body_name = fragment::check(fragment, context, last)?;
    let (edit, created) = match target {
        Some(element) => {
            let edit = Edit {
                range: element.range(),
                replacement: fragment.to_string(),
                node_start: element.range().start,
            };
            (edit, false)
        }
        None => (insertion(doc, context, last, &body_name, fragment)?, true),
    };
    let new_doc = splice(doc, edit.range, &edit.replacement);
    let inserted = edit.node_start..edit.node_start + fragment.len();
    if !selects_exactly(&new_doc, &selector.steps, inserted)? {
        return Err(XcapError::CannotInsert(
            "a GET of the node selector would not return the element PUT".to_string(),
        ));
    }
    Ok(PutOutcome { doc: new_doc, created })
}

/// PUTs the attribute value `value` (an XML AttValue without its quotes) at `selector`.
pub fn put_attribute(
    doc: &str,
    selector: &NodeSelector,
    value: &str,
) -> Result<PutOutcome, XcapError> {
    let name = match &selector.terminal {
        Some(Terminal::Attribute(name)) => name,
        Some(Terminal::Namespaces) => return Err(XcapError::MethodNotAllowed { allow: "GET" }),
        None => return Err(XcapError::UnsupportedMediaType),
    };
    let quote = quote_for(value)?;
    let document = parse(doc)?;
    let mut elements = select_elements(&document, &selector.steps);
    let element = match elements.len() {
        1 => elements.remove(0),
        0 => {
            return Err(XcapError::NoParent {
                ancestor: closest_ancestor(&document, &selector.steps),
            })
        }
        _ => {
            return Err(XcapError::CannotInsert(
                "the node selector matches more than one element".to_string(),
            ))
        }
    };
    let (range, qname, created) = match find_attribute(element, name) {
        Some(attribute) => (attribute.range(), attribute_name(doc, &attribute).to_string(), false),
        None => {
            let at = attribute_insertion_point(doc, element);
            (at..at, format!(" {}", qualified_attribute_name(element, name)?), true)
        }
    };
    let new_doc = splice(doc, range, &format!("{qname}={quote}{value}{quote}"));
    match select(&new_doc, selector) {
        Ok(Selection::Attribute(got)) if got == value => Ok(PutOutcome { doc: new_doc, created }),
        Ok(_) | Err(XcapError::NotFound(_)) => Err(XcapError::CannotInsert(
            "a GET of the node selector would not return the attribute value PUT".to_string(),
        )),
        Err(other) => Err(other),
    }
}

/// The one element a new element goes into.
fn parent_of_new<'a, 'i>(
    document: &'a Document<'i>,
    parent_steps: &[Step],
) -> Result<Node<'a, 'i>, XcapError> {
    if parent_steps.is_empty() {
        return Err(XcapError::CannotInsert("a document has exactly one root element".to_string()));
    }
    let mut parents = select_elements(document, parent_steps);
    match parents.len() {
        1 => Ok(parents.remove(0)),
        0 => Err(XcapError::NoParent { ancestor: closest_ancestor(document, parent_steps) }),
        _ => Err(XcapError::CannotInsert(
            "the parent's node selector matches more than one element".to_string(),
        )),
    }
}

/// Where a new element goes under `parent` so that `step` selects it (RFC 4825 §8.2.3). Only
/// the element siblings that pass the step's name test count, and the new element goes right
/// next to one of them, never after the comments or white space that follow it:
/// - `[1]`: just before the first such sibling;
/// - `[n]`: just after the (n-1)th, which must exist (else 409 cannot-insert);
/// - no position: just after the last sibling with the body's expanded name (for `*` too).
///
/// With no sibling to stand next to, it goes last in the parent.
fn insertion(
    doc: &str,
    parent: Node,
    step: &Step,
    body_name: &ExpandedName,
    fragment: &str,
) -> Result<Edit, XcapError> {
    let siblings = named_children(parent, &step.name);
    let anchor = match step.position {
        Some(0) => {
            return Err(XcapError::CannotInsert("position 0 selects no element".to_string()))
        }
        Some(1) => siblings.first().map(|s| s.range().start),
        Some(position) => {
            let previous = usize::try_from(position - 2).ok().and_then(|i| siblings.get(i));
            match previous {
                Some(previous) => Some(previous.range().end),
                None => {
                    return Err(XcapError::CannotInsert(
                        "the position is beyond the end of the siblings".to_string(),
                    ))
                }
            }
        }
        None => parent
            .children()
            .rev()
            .find(|child| child.is_element() && body_name.is_name_of(*child))
            .map(|s| s.range().end),
    };
    let at = anchor.or_else(|| end_tag_start(doc, parent));
    Ok(match at {
        Some(at) => Edit { range: at..at, replacement: fragment.to_string(), node_start: at },
        None => {
            // `<parent/>` becomes `<parent>fragment</parent>`.
            let end = parent.range().end;
            let close = end.saturating_sub(2)..end;
            Edit {
                replacement: format!(">{fragment}</{}>", tag_name(doc, parent)),
                node_start: close.start + 1,
                range: close,
            }
        }
    })
}

/// Whether `steps` select exactly one element in `doc`, the one at `range`.
fn selects_exactly(doc: &str, steps: &[Step], range: Range<usize>) -> Result<bool, XcapError> {
    let document = parse(doc).map_err(|err| match err {
        XcapError::NotWellFormed(why) => XcapError::NotXmlFrag(why),
        other => other,
    })?;
    let selected = select_elements(&document, steps);
    Ok(matches!(selected.as_slice(), [element] if element.range() == range))
}

/// The quote to write `value` in; 409 not-xml-att-value unless it is an AttValue without
/// quotes: no `<`, only well-formed references, not both quote characters.
fn quote_for(value: &str) -> Result<char, XcapError> {
    let quote = if value.contains('"') { '\'' } else { '"' };
    let probe = format!("<a v={quote}{value}{quote}/>");
    if value.contains(quote) || parse(&probe).is_err() {
        return Err(XcapError::NotXmlAttValue("not a valid XML attribute value".to_string()));
    }
    Ok(quote)
}

/// How to write `name` on `element`: its namespace needs a prefix bound in scope there.
fn qualified_attribute_name(element: Node, name: &Name) -> Result<String, XcapError> {
    let Some(namespace) = name.namespace.as_deref() else {
        return Ok(name.local.clone());
    };
    if namespace == XML_NAMESPACE {
        return Ok(format!("xml:{}", name.local));
    }
    let bound_to_namespace =
        |prefix: &str| element.lookup_namespace_uri(Some(prefix)) == Some(namespace);
    let prefix = name
        .prefix
        .clone()
        .filter(|p| bound_to_namespace(p))
        .or_else(|| {
            element
                .namespaces()
                .filter_map(|ns| ns.name())
                .find(|p| bound_to_namespace(p))
                .map(str::to_string)
        })
        .ok_or_else(|| {
            XcapError::CannotInsert("no prefix is bound to the attribute's namespace".to_string())
        })?;
    Ok(format!("{prefix}:{}", name.local))
}
