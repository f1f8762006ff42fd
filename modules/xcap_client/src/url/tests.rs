use super::*;

const ALICE: &str = "sip:alice@example.com";

fn users<'a>(auid: &'a str, xid: &'a str, filename: &'a str) -> DocSelector<'a> {
    DocSelector {
        auid,
        xid: Some(xid),
        filename,
    }
}

fn global<'a>(auid: &'a str, filename: &'a str) -> DocSelector<'a> {
    DocSelector {
        auid,
        xid: None,
        filename,
    }
}

fn url(root: &str, port: u16, doc: DocSelector<'_>) -> String {
    document_url(root, port, &doc, None).unwrap()
}

fn alice() -> Xid {
    Xid {
        user: "alice".into(),
        domain: "example.com".into(),
    }
}

#[test]
fn users_document() {
    assert_eq!(
        url(
            "http://xcap.example.com",
            0,
            users("pres-rules", ALICE, "index")
        ),
        "http://xcap.example.com/pres-rules/users/sip:alice@example.com/index"
    );
}

#[test]
fn global_document() {
    assert_eq!(
        url("http://xcap.example.com", 0, global("xcap-caps", "index")),
        "http://xcap.example.com/xcap-caps/global/index"
    );
}

#[test]
fn root_path_is_kept_and_trailing_slashes_do_not_double() {
    let expected = "http://h/xcap-root/pres-rules/users/sip:alice@example.com/index";
    for root in [
        "http://h/xcap-root",
        "http://h/xcap-root/",
        "http://h/xcap-root//",
    ] {
        assert_eq!(
            url(root, 0, users("pres-rules", ALICE, "index")),
            expected,
            "{root}"
        );
    }
    assert_eq!(
        url("http://h/", 0, global("xcap-caps", "index")),
        "http://h/xcap-caps/global/index"
    );
}

#[test]
fn root_without_scheme_is_http() {
    assert_eq!(
        url("xcap.example.com", 0, global("xcap-caps", "index")),
        "http://xcap.example.com/xcap-caps/global/index"
    );
    assert_eq!(
        url("xcap.example.com/root", 8080, global("a", "b")),
        "http://xcap.example.com:8080/root/a/global/b"
    );
}

#[test]
fn scheme_is_case_insensitive_and_lowercased() {
    assert_eq!(
        url("HTTPS://H", 0, global("a", "b")),
        "https://H/a/global/b"
    );
}

#[test]
fn port_goes_into_a_root_without_one() {
    assert_eq!(
        url("http://h", 8080, global("a", "b")),
        "http://h:8080/a/global/b"
    );
    assert_eq!(
        url("https://h/r", 8443, global("a", "b")),
        "https://h:8443/r/a/global/b"
    );
    assert_eq!(
        url("http://h:", 8080, global("a", "b")),
        "http://h:8080/a/global/b"
    );
    assert_eq!(url("http://h:", 0, global("a", "b")), "http://h/a/global/b");
}

#[test]
fn port_in_the_root_wins() {
    assert_eq!(
        url("http://h:9000", 8080, global("a", "b")),
        "http://h:9000/a/global/b"
    );
    assert_eq!(
        url("http://h:9000/r/", 80, global("a", "b")),
        "http://h:9000/r/a/global/b"
    );
}

#[test]
fn zero_and_default_ports_leave_the_root_alone() {
    assert_eq!(url("http://h", 0, global("a", "b")), "http://h/a/global/b");
    assert_eq!(url("http://h", 80, global("a", "b")), "http://h/a/global/b");
    assert_eq!(
        url("https://h", 443, global("a", "b")),
        "https://h/a/global/b"
    );
    assert_eq!(
        url("https://h", 80, global("a", "b")),
        "https://h:80/a/global/b"
    );
    assert_eq!(
        url("http://h", 443, global("a", "b")),
        "http://h:443/a/global/b"
    );
}

#[test]
fn colon_in_path_or_userinfo_is_not_a_port() {
    assert_eq!(
        url("http://h/xcap-root:800", 800, global("a", "b")),
        "http://h:800/xcap-root:800/a/global/b"
    );
    assert_eq!(
        url("http://u:pw@h", 8080, global("a", "b")),
        "http://u:pw@h:8080/a/global/b"
    );
    assert_eq!(
        url("http://u:pw@h:81", 8080, global("a", "b")),
        "http://u:pw@h:81/a/global/b"
    );
}

#[test]
fn ipv6_hosts() {
    assert_eq!(
        url("http://[::1]", 8080, global("a", "b")),
        "http://[::1]:8080/a/global/b"
    );
    assert_eq!(
        url("http://[::1]:5000", 8080, global("a", "b")),
        "http://[::1]:5000/a/global/b"
    );
    assert_eq!(
        url("http://[fe80::1]/r", 0, global("a", "b")),
        "http://[fe80::1]/r/a/global/b"
    );
}

#[test]
fn bad_roots_are_refused() {
    let cases = [
        ("ftp://h", "only http and https URLs are supported"),
        ("sips://h", "only http and https URLs are supported"),
        ("http://", "no host"),
        ("", "no host"),
        ("http:///path", "no host"),
        ("http://:80", "no host"),
        ("http://u@", "no host"),
        ("http://h?x=1", "an XCAP root has no query or fragment"),
        ("http://h/r#f", "an XCAP root has no query or fragment"),
        ("http://h:8o", "malformed port"),
        ("http://h:80:81", "malformed port"),
        ("http://[::1", "malformed IPv6 host"),
        ("http://[]", "malformed IPv6 host"),
        ("http://[::1]x", "malformed port"),
    ];
    for (root, problem) in cases {
        let err = document_url(root, 0, &global("a", "b"), None).unwrap_err();
        assert_eq!(err, error(root, problem), "{root:?}");
    }
}

#[test]
fn xui_stays_one_segment() {
    let cases = [
        (
            "sip:alice smith@example.com",
            "sip:alice%20smith@example.com",
        ),
        ("sip:a/b@example.com", "sip:a%2Fb@example.com"),
        ("sip:a?b@example.com", "sip:a%3Fb@example.com"),
        ("sip:a#b@example.com", "sip:a%23b@example.com"),
        ("sip:a%40b@example.com", "sip:a%2540b@example.com"),
        ("sip:jörg@example.com", "sip:j%C3%B6rg@example.com"),
        (
            "sip:alice@example.com;transport=tcp",
            "sip:alice@example.com;transport=tcp",
        ),
    ];
    for (xid, encoded) in cases {
        let expected = format!("http://h/pres-rules/users/{encoded}/index");
        assert_eq!(
            url("http://h", 0, users("pres-rules", xid, "index")),
            expected,
            "{xid:?}"
        );
    }
}

#[test]
fn filename_may_have_directories_and_is_encoded_per_segment() {
    assert_eq!(
        url(
            "http://h",
            0,
            users("resource-lists", ALICE, "dir/my list.xml")
        ),
        "http://h/resource-lists/users/sip:alice@example.com/dir/my%20list.xml"
    );
    assert_eq!(
        url("http://h", 0, global("a", "x?y")),
        "http://h/a/global/x%3Fy"
    );
}

#[test]
fn unusable_segments_are_refused() {
    let bad = [
        users("", ALICE, "index"),
        users("pres-rules", "", "index"),
        users("pres-rules", "..", "index"),
        users("pres-rules", ".", "index"),
        users("pres-rules", ALICE, ""),
        users("pres-rules", ALICE, "a//b"),
        users("pres-rules", ALICE, "dir/"),
        users("pres-rules", ALICE, "/index"),
        users("pres-rules", ALICE, "../index"),
        users("pres-rules", ALICE, "~~/x"),
        global("pres-rules", "~~"),
    ];
    for doc in bad {
        let err = document_url("http://h", 0, &doc, None).unwrap_err();
        assert_eq!(err.problem, "not usable as a path segment", "{doc:?}");
    }
}

#[test]
fn auid_is_one_segment() {
    assert_eq!(
        url("http://h", 0, global("a/b", "index")),
        "http://h/a%2Fb/global/index"
    );
}

#[test]
fn node_selector_follows_the_separator_percent_encoded() {
    let mut node = NodeSelectorBuilder::new();
    node.add_step(Some("resource-lists"), None, None, None, None)
        .unwrap();
    let test = xcap::node_selector::AttrTest {
        name: "name",
        value: "my friends",
    };
    node.add_step(Some("list"), None, None, Some(test), None)
        .unwrap();
    let built = document_url(
        "http://h",
        0,
        &users("resource-lists", ALICE, "index"),
        Some(&node),
    )
    .unwrap();
    assert_eq!(
        built,
        "http://h/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22my%20friends%22%5D"
    );
}

#[test]
fn node_selector_namespaces_go_into_the_query() {
    let ns = "urn:ietf:params:xml:ns:rls-services";
    let mut node = NodeSelectorBuilder::new();
    node.add_step(Some("rls-services"), Some(ns), None, None, None)
        .unwrap();
    node.add_step(
        Some("service"),
        Some(ns),
        Some(std::num::NonZeroU32::MIN),
        None,
        None,
    )
    .unwrap();
    node.add_terminal(Some("uri"), None, None).unwrap();
    let built = document_url(
        "http://h",
        0,
        &users("rls-services", ALICE, "index"),
        Some(&node),
    )
    .unwrap();
    assert_eq!(
        built,
        format!("http://h/rls-services/users/sip:alice@example.com/index/~~/a:rls-services/a:service%5B1%5D/@uri?xmlns(a={ns})")
    );
}

#[test]
fn node_selector_query_escapes_what_a_query_cannot_hold() {
    let mut node = NodeSelectorBuilder::new();
    node.add_step(Some("x"), Some("urn:a b(c)#"), None, None, None)
        .unwrap();
    let built = document_url("http://h", 0, &global("a", "b"), Some(&node)).unwrap();
    assert_eq!(
        built,
        "http://h/a/global/b/~~/a:x?xmlns(a=urn:a%20b%5E(c%5E)%23)"
    );
}

#[test]
fn empty_node_selector_selects_the_whole_document() {
    let node = NodeSelectorBuilder::new();
    let built = document_url("http://h", 0, &global("a", "b"), Some(&node)).unwrap();
    assert_eq!(built, "http://h/a/global/b");
}

#[test]
fn with_port_applies_the_same_rule_to_stored_urls() {
    let stored = "http://h/pres-rules/users/sip:alice@example.com/index";
    assert_eq!(
        with_port(stored, 8080).unwrap(),
        "http://h:8080/pres-rules/users/sip:alice@example.com/index"
    );
    assert_eq!(with_port(stored, 0).unwrap(), stored);
    assert_eq!(
        with_port("http://h:81/x?y", 8080).unwrap(),
        "http://h:81/x?y"
    );
    assert_eq!(with_port("http://h?y", 8080).unwrap(), "http://h:8080?y");
    assert!(with_port("ftp://h/x", 8080).is_err());
}

#[test]
fn parses_a_users_document_url() {
    let parsed =
        parse_doc_uri("http://xcap.example.com:8000/pres-rules/users/sip:alice@example.com/index")
            .unwrap();
    assert_eq!(
        parsed,
        DocUri {
            auid: "pres-rules".into(),
            doc_type: DocType::PresRules,
            tree: DocTree::Users(alice()),
            file: "index".into(),
        }
    );
    assert_eq!(parsed.doc_type.flag(), 2);
}

#[test]
fn parses_below_a_root_with_a_path() {
    let parsed = parse_doc_uri(
        "https://h/xcap-root/resource-lists/users/sip:alice@example.com/dir/buddies.xml",
    )
    .unwrap();
    assert_eq!(parsed.auid, "resource-lists");
    assert_eq!(parsed.doc_type.flag(), 4);
    assert_eq!(parsed.tree, DocTree::Users(alice()));
    assert_eq!(parsed.file, "dir/buddies.xml");
}

#[test]
fn rls_services_is_its_own_type() {
    let parsed = parse_doc_uri("http://h/rls-services/users/sip:alice@example.com/index").unwrap();
    assert_eq!(parsed.doc_type, DocType::RlsService);
    assert_eq!(parsed.doc_type.flag(), 8);
}

#[test]
fn parses_a_global_document_url() {
    let parsed = parse_doc_uri("http://h/xcap-caps/global/index").unwrap();
    assert_eq!(parsed.tree, DocTree::Global);
    assert_eq!(parsed.doc_type.flag(), 32);
    assert_eq!(parsed.file, "index");
}

#[test]
fn percent_encoded_parts_are_decoded() {
    let parsed =
        parse_doc_uri("http://h/pres-rules/users/sip%3Aalice%40example.com/my%20rules").unwrap();
    assert_eq!(parsed.tree, DocTree::Users(alice()));
    assert_eq!(parsed.file, "my rules");
}

#[test]
fn xui_without_sip_scheme_or_user() {
    let parsed = parse_doc_uri("http://h/pres-rules/users/alice@example.com/index").unwrap();
    assert_eq!(parsed.tree, DocTree::Users(alice()));
    let parsed = parse_doc_uri("http://h/pres-rules/users/sip:example.com/index").unwrap();
    let DocTree::Users(xid) = parsed.tree else {
        panic!("not a users document")
    };
    assert_eq!(xid.to_string(), "sip:example.com");
}

#[test]
fn node_selector_and_query_are_not_part_of_the_file() {
    let parsed = parse_doc_uri(
        "http://h/rls-services/users/sip:alice@example.com/index/~~/a:rls-services?xmlns(a=urn:x)",
    )
    .unwrap();
    assert_eq!(parsed.file, "index");
    let parsed = parse_doc_uri("http://h/xcap-caps/global/index?x=1#frag").unwrap();
    assert_eq!(parsed.file, "index");
}

#[test]
fn scheme_less_document_url_is_http() {
    let parsed = parse_doc_uri("h:8000/pres-rules/users/sip:alice@example.com/index").unwrap();
    assert_eq!(parsed.doc_type, DocType::PresRules);
}

#[test]
fn first_known_auid_before_users_or_global_wins() {
    let parsed =
        parse_doc_uri("http://h/users/global/pres-rules/users/sip:alice@example.com/index")
            .unwrap();
    assert_eq!(parsed.doc_type, DocType::PresRules);
    assert_eq!(parsed.file, "index");
}

#[test]
fn every_type_round_trips_through_its_url() {
    let auids = [
        "pres-rules",
        "org.openmobilealliance.pres-rules",
        "resource-lists",
        "rls-services",
        "pidf-manipulation",
        "xcap-caps",
        "org.openmobilealliance.user-profile",
        "org.openmobilealliance.pres-content",
        "org.openmobilealliance.search",
        "org.openmobilealliance.xcap-directory",
    ];
    for auid in auids {
        for doc in [
            users(auid, "sip:jörg smith@example.com", "a b/c"),
            global(auid, "index"),
        ] {
            let built = document_url("http://h/root/", 8080, &doc, None).unwrap();
            let parsed = parse_doc_uri(&built).unwrap();
            assert_eq!(parsed.auid, auid);
            assert_eq!(Some(parsed.doc_type), DocType::from_auid(auid));
            assert_eq!(parsed.file, doc.filename);
            match (parsed.tree, doc.xid) {
                (DocTree::Users(xid), Some(xui)) => assert_eq!(xid.to_string(), xui),
                (DocTree::Global, None) => {}
                (tree, xid) => panic!("{built}: {tree:?} for {xid:?}"),
            }
        }
    }
}

#[test]
fn unreadable_document_urls_are_refused() {
    let cases = [
        (
            "ftp://h/pres-rules/users/sip:a@b/index",
            "only http and https URLs are supported",
        ),
        ("http:///pres-rules/users/sip:a@b/index", "no host"),
        (
            "/xcap-root/resource-lists/users/eyebeam/buddies.xml",
            "no host",
        ),
        (
            "http://h/unknown/users/sip:a@b/index",
            "no known AUID followed by users or global",
        ),
        (
            "http://h/pres-rules/group/sip:a@b/index",
            "no known AUID followed by users or global",
        ),
        (
            "http://h/pres-rules",
            "no known AUID followed by users or global",
        ),
        ("http://h", "no known AUID followed by users or global"),
        (
            "http://h/~~/pres-rules/users/sip:a@b/index",
            "no known AUID followed by users or global",
        ),
        (
            "http://h/pres-rules/users",
            "the XUI is missing or not a SIP address",
        ),
        (
            "http://h/pres-rules/users/sip:a@/index",
            "the XUI is missing or not a SIP address",
        ),
        (
            "http://h/pres-rules/users/sip%ZZ/index",
            "the XUI is missing or not a SIP address",
        ),
        (
            "http://h/pres-rules/users/sip:a@b",
            "the document path is missing or malformed",
        ),
        (
            "http://h/pres-rules/users/sip:a@b/",
            "the document path is missing or malformed",
        ),
        (
            "http://h/pres-rules/users/sip:a@b/~~/x",
            "the document path is missing or malformed",
        ),
        (
            "http://h/pres-rules/users/sip:a@b/a//b",
            "the document path is missing or malformed",
        ),
        (
            "http://h/pres-rules/users/sip:a@b/%FF",
            "the document path is missing or malformed",
        ),
        (
            "http://h/xcap-caps/global",
            "the document path is missing or malformed",
        ),
    ];
    for (uri, problem) in cases {
        assert_eq!(parse_doc_uri(uri), Err(error(uri, problem)), "{uri:?}");
    }
}

#[test]
fn error_reads_well_in_a_log() {
    assert_eq!(
        error("ftp://h", "only http and https URLs are supported").to_string(),
        "bad XCAP URL part \"ftp://h\": only http and https URLs are supported"
    );
}

/// Strings over the characters URL handling cares about, from a fixed-seed generator.
fn tricky_strings(count: usize) -> impl Iterator<Item = String> {
    const ALPHABET: [&str; 16] = [
        "a",
        "h",
        ":",
        "/",
        "@",
        "[",
        "]",
        "%",
        "~",
        "?",
        "#",
        "é",
        ".",
        " ",
        "users",
        "pres-rules",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count).map(move |_| {
        let len = next() % 24;
        (0..len).map(|_| ALPHABET[(next() % 16) as usize]).collect()
    })
}

#[test]
fn arbitrary_input_never_panics() {
    for text in tricky_strings(20_000) {
        let _ = parse_doc_uri(&text);
        let _ = parse_doc_uri(&format!("http://{text}"));
        let _ = with_port(&text, 8080);
        let _ = document_url(&text, 8080, &users(&text, &text, &text), None);
        let _ = document_url("http://h", 0, &global("a", &text), None);
    }
}

#[test]
fn host_keys_name_scheme_host_and_port() {
    assert_eq!(host_key("http://XCAP.example.com/xcap-root/x").unwrap(), "http://xcap.example.com:80");
    assert_eq!(host_key("HTTPS://u:p@Host:8443/r").unwrap(), "https://host:8443");
    assert_eq!(host_key("https://[::1]/r").unwrap(), "https://[::1]:443");
    assert_eq!(host_key("127.0.0.1:8080/r").unwrap(), "http://127.0.0.1:8080");
    assert!(host_key("ftp://h/r").is_err());
}
