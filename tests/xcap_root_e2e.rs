//! A complete XCAP root: the configuration of modules/xcap_server/README.md
//! (test-configs/xcap-root.cfg) on the real Kamailio with our xcap_server, driven with curl
//! and digest authentication against the subscriber table.

mod harness;

use harness::xcap::FRIENDS_NAMED as LISTS;
use harness::{Kamailio, SipReply, Setup};

const RL: &str = "application/resource-lists+xml";
const ALICE_DOC: &str = "/xcap-root/resource-lists/users/sip:alice@127.0.0.1/index";
const BOB_DOC: &str = "/xcap-root/resource-lists/users/sip:bob@127.0.0.1/index";
const CAPS: &str = "/xcap-root/xcap-caps/global/index";

const USERS: &str = "INSERT INTO subscriber (username, domain, password) VALUES ('alice', '127.0.0.1', 'secret'), ('bob', '127.0.0.1', 'bobs-secret');";

fn server_with(sql: &'static str) -> Kamailio {
    let mut s = Setup::new("xcap-root.cfg", &["xcap_server"]);
    s.schemas = &["presence", "auth_db"];
    s.sql = sql;
    Kamailio::start(s)
}

fn server() -> Kamailio {
    server_with(USERS)
}

/// curl as `user:password` with digest authentication, plus `extra` arguments.
fn as_user(k: &Kamailio, cred: &str, extra: &[&str], path: &str) -> SipReply {
    let mut args = vec!["--digest", "-u", cred];
    args.extend_from_slice(extra);
    k.http(&args, path)
}

fn put_args<'a>(ctype: &'a str, body: &'a str) -> Vec<&'a str> {
    vec!["-X", "PUT", "-H", ctype, "--data-binary", body]
}

#[test]
fn a_complete_xcap_root_with_digest_authentication() {
    let k = server();
    let alice = |extra: &[&str], path: &str| as_user(&k, "alice:secret", extra, path);
    let bob = |extra: &[&str], path: &str| as_user(&k, "bob:bobs-secret", extra, path);
    let ct = format!("Content-Type: {RL}");

    // Without credentials, or with a wrong password: a digest challenge.
    let r = k.http(&[], ALICE_DOC);
    assert_eq!(r.code, 401, "{r:?}");
    assert!(r.header("WWW-Authenticate").is_some_and(|h| h.starts_with("Digest") && h.contains("realm=\"xcap\"")), "{r:?}");
    assert_eq!(as_user(&k, "alice:wrong", &[], ALICE_DOC).code, 401);
    assert_eq!(k.http(&[], CAPS).code, 401);

    // Alice creates, reads, replaces and deletes her own document.
    let r = alice(&put_args(&ct, LISTS), ALICE_DOC);
    assert_eq!(r.code, 201, "{r:?}");
    let r = alice(&[], ALICE_DOC);
    assert_eq!((r.code, r.body.as_str()), (200, LISTS));
    assert!(r.header("ETag").is_some(), "{r:?}");
    let r = alice(&put_args(&ct, &LISTS.replace("Bob", "Robert")), ALICE_DOC);
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(alice(&[], &format!("{ALICE_DOC}/~~/resource-lists/list/entry/display-name")).body, "<display-name>Robert</display-name>");
    // A user id without "sip:" is the same user on this server's address.
    assert_eq!(alice(&[], "/xcap-root/resource-lists/users/alice/index").code, 404);

    // Bob may neither read nor change Alice's tree, and Alice not Bob's.
    assert_eq!(bob(&[], ALICE_DOC).code, 403);
    assert_eq!(bob(&put_args(&ct, LISTS), ALICE_DOC).code, 403);
    assert_eq!(bob(&["-X", "DELETE"], ALICE_DOC).code, 403);
    assert_eq!(alice(&put_args(&ct, LISTS), BOB_DOC).code, 403);
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "1");

    // xcap-caps: answered by the module to every authenticated user, with a stable entity tag.
    let r = bob(&[], CAPS);
    assert_eq!((r.code, r.header("Content-Type")), (200, Some("application/xcap-caps+xml")), "{r:?}");
    assert!(r.body.contains("<auid>resource-lists</auid>"), "{}", r.body);
    let tag = r.header("ETag").unwrap_or_else(|| panic!("no ETag: {r:?}")).to_string();
    assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
    let r = alice(&[], CAPS);
    assert_eq!(r.header("ETag"), Some(tag.as_str()), "the same tag from every worker and user");
    let inm = format!("If-None-Match: {tag}");
    let r = alice(&["-H", &inm], CAPS);
    assert_eq!((r.code, r.body.as_str(), r.header("ETag")), (304, "", Some(tag.as_str())), "{r:?}");
    assert_eq!(alice(&["-H", "If-None-Match: \"older\""], CAPS).code, 200);
    let r = alice(&put_args("Content-Type: application/xcap-caps+xml", "<x/>"), CAPS);
    assert_eq!((r.code, r.header("Allow")), (405, Some("GET")), "{r:?}");

    // Other global documents are read-only.
    let global = "/xcap-root/resource-lists/global/index";
    assert_eq!(alice(&put_args(&ct, LISTS), global).code, 403);
    assert_eq!(alice(&[], global).code, 404);

    // What names no document: 404 for an unknown application usage, 400 for a malformed URI.
    assert_eq!(alice(&[], "/xcap-root/no-such-usage/users/sip:alice@127.0.0.1/index").code, 404);
    assert_eq!(alice(&put_args(&ct, LISTS), "/xcap-root/no-such-usage/users/sip:alice@127.0.0.1/index").code, 404);
    assert_eq!(alice(&[], "/xcap-root/resource-lists/users/sip:alice@127.0.0.1/in%zzdex").code, 400);
    assert_eq!(alice(&[], &format!("{ALICE_DOC}/~~/resource-lists/list%5B")).code, 400);
    assert_eq!(k.http(&[], "/elsewhere").code, 404);

    // Methods other than GET, PUT and DELETE: 405 with Allow.
    for method in ["POST", "PATCH"] {
        let r = alice(&["-X", method, "-H", &ct, "--data-binary", LISTS], ALICE_DOC);
        assert_eq!((r.code, r.header("Allow")), (405, Some("GET, PUT, DELETE")), "{method}: {r:?}");
    }

    assert_eq!(alice(&["-X", "DELETE"], ALICE_DOC).code, 200);
    assert_eq!(alice(&[], ALICE_DOC).code, 404);
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "0");
}

/// A bare `user@domain` XUI names the owner `sip:user@domain`, as a `sip:` one does: the
/// request reaches the module, which answers it, instead of the owner check refusing it.
#[test]
fn a_bare_user_at_domain_xui_is_that_sip_address() {
    let k = server();
    let alice = |extra: &[&str], path: &str| as_user(&k, "alice:secret", extra, path);
    let bob = |extra: &[&str], path: &str| as_user(&k, "bob:bobs-secret", extra, path);
    let ct = format!("Content-Type: {RL}");
    let bare = "/xcap-root/resource-lists/users/alice@example.com/index";

    // No such document yet: the module's 404, with or without an empty node selector.
    assert_eq!(alice(&[], &format!("{bare}~~")).code, 404);
    assert_eq!(alice(&[], bare).code, 404);
    assert_eq!(alice(&put_args(&ct, LISTS), bare).code, 201);
    let r = alice(&[], &format!("{bare}~~"));
    assert_eq!((r.code, r.body.as_str()), (200, LISTS), "{r:?}");
    assert_eq!(
        k.sql("SELECT username || ' ' || domain FROM xcap WHERE doc_uri LIKE '%/alice@example.com/index';").trim(),
        "alice example.com"
    );
    // The owner check still holds: the user part is Alice's.
    assert_eq!(bob(&[], &format!("{bare}~~")).code, 403);
    assert_eq!(bob(&["-X", "DELETE"], bare).code, 403);
    // A user part only is a user of the server's address; more than one '@' is no SIP URI
    // the owner check accepts.
    assert_eq!(alice(&[], "/xcap-root/resource-lists/users/alice/index~~").code, 404);
    assert_eq!(alice(&[], "/xcap-root/resource-lists/users/alice@example.com@x/index~~").code, 403);
    assert_eq!(alice(&["-X", "DELETE"], bare).code, 200);
}

/// The configuration the README shows is this test's configuration.
#[test]
fn the_readme_shows_the_tested_configuration() {
    let repo = harness::repo();
    let readme = std::fs::read_to_string(repo.join("modules/xcap_server/README.md")).unwrap();
    let section = readme.split("\n## Configuration\n").nth(1).expect("a Configuration section");
    let section = section.split("\n## ").next().unwrap();
    let shown = section.split("```\n").nth(1).expect("a code block in the Configuration section");
    let cfg = std::fs::read_to_string(repo.join("test-configs/xcap-root.cfg")).unwrap();
    let start = cfg.find("tcp_accept_no_cl=yes").expect("the start of the README part of xcap-root.cfg");
    let end = cfg.find("\n# ---- end of the README's configuration").expect("the end of the README part of xcap-root.cfg");
    let tested = cfg[start..end].replace("@MODDIR@/", "").replace("@DB_URL@", "sqlite:////var/lib/kamailio/kamailio.db");
    for placeholder in ["@SIP_PORT@", "@HTTP_PORT@", "@CTL@", "@MODDIR@", "@DB_URL@"] {
        assert!(!tested.contains(placeholder), "{placeholder} in the README part of xcap-root.cfg");
    }
    assert_eq!(shown, tested, "README's Configuration block differs from test-configs/xcap-root.cfg");
}

/// SQLite takes one writer at a time and db_sqlite does not wait for it: PUTs of different
/// documents arriving at once in different workers must all be stored, none answered 500.
/// In WAL mode, as the README advises, so that auth_db's reads do not meet the commits.
#[test]
fn concurrent_puts_of_different_documents_all_succeed_on_sqlite() {
    const WAL_USERS: &str = concat!(
        "PRAGMA journal_mode=WAL;",
        "INSERT INTO subscriber (username, domain, password) VALUES ('alice', '127.0.0.1', 'secret'), ('bob', '127.0.0.1', 'bobs-secret');"
    );
    let k = server_with(WAL_USERS);
    assert_eq!(k.sql("PRAGMA journal_mode;").trim(), "wal");
    let ct = format!("Content-Type: {RL}");
    let paths: Vec<String> = (0..12).map(|i| format!("/xcap-root/resource-lists/users/sip:alice@127.0.0.1/list{i}")).collect();
    for round in 0..3 {
        let codes: Vec<u32> = std::thread::scope(|scope| {
            let handles: Vec<_> = paths
                .iter()
                .map(|p| scope.spawn(|| as_user(&k, "alice:secret", &put_args(&ct, LISTS), p).code))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let expected = if round == 0 { 201 } else { 200 };
        assert!(codes.iter().all(|&c| c == expected), "round {round}: {codes:?}\n{}", k.log_text());
    }
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "12");
}
