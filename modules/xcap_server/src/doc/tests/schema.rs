//! Schema validation of each usage: the RFC examples pass, each kind of violation is a
//! `schema-validation-error`.

use super::super::samples::{COMMON_POLICY, PIDF, PRES_RULES, RESOURCE_LISTS, RLS_SERVICES};
use super::super::{services_taken, validate_document};
use xcap::auid::Auid;
use crate::error::{Duplicate, XcapError};

fn validate(doc: &str, auid: Auid) -> Result<(), XcapError> {
    validate_document(doc.as_bytes(), auid, 1 << 20)
}

/// Asserts `doc` is refused by the schema with a phrase containing `phrase`.
#[track_caller]
fn refused(doc: &str, auid: Auid, phrase: &str) {
    match validate(doc, auid) {
        Err(XcapError::SchemaValidationError(p)) => {
            assert!(p.contains(phrase), "{p:?} lacks {phrase:?}")
        }
        other => panic!("expected a schema validation error for\n{doc}\ngot {other:?}"),
    }
}

#[track_caller]
fn accepted(doc: &str, auid: Auid) {
    assert_eq!(validate(doc, auid), Ok(()), "{doc}");
}

const RL: &str = "xmlns=\"urn:ietf:params:xml:ns:resource-lists\"";

fn lists(body: &str) -> String {
    format!("<resource-lists {RL} xmlns:o=\"urn:other\">{body}</resource-lists>")
}

fn services(body: &str) -> String {
    format!(
        "<rls-services xmlns=\"urn:ietf:params:xml:ns:rls-services\" \
         xmlns:rl=\"urn:ietf:params:xml:ns:resource-lists\" xmlns:o=\"urn:other\">{body}</rls-services>"
    )
}

fn rules(body: &str) -> String {
    format!(
        "<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\" \
         xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\" xmlns:o=\"urn:other\">{body}</cr:ruleset>"
    )
}

fn rule(conditions: &str, actions: &str, transformations: &str) -> String {
    rules(&format!(
        "<cr:rule id=\"r\"><cr:conditions>{conditions}</cr:conditions>\
         <cr:actions>{actions}</cr:actions><cr:transformations>{transformations}</cr:transformations></cr:rule>"
    ))
}

fn presence(body: &str) -> String {
    format!(
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:o=\"urn:other\" \
         entity=\"pres:a@example.com\">{body}</presence>"
    )
}

#[test]
fn rfc_examples_pass() {
    accepted(RESOURCE_LISTS, Auid::ResourceLists);
    accepted(RLS_SERVICES, Auid::RlsServices);
    accepted(PRES_RULES, Auid::PresRules);
    accepted(PRES_RULES, Auid::OmaPresRules);
    accepted(COMMON_POLICY, Auid::PresRules);
    accepted(PIDF, Auid::PidfManipulation);
}

#[test]
fn the_root_element_is_the_usages() {
    refused(&lists("").replace(RL, "xmlns=\"urn:other\""), Auid::ResourceLists, "root element");
    refused(RESOURCE_LISTS, Auid::RlsServices, "<rls-services>");
    refused(RLS_SERVICES, Auid::PresRules, "<ruleset>");
    refused("<ruleset/>", Auid::OmaPresRules, "root element");
    refused(RESOURCE_LISTS, Auid::PidfManipulation, "<presence>");
}

#[test]
fn resource_lists_refuse_unknown_attributes_and_elements() {
    // Unqualified attribute, unknown child in the resource-lists namespace.
    refused(&lists("<list name=\"friends\" bogus=\"1\"/>"), Auid::ResourceLists, "attribute bogus");
    refused(&lists("<list name=\"friends\"><foo/></list>"), Auid::ResourceLists, "list[1]/foo");
    refused(
        &lists("<list name=\"friends\" bogus=\"1\"><foo/></list>"),
        Auid::ResourceLists,
        "bogus",
    );
    // Unqualified elements are no wildcard's (##other means another namespace).
    refused(
        &format!("<resource-lists {RL}><list><foo xmlns=\"\"/></list></resource-lists>"),
        Auid::ResourceLists,
        "foo",
    );
    refused(&lists("<foo/>"), Auid::ResourceLists, "foo");
    refused(&lists("<o:foo/>"), Auid::ResourceLists, "o:foo");
    refused(
        &lists("").replace("<resource-lists ", "<resource-lists a=\"1\" "),
        Auid::ResourceLists,
        "attribute a",
    );
    refused(
        &lists("<list rl:name=\"x\" xmlns:rl=\"urn:ietf:params:xml:ns:resource-lists\"/>"),
        Auid::ResourceLists,
        "not allowed",
    );
}

#[test]
fn resource_lists_take_other_namespaces_where_the_schema_has_wildcards() {
    accepted(
        &lists(
            "<list name=\"a\" o:x=\"1\" xsi:type=\"t\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
             <display-name xml:lang=\"en\">A</display-name>\
             <entry uri=\"sip:b@x\" o:y=\"2\"><display-name o:z=\"3\">B</display-name><o:note>hi</o:note></entry>\
             <entry-ref ref=\"r\"/><external anchor=\"http://x\"/><external/><list/>\
             <o:ext><foo/></o:ext></list>",
        ),
        Auid::ResourceLists,
    );
}

#[test]
fn resource_lists_content_order_and_required_attributes() {
    refused(
        &lists("<list><entry uri=\"sip:a@x\"/><display-name>late</display-name></list>"),
        Auid::ResourceLists,
        "display-name",
    );
    refused(
        &lists("<list><display-name>a</display-name><display-name>b</display-name></list>"),
        Auid::ResourceLists,
        "display-name[2]",
    );
    refused(&lists("<list><o:ext/><entry uri=\"sip:a@x\"/></list>"), Auid::ResourceLists, "entry");
    refused(&lists("<list><entry/></list>"), Auid::ResourceLists, "attribute uri is required");
    refused(&lists("<list><entry-ref/></list>"), Auid::ResourceLists, "attribute ref is required");
    refused(
        &lists("<list><entry uri=\"sip:a@x\"><list/></entry></list>"),
        Auid::ResourceLists,
        "entry[1]/list",
    );
    refused(&lists("<list>text</list>"), Auid::ResourceLists, "text is not allowed");
    refused(
        &lists("<list><display-name><b>x</b></display-name></list>"),
        Auid::ResourceLists,
        "an element is not allowed",
    );
    refused(
        &lists("<list><display-name o:a=\"1\">x</display-name></list>"),
        Auid::ResourceLists,
        "not allowed",
    );
    refused(
        &lists("<list><display-name xml:space=\"preserve\">x</display-name></list>"),
        Auid::ResourceLists,
        "XML/1998/namespace}space",
    );
}

#[test]
fn rls_services_need_one_list_or_resource_list() {
    refused(
        &services("<service uri=\"sip:s@x\"><packages/></service>"),
        Auid::RlsServices,
        "<resource-list> or <list>",
    );
    refused(&services("<service uri=\"sip:s@x\"/>"), Auid::RlsServices, "is missing");
    refused(
        &services(
            "<service uri=\"sip:s@x\"><resource-list>http://x</resource-list><list/></service>",
        ),
        Auid::RlsServices,
        "list",
    );
    refused(
        &services("<service><list/></service>"),
        Auid::RlsServices,
        "attribute uri is required",
    );
    refused(&services("<service uri=\"sip:s@x\"><list/><packages><package>p</package><foo/></packages></service>"), Auid::RlsServices, "foo");
    refused(
        &services("<service uri=\"sip:s@x\"><resource-list><a/></resource-list></service>"),
        Auid::RlsServices,
        "an element",
    );
    // The list's children are resource-lists elements; its wildcard (resource-lists'
    // `##other`) takes rls-services elements, unchecked.
    refused(
        &services("<service uri=\"sip:s@x\"><list><rl:foo/></list></service>"),
        Auid::RlsServices,
        "rl:foo",
    );
    accepted(
        &services("<service uri=\"sip:s@x\"><list><entry/></list></service>"),
        Auid::RlsServices,
    );
    refused(
        &services("<service uri=\"sip:s@x\"><list><rl:entry/></list></service>"),
        Auid::RlsServices,
        "uri is required",
    );
    accepted(
        &services(
            "<service uri=\"sip:s@x\" o:a=\"1\"><list name=\"l\"><rl:display-name>L</rl:display-name>\
             <rl:entry uri=\"sip:a@x\"/><rl:list name=\"n\"><rl:entry uri=\"sip:a@x\"/></rl:list></list>\
             <packages><package>presence</package><o:p/></packages><o:extra/></service>",
        ),
        Auid::RlsServices,
    );
}

#[test]
fn rls_lists_follow_the_resource_lists_uniqueness() {
    let doc = services(
        "<service uri=\"sip:s@x\"><list><rl:entry uri=\"sip:a@x\"/><rl:entry uri=\"sip:a@x\"/>\
         <rl:list name=\"n\"/><rl:list name=\"n\"/></list></service>",
    );
    let Err(XcapError::UniquenessFailure(found)) = validate(&doc, Auid::RlsServices) else {
        panic!("expected a uniqueness failure");
    };
    let fields: Vec<&str> = found.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "rls-services/service[1]/list[1]/rl:list[2]/@name",
            "rls-services/service[1]/list[1]/rl:entry[2]/@uri"
        ]
    );
}

#[test]
fn service_uris_are_unique_across_documents() {
    let mine = services(
        "<service uri=\"sip:a@x\"><list/></service><service uri=\"sip:b@x\"><list/></service>",
    );
    let theirs = services(
        "<service uri=\"sip:b@x\"><list/></service><service uri=\"sip:b-1@x\"><list/></service>",
    );
    assert_eq!(services_taken(&mine, [services("").as_str(), "not xml"]), Ok(()));
    // The same URI spelt with a character reference clashes too.
    let spelt = services("<service uri=\"sip:a&#x40;x\"><list/></service>");
    assert!(matches!(
        services_taken(&mine, [spelt.as_str()]),
        Err(XcapError::UniquenessFailure(_))
    ));
    // The suggestion is free in documents that hold none of our URIs.
    let far = services("<service uri=\"sip:b-2@x\"><list/></service>");
    let Err(XcapError::UniquenessFailure(found)) =
        services_taken(&mine, [theirs.as_str(), far.as_str()])
    else {
        panic!("expected a uniqueness failure");
    };
    assert_eq!(found[0].alt_values, ["sip:b-3@x"]);
    assert_eq!(
        services_taken(&mine, [theirs.as_str()]),
        Err(XcapError::UniquenessFailure(vec![Duplicate {
            field: "rls-services/service[2]/@uri".into(),
            alt_values: vec!["sip:b-2@x".into()],
        }]))
    );
}

#[test]
fn pres_rules_structure() {
    refused(&rules("<cr:rule/>"), Auid::PresRules, "attribute id is required");
    refused(&rules("<cr:rule id=\"1a\"/>"), Auid::PresRules, "id=\"1a\" is not a valid value");
    refused(&rules("<cr:rule id=\"a\"/><cr:rule id=\"a\"/>"), Auid::PresRules, "not unique");
    refused(
        &rules("<cr:rule id=\"a\"><cr:actions/><cr:conditions/></cr:rule>"),
        Auid::PresRules,
        "conditions",
    );
    refused(&rules("<cr:rule id=\"a\" bogus=\"1\"/>"), Auid::PresRules, "attribute bogus");
    refused(&rules("<cr:other/>"), Auid::PresRules, "cr:other");
    refused(&rule("<cr:identity/>", "", ""), Auid::PresRules, "is missing");
    refused(
        &rule("<cr:identity><cr:one/></cr:identity>", "", ""),
        Auid::PresRules,
        "attribute id is required",
    );
    refused(
        &rule("<cr:identity><cr:one id=\"a\"><o:x/><o:y/></cr:one></cr:identity>", "", ""),
        Auid::PresRules,
        "o:y",
    );
    refused(
        &rule(
            "<cr:identity><cr:many><cr:except id=\"a\"><o:x/></cr:except></cr:many></cr:identity>",
            "",
            "",
        ),
        Auid::PresRules,
        "o:x",
    );
    refused(
        &rule("<cr:sphere>work</cr:sphere>", "", ""),
        Auid::PresRules,
        "attribute value is required",
    );
    refused(
        &rule("<cr:validity><cr:from>2003-08-15T10:20:00Z</cr:from></cr:validity>", "", ""),
        Auid::PresRules,
        "<until>",
    );
    refused(
        &rule("<cr:validity><cr:until>2003-08-15T10:20:00Z</cr:until></cr:validity>", "", ""),
        Auid::PresRules,
        "<from>",
    );
    refused(&rule("<cr:validity><cr:from>yesterday</cr:from><cr:until>2003-08-15T10:20:00Z</cr:until></cr:validity>", "", ""), Auid::PresRules, "yesterday");
    refused(
        &rule("", "<cr:sub-handling>allow</cr:sub-handling>", ""),
        Auid::PresRules,
        "cr:sub-handling",
    );
    refused(&rule("", "<sub-handling>allow</sub-handling>", ""), Auid::PresRules, "sub-handling");
    refused(&rule("<cr:foo/>", "", ""), Auid::PresRules, "cr:foo");
}

#[test]
fn pres_rules_values() {
    refused(
        &rule("", "<pr:sub-handling>allowed</pr:sub-handling>", ""),
        Auid::PresRules,
        "\"allowed\"",
    );
    refused(&rule("", "", "<pr:provide-note>yes</pr:provide-note>"), Auid::PresRules, "yes");
    refused(
        &rule("", "", "<pr:provide-user-input>some</pr:provide-user-input>"),
        Auid::PresRules,
        "some",
    );
    refused(
        &rule(
            "",
            "",
            "<pr:provide-unknown-attribute name=\"n\">true</pr:provide-unknown-attribute>",
        ),
        Auid::PresRules,
        "ns is required",
    );
    refused(
        &rule(
            "",
            "",
            "<pr:provide-services><pr:all-services/><pr:class>x</pr:class></pr:provide-services>",
        ),
        Auid::PresRules,
        "not allowed",
    );
    refused(
        &rule("", "", "<pr:provide-persons><pr:deviceID>x</pr:deviceID></pr:provide-persons>"),
        Auid::PresRules,
        "pr:deviceID",
    );
    refused(
        &rule("", "", "<pr:provide-all-attributes>x</pr:provide-all-attributes>"),
        Auid::PresRules,
        "text",
    );
    for ok in ["block", "confirm", "polite-block", "allow", " allow "] {
        accepted(
            &rule("", &format!("<pr:sub-handling>{ok}</pr:sub-handling>"), ""),
            Auid::PresRules,
        );
    }
}

#[test]
fn pres_rules_take_extensions() {
    // OMA's conditions and transformations, unknown pres-rules elements (lax), Kamailio's
    // spelling of occurrence-id, foreign attributes.
    accepted(
        &rule(
            "<ocp:external-list xmlns:ocp=\"urn:oma:xml:xdm:common-policy\"><ocp:entry anc=\"http://x\"/></ocp:external-list>\
             <ocp:other-identity xmlns:ocp=\"urn:oma:xml:xdm:common-policy\"/>\
             <cr:identity o:a=\"1\"><o:x/><cr:many domain=\"x\"><o:y/></cr:many></cr:identity>",
            "<pr:sub-handling>allow</pr:sub-handling><o:act/><pr:future-action/>",
            "<pr:provide-services><pr:occurence-id>x</pr:occurence-id><pr:service-uri-scheme>sip</pr:service-uri-scheme><o:s/></pr:provide-services>\
             <pr:provide-devices><pr:deviceID>mac:1</pr:deviceID></pr:provide-devices>\
             <pr:provide-persons><pr:all-persons/></pr:provide-persons>\
             <pr:provide-user-input>thresholds</pr:provide-user-input><pr:provide-all-attributes/>\
             <op:provide-willingness xmlns:op=\"urn:oma:xml:prs:pres-rules\">true</op:provide-willingness>",
        ),
        Auid::OmaPresRules,
    );
}

#[test]
fn pidf_structure() {
    refused(
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>",
        Auid::PidfManipulation,
        "attribute entity is required",
    );
    refused(&presence("<tuple id=\"t\"/>"), Auid::PidfManipulation, "<status> is missing");
    refused(
        &presence("<tuple><status/></tuple>"),
        Auid::PidfManipulation,
        "attribute id is required",
    );
    refused(
        &presence("<tuple id=\"t\"><status/></tuple><tuple id=\"t\"><status/></tuple>"),
        Auid::PidfManipulation,
        "not unique",
    );
    refused(
        &presence("<tuple id=\"t\"><status><basic>busy</basic></status></tuple>"),
        Auid::PidfManipulation,
        "busy",
    );
    refused(
        &presence("<tuple id=\"t\"><status/><contact priority=\"2\">sip:a@x</contact></tuple>"),
        Auid::PidfManipulation,
        "priority",
    );
    refused(
        &presence("<tuple id=\"t\"><status/><note/><contact>sip:a@x</contact></tuple>"),
        Auid::PidfManipulation,
        "contact",
    );
    refused(
        &presence("<tuple id=\"t\"><status/><timestamp>now</timestamp></tuple>"),
        Auid::PidfManipulation,
        "now",
    );
    refused(&presence("<note/><tuple id=\"t\"><status/></tuple>"), Auid::PidfManipulation, "tuple");
    refused(&presence("<o:x/><note/>"), Auid::PidfManipulation, "note");
    refused(&presence("<foo/>"), Auid::PidfManipulation, "foo");
    refused(
        &presence("<tuple id=\"t\" o:a=\"1\"><status/></tuple>"),
        Auid::PidfManipulation,
        "not allowed",
    );
    accepted(
        &presence(
            "<tuple id=\"t\"><status><o:s/></status><o:x/><o:y/><note/><note/></tuple><o:z/>",
        ),
        Auid::PidfManipulation,
    );
}

#[test]
fn oma_usages_without_a_known_schema_take_any_well_formed_document() {
    for auid in [Auid::UserProfile, Auid::PresContent] {
        accepted("<anything xmlns=\"urn:x\"><at all=\"1\"/></anything>", auid);
    }
}

#[test]
fn the_report_names_the_schema_error() {
    let err =
        validate(&lists("<list name=\"friends\" bogus=\"1\"/>"), Auid::ResourceLists).unwrap_err();
    assert_eq!(err.status(), 409);
    let body = err.body().unwrap();
    assert!(
        body.contains("<schema-validation-error phrase=\"resource-lists/list[1]: attribute bogus is not allowed\"/>"),
        "{body}"
    );
}
