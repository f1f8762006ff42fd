//! The uniqueness constraints of resource-lists and rls-services documents (RFC 4826 §3.4
//! and §4.4), reported as RFC 4825 §11 uniqueness failures.

use std::collections::HashSet;

use roxmltree::{Document, Node};

use super::text::tag_name;
use crate::auid::Auid;
use crate::error::{Duplicate, XcapError};

const RESOURCE_LISTS_NS: &str = "urn:ietf:params:xml:ns:resource-lists";
const RLS_SERVICES_NS: &str = "urn:ietf:params:xml:ns:rls-services";

/// Most duplicates reported in one failure; enough for a client to fix its document.
pub const MAX_REPORTED_DUPLICATES: usize = 16;

/// How to suggest another value for a duplicate, given the values already taken.
type Suggest = fn(&str, &HashSet<&str>) -> Option<String>;

/// Children of `<resource-lists>` or `<list>` whose attribute must differ from their siblings'.
const LIST_MEMBER_KEYS: [(&str, &str, Suggest); 4] = [
    ("list", "name", suggest_suffixed),
    ("entry", "uri", suggest_nothing),
    ("entry-ref", "ref", suggest_nothing),
    ("external", "anchor", suggest_nothing),
];

/// 409 uniqueness-failure listing the values that repeat one before them.
pub(super) fn check(text: &str, document: &Document, auid: Auid) -> Result<(), XcapError> {
    let duplicates = match auid {
        Auid::ResourceLists => resource_lists(text, document),
        Auid::RlsServices => rls_services(text, document),
        _ => Vec::new(),
    };
    if duplicates.is_empty() {
        Ok(())
    } else {
        Err(XcapError::UniquenessFailure(duplicates))
    }
}

fn resource_lists(text: &str, document: &Document) -> Vec<Duplicate> {
    let parents = document
        .descendants()
        .filter(|n| is(n, RESOURCE_LISTS_NS, "resource-lists") || is(n, RESOURCE_LISTS_NS, "list"));
    let mut duplicates = Vec::new();
    for parent in parents {
        for (element, attribute, suggest) in LIST_MEMBER_KEYS {
            let members = parent.children().filter(|c| is(c, RESOURCE_LISTS_NS, element));
            let room = MAX_REPORTED_DUPLICATES - duplicates.len();
            duplicates.extend(repeated(text, members, attribute, suggest, room));
            if duplicates.len() == MAX_REPORTED_DUPLICATES {
                return duplicates;
            }
        }
    }
    duplicates
}

/// Service URIs are unique in the whole document (RFC 4826 asks for the whole server; the
/// other documents are the caller's to compare).
fn rls_services(text: &str, document: &Document) -> Vec<Duplicate> {
    let services = document.descendants().filter(|n| is(n, RLS_SERVICES_NS, "service"));
    repeated(text, services, "uri", suggest_user_suffixed, MAX_REPORTED_DUPLICATES)
}

fn is(node: &Node, namespace: &str, local: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(namespace)
        && node.tag_name().name() == local
}

/// The first `room` members whose unqualified `attribute` repeats an earlier member's.
fn repeated<'a, 'i: 'a>(
    text: &str,
    members: impl Iterator<Item = Node<'a, 'i>>,
    attribute: &str,
    suggest: Suggest,
    room: usize,
) -> Vec<Duplicate> {
    let valued: Vec<(Node, &str)> =
        members.filter_map(|m| Some((m, m.attribute(attribute)?))).collect();
    let taken: HashSet<&str> = valued.iter().map(|(_, value)| *value).collect();
    let mut seen = HashSet::new();
    valued
        .iter()
        .filter(|(_, value)| !seen.insert(*value))
        .take(room)
        .map(|(member, value)| Duplicate {
            field: format!("{}/@{attribute}", path_of(text, *member)),
            alt_values: suggest(value, &taken).into_iter().collect(),
        })
        .collect()
}

/// `name-N` for the smallest N not taken.
fn suggest_suffixed(value: &str, taken: &HashSet<&str>) -> Option<String> {
    (1..=taken.len() + 1).map(|n| format!("{value}-{n}")).find(|c| !taken.contains(c.as_str()))
}

/// `sip:user-N@host` for the smallest N not taken (the suffix before the last `@`).
fn suggest_user_suffixed(value: &str, taken: &HashSet<&str>) -> Option<String> {
    let (user, host) = match value.rsplit_once('@') {
        Some((user, host)) => (user, format!("@{host}")),
        None => (value, String::new()),
    };
    (1..=taken.len() + 1).map(|n| format!("{user}-{n}{host}")).find(|c| !taken.contains(c.as_str()))
}

/// A contact's URI has no alternative worth suggesting.
fn suggest_nothing(_: &str, _: &HashSet<&str>) -> Option<String> {
    None
}

/// The element's node selector by position: qualified names as written, `[n]` counting the
/// siblings of the same expanded name.
fn path_of(text: &str, element: Node) -> String {
    let mut steps: Vec<String> = element
        .ancestors()
        .filter(|node| node.is_element())
        .map(|node| {
            let name = tag_name(text, node);
            if node.parent().is_some_and(|parent| parent.is_root()) {
                return name.to_string();
            }
            let position = node
                .prev_siblings()
                .filter(|sibling| sibling.is_element() && sibling.tag_name() == node.tag_name())
                .count();
            format!("{name}[{position}]")
        })
        .collect();
    steps.reverse();
    steps.join("/")
}
