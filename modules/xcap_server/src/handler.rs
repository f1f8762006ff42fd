//! One XCAP request, from path, headers and body to the HTTP response, as RFC 4825 says;
//! storage and locking come from the caller, so this runs (and is tested) without Kamailio.

use xcap::auid::Auid;
use crate::doc::{self, select, validate_document_with};
use crate::error::XcapError;
use xcap::etag::{check_preconditions, Method as EtagMethod, Precondition};
use xcap::node_selector::{NodeSelector, Terminal};
use crate::store::{DirEntry, DocKey, StoredDoc, TypedDoc, Written};
use crate::uri::XcapUri;
pub use crate::xcapdiff::Change;
use xcap::xml_text::escape_attr;

/// The HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Delete,
}

/// What the handler needs to know about a request.
pub struct Request<'a> {
    pub method: Method,
    /// The owner of the documents (user, host of the SIP URI the script passes); `None` when
    /// that is not a SIP URI, which matters only once a document is looked up.
    pub owner: Option<(&'a str, &'a str)>,
    /// The HTTP path with its query.
    pub path: &'a str,
    pub xcap_root: &'a str,
    pub body: Option<&'a [u8]>,
    pub content_type: Option<&'a str>,
    /// Refuse a PUT whose Content-Type does not fit the resource (415, RFC 4825 §8.2.1);
    /// when false, any Content-Type is accepted, as clients that send none rely on, and none
    /// at all only for a whole document (an element or attribute PUT without one gets 415).
    pub strict_content_type: bool,
    /// Refuse a document that breaks its usage's schema (409, RFC 4825 §8.2.5); when false,
    /// well-formed documents are stored as the stock module stores them.
    pub schema_validation: bool,
    pub if_match: &'a [&'a str],
    pub if_none_match: &'a [&'a str],
    /// Documents larger than this are refused with 413.
    pub max_doc_bytes: usize,
    /// `scheme://host[:port]` for the URIs of the directory listing.
    pub directory_base: &'a str,
    /// Prefix bindings available to node selectors besides the `xmlns()` query.
    pub extra_namespaces: &'a [(String, String)],
    /// Every change must name the entity tag it replaced (xcap-diff is published): a whole
    /// document is then also written on condition of the tag read before.
    pub exact_changes: bool,
}

/// The HTTP response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// A line for the log, for answers an operator should see.
    pub log: Option<String>,
    /// What a successful PUT or DELETE changed in the stored documents.
    pub change: Option<Change>,
    /// Why the request was refused, when that is one of the kinds operators count.
    pub refusal: Option<Refusal>,
    /// How many times the change found another writer's change made since it read the
    /// document (each time it was made again, up to [`WRITE_ATTEMPTS`] times in all).
    pub races_lost: u32,
}

/// The refusals the module's statistics tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 409: the document, or the element or attribute PUT into it, is not acceptable
    /// (`not-well-formed`, `not-xml-frag`, `not-xml-att-value`, `not-utf-8`,
    /// `schema-validation-error`, `constraint-failure`).
    Invalid,
    /// 415: the body's Content-Type does not fit the resource.
    MediaType,
    /// 409: the node selector does not fit the document (`no-parent`, `cannot-insert`,
    /// `cannot-delete`).
    Node,
    /// 409 `uniqueness-failure`: a value is taken by another document (rls-services URIs).
    Uniqueness,
    /// 412: an `If-Match` or `If-None-Match` precondition failed.
    Precondition,
    /// 503: the change lost [`WRITE_ATTEMPTS`] races with other writers in a row.
    TooManyRaces,
}

impl Refusal {
    /// The kind of an XCAP error, if it is one that is counted.
    pub fn of(e: &XcapError) -> Option<Refusal> {
        match e {
            XcapError::NotWellFormed(_)
            | XcapError::NotXmlFrag(_)
            | XcapError::NotXmlAttValue(_)
            | XcapError::NotUtf8
            | XcapError::SchemaValidationError(_)
            | XcapError::ConstraintFailure(_) => Some(Refusal::Invalid),
            XcapError::UnsupportedMediaType => Some(Refusal::MediaType),
            XcapError::NoParent { .. } | XcapError::CannotInsert(_) | XcapError::CannotDelete(_) => Some(Refusal::Node),
            XcapError::UniquenessFailure(_) => Some(Refusal::Uniqueness),
            XcapError::NotFound(_) | XcapError::BadRequest(_) | XcapError::MethodNotAllowed { .. } | XcapError::PayloadTooLarge { .. } => None,
        }
    }
}

/// The documents, for one request.
pub trait Storage {
    fn fetch(&mut self, key: &DocKey) -> Result<Option<StoredDoc>, String>;
    /// The entity tag of a stored document, without reading the document.
    fn fetch_etag(&mut self, key: &DocKey) -> Result<Option<String>, String> {
        Ok(self.fetch(key)?.map(|d| d.etag))
    }
    /// Stores a document if it is still as the caller read it: tagged `expected`, or absent
    /// when None (see [`crate::store::store`]).
    fn store(&mut self, key: &DocKey, expected: Option<&str>, doc_type: i32, doc: &[u8], etag: &str) -> Result<Written, String>;
    /// Whether [`Storage::replace`] works here: the storage tells a replacement from a
    /// creation without reading first (see [`crate::store::replace`]).
    fn replaces(&mut self) -> bool {
        false
    }
    /// Stores a whole document whatever is stored now.
    fn replace(&mut self, _key: &DocKey, _doc_type: i32, _doc: &[u8], _etag: &str) -> Result<Written, String> {
        Err("this storage does not replace without reading first".into())
    }
    /// Removes a document if it is still tagged `expected`.
    fn remove(&mut self, key: &DocKey, expected: &str) -> Result<Written, String>;
    fn list(&mut self, username: &str, domain: &str) -> Result<Vec<DirEntry>, String>;
    /// Every document of `doc_type`, of all users (for server-wide uniqueness).
    fn all_of_type(&mut self, doc_type: i32) -> Result<Vec<TypedDoc>, String>;
    /// A fresh entity tag, unique across processes and restarts.
    fn new_etag(&mut self) -> String;
    /// Runs `f` holding the lock for one document (across processes).
    fn locked<T>(&mut self, doc_uri: &str, f: impl FnOnce(&mut Self) -> T) -> T;
    /// Runs `f` as the only writer of all documents, across every server on the database.
    fn exclusive<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Result<T, String>;
}

/// How often a change that lost a race with another writer (another node on the same
/// database) is made again on what that writer left, before the client gets a 503.
const WRITE_ATTEMPTS: usize = 16;

/// Waits a random while before the next attempt, longer after each loss (up to 8 ms), so that
/// writers racing for one document stop meeting at the same moment.
fn back_off(losses: usize) {
    use std::hash::{BuildHasher, Hasher};
    let cap_us = 250u64 << losses.min(5);
    let jitter = std::collections::hash_map::RandomState::new().build_hasher().finish() % cap_us;
    std::thread::sleep(std::time::Duration::from_micros(jitter));
}

/// The outcome of one attempt at a change.
enum Attempt {
    Done(Response),
    /// Another writer changed the document between reading and writing it.
    Raced,
}

impl From<Response> for Attempt {
    fn from(r: Response) -> Attempt {
        Attempt::Done(r)
    }
}

/// Makes a change, again from a fresh read whenever another writer got in between: the
/// preconditions are then checked against that writer's version (so a conditional request
/// gets its 412) and an unconditional one applies to it (so no acknowledged change is lost).
fn with_retries(doc_uri: &str, mut attempt: impl FnMut() -> Attempt) -> Response {
    for n in 0..WRITE_ATTEMPTS {
        if let Attempt::Done(mut r) = attempt() {
            r.races_lost = n as u32;
            return r;
        }
        back_off(n);
    }
    let mut r = Response::new(503, "Service Unavailable");
    r.headers.push(("Retry-After".into(), "1".into()));
    r.log = Some(format!("{doc_uri} was changed by other writers {WRITE_ATTEMPTS} times while this request tried to change it"));
    r.refusal = Some(Refusal::TooManyRaces);
    r.races_lost = WRITE_ATTEMPTS as u32;
    r
}

impl Response {
    fn new(status: u16, reason: &'static str) -> Response {
        Response { status, reason, headers: Vec::new(), body: None, log: None, change: None, refusal: None, races_lost: 0 }
    }

    fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        self.headers.push(("Content-Type".into(), content_type.into()));
        self.body = Some(body.into());
        self
    }

    fn with_etag(mut self, etag: &str) -> Response {
        self.headers.push(("ETag".into(), format!("\"{etag}\"")));
        self
    }

    fn with_change(mut self, doc_uri: &str, previous_etag: Option<String>, new_etag: Option<&str>) -> Response {
        self.change = Some(Change { doc_uri: doc_uri.to_string(), previous_etag, new_etag: new_etag.map(String::from) });
        self
    }

    /// 500, for failures of this server (the details go to the log).
    pub fn server_error() -> Response {
        Response::new(500, "Server Error")
    }

    fn internal(what: String) -> Response {
        let mut r = Response::server_error();
        r.log = Some(what);
        r
    }
}

impl From<XcapError> for Response {
    fn from(e: XcapError) -> Response {
        let mut r = Response::new(e.status(), e.reason());
        r.refusal = Refusal::of(&e);
        if let Some(allow) = e.allow() {
            r.headers.push(("Allow".into(), allow.into()));
        }
        if let (Some(ct), Some(body)) = (e.content_type(), e.body()) {
            r = r.with_body(ct, body);
        }
        if let XcapError::PayloadTooLarge { limit } = e {
            r.log = Some(format!("refused a document larger than {limit} bytes (raise buf_size to accept it)"));
        }
        r
    }
}

/// Handles the request; never panics on any input.
pub fn handle<S: Storage>(req: &Request, storage: &mut S) -> Response {
    let mut uri = match XcapUri::parse(req.path, req.xcap_root) {
        Ok(u) => u,
        Err(e) => return Response::new(e.status(), e.reason()),
    };
    match (uri.auid, req.method) {
        (Auid::XcapCaps, Method::Get) => return caps(req),
        (Auid::XcapDirectory, Method::Get) => return directory(req, &uri, storage),
        (Auid::XcapCaps | Auid::XcapDirectory, _) => return XcapError::MethodNotAllowed { allow: "GET" }.into(),
        (Auid::Search, _) => return XcapError::MethodNotAllowed { allow: "POST" }.into(),
        _ => {}
    }
    for (prefix, ns) in req.extra_namespaces {
        if !uri.namespaces.iter().any(|(p, _)| p == prefix) {
            uri.namespaces.push((prefix.clone(), ns.clone()));
        }
    }
    let selector = match uri.selector() {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => return XcapError::from(e).into(),
    };
    let Some((username, domain)) = req.owner else {
        return Response::internal("the owner URI given to the xcaps function is not a SIP URI".into());
    };
    let key = DocKey { username, domain, doc_uri: &uri.adoc };
    match req.method {
        Method::Get => get(req, &uri, selector.as_ref(), &key, storage),
        Method::Put => with_retries(&uri.adoc, || storage.locked(&uri.adoc, |s| put(req, &uri, selector.as_ref(), &key, s))),
        Method::Delete => with_retries(&uri.adoc, || storage.locked(&uri.adoc, |s| delete(req, &uri, selector.as_ref(), &key, s))),
    }
}

/// The stored document as text, if there is one; the error is the message of a 500.
fn load<S: Storage>(storage: &mut S, key: &DocKey) -> Result<Option<(String, String)>, String> {
    match storage.fetch(key) {
        Ok(None) => Ok(None),
        Ok(Some(StoredDoc { doc, etag })) => match String::from_utf8(doc) {
            Ok(text) => Ok(Some((text, etag))),
            Err(_) => Err(format!("the stored document {} is not UTF-8", key.doc_uri)),
        },
        Err(e) => Err(format!("reading {}: {e}", key.doc_uri)),
    }
}

/// The stored document's entity tag alone (the text left empty), if there is one; the error
/// is the message of a 500.
fn load_etag<S: Storage>(storage: &mut S, key: &DocKey) -> Result<Option<(String, String)>, String> {
    match storage.fetch_etag(key) {
        Ok(etag) => Ok(etag.map(|e| (String::new(), e))),
        Err(e) => Err(format!("reading {}: {e}", key.doc_uri)),
    }
}

fn preconditions(req: &Request, method: EtagMethod, current: Option<&str>) -> Option<Response> {
    match check_preconditions(method, current, req.if_match, req.if_none_match) {
        Precondition::Proceed => None,
        Precondition::Failed => Some(Response { refusal: Some(Refusal::Precondition), ..Response::new(412, "Precondition Failed") }),
        Precondition::NotModified => Some(Response::new(304, "Not Modified").with_etag(current.unwrap_or_default())),
    }
}

/// The xcap-caps document, with its content-derived entity tag and conditional GET.
fn caps(req: &Request) -> Response {
    let (doc, etag) = crate::caps::caps();
    if let Some(r) = preconditions(req, EtagMethod::Get, Some(etag)) {
        return r;
    }
    Response::new(200, "OK").with_etag(etag).with_body("application/xcap-caps+xml", doc.as_str())
}

fn get<S: Storage>(req: &Request, uri: &XcapUri, selector: Option<&NodeSelector>, key: &DocKey, storage: &mut S) -> Response {
    let (doc, etag) = match load(storage, key) {
        Ok(Some(d)) => d,
        Ok(None) => return XcapError::NotFound("no such document").into(),
        Err(m) => return Response::internal(m),
    };
    if let Some(r) = preconditions(req, EtagMethod::Get, Some(&etag)) {
        return r;
    }
    match selector {
        None => Response::new(200, "OK").with_etag(&etag).with_body(uri.auid.mime_type(), doc),
        Some(sel) => match select(&doc, sel) {
            Ok(selection) => Response::new(200, "OK").with_etag(&etag).with_body(selection.mime_type(), selection.body()),
            Err(e) => e.into(),
        },
    }
}

/// The MIME type a PUT body must have for this selection.
fn expected_type(uri: &XcapUri, selector: Option<&NodeSelector>) -> Result<&'static str, XcapError> {
    match selector.map(|s| &s.terminal) {
        None => Ok(uri.auid.mime_type()),
        Some(None) => Ok("application/xcap-el+xml"),
        Some(Some(Terminal::Attribute(_))) => Ok("application/xcap-att+xml"),
        Some(Some(Terminal::Namespaces)) => Err(XcapError::MethodNotAllowed { allow: "GET" }),
    }
}

/// The media type without parameters, lowercased.
fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Does a PUT's Content-Type do for a body that must be `expected`? Strict: exactly that
/// type. Lenient: a document takes any Content-Type or none (clients that send none rely on
/// it), an element or attribute any non-empty one; with none, or an empty one, nothing says
/// the body is a fragment rather than a document, so it is refused.
fn content_type_fits(content_type: Option<&str>, expected: &str, fragment: bool, strict: bool) -> bool {
    let given = content_type.map(media_type).unwrap_or_default();
    if strict {
        given == expected
    } else {
        !fragment || !given.is_empty()
    }
}

fn put<S: Storage>(req: &Request, uri: &XcapUri, selector: Option<&NodeSelector>, key: &DocKey, storage: &mut S) -> Attempt {
    let body = req.body.unwrap_or_default();
    let expected = match expected_type(uri, selector) {
        Ok(t) => t,
        Err(e) => return Response::from(e).into(),
    };
    if !content_type_fits(req.content_type, expected, selector.is_some(), req.strict_content_type) {
        return Response::from(XcapError::UnsupportedMediaType).into();
    }
    if body.len() > req.max_doc_bytes {
        return Response::from(XcapError::PayloadTooLarge { limit: req.max_doc_bytes }).into();
    }
    // A whole document with no precondition replaces whatever is stored, so it needs not
    // read it first, nor race other writers for it: the last write wins, as it would in turn.
    let unconditional = selector.is_none() && req.if_match.is_empty() && req.if_none_match.is_empty();
    if unconditional && !req.exact_changes && uri.auid != Auid::RlsServices && storage.replaces() {
        if let Err(e) = validate_document_with(body, uri.auid, req.max_doc_bytes, req.schema_validation) {
            return Response::from(e).into();
        }
        let etag = storage.new_etag();
        return match storage.replace(key, uri.auid.doc_type(), body, &etag) {
            Ok(Written::Conflict) => Attempt::Raced,
            Ok(w) => {
                let r = if w == Written::Created { Response::new(201, "Created") } else { Response::new(200, "OK") };
                r.with_etag(&etag).into()
            }
            Err(e) => Response::internal(format!("storing {}: {e}", key.doc_uri)).into(),
        };
    }
    // A whole-document PUT needs only the current entity tag, not the stored document.
    let loaded = if selector.is_some() { load(storage, key) } else { load_etag(storage, key) };
    let current = match loaded {
        Ok(c) => c,
        Err(m) => return Response::internal(m).into(),
    };
    if let Some(r) = preconditions(req, EtagMethod::Put, current.as_ref().map(|(_, e)| e.as_str())) {
        return r.into();
    }
    // The new document, and whether the resource the URI names (document, element or
    // attribute) is new: 201 rather than 200.
    let (new_doc, created) = match (selector, &current) {
        (None, c) => match validate_document_with(body, uri.auid, req.max_doc_bytes, req.schema_validation) {
            Ok(()) => (body.to_vec(), c.is_none()),
            Err(e) => return Response::from(e).into(),
        },
        // A node of a document that does not exist: its parent is missing.
        (Some(_), None) => {
            return Response::from(XcapError::NoParent { ancestor: None }.anchor_ancestor(&uri.adoc, uri.query.as_deref())).into()
        }
        (Some(sel), Some((doc, _))) => {
            let Ok(text) = std::str::from_utf8(body) else { return Response::from(XcapError::NotUtf8).into() };
            let outcome = match &sel.terminal {
                Some(Terminal::Attribute(_)) => doc::put_attribute(doc, sel, text),
                _ => doc::put_element(doc, sel, text),
            };
            match outcome.and_then(|o| validate_document_with(o.doc.as_bytes(), uri.auid, req.max_doc_bytes, req.schema_validation).map(|()| o)) {
                Ok(o) => (o.doc.into_bytes(), o.created),
                Err(e) => return Response::from(e.anchor_ancestor(&uri.adoc, uri.query.as_deref())).into(),
            }
        }
    };
    let previous = current.map(|(_, e)| e);
    let etag = storage.new_etag();
    let write = |s: &mut S| s.store(key, previous.as_deref(), uri.auid.doc_type(), &new_doc, &etag);
    let written = if uri.auid == Auid::RlsServices {
        // Service URIs are unique across every user's documents: checked and written with no
        // other writer of the table in between, on any server.
        let checked = storage.exclusive(|s| match services_taken_elsewhere(s, key, &new_doc) {
            Some(r) => Ok(Err(r)),
            None => write(s).map(Ok),
        });
        match checked.and_then(|r| r) {
            Ok(Ok(w)) => Ok(w),
            Ok(Err(r)) => return r.into(),
            Err(e) => Err(e),
        }
    } else {
        write(storage)
    };
    match written {
        Ok(Written::Conflict) => Attempt::Raced,
        Ok(_) => {
            let r = if created { Response::new(201, "Created") } else { Response::new(200, "OK") };
            r.with_etag(&etag).with_change(key.doc_uri, previous, Some(&etag)).into()
        }
        Err(e) => Response::internal(format!("storing {}: {e}", key.doc_uri)).into(),
    }
}

/// 409 when a service URI of the rls-services document `new_doc` is defined by another
/// rls-services document of the server, any user's (RFC 4826 §4.4.5).
fn services_taken_elsewhere<S: Storage>(storage: &mut S, key: &DocKey, new_doc: &[u8]) -> Option<Response> {
    let others = match storage.all_of_type(Auid::RlsServices.doc_type()) {
        Ok(o) => o,
        Err(e) => return Some(Response::internal(format!("reading the rls-services documents: {e}"))),
    };
    let is_this = |d: &TypedDoc| d.username == key.username && d.domain == key.domain && d.doc_uri == key.doc_uri;
    let texts = others.iter().filter(|d| !is_this(d)).filter_map(|d| std::str::from_utf8(&d.doc).ok());
    let new_text = std::str::from_utf8(new_doc).unwrap_or_default();
    doc::services_taken(new_text, texts).err().map(Response::from)
}

fn delete<S: Storage>(req: &Request, uri: &XcapUri, selector: Option<&NodeSelector>, key: &DocKey, storage: &mut S) -> Attempt {
    let (doc, etag) = match load(storage, key) {
        Ok(Some(d)) => d,
        Ok(None) => return Response::from(XcapError::NotFound("no such document")).into(),
        Err(m) => return Response::internal(m).into(),
    };
    if let Some(r) = preconditions(req, EtagMethod::Delete, Some(&etag)) {
        return r.into();
    }
    let Some(sel) = selector else {
        return match storage.remove(key, &etag) {
            Ok(Written::Conflict) => Attempt::Raced,
            Ok(_) => Response::new(200, "OK").with_change(key.doc_uri, Some(etag), None).into(),
            Err(e) => Response::internal(format!("deleting {}: {e}", key.doc_uri)).into(),
        };
    };
    let new_doc = match doc::delete(&doc, sel).and_then(|d| validate_document_with(d.as_bytes(), uri.auid, usize::MAX, req.schema_validation).map(|()| d)) {
        Ok(d) => d,
        Err(e) => return Response::from(e).into(),
    };
    let new_etag = storage.new_etag();
    match storage.store(key, Some(&etag), uri.auid.doc_type(), new_doc.as_bytes(), &new_etag) {
        Ok(Written::Conflict) => Attempt::Raced,
        Ok(_) => Response::new(200, "OK").with_etag(&new_etag).with_change(key.doc_uri, Some(etag), Some(&new_etag)).into(),
        Err(e) => Response::internal(format!("storing {}: {e}", key.doc_uri)).into(),
    }
}

/// The OMA xcap-directory listing of the owner's documents (`directory.xml`).
fn directory<S: Storage>(req: &Request, uri: &XcapUri, storage: &mut S) -> Response {
    if !uri.file.starts_with("directory.xml") {
        return XcapError::NotFound("no such document").into();
    }
    let Some((username, domain)) = req.owner else {
        return Response::internal("the owner URI given to the xcaps function is not a SIP URI".into());
    };
    let entries = match storage.list(username, domain) {
        Ok(e) => e,
        Err(e) => return Response::internal(format!("listing documents: {e}")),
    };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xcap-directory xmlns=\"urn:oma:xml:xdm:xcap-directory\">\n");
    let mut open: Option<i32> = None;
    for e in &entries {
        if open != Some(e.doc_type) {
            if open.is_some() {
                xml.push_str("  </folder>\n");
            }
            let auid = Auid::ALL.iter().find(|a| a.doc_type() == e.doc_type).map_or("unknown", |a| a.name());
            xml.push_str(&format!("  <folder auid=\"{}\">\n", escape_attr(auid)));
            open = Some(e.doc_type);
        }
        xml.push_str(&format!(
            "    <entry uri=\"{}\" etag=\"{}\"/>\n",
            escape_attr(&format!("{}{}", req.directory_base, e.doc_uri)),
            escape_attr(&e.etag)
        ));
    }
    if open.is_some() {
        xml.push_str("  </folder>\n");
    }
    xml.push_str("</xcap-directory>\n");
    Response::new(200, "OK").with_body("application/vnd.oma.xcap-directory+xml", xml)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Documents in memory, keyed by document URI.
    #[derive(Default)]
    struct Memory {
        docs: HashMap<String, (i32, Vec<u8>, String)>,
        tags: u64,
        fail_store: bool,
        /// How many writes lose a race with another writer before one goes through.
        races: usize,
        /// Another writer's version of the document, stored just before the next write.
        sneak_in: Option<Vec<u8>>,
        /// Whole documents may be written without reading first (a driver that counts rows);
        /// how many such writes are told to come back (a row another writer created meanwhile).
        replaces: Option<usize>,
        /// Writes made by `replace`.
        replaced: usize,
    }

    impl Storage for Memory {
        fn fetch(&mut self, key: &DocKey) -> Result<Option<StoredDoc>, String> {
            Ok(self.docs.get(key.doc_uri).map(|(_, d, e)| StoredDoc { doc: d.clone(), etag: e.clone() }))
        }
        fn store(&mut self, key: &DocKey, expected: Option<&str>, doc_type: i32, doc: &[u8], etag: &str) -> Result<Written, String> {
            if self.fail_store {
                return Err("database is down".into());
            }
            if self.races > 0 {
                self.races -= 1;
                return Ok(Written::Conflict);
            }
            if let Some(other) = self.sneak_in.take() {
                self.tags += 1;
                self.docs.insert(key.doc_uri.to_string(), (doc_type, other, format!("other{}", self.tags)));
            }
            if self.docs.get(key.doc_uri).map(|(_, _, e)| e.as_str()) != expected {
                return Ok(Written::Conflict);
            }
            let old = self.docs.insert(key.doc_uri.to_string(), (doc_type, doc.to_vec(), etag.to_string()));
            Ok(if old.is_none() { Written::Created } else { Written::Replaced })
        }
        fn replaces(&mut self) -> bool {
            self.replaces.is_some()
        }
        fn replace(&mut self, key: &DocKey, doc_type: i32, doc: &[u8], etag: &str) -> Result<Written, String> {
            let conflicts = self.replaces.as_mut().expect("replaces() said no");
            if *conflicts > 0 {
                *conflicts -= 1;
                return Ok(Written::Conflict);
            }
            self.replaced += 1;
            let old = self.docs.insert(key.doc_uri.to_string(), (doc_type, doc.to_vec(), etag.to_string()));
            Ok(if old.is_none() { Written::Created } else { Written::Replaced })
        }
        fn remove(&mut self, key: &DocKey, expected: &str) -> Result<Written, String> {
            if self.docs.get(key.doc_uri).map(|(_, _, e)| e.as_str()) != Some(expected) {
                return Ok(Written::Conflict);
            }
            self.docs.remove(key.doc_uri);
            Ok(Written::Replaced)
        }
        fn list(&mut self, _u: &str, _d: &str) -> Result<Vec<DirEntry>, String> {
            let mut v: Vec<DirEntry> = self.docs.iter().map(|(k, (t, _, e))| DirEntry { doc_type: *t, doc_uri: k.clone(), etag: e.clone() }).collect();
            v.sort_by(|a, b| (a.doc_type, &a.doc_uri).cmp(&(b.doc_type, &b.doc_uri)));
            Ok(v)
        }
        fn all_of_type(&mut self, doc_type: i32) -> Result<Vec<TypedDoc>, String> {
            // The owner is the `sip:user@domain` of the document URI, as the tests' owners are.
            let owner = |uri: &str| -> (String, String) {
                let xui = uri.split('/').find_map(|s| s.strip_prefix("sip:")).unwrap_or_default();
                let (user, domain) = xui.split_once('@').unwrap_or((xui, ""));
                (user.to_string(), domain.to_string())
            };
            Ok(self
                .docs
                .iter()
                .filter(|(_, (t, _, _))| *t == doc_type)
                .map(|(k, (_, d, _))| {
                    let (username, domain) = owner(k);
                    TypedDoc { username, domain, doc_uri: k.clone(), doc: d.clone() }
                })
                .collect())
        }
        fn new_etag(&mut self) -> String {
            self.tags += 1;
            format!("t{}", self.tags)
        }
        fn locked<T>(&mut self, _doc_uri: &str, f: impl FnOnce(&mut Self) -> T) -> T {
            f(self)
        }
        fn exclusive<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Result<T, String> {
            Ok(f(self))
        }
    }

    const PATH: &str = "/xcap-root/resource-lists/users/sip:a@example.com/index";
    const DOC: &str = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="l"><entry uri="sip:b@example.com"/></list></resource-lists>"#;

    fn req<'a>(method: Method, path: &'a str, body: Option<&'a [u8]>, ctype: Option<&'a str>) -> Request<'a> {
        Request {
            method,
            owner: Some(("a", "example.com")),
            path,
            xcap_root: "/xcap-root/",
            body,
            content_type: ctype,
            strict_content_type: true,
            schema_validation: true,
            if_match: &[],
            if_none_match: &[],
            max_doc_bytes: 8191,
            directory_base: "http://xcap.example.com",
            extra_namespaces: &[],
            exact_changes: false,
        }
    }

    fn put_doc(m: &mut Memory) -> Response {
        handle(&req(Method::Put, PATH, Some(DOC.as_bytes()), Some("application/resource-lists+xml; charset=utf-8")), m)
    }

    #[test]
    fn put_creates_then_replaces_with_new_etags() {
        let mut m = Memory::default();
        let r = put_doc(&mut m);
        assert_eq!((r.status, r.headers[0].clone()), (201, ("ETag".into(), "\"t1\"".into())));
        let r = put_doc(&mut m);
        assert_eq!((r.status, r.headers[0].1.as_str()), (200, "\"t2\""));
    }

    #[test]
    fn whole_documents_without_preconditions_are_written_without_reading_first() {
        let mut m = Memory { replaces: Some(0), ..Memory::default() };
        let r = put_doc(&mut m);
        assert_eq!((r.status, r.headers[0].1.as_str(), r.change), (201, "\"t1\"", None));
        let r = put_doc(&mut m);
        assert_eq!((r.status, r.headers[0].1.as_str()), (200, "\"t2\""));
        assert_eq!(m.replaced, 2);
        // A row created by another writer between the UPDATE and the INSERT: made again.
        m.replaces = Some(2);
        assert_eq!(put_doc(&mut m).status, 200);
        assert_eq!(m.replaced, 3);
        // An invalid document is refused before anything is written.
        let r = handle(&req(Method::Put, PATH, Some(b"<resource-lists"), Some("application/resource-lists+xml")), &mut m);
        assert_eq!((r.status, m.replaced), (409, 3));
        // Preconditions, published changes, nodes and rls-services go the conditional way.
        let current = format!("\"{}\"", m.docs[PATH].2);
        let tag = [current.as_str()];
        let mut q = req(Method::Put, PATH, Some(DOC.as_bytes()), Some("application/resource-lists+xml"));
        q.if_match = &tag;
        let r = handle(&q, &mut m);
        assert_eq!((r.status, m.replaced), (200, 3), "{:?}", r.log);
        let mut q = req(Method::Put, PATH, Some(DOC.as_bytes()), Some("application/resource-lists+xml"));
        q.exact_changes = true;
        let r = handle(&q, &mut m);
        assert_eq!((r.status, m.replaced), (200, 3));
        assert!(r.change.is_some_and(|c| c.previous_etag.is_some()));
        let att = format!("{PATH}/~~/resource-lists/list/@name");
        assert_eq!(handle(&req(Method::Put, &att, Some(b"x"), Some("application/xcap-att+xml")), &mut m).status, 200);
        let rls = "/xcap-root/rls-services/users/sip:a@example.com/index";
        let body = r#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:s@example.com"><resource-list>http://x/l</resource-list><packages><package>presence</package></packages></service></rls-services>"#;
        assert_eq!(handle(&req(Method::Put, rls, Some(body.as_bytes()), Some("application/rls-services+xml")), &mut m).status, 201);
        assert_eq!(m.replaced, 3);
    }

    #[test]
    fn successful_changes_name_the_document_and_its_previous_and_new_tags() {
        let change = |p: Option<&str>, n: Option<&str>| Some(Change { doc_uri: PATH.into(), previous_etag: p.map(String::from), new_etag: n.map(String::from) });
        let mut m = Memory::default();
        assert_eq!(put_doc(&mut m).change, change(None, Some("t1")));
        let att = format!("{PATH}/~~/resource-lists/list/@name");
        let r = handle(&req(Method::Put, &att, Some(b"x"), Some("application/xcap-att+xml")), &mut m);
        assert_eq!((r.status, r.change), (200, change(Some("t1"), Some("t2"))));
        let el = format!("{PATH}/~~/resource-lists/list/entry");
        assert_eq!(handle(&req(Method::Delete, &el, None, None), &mut m).change, change(Some("t2"), Some("t3")));
        assert_eq!(handle(&req(Method::Get, PATH, None, None), &mut m).change, None);
        let stale = ["\"t1\""];
        let mut q = req(Method::Delete, PATH, None, None);
        q.if_match = &stale;
        assert_eq!(handle(&q, &mut m).change, None);
        assert_eq!(handle(&req(Method::Delete, PATH, None, None), &mut m).change, change(Some("t3"), None));
    }

    #[test]
    fn a_write_that_loses_a_race_is_made_again_on_the_winners_version() {
        let mut m = Memory::default();
        put_doc(&mut m);
        // An element PUT while another writer adds a list: both changes end in the document.
        m.sneak_in = Some(DOC.replace("</resource-lists>", "<list name=\"other\"/></resource-lists>").into_bytes());
        let el = format!("{PATH}/~~/resource-lists/list%5b@name=%22l%22%5d/entry%5b@uri=%22sip:c@example.com%22%5d");
        let r = handle(&req(Method::Put, &el, Some(b"<entry uri=\"sip:c@example.com\"/>"), Some("application/xcap-el+xml")), &mut m);
        assert_eq!(r.status, 201, "{:?}", r.log);
        let doc = String::from_utf8(m.docs[PATH].1.clone()).unwrap();
        assert!(doc.contains("name=\"other\"") && doc.contains("sip:c@example.com"), "{doc}");
        // Losing a few times still succeeds.
        m.races = WRITE_ATTEMPTS - 1;
        assert_eq!(put_doc(&mut m).status, 200);
    }

    #[test]
    fn a_conditional_write_that_loses_a_race_fails_its_precondition() {
        let mut m = Memory::default();
        put_doc(&mut m);
        m.sneak_in = Some(DOC.as_bytes().to_vec());
        let tag = ["\"t1\""];
        let mut q = req(Method::Put, PATH, Some(DOC.as_bytes()), Some("application/resource-lists+xml"));
        q.if_match = &tag;
        assert_eq!(handle(&q, &mut m).status, 412);
        assert!(m.docs[PATH].2.starts_with("other"), "the winner's version stays");
    }

    #[test]
    fn a_write_that_keeps_losing_gets_503() {
        let mut m = Memory::default();
        put_doc(&mut m);
        m.races = WRITE_ATTEMPTS;
        let r = put_doc(&mut m);
        assert_eq!((r.status, r.headers[0].0.as_str()), (503, "Retry-After"));
        assert!(r.log.as_deref().is_some_and(|l| l.contains("changed by other writers")), "{:?}", r.log);
        assert_eq!((r.refusal, r.races_lost), (Some(Refusal::TooManyRaces), WRITE_ATTEMPTS as u32));
    }

    #[test]
    fn lost_races_are_counted_on_the_response() {
        let mut m = Memory::default();
        assert_eq!(put_doc(&mut m).races_lost, 0);
        m.races = 3;
        let r = put_doc(&mut m);
        assert_eq!((r.status, r.refusal, r.races_lost), (200, None, 3));
    }

    #[test]
    fn refusals_are_classified_for_the_statistics() {
        let mut m = Memory::default();
        let refusal = |r: Response| (r.status, r.refusal);
        assert_eq!(refusal(put_doc(&mut m)), (201, None));
        let ct = Some("application/resource-lists+xml");
        // The document or the node is not acceptable.
        assert_eq!(refusal(handle(&req(Method::Put, PATH, Some(b"<resource-lists"), ct), &mut m)), (409, Some(Refusal::Invalid)));
        let bad = DOC.replace("<entry", "<bogus");
        assert_eq!(refusal(handle(&req(Method::Put, PATH, Some(bad.as_bytes()), ct), &mut m)), (409, Some(Refusal::Invalid)));
        let el = format!("{PATH}/~~/resource-lists/list/entry%5b@uri=%22sip:c@example.com%22%5d");
        let frag = handle(&req(Method::Put, &el, Some(b"<entry uri=\"sip:c@example.com\">"), Some("application/xcap-el+xml")), &mut m);
        assert_eq!(refusal(frag), (409, Some(Refusal::Invalid)));
        // The wrong media type.
        assert_eq!(refusal(handle(&req(Method::Put, PATH, Some(DOC.as_bytes()), Some("text/plain")), &mut m)), (415, Some(Refusal::MediaType)));
        // The selector does not fit the document.
        let orphan = format!("{PATH}/~~/resource-lists/list%5b@name=%22none%22%5d/entry");
        let r = handle(&req(Method::Put, &orphan, Some(b"<entry uri=\"sip:d@example.com\"/>"), Some("application/xcap-el+xml")), &mut m);
        assert_eq!(refusal(r), (409, Some(Refusal::Node)));
        // A precondition, on any method.
        let stale = ["\"old\""];
        for method in [Method::Get, Method::Put, Method::Delete] {
            let mut q = req(method, PATH, (method == Method::Put).then_some(DOC.as_bytes()), ct);
            q.if_match = &stale;
            assert_eq!(refusal(handle(&q, &mut m)), (412, Some(Refusal::Precondition)), "{method:?}");
        }
        // Not refusals of these kinds: 304, 404, 405, 413.
        let current = ["\"t1\""];
        let mut q = req(Method::Get, PATH, None, None);
        q.if_none_match = &current;
        assert_eq!(refusal(handle(&q, &mut m)), (304, None));
        assert_eq!(refusal(handle(&req(Method::Get, &PATH.replace("sip:a@", "sip:z@"), None, None), &mut m)), (404, None));
        assert_eq!(refusal(handle(&req(Method::Put, "/xcap-root/xcap-caps/global/index", Some(b"x"), ct), &mut m)), (405, None));
        let mut q = req(Method::Put, PATH, Some(DOC.as_bytes()), ct);
        q.max_doc_bytes = 10;
        assert_eq!(refusal(handle(&q, &mut m)), (413, None));
    }

    #[test]
    fn get_answers_the_document_and_honours_if_none_match() {
        let mut m = Memory::default();
        put_doc(&mut m);
        let r = handle(&req(Method::Get, PATH, None, None), &mut m);
        assert_eq!((r.status, r.body.as_deref()), (200, Some(DOC.as_bytes())));
        let inm = ["\"t1\""];
        let mut q = req(Method::Get, PATH, None, None);
        q.if_none_match = &inm;
        assert_eq!(handle(&q, &mut m).status, 304);
    }

    #[test]
    fn a_failing_database_is_a_500_with_a_log_line_and_keeps_the_document() {
        let mut m = Memory::default();
        put_doc(&mut m);
        m.fail_store = true;
        let r = handle(&req(Method::Put, PATH, Some(DOC.replace("sip:b", "sip:c").as_bytes()), Some("application/resource-lists+xml")), &mut m);
        assert_eq!(r.status, 500);
        assert!(r.log.as_deref().is_some_and(|l| l.contains("database is down")), "{r:?}");
        assert_eq!(m.docs[PATH].1, DOC.as_bytes());
    }

    #[test]
    fn no_owner_is_an_error_only_when_documents_are_touched() {
        let mut m = Memory::default();
        let mut q = req(Method::Get, "/xcap-root/xcap-caps/global/index", None, None);
        q.owner = None;
        assert_eq!(handle(&q, &mut m).status, 200);
        let mut q = req(Method::Get, PATH, None, None);
        q.owner = None;
        assert_eq!(handle(&q, &mut m).status, 500);
    }

    #[test]
    fn xcap_caps_has_an_entity_tag_and_answers_304_when_it_matches() {
        let mut m = Memory::default();
        let caps = "/xcap-root/xcap-caps/global/index";
        let r = handle(&req(Method::Get, caps, None, None), &mut m);
        let etag = r.headers.iter().find(|(k, _)| k == "ETag").map(|(_, v)| v.clone()).expect("an ETag");
        assert_eq!((r.status, etag.clone()), (200, format!("\"{}\"", crate::caps::caps().1)));
        let inm = [etag.as_str()];
        let mut q = req(Method::Get, caps, None, None);
        q.if_none_match = &inm;
        let r = handle(&q, &mut m);
        assert_eq!((r.status, r.body), (304, None));
        let other = ["\"other\""];
        q.if_none_match = &other;
        assert_eq!(handle(&q, &mut m).status, 200);
    }

    #[test]
    fn xml_ns_bindings_serve_node_selectors_without_a_query() {
        let mut m = Memory::default();
        put_doc(&mut m);
        let ns = [("rl".to_string(), "urn:ietf:params:xml:ns:resource-lists".to_string())];
        let path = format!("{PATH}/~~/rl:resource-lists/rl:list/@name");
        let mut q = req(Method::Get, &path, None, None);
        q.extra_namespaces = &ns;
        let r = handle(&q, &mut m);
        assert_eq!((r.status, r.body.as_deref()), (200, Some(&b"l"[..])));
    }

    #[test]
    fn the_directory_lists_documents_by_usage() {
        let mut m = Memory::default();
        put_doc(&mut m);
        let r = handle(&req(Method::Get, "/xcap-root/org.openmobilealliance.xcap-directory/users/sip:a@example.com/directory.xml", None, None), &mut m);
        let body = String::from_utf8(r.body.unwrap()).unwrap();
        assert!(body.contains(&format!("<folder auid=\"resource-lists\">\n    <entry uri=\"http://xcap.example.com{PATH}\" etag=\"t1\"/>")), "{body}");
    }

    #[test]
    fn schema_violations_of_node_puts_and_deletes_store_nothing() {
        let mut m = Memory::default();
        put_doc(&mut m);
        let attr = format!("{PATH}/~~/resource-lists/list/@some-attribute");
        let child = format!("{PATH}/~~/resource-lists/list/foo");
        let entry_uri = format!("{PATH}/~~/resource-lists/list/entry/@uri");
        let cases = [
            (Method::Put, attr.as_str(), Some(&b"x"[..]), Some("application/xcap-att+xml")),
            (Method::Put, child.as_str(), Some(&b"<foo/>"[..]), Some("application/xcap-el+xml")),
            (Method::Delete, entry_uri.as_str(), None, None),
        ];
        for (method, path, body, ctype) in cases {
            let r = handle(&req(method, path, body, ctype), &mut m);
            let text = String::from_utf8(r.body.unwrap_or_default()).unwrap();
            assert_eq!(r.status, 409, "{path}");
            assert!(text.contains("<schema-validation-error phrase="), "{path}: {text}");
            assert_eq!(m.docs[PATH].1, DOC.as_bytes());
        }
    }

    #[test]
    fn service_uris_are_unique_across_users() {
        const RLS: &str = "application/rls-services+xml";
        let doc = |uri: &str| format!(r#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="{uri}"><resource-list>http://x/l</resource-list></service></rls-services>"#);
        let theirs = "/xcap-root/rls-services/users/sip:b@example.com/index";
        let ours = "/xcap-root/rls-services/users/sip:a@example.com/index";
        let mut m = Memory::default();
        let body = doc("sip:friends@example.com");
        let mut q = req(Method::Put, theirs, Some(body.as_bytes()), Some(RLS));
        q.owner = Some(("b", "example.com"));
        assert_eq!(handle(&q, &mut m).status, 201);
        // Their own document may be PUT again with the same service.
        assert_eq!(handle(&q, &mut m).status, 200);
        let r = handle(&req(Method::Put, ours, Some(body.as_bytes()), Some(RLS)), &mut m);
        let text = String::from_utf8(r.body.unwrap_or_default()).unwrap();
        assert_eq!((r.status, r.refusal), (409, Some(Refusal::Uniqueness)));
        assert!(text.contains("<uniqueness-failure><exists field=") && text.contains("<alt-value>sip:friends-1@example.com</alt-value>"), "{text}");
        assert!(!m.docs.contains_key(ours));
        let other = doc("sip:family@example.com");
        assert_eq!(handle(&req(Method::Put, ours, Some(other.as_bytes()), Some(RLS)), &mut m).status, 201);
    }

    #[test]
    fn arbitrary_paths_and_bodies_never_panic() {
        let mut m = Memory::default();
        put_doc(&mut m);
        for path in ["", "/", "/xcap-root/", "/xcap-root/resource-lists/users/", &format!("{PATH}/~~/"), &format!("{PATH}/~~/%"), &format!("{PATH}/~~/*/*/*[99999999999]")] {
            for method in [Method::Get, Method::Put, Method::Delete] {
                let r = handle(&req(method, path, Some(b"\xff<x"), Some("application/xcap-el+xml")), &mut m);
                assert!(r.status >= 200, "{path}");
            }
        }
    }

    #[test]
    fn a_wrong_content_type_is_refused_only_when_strict() {
        let form = Some("application/x-www-form-urlencoded");
        let el = format!("{PATH}/~~/resource-lists/list[@name=%22m%22]");
        let att = format!("{PATH}/~~/resource-lists/list[1]/@name");
        for (strict, status) in [(false, 201), (true, 415)] {
            let mut m = Memory::default();
            let mut q = req(Method::Put, PATH, Some(DOC.as_bytes()), form);
            q.strict_content_type = strict;
            assert_eq!(handle(&q, &mut m).status, status, "strict={strict}");
            put_doc(&mut m);
            let mut q = req(Method::Put, &el, Some(b"<list name=\"m\"/>"), form);
            q.strict_content_type = strict;
            assert_eq!(handle(&q, &mut m).status, status, "strict={strict}");
            let mut q = req(Method::Put, &att, Some(b"k"), form);
            q.strict_content_type = strict;
            assert_eq!(handle(&q, &mut m).status, if strict { 415 } else { 200 }, "strict={strict}");
        }
    }

    #[test]
    fn a_fragment_without_its_content_type_is_refused_a_document_is_not() {
        let el = format!("{PATH}/~~/resource-lists/list[@name=%22m%22]");
        let att = format!("{PATH}/~~/resource-lists/list[1]/@name");
        for strict in [false, true] {
            for missing in [None, Some(""), Some("  "), Some("; charset=utf-8")] {
                let mut m = Memory::default();
                put_doc(&mut m);
                let mut q = req(Method::Put, &el, Some(b"<list name=\"m\"/>"), missing);
                q.strict_content_type = strict;
                assert_eq!(handle(&q, &mut m).status, 415, "element, {missing:?}, strict={strict}");
                let mut q = req(Method::Put, &att, Some(b"k"), missing);
                q.strict_content_type = strict;
                assert_eq!(handle(&q, &mut m).status, 415, "attribute, {missing:?}, strict={strict}");
                // Nothing was stored: the list is still the only one, under its old name.
                let get = handle(&req(Method::Get, PATH, None, None), &mut m);
                assert_eq!(get.body.as_deref(), Some(DOC.as_bytes()));

                let mut m = Memory::default();
                let mut q = req(Method::Put, PATH, Some(DOC.as_bytes()), missing);
                q.strict_content_type = strict;
                assert_eq!(handle(&q, &mut m).status, if strict { 415 } else { 201 }, "document, {missing:?}");
            }
        }
        // With its own type each is taken, in either mode.
        let mut m = Memory::default();
        put_doc(&mut m);
        let q = req(Method::Put, &el, Some(b"<list name=\"m\"/>"), Some("application/xcap-el+xml; charset=utf-8"));
        assert_eq!(handle(&q, &mut m).status, 201);
        let q = req(Method::Put, &att, Some(b"k"), Some("Application/XCAP-att+xml"));
        assert_eq!(handle(&q, &mut m).status, 200);
    }
}
