//! RFC 5874 xcap-diff documents that announce a change of one user's XCAP documents (RFC 5875
//! NOTIFY bodies, published through pua): every document of the user with its current entity
//! tag, and the previous tag of what changed. Changes that wait while a publication is in
//! flight are merged, so that a burst is published once, relative to what was last published.

use crate::xml_text::escape_attr;

/// What one request changed in one document (entity tags unquoted, as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The document path as stored (`doc_uri` of the table: the xcap root, usage, tree, file).
    pub doc_uri: String,
    /// `None`: the document was created.
    pub previous_etag: Option<String>,
    /// `None`: the document was deleted.
    pub new_etag: Option<String>,
}

/// One `<document>` of an xcap-diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocState {
    /// The document selector relative to the XCAP root.
    pub sel: String,
    pub previous_etag: Option<String>,
    pub new_etag: Option<String>,
    /// True when the document changed (then `previous_etag` `None` means created).
    pub changed: bool,
}

/// An xcap-diff document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XcapDiff {
    /// The `xcap-root` attribute: `scheme://host[:port]` and the root path.
    pub xcap_root: String,
    pub docs: Vec<DocState>,
}

/// The selector of a stored document path: relative to `root_path`, percent-encoded.
fn selector(doc_uri: &str, root_path: &str) -> String {
    let rel = doc_uri.strip_prefix(root_path).unwrap_or(doc_uri).trim_start_matches('/');
    crate::percent::encode_path(rel)
}

impl XcapDiff {
    /// The full state of a user's documents after `change`: `listing` is every document the
    /// user has now (document path, entity tag), `xcap_root` the root URI and `root_path` its
    /// path (the prefix of every stored document path).
    pub fn after_change(xcap_root: &str, root_path: &str, listing: &[(String, String)], change: &Change) -> XcapDiff {
        let mut docs: Vec<DocState> = listing
            .iter()
            .map(|(doc_uri, etag)| {
                let changed = *doc_uri == change.doc_uri;
                DocState {
                    sel: selector(doc_uri, root_path),
                    previous_etag: if changed { change.previous_etag.clone() } else { None },
                    new_etag: Some(etag.clone()),
                    changed,
                }
            })
            .collect();
        if !listing.iter().any(|(d, _)| *d == change.doc_uri) && change.previous_etag.is_some() {
            // Deleted: only its previous tag is left to announce.
            docs.push(DocState { sel: selector(&change.doc_uri, root_path), previous_etag: change.previous_etag.clone(), new_etag: None, changed: true });
        }
        XcapDiff { xcap_root: xcap_root.to_string(), docs }
    }

    /// `newer` (a later full state) on top of `self` (not published yet): the current tags of
    /// `newer`, and for each document changed in either, the tag it had before the earlier of
    /// the two. A document created and deleted in between disappears.
    pub fn merged_with(&self, newer: XcapDiff) -> XcapDiff {
        let mut docs = newer.docs;
        for old in self.docs.iter().filter(|d| d.changed) {
            match docs.iter_mut().find(|d| d.sel == old.sel) {
                Some(d) => {
                    d.previous_etag = old.previous_etag.clone();
                    d.changed = true;
                }
                // Absent from the newer state: its last change (a deletion) stands.
                None => docs.push(old.clone()),
            }
        }
        docs.retain(|d| d.previous_etag.is_some() || d.new_etag.is_some());
        XcapDiff { xcap_root: newer.xcap_root, docs }
    }

    /// The `application/xcap-diff+xml` document.
    pub fn to_xml(&self) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xcap-diff xmlns=\"urn:ietf:params:xml:ns:xcap-diff\" xcap-root=\"{}\">\n",
            escape_attr(&self.xcap_root)
        );
        for d in &self.docs {
            xml.push_str(&format!("  <document sel=\"{}\"", escape_attr(&d.sel)));
            if let Some(p) = &d.previous_etag {
                xml.push_str(&format!(" previous-etag=\"{}\"", escape_attr(p)));
            }
            if let Some(n) = &d.new_etag {
                xml.push_str(&format!(" new-etag=\"{}\"", escape_attr(n)));
            }
            xml.push_str("/>\n");
        }
        xml.push_str("</xcap-diff>\n");
        xml
    }

    /// Bytes for shared memory (length-prefixed fields), read back by [`XcapDiff::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put(&mut out, Some(&self.xcap_root));
        for d in &self.docs {
            out.push(u8::from(d.changed));
            put(&mut out, Some(&d.sel));
            put(&mut out, d.previous_etag.as_deref());
            put(&mut out, d.new_etag.as_deref());
        }
        out
    }

    pub fn decode(mut b: &[u8]) -> Option<XcapDiff> {
        let xcap_root = take(&mut b)??;
        let mut docs = Vec::new();
        while let Some((&changed, rest)) = b.split_first() {
            b = rest;
            let sel = take(&mut b)??;
            let previous_etag = take(&mut b)?;
            let new_etag = take(&mut b)?;
            docs.push(DocState { sel, previous_etag, new_etag, changed: changed != 0 });
        }
        Some(XcapDiff { xcap_root, docs })
    }
}

/// A field: `u32::MAX` for none, else the length and the bytes.
fn put(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
        Some(s) => {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// The next field: `None` when the bytes end early, `Some(None)` for an absent value.
fn take(b: &mut &[u8]) -> Option<Option<String>> {
    let (len, rest) = b.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len);
    if len == u32::MAX {
        *b = rest;
        return Some(None);
    }
    let (s, rest) = rest.split_at_checked(len as usize)?;
    *b = rest;
    Some(Some(String::from_utf8(s.to_vec()).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "http://xcap.example.com/xcap-root/";
    const RL: &str = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
    const PR: &str = "/xcap-root/pres-rules/users/sip:alice@example.com/index";

    fn listing(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        entries.iter().map(|(d, e)| (d.to_string(), e.to_string())).collect()
    }

    fn change(doc: &str, prev: Option<&str>, new: Option<&str>) -> Change {
        Change { doc_uri: doc.into(), previous_etag: prev.map(String::from), new_etag: new.map(String::from) }
    }

    fn diff(l: &[(&str, &str)], c: Change) -> XcapDiff {
        XcapDiff::after_change(ROOT, "/xcap-root/", &listing(l), &c)
    }

    #[test]
    fn a_modified_document_has_both_tags_and_the_others_their_current_one() {
        let d = diff(&[(PR, "p1"), (RL, "r2")], change(RL, Some("r1"), Some("r2")));
        assert_eq!(
            d.to_xml(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <xcap-diff xmlns=\"urn:ietf:params:xml:ns:xcap-diff\" xcap-root=\"http://xcap.example.com/xcap-root/\">\n  \
             <document sel=\"pres-rules/users/sip:alice@example.com/index\" new-etag=\"p1\"/>\n  \
             <document sel=\"resource-lists/users/sip:alice@example.com/index\" previous-etag=\"r1\" new-etag=\"r2\"/>\n\
             </xcap-diff>\n"
        );
        let xml = d.to_xml();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(doc.root_element().attribute("xcap-root"), Some(ROOT));
    }

    #[test]
    fn created_and_deleted_documents() {
        let d = diff(&[(RL, "r1")], change(RL, None, Some("r1")));
        assert!(d.to_xml().contains("<document sel=\"resource-lists/users/sip:alice@example.com/index\" new-etag=\"r1\"/>"), "{}", d.to_xml());
        let d = diff(&[(PR, "p1")], change(RL, Some("r1"), None));
        assert!(d.to_xml().contains("<document sel=\"resource-lists/users/sip:alice@example.com/index\" previous-etag=\"r1\"/>"), "{}", d.to_xml());
        assert!(d.to_xml().contains("<document sel=\"pres-rules/users/sip:alice@example.com/index\" new-etag=\"p1\"/>"));
    }

    #[test]
    fn a_burst_merges_to_the_earliest_previous_and_the_latest_new_tag() {
        let a = diff(&[(PR, "p1"), (RL, "r2")], change(RL, Some("r1"), Some("r2")));
        let b = diff(&[(PR, "p2"), (RL, "r3")], change(PR, Some("p1"), Some("p2")));
        let c = diff(&[(PR, "p2"), (RL, "r4")], change(RL, Some("r3"), Some("r4")));
        let m = a.merged_with(b).merged_with(c);
        let tags: Vec<_> = m.docs.iter().map(|d| (d.previous_etag.as_deref(), d.new_etag.as_deref())).collect();
        assert_eq!(tags, [(Some("p1"), Some("p2")), (Some("r1"), Some("r4"))]);
    }

    #[test]
    fn created_then_deleted_while_waiting_is_not_announced_but_deleted_stays_deleted() {
        let created = diff(&[(PR, "p1"), (RL, "r1")], change(RL, None, Some("r1")));
        let deleted = diff(&[(PR, "p1")], change(RL, Some("r1"), None));
        assert_eq!(created.merged_with(deleted).docs.len(), 1);

        let deleted = diff(&[(PR, "p1")], change(RL, Some("r1"), None));
        let other = diff(&[(PR, "p2")], change(PR, Some("p1"), Some("p2")));
        let m = deleted.merged_with(other);
        assert!(m.docs.contains(&DocState { sel: "resource-lists/users/sip:alice@example.com/index".into(), previous_etag: Some("r1".into()), new_etag: None, changed: true }), "{m:?}");
    }

    #[test]
    fn attributes_are_escaped_and_selectors_encoded() {
        let d = XcapDiff::after_change("http://h/x\"r/", "/x\"r/", &listing(&[("/x\"r/rl/users/a b&c/index", "e<1")]), &change("/x\"r/rl/users/a b&c/index", None, Some("e<1")));
        let xml = d.to_xml();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let el = doc.root_element().first_element_child().unwrap();
        assert_eq!(el.attribute("new-etag"), Some("e<1"));
        assert_eq!(el.attribute("sel"), Some("rl/users/a%20b&c/index"));
    }

    #[test]
    fn encoding_round_trips_and_refuses_truncated_bytes() {
        let d = diff(&[(PR, "p1")], change(RL, Some("r1"), None));
        let b = d.encode();
        assert_eq!(XcapDiff::decode(&b), Some(d));
        assert_eq!(XcapDiff::decode(&b[..b.len() - 1]), None);
        assert_eq!(XcapDiff::decode(&[]), None);
    }
}
