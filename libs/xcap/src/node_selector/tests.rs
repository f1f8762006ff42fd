use super::*;
use proptest::prelude::*;

const RL: &str = "urn:ietf:params:xml:ns:resource-lists";
const CP: &str = "urn:ietf:params:xml:ns:common-policy";

fn parse(text: &str) -> Result<NodeSelector, SelectorError> {
    NodeSelector::parse(text, &[], Some(RL))
}

fn name(local: &str) -> Name {
    Name { prefix: None, local: local.to_string(), namespace: Some(RL.to_string()) }
}

fn attr_name(local: &str) -> Name {
    Name { prefix: None, local: local.to_string(), namespace: None }
}

fn step(local: &str) -> Step {
    Step { name: NameTest::Name(name(local)), position: None, attribute: None }
}

fn attr_test(local: &str, value: &str) -> Option<AttributeTest> {
    Some(AttributeTest { name: attr_name(local), value: value.to_string() })
}

#[test]
fn element_steps_with_position_and_attribute_tests() {
    let sel = parse("resource-lists/list[@name=\"friends\"]/entry[2]").unwrap();
    assert_eq!(
        sel,
        NodeSelector {
            steps: vec![
                step("resource-lists"),
                Step { attribute: attr_test("name", "friends"), ..step("list") },
                Step { position: Some(2), ..step("entry") },
            ],
            terminal: None,
        }
    );
}

#[test]
fn leading_slash_of_the_uri_node_part_is_accepted() {
    assert_eq!(parse("/resource-lists/list"), parse("resource-lists/list"));
}

#[test]
fn position_then_attribute_and_wildcards() {
    let sel = parse("resource-lists/*[3][@name='x']/*[@uri=\"sip:a@b\"]").unwrap();
    assert_eq!(sel.steps[1].name, NameTest::Any);
    assert_eq!(sel.steps[1].position, Some(3));
    assert_eq!(sel.steps[1].attribute, attr_test("name", "x"));
    assert_eq!(sel.steps[2].attribute, attr_test("uri", "sip:a@b"));
}

#[test]
fn terminal_attribute_and_namespace_selectors() {
    let sel = parse("resource-lists/list[1]/@name").unwrap();
    assert_eq!(sel.terminal, Some(Terminal::Attribute(attr_name("name"))));
    assert_eq!(sel.element().terminal, None);
    let sel = parse("resource-lists/list/namespace::*").unwrap();
    assert_eq!(sel.terminal, Some(Terminal::Namespaces));
    assert_eq!(sel.steps.len(), 2);
}

#[test]
fn element_named_namespace_is_still_an_element() {
    let sel = parse("resource-lists/namespace").unwrap();
    assert_eq!(sel.steps[1], step("namespace"));
}

#[test]
fn prefixes_resolve_through_bindings_and_later_bindings_win() {
    let bindings = vec![
        ("cp".to_string(), "urn:old".to_string()),
        ("cp".to_string(), CP.to_string()),
        ("x".to_string(), "urn:x".to_string()),
    ];
    let sel = NodeSelector::parse(
        "cp:ruleset/cp:rule[@id=\"a\"]/@x:flag",
        &bindings,
        Some("urn:ietf:params:xml:ns:pres-rules"),
    )
    .unwrap();
    let NameTest::Name(root) = &sel.steps[0].name else { panic!("root is named") };
    assert_eq!(root.namespace.as_deref(), Some(CP));
    assert_eq!(root.prefix.as_deref(), Some("cp"));
    let Some(Terminal::Attribute(flag)) = &sel.terminal else { panic!("attribute terminal") };
    assert_eq!(flag.namespace.as_deref(), Some("urn:x"));
}

#[test]
fn unprefixed_names_without_default_namespace_are_in_no_namespace() {
    let sel = NodeSelector::parse("a/b", &[], None).unwrap();
    assert_eq!(sel.steps[1].name, NameTest::Name(attr_name("b")));
}

#[test]
fn xml_prefix_is_always_bound() {
    let sel = parse("resource-lists/list[@xml:lang=\"en\"]").unwrap();
    let test = sel.steps[1].attribute.as_ref().unwrap();
    assert_eq!(test.name.namespace.as_deref(), Some("http://www.w3.org/XML/1998/namespace"));
}

#[test]
fn unbound_prefix_is_an_error() {
    assert_eq!(parse("rl:resource-lists"), Err(SelectorError::UnboundPrefix("rl".into())));
    assert_eq!(parse("a/@p:b"), Err(SelectorError::UnboundPrefix("p".into())));
}

#[test]
fn values_may_hold_slashes_brackets_quotes_and_references() {
    let sel = parse("resource-lists/list/entry[@uri=\"sip:a/b]c[@x'y\"]/display-name").unwrap();
    assert_eq!(sel.steps[2].attribute, attr_test("uri", "sip:a/b]c[@x'y"));
    assert_eq!(sel.steps.len(), 4);
    let sel = parse("a/b[@v='say \"hi\"']").unwrap();
    assert_eq!(sel.steps[1].attribute, attr_test("v", "say \"hi\""));
    let sel = parse("a/b[@v=\"&quot;&amp;&#x41;&lt;\"]").unwrap();
    assert_eq!(sel.steps[1].attribute, attr_test("v", "\"&A<"));
    let sel = parse("a/b[@v=\"\"]").unwrap();
    assert_eq!(sel.steps[1].attribute, attr_test("v", ""));
}

#[test]
fn extension_selectors_are_rejected() {
    for ext in ["a/text()", "a/..", "a/child::b", "a/comment()", "a/b[last()]"] {
        assert!(matches!(parse(ext), Err(SelectorError::Extension(_))), "{ext}: {:?}", parse(ext));
    }
}

#[test]
fn malformed_selectors_are_syntax_errors() {
    assert_eq!(parse(""), Err(SelectorError::Empty));
    assert_eq!(parse("/"), Err(SelectorError::Empty));
    for bad in [
        "a//b",
        "a/",
        "@x",
        "namespace::*",
        "a/@x/b",
        "a/namespace::*/b",
        "a[99999999999]",
        "a[@x=\"1\"][2]",
        "a[1][2]",
        "a[@x=\"1\"][@y=\"2\"]",
        "a[@x=1]",
        "a[@x=\"1\"",
        "a[@x=\"1\"",
        "a[1",
        "a b",
        "a[ 1]",
        "a:",
        "1a",
        "a/b c",
    ] {
        assert!(matches!(parse(bad), Err(SelectorError::Syntax { .. })), "{bad}: {:?}", parse(bad));
    }
}

#[test]
fn errors_describe_themselves() {
    assert_eq!(
        parse("a[4294967296]").unwrap_err().to_string(),
        "node selector syntax error at byte 2: expected a position from 0 to 4294967295"
    );
    assert_eq!(
        parse("p:a").unwrap_err().to_string(),
        "namespace prefix 'p' has no xmlns() binding"
    );
}

#[test]
fn display_prints_the_selector_back() {
    for text in [
        "resource-lists/list[@name=\"friends\"]/entry[2]",
        "resource-lists/*[3][@name=\"x\"]/@name",
        "resource-lists/list/namespace::*",
        "a/b[@v='say \"hi\"']",
        "a/b[@v=\"&amp;&lt;&gt;&quot;'\"]",
    ] {
        assert_eq!(parse(text).unwrap().to_string(), text);
    }
}

fn ncname() -> impl Strategy<Value = String> {
    "[A-Za-z_\u{C0}-\u{D6}][A-Za-z0-9_.\u{B7}-]{0,6}"
}

fn selector_name(
    prefixes: &'static [&'static str],
    default_ns: Option<&'static str>,
) -> impl Strategy<Value = Name> {
    (prop::option::of(prop::sample::select(prefixes)), ncname()).prop_map(move |(prefix, local)| {
        let namespace = match prefix {
            Some(p) => Some(format!("urn:{p}")),
            None => default_ns.map(str::to_string),
        };
        Name { prefix: prefix.map(str::to_string), local, namespace }
    })
}

const PREFIXES: &[&str] = &["a", "rl", "cp"];

fn arbitrary_step() -> impl Strategy<Value = Step> {
    (
        prop::option::of(selector_name(PREFIXES, Some(RL))),
        prop::option::of(1u32..),
        prop::option::of((selector_name(PREFIXES, None), any::<String>())),
    )
        .prop_map(|(name, position, attribute)| Step {
            name: name.map_or(NameTest::Any, NameTest::Name),
            position,
            attribute: attribute.map(|(name, value)| AttributeTest { name, value }),
        })
}

fn arbitrary_selector() -> impl Strategy<Value = NodeSelector> {
    (
        prop::collection::vec(arbitrary_step(), 1..5),
        prop::option::of(prop_oneof![
            selector_name(PREFIXES, None).prop_map(Terminal::Attribute),
            Just(Terminal::Namespaces),
        ]),
    )
        .prop_map(|(steps, terminal)| NodeSelector { steps, terminal })
}

fn bindings() -> Vec<(String, String)> {
    PREFIXES.iter().map(|p| (p.to_string(), format!("urn:{p}"))).collect()
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = NodeSelector::parse(&text, &bindings(), Some(RL));
    }

    #[test]
    fn selector_like_text_never_panics(text in "[a-z:/@*\\[\\]=\"'0-9&#;.()é]{0,40}") {
        let _ = NodeSelector::parse(&text, &bindings(), Some(RL));
    }

    #[test]
    fn printed_selector_parses_back_to_itself(sel in arbitrary_selector()) {
        let printed = sel.to_string();
        prop_assert_eq!(NodeSelector::parse(&printed, &bindings(), Some(RL)), Ok(sel), "{}", printed);
    }
}

#[test]
fn position_zero_is_a_predicate_that_selects_nothing() {
    let sel = parse("a/*[0][@x=\"1\"]").unwrap();
    assert_eq!(sel.steps[1].position, Some(0));
    assert_eq!(sel.to_string(), "a/*[0][@x=\"1\"]");
}
