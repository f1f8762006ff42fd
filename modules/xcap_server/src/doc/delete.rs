//! DELETE of an element or attribute (RFC 4825 §8.4).

use super::locate::{find_attribute, single_element};
use super::parse::parse;
use super::selection::select;
use super::text::{splice, with_leading_blanks};
use crate::error::XcapError;
use xcap::node_selector::{NodeSelector, Terminal};

/// `doc` without the node `selector` selects. 404 when there is no such node; 409
/// cannot-delete when the same selector would then select another node (§8.4.3), or for the
/// root element (delete the document instead).
pub fn delete(doc: &str, selector: &NodeSelector) -> Result<String, XcapError> {
    let document = parse(doc)?;
    let element = single_element(&document, &selector.steps)?;
    let range = match &selector.terminal {
        Some(Terminal::Namespaces) => return Err(XcapError::MethodNotAllowed { allow: "GET" }),
        Some(Terminal::Attribute(name)) => {
            let attribute = find_attribute(element, name)
                .ok_or(XcapError::NotFound("the element has no such attribute"))?;
            with_leading_blanks(doc, attribute.range())
        }
        None if element.parent().is_some_and(|parent| parent.is_root()) => {
            return Err(XcapError::CannotDelete(
                "the root element cannot be deleted; delete the document".to_string(),
            ))
        }
        None => element.range(),
    };
    let new_doc = splice(doc, range, "");
    match select(&new_doc, selector) {
        Err(XcapError::NotFound(_)) => Ok(new_doc),
        Ok(_) => Err(XcapError::CannotDelete(
            "the node selector would then select another node".to_string(),
        )),
        Err(other) => Err(other),
    }
}
