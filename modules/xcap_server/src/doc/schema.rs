//! Schema validation of whole documents (RFC 4825 §8.2.5): each application usage's XML
//! schema, written out as code from the RFCs' definitions. A document that breaks it is a
//! 409 `schema-validation-error` naming the first offending node.
//!
//! The checks follow XML Schema: content models are sequences of slots taken in order,
//! `##other` wildcards accept elements of any namespace but the schema's own (never
//! unqualified ones), and wildcard children are skipped unless this server knows a
//! declaration for them (`processContents="lax"`). `xsi:` attributes are allowed anywhere.

mod pidf;
mod pres_rules;
mod resource_lists;
mod rls_services;
mod types;

use roxmltree::{Document, Node};

use super::uniqueness::path_of;
use xcap::auid::Auid;
use crate::error::XcapError;

pub(super) use resource_lists::RESOURCE_LISTS_NS;
pub(super) use rls_services::RLS_SERVICES_NS;

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// No upper bound on a slot's occurrences.
const MANY: usize = usize::MAX;

/// Checks `document` (parsed from `text`) against the schema of `auid`. Usages whose schema
/// this server does not know accept any well-formed document.
pub(super) fn check(text: &str, document: &Document, auid: Auid) -> Result<(), XcapError> {
    let root = document.root_element();
    let checker = Checker { text };
    let verdict = match auid {
        Auid::ResourceLists => resource_lists::document(&checker, root),
        Auid::RlsServices => rls_services::document(&checker, root),
        Auid::PresRules | Auid::OmaPresRules => pres_rules::document(&checker, root),
        Auid::PidfManipulation => pidf::document(&checker, root),
        Auid::XcapCaps
        | Auid::UserProfile
        | Auid::PresContent
        | Auid::Search
        | Auid::XcapDirectory => Ok(()),
    };
    verdict.map_err(XcapError::SchemaValidationError)
}

/// The outcome of one check: the phrase of the error report on failure.
type Verdict = Result<(), String>;

/// The document being checked, to name nodes in error phrases.
struct Checker<'t> {
    text: &'t str,
}

impl Checker<'_> {
    /// An error phrase about `node`, which is located by its positional node selector.
    fn fail(&self, node: Node, what: impl std::fmt::Display) -> String {
        format!("{}: {what}", path_of(self.text, node))
    }

    /// The root must be `local` in `namespace`.
    fn root(&self, root: Node, namespace: &str, local: &str) -> Verdict {
        if is(root, namespace, local) {
            Ok(())
        } else {
            Err(format!("the root element must be <{local}> in namespace {namespace}"))
        }
    }

    /// Checks `node`'s attributes: `known` lists the unqualified ones with whether each is
    /// required (and its value's check), `foreign` allows attributes of other namespaces
    /// (`anyAttribute namespace="##other"`), `xml_lang` allows `xml:lang`.
    fn attributes(&self, node: Node, own_ns: &str, spec: &Attributes<'_>) -> Verdict {
        for attribute in node.attributes() {
            let name = attribute.name();
            let allowed = match attribute.namespace().filter(|ns| !ns.is_empty()) {
                None => match spec.known.iter().find(|a| a.name == name) {
                    Some(known) => {
                        if !(known.value)(attribute.value()) {
                            return Err(self.fail(
                                node,
                                format_args!(
                                    "{name}=\"{}\" is not a valid value",
                                    attribute.value()
                                ),
                            ));
                        }
                        true
                    }
                    None => false,
                },
                Some(XSI_NS) => true,
                Some(XML_NS) => (spec.xml_lang && name == "lang") || spec.foreign,
                Some(ns) => spec.foreign && ns != own_ns,
            };
            if !allowed {
                let qualified = match attribute.namespace() {
                    Some(ns) => format!("{{{ns}}}{name}"),
                    None => name.to_string(),
                };
                return Err(self.fail(node, format_args!("attribute {qualified} is not allowed")));
            }
        }
        match spec.known.iter().find(|a| a.required && node.attribute(a.name).is_none()) {
            Some(missing) => {
                Err(self.fail(node, format_args!("attribute {} is required", missing.name)))
            }
            None => Ok(()),
        }
    }

    /// Matches `node`'s element children against the content model `slots` (in order, each
    /// slot taken as often as it allows before the next) and calls `each` with every child
    /// and the index of the slot that took it. Text other than whitespace is refused.
    fn children<'a, 'i>(
        &self,
        node: Node<'a, 'i>,
        own_ns: &str,
        slots: &[Slot],
        mut each: impl FnMut(Node<'a, 'i>, usize) -> Verdict,
    ) -> Verdict {
        let mut slot = 0;
        let mut taken = 0;
        for child in node.children() {
            if child.is_text() {
                if child.text().is_some_and(|t| !t.trim().is_empty()) {
                    return Err(self.fail(node, "text is not allowed here"));
                }
                continue;
            }
            if !child.is_element() {
                continue;
            }
            loop {
                let Some(current) = slots.get(slot) else {
                    return Err(self.fail(child, "element not allowed here"));
                };
                if taken < current.max && current.accepts(child, own_ns) {
                    taken += 1;
                    break;
                }
                if taken < current.min {
                    return Err(
                        self.fail(child, format_args!("expected {} here", current.describe()))
                    );
                }
                slot += 1;
                taken = 0;
            }
            each(child, slot)?;
        }
        if let Some(missing) = slots
            .iter()
            .enumerate()
            .skip(slot)
            .find(|(i, s)| s.min > if *i == slot { taken } else { 0 })
        {
            return Err(self.fail(node, format_args!("{} is missing", missing.1.describe())));
        }
        Ok(())
    }

    /// A simple-content element: text that `valid` accepts, no element children.
    fn simple(&self, node: Node, valid: fn(&str) -> bool) -> Verdict {
        if let Some(child) = node.children().find(|c| c.is_element()) {
            return Err(self.fail(child, "an element is not allowed in text content"));
        }
        let text: String =
            node.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect();
        if valid(&text) {
            Ok(())
        } else {
            Err(self.fail(node, format_args!("\"{text}\" is not a valid value")))
        }
    }

    /// An element with empty content (whitespace is tolerated).
    fn empty(&self, node: Node, own_ns: &str) -> Verdict {
        self.children(node, own_ns, &[], |_, _| Ok(()))
    }
}

/// One unqualified attribute of an element.
struct Attribute {
    name: &'static str,
    required: bool,
    value: fn(&str) -> bool,
}

impl Attribute {
    const fn required(name: &'static str, value: fn(&str) -> bool) -> Attribute {
        Attribute { name, required: true, value }
    }

    const fn optional(name: &'static str, value: fn(&str) -> bool) -> Attribute {
        Attribute { name, required: false, value }
    }
}

/// The attributes an element may carry.
struct Attributes<'a> {
    known: &'a [Attribute],
    foreign: bool,
    xml_lang: bool,
}

impl<'a> Attributes<'a> {
    /// Only `xsi:` attributes.
    const NONE: Attributes<'static> = Attributes { known: &[], foreign: false, xml_lang: false };

    const fn only(known: &'a [Attribute]) -> Attributes<'a> {
        Attributes { known, foreign: false, xml_lang: false }
    }

    /// `known`, and any attribute of another namespace.
    const fn open(known: &'a [Attribute]) -> Attributes<'a> {
        Attributes { known, foreign: true, xml_lang: false }
    }
}

/// One step of a content model: the elements it takes and how often.
struct Slot {
    /// Local names in the namespace of the slot.
    names: &'static [&'static str],
    namespace: &'static str,
    /// Also takes elements of namespaces other than the schema's own (`##other`).
    other: bool,
    min: usize,
    max: usize,
}

impl Slot {
    const fn of(
        namespace: &'static str,
        names: &'static [&'static str],
        min: usize,
        max: usize,
    ) -> Slot {
        Slot { names, namespace, other: false, min, max }
    }

    /// `<xs:any namespace="##other">`, `min` to `max` times.
    const fn other(min: usize, max: usize) -> Slot {
        Slot { names: &[], namespace: "", other: true, min, max }
    }

    /// `names`, or elements of other namespaces.
    const fn of_or_other(
        namespace: &'static str,
        names: &'static [&'static str],
        min: usize,
        max: usize,
    ) -> Slot {
        Slot { names, namespace, other: true, min, max }
    }

    fn accepts(&self, child: Node, own_ns: &str) -> bool {
        let ns = child.tag_name().namespace().filter(|ns| !ns.is_empty());
        (ns == Some(self.namespace) && self.names.contains(&child.tag_name().name()))
            || (self.other && ns.is_some_and(|ns| ns != own_ns))
    }

    fn describe(&self) -> String {
        let mut names: Vec<String> = self.names.iter().map(|n| format!("<{n}>")).collect();
        if self.other {
            names.push("an element of another namespace".into());
        }
        names.join(" or ")
    }
}

/// Whether `node` is the element `local` of `namespace`.
fn is(node: Node, namespace: &str, local: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(namespace)
        && node.tag_name().name() == local
}

/// Collects `xs:ID` values: each must be an NCName, unique in the document.
struct Ids<'a> {
    seen: std::collections::HashSet<&'a str>,
}

impl<'a> Ids<'a> {
    fn new() -> Ids<'a> {
        Ids { seen: Default::default() }
    }

    fn add(&mut self, checker: &Checker, node: Node<'a, '_>, attribute: &str) -> Verdict {
        let Some(value) = node.attribute(attribute) else {
            return Ok(());
        };
        if !self.seen.insert(value) {
            return Err(checker.fail(node, format_args!("{attribute}=\"{value}\" is not unique")));
        }
        Ok(())
    }
}
