//! Entity tags as this module keeps them: the opaque text alone, safe to quote into a header.

/// Reduces an entity tag, as received in a header or as stored in the `xcap` table (rows
/// from earlier deployments may carry quotes and a line ending), to its opaque text.
///
/// The weak marker is dropped: If-None-Match compares weakly, so the bare tag still matches,
/// and If-Match never matches a weak tag either way. `None` when no valid tag remains.
pub(crate) fn opaque(raw: &str) -> Option<&str> {
    let tag = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let tag = match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner,
        None => tag,
    };
    let valid = |c: char| c > ' ' && c != '"' && c != '\u{7f}' && !c.is_control();
    (!tag.is_empty() && tag.chars().all(valid)).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::opaque;

    #[test]
    fn strips_quotes_weak_marker_and_line_ending() {
        assert_eq!(opaque("\"abc\""), Some("abc"));
        assert_eq!(opaque("W/\"abc\""), Some("abc"));
        assert_eq!(opaque("  \"abc\"  \r\n"), Some("abc"));
        assert_eq!(opaque("abc\r\n"), Some("abc"));
        assert_eq!(opaque("\"xcap-1234:5\""), Some("xcap-1234:5"));
        assert_eq!(opaque("\"ä1\""), Some("ä1"));
    }

    #[test]
    fn rejects_what_cannot_be_quoted_into_a_header() {
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
}
