//! PIDF bodies (RFC 3863, data model RFC 4479, RPID RFC 4480) as presence_xml builds NOTIFY
//! bodies from them: the publish check, aggregation of a presentity's publications, the
//! offline form of a publication being removed, the single-body choice, the dummy body, the
//! pres-rules transformations, and the `pres_check_basic` / `pres_check_activities` tests.
//!
//! Everything works on the original bytes: a document is parsed only to locate elements, and
//! output is composed from slices of the inputs (XML declaration, prefixes, whitespace and
//! comments are kept; nothing is reformatted). An element copied from one document into another
//! carries those of its source ancestors' namespace declarations that its element and attribute
//! names use and the target does not already make (as libxml's reconciliation does), so the
//! result is namespace-correct whatever prefixes either document uses. A body with a DOCTYPE is first
//! rewritten without it (entities expanded) so that no copied fragment can refer to an entity
//! of a DTD left behind.
//!
//! Element and attribute names are matched on their local name, ASCII case-insensitively and
//! whatever their namespace, as stock does, except for the document element, which must be
//! `{urn:ietf:params:xml:ns:pidf}presence`.
//!
//! Rules kept from stock (`src/modules/presence_xml/notify_body.c` of Kamailio 5.6.3):
//! - aggregation: the newest publication is the base; older ones are visited newest first and
//!   one is skipped when the `id` of its first `<tuple>` equals (ASCII case-insensitively) the
//!   `id` of a `<tuple>` already in the base, counting the tuples appended so far; otherwise
//!   all its root children are appended to the base root;
//! - the publication being removed is replaced by its offline form: the document element, the
//!   first tuple's start tag and that tuple's `<status>` with `<basic>closed</basic>`;
//! - single-body mode keeps exactly stock's choice (see [`single_body`]);
//! - `pres_check_basic` / `pres_check_activities` walk the document as stock does, quirks
//!   included (see [`check_basic`], [`check_activities`]).
//!
//! Deliberate differences (each names the stock line it departs from):
//! - a body that is not UTF-8 PIDF is skipped by aggregation and single-body mode instead of
//!   making the whole NOTIFY body empty (notify_body.c:536-538, :551-554, :558-561, :671-673);
//! - a tuple without `id` does not abort the aggregation (:568-570, :578-580): it just never
//!   matches;
//! - an offline form can be made from a tuple without `<status>` or `<basic>` (they are
//!   supplied) instead of failing the whole NOTIFY (:764-780, :152-155), and only the first
//!   tuple's own `<status>` is used (stock takes the document's first `<basic>` and
//!   `<status>`, wherever they are);
//! - transformations: `provide-devices` acts on `<device>` elements (stock looks for elements
//!   named `devices`, so it never removes anything: :282-290); every root child of the kind is
//!   considered (stock stops at the first sibling of another name, leaking tuples that follow
//!   a `<note>` or `<person>`: :327-329); the `class`, `deviceID` and `contact` looked at are
//!   the element's own (stock's search runs on into the following siblings: :339-360); a
//!   contact without `:` has no scheme (stock reads past it: :366-371); a false `provide-X`
//!   removes every element named X (stock: the first one found and the root's children of
//!   that name, :291-309);
//! - the dummy body carries the presentity's full URI in `entity` (stock: the user part only,
//!   :110-111).
//!
//! Absent `provide-services` / `-devices` / `-persons` permissions leave their kind untouched as
//! stock ([`transform`]); [`transform_with`] offers RFC 5025's reading (nothing provided).
//!
//! Output is not re-indented (stock dumps with libxml's formatter); whitespace around
//! appended or removed elements is kept or removed with them.

use std::borrow::Cow;
use std::collections::HashSet;

use std::ops::Range;

use roxmltree::{Document, Node, NodeType};

use crate::rules::{Provide, Selector, Transformations};
use crate::xml::{as_text, err, escape_attr, is_xml_char, name_is, own_id, parse, DocError};

/// The PIDF namespace (RFC 3863).
pub const PIDF_NS: &str = "urn:ietf:params:xml:ns:pidf";

/// Tuple id of the dummy body, as stock.
const DUMMY_TUPLE_ID: &str = "615293b33c62dec073e05d9421e9f48b";

/// Why a body could not be used.
pub type PidfError = DocError;

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";


// ---------------------------------------------------------------------------------------------
// Publish check

/// Checks a PUBLISHed body: well-formed UTF-8 XML whose document element is
/// `{urn:ietf:params:xml:ns:pidf}presence`.
///
/// Stock (add_events.c `xml_publ_handl`) only checks well-formedness, and a stored non-PIDF
/// document then empties every watcher's NOTIFY; use [`is_well_formed`] for that lenient mode
/// (aggregation skips such documents anyway). An empty body (a refresh) is the caller's
/// business: it is not well-formed XML.
pub fn check_publication(body: &[u8]) -> Result<(), PidfError> {
    let text = as_text(body)?;
    let doc = parse(text)?;
    pidf_root(&doc).map(|_| ())
}

/// Whether `body` is well-formed UTF-8 XML (stock's whole publish check).
pub fn is_well_formed(body: &[u8]) -> bool {
    as_text(body).is_ok_and(|t| parse(t).is_ok())
}

/// What a PUBLISHed body is, from one parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publication {
    /// A PIDF document.
    Pidf,
    /// Well-formed XML, but not PIDF.
    NotPidf(PidfError),
    /// Not UTF-8, or not well-formed.
    NotXml(PidfError),
}

/// Classifies a PUBLISHed body with a single parse.
pub fn classify(body: &[u8]) -> Publication {
    let doc = match as_text(body).and_then(parse) {
        Ok(d) => d,
        Err(e) => return Publication::NotXml(e),
    };
    match pidf_root(&doc) {
        Ok(_) => Publication::Pidf,
        Err(e) => Publication::NotPidf(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Aggregation

/// The NOTIFY body for several publications of one presentity, oldest first (as presence
/// passes them), `off_index` (if any) being a publication that is being removed: it takes part
/// in its offline form (see [`offline`]). An `off_index` out of range is ignored.
///
/// The newest usable document is the base and is copied unchanged; the root children of each
/// older one, newest first, are appended to the base root unless the `id` of its first tuple
/// equals (ASCII case-insensitively) the `id` of a tuple the base already has, appended ones
/// included. A body that is not UTF-8 PIDF (or whose offline form cannot be made) is skipped.
/// Returns None when nothing usable remains.
pub fn aggregate(bodies: &[&[u8]], off_index: Option<usize>) -> Option<Vec<u8>> {
    let texts = usable_texts(bodies, off_index);
    let docs = pidf_docs(&texts);
    let (base, older) = docs.split_last()?;

    let base_text = base.input_text();
    let base_root = base.root_element();
    let base_tag = start_tag(base_text, base_root.range().start).ok()?;
    let target = ns_decls(&base_tag);
    let mut tuple_ids: HashSet<String> = root_tuple_ids(base_root).collect();

    let mut appended = String::new();
    for doc in older.iter().rev() {
        let root = doc.root_element();
        let first_tuple = root.children().find(|n| name_is(*n, "tuple"));
        if let Some(id) = first_tuple.and_then(own_id) {
            if tuple_ids.contains(&id.to_ascii_lowercase()) {
                continue;
            }
        }
        if let Ok(content) = root_content_for(doc.input_text(), root, &target) {
            appended.push_str(&content);
            tuple_ids.extend(root_tuple_ids(root));
        }
    }

    if appended.is_empty() {
        return Some(base_text.as_bytes().to_vec());
    }
    let mut out = String::with_capacity(base_text.len() + appended.len() + 32);
    if base_tag.self_closing {
        // <presence .../> becomes <presence ...>appended</presence>.
        out.push_str(&base_text[..base_tag.end - 2]);
        out.push('>');
        out.push_str(&appended);
        push_end_tag(&mut out, base_tag.qname);
        out.push_str(&base_text[base_tag.end..]);
    } else {
        let at = end_tag_start(base_text, base_root);
        out.push_str(&base_text[..at]);
        out.push_str(&appended);
        out.push_str(&base_text[at..]);
    }
    Some(out.into_bytes())
}

/// The content of `root` (everything between its tags) with each element child carrying the
/// namespace declarations of `root` that differ from `target`, the declarations in force where
/// the content goes.
fn root_content_for(
    text: &str,
    root: Node<'_, '_>,
    target: &[Decl<'_>],
) -> Result<String, PidfError> {
    let tag = start_tag(text, root.range().start)?;
    if tag.self_closing {
        return Ok(String::new());
    }
    let inherited = ns_decls(&tag);
    let content = tag.end..end_tag_start(text, root);
    let mut out = String::with_capacity(content.len() + 64);
    let mut pos = content.start;
    for child in root.children().filter(Node::is_element) {
        let child_tag = start_tag(text, child.range().start)?;
        let extra = carried(
            &inherited,
            &ns_decls(&child_tag),
            target,
            &used_namespaces(child),
        );
        if !extra.is_empty() {
            out.push_str(&text[pos..child_tag.name_end]);
            out.push_str(&extra);
            pos = child_tag.name_end;
        }
    }
    out.push_str(&text[pos..content.end]);
    Ok(out)
}

/// The ids (lower-cased) of the tuples that are children of `root`.
fn root_tuple_ids<'a>(root: Node<'a, '_>) -> impl Iterator<Item = String> + 'a {
    root.children()
        .filter(|n| name_is(*n, "tuple"))
        .filter_map(own_id)
        .map(|id| id.to_ascii_lowercase())
}

/// The bodies as entity-free text, the one at `off_index` in its offline form; unusable ones
/// left out.
fn usable_texts<'b>(bodies: &[&'b [u8]], off_index: Option<usize>) -> Vec<Cow<'b, str>> {
    bodies
        .iter()
        .enumerate()
        .filter_map(|(i, body)| {
            if off_index == Some(i) {
                offline_text(body).ok().map(Cow::Owned)
            } else {
                prepare(body).ok()
            }
        })
        .collect()
}

/// The texts that parse as PIDF, in order.
fn pidf_docs<'t>(texts: &'t [Cow<'_, str>]) -> Vec<Document<'t>> {
    texts
        .iter()
        .filter_map(|t| parse(t).ok())
        .filter(|d| pidf_root(d).is_ok())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Offline form

/// The offline form of a publication: its document element, its first tuple (start tag only)
/// and that tuple's `<status>` with `<basic>` set to `closed`, behind an XML declaration. A
/// missing `<status>` or `<basic>` is supplied. Fails for a body that is not PIDF or has no
/// tuple.
pub fn offline(body: &[u8]) -> Result<Vec<u8>, PidfError> {
    offline_text(body).map(String::into_bytes)
}

fn offline_text(body: &[u8]) -> Result<String, PidfError> {
    let text = prepare(body)?;
    let doc = parse(&text)?;
    let root = pidf_root(&doc)?;
    let tuple = root
        .descendants()
        .find(|n| name_is(*n, "tuple"))
        .ok_or_else(|| err("presence body: no <tuple> element"))?;

    let root_tag = start_tag(&text, root.range().start)?;
    let tuple_tag = start_tag(&text, tuple.range().start)?;
    let mut out = String::with_capacity(root_tag.end - root.range().start + 256);
    out.push_str(XML_DECL);
    out.push_str(&text[root.range().start..root_tag.end]);

    // The tuple may sit below wrappers whose declarations it needs.
    let inherited = inherited_decls(&text, tuple)?;
    let extra = carried(
        &inherited,
        &ns_decls(&tuple_tag),
        &ns_decls(&root_tag),
        &used_namespaces(tuple),
    );
    push_open_tag(&mut out, &text, tuple.range().start, &tuple_tag, &extra);

    match tuple.children().find(|n| name_is(*n, "status")) {
        None => {
            out.push_str("<status xmlns=\"");
            out.push_str(PIDF_NS);
            out.push_str("\"><basic>closed</basic></status>");
        }
        Some(status) => {
            let status_tag = start_tag(&text, status.range().start)?;
            match status.children().find(|n| name_is(*n, "basic")) {
                None => {
                    push_open_tag(&mut out, &text, status.range().start, &status_tag, "");
                    out.push_str("<basic xmlns=\"");
                    out.push_str(PIDF_NS);
                    out.push_str("\">closed</basic>");
                    if status_tag.self_closing {
                        push_end_tag(&mut out, status_tag.qname);
                    } else {
                        out.push_str(&text[status_tag.end..status.range().end]);
                    }
                }
                Some(basic) => {
                    let basic_tag = start_tag(&text, basic.range().start)?;
                    out.push_str(&text[status.range().start..basic.range().start]);
                    push_open_tag(&mut out, &text, basic.range().start, &basic_tag, "");
                    out.push_str("closed");
                    push_end_tag(&mut out, basic_tag.qname);
                    out.push_str(&text[basic.range().end..status.range().end]);
                }
            }
        }
    }
    push_end_tag(&mut out, tuple_tag.qname);
    push_end_tag(&mut out, root_tag.qname);
    out.push('\n');
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Single-body mode

/// `force_presence_single_body`: one of the publications, chosen as stock does by the text of
/// the first element named `element` (e.g. `note`) against `priorities` (e.g.
/// `Available|Ringing|On the Phone`, later = higher).
///
/// Precisely: start from the newest usable body; visit older ones newest first; one replaces
/// the current choice when both have the element, their texts differ ASCII
/// case-insensitively, and its text occurs (case-sensitively, as a substring) in `priorities`
/// after the current choice's text (a text that does not occur ranks below any that does).
/// So a newest body without the element is always chosen, as stock. With an empty `element`
/// or `priorities` the newest body is chosen. Unusable bodies are skipped; None when none is
/// usable. The chosen body is returned unchanged.
pub fn single_body(bodies: &[&[u8]], element: &str, priorities: &str) -> Option<Vec<u8>> {
    single_body_with_off(bodies, None, element, priorities)
}

/// [`single_body`] with `off_index` being a publication being removed, taking part in its
/// offline form (as stock's `pres_agg_nbody` does in single-body mode).
pub fn single_body_with_off(
    bodies: &[&[u8]],
    off_index: Option<usize>,
    element: &str,
    priorities: &str,
) -> Option<Vec<u8>> {
    let texts = usable_texts(bodies, off_index);
    let docs = pidf_docs(&texts);
    let newest = docs.len().checked_sub(1)?;
    let mut chosen = newest;
    if !element.is_empty() && !priorities.is_empty() {
        let mut current = lookup_text(&docs[newest], element);
        let mut rank = current.as_deref().and_then(|c| priorities.find(c));
        for i in (0..newest).rev() {
            let candidate = lookup_text(&docs[i], element);
            if let (Some(cur), Some(cand)) = (&current, &candidate) {
                if !cur.eq_ignore_ascii_case(cand) {
                    let cand_rank = priorities.find(cand.as_str());
                    // Option orders None below every Some, as stock's NULL pointer.
                    if cand_rank > rank {
                        chosen = i;
                        rank = cand_rank;
                        current = candidate;
                    }
                }
            }
        }
    }
    Some(docs[chosen].input_text().as_bytes().to_vec())
}

/// The content of the first child of the first element named `element` (stock looks at the
/// element's first child node only); None if there is no such element or it is empty.
fn lookup_text(doc: &Document<'_>, element: &str) -> Option<String> {
    let elem = doc
        .root_element()
        .descendants()
        .find(|n| name_is(*n, element))?;
    let first = elem.first_child()?;
    Some(match first.node_type() {
        NodeType::Element => text_content(first),
        NodeType::PI => first.pi().and_then(|p| p.value).unwrap_or("").to_owned(),
        _ => first.text().unwrap_or("").to_owned(),
    })
}

// ---------------------------------------------------------------------------------------------
// Dummy body

/// `force_dummy_presence`: an open, "Available" PIDF for `entity`, the presentity's full URI
/// (stock writes only its user part, which is not a URI). A character XML cannot carry (a
/// control character) is written as U+FFFD, so the body always parses.
pub fn dummy(entity: &str) -> Vec<u8> {
    let mut escaped = String::with_capacity(entity.len());
    let entity: Cow<'_, str> = if entity.chars().all(is_xml_char) {
        Cow::Borrowed(entity)
    } else {
        Cow::Owned(entity.chars().map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' }).collect())
    };
    escape_attr(&entity, &mut escaped);
    format!(
        "{XML_DECL}<presence xmlns=\"{PIDF_NS}\" \
xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" \
xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" \
xmlns:c=\"urn:ietf:params:xml:ns:pidf:cipid\" entity=\"{escaped}\">\n  \
<tuple id=\"{DUMMY_TUPLE_ID}\">\n    <status>\n      <basic>open</basic>\n    </status>\n  </tuple>\n  \
<note>Available</note>\n  \
<dm:person id=\"1\">\n    <rpid:activities/>\n    <dm:note>Available</dm:note>\n  </dm:person>\n\
</presence>\n"
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Transformations

/// What a provide-* permission absent from the matching rule means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingProvide {
    /// Elements of that kind are left as they are (stock: only the provide-* elements present
    /// are applied).
    #[default]
    Untouched,
    /// Nothing of that kind is provided (RFC 5025 / RFC 4745: an absent permission grants
    /// nothing).
    NotProvided,
}

/// Applies the pres-rules transformations (RFC 5025 §3.2) as stock does: of the document
/// element's `<tuple>`, `<device>` and `<person>` children, removes those the matching
/// `provide-services`, `provide-devices` and `provide-persons` permission does not provide,
/// and removes the elements named X wherever they are for each boolean `provide-X` that is
/// false. An absent permission leaves its kind untouched (see [`transform_with`] for RFC
/// 5025's reading). `all_attributes` is not looked at: like stock, there is no attribute
/// filtering beyond the false `provide-X` permissions.
pub fn transform(body: &[u8], t: &Transformations) -> Result<Vec<u8>, PidfError> {
    transform_with(body, t, MissingProvide::Untouched)
}

/// [`transform`] with a choice of what an absent `provide-services` / `provide-devices` /
/// `provide-persons` permission means.
///
/// An element is provided by `Provide::All`, never by `Provide::None`, and by
/// `Provide::Some(selectors)` when one selector matches it: `Class` its `class` child's text,
/// `DeviceId` its `deviceID` child's text, `OccurrenceId` its `id` attribute, `ServiceUri` its
/// `contact` child's text, `ServiceUriScheme` the part of that text before the first `:`. All
/// comparisons are ASCII case-insensitive as stock (texts trimmed of XML whitespace). A
/// `provide-X` that is false removes every element below the document element whose local
/// name is X (ASCII case-insensitively; stock removes the first one found and the document
/// element's children of that name). An element removed takes the whitespace before it along.
pub fn transform_with(
    body: &[u8],
    t: &Transformations,
    missing: MissingProvide,
) -> Result<Vec<u8>, PidfError> {
    let text = prepare(body)?;
    let doc = parse(&text)?;
    let root = pidf_root(&doc)?;
    let kinds = [
        ("tuple", &t.services),
        ("device", &t.devices),
        ("person", &t.persons),
    ];

    let mut removals: Vec<Range<usize>> = Vec::new();
    for child in root.children().filter(Node::is_element) {
        let Some((_, provide)) = kinds.iter().find(|(name, _)| name_is(child, name)) else {
            continue;
        };
        let keep = match provide {
            None => missing == MissingProvide::Untouched,
            Some(Provide::All) => true,
            Some(Provide::None) => false,
            Some(Provide::Some(selectors)) => selectors.iter().any(|s| selects(child, s)),
        };
        if !keep {
            removals.push(removal_range(child));
        }
    }
    let withheld: Vec<&str> = t
        .attributes
        .iter()
        .filter(|(_, provided)| !provided)
        .map(|(name, _)| name.as_str())
        .collect();
    if !withheld.is_empty() {
        for n in root.descendants().skip(1) {
            if withheld.iter().any(|w| name_is(n, w)) {
                removals.push(removal_range(n));
            }
        }
    }

    if removals.is_empty() {
        return Ok(text.into_owned().into_bytes());
    }
    // Ranges may nest (a withheld element inside a removed tuple): keep the outermost.
    removals.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for r in removals {
        if r.start < pos {
            continue;
        }
        out.push_str(&text[pos..r.start]);
        pos = r.end;
    }
    out.push_str(&text[pos..]);
    Ok(out.into_bytes())
}

/// The bytes of `elem` with the whitespace-only text before it (its indentation).
fn removal_range(elem: Node<'_, '_>) -> Range<usize> {
    let mut range = elem.range();
    if let Some(prev) = elem.prev_sibling().filter(Node::is_text) {
        if prev.text().is_some_and(|s| s.bytes().all(is_space)) {
            range.start = prev.range().start;
        }
    }
    range
}

fn selects(elem: Node<'_, '_>, selector: &Selector) -> bool {
    let same = |found: Option<String>, wanted: &str| {
        found.is_some_and(|f| {
            f.trim_matches(is_space_char)
                .eq_ignore_ascii_case(wanted.trim_matches(is_space_char))
        })
    };
    match selector {
        Selector::Class(c) => same(child_text(elem, "class"), c),
        Selector::DeviceId(d) => same(child_text(elem, "deviceID"), d),
        Selector::OccurrenceId(o) => own_id(elem).is_some_and(|id| id.eq_ignore_ascii_case(o)),
        Selector::ServiceUri(u) => same(child_text(elem, "contact"), u),
        Selector::ServiceUriScheme(s) => {
            let scheme = child_text(elem, "contact").and_then(|c| {
                c.trim_matches(is_space_char)
                    .split_once(':')
                    .map(|(scheme, _)| scheme.to_owned())
            });
            same(scheme, s)
        }
    }
}

/// The text of the first element named `name` inside `elem` (not `elem` itself).
fn child_text(elem: Node<'_, '_>, name: &str) -> Option<String> {
    elem.descendants()
        .skip(1)
        .find(|n| name_is(*n, name))
        .map(text_content)
}

// ---------------------------------------------------------------------------------------------
// Script checks

/// `pres_check_basic`: 1 if a tuple's `<basic>` text starts, ASCII case-insensitively, with
/// `status`, else -1 (also for a body that does not parse or has no tuple).
///
/// As stock: the tuples looked at are the first `<tuple>` of the document and its following
/// siblings named `tuple`; for each, `<basic>` is searched from the tuple onwards (its own
/// subtree, then its following siblings' subtrees), and when none is found the walk stops with
/// the result so far. An empty `status` matches any `<basic>`.
pub fn check_basic(body: &[u8], status: &str) -> i32 {
    let Ok(text) = as_text(body) else { return -1 };
    let Ok(doc) = parse(text) else { return -1 };
    let Some(first) = doc.descendants().find(|n| name_is(*n, "tuple")) else {
        return -1;
    };
    let mut result = -1;
    for tuple in first.next_siblings().filter(|n| name_is(*n, "tuple")) {
        let Some(basic) = find_onwards(tuple, "basic") else {
            break;
        };
        let value = text_content(basic);
        let (v, s) = (value.as_bytes(), status.as_bytes());
        if v.len() >= s.len() && v[..s.len()].eq_ignore_ascii_case(s) {
            result = 1;
        }
    }
    result
}

/// `pres_check_activities`: 1 if a `<person>` has `<activities>` containing an element named
/// `activity` (ASCII case-insensitively, any namespace); -2 if there is no person, or the walk
/// meets a person without (non-empty) activities before any match; -1 otherwise (also for a
/// body that does not parse).
///
/// As stock: the persons looked at are the first `<person>` of the document and its following
/// siblings named `person`; `<activities>` and then the activity are searched from the person
/// (resp. the activities element) onwards, following siblings included; an `<activities>`
/// without any child node (whitespace counts as one) stops the walk, as does a person for which
/// no `<activities>` is found.
pub fn check_activities(body: &[u8], activity: &str) -> i32 {
    let Ok(text) = as_text(body) else { return -1 };
    let Ok(doc) = parse(text) else { return -1 };
    let Some(first) = doc.descendants().find(|n| name_is(*n, "person")) else {
        return -2;
    };
    let mut result = -1;
    for person in first.next_siblings().filter(|n| name_is(*n, "person")) {
        let activities = find_onwards(person, "activities");
        let Some(activities) = activities.filter(|a| a.has_children()) else {
            if result <= 0 {
                result = -2;
            }
            break;
        };
        if find_onwards(activities, activity).is_some() {
            result = 1;
        }
    }
    result
}

/// The first element named `name` in `node`'s subtree or, failing that, in the subtrees of
/// its following siblings (libxml-style search used throughout stock presence_xml).
fn find_onwards<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.next_siblings()
        .find_map(|s| s.descendants().find(|n| name_is(*n, name)))
}

// ---------------------------------------------------------------------------------------------
// Text and tree helpers



/// The body as UTF-8 text that contains no DOCTYPE, so that fragments can be copied out of it:
/// a body with one is rewritten from its parsed tree (entities expanded).
fn prepare(body: &[u8]) -> Result<Cow<'_, str>, PidfError> {
    let text = as_text(body)?;
    if text.contains("<!DOCTYPE") {
        Ok(Cow::Owned(without_dtd(text)?))
    } else {
        Ok(Cow::Borrowed(text))
    }
}

fn pidf_root<'a, 'i>(doc: &'a Document<'i>) -> Result<Node<'a, 'i>, PidfError> {
    let root = doc.root_element();
    let name = root.tag_name();
    if name.name() == "presence" && name.namespace() == Some(PIDF_NS) {
        Ok(root)
    } else {
        Err(err(format!(
            "document element is <{}> in namespace {:?}, not <presence> in {PIDF_NS}",
            name.name(),
            name.namespace().unwrap_or("")
        )))
    }
}



/// All text below `node`, in document order (libxml's node content).
fn text_content(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_space_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// A start tag as written: qualified name, attributes with raw values, where it ends.
struct StartTag<'t> {
    qname: &'t str,
    /// Just after the qualified name: where attributes can be inserted.
    name_end: usize,
    /// Just after the closing `>`.
    end: usize,
    self_closing: bool,
    attrs: Vec<RawAttr<'t>>,
}

struct RawAttr<'t> {
    name: &'t str,
    /// As written between the quotes (references not expanded).
    value: &'t str,
    quote: char,
}

/// Reads the start tag at `at` of a text already known to be well-formed.
fn start_tag(text: &str, at: usize) -> Result<StartTag<'_>, PidfError> {
    let bad = || err(format!("cannot read the start tag at byte {at}"));
    let b = text.as_bytes();
    if b.get(at) != Some(&b'<') {
        return Err(bad());
    }
    let mut i = at + 1;
    while i < b.len() && !is_space(b[i]) && b[i] != b'>' && b[i] != b'/' {
        i += 1;
    }
    let qname = &text[at + 1..i];
    let name_end = i;
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        match b.get(i) {
            Some(b'>') => {
                return Ok(StartTag {
                    qname,
                    name_end,
                    end: i + 1,
                    self_closing: false,
                    attrs,
                })
            }
            Some(b'/') if b.get(i + 1) == Some(&b'>') => {
                return Ok(StartTag {
                    qname,
                    name_end,
                    end: i + 2,
                    self_closing: true,
                    attrs,
                })
            }
            Some(_) => {
                let name_start = i;
                while i < b.len() && !is_space(b[i]) && b[i] != b'=' {
                    i += 1;
                }
                let name = &text[name_start..i];
                while i < b.len() && is_space(b[i]) {
                    i += 1;
                }
                if b.get(i) != Some(&b'=') {
                    return Err(bad());
                }
                i += 1;
                while i < b.len() && is_space(b[i]) {
                    i += 1;
                }
                let quote = match b.get(i) {
                    Some(&q @ (b'"' | b'\'')) => q,
                    _ => return Err(bad()),
                };
                let value_start = i + 1;
                let len = b[value_start..]
                    .iter()
                    .position(|&c| c == quote)
                    .ok_or_else(bad)?;
                attrs.push(RawAttr {
                    name,
                    value: &text[value_start..value_start + len],
                    quote: quote as char,
                });
                i = value_start + len + 1;
            }
            None => return Err(bad()),
        }
    }
}

/// Where the end tag of a (not self-closing) element starts.
fn end_tag_start(text: &str, elem: Node<'_, '_>) -> usize {
    let r = elem.range();
    r.start + text[r.clone()].rfind("</").unwrap_or(r.len())
}

/// Writes the start tag read as `tag` at `at` with `extra` attributes inserted after the name,
/// always as an opening tag (a self-closing one loses its `/`).
fn push_open_tag(out: &mut String, text: &str, at: usize, tag: &StartTag<'_>, extra: &str) {
    out.push_str(&text[at..tag.name_end]);
    out.push_str(extra);
    if tag.self_closing {
        out.push_str(&text[tag.name_end..tag.end - 2]);
        out.push('>');
    } else {
        out.push_str(&text[tag.name_end..tag.end]);
    }
}

fn push_end_tag(out: &mut String, qname: &str) {
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
}

/// A namespace declaration as written: prefix (None: the default namespace) and raw value.
#[derive(Clone, Copy)]
struct Decl<'t> {
    prefix: Option<&'t str>,
    value: &'t str,
    quote: char,
}

fn ns_decls<'t>(tag: &StartTag<'t>) -> Vec<Decl<'t>> {
    tag.attrs
        .iter()
        .filter_map(|a| {
            let prefix = if a.name == "xmlns" {
                None
            } else {
                Some(a.name.strip_prefix("xmlns:")?)
            };
            Some(Decl {
                prefix,
                value: a.value,
                quote: a.quote,
            })
        })
        .collect()
}

/// The declarations `elem` inherits from its ancestor elements, the nearest one winning.
fn inherited_decls<'t>(text: &'t str, elem: Node<'_, 't>) -> Result<Vec<Decl<'t>>, PidfError> {
    let mut out: Vec<Decl<'t>> = Vec::new();
    for anc in elem.ancestors().skip(1).filter(Node::is_element) {
        for d in ns_decls(&start_tag(text, anc.range().start)?) {
            if !out.iter().any(|o| o.prefix == d.prefix) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// The namespaces the names of an element and its descendants are in.
struct UsedNamespaces<'a> {
    uris: HashSet<&'a str>,
    /// Some element is in no namespace (and so needs the default namespace undeclared).
    none: bool,
}

fn used_namespaces<'a>(elem: Node<'a, '_>) -> UsedNamespaces<'a> {
    let mut used = UsedNamespaces {
        uris: HashSet::new(),
        none: false,
    };
    for n in elem.descendants().filter(Node::is_element) {
        match n.tag_name().namespace().filter(|u| !u.is_empty()) {
            Some(uri) => {
                used.uris.insert(uri);
            }
            None => used.none = true,
        }
        used.uris
            .extend(n.attributes().filter_map(|a| a.namespace()));
    }
    used
}

/// The declarations (as attribute text) an element must carry so that the bindings it inherited
/// (`inherited`) and uses (`used`) hold where the declarations `target` are in force instead;
/// `own` are those it makes itself. Only namespaces of element and attribute names count (as
/// libxml's reconciliation): prefixes used only inside text or attribute values are not carried.
fn carried(
    inherited: &[Decl<'_>],
    own: &[Decl<'_>],
    target: &[Decl<'_>],
    used: &UsedNamespaces<'_>,
) -> String {
    fn declares<'s, 't>(set: &'s [Decl<'t>], p: Option<&str>) -> Option<&'s Decl<'t>> {
        set.iter().find(|d| d.prefix == p)
    }
    let mut out = String::new();
    for d in inherited {
        if declares(own, d.prefix).is_some() {
            continue;
        }
        if declares(target, d.prefix).is_some_and(|t| t.value == d.value) {
            continue;
        }
        // A raw value with a reference or a white-space character other than the space may
        // differ from the URI it stands for (attribute-value normalisation turns tab, line feed
        // and carriage return into spaces): keep it.
        if !d.value.contains(['&', '\t', '\n', '\r']) && !used.uris.contains(d.value) {
            continue;
        }
        out.push(' ');
        match d.prefix {
            None => out.push_str("xmlns"),
            Some(p) => {
                out.push_str("xmlns:");
                out.push_str(p);
            }
        }
        out.push('=');
        out.push(d.quote);
        out.push_str(d.value);
        out.push(d.quote);
    }
    // Elements in no namespace that would fall under the target's default one.
    if used.none
        && declares(own, None).is_none()
        && declares(inherited, None).is_none_or(|d| d.value.is_empty())
        && declares(target, None).is_some_and(|t| !t.value.is_empty())
        && !out.contains(" xmlns=")
    {
        out.push_str(" xmlns=\"\"");
    }
    out
}

/// The document rewritten from its tree without the DOCTYPE (entities expanded), behind an XML
/// declaration; iterative, so any nesting depth roxmltree accepts is fine.
fn without_dtd(text: &str) -> Result<String, PidfError> {
    let doc = parse(text)?;
    let mut out = String::with_capacity(text.len());
    out.push_str(XML_DECL);
    // Elements opened and not yet closed, innermost last.
    let mut open: Vec<Node<'_, '_>> = Vec::new();
    let close = |n: Node<'_, '_>, out: &mut String| -> Result<(), PidfError> {
        push_end_tag(out, start_tag(text, n.range().start)?.qname);
        if n.parent().is_some_and(|p| p.is_root()) {
            out.push('\n');
        }
        Ok(())
    };
    for n in doc.root().descendants().skip(1) {
        while let Some(&top) = open.last() {
            if Some(top) == n.parent() {
                break;
            }
            close(top, &mut out)?;
            open.pop();
        }
        match n.node_type() {
            NodeType::Element => {
                let tag = start_tag(text, n.range().start)?;
                out.push('<');
                out.push_str(tag.qname);
                for d in ns_decls(&tag) {
                    if d.prefix == Some("xml") {
                        continue;
                    }
                    let uri = n.lookup_namespace_uri(d.prefix).unwrap_or("");
                    match d.prefix {
                        None => out.push_str(" xmlns=\""),
                        Some(p) => {
                            out.push_str(" xmlns:");
                            out.push_str(p);
                            out.push_str("=\"");
                        }
                    }
                    escape_attr(uri, &mut out);
                    out.push('"');
                }
                for a in n.attributes() {
                    out.push(' ');
                    out.push_str(&text[a.range_qname()]);
                    out.push_str("=\"");
                    escape_attr(a.value(), &mut out);
                    out.push('"');
                }
                if n.has_children() {
                    out.push('>');
                    open.push(n);
                    continue;
                }
                out.push_str("/>");
            }
            NodeType::Text => escape_text(n.text().unwrap_or(""), &mut out),
            NodeType::Comment => {
                out.push_str("<!--");
                out.push_str(n.text().unwrap_or(""));
                out.push_str("-->");
            }
            NodeType::PI => {
                if let Some(pi) = n.pi() {
                    out.push_str("<?");
                    out.push_str(pi.target);
                    if let Some(v) = pi.value {
                        out.push(' ');
                        out.push_str(v);
                    }
                    out.push_str("?>");
                }
            }
            NodeType::Root => {}
        }
        // Top-level nodes (document element, comments, PIs) one a line.
        if n.parent().is_some_and(|p| p.is_root()) {
            out.push('\n');
        }
    }
    while let Some(top) = open.pop() {
        close(top, &mut out)?;
    }
    Ok(out)
}


fn escape_text(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_tells_pidf_other_xml_and_garbage_apart() {
        assert_eq!(classify(br#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>"#), Publication::Pidf);
        assert!(matches!(classify(b"<foo/>"), Publication::NotPidf(_)));
        assert!(matches!(classify(b"<foo>"), Publication::NotXml(_)));
        assert!(matches!(classify(b"\xff<foo/>"), Publication::NotXml(_)));
    }

    #[test]
    fn an_xml_declaration_after_the_start_is_not_xml() {
        // Found by the fuzz driver: roxmltree read `<?xml<` as a processing instruction, so the
        // body counted as PIDF but, rewritten without its DOCTYPE behind a declaration of its
        // own, no longer parsed and aggregation had nothing to use.
        let doctype = "<?xml< version=\"1.0\"?>\n<!DOCTYPE presence [<!ENTITY e \"x\">]>\n\
<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"/>";
        assert!(matches!(classify(doctype.as_bytes()), Publication::NotXml(_)));
        assert_eq!(aggregate(&[doctype.as_bytes()], None), None);
        let inside = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><?xml x?></presence>";
        assert!(matches!(classify(inside.as_bytes()), Publication::NotXml(_)));
        let other = "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><?xml-stylesheet x?></presence>";
        assert_eq!(classify(other.as_bytes()), Publication::Pidf);
    }

    #[test]
    fn a_control_character_in_an_entity_value_is_not_xml() {
        // Found by the fuzz driver: the DTD's entity values were not checked, so a NUL reached
        // the entity attribute; the body counted as PIDF, but rewritten without its DOCTYPE it
        // no longer parsed and aggregation had nothing to use.
        let body = "<!DOCTYPE presence [<!ENTITY who \"sip:a@e\u{0}x\">]>\
<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"&who;\"/>";
        assert!(matches!(classify(body.as_bytes()), Publication::NotXml(_)));
        assert_eq!(aggregate(&[body.as_bytes()], None), None);
        let fine = body.replace('\u{0}', "");
        assert_eq!(classify(fine.as_bytes()), Publication::Pidf);
        assert!(aggregate(&[fine.as_bytes()], None).is_some());
    }

    #[test]
    fn a_second_byte_order_mark_is_not_xml() {
        // Found by the fuzz driver: the parser skipped a second mark, so a transformed body
        // kept one and transforming it again took it away.
        let one = "\u{feff}<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"/>";
        assert_eq!(classify(one.as_bytes()), Publication::Pidf);
        let two = format!("\u{feff}{one}");
        assert!(matches!(classify(two.as_bytes()), Publication::NotXml(_)));
        assert!(transform(two.as_bytes(), &Transformations::default()).is_err());
        assert_eq!(aggregate(&[two.as_bytes()], None), None);
    }
    use crate::rules::{Provide, Selector, Transformations};

    const DM: &str = "urn:ietf:params:xml:ns:pidf:data-model";
    const RPID: &str = "urn:ietf:params:xml:ns:pidf:rpid";

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    /// A publication with one tuple, a note and a person, namespaces declared on the root.
    fn publication(tuple_id: &str, basic: &str, note: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<presence xmlns=\"{PIDF_NS}\" xmlns:dm=\"{DM}\" xmlns:rpid=\"{RPID}\" entity=\"sip:alice@example.com\">\n  \
<tuple id=\"{tuple_id}\">\n    <status><basic>{basic}</basic></status>\n    \
<contact>sip:alice@10.0.0.1</contact>\n  </tuple>\n  \
<note>{note}</note>\n  \
<dm:person id=\"p-{tuple_id}\">\n    <rpid:activities><rpid:busy/></rpid:activities>\n  </dm:person>\n\
</presence>\n"
        )
    }

    /// Re-parses an output: it must be well-formed.
    fn reparse(body: &[u8]) -> Document<'_> {
        Document::parse(s(body)).unwrap_or_else(|e| panic!("not well-formed ({e}):\n{}", s(body)))
    }

    /// The ids of the root's `{PIDF}tuple` children, in order.
    fn tuples(body: &[u8]) -> Vec<String> {
        let doc = reparse(body);
        let root = doc.root_element();
        assert_eq!(root.tag_name().namespace(), Some(PIDF_NS));
        root.children()
            .filter(|n| n.tag_name().name() == "tuple")
            .map(|n| {
                assert_eq!(n.tag_name().namespace(), Some(PIDF_NS), "tuple namespace");
                n.attribute("id").unwrap().to_owned()
            })
            .collect()
    }

    fn basics(body: &[u8]) -> Vec<String> {
        let doc = reparse(body);
        let out = doc
            .descendants()
            .filter(|n| n.has_tag_name((PIDF_NS, "basic")))
            .map(|n| n.text().unwrap_or("").to_owned())
            .collect();
        out
    }

    fn agg(bodies: &[String], off: Option<usize>) -> Option<Vec<u8>> {
        let refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
        aggregate(&refs, off)
    }

    // --- publish check --------------------------------------------------------------------

    #[test]
    fn publication_check() {
        assert_eq!(
            check_publication(publication("t1", "open", "x").as_bytes()),
            Ok(())
        );
        assert!(check_publication(b"<presence xmlns='urn:ietf:params:xml:ns:pidf'/>").is_ok());
        // Well-formed but not PIDF: refused, though the lenient check accepts it.
        for doc in [
            &b"<presence entity='sip:a@b'/>"[..],
            b"<presence xmlns='urn:example'/>",
            b"<dialog-info xmlns='urn:ietf:params:xml:ns:dialog-info'/>",
            b"<p:Presence xmlns:p='urn:ietf:params:xml:ns:pidf'/>",
        ] {
            assert!(check_publication(doc).is_err(), "{}", s(doc));
            assert!(is_well_formed(doc));
        }
        for doc in [
            &b""[..],
            b"<presence",
            b"<a></b>",
            b"<p:presence/>",
            b"\xff\xfe<a/>",
        ] {
            assert!(check_publication(doc).is_err());
            assert!(!is_well_formed(doc));
        }
        let e = check_publication(b"<a/>").unwrap_err();
        assert!(e.to_string().contains("<a>"), "{e}");
        // A prefixed root in the PIDF namespace is PIDF.
        assert!(check_publication(b"<p:presence xmlns:p='urn:ietf:params:xml:ns:pidf'/>").is_ok());
        // BOM and DOCTYPE are accepted as libxml does.
        assert!(check_publication(
            "\u{feff}<presence xmlns='urn:ietf:params:xml:ns:pidf'/>".as_bytes()
        )
        .is_ok());
        assert!(check_publication(
            b"<!DOCTYPE presence><presence xmlns='urn:ietf:params:xml:ns:pidf'/>"
        )
        .is_ok());
    }

    // --- aggregation ----------------------------------------------------------------------

    #[test]
    fn aggregate_nothing() {
        assert_eq!(aggregate(&[], None), None);
        assert_eq!(aggregate(&[b"<a/>", b"garbage"], None), None);
        assert_eq!(aggregate(&[b"<a/>"], Some(0)), None);
    }

    #[test]
    fn aggregate_one_body_is_unchanged() {
        let p = publication("t1", "open", "Available");
        assert_eq!(s(&agg(std::slice::from_ref(&p), None).unwrap()), p);
        // off_index out of range is ignored.
        assert_eq!(s(&agg(std::slice::from_ref(&p), Some(3)).unwrap()), p);
    }

    #[test]
    fn aggregate_two_bodies() {
        let old = publication("t1", "open", "Old");
        let new = publication("t2", "closed", "New");
        let out = agg(&[old, new.clone()], None).unwrap();
        // The newest is the base, copied as is up to its end tag; the older one's children follow.
        assert!(s(&out).starts_with(&new[..new.rfind("</presence>").unwrap()]));
        assert_eq!(tuples(&out), ["t2", "t1"]);
        assert_eq!(basics(&out), ["closed", "open"]);
        let doc = reparse(&out);
        let persons: Vec<_> = doc
            .root_element()
            .children()
            .filter(|n| n.has_tag_name((DM, "person")))
            .map(|n| n.attribute("id").unwrap())
            .collect();
        assert_eq!(persons, ["p-t2", "p-t1"]);
        // Identical declarations are not repeated on copied elements.
        assert!(!s(&out).contains("<tuple xmlns"), "{}", s(&out));
    }

    #[test]
    fn aggregate_ten_bodies() {
        let bodies: Vec<String> = (0..10)
            .map(|i| publication(&format!("t{i}"), "open", &format!("n{i}")))
            .collect();
        let out = agg(&bodies, None).unwrap();
        let expected: Vec<String> = (0..10).rev().map(|i| format!("t{i}")).collect();
        assert_eq!(tuples(&out), expected);
        let doc = reparse(&out);
        let notes: Vec<_> = doc
            .root_element()
            .children()
            .filter(|n| n.has_tag_name((PIDF_NS, "note")))
            .map(|n| n.text().unwrap())
            .collect();
        assert_eq!(
            notes,
            ["n9", "n8", "n7", "n6", "n5", "n4", "n3", "n2", "n1", "n0"]
        );
    }

    #[test]
    fn aggregate_skips_bodies_whose_first_tuple_the_base_has() {
        // Same tuple id (any case) as the base: skipped.
        let bodies = [
            publication("ABC", "open", "oldest"),
            publication("other", "open", "middle"),
            publication("abc", "closed", "newest"),
        ];
        let out = agg(&bodies, None).unwrap();
        assert_eq!(tuples(&out), ["abc", "other"]);
        assert!(!s(&out).contains("oldest"));

        // Appended tuples count too (stock compares with the base root as it grows).
        let bodies = [
            publication("dev", "open", "oldest"),
            publication("dev", "open", "middle"),
            publication("base", "open", "newest"),
        ];
        let out = agg(&bodies, None).unwrap();
        assert_eq!(tuples(&out), ["base", "dev"]);
        assert!(s(&out).contains("middle") && !s(&out).contains("oldest"));

        // Only the first tuple of an older body is looked at; a body without tuples is kept.
        let two = format!(
            "<presence xmlns='{PIDF_NS}' entity='sip:a@b'>\
<tuple id='x'><status><basic>open</basic></status></tuple>\
<tuple id='base'><status><basic>open</basic></status></tuple></presence>"
        );
        let person_only = format!(
            "<presence xmlns='{PIDF_NS}' xmlns:dm='{DM}' entity='sip:a@b'><dm:person id='pp'/></presence>"
        );
        let out = agg(&[person_only, two, publication("base", "open", "n")], None).unwrap();
        assert_eq!(tuples(&out), ["base", "x", "base"]);
        assert!(s(&out).contains("<dm:person id='pp'/>"));

        // A tuple without id never matches (stock gives up on the whole body).
        let no_id = format!(
            "<presence xmlns='{PIDF_NS}' entity='sip:a@b'><tuple><status><basic>open</basic></status></tuple></presence>"
        );
        let out = agg(&[no_id, publication("b", "open", "n")], None).unwrap();
        assert_eq!(
            reparse(&out)
                .descendants()
                .filter(|n| n.has_tag_name((PIDF_NS, "tuple")))
                .count(),
            2
        );
    }

    #[test]
    fn aggregate_skips_bodies_that_are_not_pidf() {
        let bodies = [
            publication("a", "open", "A"),
            "<<not xml".to_owned(),
            "<presence entity='sip:a@b'><tuple id='nons'/></presence>".to_owned(),
            "<dialog-info xmlns='urn:ietf:params:xml:ns:dialog-info'/>".to_owned(),
            String::new(),
            publication("c", "closed", "C"),
        ];
        let mut refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
        refs.insert(2, b"\xc3\x28");
        let out = aggregate(&refs, None).unwrap();
        assert_eq!(tuples(&out), ["c", "a"]);

        // The newest being unusable, the newest usable one is the base.
        let bodies = [
            publication("a", "open", "A"),
            publication("b", "open", "B"),
            "<x".to_owned(),
        ];
        assert_eq!(tuples(&agg(&bodies, None).unwrap()), ["b", "a"]);
    }

    #[test]
    fn aggregate_with_off_index() {
        let bodies = [
            publication("gone", "open", "Bye"),
            publication("here", "open", "Hi"),
        ];
        let out = agg(&bodies, Some(0)).unwrap();
        assert_eq!(tuples(&out), ["here", "gone"]);
        assert_eq!(basics(&out), ["open", "closed"]);
        // The offline form has no note and no person.
        assert!(
            !s(&out).contains("Bye") && !s(&out).contains("p-gone"),
            "{}",
            s(&out)
        );

        // The newest being removed: its offline form is the base.
        let out = agg(&bodies, Some(1)).unwrap();
        assert_eq!(tuples(&out), ["here", "gone"]);
        assert_eq!(basics(&out), ["closed", "open"]);

        // Same tuple id as the base: the offline form is skipped like any other body.
        let bodies = [
            publication("same", "open", "A"),
            publication("same", "open", "B"),
        ];
        let out = agg(&bodies, Some(0)).unwrap();
        assert_eq!(basics(&out), ["open"]);

        // A removed body whose offline form cannot be made is skipped.
        let bodies = ["<x/>".to_owned(), publication("b", "open", "B")];
        assert_eq!(tuples(&agg(&bodies, Some(0)).unwrap()), ["b"]);
        // The bodies themselves are not touched.
        assert!(bodies[1].contains("<basic>open</basic>"));
    }

    #[test]
    fn aggregate_carries_namespaces() {
        // The base declares only the default namespace; the older body declares dm and rpid on
        // its root, binds the PIDF namespace to a prefix, and has a no-namespace extension.
        let base = format!(
            "<presence xmlns='{PIDF_NS}' entity='sip:a@b'><tuple id='b'><status><basic>open</basic></status></tuple></presence>"
        );
        let older = format!(
            "<p:presence xmlns:p='{PIDF_NS}' xmlns:dm=\"{DM}\" xmlns:rpid='{RPID}' entity='sip:a@b'>\n\
<p:tuple id='o'><p:status><p:basic>open</p:basic></p:status></p:tuple>\n\
<dm:person id='x'><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>\n\
<ext a='1'><inner/></ext>\n\
<dm:device id='d' xmlns:dm='{DM}'><dm:deviceID>urn:x</dm:deviceID></dm:device>\n\
</p:presence>"
        );
        let out = agg(&[older, base], None).unwrap();
        let text = s(&out);
        let doc = reparse(&out);
        let root = doc.root_element();
        let names: Vec<(Option<&str>, &str)> = root
            .children()
            .filter(|n| n.is_element())
            .map(|n| {
                (
                    n.tag_name().namespace().filter(|u| !u.is_empty()),
                    n.tag_name().name(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                (Some(PIDF_NS), "tuple"),
                (Some(PIDF_NS), "tuple"),
                (Some(DM), "person"),
                (None, "ext"),
                (Some(DM), "device"),
            ]
        );
        assert!(doc
            .descendants()
            .any(|n| n.has_tag_name((RPID, "on-the-phone"))));
        assert!(doc.descendants().any(|n| n.tag_name().name() == "inner"
            && n.tag_name().namespace().is_none_or(str::is_empty)));
        // The quote style of the source declaration is kept; the device's own declaration is
        // not doubled; the no-namespace element undeclares the base's default namespace.
        // Only the namespaces an element's subtree uses are declared on it, in the source's
        // quote style, and none it declares itself.
        assert!(
            text.contains(&format!("<p:tuple xmlns:p='{PIDF_NS}' id='o'>")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "<dm:person xmlns:dm=\"{DM}\" xmlns:rpid='{RPID}' id='x'>"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("<dm:device id='d' xmlns:dm='{DM}'>")),
            "{text}"
        );
        // The no-namespace element undeclares the base's default namespace.
        assert!(text.contains("<ext xmlns=\"\" a='1'>"), "{text}");

        // A prefix bound differently in the base is rebound on the copied element.
        let base = format!("<presence xmlns='{PIDF_NS}' xmlns:dm='urn:other' entity='sip:a@b'/>");
        let older = publication("o", "open", "n");
        let out = agg(&[older, base], None).unwrap();
        let doc = reparse(&out);
        assert!(doc
            .root_element()
            .children()
            .any(|n| n.has_tag_name((DM, "person"))));
        assert_eq!(tuples(&out), ["o"]);
    }

    #[test]
    fn aggregate_carries_a_namespace_whose_raw_value_normalisation_changes() {
        // Found by fuzzing: the older body binds dm to a value holding a carriage return, which
        // stands for a space in the URI; the base binds dm to the data model. The copied device
        // must keep the older body's namespace, not fall under the base's dm.
        let base = format!("<presence xmlns='{PIDF_NS}' xmlns:dm='{DM}' entity='sip:a@b'/>");
        for odd in ["\rurn:x", "urn:\tx", "urn:x\n"] {
            let older = format!(
                "<presence xmlns='{PIDF_NS}' xmlns:dm=\"{odd}\" entity='sip:a@b'><dm:device id='d'><dm:deviceID/></dm:device></presence>"
            );
            let out = agg(&[older, base.clone()], None).unwrap();
            let doc = reparse(&out);
            let uri = odd.replace(['\r', '\t', '\n'], " ");
            let device = doc.descendants().find(|n| n.tag_name().name() == "device").unwrap();
            assert_eq!(device.tag_name().namespace(), Some(uri.as_str()), "{}", s(&out));
            assert!(doc.descendants().any(|n| n.has_tag_name((uri.as_str(), "deviceID"))), "{}", s(&out));
        }
    }

    #[test]
    fn aggregate_carries_default_namespace_and_attribute_prefixes() {
        // The base binds PIDF to a prefix and has no default namespace; the older body's
        // unprefixed elements get their default namespace, and a prefixed attribute its prefix.
        let base = format!(
            "<p:presence xmlns:p='{PIDF_NS}' entity='sip:a@b'><p:tuple id='b'><p:status><p:basic>open</p:basic></p:status></p:tuple></p:presence>"
        );
        let older = format!(
            "<presence xmlns='{PIDF_NS}' xmlns:x='urn:x' xmlns:unused='urn:u' entity='sip:a@b'>\
<tuple id='o' x:flag='1'><status><basic>open</basic></status></tuple></presence>"
        );
        let out = agg(&[older, base], None).unwrap();
        assert_eq!(tuples(&out), ["b", "o"]);
        assert!(
            s(&out).contains(&format!("<tuple xmlns='{PIDF_NS}' xmlns:x='urn:x' id='o'")),
            "{}",
            s(&out)
        );
        let doc = reparse(&out);
        let flagged = doc
            .descendants()
            .find(|n| n.attribute(("urn:x", "flag")).is_some());
        assert_eq!(flagged.map(|n| n.attribute("id")), Some(Some("o")));
    }

    #[test]
    fn aggregate_into_self_closing_root() {
        let base = format!("<presence xmlns='{PIDF_NS}' entity='sip:a@b' />\n");
        let out = agg(&[publication("o", "open", "n"), base], None).unwrap();
        assert_eq!(tuples(&out), ["o"]);
        assert!(s(&out).ends_with("</presence>\n"));
    }

    #[test]
    fn aggregate_expands_entities_of_a_dtd() {
        let older = format!(
            "<?xml version='1.0'?>\n<!DOCTYPE presence [<!ENTITY who \"Bob &amp; co\"><!ENTITY t \"<tuple id='e'><status><basic>open</basic></status></tuple>\">]>\n\
<presence xmlns='{PIDF_NS}' entity='sip:a@b'>&t;<note>&who;</note><!-- c --></presence>"
        );
        let out = agg(&[older.clone(), publication("b", "open", "n")], None).unwrap();
        assert_eq!(tuples(&out), ["b", "e"]);
        let doc = reparse(&out);
        assert!(doc.descendants().any(|n| n.text() == Some("Bob & co")));
        // As the base too, and in its offline form.
        let out = agg(&[publication("b", "open", "n"), older.clone()], Some(1)).unwrap();
        assert_eq!(tuples(&out), ["e", "b"]);
        assert_eq!(basics(&out), ["closed", "open"]);
        assert!(!s(&out).contains("DOCTYPE"));
    }

    #[test]
    fn aggregate_fifty_bodies_quickly() {
        // 50 publications of about 3 KB each.
        let padding: String = (0..40)
            .map(|i| format!("  <dm:person id='pad{i}-ID'><rpid:activities><rpid:busy/></rpid:activities><dm:note>padding {i}</dm:note></dm:person>\n"))
            .collect();
        let bodies: Vec<String> = (0..50)
            .map(|i| {
                let p = publication(&format!("t{i}"), "open", &format!("n{i}"));
                p.replace(
                    "</presence>",
                    &(padding.replace("ID", &i.to_string()) + "</presence>"),
                )
            })
            .collect();
        assert!(bodies[0].len() > 2500, "{}", bodies[0].len());
        let refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
        let started = std::time::Instant::now();
        let out = aggregate(&refs, Some(7)).unwrap();
        let elapsed = started.elapsed();
        assert_eq!(tuples(&out).len(), 50);
        assert_eq!(basics(&out).iter().filter(|b| *b == "closed").count(), 1);
        assert!(
            elapsed < std::time::Duration::from_millis(500),
            "{elapsed:?}"
        );
        eprintln!(
            "50 bodies of {} bytes aggregated in {elapsed:?}",
            bodies[0].len()
        );
        let started = std::time::Instant::now();
        single_body(&refs, "note", "Available|Ringing|On the Phone").unwrap();
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
    }

    // --- offline form ---------------------------------------------------------------------

    #[test]
    fn offline_form() {
        let p = publication("t1", "open", "Hi");
        let out = offline(p.as_bytes()).unwrap();
        assert_eq!(
            s(&out),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<presence xmlns=\"{PIDF_NS}\" xmlns:dm=\"{DM}\" xmlns:rpid=\"{RPID}\" entity=\"sip:alice@example.com\">\
<tuple id=\"t1\"><status><basic>closed</basic></status></tuple></presence>\n"
            )
        );
        check_publication(&out).unwrap();
    }

    #[test]
    fn offline_supplies_what_is_missing() {
        let cases = [
            // no status
            format!("<presence xmlns='{PIDF_NS}' entity='e'><tuple id='a'><contact>sip:x</contact></tuple></presence>"),
            // self-closing tuple
            format!("<presence xmlns='{PIDF_NS}' entity='e'><tuple id='a' /></presence>"),
            // status without basic
            format!("<presence xmlns='{PIDF_NS}' entity='e'><tuple id='a'><status><x:geo xmlns:x='urn:x'/></status></tuple></presence>"),
            // self-closing status
            format!("<presence xmlns='{PIDF_NS}' entity='e'><tuple id='a'><status/></tuple></presence>"),
            // self-closing basic
            format!("<presence xmlns='{PIDF_NS}' entity='e'><tuple id='a'><status><basic/></status></tuple></presence>"),
            // prefixed PIDF, no default namespace
            format!("<p:presence xmlns:p='{PIDF_NS}' entity='e'><p:tuple id='a'><p:status><p:basic>open</p:basic></p:status></p:tuple></p:presence>"),
            // prefixed PIDF, no status
            format!("<p:presence xmlns:p='{PIDF_NS}' entity='e'><p:tuple id='a'/></p:presence>"),
            // tuple under a wrapper declaring what it uses
            format!("<presence xmlns='{PIDF_NS}' entity='e'><w:wrap xmlns:w='urn:w' xmlns:q='{PIDF_NS}'><q:tuple id='a'><q:status><q:basic>open</q:basic></q:status></q:tuple></w:wrap></presence>"),
        ];
        for c in &cases {
            let out = offline(c.as_bytes()).unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(tuples(&out), ["a"], "{}", s(&out));
            assert_eq!(basics(&out), ["closed"], "{}", s(&out));
            check_publication(&out).unwrap();
        }
        assert!(s(&offline(cases[2].as_bytes()).unwrap()).contains("<x:geo xmlns:x='urn:x'/>"));
    }

    #[test]
    fn offline_failures() {
        assert!(offline(b"<presence xmlns='urn:x'><tuple id='a'/></presence>").is_err());
        assert!(offline(
            format!("<presence xmlns='{PIDF_NS}' entity='e'><note>n</note></presence>").as_bytes()
        )
        .is_err());
        assert!(offline(b"<presence").is_err());
    }

    // --- single body ----------------------------------------------------------------------

    const PRIO: &str = "Available|Ringing|On the Phone";

    fn single(notes: &[Option<&str>]) -> Option<String> {
        let bodies: Vec<String> = notes
            .iter()
            .enumerate()
            .map(|(i, n)| match n {
                Some(n) => publication(&format!("t{i}"), "open", n),
                None => format!("<presence xmlns='{PIDF_NS}' entity='e'><tuple id='t{i}'><status><basic>open</basic></status></tuple></presence>"),
            })
            .collect();
        let refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
        single_body(&refs, "note", PRIO).map(|b| tuples(&b).remove(0))
    }

    #[test]
    fn single_body_priorities() {
        assert_eq!(single(&[]), None);
        assert_eq!(single(&[Some("Ringing")]).unwrap(), "t0");
        // The highest priority wins wherever it is.
        assert_eq!(
            single(&[Some("On the Phone"), Some("Ringing"), Some("Available")]).unwrap(),
            "t0"
        );
        assert_eq!(
            single(&[Some("Available"), Some("On the Phone"), Some("Ringing")]).unwrap(),
            "t1"
        );
        assert_eq!(
            single(&[Some("Available"), Some("Ringing"), Some("On the Phone")]).unwrap(),
            "t2"
        );
        // Equal (case-insensitively) texts: the newest stays.
        assert_eq!(single(&[Some("ringing"), Some("Ringing")]).unwrap(), "t1");
        // A text that is not in the list ranks below all that are.
        assert_eq!(single(&[Some("Available"), Some("Lunch")]).unwrap(), "t0");
        assert_eq!(single(&[Some("Lunch"), Some("Available")]).unwrap(), "t1");
        // The list is searched case-sensitively (strstr).
        assert_eq!(
            single(&[Some("ON THE PHONE"), Some("Available")]).unwrap(),
            "t1"
        );
        // As stock: a newest body without the element is always chosen, and bodies without it
        // never compete.
        assert_eq!(single(&[Some("On the Phone"), None]).unwrap(), "t1");
        assert_eq!(single(&[None, Some("Available")]).unwrap(), "t1");
        assert_eq!(
            single(&[Some("On the Phone"), None, Some("Available")]).unwrap(),
            "t0"
        );
    }

    #[test]
    fn single_body_details() {
        let a = publication("a", "open", "On the Phone");
        let b = publication("b", "open", "Available");
        let refs: [&[u8]; 3] = [a.as_bytes(), b"<garbage", b.as_bytes()];
        // Returned unchanged.
        assert_eq!(s(&single_body(&refs, "note", PRIO).unwrap()), a);
        // Without element or priorities, the newest usable body.
        assert_eq!(s(&single_body(&refs, "", PRIO).unwrap()), b);
        assert_eq!(s(&single_body(&refs, "note", "").unwrap()), b);
        // The lookup element is any element of that local name, any case.
        assert_eq!(s(&single_body(&refs, "NOTE", PRIO).unwrap()), a);
        // A body being removed takes part in its offline form (which has no note).
        let out = single_body_with_off(&refs, Some(0), "note", PRIO).unwrap();
        assert_eq!(s(&out), b);
        let out = single_body_with_off(&refs, Some(2), "note", PRIO).unwrap();
        assert_eq!(basics(&out), ["closed"]);
    }

    // --- dummy ----------------------------------------------------------------------------

    #[test]
    fn dummy_body_parses_whatever_the_entity() {
        // Found by the fuzz driver: a control character in the entity made the body unparsable.
        let body = dummy("sip:a\u{0}b\u{1b}@example.com");
        assert_eq!(classify(&body), Publication::Pidf);
        let text = std::str::from_utf8(&body).unwrap();
        assert!(text.contains("entity=\"sip:a\u{FFFD}b\u{FFFD}@example.com\""), "{text}");
    }

    #[test]
    fn dummy_body() {
        let out = dummy("sip:bob&co@example.com;x=\"y\"");
        let doc = reparse(&out);
        assert_eq!(
            doc.root_element().attribute("entity"),
            Some("sip:bob&co@example.com;x=\"y\"")
        );
        check_publication(&out).unwrap();
        assert_eq!(tuples(&out), [DUMMY_TUPLE_ID]);
        assert_eq!(basics(&out), ["open"]);
        assert_eq!(check_basic(&out, "open"), 1);
        assert_eq!(check_activities(&out, "busy"), -2);
        assert!(doc
            .descendants()
            .any(|n| n.has_tag_name((DM, "note")) && n.text() == Some("Available")));
        assert!(doc
            .descendants()
            .any(|n| n.has_tag_name((PIDF_NS, "note")) && n.text() == Some("Available")));
        assert!(doc
            .descendants()
            .any(|n| n.has_tag_name((RPID, "activities"))));
        // It aggregates like a publication.
        let p = publication("t", "closed", "x");
        let out = aggregate(&[p.as_bytes(), &dummy("sip:a@b")], None).unwrap();
        assert_eq!(tuples(&out), [DUMMY_TUPLE_ID, "t"]);
    }

    // --- transformations ------------------------------------------------------------------

    fn rich() -> String {
        format!(
            "<?xml version='1.0' encoding='UTF-8'?>\n\
<presence xmlns='{PIDF_NS}' xmlns:dm='{DM}' xmlns:rpid='{RPID}' entity='sip:a@b'>\n  \
<tuple id='sip1'><status><basic>open</basic></status><rpid:class>work</rpid:class><contact>sip:a@10.0.0.1</contact></tuple>\n  \
<note>between</note>\n  \
<tuple id='tel1'><status><basic>open</basic></status><dm:deviceID>urn:uuid:d1</dm:deviceID><contact> TEL:+123 </contact></tuple>\n  \
<tuple id='im1'><status><basic>closed</basic></status><contact>im:a@b</contact></tuple>\n  \
<dm:person id='me'><rpid:class>home</rpid:class><rpid:activities><rpid:busy/></rpid:activities></dm:person>\n  \
<dm:person id='other'><rpid:activities><rpid:away/></rpid:activities></dm:person>\n  \
<dm:device id='dev1'><dm:deviceID>urn:uuid:d1</dm:deviceID></dm:device>\n  \
<dm:device id='dev2'><rpid:class>car</rpid:class><dm:deviceID>urn:uuid:d2</dm:deviceID></dm:device>\n\
</presence>\n"
        )
    }

    /// The ids of the root's tuple, person and device children after the transformation.
    fn kept(t: &Transformations, missing: MissingProvide) -> Vec<String> {
        let out = transform_with(rich().as_bytes(), t, missing).unwrap();
        check_publication(&out).unwrap();
        let doc = reparse(&out);
        let ids = doc
            .root_element()
            .children()
            .filter_map(|n| n.attribute("id").map(str::to_owned))
            .collect();
        ids
    }

    fn t(
        services: Option<Provide>,
        devices: Option<Provide>,
        persons: Option<Provide>,
    ) -> Transformations {
        Transformations {
            services,
            devices,
            persons,
            ..Default::default()
        }
    }

    const ALL: [&str; 7] = ["sip1", "tel1", "im1", "me", "other", "dev1", "dev2"];

    #[test]
    fn transform_absent_and_all() {
        let none = t(None, None, None);
        // Nothing to do: the body comes back unchanged.
        assert_eq!(s(&transform(rich().as_bytes(), &none).unwrap()), rich());
        assert_eq!(kept(&none, MissingProvide::Untouched), ALL);
        let all = t(Some(Provide::All), Some(Provide::All), Some(Provide::All));
        assert_eq!(kept(&all, MissingProvide::Untouched), ALL);
        assert_eq!(kept(&all, MissingProvide::NotProvided), ALL);
        // RFC 5025's reading: an absent permission provides nothing.
        assert_eq!(
            kept(&none, MissingProvide::NotProvided),
            Vec::<String>::new()
        );
        assert_eq!(
            kept(
                &t(Some(Provide::All), None, None),
                MissingProvide::NotProvided
            ),
            ["sip1", "tel1", "im1"]
        );
    }

    #[test]
    fn transform_services() {
        let m = MissingProvide::Untouched;
        let only = |sel: Vec<Selector>| kept(&t(Some(Provide::Some(sel)), None, None), m);
        assert_eq!(
            kept(&t(Some(Provide::None), None, None), m),
            ["me", "other", "dev1", "dev2"]
        );
        assert_eq!(
            only(vec![Selector::ServiceUri("SIP:a@10.0.0.1".into())]),
            ["sip1", "me", "other", "dev1", "dev2"]
        );
        assert_eq!(
            only(vec![Selector::ServiceUriScheme("tel".into())]),
            ["tel1", "me", "other", "dev1", "dev2"]
        );
        assert_eq!(
            only(vec![
                Selector::ServiceUriScheme("im".into()),
                Selector::OccurrenceId("SIP1".into())
            ]),
            ["sip1", "im1", "me", "other", "dev1", "dev2"]
        );
        assert_eq!(
            only(vec![Selector::Class("Work".into())]),
            ["sip1", "me", "other", "dev1", "dev2"]
        );
        assert_eq!(only(vec![]), ["me", "other", "dev1", "dev2"]);
        // A tuple after a <note> is filtered too (stock stops at the note).
        assert_eq!(
            only(vec![Selector::OccurrenceId("sip1".into())]),
            ["sip1", "me", "other", "dev1", "dev2"]
        );
        // Whatever stays keeps its bytes; removed elements take their indentation along.
        let out = transform(rich().as_bytes(), &t(Some(Provide::None), None, None)).unwrap();
        assert_eq!(
            s(&out),
            rich()
                .lines()
                .filter(|l| !l.contains("<tuple"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        );
    }

    #[test]
    fn transform_devices() {
        let m = MissingProvide::Untouched;
        let only = |sel: Vec<Selector>| kept(&t(None, Some(Provide::Some(sel)), None), m);
        assert_eq!(
            kept(&t(None, Some(Provide::None), None), m),
            ["sip1", "tel1", "im1", "me", "other"]
        );
        assert_eq!(
            only(vec![Selector::DeviceId("URN:UUID:D2".into())]),
            ["sip1", "tel1", "im1", "me", "other", "dev2"]
        );
        assert_eq!(
            only(vec![Selector::Class("car".into())]),
            ["sip1", "tel1", "im1", "me", "other", "dev2"]
        );
        assert_eq!(
            only(vec![Selector::OccurrenceId("dev1".into())]),
            ["sip1", "tel1", "im1", "me", "other", "dev1"]
        );
        // deviceID also selects tuples when used for services (stock applies every selector).
        assert_eq!(
            kept(
                &t(
                    Some(Provide::Some(vec![Selector::DeviceId(
                        "urn:uuid:d1".into()
                    )])),
                    None,
                    None
                ),
                m
            ),
            ["tel1", "me", "other", "dev1", "dev2"]
        );
    }

    #[test]
    fn transform_persons() {
        let m = MissingProvide::Untouched;
        let only = |sel: Vec<Selector>| kept(&t(None, None, Some(Provide::Some(sel))), m);
        assert_eq!(
            kept(&t(None, None, Some(Provide::None)), m),
            ["sip1", "tel1", "im1", "dev1", "dev2"]
        );
        assert_eq!(
            only(vec![Selector::Class("home".into())]),
            ["sip1", "tel1", "im1", "me", "dev1", "dev2"]
        );
        assert_eq!(
            only(vec![Selector::OccurrenceId("other".into())]),
            ["sip1", "tel1", "im1", "other", "dev1", "dev2"]
        );
        // Class of a following sibling does not count (stock's search runs on into it).
        assert_eq!(
            only(vec![Selector::Class("car".into())]),
            ["sip1", "tel1", "im1", "dev1", "dev2"]
        );
        // All three at once.
        let all = t(
            Some(Provide::Some(vec![Selector::ServiceUriScheme(
                "sip".into(),
            )])),
            Some(Provide::None),
            Some(Provide::Some(vec![Selector::OccurrenceId("me".into())])),
        );
        assert_eq!(kept(&all, m), ["sip1", "me"]);
    }

    #[test]
    fn transform_attributes() {
        let m = MissingProvide::Untouched;
        let with = |attributes: Vec<(&str, bool)>| Transformations {
            attributes: attributes
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v))
                .collect(),
            ..Default::default()
        };
        // True permissions change nothing.
        let out = transform(rich().as_bytes(), &with(vec![("activities", true)])).unwrap();
        assert_eq!(s(&out), rich());
        // False ones remove every element of that name, at any depth.
        let out = transform(
            rich().as_bytes(),
            &with(vec![("activities", false), ("CLASS", false)]),
        )
        .unwrap();
        check_publication(&out).unwrap();
        let doc = reparse(&out);
        assert!(!doc
            .descendants()
            .any(|n| ["activities", "busy", "away", "class"].contains(&n.tag_name().name())));
        assert_eq!(kept(&with(vec![("activities", false)]), m), ALL);
        let out = transform(rich().as_bytes(), &with(vec![("note", false)])).unwrap();
        assert!(!s(&out).contains("between"));
        assert!(s(&out).contains("<tuple id='sip1'>"));
        // Together with removed tuples (nested ranges).
        let both = Transformations {
            services: Some(Provide::None),
            attributes: vec![("contact".into(), false), ("deviceID".into(), false)],
            ..Default::default()
        };
        let out = transform(rich().as_bytes(), &both).unwrap();
        check_publication(&out).unwrap();
        assert!(
            !s(&out).contains("tuple") && !s(&out).contains("deviceID"),
            "{}",
            s(&out)
        );
        assert!(
            s(&out).contains("<dm:device id='dev2'><rpid:class>car</rpid:class></dm:device>"),
            "{}",
            s(&out)
        );
    }

    #[test]
    fn transform_errors_and_entities() {
        let none = t(Some(Provide::None), None, None);
        assert!(transform(b"<presence", &none).is_err());
        assert!(transform(b"<presence xmlns='urn:x'/>", &none).is_err());
        let dtd = format!(
            "<!DOCTYPE presence [<!ENTITY t \"<tuple id='e'><status><basic>open</basic></status></tuple>\">]>\
<presence xmlns='{PIDF_NS}' entity='sip:a@b'>&t;<note>n</note></presence>"
        );
        let out = transform(dtd.as_bytes(), &none).unwrap();
        assert_eq!(tuples(&out), Vec::<String>::new());
        assert!(s(&out).contains("<note>n</note>"), "{}", s(&out));
    }

    // --- script checks --------------------------------------------------------------------

    #[test]
    fn basic_checks() {
        let p = publication("t", "open", "n");
        assert_eq!(check_basic(p.as_bytes(), "open"), 1);
        assert_eq!(check_basic(p.as_bytes(), "OPEN"), 1);
        assert_eq!(check_basic(p.as_bytes(), "op"), 1);
        assert_eq!(check_basic(p.as_bytes(), ""), 1);
        assert_eq!(check_basic(p.as_bytes(), "opened"), -1);
        assert_eq!(check_basic(p.as_bytes(), "closed"), -1);
        assert_eq!(check_basic(b"<presence", "open"), -1);
        assert_eq!(check_basic(b"<presence><note/></presence>", "open"), -1);
        // Any tuple of the aggregated document.
        let two = agg(
            &[
                publication("a", "open", "n"),
                publication("b", "closed", "n"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(check_basic(&two, "open"), 1);
        assert_eq!(check_basic(&two, "closed"), 1);
        // The walk stops at a tuple for which no <basic> is found onwards, keeping what it had.
        let doc = b"<presence><tuple><basic>open</basic></tuple><tuple/><x/></presence>";
        assert_eq!(check_basic(doc, "open"), 1);
        let doc = b"<presence><tuple/><tuple><basic>open</basic></tuple></presence>";
        assert_eq!(check_basic(doc, "open"), 1); // the first tuple's search finds the second's
        let doc = b"<presence><tuple><basic>closed</basic></tuple><tuple/><tuple><basic>open</basic></tuple></presence>";
        assert_eq!(check_basic(doc, "open"), 1);
        let doc = b"<presence><tuple><basic>closed</basic></tuple><tuple><status/></tuple><x><basic>open</basic></x></presence>";
        assert_eq!(check_basic(doc, "open"), 1); // found onwards, in a sibling that is no tuple
        let doc =
            b"<presence><tuple><basic>closed</basic></tuple><tuple><status/></tuple></presence>";
        assert_eq!(check_basic(doc, "open"), -1);
        // Only the first tuple's siblings are walked.
        let doc = b"<presence><a><tuple><basic>closed</basic></tuple></a><tuple><basic>open</basic></tuple></presence>";
        assert_eq!(check_basic(doc, "open"), -1);
    }

    #[test]
    fn activities_checks() {
        let p = publication("t", "open", "n");
        assert_eq!(check_activities(p.as_bytes(), "busy"), 1);
        assert_eq!(check_activities(p.as_bytes(), "BUSY"), 1);
        assert_eq!(check_activities(p.as_bytes(), "away"), -1);
        assert_eq!(check_activities(b"<presence", "busy"), -1);
        // No person.
        let doc = format!("<presence xmlns='{PIDF_NS}'><tuple id='a'/></presence>");
        assert_eq!(check_activities(doc.as_bytes(), "busy"), -2);
        // A person without activities, with empty ones, with whitespace only.
        assert_eq!(check_activities(b"<r><person/></r>", "busy"), -2);
        assert_eq!(
            check_activities(b"<r><person><activities/></person></r>", "busy"),
            -2
        );
        assert_eq!(
            check_activities(
                b"<r><person><activities> </activities></person></r>",
                "busy"
            ),
            -1
        );
        // Several persons: a match anywhere wins; a person without activities ends the walk.
        let doc = b"<r><person><activities><away/></activities></person><person><activities><busy/></activities></person></r>";
        assert_eq!(check_activities(doc, "busy"), 1);
        let doc = b"<r><person><activities><busy/></activities></person><person/></r>";
        assert_eq!(check_activities(doc, "busy"), 1);
        let doc = b"<r><person><activities><away/></activities></person><person/></r>";
        assert_eq!(check_activities(doc, "busy"), -2);
        // ... unless the onward search for <activities> reaches a later person's (as stock).
        let doc = b"<r><person><activities><away/></activities></person><person/><person><activities><busy/></activities></person></r>";
        assert_eq!(check_activities(doc, "busy"), 1);
        // The aggregated document of two publications.
        let two = agg(
            &[
                publication("a", "open", "n"),
                s(&dummy("sip:a@b")).to_owned(),
            ],
            None,
        )
        .unwrap();
        assert_eq!(check_activities(&two, "busy"), -2); // the dummy's person comes first, empty
    }
}
