//! The resource-lists schema (RFC 4826 §3.2).

use roxmltree::Node;

use super::types::any;
use super::{Attribute, Attributes, Checker, Slot, Verdict, MANY};

pub(in crate::doc) const RESOURCE_LISTS_NS: &str = "urn:ietf:params:xml:ns:resource-lists";
const NS: &str = RESOURCE_LISTS_NS;

/// `<resource-lists>`: `<list>` elements only, no attributes.
pub(super) fn document(checker: &Checker, root: Node) -> Verdict {
    checker.root(root, NS, "resource-lists")?;
    checker.attributes(root, NS, &Attributes::NONE)?;
    checker
        .children(root, NS, &[Slot::of(NS, &["list"], 0, MANY)], |list, _| list_type(checker, list))
}

/// `listType`, also the type of rls-services' `<list>`: `name`, foreign attributes, then
/// `display-name?`, `(list | external | entry | entry-ref)*`, `##other*`.
pub(super) fn list_type(checker: &Checker, list: Node) -> Verdict {
    const ATTRIBUTES: Attributes<'static> = Attributes::open(&[Attribute::optional("name", any)]);
    const CONTENT: [Slot; 3] = [
        Slot::of(NS, &["display-name"], 0, 1),
        Slot::of(NS, &["list", "external", "entry", "entry-ref"], 0, MANY),
        Slot::other(0, MANY),
    ];
    checker.attributes(list, NS, &ATTRIBUTES)?;
    checker.children(list, NS, &CONTENT, |child, _| {
        if child.tag_name().namespace() != Some(NS) {
            return Ok(());
        }
        match child.tag_name().name() {
            "display-name" => display_name(checker, child, false),
            "list" => list_type(checker, child),
            "entry" => member(checker, child, ENTRY, true),
            "entry-ref" => member(checker, child, ENTRY_REF, false),
            _ => member(checker, child, EXTERNAL, false),
        }
    })
}

const ENTRY: &[Attribute] = &[Attribute::required("uri", any)];
const ENTRY_REF: &[Attribute] = &[Attribute::required("ref", any)];
const EXTERNAL: &[Attribute] = &[Attribute::optional("anchor", any)];

/// `entryType`, `entry-refType` and `externalType`: the key attribute, foreign attributes,
/// `display-name?`, `##other*`. Only an entry's display name takes foreign attributes.
fn member(checker: &Checker, node: Node, known: &'static [Attribute], is_entry: bool) -> Verdict {
    checker.attributes(node, NS, &Attributes::open(known))?;
    const CONTENT: [Slot; 2] = [Slot::of(NS, &["display-name"], 0, 1), Slot::other(0, MANY)];
    checker.children(node, NS, &CONTENT, |child, slot| match slot {
        0 => display_name(checker, child, is_entry),
        _ => Ok(()),
    })
}

/// `display-nameType`: a string with an optional `xml:lang`.
fn display_name(checker: &Checker, node: Node, foreign: bool) -> Verdict {
    let attributes = Attributes { known: &[], foreign, xml_lang: true };
    checker.attributes(node, NS, &attributes)?;
    checker.simple(node, any)
}
