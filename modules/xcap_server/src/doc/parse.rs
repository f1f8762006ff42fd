//! Parsing document text into a tree, refusing what the parser must not see.

use roxmltree::Document;

use crate::error::XcapError;

/// Deepest element nesting accepted. The parser recurses once per level (kilobytes of stack per
/// level in debug builds), and no XCAP application usage nests anywhere near this deep.
pub const MAX_DEPTH: usize = 128;

/// Most attributes (namespace declarations included) on one element: the parser compares each
/// with all those before it, and XCAP elements carry a handful.
pub const MAX_ATTRIBUTES: usize = 64;

/// Parses `text` as a whole XML document without a DTD, within [`MAX_DEPTH`] and
/// [`MAX_ATTRIBUTES`].
pub(super) fn parse(text: &str) -> Result<Document<'_>, XcapError> {
    check_shape(text, MAX_DEPTH, MAX_ATTRIBUTES)?;
    Document::parse(text).map_err(|err| match err {
        roxmltree::Error::DtdDetected => {
            XcapError::ConstraintFailure("document type declarations are not allowed".to_string())
        }
        other => XcapError::NotWellFormed(other.to_string()),
    })
}

/// Refuses text whose elements may nest deeper than `max_depth` or carry more than
/// `max_attributes`, found by a scan that never counts less than the parser would see:
/// comments, CDATA sections, processing instructions and declarations are skipped, quoted
/// attribute values are stepped over (up to a `<`, where the parser stops too), every `=` in a
/// tag counts as an attribute, and a tag is open unless it ends with `/>`.
fn check_shape(text: &str, max_depth: usize, max_attributes: usize) -> Result<(), XcapError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(lt) = find_byte(bytes, i, b'<') {
        let rest = bytes.get(lt..).unwrap_or_default();
        i = if rest.starts_with(b"<!--") {
            skip_past(bytes, lt + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_past(bytes, lt + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            skip_past(bytes, lt + 2, b"?>")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            skip_past(bytes, lt + 2, b">")
        } else if rest.starts_with(b"<!") {
            skip_past(bytes, lt + 2, b">")
        } else {
            let tag = start_tag(bytes, lt + 1);
            if tag.attributes > max_attributes {
                return Err(XcapError::ConstraintFailure(format!(
                    "an element has more than {max_attributes} attributes"
                )));
            }
            if !tag.self_closing {
                depth += 1;
                if depth > max_depth {
                    return Err(XcapError::ConstraintFailure(format!(
                        "elements nest deeper than {max_depth} levels"
                    )));
                }
            }
            tag.end
        };
    }
    Ok(())
}

/// What the scan learns of one start tag.
struct StartTag {
    /// Index just past the tag.
    end: usize,
    self_closing: bool,
    attributes: usize,
}

/// The start tag whose name begins at `from`.
fn start_tag(bytes: &[u8], from: usize) -> StartTag {
    let mut i = from;
    let mut quote = None;
    let mut attributes = 0;
    while let Some(&b) = bytes.get(i) {
        match (quote, b) {
            (_, b'<') => return StartTag { end: i, self_closing: false, attributes },
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'=') => attributes += 1,
            (None, b'>') => {
                let self_closing = i > from && bytes.get(i - 1) == Some(&b'/');
                return StartTag { end: i + 1, self_closing, attributes };
            }
            (None, _) => {}
        }
        i += 1;
    }
    StartTag { end: i, self_closing: false, attributes }
}

fn find_byte(bytes: &[u8], from: usize, byte: u8) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter().position(|&b| b == byte).map(|at| from + at)
}

/// The index just past the first `end` at or after `from` (the end of input if none).
fn skip_past(bytes: &[u8], from: usize, end: &[u8]) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    rest.windows(end.len())
        .position(|window| window == end)
        .map_or(bytes.len(), |at| from + at + end.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nested(depth: usize) -> String {
        "<a>".repeat(depth) + &"</a>".repeat(depth)
    }

    #[test]
    fn parses_documents_up_to_the_limit() {
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            parse(&nested(MAX_DEPTH + 1)).unwrap_err(),
            XcapError::ConstraintFailure(format!("elements nest deeper than {MAX_DEPTH} levels"))
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_the_parser_sees_it() {
        let deep = "<a>".repeat(1_000_000);
        assert!(matches!(parse(&deep), Err(XcapError::ConstraintFailure(_))));
    }

    #[test]
    fn things_that_are_not_open_tags_do_not_count() {
        let inner = "<b/><!-- <c><c> --><![CDATA[<d><d>]]><?pi <e>?><f x='>' y=\"/>\"/>".repeat(10);
        let doc = format!("<a>{inner}</a>");
        assert_eq!(check_shape(&doc, 1, 2), Ok(()));
        assert!(check_shape("<a><b x='>'><c>", 2, 2).is_err());
        assert!(check_shape("<a><b x='<c><d>", 3, 2).is_err());
    }

    #[test]
    fn attributes_are_counted_per_element() {
        assert_eq!(check_shape("<a x='=' y=\"=\"><b z='1'/></a>", 2, 2), Ok(()));
        assert!(check_shape("<a x='1' y='2' z='3'/>", 2, 2).is_err());
        let many = format!(
            "<a {}/>",
            (0..=MAX_ATTRIBUTES).map(|n| format!("a{n}=''")).collect::<Vec<_>>().join(" ")
        );
        assert_eq!(
            parse(&many).unwrap_err(),
            XcapError::ConstraintFailure(format!(
                "an element has more than {MAX_ATTRIBUTES} attributes"
            ))
        );
    }

    #[test]
    fn dtd_and_malformed_documents() {
        assert_eq!(
            parse("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>").unwrap_err(),
            XcapError::ConstraintFailure("document type declarations are not allowed".into())
        );
        assert!(matches!(parse("<a><b></a>"), Err(XcapError::NotWellFormed(_))));
        assert!(matches!(parse(""), Err(XcapError::NotWellFormed(_))));
    }

    #[test]
    fn byte_order_mark_is_accepted() {
        assert!(parse("\u{FEFF}<?xml version=\"1.0\"?><a/>").is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse(&text);
        }

        #[test]
        fn markup_soup_never_panics(text in "[<>/!?\\[\\]a-c'\"= -]{0,200}") {
            let _ = parse(&text);
        }
    }
}
