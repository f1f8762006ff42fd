//! Body processors a presence user agent (pua) runs on a document before it PUBLISHes it: the PIDF tuple/person id
//! fix-up for `presence`, and the `version` bump for `dialog-info` and `reginfo` documents.
//!
//! Both work as textual edits of the original bytes: the document is parsed only to locate the
//! elements and attributes involved, and everything else (XML declaration, namespaces,
//! prefixes, whitespace, comments) is copied unchanged. Element and attribute names are matched
//! on their local name, ASCII case-insensitively and whatever their namespace, as stock does.
//!
//! Rules kept from stock (`src/modules/pua/add_events.c` of Kamailio 5.6.3):
//! - only the first `<tuple>` and the first `<person>` in document order are looked at; any
//!   further tuples and persons are left exactly as they are (so they keep, or keep lacking,
//!   their own ids; giving them all one id would produce duplicate `xs:ID` values);
//! - a tuple that has an `id` keeps it, even when the publication already has a stored tuple
//!   id; the stored id (if any) is still the one remembered;
//! - a tuple without an `id` gets the stored tuple id, or `new_id` for a first publication;
//! - a person without an `id` gets the id the first tuple now carries;
//! - without a stored id, a tuple's own id of 50 bytes or more is refused;
//! - `version` is formatted as stock's unsigned conversion does (a negative value wraps).
//!
//! Deliberate differences: the document element must be the expected one (stock searches the
//! whole tree), undeclared namespace prefixes are rejected (libxml only warns), and the output
//! is not reformatted.

use std::ops::Range;

use roxmltree::Node;

use crate::xml::{as_text, err, escape_attr, is_xml_char, name_is, own_id, parse, DocError};

/// Why a body could not be processed.
pub type BodyError = DocError;

/// Stock copies an own tuple id into a 50-byte buffer and refuses anything that does not fit.
const MAX_OWN_TUPLE_ID: usize = 50;

/// A PIDF body made ready for PUBLISH: every <tuple> has an id (the stored one when the
/// publication already has one, else the tuple's own, else `new_id`), and <person> elements get
/// the same id when they lack one. Returns the new body and the tuple id to remember.
///
/// Precisely (as stock): the first `<tuple>` keeps its own id if it has one, otherwise it gets
/// the stored id, otherwise `new_id`; the id to remember is the stored one when there is one,
/// otherwise the tuple's own, otherwise `new_id`. The first `<person>` without an id gets the
/// id the first tuple ends up with. Other tuples and persons are not touched. An empty stored
/// id counts as none (pua never hands one to the processor).
pub fn presence(
    body: &[u8],
    stored_tuple_id: Option<&[u8]>,
    new_id: &str,
) -> Result<(Vec<u8>, Vec<u8>), BodyError> {
    let text = as_text(body)?;
    let doc = parse(text)?;
    let root = doc.root_element();
    if !name_is(root, "presence") {
        return Err(err(format!(
            "presence body: document element is <{}>, not <presence>",
            root.tag_name().name()
        )));
    }
    let stored = stored_tuple_id.filter(|s| !s.is_empty());

    let tuple =
        first_element(root, "tuple").ok_or_else(|| err("presence body: no <tuple> element"))?;
    let mut edits: Vec<Edit> = Vec::with_capacity(2);

    // The id the first tuple carries in the output, and the id pua must remember.
    let (tuple_id, remember): (String, Vec<u8>) = match own_id(tuple) {
        Some(own) => {
            if stored.is_none() && own.len() >= MAX_OWN_TUPLE_ID {
                return Err(err(format!(
                    "presence body: tuple id is too long ({} bytes, at most {}): {}",
                    own.len(),
                    MAX_OWN_TUPLE_ID - 1,
                    own
                )));
            }
            let remember = match stored {
                Some(s) => s.to_vec(),
                None => own.as_bytes().to_vec(),
            };
            (own.to_owned(), remember)
        }
        None => {
            let id = match stored {
                Some(s) => std::str::from_utf8(s)
                    .map_err(|_| err("presence body: stored tuple id is not valid UTF-8"))?
                    .to_owned(),
                None => new_id.to_owned(),
            };
            edits.push(insert_attribute(text, &root, tuple, "id", &id)?);
            let remember = id.as_bytes().to_vec();
            (id, remember)
        }
    };

    if let Some(person) = first_element(root, "person") {
        if own_id(person).is_none() {
            edits.push(insert_attribute(text, &root, person, "id", &tuple_id)?);
        }
    }

    Ok((apply(body, text, edits), remember))
}

/// Sets (or adds) the `version` attribute of the document element, which must be named
/// `root` (e.g. "dialog-info" or "reginfo"), to `version`.
///
/// The attribute replaced is the one named exactly `version` without a namespace prefix (the
/// one stock's property setter targets); its quotes are kept. Without one, ` version="N"` is
/// appended to the start tag.
pub fn set_root_version(body: &[u8], root: &str, version: i32) -> Result<Vec<u8>, BodyError> {
    let text = as_text(body)?;
    let doc = parse(text)?;
    let elem = doc.root_element();
    if !name_is(elem, root) {
        return Err(err(format!(
            "{root} body: document element is <{}>, not <{root}>",
            elem.tag_name().name()
        )));
    }
    // Stock prints the int through an unsigned long conversion, so negatives wrap around.
    let value = (version as i64 as u64).to_string();
    let existing = elem
        .attributes()
        .find(|a| a.namespace().is_none() && a.name() == "version");
    let edit = match existing {
        Some(attr) => Edit {
            range: attr.range_value(),
            text: value,
        },
        None => insert_attribute(text, &elem, elem, "version", &value)?,
    };
    Ok(apply(body, text, vec![edit]))
}

/// One replacement of `range` of the original text (empty range: an insertion).
struct Edit {
    range: Range<usize>,
    text: String,
}




/// The first element named `name` in document order, the root included.
fn first_element<'a, 'i>(root: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    root.descendants().find(|n| name_is(*n, name))
}


/// An edit adding ` name="value"` at the end of `elem`'s start tag (before `>` or `/>` and any
/// whitespace preceding them).
fn insert_attribute(
    text: &str,
    root: &Node<'_, '_>,
    elem: Node<'_, '_>,
    name: &str,
    value: &str,
) -> Result<Edit, BodyError> {
    let start = elem.range().start;
    // Elements expanded from a DTD entity have their bytes inside the DOCTYPE, before the root.
    if start < root.range().start && elem != *root {
        return Err(err(format!(
            "<{}> comes from a DTD entity and cannot be edited",
            elem.tag_name().name()
        )));
    }
    // A control character cannot be written even as a reference: the body would not parse.
    if !value.chars().all(is_xml_char) {
        return Err(err(format!("{name} {value:?} holds a character XML cannot carry")));
    }
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut close = None;
    for (i, &b) in bytes.iter().enumerate().skip(start + 1) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => {
                close = Some(i);
                break;
            }
            None => {}
        }
    }
    let mut at = close.ok_or_else(|| err("unterminated start tag"))?;
    if bytes[at - 1] == b'/' {
        at -= 1;
    }
    while matches!(bytes[at - 1], b' ' | b'\t' | b'\r' | b'\n') {
        at -= 1;
    }
    let mut attr = String::with_capacity(name.len() + value.len() + 4);
    attr.push(' ');
    attr.push_str(name);
    attr.push_str("=\"");
    escape_attr(value, &mut attr);
    attr.push('"');
    Ok(Edit {
        range: at..at,
        text: attr,
    })
}


/// The body with `edits` (ranges in `text`, the body after its byte-order mark) applied; the
/// byte-order mark is kept.
fn apply(body: &[u8], text: &str, mut edits: Vec<Edit>) -> Vec<u8> {
    edits.sort_by_key(|e| e.range.start);
    let extra: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = Vec::with_capacity(body.len() + extra);
    out.extend_from_slice(&body[..body.len() - text.len()]);
    let mut pos = 0;
    for e in edits {
        out.extend_from_slice(&text.as_bytes()[pos..e.range.start]);
        out.extend_from_slice(e.text.as_bytes());
        pos = e.range.end;
    }
    out.extend_from_slice(&text.as_bytes()[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    const PIDF_NO_ID: &str = "<?xml version='1.0' encoding='UTF-8'?>\n\
<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@example.com\">\n  \
<tuple>\n    <status><basic>open</basic></status>\n  </tuple>\n</presence>\n";

    #[test]
    fn tuple_without_id_gets_new_id() {
        let (body, id) = presence(PIDF_NO_ID.as_bytes(), None, "0x55aa").unwrap();
        assert_eq!(
            s(&body),
            PIDF_NO_ID.replace("<tuple>", "<tuple id=\"0x55aa\">")
        );
        assert_eq!(id, b"0x55aa");
    }

    #[test]
    fn an_id_xml_cannot_carry_is_refused() {
        // Found by the fuzz driver: a control character in the new or the stored id was
        // written into the attribute and the published body no longer parsed.
        for id in ["a\u{1b}b", "\0", "x\u{3}"] {
            assert!(presence(PIDF_NO_ID.as_bytes(), None, id).is_err(), "{id:?}");
            assert!(presence(PIDF_NO_ID.as_bytes(), Some(id.as_bytes()), "n").is_err(), "{id:?}");
        }
        let (body, _) = presence(PIDF_NO_ID.as_bytes(), None, "a\tb\"<").unwrap();
        assert!(s(&body).contains("<tuple id=\"a&#9;b&quot;&lt;\">"));
    }

    #[test]
    fn tuple_with_id_keeps_it_and_returns_it() {
        let doc = "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>\
<tuple id='t1'><status><basic>closed</basic></status></tuple></presence>";
        let (body, id) = presence(doc.as_bytes(), None, "fresh").unwrap();
        assert_eq!(s(&body), doc);
        assert_eq!(id, b"t1");
    }

    #[test]
    fn stored_id_fills_a_missing_tuple_id() {
        let (body, id) = presence(PIDF_NO_ID.as_bytes(), Some(b"stored-7"), "fresh").unwrap();
        assert_eq!(
            s(&body),
            PIDF_NO_ID.replace("<tuple>", "<tuple id=\"stored-7\">")
        );
        assert_eq!(id, b"stored-7");
    }

    #[test]
    fn stored_id_is_remembered_but_own_id_stays_in_body() {
        let doc = "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>\
<tuple id='own'/><dm:person xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model'/></presence>";
        let (body, id) = presence(doc.as_bytes(), Some(b"stored"), "fresh").unwrap();
        assert_eq!(id, b"stored");
        // Stock hands the person the tuple's own id here, not the stored one.
        assert_eq!(
            s(&body),
            doc.replace("data-model'/>", "data-model' id=\"own\"/>")
        );
    }

    #[test]
    fn empty_stored_id_counts_as_none() {
        let (body, id) = presence(PIDF_NO_ID.as_bytes(), Some(b""), "gen").unwrap();
        assert_eq!(id, b"gen");
        assert!(s(&body).contains("<tuple id=\"gen\">"));
    }

    #[test]
    fn person_without_id_gets_the_tuple_id() {
        let doc = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\">\
<tuple><status><basic>open</basic></status></tuple>\
<person xmlns=\"urn:ietf:params:xml:ns:pidf:data-model\"><note>hi</note></person></presence>";
        let (body, id) = presence(doc.as_bytes(), None, "p1").unwrap();
        let want = doc
            .replace("<tuple>", "<tuple id=\"p1\">")
            .replace("data-model\">", "data-model\" id=\"p1\">");
        assert_eq!(s(&body), want);
        assert_eq!(id, b"p1");
    }

    #[test]
    fn person_with_id_is_untouched() {
        let doc = "<presence entity='sip:a@b'><person id='me'/><tuple/></presence>";
        let (body, _) = presence(doc.as_bytes(), None, "x").unwrap();
        assert_eq!(
            s(&body),
            "<presence entity='sip:a@b'><person id='me'/><tuple id=\"x\"/></presence>"
        );
    }

    #[test]
    fn person_before_tuple_and_self_closing_tags() {
        let doc = "<presence><person /><tuple\n/></presence>";
        let (body, _) = presence(doc.as_bytes(), Some(b"s"), "x").unwrap();
        assert_eq!(
            s(&body),
            "<presence><person id=\"s\" /><tuple id=\"s\"\n/></presence>"
        );
    }

    #[test]
    fn prefixed_elements_are_found() {
        let doc = "<?xml version=\"1.0\"?>\r\n<pidf:presence xmlns:pidf=\"urn:ietf:params:xml:ns:pidf\" \
xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" entity=\"pres:a@b\">\r\n\
<pidf:tuple xmlns:x=\"urn:x\" x:foo=\"a>b\"><pidf:status><pidf:basic>open</pidf:basic></pidf:status></pidf:tuple>\r\n\
<dm:person><dm:note>x</dm:note></dm:person>\r\n</pidf:presence>";
        let (body, id) = presence(doc.as_bytes(), None, "q").unwrap();
        let want = doc
            .replace("x:foo=\"a>b\">", "x:foo=\"a>b\" id=\"q\">")
            .replace("<dm:person>", "<dm:person id=\"q\">");
        assert_eq!(s(&body), want);
        assert_eq!(id, b"q");
    }

    #[test]
    fn names_match_case_insensitively_and_prefixed_id_counts() {
        let doc = "<Presence xmlns:q='urn:q'><TUPLE q:ID='pid'/><Person/></Presence>";
        let (body, id) = presence(doc.as_bytes(), None, "x").unwrap();
        assert_eq!(id, b"pid");
        assert_eq!(s(&body), doc.replace("<Person/>", "<Person id=\"pid\"/>"));
    }

    #[test]
    fn only_the_first_tuple_is_processed() {
        // Stock looks up the first tuple only; later tuples keep whatever they have.
        let doc = "<presence><tuple/><tuple id='b'/><tuple/></presence>";
        let (body, id) = presence(doc.as_bytes(), None, "n").unwrap();
        assert_eq!(
            s(&body),
            "<presence><tuple id=\"n\"/><tuple id='b'/><tuple/></presence>"
        );
        assert_eq!(id, b"n");

        let doc = "<presence><tuple id='a'/><tuple/></presence>";
        let (body, id) = presence(doc.as_bytes(), None, "n").unwrap();
        assert_eq!(s(&body), doc);
        assert_eq!(id, b"a");
    }

    #[test]
    fn nested_tuple_is_found_in_document_order() {
        let doc = "<presence><x><tuple id='deep'/></x><tuple/></presence>";
        let (body, id) = presence(doc.as_bytes(), None, "n").unwrap();
        assert_eq!(s(&body), doc);
        assert_eq!(id, b"deep");
    }

    #[test]
    fn written_ids_are_escaped() {
        let (body, id) = presence(PIDF_NO_ID.as_bytes(), None, "a&b<c\"d>e'f").unwrap();
        assert!(s(&body).contains("<tuple id=\"a&amp;b&lt;c&quot;d&gt;e'f\">"));
        assert_eq!(id, b"a&b<c\"d>e'f");
        // The output parses and gives the id back.
        let doc = roxmltree::Document::parse(s(&body)).unwrap();
        let t = doc.descendants().find(|n| n.has_tag_name("tuple")).unwrap();
        assert_eq!(t.attribute("id"), Some("a&b<c\"d>e'f"));
    }

    #[test]
    fn own_id_is_returned_decoded() {
        let doc = "<presence><tuple id='a&amp;b'/><person/></presence>";
        let (body, id) = presence(doc.as_bytes(), None, "n").unwrap();
        assert_eq!(id, b"a&b");
        assert_eq!(
            s(&body),
            "<presence><tuple id='a&amp;b'/><person id=\"a&amp;b\"/></presence>"
        );
    }

    #[test]
    fn empty_own_id_is_kept() {
        let doc = "<presence><tuple id=''/></presence>";
        let (body, id) = presence(doc.as_bytes(), None, "n").unwrap();
        assert_eq!(s(&body), doc);
        assert_eq!(id, b"");
    }

    #[test]
    fn long_own_id_without_stored_id_is_refused() {
        let long = "x".repeat(50);
        let doc = format!("<presence><tuple id='{long}'/></presence>");
        assert!(presence(doc.as_bytes(), None, "n").is_err());
        let ok = format!("<presence><tuple id='{}'/></presence>", "x".repeat(49));
        assert!(presence(ok.as_bytes(), None, "n").is_ok());
        // With a stored id the own id is never copied, so stock accepts it.
        let (body, id) = presence(doc.as_bytes(), Some(b"st"), "n").unwrap();
        assert_eq!(s(&body), doc);
        assert_eq!(id, b"st");
    }

    #[test]
    fn presence_errors() {
        let e = presence(b"<presence><tuple></presence>", None, "n").unwrap_err();
        assert!(e.0.contains("well-formed"), "{e}");
        let e = presence(b"<presence><tuple/>\xff</presence>", None, "n").unwrap_err();
        assert!(e.0.contains("UTF-8"), "{e}");
        let e = presence(b"<dialog-info><tuple/></dialog-info>", None, "n").unwrap_err();
        assert!(e.0.contains("<presence>"), "{e}");
        let e = presence(b"<presence><person/></presence>", None, "n").unwrap_err();
        assert!(e.0.contains("tuple"), "{e}");
        assert!(presence(b"", None, "n").is_err());
        let e = presence(b"<presence><tuple/></presence>", Some(b"\xff"), "n").unwrap_err();
        assert!(e.0.contains("UTF-8"), "{e}");
        assert_eq!(e.to_string(), e.0);
    }

    #[test]
    fn bom_and_dtd_are_handled() {
        let doc = "\u{feff}<?xml version=\"1.0\"?><!DOCTYPE presence [<!ENTITY e \"v\">]>\
<presence><tuple note='&e;'/></presence>";
        let (body, _) = presence(doc.as_bytes(), None, "n").unwrap();
        assert_eq!(s(&body), doc.replace("note='&e;'", "note='&e;' id=\"n\""));
        // A tuple that only exists through entity expansion cannot be edited textually.
        let doc = "<!DOCTYPE presence [<!ENTITY t \"<tuple/>\">]><presence>&t;</presence>";
        assert!(presence(doc.as_bytes(), None, "n").is_err());
    }

    const DIALOG: &str =
        "<?xml version=\"1.0\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" \
version=\"1\" state=\"full\" entity=\"sip:alice@example.com\">\n  <dialog id=\"d1\" version=\"9\">\
<state>confirmed</state></dialog>\n</dialog-info>\n";

    #[test]
    fn dialog_info_version_replaced_double_quotes() {
        let out = set_root_version(DIALOG.as_bytes(), "dialog-info", 42).unwrap();
        assert_eq!(
            s(&out),
            DIALOG.replace("version=\"1\" state", "version=\"42\" state")
        );
    }

    #[test]
    fn reginfo_version_replaced_single_quotes() {
        let doc = "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version = '0' state='full'>\
<registration aor='sip:a@b' id='r' state='active'/></reginfo>";
        let out = set_root_version(doc.as_bytes(), "reginfo", 3).unwrap();
        assert_eq!(s(&out), doc.replace("version = '0'", "version = '3'"));
    }

    #[test]
    fn version_added_when_missing() {
        let doc = "<dialog-info xmlns='urn:ietf:params:xml:ns:dialog-info' state='partial'\n>\n</dialog-info>";
        let out = set_root_version(doc.as_bytes(), "dialog-info", 5).unwrap();
        assert_eq!(
            s(&out),
            doc.replace("state='partial'\n>", "state='partial' version=\"5\"\n>")
        );

        let doc = "<r:reginfo xmlns:r=\"urn:ietf:params:xml:ns:reginfo\"/>";
        let out = set_root_version(doc.as_bytes(), "reginfo", 0).unwrap();
        assert_eq!(
            s(&out),
            "<r:reginfo xmlns:r=\"urn:ietf:params:xml:ns:reginfo\" version=\"0\"/>"
        );

        let out = set_root_version(b"<reginfo>x</reginfo>", "reginfo", 12).unwrap();
        assert_eq!(s(&out), "<reginfo version=\"12\">x</reginfo>");
    }

    #[test]
    fn prefixed_version_attribute_is_not_the_one() {
        let doc = "<dialog-info xmlns:q='urn:q' q:version='1'/>";
        let out = set_root_version(doc.as_bytes(), "dialog-info", 2).unwrap();
        assert_eq!(
            s(&out),
            "<dialog-info xmlns:q='urn:q' q:version='1' version=\"2\"/>"
        );
    }

    #[test]
    fn negative_version_wraps_like_stock() {
        let out = set_root_version(b"<reginfo version=\"1\"/>", "reginfo", -1).unwrap();
        assert_eq!(s(&out), "<reginfo version=\"18446744073709551615\"/>");
    }

    #[test]
    fn set_root_version_errors() {
        let e = set_root_version(b"<dialog-info version='1'>", "dialog-info", 1).unwrap_err();
        assert!(e.0.contains("well-formed"), "{e}");
        let e = set_root_version(b"<reginfo version='\xc3'/>", "reginfo", 1).unwrap_err();
        assert!(e.0.contains("UTF-8"), "{e}");
        let e = set_root_version(DIALOG.as_bytes(), "reginfo", 1).unwrap_err();
        assert!(e.0.contains("not <reginfo>"), "{e}");
        // A nested dialog-info does not count: it must be the document element.
        let e = set_root_version(b"<x><dialog-info/></x>", "dialog-info", 1).unwrap_err();
        assert!(e.0.contains("<x>"), "{e}");
    }

    #[test]
    fn large_bodies_are_fine() {
        let mut doc = String::from("<presence><tuple>");
        for i in 0..200_000 {
            doc.push_str(&format!("<note n='{i}'>some text</note>"));
        }
        doc.push_str("</tuple><person/></presence>");
        let (body, _) = presence(doc.as_bytes(), None, "big").unwrap();
        assert_eq!(body.len(), doc.len() + 2 * " id=\"big\"".len());
        assert!(s(&body).ends_with("</tuple><person id=\"big\"/></presence>"));

        let mut doc = String::from("<dialog-info version='1'>");
        for i in 0..200_000 {
            doc.push_str(&format!("<dialog id='{i}' version='1'/>"));
        }
        doc.push_str("</dialog-info>");
        let out = set_root_version(doc.as_bytes(), "dialog-info", 2).unwrap();
        assert_eq!(s(&out), doc.replacen("version='1'", "version='2'", 1));
    }
}
