//! The rls-services schema (RFC 4826 §4.2). A service's `<list>` is in this namespace and
//! has the resource-lists `listType`, so its children are resource-lists elements.

use roxmltree::Node;

use super::resource_lists::list_type;
use super::types::any;
use super::{Attribute, Attributes, Checker, Slot, Verdict, MANY};

pub(in crate::doc) const RLS_SERVICES_NS: &str = "urn:ietf:params:xml:ns:rls-services";
const NS: &str = RLS_SERVICES_NS;

/// `<rls-services>`: `<service>` elements only, no attributes.
pub(super) fn document(checker: &Checker, root: Node) -> Verdict {
    checker.root(root, NS, "rls-services")?;
    checker.attributes(root, NS, &Attributes::NONE)?;
    checker.children(root, NS, &[Slot::of(NS, &["service"], 0, MANY)], |service, _| {
        service_type(checker, service)
    })
}

/// `serviceType`: `uri`, foreign attributes, then exactly one of `<resource-list>` (a URI)
/// or `<list>`, `packages?`, `##other*`.
fn service_type(checker: &Checker, service: Node) -> Verdict {
    const ATTRIBUTES: Attributes<'static> = Attributes::open(&[Attribute::required("uri", any)]);
    const CONTENT: [Slot; 3] = [
        Slot::of(NS, &["resource-list", "list"], 1, 1),
        Slot::of(NS, &["packages"], 0, 1),
        Slot::other(0, MANY),
    ];
    checker.attributes(service, NS, &ATTRIBUTES)?;
    checker.children(service, NS, &CONTENT, |child, slot| match (slot, child.tag_name().name()) {
        (0, "list") => list_type(checker, child),
        (0, _) => {
            checker.attributes(child, NS, &Attributes::NONE)?;
            checker.simple(child, any)
        }
        (1, _) => packages_type(checker, child),
        _ => Ok(()),
    })
}

/// `packagesType`: foreign attributes, `package*` (strings), `##other*`.
fn packages_type(checker: &Checker, packages: Node) -> Verdict {
    const CONTENT: [Slot; 2] = [Slot::of(NS, &["package"], 0, MANY), Slot::other(0, MANY)];
    checker.attributes(packages, NS, &Attributes::open(&[]))?;
    checker.children(packages, NS, &CONTENT, |child, slot| match slot {
        0 => {
            checker.attributes(child, NS, &Attributes::NONE)?;
            checker.simple(child, any)
        }
        _ => Ok(()),
    })
}
