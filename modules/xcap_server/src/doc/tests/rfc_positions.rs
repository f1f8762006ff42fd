//! The element insertion examples of RFC 4825 §8.2.3, on its example document: each PUT must
//! give exactly the document the RFC shows.

use super::super::{delete, put_element, select, Selection};
use crate::error::XcapError;
use xcap::node_selector::NodeSelector;

const NS: &str = "urn:test:default-namespace";

const DOC: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<root xmlns=\"urn:test:default-namespace\">
  <el1 att=\"first\"/>
  <el1 att=\"second\"/>
  <!-- comment -->
  <el2 att=\"first\"/>
</root>";

fn selector(text: &str) -> NodeSelector {
    NodeSelector::parse(text, &[], Some(NS)).expect(text)
}

/// PUTs `body` at `text`, checks the result is `DOC` with `old` replaced by `new`, that a GET
/// returns the body and that a DELETE gives back the original document.
fn check(text: &str, body: &str, old: &str, new: &str) {
    let sel = selector(text);
    let outcome = put_element(DOC, &sel, body).expect(text);
    assert!(outcome.created, "{text}");
    assert_eq!(DOC.matches(old).count(), 1, "{old}");
    assert_eq!(outcome.doc, DOC.replace(old, new), "{text}");
    assert_eq!(select(&outcome.doc, &sel), Ok(Selection::Element(body.to_string())), "{text}");
    assert_eq!(delete(&outcome.doc, &sel).as_deref(), Ok(DOC), "{text}");
}

#[test]
fn new_el1_goes_right_after_the_last_el1_not_after_the_comment() {
    let body = "<el1 att=\"third\"/>";
    let second = "<el1 att=\"second\"/>";
    for text in
        ["root/el1[@att=\"third\"]", "root/el1[3][@att=\"third\"]", "root/*[3][@att=\"third\"]"]
    {
        check(text, body, second, &format!("{second}{body}"));
    }
}

#[test]
fn element_without_siblings_of_its_name_goes_last() {
    check("root/el3", "<el3 att=\"first\"/>", "\n</root>", "\n<el3 att=\"first\"/></root>");
}

#[test]
fn attribute_predicates_and_positions_of_el2() {
    let body = "<el2 att=\"2\"/>";
    let el2 = "<el2 att=\"first\"/>";
    for text in ["root/el2[@att=\"2\"]", "root/el2[2][@att=\"2\"]"] {
        check(text, body, el2, &format!("{el2}{body}"));
    }
    check("root/el2[1][@att=\"2\"]", body, el2, &format!("{body}{el2}"));
    let first = "<el1 att=\"first\"/>";
    check("root/*[2][@att=\"2\"]", body, first, &format!("{first}{body}"));
}

#[test]
fn wildcard_without_position_follows_the_body_name() {
    let second = "<el1 att=\"second\"/>";
    check("root/*[@att=\"2\"]", "<el1 att=\"2\"/>", second, &format!("{second}<el1 att=\"2\"/>"));
    let el2 = "<el2 att=\"first\"/>";
    check("root/*[@att=\"2\"]", "<el2 att=\"2\"/>", el2, &format!("{el2}<el2 att=\"2\"/>"));
}

#[test]
fn positions_out_of_reach_cannot_insert() {
    for text in ["root/el1[4][@att=\"third\"]", "root/*[0][@att=\"third\"]", "root/*[5]"] {
        let result = put_element(DOC, &selector(text), "<el1 att=\"third\"/>");
        assert!(matches!(result, Err(XcapError::CannotInsert(_))), "{text}: {result:?}");
    }
}

#[test]
fn position_zero_selects_nothing() {
    for text in ["root/*[0]", "root/el1[0]", "root/el1[0]/@att", "root[0]"] {
        assert!(matches!(select(DOC, &selector(text)), Err(XcapError::NotFound(_))), "{text}");
        assert!(matches!(delete(DOC, &selector(text)), Err(XcapError::NotFound(_))), "{text}");
    }
}
