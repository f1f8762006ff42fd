//! XCAP URIs (RFC 4825 §6): the URL of a document built from the parts a `getNewDoc` request
//! names, and a stored document URL read back into those parts for `refreshXcapDoc`.
//!
//! Layout: `<xcap root>/<auid>/users/<xui>/<file>` or `<xcap root>/<auid>/global/<file>`,
//! then `/~~/<node selector>` and the selector's namespace query when one is given. The
//! separator is `/~~/` as RFC 4825 writes it; the selector's steps follow the second slash.

use std::fmt;

use xcap::auid::DocType;
use xcap::node_selector::NodeSelectorBuilder;
use xcap::percent;

use crate::xid::Xid;

/// The path segment that ends the document selector and starts the node selector.
const NODE_SEPARATOR: &str = "~~";

/// A URL, or a part of one, that cannot make or be read as an XCAP document URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError {
    pub input: String,
    pub problem: &'static str,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad XCAP URL part {:?}: {}", self.input, self.problem)
    }
}

impl std::error::Error for UrlError {}

fn error(input: &str, problem: &'static str) -> UrlError {
    UrlError {
        input: input.to_owned(),
        problem,
    }
}

/// Which document a request is about, as the `xcap_doc_sel_t` of the API carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocSelector<'a> {
    pub auid: &'a str,
    /// The owner's XUI (`sip:user@domain`) for the users tree; `None` selects the global tree.
    pub xid: Option<&'a str>,
    /// The document's path below the XUI or `global`; `/` separates directories.
    pub filename: &'a str,
}

/// A stored document URL read back: what `refreshXcapDoc` needs to run the callbacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocUri {
    pub auid: String,
    pub doc_type: DocType,
    pub tree: DocTree,
    pub file: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocTree {
    Users(Xid),
    Global,
}

/// Builds a document URL. A root without a scheme is taken as `http://`, like libcurl does;
/// trailing slashes of the root are dropped. `port` goes into the URL when the root names no
/// port itself, unless it is 0 or the scheme's default (see [`with_port`]). An empty node
/// selector selects the whole document.
pub fn document_url(
    xcap_root: &str,
    port: u16,
    doc: &DocSelector<'_>,
    node: Option<&NodeSelectorBuilder>,
) -> Result<String, UrlError> {
    let root = split(xcap_root)?;
    if root.rest.contains(['?', '#']) {
        return Err(error(xcap_root, "an XCAP root has no query or fragment"));
    }
    let mut url = origin(&root, port, xcap_root)?;
    url.push_str(root.rest.trim_end_matches('/'));

    url.push('/');
    url.push_str(&segment(doc.auid)?);
    match doc.xid {
        Some(xid) => {
            url.push_str("/users/");
            url.push_str(&segment(xid)?);
        }
        None => url.push_str("/global"),
    }
    for part in doc.filename.split('/') {
        url.push('/');
        url.push_str(&segment(part)?);
    }

    if let Some(node) = node.filter(|node| !node.is_empty()) {
        url.push('/');
        url.push_str(NODE_SEPARATOR);
        url.push('/');
        url.push_str(&percent::encode_path(&node.path()));
        if let Some(query) = node.namespace_query() {
            url.push('?');
            url.push_str(&percent::encode_query(&query));
        }
    }
    Ok(url)
}

/// Applies the separately configured port to a URL: the `bind_xcap` API and the `xcap`
/// table's `port` column carry it beside the URL. A port written in the URL wins; 0 and the
/// scheme's default port leave the URL as it is.
pub fn with_port(url: &str, port: u16) -> Result<String, UrlError> {
    let parts = split(url)?;
    let mut out = origin(&parts, port, url)?;
    out.push_str(parts.rest);
    Ok(out)
}

/// Reads a document URL (as built by [`document_url`] and kept in the `doc_uri` column) back
/// into its AUID, tree, XUI and file. The XCAP root may have a path of its own: the document
/// selector starts at the first known AUID followed by `users` or `global`.
pub fn parse_doc_uri(uri: &str) -> Result<DocUri, UrlError> {
    let parts = split(uri)?;
    authority_port(parts.authority).map_err(|problem| error(uri, problem))?;
    let path = parts.rest.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path
        .split('/')
        .skip(1)
        .take_while(|segment| *segment != NODE_SEPARATOR)
        .collect();

    let (at, auid, doc_type) = (0..segments.len().saturating_sub(1))
        .filter(|&i| matches!(segments[i + 1], "users" | "global"))
        .find_map(|i| {
            let auid = percent::decode(segments[i]).ok()?;
            let doc_type = DocType::from_auid(&auid)?;
            Some((i, auid, doc_type))
        })
        .ok_or_else(|| error(uri, "no known AUID followed by users or global"))?;

    let (tree, file_segments) = if segments[at + 1] == "users" {
        let xid = segments
            .get(at + 2)
            .and_then(|segment| percent::decode(segment).ok())
            .and_then(|xui| Xid::parse(&xui))
            .ok_or_else(|| error(uri, "the XUI is missing or not a SIP address"))?;
        (
            DocTree::Users(xid),
            segments.get(at + 3..).unwrap_or_default(),
        )
    } else {
        (DocTree::Global, &segments[at + 2..])
    };

    let file = file_segments
        .iter()
        .map(|segment| percent::decode(segment).ok().filter(|part| !part.is_empty()))
        .collect::<Option<Vec<String>>>()
        .filter(|parts| !parts.is_empty())
        .ok_or_else(|| error(uri, "the document path is missing or malformed"))?
        .join("/");

    Ok(DocUri {
        auid,
        doc_type,
        tree,
        file,
    })
}

/// The server a URL names, as the back-off keeps it: `scheme://host:port`, scheme and host in
/// lower case, without user information, the scheme's default port written out.
pub fn host_key(url: &str) -> Result<String, UrlError> {
    let parts = split(url)?;
    let (authority, has_port) = authority_port(parts.authority).map_err(|problem| error(url, problem))?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port);
    let scheme = parts.scheme.to_ascii_lowercase();
    let host_port = host_port.to_ascii_lowercase();
    if has_port {
        Ok(format!("{scheme}://{host_port}"))
    } else {
        let default_port = if scheme == "https" { 443 } else { 80 };
        Ok(format!("{scheme}://{host_port}:{default_port}"))
    }
}

/// A URL cut into scheme, authority and the rest (path, query, fragment).
struct Parts<'a> {
    scheme: &'a str,
    authority: &'a str,
    rest: &'a str,
}

fn split(url: &str) -> Result<Parts<'_>, UrlError> {
    let (scheme, after_scheme) = url.split_once("://").unwrap_or(("http", url));
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(error(url, "only http and https URLs are supported"));
    }
    let end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let (authority, rest) = after_scheme.split_at(end);
    Ok(Parts {
        scheme,
        authority,
        rest,
    })
}

/// `scheme://authority`, with `port` added when the authority names none.
fn origin(parts: &Parts<'_>, port: u16, input: &str) -> Result<String, UrlError> {
    let (authority, has_port) =
        authority_port(parts.authority).map_err(|problem| error(input, problem))?;
    let scheme = parts.scheme.to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    if has_port || port == 0 || port == default_port {
        Ok(format!("{scheme}://{authority}"))
    } else {
        Ok(format!("{scheme}://{authority}:{port}"))
    }
}

/// Checks an authority (`[userinfo@]host[:port]`, host possibly an `[IPv6]` literal) and says
/// whether it names a port; an empty port (`host:`) counts as none and is dropped.
fn authority_port(authority: &str) -> Result<(&str, bool), &'static str> {
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host_port)| host_port);
    let after_host = match host_port.strip_prefix('[') {
        Some(literal) => match literal.find(']') {
            Some(close) if close > 0 => &literal[close + 1..],
            _ => return Err("malformed IPv6 host"),
        },
        None => match host_port.find(':').unwrap_or(host_port.len()) {
            0 => return Err("no host"),
            colon => &host_port[colon..],
        },
    };
    match after_host.strip_prefix(':') {
        None if after_host.is_empty() => Ok((authority, false)),
        Some("") => Ok((&authority[..authority.len() - 1], false)),
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => Ok((authority, true)),
        _ => Err("malformed port"),
    }
}

/// One percent-encoded path segment. Empty, dot and `~~` segments are refused: they would
/// vanish, climb a level, or be taken for the node selector separator.
fn segment(text: &str) -> Result<String, UrlError> {
    match text {
        "" | "." | ".." | NODE_SEPARATOR => Err(error(text, "not usable as a path segment")),
        _ => Ok(percent::encode_segment(text)),
    }
}

#[cfg(test)]
mod tests;
