use super::super::samples::{PRES_RULES, RESOURCE_LISTS};
use super::super::{put_attribute, select, PutOutcome, Selection};
use super::{assert_spliced, rl, sel};
use xcap::auid::Auid;
use crate::error::XcapError;

const BILL: &str = "resource-lists/list[@name=\"friends\"]/entry[@uri=\"sip:bill@example.com\"]";

fn put(selector: &str, value: &str) -> Result<PutOutcome, XcapError> {
    put_attribute(RESOURCE_LISTS, &rl(selector), value)
}

#[test]
fn existing_attribute_value_is_replaced() {
    let outcome = put("resource-lists/list[2]/@name", "colleagues").unwrap();
    assert!(!outcome.created);
    assert_spliced(RESOURCE_LISTS, &outcome.doc, "name=\"coworkers\"", "name=\"colleagues\"");
    let renamed = rl("resource-lists/list[@name=\"colleagues\"]/@name");
    assert_eq!(select(&outcome.doc, &renamed), Ok(Selection::Attribute("colleagues".into())));
}

#[test]
fn new_attribute_is_added_after_the_others() {
    let outcome = put(&format!("{BILL}/@xml:lang"), "en").unwrap();
    assert!(outcome.created);
    assert_spliced(
        RESOURCE_LISTS,
        &outcome.doc,
        "<entry uri=\"sip:bill@example.com\">",
        "<entry uri=\"sip:bill@example.com\" xml:lang=\"en\">",
    );
    let outcome = put(&format!("{BILL}/display-name/@note"), "x").unwrap();
    assert!(outcome.doc.contains("<display-name note=\"x\">Bill Doe</display-name>"));
    let outcome = put("resource-lists/list[@name=\"empty\"]/@rank", "1").unwrap();
    assert!(outcome.doc.contains("<list name=\"empty\" rank=\"1\"/>"));
}

#[test]
fn quotes_and_references_in_values() {
    let outcome = put(&format!("{BILL}/@label"), "say \"hi\"").unwrap();
    assert!(outcome.doc.contains("label='say \"hi\"'"));
    let outcome = put(&format!("{BILL}/@label"), "a &amp; b &#x41;").unwrap();
    assert_eq!(
        select(&outcome.doc, &rl(&format!("{BILL}/@label"))),
        Ok(Selection::Attribute("a &amp; b &#x41;".into()))
    );
}

#[test]
fn invalid_values_are_refused() {
    for value in ["a<b", "a&b", "&nope;", "both \" and '", "&#0;"] {
        assert!(
            matches!(put(&format!("{BILL}/@label"), value), Err(XcapError::NotXmlAttValue(_))),
            "{value}"
        );
    }
}

#[test]
fn missing_element_is_no_parent() {
    assert_eq!(
        put("resource-lists/list[@name=\"friends\"]/entry[@uri=\"nobody\"]/@x", "1"),
        Err(XcapError::NoParent {
            ancestor: Some("resource-lists/list[@name=\"friends\"]".into())
        })
    );
    assert!(matches!(put("resource-lists/list/@x", "1"), Err(XcapError::CannotInsert(_))));
}

#[test]
fn changing_the_tested_attribute_would_lose_the_node() {
    assert!(matches!(
        put("resource-lists/list[@name=\"coworkers\"]/@name", "pals"),
        Err(XcapError::CannotInsert(_))
    ));
}

#[test]
fn prefixed_attributes_need_a_prefix_bound_in_the_document() {
    let rule = "cr:ruleset/cr:rule[@id=\"a\"]";
    let outcome =
        put_attribute(PRES_RULES, &sel(&format!("{rule}/@pr:flag"), Auid::PresRules), "on")
            .unwrap();
    assert!(outcome.doc.contains("<cr:rule id=\"a\" pr:flag=\"on\">"));
    assert!(matches!(
        put_attribute(PRES_RULES, &sel(&format!("{rule}/@other:flag"), Auid::PresRules), "on"),
        Err(XcapError::CannotInsert(_))
    ));
}

#[test]
fn element_and_namespace_selectors_are_not_attribute_puts() {
    assert_eq!(put(BILL, "x"), Err(XcapError::UnsupportedMediaType));
    assert_eq!(
        put(&format!("{BILL}/namespace::*"), "x"),
        Err(XcapError::MethodNotAllowed { allow: "GET" })
    );
}
