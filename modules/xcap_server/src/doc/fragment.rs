//! Checking the body of an element PUT (RFC 4825 §8.2.1 and §8.2.3).

use roxmltree::Node;

use super::locate::find_attribute;
use super::parse::parse;
use crate::error::XcapError;
use xcap::node_selector::{NameTest, Step};
use xcap::xml_text::escape_attr;

/// The namespace and local name of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExpandedName {
    pub namespace: Option<String>,
    pub local: String,
}

impl ExpandedName {
    pub fn is_name_of(&self, element: Node) -> bool {
        element.tag_name().namespace() == self.namespace.as_deref()
            && element.tag_name().name() == self.local
    }
}

/// Checks that `fragment` is exactly one well-formed element when placed under `context`
/// (whose in-scope namespaces its prefixes may use), and that its name and attributes pass
/// the step that is to select it. Returns the element's expanded name.
pub(super) fn check(fragment: &str, context: Node, step: &Step) -> Result<ExpandedName, XcapError> {
    let wrapped = wrap_in_scope(fragment, context);
    let document = parse(&wrapped).map_err(|err| match err {
        XcapError::NotWellFormed(why) => XcapError::NotXmlFrag(why),
        other => other,
    })?;
    let mut children = document.root_element().children();
    let element = match (children.next(), children.next()) {
        (Some(element), None) if element.is_element() => element,
        _ => return Err(XcapError::NotXmlFrag("the body must be exactly one element".to_string())),
    };
    if let NameTest::Name(name) = &step.name {
        if !name.matches(element.tag_name().namespace(), element.tag_name().name()) {
            return Err(XcapError::CannotInsert(
                "the element name does not match the node selector".to_string(),
            ));
        }
    }
    if let Some(test) = &step.attribute {
        if find_attribute(element, &test.name).is_none_or(|a| a.value() != test.value) {
            return Err(XcapError::CannotInsert(
                "the element lacks the attribute value the node selector tests".to_string(),
            ));
        }
    }
    Ok(ExpandedName {
        namespace: element.tag_name().namespace().map(str::to_string),
        local: element.tag_name().name().to_string(),
    })
}

/// `fragment` inside a wrapper element declaring the namespaces in scope at `context`.
fn wrap_in_scope(fragment: &str, context: Node) -> String {
    let mut wrapped = String::from("<xcap-fragment");
    for namespace in context.namespaces() {
        let uri = escape_attr(namespace.uri());
        match namespace.name() {
            Some("xml") => {}
            Some(prefix) => wrapped.push_str(&format!(" xmlns:{prefix}=\"{uri}\"")),
            None => wrapped.push_str(&format!(" xmlns=\"{uri}\"")),
        }
    }
    wrapped.push('>');
    wrapped.push_str(fragment);
    wrapped.push_str("</xcap-fragment>");
    wrapped
}
