//! Escaping text for XML output, and reading the references in XML attribute values.

/// `s` as character data: `&`, `<` and `>` escaped.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// `s` inside a double-quoted attribute value.
pub fn escape_attr(s: &str) -> String {
    escape_text(s).replace('"', "&quot;")
}

/// Replaces the predefined entity and character references in `raw` by the characters they
/// stand for. A `&` that does not start a well-formed reference stays as it is, so hand-typed
/// selectors with a bare `&` in a URI still work.
pub fn unescape_references(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match after.find(';').and_then(|semi| Some((reference_char(&after[..semi])?, semi))) {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character named by the reference body `name` (between `&` and `;`).
fn reference_char(name: &str) -> Option<char> {
    let code = if let Some(hex) = name.strip_prefix("#x") {
        u32::from_str_radix(hex, 16).ok()?
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse().ok()?
    } else {
        return match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => None,
        };
    };
    // Signs are accepted by the integer parsers but are not part of a reference.
    if name.contains(['+', '-']) || code == 0 {
        return None;
    }
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_text("a<b>&c\"'"), "a&lt;b&gt;&amp;c\"'");
        assert_eq!(escape_attr("a\"b<&"), "a&quot;b&lt;&amp;");
    }

    #[test]
    fn references_are_replaced() {
        assert_eq!(unescape_references("a&amp;b&lt;&gt;&quot;&apos;"), "a&b<>\"'");
        assert_eq!(unescape_references("&#65;&#x42;&#x1F600;"), "AB\u{1F600}");
    }

    #[test]
    fn malformed_references_stay_literal() {
        assert_eq!(unescape_references("a&b"), "a&b");
        assert_eq!(unescape_references("x&unknown;y"), "x&unknown;y");
        assert_eq!(unescape_references("&#0;&#xD800;&#-5;&#x+5;&"), "&#0;&#xD800;&#-5;&#x+5;&");
        assert_eq!(unescape_references("&;&&amp;"), "&;&&");
    }
}
