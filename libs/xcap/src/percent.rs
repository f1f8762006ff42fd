//! Percent-encoding (RFC 3986 §2.1) of the parts of an XCAP URI.

use std::fmt;

/// Why a percent-encoded string could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::BadEscape => "'%' not followed by two hex digits",
            DecodeError::NotUtf8 => "percent-decoded text is not UTF-8",
        })
    }
}

/// `s` with every `%XX` replaced by the byte it encodes; an error for a malformed escape or
/// bytes that are not UTF-8.
pub fn decode(s: &str) -> Result<String, DecodeError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let high = bytes.get(i + 1).copied().and_then(hex_value);
            let low = bytes.get(i + 2).copied().and_then(hex_value);
            let (Some(high), Some(low)) = (high, low) else {
                return Err(DecodeError::BadEscape);
            };
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

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
pub fn encode_segment(text: &str) -> String {
    encode(text, is_pchar)
}

/// `text` encoded for a URI path of several segments: everything but RFC 3986 `pchar` and
/// the `/` separators is escaped.
pub fn encode_path(text: &str) -> String {
    encode(text, |byte| is_pchar(byte) || byte == b'/')
}

/// Escapes a query component (RFC 3986 §3.4).
pub fn encode_query(text: &str) -> String {
    encode(text, |byte| is_pchar(byte) || byte == b'/' || byte == b'?')
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_escapes_in_either_case() {
        assert_eq!(decode("a%20b%2fc%2F").unwrap(), "a b/c/");
        assert_eq!(decode("%5B@name=%22x%22%5D").unwrap(), "[@name=\"x\"]");
        assert_eq!(decode("caf%C3%A9").unwrap(), "café");
        assert_eq!(decode("").unwrap(), "");
    }

    #[test]
    fn rejects_short_or_non_hex_escapes() {
        assert_eq!(decode("%"), Err(DecodeError::BadEscape));
        assert_eq!(decode("a%2"), Err(DecodeError::BadEscape));
        assert_eq!(decode("%zz"), Err(DecodeError::BadEscape));
        assert_eq!(decode("%+1"), Err(DecodeError::BadEscape));
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(decode("%FF"), Err(DecodeError::NotUtf8));
        assert_eq!(decode("%C3"), Err(DecodeError::NotUtf8));
    }

    #[test]
    fn encodes_only_what_a_path_cannot_hold() {
        assert_eq!(encode_path("list[@name=\"a b\"]/é"), "list%5B@name=%22a%20b%22%5D/%C3%A9");
        assert_eq!(encode_path("sip:joe@example.com"), "sip:joe@example.com");
    }

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
            assert_eq!(decode(&encode_segment(text)).as_deref(), Ok(text));
        }
        assert_eq!(decode("sip%3aalice%40x").as_deref(), Ok("sip:alice@x"));
    }

    #[test]
    fn decode_rejects_malformed_input() {
        assert_eq!(decode("%"), Err(DecodeError::BadEscape));
        assert_eq!(decode("%4"), Err(DecodeError::BadEscape));
        assert_eq!(decode("%G1"), Err(DecodeError::BadEscape));
        assert_eq!(decode("%+1"), Err(DecodeError::BadEscape));
        assert_eq!(decode("%FF"), Err(DecodeError::NotUtf8));
        assert_eq!(decode("%C3%"), Err(DecodeError::BadEscape));
        assert_eq!(decode("é%"), Err(DecodeError::BadEscape));
    }

    proptest! {
        #[test]
        fn decode_never_panics(s in any::<String>()) {
            let _ = decode(&s);
        }

        #[test]
        fn encode_then_decode_is_identity(s in any::<String>()) {
            prop_assert_eq!(decode(&encode_path(&s)).unwrap(), s);
        }
    }
}
