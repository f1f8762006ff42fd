//! XCAP request URIs (RFC 4825 §6): the document selector under the XCAP root, the node
//! selector after `~~`, and the query with its namespace bindings.
//!
//! The path is split on its literal `/` before each segment is percent-decoded, so a `%2F` in a
//! user id or `%7E%7E` in a file name never moves the boundaries between the parts.

use std::fmt;

use xcap::auid::Auid;
use xcap::percent::{self, DecodeError};
use crate::query::{parse_xmlns_bindings, Bindings};
use xcap::node_selector::{NodeSelector, SelectorError};

/// Longest request path (with query) accepted, in bytes. Four times the 255 of the C module,
/// whose fixed buffer turned away selectors with a few percent-encoded predicates.
pub const MAX_URI_BYTES: usize = 1024;

/// What separates the document selector from the node selector.
const NODE_SEPARATOR: &str = "~~";

/// The two sub-trees under an AUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    Users,
    Global,
}

impl Tree {
    pub fn as_str(self) -> &'static str {
        match self {
            Tree::Users => "users",
            Tree::Global => "global",
        }
    }
}

/// A parsed XCAP request URI. String parts are percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XcapUri {
    /// The whole request path and query, percent-decoded.
    pub uri: String,
    /// The XCAP root the path started with, as configured.
    pub root: String,
    pub auid: Auid,
    /// `None` for the search AUID, which has no tree.
    pub tree: Option<Tree>,
    /// The user id (`users` tree only).
    pub xuid: Option<String>,
    /// The document path below the user id (or `global`), possibly with sub-directories;
    /// empty for the search AUID.
    pub file: String,
    /// The absolute document path, XCAP root included: the `doc_uri` key of the `xcap` table.
    /// Empty for the search AUID.
    pub adoc: String,
    /// The node selector as written after `~~` (usually with a leading `/`), when the URI has a
    /// non-empty one.
    pub node: Option<String>,
    /// The raw (still percent-encoded) query.
    pub query: Option<String>,
    /// `xmlns()` bindings from the query (not for the search AUID).
    pub namespaces: Bindings,
    /// Search AUID: the `target` query parameter.
    pub target: Option<String>,
    /// Search AUID: the `domain` query parameter.
    pub domain: Option<String>,
}

/// Why a request path is not an XCAP URI of this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriError {
    /// Longer than [`MAX_URI_BYTES`].
    TooLong(usize),
    /// Bad percent-encoding, or not UTF-8 once decoded.
    Encoding(DecodeError),
    /// The path is not under the XCAP root.
    OutsideRoot,
    UnknownAuid(String),
    /// The segment after the AUID is neither `users` nor `global`.
    UnknownTree(String),
    /// The path stops before naming a document (no user id or no file).
    NotADocument(&'static str),
    /// The query is not a list of `xmlns()` bindings.
    BadQuery(&'static str),
    /// A percent-encoded `/` turns part of a segment into a `.` or `..` segment of the
    /// document path, which would be stored as such.
    DotSegment,
}

impl UriError {
    /// The HTTP status to answer with: a path naming nothing this server holds is a 404.
    pub fn status(&self) -> u16 {
        match self {
            UriError::TooLong(_) => 414,
            UriError::Encoding(_) | UriError::BadQuery(_) | UriError::DotSegment => 400,
            UriError::OutsideRoot
            | UriError::UnknownAuid(_)
            | UriError::UnknownTree(_)
            | UriError::NotADocument(_) => 404,
        }
    }

    /// The HTTP reason phrase for [`Self::status`].
    pub fn reason(&self) -> &'static str {
        match self.status() {
            414 => "URI Too Long",
            400 => "Bad Request",
            _ => "Not Found",
        }
    }
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::TooLong(len) => {
                write!(f, "XCAP URI of {len} bytes is longer than {MAX_URI_BYTES}")
            }
            UriError::Encoding(err) => write!(f, "bad XCAP URI: {err}"),
            UriError::OutsideRoot => f.write_str("URI is not under the XCAP root"),
            UriError::UnknownAuid(auid) => write!(f, "unsupported AUID '{auid}'"),
            UriError::UnknownTree(tree) => write!(f, "unsupported sub-tree '{tree}'"),
            UriError::NotADocument(why) => write!(f, "URI names no document: {why}"),
            UriError::BadQuery(why) => write!(f, "bad XCAP URI query: {why}"),
            UriError::DotSegment => {
                f.write_str("an encoded '/' makes a '.' or '..' segment in the document path")
            }
        }
    }
}

impl std::error::Error for UriError {}

impl From<DecodeError> for UriError {
    fn from(err: DecodeError) -> UriError {
        UriError::Encoding(err)
    }
}

impl XcapUri {
    /// Parses an HTTP request path (with optional `?query`) under `xcap_root`.
    ///
    /// The first `~~` ends the document selector (which never holds one), with or without a
    /// `/` before and after it. Dot segments of the document selector are removed (RFC 3986
    /// §5.2.4) before anything is read from it, so the user id and `doc_uri` are those of the
    /// document the URI really names.
    pub fn parse(path: &str, xcap_root: &str) -> Result<XcapUri, UriError> {
        if path.len() > MAX_URI_BYTES {
            return Err(UriError::TooLong(path.len()));
        }
        let (raw_path, query) = match path.split_once('?') {
            Some((raw_path, query)) => (raw_path, Some(query)),
            None => (path, None),
        };
        let (document_part, node_part) = match raw_path.split_once(NODE_SEPARATOR) {
            Some((document, node)) => (document, Some(node)),
            None => (raw_path, None),
        };
        let document_part = remove_dot_segments(document_part);
        let mut normalized = document_part.clone();
        if let Some(node) = node_part {
            normalized.push_str(NODE_SEPARATOR);
            normalized.push_str(node);
        }
        if let Some(query) = query {
            normalized.push('?');
            normalized.push_str(query);
        }
        let uri = percent::decode(&normalized)?;
        let raw_path = document_part.as_str();
        let after_root = strip_root(raw_path, xcap_root).ok_or(UriError::OutsideRoot)?;
        let body = after_root.strip_prefix('/').unwrap_or(after_root);
        let body_start = raw_path.len() - body.len();
        let mut segments = segments(body, body_start);

        let (_, auid_segment) = segments.next().unwrap_or((body_start, ""));
        let auid_name = percent::decode(auid_segment)?;
        let auid = Auid::from_name(&auid_name).ok_or(UriError::UnknownAuid(auid_name))?;
        let mut xuri = XcapUri {
            uri,
            root: xcap_root.to_string(),
            auid,
            tree: None,
            xuid: None,
            file: String::new(),
            adoc: String::new(),
            node: None,
            query: query.map(str::to_string),
            namespaces: Vec::new(),
            target: None,
            domain: None,
        };
        if auid == Auid::Search {
            if node_part.is_some() || segments.any(|(_, segment)| !segment.is_empty()) {
                return Err(UriError::NotADocument("the search AUID takes no path"));
            }
            xuri.read_search_query(query.unwrap_or_default())?;
            return Ok(xuri);
        }

        let tree = match segments.next().map(|(_, s)| percent::decode(s)).transpose()? {
            Some(tree) if tree == "users" => Tree::Users,
            Some(tree) if tree == "global" => Tree::Global,
            Some(tree) => return Err(UriError::UnknownTree(tree)),
            None => return Err(UriError::NotADocument("no sub-tree")),
        };
        xuri.tree = Some(tree);
        if tree == Tree::Users {
            let xuid = match segments.next() {
                Some((_, segment)) => percent::decode(segment)?,
                None => String::new(),
            };
            if xuid.is_empty() {
                return Err(UriError::NotADocument("no user id"));
            }
            xuri.xuid = Some(xuid);
        }

        let mut document: Vec<(usize, &str)> = segments.collect();
        if document.last().is_some_and(|(_, segment)| segment.is_empty()) {
            document.pop();
        }
        let Some(&(last_offset, last_segment)) = document.last() else {
            return Err(UriError::NotADocument("no document name"));
        };
        let decoded: Result<Vec<String>, DecodeError> =
            document.iter().map(|(_, segment)| percent::decode(segment)).collect();
        xuri.file = decoded?.join("/");
        let document_end = last_offset + last_segment.len();
        xuri.adoc = percent::decode(raw_path.get(..document_end).unwrap_or_default())?;
        if xuri.adoc.split('/').any(|segment| segment == "." || segment == "..") {
            return Err(UriError::DotSegment);
        }
        if let Some(node) = node_part {
            let node = percent::decode(node)?;
            if !node.trim_start_matches('/').is_empty() {
                xuri.node = Some(node);
            }
        }
        if let Some(query) = query {
            xuri.namespaces =
                parse_xmlns_bindings(&percent::decode(query)?).map_err(UriError::BadQuery)?;
        }
        Ok(xuri)
    }

    /// The `doc_type` of the AUID.
    pub fn doc_type(&self) -> i32 {
        self.auid.doc_type()
    }

    /// The node selector, parsed with the query's bindings and the AUID's default namespace;
    /// `None` when the URI names a whole document.
    pub fn selector(&self) -> Option<Result<NodeSelector, SelectorError>> {
        let node = self.node.as_deref()?;
        Some(NodeSelector::parse(node, &self.namespaces, Some(self.auid.default_namespace())))
    }

    /// Search AUID: `target=` and `domain=` parameters, in any order, others ignored.
    fn read_search_query(&mut self, query: &str) -> Result<(), UriError> {
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "target" => self.target = Some(percent::decode(value)?),
                "domain" => self.domain = Some(percent::decode(value)?),
                _ => {}
            }
        }
        Ok(())
    }
}

/// The path after `root`, when the path starts with it and it ends on a segment boundary.
fn strip_root<'p>(path: &'p str, root: &str) -> Option<&'p str> {
    let rest = path.strip_prefix(root)?;
    let on_boundary =
        root.is_empty() || root.ends_with('/') || rest.is_empty() || rest.starts_with('/');
    on_boundary.then_some(rest)
}

/// `path` without its `.` and `..` segments (RFC 3986 §5.2.4), percent-encoded ones included;
/// a `..` never climbs above the first segment.
fn remove_dot_segments(path: &str) -> String {
    let is_dot = |segment: &str, dot: &str| {
        segment == dot || percent::decode(segment).is_ok_and(|decoded| decoded == dot)
    };
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, &segment) in segments.iter().enumerate() {
        if is_dot(segment, ".") || is_dot(segment, "..") {
            if is_dot(segment, "..") && kept.len() > 1 {
                kept.pop();
            }
            if i == last {
                kept.push("");
            }
        } else {
            kept.push(segment);
        }
    }
    kept.join("/")
}

/// The `/`-separated segments of `body`, each with its byte offset in the whole path.
fn segments(body: &str, base: usize) -> impl Iterator<Item = (usize, &str)> {
    body.split('/').scan(base, |offset, segment| {
        let start = *offset;
        *offset += segment.len() + 1;
        Some((start, segment))
    })
}

#[cfg(test)]
mod tests;
