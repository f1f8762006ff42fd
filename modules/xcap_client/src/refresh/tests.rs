use super::*;

const OLD: &str = "<ruleset/>";
const NEW: &str = "<ruleset><rule id=\"a\"/></ruleset>";

fn row(etag: Option<&str>) -> StoredDoc {
    StoredDoc {
        username: "alice".into(),
        domain: "example.com".into(),
        doc_type: 2,
        doc: OLD.into(),
        etag: etag.map(str::to_owned),
        doc_uri: "http://xcap.example.com/pres-rules/users/sip:alice@example.com/index".into(),
        port: 8080,
    }
}

fn document(body: &str, etag: Option<&str>) -> Result<Fetched, FetchError> {
    Ok(Fetched::Document {
        body: body.into(),
        etag: etag.map(str::to_owned),
    })
}

fn failure() -> FetchError {
    FetchError::Status {
        url: "http://h/x".into(),
        code: 503,
    }
}

#[test]
fn not_modified_is_unchanged() {
    assert!(matches!(
        decide(Some(&row(Some("v1"))), Ok(Fetched::NotModified)),
        Refresh::Unchanged
    ));
    assert!(matches!(
        decide(None, Ok(Fetched::NotModified)),
        Refresh::Unchanged
    ));
}

#[test]
fn same_document_and_tag_is_unchanged() {
    assert!(matches!(
        decide(Some(&row(Some("v1"))), document(OLD, Some("v1"))),
        Refresh::Unchanged
    ));
    assert!(matches!(
        decide(Some(&row(None)), document(OLD, None)),
        Refresh::Unchanged
    ));
}

#[test]
fn tag_stored_by_older_code_compares_bare() {
    let stored = row(Some("\"v1\"\r\n"));
    assert!(matches!(
        decide(Some(&stored), document(OLD, Some("v1"))),
        Refresh::Unchanged
    ));
}

#[test]
fn new_document_is_stored_with_its_new_tag() {
    match decide(Some(&row(Some("v1"))), document(NEW, Some("v2"))) {
        Refresh::Updated { doc, etag } => {
            assert_eq!(doc, NEW);
            assert_eq!(etag.as_deref(), Some("v2"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn new_document_under_the_old_tag_is_still_an_update() {
    match decide(Some(&row(Some("v1"))), document(NEW, Some("v1"))) {
        Refresh::Updated { doc, etag } => {
            assert_eq!(doc, NEW);
            assert_eq!(etag.as_deref(), Some("v1"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn new_document_without_a_tag_is_an_update() {
    match decide(Some(&row(Some("v1"))), document(NEW, None)) {
        Refresh::Updated { doc, etag } => {
            assert_eq!(doc, NEW);
            assert_eq!(etag, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn same_document_under_a_new_tag_is_retagged() {
    match decide(Some(&row(Some("v1"))), document(OLD, Some("v2"))) {
        Refresh::Retagged { etag } => assert_eq!(etag.as_deref(), Some("v2")),
        other => panic!("{other:?}"),
    }
    match decide(Some(&row(None)), document(OLD, Some("v2"))) {
        Refresh::Retagged { etag } => assert_eq!(etag.as_deref(), Some("v2")),
        other => panic!("{other:?}"),
    }
    match decide(Some(&row(Some("v1"))), document(OLD, None)) {
        Refresh::Retagged { etag } => assert_eq!(etag, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn document_no_row_mirrors_is_an_update() {
    match decide(None, document(OLD, Some("v1"))) {
        Refresh::Updated { doc, etag } => {
            assert_eq!(doc, OLD);
            assert_eq!(etag.as_deref(), Some("v1"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_document_is_gone() {
    assert!(matches!(
        decide(Some(&row(Some("v1"))), Ok(Fetched::NotFound)),
        Refresh::Gone
    ));
    assert!(matches!(decide(None, Ok(Fetched::NotFound)), Refresh::Gone));
}

#[test]
fn fetch_error_fails_and_keeps_the_error() {
    match decide(Some(&row(Some("v1"))), Err(failure())) {
        Refresh::Failed(error) => assert_eq!(
            error.to_string(),
            "XCAP GET http://h/x: unexpected HTTP status 503"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn xid_for_callbacks() {
    assert_eq!(row(None).xid().to_string(), "sip:alice@example.com");
    let mut stored = row(None);
    stored.username.clear();
    assert_eq!(stored.xid().to_string(), "sip:example.com");
}

#[test]
fn fetch_url_applies_the_port() {
    assert_eq!(
        row(None).fetch_url().unwrap(),
        "http://xcap.example.com:8080/pres-rules/users/sip:alice@example.com/index"
    );
    let mut stored = row(None);
    stored.port = 0;
    assert_eq!(stored.fetch_url().unwrap(), stored.doc_uri);
    stored.doc_uri = "gopher://h/x".into();
    assert!(stored.fetch_url().is_err());
}

#[test]
fn condition_follows_the_stored_tag() {
    assert_eq!(row(Some("v1")).condition(), Condition::IfNoneMatch("v1"));
    assert_eq!(
        row(Some("\"v1\"\r\n")).condition(),
        Condition::IfNoneMatch("v1")
    );
    assert_eq!(
        row(Some("W/\"v1\"")).condition(),
        Condition::IfNoneMatch("v1")
    );
    assert_eq!(row(None).condition(), Condition::None);
    assert_eq!(row(Some("")).condition(), Condition::None);
    assert_eq!(row(Some(" \r\n")).condition(), Condition::None);
    assert_eq!(row(Some("a\"b")).condition(), Condition::None);
}
