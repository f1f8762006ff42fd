//! RFC 5874 xcap-diff documents that announce a change of one user's XCAP documents (RFC 5875
//! NOTIFY bodies, published through pua): every document of the user with its current entity
//! tag, and the previous tag of what changed. Changes that wait while a publication is in
//! flight are kept as a [`Batch`] (per changed document, the tag it had before the batch's
//! first change); the document is built from the listing taken when the batch goes out, so a
//! burst is published once, relative to what was last published, with the latest tags.

use xcap::xml_text::escape_attr;

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
    /// Set when the document changed and existed before (absent: created, or unchanged).
    pub previous_etag: Option<String>,
    /// Absent when the document was deleted.
    pub new_etag: Option<String>,
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
    xcap::percent::encode_path(rel)
}

/// The changes of one user not published yet, encoded for shared memory: per changed
/// document (in the order of first change), its path and the tag it had before the first
/// change of the batch (absent: created in the batch). Later changes of the same document
/// add nothing: its current tag is read when the batch is published.
pub struct Batch;

impl Batch {
    /// The bytes to append to an encoded batch `b` for `change`: none when the batch has the
    /// document already (its earliest previous tag stands).
    pub fn append_for(b: &[u8], change: &Change) -> Option<Vec<u8>> {
        if Batch::entries(b).any(|(doc, _)| doc == change.doc_uri.as_bytes()) {
            return None;
        }
        let mut out = Vec::with_capacity(change.doc_uri.len() + 8 + change.previous_etag.as_ref().map_or(0, |p| p.len()));
        put(&mut out, Some(&change.doc_uri));
        put(&mut out, change.previous_etag.as_deref());
        Some(out)
    }

    /// The entries of an encoded batch (document path, previous tag), up to the first
    /// malformed one.
    fn entries(mut b: &[u8]) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        std::iter::from_fn(move || {
            let doc = take(&mut b)??;
            let prev = take(&mut b)?;
            Some((doc, prev))
        })
    }

    /// The changed documents: (document path, previous tag); `None` for bytes that do not
    /// decode whole.
    pub fn decode(b: &[u8]) -> Option<Vec<(String, Option<String>)>> {
        let mut rest = b;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let doc = String::from_utf8(take(&mut rest)??.to_vec()).ok()?;
            let prev = match take(&mut rest)? {
                Some(p) => Some(String::from_utf8(p.to_vec()).ok()?),
                None => None,
            };
            out.push((doc, prev));
        }
        Some(out)
    }
}

impl XcapDiff {
    /// The full state of a user's documents after the changes of a batch: `listing` is every
    /// document the user has now (document path, entity tag), `changed` the batch's documents
    /// with the tag each had before it, `xcap_root` the root URI and `root_path` its path (the
    /// prefix of every stored document path). A document created and deleted within the batch
    /// is not named; one deleted has its previous tag only.
    pub fn after_changes(xcap_root: &str, root_path: &str, listing: &[(String, String)], changed: &[(String, Option<String>)]) -> XcapDiff {
        let previous = |doc_uri: &str| changed.iter().find(|(d, _)| d == doc_uri).and_then(|(_, p)| p.clone());
        let mut docs: Vec<DocState> = listing
            .iter()
            .map(|(doc_uri, etag)| DocState { sel: selector(doc_uri, root_path), previous_etag: previous(doc_uri), new_etag: Some(etag.clone()) })
            .collect();
        for (doc_uri, prev) in changed {
            if prev.is_some() && !listing.iter().any(|(d, _)| d == doc_uri) {
                // Deleted: only its previous tag is left to announce.
                docs.push(DocState { sel: selector(doc_uri, root_path), previous_etag: prev.clone(), new_etag: None });
            }
        }
        XcapDiff { xcap_root: xcap_root.to_string(), docs }
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
fn take<'b>(b: &mut &'b [u8]) -> Option<Option<&'b [u8]>> {
    let (len, rest) = b.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len);
    if len == u32::MAX {
        *b = rest;
        return Some(None);
    }
    let (s, rest) = rest.split_at_checked(len as usize)?;
    *b = rest;
    Some(Some(s))
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

    /// The batch of `changes`, encoded and decoded as in shared memory.
    fn batch(changes: &[Change]) -> Vec<(String, Option<String>)> {
        let mut b = Vec::new();
        for c in changes {
            if let Some(more) = Batch::append_for(&b, c) {
                b.extend_from_slice(&more);
            }
        }
        Batch::decode(&b).unwrap()
    }

    fn diff(l: &[(&str, &str)], changes: &[Change]) -> XcapDiff {
        XcapDiff::after_changes(ROOT, "/xcap-root/", &listing(l), &batch(changes))
    }

    fn tags(d: &XcapDiff) -> Vec<(Option<&str>, Option<&str>)> {
        d.docs.iter().map(|d| (d.previous_etag.as_deref(), d.new_etag.as_deref())).collect()
    }

    #[test]
    fn a_modified_document_has_both_tags_and_the_others_their_current_one() {
        let d = diff(&[(PR, "p1"), (RL, "r2")], &[change(RL, Some("r1"), Some("r2"))]);
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
        let d = diff(&[(RL, "r1")], &[change(RL, None, Some("r1"))]);
        assert!(d.to_xml().contains("<document sel=\"resource-lists/users/sip:alice@example.com/index\" new-etag=\"r1\"/>"), "{}", d.to_xml());
        let d = diff(&[(PR, "p1")], &[change(RL, Some("r1"), None)]);
        assert!(d.to_xml().contains("<document sel=\"resource-lists/users/sip:alice@example.com/index\" previous-etag=\"r1\"/>"), "{}", d.to_xml());
        assert!(d.to_xml().contains("<document sel=\"pres-rules/users/sip:alice@example.com/index\" new-etag=\"p1\"/>"));
    }

    #[test]
    fn a_burst_has_the_earliest_previous_and_the_current_tag() {
        let changes = [change(RL, Some("r1"), Some("r2")), change(PR, Some("p1"), Some("p2")), change(RL, Some("r3"), Some("r4"))];
        let d = diff(&[(PR, "p2"), (RL, "r4")], &changes);
        assert_eq!(tags(&d), [(Some("p1"), Some("p2")), (Some("r1"), Some("r4"))]);
        // The batch keeps one entry per document.
        assert_eq!(batch(&changes).len(), 2);
    }

    #[test]
    fn created_then_deleted_is_not_announced_but_deleted_stays_deleted() {
        let d = diff(&[(PR, "p1")], &[change(RL, None, Some("r1")), change(RL, Some("r1"), None)]);
        assert_eq!(tags(&d), [(None, Some("p1"))]);

        let d = diff(&[(PR, "p2")], &[change(RL, Some("r1"), None), change(PR, Some("p1"), Some("p2"))]);
        assert!(d.docs.contains(&DocState { sel: "resource-lists/users/sip:alice@example.com/index".into(), previous_etag: Some("r1".into()), new_etag: None }), "{d:?}");
        // Deleted, then created again: a change from the first tag to the current one.
        let d = diff(&[(RL, "r9")], &[change(RL, Some("r1"), None), change(RL, None, Some("r9"))]);
        assert_eq!(tags(&d), [(Some("r1"), Some("r9"))]);
    }

    #[test]
    fn attributes_are_escaped_and_selectors_encoded() {
        let changed = [("/x\"r/rl/users/a b&c/index".to_string(), None)];
        let d = XcapDiff::after_changes("http://h/x\"r/", "/x\"r/", &listing(&[("/x\"r/rl/users/a b&c/index", "e<1")]), &changed);
        let xml = d.to_xml();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let el = doc.root_element().first_element_child().unwrap();
        assert_eq!(el.attribute("new-etag"), Some("e<1"));
        assert_eq!(el.attribute("sel"), Some("rl/users/a%20b&c/index"));
    }

    #[test]
    fn a_batch_round_trips_and_truncated_bytes_are_refused() {
        let mut b = Batch::append_for(&[], &change(RL, Some("r1"), None)).unwrap();
        b.extend(Batch::append_for(&b, &change(PR, None, Some("p1"))).unwrap());
        assert_eq!(Batch::append_for(&b, &change(RL, None, Some("r2"))), None);
        assert_eq!(Batch::decode(&b), Some(vec![(RL.to_string(), Some("r1".to_string())), (PR.to_string(), None)]));
        assert_eq!(Batch::decode(&b[..b.len() - 1]), None);
        assert_eq!(Batch::decode(&[]), Some(Vec::new()));
        assert_eq!(Batch::decode(&[1, 2]), None);
    }
}
