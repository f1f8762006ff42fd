//! Arbitrary selectors, bodies and documents never make the operations panic, and every
//! successful PUT can be read back.

use proptest::prelude::*;

use super::super::samples::{PRES_RULES, RESOURCE_LISTS, RLS_SERVICES};
use super::super::{delete, put_attribute, put_element, select, validate_document, Selection};
use super::bindings;
use xcap::auid::Auid;
use xcap::node_selector::NodeSelector;

fn selector_text() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        Just("resource-lists".to_string()),
        Just("list".to_string()),
        Just("entry".to_string()),
        Just("*".to_string()),
        Just("rl:entry".to_string()),
        Just("list[@name=\"friends\"]".to_string()),
        Just("entry[@uri=\"sip:new@example.com\"]".to_string()),
        (1u32..5).prop_map(|n| format!("entry[{n}]")),
        (1u32..5).prop_map(|n| format!("*[{n}][@uri=\"sip:n@x\"]")),
    ];
    (
        prop::collection::vec(step, 1..5),
        prop::option::of(prop_oneof![Just("/@name"), Just("/@uri"), Just("/namespace::*")]),
    )
        .prop_map(|(steps, terminal)| steps.join("/") + terminal.unwrap_or_default())
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<entry uri=\"sip:new@example.com\"/>".to_string()),
        Just("<entry uri=\"sip:n@x\"><display-name>N</display-name></entry>".to_string()),
        Just("<list name=\"friends\"/>".to_string()),
        Just("<rl:entry uri=\"sip:n@x\"/>".to_string()),
        "[<>/a-z=\" ]{0,30}",
    ]
}

fn document() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![RESOURCE_LISTS, RLS_SERVICES, PRES_RULES, "<a/>", ""])
}

fn parse(text: &str) -> Option<NodeSelector> {
    NodeSelector::parse(text, &bindings(), Some(Auid::ResourceLists.default_namespace())).ok()
}

proptest! {
    #[test]
    fn operations_never_panic(doc in document(), text in selector_text(), body in body()) {
        if let Some(selector) = parse(&text) {
            let _ = select(doc, &selector);
            let _ = delete(doc, &selector);
            let _ = put_attribute(doc, &selector, &body);
            if let Ok(outcome) = put_element(doc, &selector, &body) {
                prop_assert_eq!(select(&outcome.doc, &selector), Ok(Selection::Element(body.trim().to_string())));
            }
        }
    }

    #[test]
    fn arbitrary_documents_never_panic(doc in any::<String>(), body in any::<String>()) {
        let selector = parse("resource-lists/list[1]/entry[@uri=\"a\"]").expect("valid selector");
        let _ = select(&doc, &selector);
        let _ = put_element(&doc, &selector, &body);
        let _ = delete(&doc, &selector);
        let _ = validate_document(doc.as_bytes(), Auid::ResourceLists, 1 << 16);
        let _ = validate_document(body.as_bytes(), Auid::RlsServices, 1 << 16);
    }

    #[test]
    fn successful_attribute_puts_read_back(text in selector_text(), value in "[a-z &;\"]{0,12}") {
        if let Some(selector) = parse(&format!("{text}/@label")) {
            if let Ok(outcome) = put_attribute(RESOURCE_LISTS, &selector, &value) {
                prop_assert_eq!(select(&outcome.doc, &selector), Ok(Selection::Attribute(value)));
            }
        }
    }
}
