//! Percent-encoding of URI parts (RFC 3986 §2.1).

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

/// `s` with every `%XX` replaced by the byte it encodes.
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

/// `s` encoded for a URI path: everything but RFC 3986 `pchar` and `/` is escaped.
pub fn encode_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
