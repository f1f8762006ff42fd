//! Percent-encoding (RFC 3986 §2.1) of the parts of an XCAP URI.

/// RFC 3986 `pchar` without `%`: what a path segment may carry unescaped.
/// `:` and `@` are in it, so a `sip:user@domain` XUI stays readable, as XCAP servers expect.
fn is_pchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte)
}

fn encode(text: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if keep(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Escapes everything a single path segment may not hold, `/` and `?` included.
pub(crate) fn encode_segment(text: &str) -> String {
    encode(text, is_pchar)
}

/// Escapes a path made of several segments, keeping their `/` separators.
pub(crate) fn encode_path(text: &str) -> String {
    encode(text, |byte| is_pchar(byte) || byte == b'/')
}

/// Escapes a query component (RFC 3986 §3.4).
pub(crate) fn encode_query(text: &str) -> String {
    encode(text, |byte| is_pchar(byte) || byte == b'/' || byte == b'?')
}

/// Undoes percent-encoding; `None` for a malformed escape or bytes that are not UTF-8.
pub(crate) fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_keeps_sip_uri_readable() {
        assert_eq!(
            encode_segment("sip:alice@example.com"),
            "sip:alice@example.com"
        );
    }

    #[test]
    fn segment_escapes_separators_and_unsafe_bytes() {
        assert_eq!(encode_segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(encode_segment("jörg"), "j%C3%B6rg");
        assert_eq!(
            encode_segment("[\"<>\\^`{|}]"),
            "%5B%22%3C%3E%5C%5E%60%7B%7C%7D%5D"
        );
    }

    #[test]
    fn path_keeps_slashes() {
        assert_eq!(encode_path("a/b[1]"), "a/b%5B1%5D");
    }

    #[test]
    fn query_keeps_slash_and_question_mark() {
        assert_eq!(
            encode_query("xmlns(a=urn:x/y?z) #"),
            "xmlns(a=urn:x/y?z)%20%23"
        );
    }

    #[test]
    fn decode_round_trips() {
        for text in ["sip:alice@example.com", "a/b?c#d%e f", "jörg", ""] {
            assert_eq!(decode(&encode_segment(text)).as_deref(), Some(text));
        }
        assert_eq!(decode("sip%3aalice%40x").as_deref(), Some("sip:alice@x"));
    }

    #[test]
    fn decode_rejects_malformed_input() {
        assert_eq!(decode("%"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%G1"), None);
        assert_eq!(decode("%+1"), None);
        assert_eq!(decode("%FF"), None);
        assert_eq!(decode("%C3%"), None);
        assert_eq!(decode("é%"), None);
    }
}
