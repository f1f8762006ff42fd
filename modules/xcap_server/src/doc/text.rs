//! Reading and splicing the document text around located nodes.

use std::ops::Range;

use roxmltree::{Attribute, Node};

/// XML white space, as it may surround a PUT body or precede an attribute.
pub(super) fn is_xml_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The text of `range` in `doc` (empty if the range is not one of `doc`'s).
pub(super) fn slice(doc: &str, range: Range<usize>) -> &str {
    doc.get(range).unwrap_or_default()
}

/// `doc` with `range` replaced by `replacement`.
pub(super) fn splice(doc: &str, range: Range<usize>, replacement: &str) -> String {
    let before = doc.get(..range.start).unwrap_or_default();
    let after = doc.get(range.end..).unwrap_or_default();
    [before, replacement, after].concat()
}

/// The element's qualified name as written in its start tag.
pub(super) fn tag_name<'d>(doc: &'d str, element: Node) -> &'d str {
    let tag = slice(doc, element.range());
    let name = tag.get(1..).unwrap_or_default();
    let end = name.find(|c: char| is_xml_blank(c) || c == '/' || c == '>').unwrap_or(name.len());
    name.get(..end).unwrap_or_default()
}

/// Where new content goes at the end of the element: the start of its end tag. `None` for an
/// empty-element tag (`<a/>`), which must be rewritten to take content.
pub(super) fn end_tag_start(doc: &str, element: Node) -> Option<usize> {
    let text = slice(doc, element.range());
    if text.ends_with("/>") {
        return None;
    }
    text.rfind("</").map(|at| element.range().start + at)
}

/// Where a new attribute goes: after the last attribute, or after the element name.
pub(super) fn attribute_insertion_point(doc: &str, element: Node) -> usize {
    match element.attributes().next_back() {
        Some(attribute) => attribute.range().end,
        None => element.range().start + 1 + tag_name(doc, element).len(),
    }
}

/// The attribute's qualified name as written.
pub(super) fn attribute_name<'d>(doc: &'d str, attribute: &Attribute) -> &'d str {
    let text = slice(doc, attribute.range());
    text.split('=').next().unwrap_or_default().trim_end_matches(is_xml_blank)
}

/// The byte range of the attribute value as written, between its quotes.
pub(super) fn attribute_value_range(doc: &str, attribute: &Attribute) -> Range<usize> {
    let range = attribute.range();
    let text = slice(doc, range.clone());
    // The name holds no quotes, so the first quote opens the value and the last closes it.
    let open = text.find(['"', '\'']).map_or(text.len(), |at| at + 1);
    let close = text.len().saturating_sub(1).max(open);
    range.start + open..range.start + close
}

/// `range` widened to take in the white space before it.
pub(super) fn with_leading_blanks(doc: &str, range: Range<usize>) -> Range<usize> {
    let before = doc.get(..range.start).unwrap_or_default();
    before.trim_end_matches(is_xml_blank).len()..range.end
}

#[cfg(test)]
mod tests {
    use super::*;
    use roxmltree::Document;

    const DOC: &str = "<r:a xmlns:r='urn:r'  x = \"1\" y='v\"w'><b/><c>t</c ><d\n/></r:a>";

    #[test]
    fn names_and_end_tags() {
        let doc = Document::parse(DOC).unwrap();
        let root = doc.root_element();
        assert_eq!(tag_name(DOC, root), "r:a");
        let children: Vec<_> = root.children().filter(|n| n.is_element()).collect();
        assert_eq!(tag_name(DOC, children[2]), "d");
        assert_eq!(end_tag_start(DOC, children[0]), None);
        assert_eq!(end_tag_start(DOC, children[2]), None);
        assert_eq!(
            slice(DOC, end_tag_start(DOC, children[1]).unwrap()..children[1].range().end),
            "</c >"
        );
        assert_eq!(slice(DOC, end_tag_start(DOC, root).unwrap()..DOC.len()), "</r:a>");
    }

    #[test]
    fn attribute_parts() {
        let doc = Document::parse(DOC).unwrap();
        let root = doc.root_element();
        let x = root.attributes().find(|a| a.name() == "x").unwrap();
        let y = root.attributes().find(|a| a.name() == "y").unwrap();
        assert_eq!(attribute_name(DOC, &x), "x");
        assert_eq!(slice(DOC, attribute_value_range(DOC, &x)), "1");
        assert_eq!(slice(DOC, attribute_value_range(DOC, &y)), "v\"w");
        assert_eq!(slice(DOC, with_leading_blanks(DOC, x.range())), "  x = \"1\"");
        assert_eq!(&DOC[attribute_insertion_point(DOC, root)..][..1], ">");
        let b = root.first_element_child().unwrap();
        assert_eq!(&DOC[attribute_insertion_point(DOC, b)..][..2], "/>");
    }

    #[test]
    fn splices() {
        assert_eq!(splice("abcdef", 2..4, "XY"), "abXYef");
        assert_eq!(splice("abc", 3..3, "d"), "abcd");
    }
}
