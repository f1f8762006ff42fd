use super::super::samples::{PRES_RULES, RESOURCE_LISTS, RLS_SERVICES};
use super::super::{validate_document, MAX_DEPTH, MAX_REPORTED_DUPLICATES};
use xcap::auid::Auid;
use crate::error::{Duplicate, XcapError};

const LIMIT: usize = 1 << 20;

fn validate(doc: &str, auid: Auid) -> Result<(), XcapError> {
    validate_document(doc.as_bytes(), auid, LIMIT)
}

fn duplicates(result: Result<(), XcapError>) -> Vec<Duplicate> {
    match result {
        Err(XcapError::UniquenessFailure(duplicates)) => duplicates,
        other => panic!("expected a uniqueness failure, got {other:?}"),
    }
}

fn lists(body: &str) -> String {
    format!(
        "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">{body}</resource-lists>"
    )
}

#[test]
fn rfc_examples_are_valid() {
    assert_eq!(validate(RESOURCE_LISTS, Auid::ResourceLists), Ok(()));
    assert_eq!(validate(RLS_SERVICES, Auid::RlsServices), Ok(()));
    assert_eq!(validate(PRES_RULES, Auid::PresRules), Ok(()));
}

#[test]
fn encoding_must_be_utf8() {
    assert_eq!(
        validate_document(b"<a>\xff</a>", Auid::PidfManipulation, LIMIT),
        Err(XcapError::NotUtf8)
    );
    assert_eq!(
        validate("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", Auid::PidfManipulation),
        Err(XcapError::NotUtf8)
    );
    assert_eq!(
        validate("<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>", Auid::UserProfile),
        Ok(())
    );
}

#[test]
fn malformed_dtd_and_deep_documents_are_refused() {
    assert!(matches!(
        validate("<a><b></a>", Auid::PidfManipulation),
        Err(XcapError::NotWellFormed(_))
    ));
    assert!(matches!(validate("", Auid::PidfManipulation), Err(XcapError::NotWellFormed(_))));
    assert!(matches!(
        validate("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", Auid::PidfManipulation),
        Err(XcapError::ConstraintFailure(_))
    ));
    let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
    assert!(matches!(
        validate(&deep, Auid::PidfManipulation),
        Err(XcapError::ConstraintFailure(_))
    ));
}

#[test]
fn size_limit_is_the_callers() {
    assert_eq!(
        validate_document(RESOURCE_LISTS.as_bytes(), Auid::ResourceLists, 100),
        Err(XcapError::PayloadTooLarge { limit: 100 })
    );
    assert_eq!(validate_document(b"<a/>", Auid::UserProfile, 4), Ok(()));
}

#[test]
fn list_names_are_unique_among_siblings() {
    let found = duplicates(validate(
        &lists("<list name=\"a\"/><list name=\"b\"/><list name=\"a\"><list name=\"a\"/></list><list name=\"a-1\"/>"),
        Auid::ResourceLists,
    ));
    assert_eq!(
        found,
        vec![Duplicate {
            field: "resource-lists/list[3]/@name".into(),
            alt_values: vec!["a-2".into()]
        }]
    );
}

#[test]
fn members_are_unique_within_their_list() {
    let found = duplicates(validate(
        &lists(
            "<list name=\"l\"><entry uri=\"sip:x@y\"/><entry uri=\"sip:x@y\"/>\
             <entry-ref ref=\"r\"/><entry-ref ref=\"r\"/><external anchor=\"h\"/><external anchor=\"h\"/></list>\
             <list name=\"m\"><entry uri=\"sip:x@y\"/></list>",
        ),
        Auid::ResourceLists,
    ));
    let fields: Vec<&str> = found.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "resource-lists/list[1]/entry[2]/@uri",
            "resource-lists/list[1]/entry-ref[2]/@ref",
            "resource-lists/list[1]/external[2]/@anchor",
        ]
    );
    assert!(found.iter().all(|d| d.alt_values.is_empty()));
}

#[test]
fn uniqueness_report_body() {
    let err =
        validate(&lists("<list name=\"a\"/><list name=\"a\"/>"), Auid::ResourceLists).unwrap_err();
    assert_eq!(err.status(), 409);
    assert!(err.body().unwrap().contains(
        "<uniqueness-failure><exists field=\"resource-lists/list%5B2%5D/@name\"><alt-value>a-1</alt-value></exists></uniqueness-failure>"
    ));
}

#[test]
fn elements_outside_the_usage_namespace_are_not_checked() {
    let doc = lists(
        "<list name=\"l\"><o:list xmlns:o=\"urn:other\" name=\"a\"/><o:list xmlns:o=\"urn:other\" name=\"a\"/></list>",
    );
    assert_eq!(validate(&doc, Auid::ResourceLists), Ok(()));
    assert_eq!(
        validate(&lists("<list name=\"a\"/><list name=\"a\"/>"), Auid::UserProfile),
        Ok(())
    );
}

#[test]
fn many_duplicates_are_reported_up_to_the_cap() {
    let entries = "<entry uri=\"sip:same@x\"/>".repeat(5000);
    let found = duplicates(validate(
        &lists(&format!("<list name=\"l\">{entries}</list>")),
        Auid::ResourceLists,
    ));
    assert_eq!(found.len(), MAX_REPORTED_DUPLICATES);
    assert_eq!(found[0].field, "resource-lists/list[1]/entry[2]/@uri");
}

#[test]
fn service_uris_are_unique_in_the_document() {
    let doc = RLS_SERVICES.replace("sip:marketing@example.com", "sip:mybuddies@example.com");
    let found = duplicates(validate(&doc, Auid::RlsServices));
    assert_eq!(
        found,
        vec![Duplicate {
            field: "rls-services/service[2]/@uri".into(),
            alt_values: vec!["sip:mybuddies-1@example.com".into()],
        }]
    );
}
