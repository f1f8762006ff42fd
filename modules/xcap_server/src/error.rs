//! Failures of XCAP operations as HTTP answers, with the RFC 4825 §11 conflict report bodies.

use std::fmt;

use xcap::percent::encode_path;
use xcap::node_selector::SelectorError;
use xcap::xml_text::{escape_attr, escape_text};

/// The MIME type of a conflict report.
pub const XCAP_ERROR_MIME: &str = "application/xcap-error+xml";
/// The namespace of a conflict report.
pub const XCAP_ERROR_NS: &str = "urn:ietf:params:xml:ns:xcap-error";

/// Why an XCAP request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XcapError {
    /// 404: nothing (or more than one node) is selected.
    NotFound(&'static str),
    /// 400: malformed URI, selector or request.
    BadRequest(String),
    /// 405: the method does not apply to this resource; answer with `Allow:` [`Self::allow`].
    MethodNotAllowed { allow: &'static str },
    /// 415: the body's MIME type does not fit the resource.
    UnsupportedMediaType,
    /// 413: the document would be larger than `limit` bytes.
    PayloadTooLarge { limit: usize },
    /// 409 `not-well-formed`: the body or stored document is not well-formed XML.
    NotWellFormed(String),
    /// 409 `not-xml-frag`: an element PUT body is not exactly one well-formed element.
    NotXmlFrag(String),
    /// 409 `not-xml-att-value`: an attribute PUT body is not a valid attribute value.
    NotXmlAttValue(String),
    /// 409 `not-utf-8`: the document is not UTF-8.
    NotUtf8,
    /// 409 `no-parent`: the parent of the new node does not exist. `ancestor` names the
    /// closest one that does: a node selector from the document layer (`None`: the document
    /// itself), a full URI after [`Self::anchor_ancestor`].
    NoParent { ancestor: Option<String> },
    /// 409 `cannot-insert`: a GET after the PUT would not return what was PUT.
    CannotInsert(String),
    /// 409 `cannot-delete`: after the DELETE the same URI would select another node.
    CannotDelete(String),
    /// 409 `uniqueness-failure`: values the application usage requires to be unique are not.
    UniquenessFailure(Vec<Duplicate>),
    /// 409 `constraint-failure`: the document breaks a rule of this server or the usage.
    ConstraintFailure(String),
    /// 409 `schema-validation-error`: the document breaks the usage's schema; the phrase says
    /// where and how.
    SchemaValidationError(String),
}

/// One non-unique value in a uniqueness failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Where the value is: a node selector of the attribute, e.g. `resource-lists/list[2]/@name`.
    pub field: String,
    /// Values the client could use instead.
    pub alt_values: Vec<String>,
}

impl XcapError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            XcapError::NotFound(_) => 404,
            XcapError::BadRequest(_) => 400,
            XcapError::MethodNotAllowed { .. } => 405,
            XcapError::UnsupportedMediaType => 415,
            XcapError::PayloadTooLarge { .. } => 413,
            _ => 409,
        }
    }

    /// The HTTP reason phrase.
    pub fn reason(&self) -> &'static str {
        match self.status() {
            404 => "Not Found",
            400 => "Bad Request",
            405 => "Method Not Allowed",
            415 => "Unsupported Media Type",
            413 => "Payload Too Large",
            _ => "Conflict",
        }
    }

    /// The methods to list in an `Allow:` header, for a 405.
    pub fn allow(&self) -> Option<&'static str> {
        match self {
            XcapError::MethodNotAllowed { allow } => Some(allow),
            _ => None,
        }
    }

    /// The `Content-Type` of [`Self::body`], when there is one.
    pub fn content_type(&self) -> Option<&'static str> {
        self.body().map(|_| XCAP_ERROR_MIME)
    }

    /// The `application/xcap-error+xml` report of a 409.
    pub fn body(&self) -> Option<String> {
        let element = match self {
            XcapError::NotWellFormed(phrase) => empty_element("not-well-formed", phrase),
            XcapError::NotXmlFrag(phrase) => empty_element("not-xml-frag", phrase),
            XcapError::NotXmlAttValue(phrase) => empty_element("not-xml-att-value", phrase),
            XcapError::NotUtf8 => empty_element("not-utf-8", ""),
            XcapError::CannotInsert(phrase) => empty_element("cannot-insert", phrase),
            XcapError::CannotDelete(phrase) => empty_element("cannot-delete", phrase),
            XcapError::ConstraintFailure(phrase) => empty_element("constraint-failure", phrase),
            XcapError::SchemaValidationError(phrase) => {
                empty_element("schema-validation-error", phrase)
            }
            XcapError::NoParent { ancestor: None } => empty_element("no-parent", ""),
            XcapError::NoParent { ancestor: Some(ancestor) } => {
                format!("<no-parent><ancestor>{}</ancestor></no-parent>", escape_text(ancestor))
            }
            XcapError::UniquenessFailure(duplicates) => {
                let exists: String = duplicates.iter().map(Duplicate::to_xml).collect();
                format!("<uniqueness-failure>{exists}</uniqueness-failure>")
            }
            _ => return None,
        };
        Some(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <xcap-error xmlns=\"{XCAP_ERROR_NS}\">{element}</xcap-error>\n"
        ))
    }

    /// Turns the document layer's `no-parent` ancestor (a node selector, or none for the
    /// document) into the URI the report must carry, given the document's URI path and the
    /// request's raw query (needed again for the selector's prefixes).
    pub fn anchor_ancestor(self, document_uri: &str, query: Option<&str>) -> XcapError {
        let XcapError::NoParent { ancestor } = self else {
            return self;
        };
        let document = encode_path(document_uri);
        let uri = match ancestor {
            None => document,
            Some(selector) => {
                let query = query.map(|q| format!("?{q}")).unwrap_or_default();
                format!("{document}/~~/{}{query}", encode_path(&selector))
            }
        };
        XcapError::NoParent { ancestor: Some(uri) }
    }
}

impl Duplicate {
    fn to_xml(&self) -> String {
        let alts: String = self
            .alt_values
            .iter()
            .map(|alt| format!("<alt-value>{}</alt-value>", escape_text(alt)))
            .collect();
        // The field is a node selector in URI form, so percent-encoded (RFC 4825 §11).
        let field = encode_path(&self.field);
        format!("<exists field=\"{}\">{alts}</exists>", escape_attr(&field))
    }
}

/// `<tag/>`, with a `phrase` attribute when there is one.
fn empty_element(tag: &str, phrase: &str) -> String {
    if phrase.is_empty() {
        format!("<{tag}/>")
    } else {
        format!("<{tag} phrase=\"{}\"/>", escape_attr(phrase))
    }
}

impl fmt::Display for XcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XcapError::NotFound(what) => write!(f, "not found: {what}"),
            XcapError::BadRequest(why) => write!(f, "bad request: {why}"),
            XcapError::MethodNotAllowed { allow } => {
                write!(f, "method not allowed (allow: {allow})")
            }
            XcapError::UnsupportedMediaType => f.write_str("unsupported media type"),
            XcapError::PayloadTooLarge { limit } => write!(f, "document larger than {limit} bytes"),
            XcapError::NotWellFormed(why) => write!(f, "not well-formed: {why}"),
            XcapError::NotXmlFrag(why) => write!(f, "not an XML element fragment: {why}"),
            XcapError::NotXmlAttValue(why) => write!(f, "not an XML attribute value: {why}"),
            XcapError::NotUtf8 => f.write_str("document is not UTF-8"),
            XcapError::NoParent { ancestor: Some(a) } => {
                write!(f, "no parent (closest ancestor: {a})")
            }
            XcapError::NoParent { ancestor: None } => {
                f.write_str("no parent element in the document")
            }
            XcapError::CannotInsert(why) => write!(f, "cannot insert: {why}"),
            XcapError::CannotDelete(why) => write!(f, "cannot delete: {why}"),
            XcapError::UniquenessFailure(duplicates) => {
                f.write_str("uniqueness failure:")?;
                for duplicate in duplicates {
                    write!(f, " {}", duplicate.field)?;
                }
                Ok(())
            }
            XcapError::ConstraintFailure(why) => write!(f, "constraint failure: {why}"),
            XcapError::SchemaValidationError(why) => write!(f, "schema validation error: {why}"),
        }
    }
}

impl std::error::Error for XcapError {}

impl From<SelectorError> for XcapError {
    fn from(err: SelectorError) -> XcapError {
        XcapError::BadRequest(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(err: &XcapError) -> String {
        err.body().expect("a conflict has a body")
    }

    #[test]
    fn statuses_and_reasons() {
        let cases = [
            (XcapError::NotFound("x"), 404, "Not Found"),
            (XcapError::BadRequest("x".into()), 400, "Bad Request"),
            (XcapError::MethodNotAllowed { allow: "GET" }, 405, "Method Not Allowed"),
            (XcapError::UnsupportedMediaType, 415, "Unsupported Media Type"),
            (XcapError::PayloadTooLarge { limit: 10 }, 413, "Payload Too Large"),
            (XcapError::NotUtf8, 409, "Conflict"),
            (XcapError::CannotInsert(String::new()), 409, "Conflict"),
        ];
        for (err, status, reason) in cases {
            assert_eq!((err.status(), err.reason()), (status, reason), "{err}");
        }
    }

    #[test]
    fn only_conflicts_have_a_body() {
        assert_eq!(XcapError::NotFound("x").body(), None);
        assert_eq!(XcapError::NotFound("x").content_type(), None);
        assert_eq!(XcapError::BadRequest("x".into()).body(), None);
        assert_eq!(XcapError::NotUtf8.content_type(), Some("application/xcap-error+xml"));
        assert_eq!(XcapError::MethodNotAllowed { allow: "GET" }.allow(), Some("GET"));
        assert_eq!(XcapError::NotUtf8.allow(), None);
    }

    #[test]
    fn conflict_bodies_carry_the_element_and_phrase() {
        assert_eq!(
            body(&XcapError::NotUtf8),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <xcap-error xmlns=\"urn:ietf:params:xml:ns:xcap-error\"><not-utf-8/></xcap-error>\n"
        );
        assert!(body(&XcapError::CannotInsert("a \"b\" <c>".into()))
            .contains("<cannot-insert phrase=\"a &quot;b&quot; &lt;c&gt;\"/>"));
        assert!(body(&XcapError::NotXmlFrag(String::new())).contains("<not-xml-frag/>"));
        assert!(
            body(&XcapError::CannotDelete("x".into())).contains("<cannot-delete phrase=\"x\"/>")
        );
        assert!(body(&XcapError::NotWellFormed("x".into())).contains("<not-well-formed phrase"));
        assert!(body(&XcapError::NotXmlAttValue("x".into())).contains("<not-xml-att-value phrase"));
        assert!(body(&XcapError::ConstraintFailure("x".into())).contains("<constraint-failure"));
        assert!(body(&XcapError::SchemaValidationError("x".into()))
            .contains("<schema-validation-error phrase=\"x\"/>"));
    }

    #[test]
    fn uniqueness_failure_lists_each_duplicate() {
        let err = XcapError::UniquenessFailure(vec![
            Duplicate {
                field: "rls-services/service[2]/@uri".into(),
                alt_values: vec!["sip:mybuddies-1@example.com".into()],
            },
            Duplicate { field: "resource-lists/list[1]/entry[3]/@uri".into(), alt_values: vec![] },
        ]);
        assert!(body(&err).contains(
            "<uniqueness-failure><exists field=\"rls-services/service%5B2%5D/@uri\">\
             <alt-value>sip:mybuddies-1@example.com</alt-value></exists>\
             <exists field=\"resource-lists/list%5B1%5D/entry%5B3%5D/@uri\"></exists></uniqueness-failure>"
        ));
        assert_eq!(
            err.to_string(),
            "uniqueness failure: rls-services/service[2]/@uri resource-lists/list[1]/entry[3]/@uri"
        );
    }

    #[test]
    fn no_parent_reports_the_anchored_ancestor() {
        let doc = "/xcap-root/rls-services/users/sip:joe@example.com/index";
        let err =
            XcapError::NoParent { ancestor: Some("rls-services/service[@uri=\"a b\"]".into()) };
        let anchored = err.anchor_ancestor(doc, Some("xmlns(x=urn:x)"));
        assert_eq!(
            anchored,
            XcapError::NoParent {
                ancestor: Some(format!(
                    "{doc}/~~/rls-services/service%5B@uri=%22a%20b%22%5D?xmlns(x=urn:x)"
                ))
            }
        );
        assert!(body(&anchored).contains(&format!("<no-parent><ancestor>{doc}/~~/rls-services")));
        let root = XcapError::NoParent { ancestor: None }.anchor_ancestor(doc, None);
        assert_eq!(root, XcapError::NoParent { ancestor: Some(doc.to_string()) });
        assert!(body(&XcapError::NoParent { ancestor: None }).contains("<no-parent/>"));
    }

    #[test]
    fn anchoring_leaves_other_errors_alone() {
        assert_eq!(XcapError::NotUtf8.anchor_ancestor("/d", None), XcapError::NotUtf8);
    }

    #[test]
    fn selector_errors_are_bad_requests() {
        let err: XcapError = SelectorError::Empty.into();
        assert_eq!(err, XcapError::BadRequest("empty node selector".into()));
    }
}
