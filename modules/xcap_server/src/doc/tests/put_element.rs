use super::super::samples::{RESOURCE_LISTS, RLS_SERVICES};
use super::super::{put_element, select, PutOutcome, Selection};
use super::{assert_spliced, rl, sel};
use xcap::auid::Auid;
use crate::error::XcapError;

const FRIENDS: &str = "resource-lists/list[@name=\"friends\"]";
const CLOSE: &str = "resource-lists/list[@name=\"friends\"]/list[@name=\"close-friends\"]";

fn put(selector: &str, fragment: &str) -> Result<PutOutcome, XcapError> {
    put_element(RESOURCE_LISTS, &rl(selector), fragment)
}

/// The PUT succeeds and a GET with the same selector returns the fragment.
fn put_ok(selector: &str, fragment: &str) -> PutOutcome {
    let outcome = put(selector, fragment).expect(selector);
    assert_eq!(
        select(&outcome.doc, &rl(selector)),
        Ok(Selection::Element(fragment.trim().to_string())),
        "{selector}"
    );
    outcome
}

fn cannot_insert(result: Result<PutOutcome, XcapError>) -> bool {
    matches!(result, Err(XcapError::CannotInsert(_)))
}

#[test]
fn existing_element_is_replaced_in_place() {
    let old = "<entry uri=\"sip:bill@example.com\">\n   <display-name>Bill Doe</display-name>\n  </entry>";
    let new = "<entry uri=\"sip:bill@example.com\"><display-name>William</display-name></entry>";
    let outcome = put_ok(&format!("{FRIENDS}/entry[@uri=\"sip:bill@example.com\"]"), new);
    assert!(!outcome.created);
    assert_spliced(RESOURCE_LISTS, &outcome.doc, old, new);
}

#[test]
fn new_element_goes_after_the_last_sibling_of_its_name() {
    let new = "<entry uri=\"sip:carol@example.com\"/>";
    let outcome = put_ok(&format!("{CLOSE}/entry[@uri=\"sip:carol@example.com\"]"), new);
    assert!(outcome.created);
    let nancy_end = "<display-name>Nancy Gross</display-name>\n   </entry>";
    assert_spliced(RESOURCE_LISTS, &outcome.doc, nancy_end, &format!("{nancy_end}{new}"));
}

#[test]
fn new_element_without_siblings_of_its_name_goes_last() {
    let new = "<entry uri=\"sip:dave@example.com\"/>";
    let outcome = put_ok(
        "resource-lists/list[@name=\"coworkers\"]/entry[@uri=\"sip:dave@example.com\"]",
        new,
    );
    assert_spliced(
        RESOURCE_LISTS,
        &outcome.doc,
        "<display-name>Co-workers</display-name>\n </list>",
        &format!("<display-name>Co-workers</display-name>\n {new}</list>"),
    );
}

#[test]
fn empty_element_tag_parent_is_opened() {
    let new = "<entry uri=\"sip:e@example.com\"/>";
    let outcome = put_ok("resource-lists/list[@name=\"empty\"]/entry", new);
    assert!(outcome.created);
    assert_spliced(
        RESOURCE_LISTS,
        &outcome.doc,
        "<list name=\"empty\"/>",
        &format!("<list name=\"empty\">{new}</list>"),
    );
}

#[test]
fn positions_place_the_new_element() {
    let zed = "<entry uri=\"sip:zed@example.com\"/>";
    let outcome = put_ok(&format!("{CLOSE}/entry[1][@uri=\"sip:zed@example.com\"]"), zed);
    let joe_start = "<entry uri=\"sip:joe@example.com\">";
    assert_spliced(RESOURCE_LISTS, &outcome.doc, joe_start, &format!("{zed}{joe_start}"));

    let third = "<entry uri=\"sip:third@example.com\"/>";
    let outcome = put_ok(&format!("{CLOSE}/entry[3]"), third);
    let nancy_end = "<display-name>Nancy Gross</display-name>\n   </entry>";
    assert_spliced(RESOURCE_LISTS, &outcome.doc, nancy_end, &format!("{nancy_end}{third}"));

    let first_child = "<display-name>Pals</display-name>";
    let outcome = put_ok("resource-lists/list[@name=\"empty\"]/*[1]", first_child);
    assert!(outcome.doc.contains(&format!("<list name=\"empty\">{first_child}</list>")));

    assert!(cannot_insert(put(&format!("{CLOSE}/entry[5]"), "<entry uri=\"sip:x@y\"/>")));
}

#[test]
fn wildcard_without_position_goes_after_the_last_sibling_of_the_body_name() {
    let new = "<external anchor=\"http://x/y\"/>";
    let outcome = put_ok(&format!("{CLOSE}/*[@anchor=\"http://x/y\"]"), new);
    assert!(outcome.doc.contains(&format!("</external>{new}\n  </list>")));
    let new = "<entry uri=\"sip:w@x\"/>";
    let outcome = put_ok(&format!("{CLOSE}/*[@uri=\"sip:w@x\"]"), new);
    let nancy_end = "<display-name>Nancy Gross</display-name>\n   </entry>";
    assert_spliced(RESOURCE_LISTS, &outcome.doc, nancy_end, &format!("{nancy_end}{new}"));
}

#[test]
fn position_zero_cannot_insert() {
    assert!(cannot_insert(put(&format!("{CLOSE}/entry[0]"), "<entry uri=\"sip:z@x\"/>")));
    assert!(cannot_insert(put(
        &format!("{CLOSE}/*[0][@uri=\"sip:z@x\"]"),
        "<entry uri=\"sip:z@x\"/>"
    )));
    assert!(matches!(
        put("resource-lists/list[0]/entry", "<entry uri=\"sip:z@x\"/>"),
        Err(XcapError::NoParent { .. })
    ));
}

#[test]
fn white_space_around_the_body_is_ignored() {
    let outcome =
        put_ok("resource-lists/list[@name=\"empty\"]/entry", "\n  <entry uri=\"sip:w@x\"/>\r\n");
    assert!(outcome.doc.contains("<list name=\"empty\"><entry uri=\"sip:w@x\"/></list>"));
}

#[test]
fn body_must_match_the_selector() {
    let target = format!("{FRIENDS}/entry[@uri=\"sip:new@example.com\"]");
    assert!(cannot_insert(put(&target, "<external anchor=\"sip:new@example.com\"/>")));
    assert!(cannot_insert(put(&target, "<entry uri=\"sip:other@example.com\"/>")));
    assert!(cannot_insert(put(&target, "<entry/>")));
    assert!(cannot_insert(put(
        &target,
        "<entry xmlns=\"urn:other\" uri=\"sip:new@example.com\"/>"
    )));
}

#[test]
fn body_must_be_one_element() {
    let target = format!("{FRIENDS}/entry[@uri=\"a\"]");
    for body in [
        "",
        "text",
        "<entry uri=\"a\"/><entry uri=\"a\"/>",
        "<entry uri=\"a\">",
        "<entry uri=\"a\"/>tail",
        "<!-- note --><entry uri=\"a\"/>",
        "<?xml version=\"1.0\"?><entry uri=\"a\"/>",
        "<zz:entry uri=\"a\"/>",
        "<entry uri=\"a\"/></xcap-fragment><xcap-fragment>",
        "<!DOCTYPE entry><entry uri=\"a\"/>",
    ] {
        let got = put(&target, body);
        assert!(
            matches!(got, Err(XcapError::NotXmlFrag(_)) | Err(XcapError::ConstraintFailure(_))),
            "{body}: {got:?}"
        );
    }
}

#[test]
fn missing_parent_names_the_closest_ancestor() {
    assert_eq!(
        put("resource-lists/list[@name=\"nope\"]/entry[@uri=\"a\"]", "<entry uri=\"a\"/>"),
        Err(XcapError::NoParent { ancestor: Some("resource-lists".to_string()) })
    );
    assert_eq!(
        put(&format!("{FRIENDS}/list[@name=\"nope\"]/list/entry"), "<entry/>"),
        Err(XcapError::NoParent { ancestor: Some(FRIENDS.to_string()) })
    );
    assert_eq!(put("other/entry", "<entry/>"), Err(XcapError::NoParent { ancestor: None }));
}

#[test]
fn root_element_can_be_replaced_but_not_added() {
    let root = "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"/>";
    let outcome = put_ok("resource-lists", root);
    assert!(!outcome.created);
    assert!(outcome.doc.ends_with(&format!("{root}\n")));
    assert!(cannot_insert(put("other", "<other/>")));
}

#[test]
fn ambiguous_selectors_cannot_insert() {
    assert!(cannot_insert(put("resource-lists/list", "<list name=\"x\"/>")));
    assert!(cannot_insert(put("resource-lists/list/entry[@uri=\"n\"]", "<entry uri=\"n\"/>")));
}

#[test]
fn terminal_selectors_are_not_element_puts() {
    assert_eq!(put(&format!("{FRIENDS}/@name"), "<x/>"), Err(XcapError::UnsupportedMediaType));
    assert_eq!(
        put(&format!("{FRIENDS}/namespace::*"), "<x/>"),
        Err(XcapError::MethodNotAllowed { allow: "GET" })
    );
}

#[test]
fn body_may_use_prefixes_bound_in_the_document() {
    let service = "rls-services/service[@uri=\"sip:marketing@example.com\"]/list";
    let selector =
        sel(&format!("{service}/rl:entry[@uri=\"sip:new@example.com\"]"), Auid::RlsServices);
    let new = "<rl:entry uri=\"sip:new@example.com\"/>";
    let outcome = put_element(RLS_SERVICES, &selector, new).unwrap();
    assert!(outcome.created);
    assert!(outcome.doc.contains(&format!("<rl:entry uri=\"sip:sudhir@example.com\"/>{new}")));
    assert_eq!(select(&outcome.doc, &selector), Ok(Selection::Element(new.to_string())));
}

#[test]
fn nesting_limit_applies_to_the_result() {
    let deep = format!("{}<entry uri=\"d\"/>{}", "<entry>".repeat(200), "</entry>".repeat(200));
    let got = put(&format!("{FRIENDS}/entry[@uri=\"d\"]"), &deep);
    assert!(
        matches!(got, Err(XcapError::ConstraintFailure(_)) | Err(XcapError::CannotInsert(_))),
        "{got:?}"
    );
}
