//! The PIDF schema (RFC 3863 §4.4), the document of the pidf-manipulation usage (RFC 4827).
//! Extensions such as RPID and the data model live in other namespaces, where PIDF has
//! wildcards.

use roxmltree::Node;

use super::types::{any, date_time, ncname, qvalue};
use super::{Attribute, Attributes, Checker, Ids, Slot, Verdict, MANY};

const NS: &str = "urn:ietf:params:xml:ns:pidf";

/// `<presence entity>`: `tuple*`, `note*`, `##other*`.
pub(super) fn document(checker: &Checker, root: Node) -> Verdict {
    const ATTRIBUTES: Attributes<'static> = Attributes::only(&[Attribute::required("entity", any)]);
    const CONTENT: [Slot; 3] =
        [Slot::of(NS, &["tuple"], 0, MANY), Slot::of(NS, &["note"], 0, MANY), Slot::other(0, MANY)];
    checker.root(root, NS, "presence")?;
    checker.attributes(root, NS, &ATTRIBUTES)?;
    let mut ids = Ids::new();
    checker.children(root, NS, &CONTENT, |child, slot| match slot {
        0 => {
            ids.add(checker, child, "id")?;
            tuple(checker, child)
        }
        1 => note(checker, child),
        _ => Ok(()),
    })
}

/// `tuple`: `id` (an `xs:ID`), then `status`, `##other*`, `contact?`, `note*`, `timestamp?`.
fn tuple(checker: &Checker, tuple: Node) -> Verdict {
    const ATTRIBUTES: Attributes<'static> = Attributes::only(&[Attribute::required("id", ncname)]);
    const CONTENT: [Slot; 5] = [
        Slot::of(NS, &["status"], 1, 1),
        Slot::other(0, MANY),
        Slot::of(NS, &["contact"], 0, 1),
        Slot::of(NS, &["note"], 0, MANY),
        Slot::of(NS, &["timestamp"], 0, 1),
    ];
    checker.attributes(tuple, NS, &ATTRIBUTES)?;
    checker.children(tuple, NS, &CONTENT, |child, slot| match slot {
        0 => status(checker, child),
        2 => {
            checker.attributes(
                child,
                NS,
                &Attributes::only(&[Attribute::optional("priority", qvalue)]),
            )?;
            checker.simple(child, any)
        }
        3 => note(checker, child),
        4 => {
            checker.attributes(child, NS, &Attributes::NONE)?;
            checker.simple(child, date_time)
        }
        _ => Ok(()),
    })
}

/// `status`: `basic?` (open or closed), `##other*`.
fn status(checker: &Checker, status: Node) -> Verdict {
    const CONTENT: [Slot; 2] = [Slot::of(NS, &["basic"], 0, 1), Slot::other(0, MANY)];
    checker.attributes(status, NS, &Attributes::NONE)?;
    checker.children(status, NS, &CONTENT, |child, slot| match slot {
        0 => {
            checker.attributes(child, NS, &Attributes::NONE)?;
            checker.simple(child, |v| matches!(v.trim(), "open" | "closed"))
        }
        _ => Ok(()),
    })
}

/// `note`: a string with an optional `xml:lang`.
fn note(checker: &Checker, note: Node) -> Verdict {
    checker.attributes(note, NS, &Attributes { known: &[], foreign: false, xml_lang: true })?;
    checker.simple(note, any)
}
