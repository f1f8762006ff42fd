//! Tests of the document operations on the RFC example documents.

mod delete;
mod fuzz;
mod put_attribute;
mod put_element;
mod rfc_positions;
mod schema;
mod select;
mod validate;

use xcap::auid::Auid;
use xcap::node_selector::NodeSelector;

/// Bindings the tests' selectors use.
fn bindings() -> Vec<(String, String)> {
    [
        ("cr", "urn:ietf:params:xml:ns:common-policy"),
        ("pr", "urn:ietf:params:xml:ns:pres-rules"),
        ("rl", "urn:ietf:params:xml:ns:resource-lists"),
        ("rs", "urn:ietf:params:xml:ns:rls-services"),
        ("other", "urn:other"),
    ]
    .map(|(p, u)| (p.to_string(), u.to_string()))
    .to_vec()
}

/// A selector with `auid`'s default namespace.
fn sel(text: &str, auid: Auid) -> NodeSelector {
    NodeSelector::parse(text, &bindings(), Some(auid.default_namespace())).expect(text)
}

fn rl(text: &str) -> NodeSelector {
    sel(text, Auid::ResourceLists)
}

/// Asserts `after` is `before` with `old` (found once, at the same place) replaced by `new`.
fn assert_spliced(before: &str, after: &str, old: &str, new: &str) {
    let at = before.find(old).expect("old text in the document");
    assert_eq!(before.matches(old).count(), 1, "ambiguous expected splice");
    assert_eq!(&after[..at], &before[..at]);
    assert_eq!(&after[at..at + new.len()], new);
    assert_eq!(&after[at + new.len()..], &before[at + old.len()..]);
}
