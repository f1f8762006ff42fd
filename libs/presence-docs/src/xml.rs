//! Helpers the document modules share: their error type, text and parsing, names, escaping.

use std::fmt;

use roxmltree::{Document, Node, ParsingOptions};

/// Why a document could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocError(pub String);

impl fmt::Display for DocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DocError {}

pub(crate) fn err(msg: impl Into<String>) -> DocError {
    DocError(msg.into())
}

/// The body as UTF-8 text, without a byte-order mark.
pub(crate) fn as_text(body: &[u8]) -> Result<&str, DocError> {
    let text = std::str::from_utf8(body).map_err(|e| err(format!("body is not valid UTF-8 (at byte {})", e.valid_up_to())))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

pub(crate) fn parse(text: &str) -> Result<Document<'_>, DocError> {
    // roxmltree would skip a second byte-order mark too; libxml refuses the document.
    if text.starts_with('\u{feff}') {
        return Err(err("body is not well-formed XML: a second byte-order mark"));
    }
    // libxml accepts an internal DTD subset, so we do too (roxmltree bounds entity expansion).
    // roxmltree does not look at the characters of a DTD's entity values; one XML cannot
    // carry (a control character) would reach the document through the entity.
    if let Some(c) = first_non_xml_char(text) {
        return Err(err(format!("body is not well-formed XML: it holds the character {c:?}")));
    }
    let opts = ParsingOptions { allow_dtd: true, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(text, opts).map_err(|e| err(format!("body is not well-formed XML: {e}")))?;
    // roxmltree reads `<?xml` followed by something else than whitespace (`<?xml<`) as a
    // processing instruction with the target `xml`; libxml refuses it, that target being
    // reserved for the declaration.
    let bytes = text.as_bytes();
    if text.match_indices("<?xml").any(|(at, _)| bytes.get(at + 5).is_some_and(|b| !b.is_ascii_whitespace()))
        && doc.descendants().any(|n| n.pi().is_some_and(|pi| pi.target == "xml"))
    {
        return Err(err("body is not well-formed XML: an XML declaration after the start"));
    }
    Ok(doc)
}

/// An element with this local name, in any case and any namespace.
pub(crate) fn name_is(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name().eq_ignore_ascii_case(name)
}

/// The value of the element's first attribute whose local name is `id` (any case, any prefix).
pub(crate) fn own_id<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.attributes().find(|a| a.name().eq_ignore_ascii_case("id")).map(|a| a.value())
}

/// Whether XML 1.0 can carry the character at all, literally or as a character reference.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `text` that XML cannot carry, found byte by byte: below U+0080 the
/// controls other than tab, line feed and carriage return; above, only U+FFFE and U+FFFF
/// (UTF-8 `EF BF BE`, `EF BF BF`), since a `str` holds no surrogate. The same answer as
/// [`is_xml_char`] on every character, several times faster on the documents parsed per request.
pub(crate) fn first_non_xml_char(text: &str) -> Option<char> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = bytes[from..].iter().position(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF) {
        let at = from + at;
        if bytes[at] != 0xEF {
            return Some(char::from(bytes[at]));
        }
        if bytes.get(at + 1) == Some(&0xBF) && matches!(bytes.get(at + 2), Some(0xBE | 0xBF)) {
            return text[at..].chars().next();
        }
        from = at + 1;
    }
    None
}

/// Escapes a value for a double-quoted attribute; whitespace controls become character
/// references so that attribute-value normalisation gives the value back unchanged.
pub(crate) fn escape_attr(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_scan_finds_what_the_character_test_finds() {
        let samples = [
            "", "plain", "tab\tline\nreturn\r", "bell\u{7}", "nul\u{0}end", "del\u{7f}", "é ü \u{EF}",
            "\u{FFFD}\u{FFFE}", "x\u{FFFF}", "\u{FEFF}\u{EFBF}\u{E000}", "\u{10000}\u{10FFFF}", "\u{D7FF}\u{1F}",
            "ok \u{FFEF}\u{FBFF} then \u{1}",
        ];
        for s in samples {
            assert_eq!(first_non_xml_char(s), s.chars().find(|&c| !is_xml_char(c)), "{s:?}");
        }
        // Every character of the Basic Multilingual Plane and a sample above it, alone and
        // between others.
        for c in (0..=0x10FFFF).step_by(1).filter(|&n| n <= 0xFFFF || n % 997 == 0).filter_map(char::from_u32) {
            let s = format!("a{c}\u{FFFD}b");
            assert_eq!(first_non_xml_char(&s), s.chars().find(|&c| !is_xml_char(c)), "{c:?}");
        }
    }
}
