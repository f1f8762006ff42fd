use super::*;
use xcap::node_selector::{NameTest, Terminal};
use proptest::prelude::*;

const ROOT: &str = "/xcap-root/";

fn parse(path: &str) -> Result<XcapUri, UriError> {
    XcapUri::parse(path, ROOT)
}

#[test]
fn user_document_with_a_node_selector() {
    let path = "/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22friends%22%5D";
    let xuri = parse(path).unwrap();
    assert_eq!(
        xuri.uri,
        "/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[@name=\"friends\"]"
    );
    assert_eq!(xuri.root, "/xcap-root/");
    assert_eq!(xuri.auid, Auid::ResourceLists);
    assert_eq!(xuri.doc_type(), 4);
    assert_eq!(xuri.tree, Some(Tree::Users));
    assert_eq!(xuri.xuid.as_deref(), Some("sip:alice@example.com"));
    assert_eq!(xuri.file, "index");
    assert_eq!(xuri.adoc, "/xcap-root/resource-lists/users/sip:alice@example.com/index");
    assert_eq!(xuri.node.as_deref(), Some("/resource-lists/list[@name=\"friends\"]"));
    assert_eq!(xuri.query, None);
    let selector = xuri.selector().unwrap().unwrap();
    assert_eq!(selector.to_string(), "resource-lists/list[@name=\"friends\"]");
}

#[test]
fn whole_document_without_node() {
    let xuri = parse("/xcap-root/pres-rules/users/sip:bob@example.com/index").unwrap();
    assert_eq!(xuri.auid, Auid::PresRules);
    assert_eq!(xuri.node, None);
    assert!(xuri.selector().is_none());
    assert_eq!(xuri.adoc, "/xcap-root/pres-rules/users/sip:bob@example.com/index");
}

#[test]
fn global_tree_has_no_user() {
    let xuri = parse("/xcap-root/xcap-caps/global/index").unwrap();
    assert_eq!(xuri.tree, Some(Tree::Global));
    assert_eq!(xuri.tree.map(Tree::as_str), Some("global"));
    assert_eq!(xuri.xuid, None);
    assert_eq!(xuri.file, "index");
    assert_eq!(xuri.adoc, "/xcap-root/xcap-caps/global/index");
}

#[test]
fn file_keeps_sub_directories_and_loses_a_trailing_slash() {
    let xuri = parse("/xcap-root/pidf-manipulation/users/sip:a@b/dir/sub/doc.xml/").unwrap();
    assert_eq!(xuri.file, "dir/sub/doc.xml");
    assert_eq!(xuri.adoc, "/xcap-root/pidf-manipulation/users/sip:a@b/dir/sub/doc.xml");
    let xuri = parse("/xcap-root/resource-lists/users/sip:a@b/index/~~/resource-lists").unwrap();
    assert_eq!(xuri.file, "index");
}

#[test]
fn encoded_slash_and_separator_do_not_change_the_structure() {
    let xuri = parse("/xcap-root/resource-lists/users/sip:a%2Fb@x/my%7E%7Efile").unwrap();
    assert_eq!(xuri.xuid.as_deref(), Some("sip:a/b@x"));
    assert_eq!(xuri.file, "my~~file");
    assert_eq!(xuri.node, None);
    let xuri = parse("/xcap-root/resource-lists/users/sip:a@x/%7E%7E/resource-lists").unwrap();
    assert_eq!(xuri.file, "~~/resource-lists");
    assert_eq!(xuri.node, None);
    // Dot segments are removed only where they are whole segments of the document selector.
    let xuri = parse("/xcap-root/resource-lists/users/sip:a@x/index/~~/a/../b").unwrap();
    assert_eq!(xuri.node.as_deref(), Some("/a/../b"));
}

#[test]
fn a_tilde_pair_anywhere_separates_the_node() {
    // As python xcaplib writes it: no `/` after the separator.
    let xuri = parse("/xcap-root/resource-lists/users/sip:a@x/index/~~root/el3").unwrap();
    assert_eq!(xuri.file, "index");
    assert_eq!(xuri.adoc, "/xcap-root/resource-lists/users/sip:a@x/index");
    assert_eq!(xuri.node.as_deref(), Some("root/el3"));
    assert_eq!(xuri.selector().unwrap().unwrap().to_string(), "root/el3");
    let xuri = parse("/xcap-root/resource-lists/users/sip:a@x/index~~/root").unwrap();
    assert_eq!((xuri.file.as_str(), xuri.node.as_deref()), ("index", Some("/root")));
    let xuri = parse("/xcap-root/resource-lists/users/sip:a@x/in~~dex").unwrap();
    assert_eq!((xuri.file.as_str(), xuri.node.as_deref()), ("in", Some("dex")));
    // Only the first pair separates; later ones belong to the node selector.
    let xuri =
        parse("/xcap-root/resource-lists/users/sip:a@x/index/~~/r/e%5B@u=%22a~~b%22%5D").unwrap();
    assert_eq!(xuri.node.as_deref(), Some("/r/e[@u=\"a~~b\"]"));
    assert!(!xuri.adoc.contains("~~"));
    // Nothing before the separator names a document.
    assert_eq!(
        parse("/xcap-root/resource-lists/users/sip:a@x~~/root"),
        Err(UriError::NotADocument("no document name"))
    );
    assert!(parse("/xcap-root/org.openmobilealliance.search~~/x?target=t").is_err());
}

#[test]
fn dot_segments_are_removed_before_the_parts_are_read() {
    let xuri = parse(
        "/xcap-root/resource-lists/users/sip:alice@example.com/../../../resource-lists/users/sip:bob@example.com/index",
    )
    .unwrap();
    assert_eq!(xuri.xuid.as_deref(), Some("sip:bob@example.com"));
    assert_eq!(xuri.adoc, "/xcap-root/resource-lists/users/sip:bob@example.com/index");
    assert_eq!(xuri.uri, xuri.adoc);
    let xuri = parse(
        "/xcap-root/resource-lists/users/sip:a@x/./dir/%2E%2E/sub/%2e/index/~~/resource-lists",
    )
    .unwrap();
    assert_eq!(xuri.file, "sub/index");
    assert_eq!(xuri.adoc, "/xcap-root/resource-lists/users/sip:a@x/sub/index");
    assert_eq!(xuri.uri, "/xcap-root/resource-lists/users/sip:a@x/sub/index/~~/resource-lists");
    assert_eq!(
        parse("/xcap-root/../resource-lists/users/sip:a@x/index"),
        Err(UriError::OutsideRoot)
    );
    assert_eq!(
        parse("/xcap-root/resource-lists/users/sip:a@x/index/.."),
        Err(UriError::NotADocument("no document name"))
    );
    assert_eq!(
        parse("/xcap-root/resource-lists/users/sip:a@x/.."),
        Err(UriError::NotADocument("no user id"))
    );
    // An encoded `/` cannot smuggle a dot segment into the stored path.
    for path in [
        "/xcap-root/resource-lists/users/sip:a%2F..%2F@x/index",
        // Found by examples/fuzz (seed 42, input 60937).
        "/xcap-root/pres-rules/global/sip:a%2Fb@x/..%2Fb@x/..%2Fb@x/..%2Fb@x/../dir~~/presence",
        "/xcap-root/resource-lists/users/sip:a@x/..%2Fb/index",
        "/xcap-root/resource-lists/users/sip:a@x/dir/.%2F.%2Findex",
        "/xcap-root/resource-lists/users/sip:a@x/index%2F..",
    ] {
        assert_eq!(parse(path), Err(UriError::DotSegment), "{path}");
        assert_eq!(UriError::DotSegment.status(), 400);
    }
    assert!(parse("/xcap-root/resource-lists/users/sip:a@x/..b%2F.c/index").is_ok());
}

#[test]
fn removing_dot_segments() {
    for (path, expected) in [
        ("/a/b/c/./../../g", "/a/g"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/../../a", "/a"),
        ("/a/%2E%2e/b", "/b"),
        ("/a/..b/.c", "/a/..b/.c"),
        ("", ""),
        ("..", ""),
    ] {
        assert_eq!(remove_dot_segments(path), expected, "{path}");
    }
}

#[test]
fn slashes_inside_quoted_values_belong_to_the_node() {
    let xuri = parse(
        "/xcap-root/resource-lists/users/sip:a@x/index/~~/resource-lists/list/entry%5B@uri=%22http://h/p%22%5D/display-name",
    )
    .unwrap();
    let selector = xuri.selector().unwrap().unwrap();
    assert_eq!(selector.steps.len(), 4);
    assert_eq!(selector.steps[2].attribute.as_ref().unwrap().value, "http://h/p");
}

#[test]
fn empty_node_selector_means_the_document() {
    for path in [
        "/xcap-root/resource-lists/users/sip:a@x/index/~~",
        "/xcap-root/resource-lists/users/sip:a@x/index/~~/",
    ] {
        assert_eq!(parse(path).unwrap().node, None, "{path}");
    }
}

#[test]
fn query_binds_prefixes_for_the_selector() {
    let xuri = parse(
        "/xcap-root/pres-rules/users/sip:a@x/index/~~/cp:ruleset/cp:rule%5B@id=%22r1%22%5D/@id?xmlns(cp=urn:ietf:params:xml:ns:common-policy)",
    )
    .unwrap();
    assert_eq!(
        xuri.namespaces,
        vec![("cp".to_string(), "urn:ietf:params:xml:ns:common-policy".to_string())]
    );
    assert_eq!(xuri.query.as_deref(), Some("xmlns(cp=urn:ietf:params:xml:ns:common-policy)"));
    let selector = xuri.selector().unwrap().unwrap();
    let NameTest::Name(root) = &selector.steps[0].name else { panic!("named root") };
    assert_eq!(root.namespace.as_deref(), Some("urn:ietf:params:xml:ns:common-policy"));
    assert!(matches!(selector.terminal, Some(Terminal::Attribute(_))));
    let encoded = parse("/xcap-root/pres-rules/users/sip:a@x/index?xmlns%28cp%3Durn:x%29").unwrap();
    assert_eq!(encoded.namespaces, vec![("cp".to_string(), "urn:x".to_string())]);
}

#[test]
fn unbound_prefix_surfaces_from_selector() {
    let xuri = parse("/xcap-root/resource-lists/users/sip:a@x/index/~~/rl:resource-lists").unwrap();
    assert_eq!(xuri.selector(), Some(Err(SelectorError::UnboundPrefix("rl".into()))));
}

#[test]
fn search_takes_target_and_domain_from_the_query() {
    let xuri = parse(
        "/xcap-root/org.openmobilealliance.search?target=sip%3Abob@example.com&domain=example.com",
    )
    .unwrap();
    assert_eq!(xuri.auid, Auid::Search);
    assert_eq!(xuri.doc_type(), 256);
    assert_eq!(xuri.target.as_deref(), Some("sip:bob@example.com"));
    assert_eq!(xuri.domain.as_deref(), Some("example.com"));
    assert_eq!((xuri.tree, xuri.file.as_str(), xuri.adoc.as_str()), (None, "", ""));
    let reversed = parse("/xcap-root/org.openmobilealliance.search?domain=d&x=1&target=t").unwrap();
    assert_eq!((reversed.target.as_deref(), reversed.domain.as_deref()), (Some("t"), Some("d")));
    let bare = parse("/xcap-root/org.openmobilealliance.search").unwrap();
    assert_eq!((bare.target, bare.domain), (None, None));
}

#[test]
fn roots_with_and_without_trailing_slash_or_empty() {
    let xuri = XcapUri::parse("/xcap-root/resource-lists/users/u/index", "/xcap-root").unwrap();
    assert_eq!((xuri.root.as_str(), xuri.file.as_str()), ("/xcap-root", "index"));
    let xuri = XcapUri::parse("/resource-lists/global/index", "").unwrap();
    assert_eq!(xuri.adoc, "/resource-lists/global/index");
    assert_eq!(
        XcapUri::parse("/xcap-rootx/resource-lists/users/u/index", "/xcap-root"),
        Err(UriError::OutsideRoot)
    );
}

#[test]
fn errors_and_their_statuses() {
    let long = format!("/xcap-root/resource-lists/users/u/{}", "a".repeat(MAX_URI_BYTES));
    let cases: Vec<(&str, UriError, u16)> = vec![
        (&long, UriError::TooLong(long.len()), 414),
        (
            "/xcap-root/resource-lists/users/u/in%zzdex",
            UriError::Encoding(DecodeError::BadEscape),
            400,
        ),
        ("/xcap-root/resource-lists/users/u/%FF", UriError::Encoding(DecodeError::NotUtf8), 400),
        ("/other/resource-lists/users/u/index", UriError::OutsideRoot, 404),
        ("/xcap-root/buddies/users/u/index", UriError::UnknownAuid("buddies".into()), 404),
        ("/xcap-root/", UriError::UnknownAuid(String::new()), 404),
        ("/xcap-root/resource-lists/people/u/index", UriError::UnknownTree("people".into()), 404),
        ("/xcap-root/resource-lists", UriError::NotADocument("no sub-tree"), 404),
        ("/xcap-root/resource-lists/users", UriError::NotADocument("no user id"), 404),
        ("/xcap-root/resource-lists/users//index", UriError::NotADocument("no user id"), 404),
        ("/xcap-root/resource-lists/users/u/", UriError::NotADocument("no document name"), 404),
        ("/xcap-root/resource-lists/users/u/~~/x", UriError::NotADocument("no document name"), 404),
        ("/xcap-root/resource-lists/global", UriError::NotADocument("no document name"), 404),
        (
            "/xcap-root/org.openmobilealliance.search/x",
            UriError::NotADocument("the search AUID takes no path"),
            404,
        ),
        (
            "/xcap-root/resource-lists/users/u/index?foo=bar",
            UriError::BadQuery("query part is not xmlns(prefix=uri)"),
            400,
        ),
    ];
    for (path, err, status) in cases {
        let got = parse(path).unwrap_err();
        assert_eq!(got, err, "{path}");
        assert_eq!(got.status(), status, "{path}");
    }
}

#[test]
fn error_messages_are_log_lines() {
    assert_eq!(UriError::UnknownAuid("x".into()).to_string(), "unsupported AUID 'x'");
    assert_eq!(UriError::TooLong(2000).reason(), "URI Too Long");
    assert_eq!(UriError::OutsideRoot.reason(), "Not Found");
    assert_eq!(UriError::BadQuery("q").reason(), "Bad Request");
}

#[test]
fn limit_is_inclusive() {
    let prefix = "/xcap-root/resource-lists/users/u/";
    let path = format!("{prefix}{}", "a".repeat(MAX_URI_BYTES - prefix.len()));
    assert!(parse(&path).is_ok());
}

proptest! {
    #[test]
    fn arbitrary_paths_never_panic(path in any::<String>(), root in "(/[a-z-]{0,10}){0,2}/?") {
        let _ = XcapUri::parse(&path, &root);
    }

    #[test]
    fn xcap_like_paths_never_panic(path in "/xcap-root/(resource-lists|search|org.openmobilealliance.search|pres-rules)(/[a-z~%0-9A-F:@?&=()\\[\\]\"]{0,8}){0,6}") {
        if let Ok(xuri) = parse(&path) {
            let _ = xuri.selector();
        }
    }

    #[test]
    fn documents_never_keep_dot_segments(
        parts in proptest::collection::vec("(\\.|\\.\\.|%2[eE]|%2[eE]%2[eE]|[a-z]{1,3}|~~|)", 0..8)
    ) {
        let path = format!("/xcap-root/resource-lists/users/sip:a@x/{}", parts.join("/"));
        if let Ok(xuri) = parse(&path) {
            prop_assert!(!xuri.adoc.split('/').any(|s| s == "." || s == ".."), "{}", xuri.adoc);
            prop_assert!(xuri.adoc.starts_with("/xcap-root/resource-lists/users/"));
            prop_assert!(!xuri.adoc.contains("~~"));
        }
    }
}
