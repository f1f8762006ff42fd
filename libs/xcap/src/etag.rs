//! Entity tags: HTTP conditional requests on XCAP resources (RFC 7232 §3 and §6, RFC 4825
//! §7.11) as a server evaluates them, the entity tags a server hands out, and the opaque
//! text a client keeps of a tag it received.

/// The request method, as far as preconditions care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Delete,
}

/// What the preconditions say about the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Carry on with the request.
    Proceed,
    /// Answer 412 Precondition Failed.
    Failed,
    /// Answer 304 Not Modified (GET only).
    NotModified,
}

/// Evaluates `If-Match` then `If-None-Match` against the document's current entity tag
/// (`None` when the document does not exist). Each slice holds the header field values as
/// received: one entry per header line, each possibly a comma-separated list.
pub fn check_preconditions(
    method: Method,
    current: Option<&str>,
    if_match: &[&str],
    if_none_match: &[&str],
) -> Precondition {
    if !if_match.is_empty() {
        let tags = entity_tags(if_match);
        let matched = current.is_some_and(|current| {
            tags.iter().any(|tag| match tag {
                EntityTag::Any => true,
                EntityTag::Strong(opaque) => *opaque == current,
                // Weak tags never satisfy If-Match (strong comparison).
                EntityTag::Weak(_) => false,
            })
        });
        if !matched {
            return Precondition::Failed;
        }
    }
    if !if_none_match.is_empty() {
        if let Some(current) = current {
            let tags = entity_tags(if_none_match);
            let matched = tags.iter().any(|tag| match tag {
                EntityTag::Any => true,
                EntityTag::Strong(opaque) | EntityTag::Weak(opaque) => *opaque == current,
            });
            if matched {
                return match method {
                    Method::Get => Precondition::NotModified,
                    Method::Put | Method::Delete => Precondition::Failed,
                };
            }
        }
    }
    Precondition::Proceed
}

/// A fresh strong entity tag (unquoted), unique across processes and restarts as long as the
/// caller never repeats the (start time, pid, counter) triple.
pub fn new_etag(start_time: u64, pid: u32, counter: u64) -> String {
    format!("sr-{start_time}-{pid}-{counter}")
}

/// Reduces an entity tag, as received in a header or as stored in the `xcap` table (rows
/// from earlier deployments may carry quotes and a line ending), to its opaque text, safe to
/// quote into a header.
///
/// The weak marker is dropped: If-None-Match compares weakly, so the bare tag still matches,
/// and If-Match never matches a weak tag either way. `None` when no valid tag remains.
///
/// This reads one tag, not a list: unlike the header lists [`check_preconditions`] splits,
/// a comma stays part of the tag.
pub fn opaque(raw: &str) -> Option<&str> {
    let tag = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    // `W/` marks a weak tag only before a quoted one: a tag whose text starts with `W/` (a
    // quoted "W/x", or one already reduced) keeps it, so reducing a reduced tag changes nothing.
    let tag = tag.strip_prefix("W/").filter(|t| t.starts_with('"')).unwrap_or(tag);
    let tag = match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner,
        None => tag,
    };
    let valid = |c: char| c > ' ' && c != '"' && c != '\u{7f}' && !c.is_control();
    (!tag.is_empty() && tag.chars().all(valid)).then_some(tag)
}

#[derive(Debug, PartialEq, Eq)]
enum EntityTag<'a> {
    Any,
    Strong(&'a str),
    Weak(&'a str),
}

/// The entity tags listed in the header values. Quoted tags may hold commas; an unquoted
/// token is taken as a strong tag, as some XCAP clients send them that way.
fn entity_tags<'a>(values: &[&'a str]) -> Vec<EntityTag<'a>> {
    let mut tags = Vec::new();
    for value in values {
        let mut rest = *value;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let (weak, body) = match rest.strip_prefix("W/") {
                Some(body) => (true, body),
                None => (false, rest),
            };
            let (tag, after) = if let Some(quoted) = body.strip_prefix('"') {
                let (opaque, after) = quoted.split_once('"').unwrap_or((quoted, ""));
                (if weak { EntityTag::Weak(opaque) } else { EntityTag::Strong(opaque) }, after)
            } else {
                let (token, after) = body.split_once(',').unwrap_or((body, ""));
                let tag = match (weak, token.trim()) {
                    (false, "*") => EntityTag::Any,
                    (true, token) => EntityTag::Weak(token),
                    (false, token) => EntityTag::Strong(token),
                };
                (tag, after)
            };
            tags.push(tag);
            rest = after;
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Precondition::*;

    const TAG: Option<&str> = Some("sr-1-2-3");

    #[test]
    fn no_conditions_proceed() {
        assert_eq!(check_preconditions(Method::Get, TAG, &[], &[]), Proceed);
        assert_eq!(check_preconditions(Method::Put, None, &[], &[]), Proceed);
    }

    #[test]
    fn if_match_needs_a_strong_match_or_star_on_an_existing_document() {
        assert_eq!(check_preconditions(Method::Put, TAG, &["\"sr-1-2-3\""], &[]), Proceed);
        assert_eq!(check_preconditions(Method::Put, TAG, &["\"x\", \"sr-1-2-3\""], &[]), Proceed);
        assert_eq!(check_preconditions(Method::Put, TAG, &["\"x\"", "\"sr-1-2-3\""], &[]), Proceed);
        assert_eq!(check_preconditions(Method::Delete, TAG, &["*"], &[]), Proceed);
        assert_eq!(check_preconditions(Method::Put, TAG, &["\"other\""], &[]), Failed);
        assert_eq!(check_preconditions(Method::Put, TAG, &["W/\"sr-1-2-3\""], &[]), Failed);
        assert_eq!(check_preconditions(Method::Put, None, &["*"], &[]), Failed);
        assert_eq!(check_preconditions(Method::Put, None, &["\"sr-1-2-3\""], &[]), Failed);
    }

    #[test]
    fn if_none_match_star_creates_only() {
        assert_eq!(check_preconditions(Method::Put, None, &[], &["*"]), Proceed);
        assert_eq!(check_preconditions(Method::Put, TAG, &[], &["*"]), Failed);
        assert_eq!(check_preconditions(Method::Get, TAG, &[], &["*"]), NotModified);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert_eq!(check_preconditions(Method::Get, TAG, &[], &["W/\"sr-1-2-3\""]), NotModified);
        assert_eq!(
            check_preconditions(Method::Get, TAG, &[], &["\"a\",\"sr-1-2-3\""]),
            NotModified
        );
        assert_eq!(check_preconditions(Method::Get, TAG, &[], &["\"a\""]), Proceed);
        assert_eq!(check_preconditions(Method::Delete, TAG, &[], &["\"sr-1-2-3\""]), Failed);
        assert_eq!(check_preconditions(Method::Get, None, &[], &["\"sr-1-2-3\""]), Proceed);
    }

    #[test]
    fn if_match_is_evaluated_before_if_none_match() {
        assert_eq!(check_preconditions(Method::Get, TAG, &["\"x\""], &["\"sr-1-2-3\""]), Failed);
        assert_eq!(
            check_preconditions(Method::Get, TAG, &["\"sr-1-2-3\""], &["\"sr-1-2-3\""]),
            NotModified
        );
    }

    #[test]
    fn header_lists_are_split_outside_quotes() {
        assert_eq!(
            entity_tags(&[" \"a,b\" , W/\"c\",*, d ,\"*\""]),
            vec![
                EntityTag::Strong("a,b"),
                EntityTag::Weak("c"),
                EntityTag::Any,
                EntityTag::Strong("d"),
                EntityTag::Strong("*"),
            ]
        );
        assert_eq!(entity_tags(&["", " , "]), vec![]);
        assert_eq!(entity_tags(&["\"open"]), vec![EntityTag::Strong("open")]);
    }

    #[test]
    fn unquoted_tokens_from_lax_clients_match() {
        assert_eq!(check_preconditions(Method::Put, TAG, &["sr-1-2-3"], &[]), Proceed);
    }

    #[test]
    fn new_etags_differ_by_each_part() {
        assert_eq!(new_etag(1700000000, 42, 7), "sr-1700000000-42-7");
        assert_ne!(new_etag(1, 2, 3), new_etag(1, 2, 4));
        assert_ne!(new_etag(1, 2, 3), new_etag(1, 3, 3));
    }

    #[test]
    fn opaque_strips_quotes_weak_marker_and_line_ending() {
        assert_eq!(opaque("\"abc\""), Some("abc"));
        assert_eq!(opaque("W/\"abc\""), Some("abc"));
        assert_eq!(opaque("  \"abc\"  \r\n"), Some("abc"));
        assert_eq!(opaque("abc\r\n"), Some("abc"));
        assert_eq!(opaque("\"xcap-1234:5\""), Some("xcap-1234:5"));
        assert_eq!(opaque("\"ä1\""), Some("ä1"));
    }

    #[test]
    fn opaque_of_a_reduced_tag_is_itself() {
        // Found by xcap_client's fuzz driver: the stored text of `"W/abc"` was reduced again to
        // `abc` when it was sent in If-None-Match or compared, so the document never matched.
        assert_eq!(opaque("\"W/abc\""), Some("W/abc"));
        assert_eq!(opaque("W/abc"), Some("W/abc"));
        assert_eq!(opaque("W/\"W/abc\""), Some("W/abc"));
        assert_eq!(opaque("W/W/abc"), Some("W/W/abc"));
        assert_eq!(opaque("W/"), Some("W/"));
    }

    #[test]
    fn opaque_rejects_what_cannot_be_quoted_into_a_header() {
        for raw in [
            "",
            "   ",
            "\"\"",
            "W/\"\"",
            "\"a\"b\"",
            "a b",
            "a\r\nX-Evil: 1",
            "\"a",
            "a\u{7f}",
            "a\u{85}",
        ] {
            assert_eq!(opaque(raw), None, "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(
            a in any::<String>(),
            b in any::<String>(),
            cur in any::<Option<String>>(),
        ) {
            for method in [Method::Get, Method::Put, Method::Delete] {
                let _ = check_preconditions(method, cur.as_deref(), &[&a], &[&b]);
            }
        }
    }
}
