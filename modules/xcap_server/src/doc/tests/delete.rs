use super::super::delete;
use super::super::samples::RESOURCE_LISTS;
use super::{assert_spliced, rl};
use crate::error::XcapError;

const CLOSE: &str = "resource-lists/list[@name=\"friends\"]/list[@name=\"close-friends\"]";

#[test]
fn element_is_cut_out_and_nothing_else_changes() {
    let nancy = "<entry uri=\"sip:nancy@example.com\">\n    <display-name>Nancy Gross</display-name>\n   </entry>";
    let after =
        delete(RESOURCE_LISTS, &rl(&format!("{CLOSE}/entry[@uri=\"sip:nancy@example.com\"]")))
            .unwrap();
    assert_spliced(RESOURCE_LISTS, &after, nancy, "");
    let last = delete(RESOURCE_LISTS, &rl(&format!("{CLOSE}/entry[2]"))).unwrap();
    assert_eq!(last, after);
}

#[test]
fn attribute_is_cut_out_with_its_leading_space() {
    let after =
        delete(RESOURCE_LISTS, &rl("resource-lists/list[@name=\"coworkers\"]/@name")).unwrap();
    assert_spliced(RESOURCE_LISTS, &after, "<list name=\"coworkers\">", "<list>");
}

#[test]
fn missing_nodes_are_not_found() {
    assert!(matches!(
        delete(RESOURCE_LISTS, &rl(&format!("{CLOSE}/entry[9]"))),
        Err(XcapError::NotFound(_))
    ));
    assert!(matches!(
        delete(RESOURCE_LISTS, &rl(&format!("{CLOSE}/@nope"))),
        Err(XcapError::NotFound(_))
    ));
    assert!(matches!(
        delete(RESOURCE_LISTS, &rl("resource-lists/list")),
        Err(XcapError::NotFound(_))
    ));
}

#[test]
fn delete_that_would_select_another_node_is_refused() {
    assert!(matches!(
        delete(RESOURCE_LISTS, &rl(&format!("{CLOSE}/entry[1]"))),
        Err(XcapError::CannotDelete(_))
    ));
    assert!(matches!(
        delete(RESOURCE_LISTS, &rl("resource-lists/*[1]")),
        Err(XcapError::CannotDelete(_))
    ));
}

#[test]
fn root_element_is_not_deleted_through_a_selector() {
    assert!(matches!(
        delete(RESOURCE_LISTS, &rl("resource-lists")),
        Err(XcapError::CannotDelete(_))
    ));
}

#[test]
fn namespace_selector_cannot_be_deleted() {
    assert_eq!(
        delete(RESOURCE_LISTS, &rl("resource-lists/namespace::*")),
        Err(XcapError::MethodNotAllowed { allow: "GET" })
    );
}
