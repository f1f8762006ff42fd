use super::super::samples::{PRES_RULES, RESOURCE_LISTS, RLS_SERVICES};
use super::super::{select, Selection, SelectionKind};
use super::{rl, sel};
use xcap::auid::Auid;
use crate::error::XcapError;

const BILL: &str =
    "<entry uri=\"sip:bill@example.com\">\n   <display-name>Bill Doe</display-name>\n  </entry>";

#[test]
fn element_text_is_returned_exactly_as_stored() {
    let got = select(RESOURCE_LISTS, &rl("resource-lists/list[@name=\"friends\"]/entry")).unwrap();
    assert_eq!(got, Selection::Element(BILL.to_string()));
    assert_eq!(got.body(), BILL);
    assert_eq!(got.mime_type(), "application/xcap-el+xml");
}

#[test]
fn nested_lists_positions_and_wildcards() {
    let nancy = select(
        RESOURCE_LISTS,
        &rl("resource-lists/list[@name=\"friends\"]/list[@name=\"close-friends\"]/entry[2]"),
    )
    .unwrap();
    assert!(nancy.body().starts_with("<entry uri=\"sip:nancy@example.com\">"));
    let joe =
        select(RESOURCE_LISTS, &rl("resource-lists/list[1]/list/*[@uri=\"sip:joe@example.com\"]"))
            .unwrap();
    assert!(joe.body().contains("Joe Smith"));
    let coworkers = select(RESOURCE_LISTS, &rl("resource-lists/*[2]")).unwrap();
    assert!(coworkers.body().starts_with("<list name=\"coworkers\">"));
    let second_named =
        select(RESOURCE_LISTS, &rl("resource-lists/list[2][@name=\"coworkers\"]/display-name"))
            .unwrap();
    assert_eq!(second_named.body(), "<display-name>Co-workers</display-name>");
    assert_eq!(
        select(RESOURCE_LISTS, &rl("resource-lists/list[2][@name=\"friends\"]")),
        Err(XcapError::NotFound("no element matches the node selector"))
    );
}

#[test]
fn attribute_value_is_returned_as_written() {
    let got = select(RESOURCE_LISTS, &rl("resource-lists/list[1]/@name")).unwrap();
    assert_eq!(got, Selection::Attribute("friends".to_string()));
    assert_eq!(got.mime_type(), "application/xcap-att+xml");
    let doc = "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name='a &amp; &quot;b&quot;'/></resource-lists>";
    assert_eq!(
        select(doc, &rl("resource-lists/list/@name")).unwrap(),
        Selection::Attribute("a &amp; &quot;b&quot;".to_string())
    );
    let by_decoded_value = select(doc, &rl("resource-lists/list[@name='a &amp; \"b\"']")).unwrap();
    assert!(matches!(by_decoded_value, Selection::Element(_)));
}

#[test]
fn namespace_selector_lists_bindings_in_scope() {
    let got = select(RESOURCE_LISTS, &rl("resource-lists/list[1]/namespace::*")).unwrap();
    assert_eq!(
        got,
        Selection::Namespaces(
            "<list xmlns=\"urn:ietf:params:xml:ns:resource-lists\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>"
                .to_string()
        )
    );
    assert_eq!(got.mime_type(), "application/xcap-ns+xml");
    let rule =
        select(PRES_RULES, &sel("cr:ruleset/cr:rule/namespace::*", Auid::PresRules)).unwrap();
    let body = rule.body();
    assert!(body.starts_with("<cr:rule "), "{body}");
    for declaration in [
        "xmlns=\"urn:ietf:params:xml:ns:pres-rules\"",
        "xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\"",
        "xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\"",
    ] {
        assert!(body.contains(declaration), "{body}");
    }
    assert!(!body.contains("xmlns:xml"));
}

#[test]
fn prefixed_names_resolve_through_the_query_bindings() {
    let got = select(
        PRES_RULES,
        &sel("cr:ruleset/cr:rule[@id=\"a\"]/cr:actions/pr:sub-handling", Auid::PresRules),
    )
    .unwrap();
    assert_eq!(got.body(), "<pr:sub-handling>allow</pr:sub-handling>");
    // Unprefixed names are in pres-rules' default namespace, which is not the root's.
    assert!(matches!(
        select(PRES_RULES, &sel("ruleset", Auid::PresRules)),
        Err(XcapError::NotFound(_))
    ));
    let devices = select(
        PRES_RULES,
        &sel("cr:ruleset/cr:rule/cr:transformations/provide-devices/class", Auid::PresRules),
    )
    .unwrap();
    assert_eq!(devices.body(), "<pr:class>forwarding</pr:class>");
    let oma = select(PRES_RULES, &sel("ruleset/rule[@id=\"a\"]/@id", Auid::OmaPresRules)).unwrap();
    assert_eq!(oma.body(), "a");
}

#[test]
fn rls_services_entries() {
    let got = select(
        RLS_SERVICES,
        &sel(
            "rls-services/service[@uri=\"sip:marketing@example.com\"]/list/rl:entry[2]/@uri",
            Auid::RlsServices,
        ),
    )
    .unwrap();
    assert_eq!(got.body(), "sip:sudhir@example.com");
}

#[test]
fn missing_or_ambiguous_nodes_are_not_found() {
    let cases = [
        ("resource-lists/list[@name=\"nope\"]", "no element matches the node selector"),
        ("resource-lists/list[9]", "no element matches the node selector"),
        ("other", "no element matches the node selector"),
        ("resource-lists/list", "the node selector matches more than one element"),
        ("resource-lists/list[1]/@nope", "the element has no such attribute"),
    ];
    for (text, why) in cases {
        assert_eq!(select(RESOURCE_LISTS, &rl(text)), Err(XcapError::NotFound(why)), "{text}");
    }
}

#[test]
fn kinds_follow_the_selector() {
    assert_eq!(SelectionKind::of(&rl("resource-lists")), SelectionKind::Element);
    assert_eq!(SelectionKind::of(&rl("resource-lists/@a")), SelectionKind::Attribute);
    assert_eq!(SelectionKind::of(&rl("resource-lists/namespace::*")), SelectionKind::Namespaces);
    assert_eq!(SelectionKind::Attribute.mime_type(), "application/xcap-att+xml");
}

#[test]
fn stored_document_that_is_not_xml_is_reported() {
    assert!(matches!(select("<a>", &rl("a")), Err(XcapError::NotWellFormed(_))));
}
