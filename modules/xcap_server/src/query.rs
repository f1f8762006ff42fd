//! The query component of an XCAP URI: `xmlns(prefix=namespace)` bindings for the prefixes of
//! a node selector (RFC 4825 §6.4, in the XPointer xmlns() scheme syntax).

use xcap::xml_name::is_ncname;

/// Prefix-to-namespace bindings in the order given; a later binding of a prefix wins.
pub type Bindings = Vec<(String, String)>;

/// Reads a percent-decoded query made of `xmlns(p=uri)` parts, optionally separated by
/// whitespace. Inside the URI, `^(`, `^)` and `^^` stand for the escaped character and
/// balanced parentheses may appear unescaped.
pub fn parse_xmlns_bindings(query: &str) -> Result<Bindings, &'static str> {
    let mut bindings = Vec::new();
    let mut rest = query.trim_start();
    while !rest.is_empty() {
        let part = rest.strip_prefix("xmlns(").ok_or("query part is not xmlns(prefix=uri)")?;
        let (prefix, after_prefix) = part.split_once('=').ok_or("xmlns() without '='")?;
        let prefix = prefix.trim();
        if !is_ncname(prefix) {
            return Err("xmlns() prefix is not an XML name");
        }
        let (uri, after) = read_escaped_uri(after_prefix.trim_start())?;
        if uri.is_empty() {
            return Err("xmlns() binds a prefix to an empty namespace");
        }
        bindings.push((prefix.to_string(), uri));
        rest = after.trim_start();
    }
    Ok(bindings)
}

/// The unescaped namespace URI up to the `)` closing the part, and the text after that `)`.
fn read_escaped_uri(text: &str) -> Result<(String, &str), &'static str> {
    let mut uri = String::new();
    let mut depth = 0usize;
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '^' => match chars.next() {
                Some((_, escaped @ ('(' | ')' | '^'))) => uri.push(escaped),
                _ => return Err("'^' in xmlns() must escape '(', ')' or '^'"),
            },
            '(' => {
                depth += 1;
                uri.push(c);
            }
            ')' if depth == 0 => return Ok((uri, &text[at + 1..])),
            ')' => {
                depth -= 1;
                uri.push(c);
            }
            _ => uri.push(c),
        }
    }
    Err("xmlns() is not closed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn binding(p: &str, u: &str) -> (String, String) {
        (p.to_string(), u.to_string())
    }

    #[test]
    fn reads_consecutive_and_spaced_parts() {
        assert_eq!(
            parse_xmlns_bindings(
                "xmlns(rl=urn:ietf:params:xml:ns:resource-lists)xmlns(cp=urn:x) xmlns( a = urn:a)"
            )
            .unwrap(),
            vec![
                binding("rl", "urn:ietf:params:xml:ns:resource-lists"),
                binding("cp", "urn:x"),
                binding("a", "urn:a"),
            ]
        );
        assert_eq!(parse_xmlns_bindings("").unwrap(), vec![]);
    }

    #[test]
    fn unescapes_circumflex_and_keeps_balanced_parentheses() {
        assert_eq!(
            parse_xmlns_bindings("xmlns(p=urn:a^)b^(c^^(d))").unwrap(),
            vec![binding("p", "urn:a)b(c^(d)")]
        );
    }

    #[test]
    fn rejects_malformed_parts() {
        for bad in [
            "foo=bar",
            "xmlns(p)",
            "xmlns(1p=urn:a)",
            "xmlns(p=urn:a",
            "xmlns(p=)",
            "xmlns(p=a^b)",
            "xmlns(p=urn:a)junk",
            "xmlns(p=(urn:a)",
        ] {
            assert!(parse_xmlns_bindings(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse_xmlns_bindings(&s);
        }
    }
}
