//! Checks on a whole document before it is stored (RFC 4825 §8.2.1, §8.2.5 and the
//! application usages' constraints).

use super::parse::parse;
use super::{schema, uniqueness};
use xcap::auid::Auid;
use crate::error::XcapError;

/// Accepts `bytes` as a document of `auid` no longer than `max_bytes`: UTF-8 (and declared so,
/// if declared at all), well-formed, without DTD, within [`super::MAX_DEPTH`] and
/// [`super::MAX_ATTRIBUTES`], valid per the usage's schema, and meeting the usage's
/// uniqueness constraints (within the document: see [`super::services_taken`] for the
/// server-wide one of rls-services).
pub fn validate_document(bytes: &[u8], auid: Auid, max_bytes: usize) -> Result<(), XcapError> {
    validate_document_with(bytes, auid, max_bytes, true)
}

/// As [`validate_document`]; with `schema` false, the usage's schema is not checked (the
/// `schema_validation` parameter), everything else is.
pub fn validate_document_with(bytes: &[u8], auid: Auid, max_bytes: usize, schema: bool) -> Result<(), XcapError> {
    if bytes.len() > max_bytes {
        return Err(XcapError::PayloadTooLarge { limit: max_bytes });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| XcapError::NotUtf8)?;
    if declared_encoding(text).is_some_and(|encoding| !encoding.eq_ignore_ascii_case("UTF-8")) {
        return Err(XcapError::NotUtf8);
    }
    let document = parse(text)?;
    if schema {
        schema::check(text, &document, auid)?;
    }
    uniqueness::check(text, &document, auid)
}

/// The `encoding` of the XML declaration, if the document has one that names it.
fn declared_encoding(text: &str) -> Option<&str> {
    let after = text.trim_start_matches('\u{FEFF}').strip_prefix("<?xml")?;
    if !after.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let declaration = after.split("?>").next()?;
    let value = declaration.split_once("encoding")?.1.trim_start().strip_prefix('=')?.trim_start();
    let quote = value.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    value.get(1..)?.split(quote).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_declarations() {
        assert_eq!(declared_encoding("<?xml version='1.0' encoding='UTF-8'?><a/>"), Some("UTF-8"));
        assert_eq!(
            declared_encoding("<?xml version=\"1.0\" encoding = \"iso-8859-1\" ?>"),
            Some("iso-8859-1")
        );
        assert_eq!(declared_encoding("<?xml version='1.0'?><a/>"), None);
        assert_eq!(declared_encoding("<?xml-stylesheet encoding='x'?><a/>"), None);
        assert_eq!(declared_encoding("<a encoding='x'/>"), None);
    }
}
