use super::*;

const RLS_NS: &str = "urn:ietf:params:xml:ns:rls-services";
const RL_NS: &str = "urn:ietf:params:xml:ns:resource-lists";

fn pos(n: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(n)
}

fn attr<'a>(name: &'a str, value: &'a str) -> Option<AttrTest<'a>> {
    Some(AttrTest { name, value })
}

fn named(steps: &[&str]) -> NodeSelectorBuilder {
    let mut sel = NodeSelectorBuilder::new();
    for step in steps {
        sel.add_step(Some(step), None, None, None, None).unwrap();
    }
    sel
}

#[test]
fn new_selector_is_empty() {
    let sel = NodeSelectorBuilder::new();
    assert!(sel.is_empty());
    assert_eq!(sel.to_string(), "");
    assert_eq!(sel.namespace_query(), None);
}

#[test]
fn steps_are_joined_by_slashes() {
    let sel = named(&["resource-lists", "list", "entry"]);
    assert!(!sel.is_empty());
    assert_eq!(sel.to_string(), "resource-lists/list/entry");
}

#[test]
fn missing_name_or_star_is_a_wildcard() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(None, None, None, None, None).unwrap();
    sel.add_step(Some("*"), None, pos(2), None, None).unwrap();
    assert_eq!(sel.to_string(), "*/*[2]");
}

#[test]
fn position_predicate() {
    let mut sel = named(&["resource-lists"]);
    sel.add_step(Some("list"), None, pos(3), None, None)
        .unwrap();
    assert_eq!(sel.to_string(), "resource-lists/list[3]");
}

#[test]
fn attribute_predicate_is_quoted_with_at_sign() {
    let mut sel = named(&["resource-lists"]);
    sel.add_step(Some("list"), None, None, attr("name", "friends"), None)
        .unwrap();
    assert_eq!(sel.to_string(), r#"resource-lists/list[@name="friends"]"#);
}

#[test]
fn position_comes_before_attribute_test() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(
        Some("entry"),
        None,
        pos(2),
        attr("uri", "sip:bob@example.com"),
        None,
    )
    .unwrap();
    assert_eq!(sel.to_string(), r#"entry[2][@uri="sip:bob@example.com"]"#);
}

#[test]
fn attribute_value_is_escaped_for_xml() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(
        Some("list"),
        None,
        None,
        attr("name", r#"a"b&c<d'e/f"#),
        None,
    )
    .unwrap();
    assert_eq!(sel.to_string(), r#"list[@name="a&quot;b&amp;c&lt;d'e/f"]"#);
}

#[test]
fn prefixed_attribute_name_is_accepted() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(
        Some("display-name"),
        None,
        None,
        attr("xml:lang", "en"),
        None,
    )
    .unwrap();
    assert_eq!(sel.to_string(), r#"display-name[@xml:lang="en"]"#);
}

#[test]
fn extra_text_is_appended_to_the_step() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(Some("entry"), None, pos(1), None, Some("[@uri=\"x\"]"))
        .unwrap();
    sel.add_step(Some("display-name"), None, None, None, None)
        .unwrap();
    assert_eq!(sel.to_string(), r#"entry[1][@uri="x"]/display-name"#);
}

#[test]
fn namespaced_steps_get_prefixes_and_a_query() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(Some("rls-services"), Some(RLS_NS), None, None, None)
        .unwrap();
    sel.add_step(
        Some("service"),
        Some(RLS_NS),
        None,
        attr("uri", "sip:l@x"),
        None,
    )
    .unwrap();
    sel.add_step(Some("list"), Some(RL_NS), None, None, None)
        .unwrap();
    assert_eq!(
        sel.path(),
        r#"a:rls-services/a:service[@uri="sip:l@x"]/b:list"#
    );
    assert_eq!(
        sel.namespace_query().unwrap(),
        format!("xmlns(a={RLS_NS})xmlns(b={RL_NS})")
    );
    assert_eq!(
        sel.to_string(),
        format!("{}?xmlns(a={RLS_NS})xmlns(b={RL_NS})", sel.path())
    );
}

#[test]
fn unqualified_steps_mix_with_qualified_ones() {
    let mut sel = named(&["resource-lists"]);
    sel.add_step(Some("ext"), Some("urn:test"), None, None, None)
        .unwrap();
    assert_eq!(sel.to_string(), "resource-lists/a:ext?xmlns(a=urn:test)");
}

#[test]
fn empty_namespace_counts_as_none() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(Some("list"), Some(""), None, None, None)
        .unwrap();
    sel.add_step(None, Some(""), None, None, None).unwrap();
    assert_eq!(sel.to_string(), "list/*");
}

#[test]
fn namespace_parentheses_are_escaped_for_xpointer() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(Some("x"), Some("urn:a(b)^c"), None, None, None)
        .unwrap();
    assert_eq!(sel.namespace_query().unwrap(), "xmlns(a=urn:a^(b^)^^c)");
}

#[test]
fn prefixes_continue_past_z() {
    let mut sel = NodeSelectorBuilder::new();
    for i in 0..28 {
        sel.add_step(Some("e"), Some(&format!("urn:ns:{i}")), None, None, None)
            .unwrap();
    }
    let path = sel.path();
    let prefixes: Vec<&str> = path
        .split('/')
        .map(|step| step.split(':').next().unwrap())
        .collect();
    assert_eq!(prefixes[0], "a");
    assert_eq!(prefixes[25], "z");
    assert_eq!(prefixes[26], "aa");
    assert_eq!(prefixes[27], "ab");
    assert!(sel
        .namespace_query()
        .unwrap()
        .ends_with("xmlns(ab=urn:ns:27)"));
}

#[test]
fn prefix_sequence() {
    assert_eq!(prefix(0), "a");
    assert_eq!(prefix(25), "z");
    assert_eq!(prefix(26), "aa");
    assert_eq!(prefix(51), "az");
    assert_eq!(prefix(52), "ba");
    assert_eq!(prefix(701), "zz");
    assert_eq!(prefix(702), "aaa");
}

#[test]
fn terminal_attribute_selector() {
    let mut sel = named(&["resource-lists", "list"]);
    sel.add_terminal(Some("name"), None, None).unwrap();
    assert_eq!(sel.to_string(), "resource-lists/list/@name");

    let mut sel = named(&["list"]);
    sel.add_terminal(Some("@name"), None, None).unwrap();
    assert_eq!(sel.to_string(), "list/@name");
}

#[test]
fn terminal_namespace_selector() {
    let mut sel = named(&["resource-lists"]);
    sel.add_terminal(None, Some("namespace::*"), None).unwrap();
    assert_eq!(sel.to_string(), "resource-lists/namespace::*");
}

#[test]
fn terminal_extension_selector() {
    let mut sel = named(&["resource-lists"]);
    sel.add_terminal(None, None, Some("text()")).unwrap();
    assert_eq!(sel.to_string(), "resource-lists/text()");
}

#[test]
fn terminal_keeps_namespace_query_last() {
    let mut sel = NodeSelectorBuilder::new();
    sel.add_step(Some("list"), Some(RL_NS), None, None, None)
        .unwrap();
    sel.add_terminal(Some("name"), None, None).unwrap();
    assert_eq!(sel.to_string(), format!("a:list/@name?xmlns(a={RL_NS})"));
}

#[test]
fn terminal_needs_exactly_one_kind() {
    let mut sel = named(&["list"]);
    assert_eq!(
        sel.add_terminal(None, None, None),
        Err(BuildError::TerminalChoice)
    );
    assert_eq!(
        sel.add_terminal(Some("a"), Some("x"), None),
        Err(BuildError::TerminalChoice)
    );
    assert_eq!(
        sel.add_terminal(Some("a"), None, Some("x")),
        Err(BuildError::TerminalChoice)
    );
    assert_eq!(
        sel.add_terminal(None, Some("x"), Some("y")),
        Err(BuildError::TerminalChoice)
    );
    assert_eq!(sel.to_string(), "list");
}

#[test]
fn terminal_needs_a_step() {
    let mut sel = NodeSelectorBuilder::new();
    assert_eq!(
        sel.add_terminal(Some("name"), None, None),
        Err(BuildError::NoStep)
    );
    assert!(sel.is_empty());
}

#[test]
fn nothing_follows_a_terminal() {
    let mut sel = named(&["list"]);
    sel.add_terminal(Some("name"), None, None).unwrap();
    assert_eq!(
        sel.add_step(Some("entry"), None, None, None, None),
        Err(BuildError::AfterTerminal)
    );
    assert_eq!(
        sel.add_terminal(Some("uri"), None, None),
        Err(BuildError::AfterTerminal)
    );
    assert_eq!(sel.to_string(), "list/@name");
}

#[test]
fn invalid_names_are_refused() {
    for name in [
        "", "a b", "a/b", "1abc", "-a", "a:b:c", ":a", "a:", "a[1]", "a@b", "a\"b", "a\u{0}",
    ] {
        let mut sel = NodeSelectorBuilder::new();
        assert_eq!(
            sel.add_step(Some(name), None, None, None, None),
            Err(BuildError::InvalidName(name.to_owned())),
            "{name:?}"
        );
        assert!(sel.is_empty());
    }
}

#[test]
fn valid_names_are_accepted() {
    for name in [
        "a",
        "_x",
        "rls-services",
        "e.1",
        "pres:list",
        "jörg",
        "データ",
    ] {
        let mut sel = NodeSelectorBuilder::new();
        assert_eq!(
            sel.add_step(Some(name), None, None, None, None),
            Ok(()),
            "{name:?}"
        );
    }
}

#[test]
fn prefixed_name_cannot_also_take_a_namespace() {
    let mut sel = NodeSelectorBuilder::new();
    assert_eq!(
        sel.add_step(Some("rl:list"), Some(RL_NS), None, None, None),
        Err(BuildError::InvalidName("rl:list".into()))
    );
    assert_eq!(sel.namespace_query(), None);
}

#[test]
fn wildcard_cannot_take_a_namespace() {
    let mut sel = NodeSelectorBuilder::new();
    assert_eq!(
        sel.add_step(None, Some(RL_NS), None, None, None),
        Err(BuildError::NamespacedWildcard)
    );
    assert_eq!(
        sel.add_step(Some("*"), Some(RL_NS), None, None, None),
        Err(BuildError::NamespacedWildcard)
    );
}

#[test]
fn refused_step_leaves_no_namespace_binding() {
    let mut sel = NodeSelectorBuilder::new();
    let bad_attr = attr("bad name", "v");
    assert!(sel
        .add_step(Some("list"), Some(RL_NS), None, bad_attr, None)
        .is_err());
    assert!(sel
        .add_step(Some("list"), Some(RL_NS), None, None, Some("a/b"))
        .is_err());
    assert!(sel.is_empty());
    assert_eq!(sel.namespace_query(), None);
}

#[test]
fn extensions_cannot_hold_slashes_or_be_empty() {
    let mut sel = named(&["list"]);
    assert_eq!(
        sel.add_step(Some("e"), None, None, None, Some("[a/b]")),
        Err(BuildError::InvalidExtension("[a/b]".into()))
    );
    assert_eq!(
        sel.add_terminal(None, None, Some("")),
        Err(BuildError::InvalidExtension(String::new()))
    );
    assert_eq!(
        sel.add_terminal(None, None, Some("a/b")),
        Err(BuildError::InvalidExtension("a/b".into()))
    );
    assert_eq!(sel.to_string(), "list");
}

#[test]
fn errors_read_well_in_a_log() {
    assert_eq!(
        BuildError::InvalidName("a b".into()).to_string(),
        "invalid XML name \"a b\" in node selector"
    );
    assert_eq!(
        BuildError::NoStep.to_string(),
        "a terminal selector needs a step before it"
    );
}

#[test]
fn arbitrary_input_never_panics() {
    const ALPHABET: [&str; 12] = ["a", ":", "/", "@", "[", "]", "\"", "*", "é", "1", "-", "^("];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut sel = NodeSelectorBuilder::new();
    for _ in 0..5_000 {
        let mut text = || -> String {
            (0..next() % 8)
                .map(|_| ALPHABET[(next() % 12) as usize])
                .collect()
        };
        let (name, ns, value, extra) = (text(), text(), text(), text());
        let test = AttrTest {
            name: &name,
            value: &value,
        };
        let _ = sel.add_step(
            Some(&name),
            Some(&ns),
            NonZeroU32::new(name.len() as u32),
            Some(test),
            Some(&extra),
        );
        let _ = sel.add_step(Some(&name), None, None, None, None);
        if name.len() > 12 {
            let _ = sel.add_terminal(Some(&name), None, None);
            sel = NodeSelectorBuilder::new();
        }
        let _ = sel.to_string();
    }
}
