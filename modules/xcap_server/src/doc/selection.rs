//! GET of a node (RFC 4825 §7.6, §7.9, §7.10 and §10): what a node selector selects, and its
//! MIME type.

use roxmltree::Node;

use super::locate::{find_attribute, single_element};
use super::parse::parse;
use super::text::{attribute_value_range, slice, tag_name};
use crate::error::XcapError;
use xcap::node_selector::{NodeSelector, Terminal};
use xcap::xml_text::escape_attr;

/// What a GET with a node selector returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The element exactly as written in the document.
    Element(String),
    /// The attribute value as written between its quotes (an XML AttValue without quotes).
    Attribute(String),
    /// An empty element named like the selected one, declaring every namespace in scope there.
    Namespaces(String),
}

/// The kinds of node a selector can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionKind {
    Element,
    Attribute,
    Namespaces,
}

impl SelectionKind {
    /// The kind of node `selector` points at.
    pub fn of(selector: &NodeSelector) -> SelectionKind {
        match selector.terminal {
            None => SelectionKind::Element,
            Some(Terminal::Attribute(_)) => SelectionKind::Attribute,
            Some(Terminal::Namespaces) => SelectionKind::Namespaces,
        }
    }

    /// The MIME type of the node in a GET response or PUT body (RFC 4825 §15.2).
    pub fn mime_type(self) -> &'static str {
        match self {
            SelectionKind::Element => "application/xcap-el+xml",
            SelectionKind::Attribute => "application/xcap-att+xml",
            SelectionKind::Namespaces => "application/xcap-ns+xml",
        }
    }
}

impl Selection {
    pub fn kind(&self) -> SelectionKind {
        match self {
            Selection::Element(_) => SelectionKind::Element,
            Selection::Attribute(_) => SelectionKind::Attribute,
            Selection::Namespaces(_) => SelectionKind::Namespaces,
        }
    }

    /// The response body.
    pub fn body(&self) -> &str {
        match self {
            Selection::Element(body) | Selection::Attribute(body) | Selection::Namespaces(body) => {
                body
            }
        }
    }

    pub fn mime_type(&self) -> &'static str {
        self.kind().mime_type()
    }
}

/// The node `selector` selects in `doc`; 404 when there is none or more than one.
pub fn select(doc: &str, selector: &NodeSelector) -> Result<Selection, XcapError> {
    let document = parse(doc)?;
    let element = single_element(&document, &selector.steps)?;
    Ok(match &selector.terminal {
        None => Selection::Element(slice(doc, element.range()).to_string()),
        Some(Terminal::Attribute(name)) => {
            let attribute = find_attribute(element, name)
                .ok_or(XcapError::NotFound("the element has no such attribute"))?;
            Selection::Attribute(slice(doc, attribute_value_range(doc, &attribute)).to_string())
        }
        Some(Terminal::Namespaces) => Selection::Namespaces(namespace_bindings(doc, element)),
    })
}

/// `<name xmlns="…" xmlns:p="…"/>` for the namespaces in scope at `element`.
fn namespace_bindings(doc: &str, element: Node) -> String {
    let mut out = format!("<{}", tag_name(doc, element));
    for namespace in element.namespaces() {
        let uri = escape_attr(namespace.uri());
        match namespace.name() {
            Some("xml") => {}
            Some(prefix) => out.push_str(&format!(" xmlns:{prefix}=\"{uri}\"")),
            None => out.push_str(&format!(" xmlns=\"{uri}\"")),
        }
    }
    out.push_str("/>");
    out
}
