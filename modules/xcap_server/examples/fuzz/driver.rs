//! Runs generated inputs through the URI parser, the node selector parser, the document
//! operations (GET selection, PUT and DELETE of elements and attributes) and whole-document
//! validation, catching panics, timing every input and checking a few invariants.

use xcap::auid::Auid;
use xcap_server::doc::{delete, put_attribute, put_element, select, validate_document, Selection};
use xcap_server::error::XcapError;
use xcap_server::pvar::XcapUriKey;
use xcap::node_selector::{NodeSelector, Terminal};
use xcap_server::uri::XcapUri;

use crate::generate::{self, Input};

const DOC_LIMIT: usize = 1 << 20;

fuzzing::counts! {
    /// How many operations of each kind succeeded for one input.
    pub struct Counts {
        uris_parsed,
        selectors_parsed,
        selections,
        puts,
        deletes,
        valid_docs,
    }
}

/// xcap_server's parsers and document operations, as a fuzz target.
pub const TARGET: fuzzing::Target<Input, Counts> = fuzzing::Target { input: generate::input, exercise, describe };

/// What `show` prints besides the input.
fn describe(case: &Input) -> Vec<String> {
    vec![format!("doc as text: {}", String::from_utf8_lossy(&case.doc))]
}

/// Every operation on one input; `Err` when an invariant does not hold.
pub fn exercise(case: &Input) -> Result<Counts, String> {
    let mut counts = Counts::default();
    let doc = std::str::from_utf8(&case.doc).ok();
    if let Ok(xuri) = XcapUri::parse(&case.uri, &case.root) {
        counts.uris_parsed = 1;
        check_uri(&xuri)?;
        if let (Some(Ok(selector)), Some(doc)) = (xuri.selector(), doc) {
            edit(doc, &selector, &case.body, case.auid, &mut counts)?;
        }
    }
    let default_ns = Some(case.auid.default_namespace());
    if let Ok(selector) = NodeSelector::parse(&case.selector, &case.bindings, default_ns) {
        counts.selectors_parsed = 1;
        let again = NodeSelector::parse(&selector.to_string(), &case.bindings, default_ns);
        if again.as_ref() != Ok(&selector) {
            return Err(format!("selector {selector} does not parse back: {again:?}"));
        }
        if let Some(doc) = doc {
            edit(doc, &selector, &case.body, case.auid, &mut counts)?;
        }
    }
    counts.valid_docs = u64::from(validate_document(&case.doc, case.auid, DOC_LIMIT).is_ok());
    Ok(counts)
}

/// The document key never keeps a dot segment; every `$xcapuri` key can be read.
fn check_uri(xuri: &XcapUri) -> Result<(), String> {
    if xuri.adoc.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(format!("document URI with a dot segment: {}", xuri.adoc));
    }
    for key in [
        "data", "uri", "root", "auid", "type", "tree", "xuid", "file", "node", "target", "domain",
        "uri_adoc",
    ] {
        let key = XcapUriKey::from_name(key).ok_or("unknown $xcapuri key")?;
        let _ = xuri.pv_value(key);
    }
    Ok(())
}

/// GET, PUT and DELETE of what `selector` points at; a successful PUT must read back and
/// give a document that validation accepts or refuses without failing, a successful DELETE
/// must leave nothing for the selector.
fn edit(
    doc: &str,
    selector: &NodeSelector,
    body: &str,
    auid: Auid,
    counts: &mut Counts,
) -> Result<(), String> {
    if select(doc, selector).is_ok() {
        counts.selections += 1;
    }
    let put = match selector.terminal {
        Some(Terminal::Attribute(_)) => put_attribute(doc, selector, body),
        _ => put_element(doc, selector, body),
    };
    if let Ok(outcome) = put {
        counts.puts += 1;
        let expected = match selector.terminal {
            Some(Terminal::Attribute(_)) => Selection::Attribute(body.to_string()),
            _ => Selection::Element(body.trim_matches([' ', '\t', '\r', '\n']).to_string()),
        };
        let got = select(&outcome.doc, selector);
        if got.as_ref() != Ok(&expected) {
            return Err(format!("PUT {selector} then GET gave {got:?}, not {expected:?}"));
        }
        let _ = validate_document(outcome.doc.as_bytes(), auid, DOC_LIMIT);
    }
    if let Ok(new_doc) = delete(doc, selector) {
        counts.deletes += 1;
        match select(&new_doc, selector) {
            Err(XcapError::NotFound(_)) => {}
            other => return Err(format!("DELETE {selector} left {other:?}")),
        }
    }
    Ok(())
}
