//! Evaluating the element steps of a node selector on a parsed document.

use roxmltree::{Attribute, Document, Node};

use crate::error::XcapError;
use xcap::node_selector::{Name, NameTest, NodeSelector, Step};

/// The elements `steps` select from the document root, in document order. Steps apply to every
/// element the previous step selected, as in XPath.
pub(super) fn select_elements<'a, 'i>(
    document: &'a Document<'i>,
    steps: &[Step],
) -> Vec<Node<'a, 'i>> {
    let mut current = vec![document.root()];
    for step in steps {
        current = current.into_iter().flat_map(|parent| step_children(parent, step)).collect();
        if current.is_empty() {
            break;
        }
    }
    current
}

/// The single element `steps` select; none or several is a 404 for a GET or DELETE.
pub(super) fn single_element<'a, 'i>(
    document: &'a Document<'i>,
    steps: &[Step],
) -> Result<Node<'a, 'i>, XcapError> {
    let mut found = select_elements(document, steps);
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(XcapError::NotFound("no element matches the node selector")),
        _ => Err(XcapError::NotFound("the node selector matches more than one element")),
    }
}

/// The selector of the deepest single element on the way down `steps`, for a no-parent report;
/// `None` when not even the root element matches.
pub(super) fn closest_ancestor(document: &Document, steps: &[Step]) -> Option<String> {
    let mut current = vec![document.root()];
    let mut deepest = None;
    for (depth, step) in steps.iter().enumerate() {
        current = current.into_iter().flat_map(|parent| step_children(parent, step)).collect();
        match current.len() {
            0 => break,
            1 => deepest = Some(depth + 1),
            _ => {}
        }
    }
    let steps = steps.get(..deepest?)?.to_vec();
    Some(NodeSelector { steps, terminal: None }.to_string())
}

/// The child elements of `parent` that pass the step's name test, position and attribute test.
pub(super) fn step_children<'a, 'i>(parent: Node<'a, 'i>, step: &Step) -> Vec<Node<'a, 'i>> {
    let named = named_children(parent, &step.name);
    let positioned: Vec<Node> = match step.position {
        Some(position) => {
            let index = position.checked_sub(1).and_then(|i| usize::try_from(i).ok());
            index.and_then(|i| named.get(i).copied()).into_iter().collect()
        }
        None => named,
    };
    match &step.attribute {
        Some(test) => positioned
            .into_iter()
            .filter(|element| {
                find_attribute(*element, &test.name).is_some_and(|a| a.value() == test.value)
            })
            .collect(),
        None => positioned,
    }
}

/// The child elements of `parent` that pass the name test.
pub(super) fn named_children<'a, 'i>(parent: Node<'a, 'i>, test: &NameTest) -> Vec<Node<'a, 'i>> {
    parent.children().filter(|child| child.is_element() && name_matches(test, *child)).collect()
}

fn name_matches(test: &NameTest, element: Node) -> bool {
    match test {
        NameTest::Any => true,
        NameTest::Name(name) => {
            name.matches(element.tag_name().namespace(), element.tag_name().name())
        }
    }
}

/// The element's attribute with this expanded name.
pub(super) fn find_attribute<'a, 'i>(
    element: Node<'a, 'i>,
    name: &Name,
) -> Option<Attribute<'a, 'i>> {
    element.attributes().find(|attribute| name.matches(attribute.namespace(), attribute.name()))
}
