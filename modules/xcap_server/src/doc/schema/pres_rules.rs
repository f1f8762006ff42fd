//! The common-policy schema (RFC 4745 §13) with the pres-rules elements of RFC 5025 §9, for
//! both the IETF and the OMA pres-rules usage. Both schemas are made to be extended: elements
//! of other namespaces (OMA's among them) are accepted wherever the schemas have a wildcard,
//! and attributes of other namespaces on every element.

use roxmltree::Node;

use super::types::{any, boolean, date_time, ncname};
use super::{is, Attribute, Attributes, Checker, Ids, Slot, Verdict, MANY};

const CP: &str = "urn:ietf:params:xml:ns:common-policy";
const PR: &str = "urn:ietf:params:xml:ns:pres-rules";

/// `<ruleset>`: `rule*`.
pub(super) fn document(checker: &Checker, root: Node) -> Verdict {
    checker.root(root, CP, "ruleset")?;
    checker.attributes(root, CP, &Attributes::open(&[]))?;
    let mut ids = Ids::new();
    checker.children(root, CP, &[Slot::of(CP, &["rule"], 0, MANY)], |rule, _| {
        ids.add(checker, rule, "id")?;
        rule_type(checker, rule)
    })
}

/// `ruleType`: `id` (an `xs:ID`), then `conditions?`, `actions?`, `transformations?`.
fn rule_type(checker: &Checker, rule: Node) -> Verdict {
    const ATTRIBUTES: Attributes<'static> = Attributes::open(&[Attribute::required("id", ncname)]);
    const CONTENT: [Slot; 3] = [
        Slot::of(CP, &["conditions"], 0, 1),
        Slot::of(CP, &["actions"], 0, 1),
        Slot::of(CP, &["transformations"], 0, 1),
    ];
    checker.attributes(rule, CP, &ATTRIBUTES)?;
    checker.children(rule, CP, &CONTENT, |child, slot| match slot {
        0 => conditions(checker, child),
        // actionsType and transformationsType: any elements of other namespaces.
        _ => extensible(checker, child),
    })
}

/// `conditionsType`: any number of `identity`, `sphere`, `validity` and foreign elements.
fn conditions(checker: &Checker, node: Node) -> Verdict {
    const CONTENT: [Slot; 1] =
        [Slot::of_or_other(CP, &["identity", "sphere", "validity"], 0, MANY)];
    checker.attributes(node, CP, &Attributes::open(&[]))?;
    checker.children(node, CP, &CONTENT, |child, _| {
        if child.tag_name().namespace() != Some(CP) {
            return lax(checker, child);
        }
        match child.tag_name().name() {
            "identity" => identity(checker, child),
            "sphere" => {
                checker.attributes(
                    child,
                    CP,
                    &Attributes::open(&[Attribute::required("value", any)]),
                )?;
                checker.empty(child, CP)
            }
            _ => validity(checker, child),
        }
    })
}

/// `identityType`: one or more of `one`, `many` and foreign elements.
fn identity(checker: &Checker, node: Node) -> Verdict {
    const CONTENT: [Slot; 1] = [Slot::of_or_other(CP, &["one", "many"], 1, MANY)];
    checker.attributes(node, CP, &Attributes::open(&[]))?;
    checker.children(node, CP, &CONTENT, |child, _| {
        if is(child, CP, "one") {
            checker.attributes(child, CP, &Attributes::open(&[Attribute::required("id", any)]))?;
            checker.children(child, CP, &[Slot::other(0, 1)], |_, _| Ok(()))
        } else if is(child, CP, "many") {
            many(checker, child)
        } else {
            lax(checker, child)
        }
    })
}

/// `manyType`: `domain?`, then any number of `except` and foreign elements.
fn many(checker: &Checker, node: Node) -> Verdict {
    const CONTENT: [Slot; 1] = [Slot::of_or_other(CP, &["except"], 0, MANY)];
    checker.attributes(node, CP, &Attributes::open(&[Attribute::optional("domain", any)]))?;
    checker.children(node, CP, &CONTENT, |child, _| {
        if !is(child, CP, "except") {
            return lax(checker, child);
        }
        const EXCEPT: Attributes<'static> =
            Attributes::open(&[Attribute::optional("domain", any), Attribute::optional("id", any)]);
        checker.attributes(child, CP, &EXCEPT)?;
        checker.empty(child, CP)
    })
}

/// `validityType`: one or more `from`, `until` pairs of `xs:dateTime`.
fn validity(checker: &Checker, node: Node) -> Verdict {
    checker.attributes(node, CP, &Attributes::open(&[]))?;
    let mut expect_from = true;
    checker.children(node, CP, &[Slot::of(CP, &["from", "until"], 1, MANY)], |child, _| {
        let want = if expect_from { "from" } else { "until" };
        if child.tag_name().name() != want {
            return Err(checker.fail(child, format_args!("expected <{want}> here")));
        }
        expect_from = !expect_from;
        checker.attributes(child, CP, &Attributes::open(&[]))?;
        checker.simple(child, date_time)
    })?;
    if expect_from {
        Ok(())
    } else {
        Err(checker.fail(node, "<until> is missing"))
    }
}

/// `extensibleType` (actions, transformations): foreign elements only.
fn extensible(checker: &Checker, node: Node) -> Verdict {
    checker.attributes(node, CP, &Attributes::open(&[]))?;
    checker.children(node, CP, &[Slot::other(0, MANY)], |child, _| lax(checker, child))
}

/// A wildcard's element: checked when it is a pres-rules element this server knows, skipped
/// otherwise (`processContents="lax"`).
fn lax(checker: &Checker, node: Node) -> Verdict {
    if node.tag_name().namespace() != Some(PR) {
        return Ok(());
    }
    let name = node.tag_name().name();
    match name {
        "sub-handling" => text(checker, node, |v| {
            matches!(v.trim(), "block" | "confirm" | "polite-block" | "allow")
        }),
        "provide-user-input" => {
            text(checker, node, |v| matches!(v.trim(), "false" | "bare" | "thresholds" | "full"))
        }
        "provide-unknown-attribute" => {
            const ATTRIBUTES: Attributes<'static> = Attributes::open(&[
                Attribute::required("name", any),
                Attribute::required("ns", any),
            ]);
            checker.attributes(node, PR, &ATTRIBUTES)?;
            checker.simple(node, boolean)
        }
        "provide-all-attributes" => {
            checker.attributes(node, PR, &Attributes::open(&[]))?;
            checker.empty(node, PR)
        }
        "provide-services" => provide(checker, node, "all-services", SERVICE_SELECTORS),
        "provide-devices" => provide(checker, node, "all-devices", DEVICE_SELECTORS),
        "provide-persons" => provide(checker, node, "all-persons", PERSON_SELECTORS),
        _ if BOOLEAN_PERMISSIONS.contains(&name) => text(checker, node, boolean),
        _ => Ok(()),
    }
}

/// The `booleanPermission` transformations.
const BOOLEAN_PERMISSIONS: [&str; 12] = [
    "provide-activities",
    "provide-class",
    "provide-deviceID",
    "provide-mood",
    "provide-place-is",
    "provide-place-type",
    "provide-privacy",
    "provide-relationship",
    "provide-status-icon",
    "provide-sphere",
    "provide-time-offset",
    "provide-note",
];

/// A text-only pres-rules element.
fn text(checker: &Checker, node: Node, valid: fn(&str) -> bool) -> Verdict {
    checker.attributes(node, PR, &Attributes::open(&[]))?;
    checker.simple(node, valid)
}

/// `provideServicePermission`, `provideDevicePermission`, `providePersonPermission`: either
/// the one `all` element, or any number of the selectors `specific` and foreign elements.
/// Kamailio's spelling `occurence-id` is accepted besides `occurrence-id`, as deployments'
/// documents use it.
fn provide(
    checker: &Checker,
    node: Node,
    all: &'static str,
    specific: &'static [&'static str],
) -> Verdict {
    checker.attributes(node, PR, &Attributes::open(&[]))?;
    let mut children = node.children().filter(|c| c.is_element());
    if let (Some(first), None) = (children.next(), children.next()) {
        if is(first, PR, all) {
            checker.attributes(first, PR, &Attributes::open(&[]))?;
            return checker.empty(first, PR);
        }
    }
    checker.children(node, PR, &[Slot::of_or_other(PR, specific, 0, MANY)], |child, _| {
        if child.tag_name().namespace() != Some(PR) {
            return Ok(());
        }
        checker.attributes(child, PR, &Attributes::open(&[]))?;
        checker.simple(child, any)
    })
}

const SERVICE_SELECTORS: &[&str] =
    &["service-uri", "service-uri-scheme", "occurrence-id", "occurence-id", "class"];
const DEVICE_SELECTORS: &[&str] = &["deviceID", "occurrence-id", "occurence-id", "class"];
const PERSON_SELECTORS: &[&str] = &["occurrence-id", "occurence-id", "class"];
