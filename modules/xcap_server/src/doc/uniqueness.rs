//! The uniqueness constraints of resource-lists and rls-services documents (RFC 4826 §3.4
//! and §4.4), reported as RFC 4825 §11 uniqueness failures.

use std::collections::HashSet;

use roxmltree::{Document, Node};

use super::schema::{RESOURCE_LISTS_NS, RLS_SERVICES_NS};
use super::text::tag_name;
use xcap::auid::Auid;
use crate::error::{Duplicate, XcapError};

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
    list_members(text, parents)
}

/// The duplicates among the members of each of `parents`.
fn list_members<'a, 'i: 'a>(
    text: &str,
    parents: impl Iterator<Item = Node<'a, 'i>>,
) -> Vec<Duplicate> {
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
/// other documents are compared by [`services_taken`]), and a service's `<list>` follows
/// the resource-lists constraints (§4.4.5).
fn rls_services(text: &str, document: &Document) -> Vec<Duplicate> {
    let services = document.descendants().filter(|n| is(n, RLS_SERVICES_NS, "service"));
    let mut duplicates =
        repeated(text, services, "uri", suggest_user_suffixed, MAX_REPORTED_DUPLICATES);
    let lists = document
        .descendants()
        .filter(|n| is(n, RLS_SERVICES_NS, "list") || is(n, RESOURCE_LISTS_NS, "list"));
    duplicates.extend(list_members(text, lists));
    duplicates.truncate(MAX_REPORTED_DUPLICATES);
    duplicates
}

/// 409 uniqueness-failure for the services of the rls-services document `text` whose URI
/// another document of the server (`others`, any user's) already defines (RFC 4826 §4.4.5).
/// The suggested alternatives are free in all of them.
pub fn services_taken<'o>(
    text: &str,
    others: impl IntoIterator<Item = &'o str>,
) -> Result<(), XcapError> {
    let Ok(document) = super::parse::parse(text) else { return Ok(()) };
    let services: Vec<Node> = document
        .descendants()
        .filter(|n| is(n, RLS_SERVICES_NS, "service") && n.attribute("uri").is_some())
        .collect();
    if services.is_empty() {
        return Ok(());
    }
    let own: Vec<&str> = services.iter().filter_map(|s| s.attribute("uri")).collect();
    let others: Vec<&str> = others.into_iter().collect();
    // Only documents that may define one of our URIs are parsed: those holding one as is,
    // or holding a reference that could spell one differently (and all of them when a URI
    // has whitespace, which attribute values normalise).
    let literal = own.iter().all(|uri| !uri.contains(char::is_whitespace));
    let may_clash =
        |other: &&str| !literal || other.contains('&') || own.iter().any(|uri| other.contains(uri));
    let nearby: Vec<String> =
        others.iter().copied().filter(may_clash).flat_map(service_uris).collect();
    let nearby: HashSet<&str> = nearby.iter().map(String::as_str).collect();
    let clashing: Vec<(Node, &str)> = services
        .iter()
        .filter_map(|s| Some((*s, s.attribute("uri")?)))
        .filter(|(_, uri)| nearby.contains(uri))
        .take(MAX_REPORTED_DUPLICATES)
        .collect();
    if clashing.is_empty() {
        return Ok(());
    }
    // The alternatives must be free in every document.
    let other_uris: Vec<String> = others.iter().flat_map(|o| service_uris(o)).collect();
    let mut taken: HashSet<&str> = other_uris.iter().map(String::as_str).collect();
    taken.extend(own);
    let duplicates = clashing
        .into_iter()
        .map(|(service, uri)| Duplicate {
            field: format!("{}/@uri", path_of(text, service)),
            alt_values: suggest_user_suffixed(uri, &taken).into_iter().collect(),
        })
        .collect();
    Err(XcapError::UniquenessFailure(duplicates))
}

/// The service URIs an rls-services document defines (none if it does not parse).
fn service_uris(text: &str) -> Vec<String> {
    let Ok(document) = super::parse::parse(text) else { return Vec::new() };
    document
        .descendants()
        .filter(|n| is(n, RLS_SERVICES_NS, "service"))
        .filter_map(|n| n.attribute("uri").map(str::to_string))
        .collect()
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
pub(super) fn path_of(text: &str, element: Node) -> String {
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
