//! xcap_server end to end, on what real clients send and what RFC 4825 asks for: PUT bodies
//! without their own Content-Type, the uniqueness-failure `field`, the insertion positions
//! of §8.2.3, `~~` without a slash and dot segments in the document selector.

mod harness;

use harness::xcap::{self, FRIENDS as LISTS};
use harness::{Kamailio, SipReply};

const DOC: &str = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
const RL: &str = "application/resource-lists+xml";
const EL: &str = "application/xcap-el+xml";
/// A usage without a schema, to hold the RFC 4825 §8.2.3 example document.
const PROFILE: &str =
    "/xcap-root/org.openmobilealliance.user-profile/users/sip:alice@example.com/index";

/// The example document of RFC 4825 §8.2.3, in the user-profile namespace so that unprefixed
/// node selectors name its elements.
const EXAMPLE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<root xmlns=\"urn:oma:xml:xdm:user-profile\">
  <el1 att=\"first\"/>
  <el1 att=\"second\"/>
  <!-- comment -->
  <el2 att=\"first\"/>
</root>
";

/// Percent-encodes what curl would send as is but a URI path cannot hold.
fn encode(selector: &str) -> String {
    selector.replace('[', "%5B").replace(']', "%5D").replace('"', "%22").replace(' ', "%20")
}

/// PUT with `curl --data-binary` and, when `ctype` is `None`, curl's own Content-Type
/// (`application/x-www-form-urlencoded`), as python xcaplib ends up sending.
fn put(k: &Kamailio, path: &str, ctype: Option<&str>, body: &str, extra: &[&str]) -> SipReply {
    let file = k.dir.join(format!("body-{}", body.len()));
    std::fs::write(&file, body).unwrap();
    let data = format!("@{}", file.display());
    let header = ctype.map(|ct| format!("Content-Type: {ct}"));
    let mut args = vec!["-X", "PUT", "--data-binary", &data];
    if let Some(header) = &header {
        args.extend(["-H", header]);
    }
    args.extend(extra);
    k.http(&args, path)
}

fn get(k: &Kamailio, path: &str) -> SipReply {
    k.http(&[], path)
}

#[test]
fn form_urlencoded_puts_are_accepted_by_default_as_by_stock() {
    // Stock answers 200 where a document is created; ours 201 (RFC 4825 §8.2.5).
    for (name, k, created) in [("ours", xcap::ours(&[]), 201), ("stock", xcap::stock(), 200)] {
        let r = put(&k, DOC, None, LISTS, &[]);
        assert_eq!(r.code, created, "{name}: {r:?}");
        assert_eq!(get(&k, DOC).body, LISTS, "{name}");
        assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "1", "{name}");
    }
    // An element PUT without its own Content-Type too.
    let k = xcap::ours(&[]);
    assert_eq!(put(&k, DOC, None, LISTS, &[]).code, 201);
    let path = format!("{DOC}/~~/{}", encode("resource-lists/list[@name=\"work\"]"));
    let r = put(&k, &path, None, "<list name=\"work\"/>", &[]);
    assert_eq!(r.code, 201, "{r:?}");
    assert_eq!(get(&k, &path).body, "<list name=\"work\"/>");
}

#[test]
fn strict_content_type_gives_415() {
    let k = xcap::ours(&["STRICT_CONTENT_TYPE"]);
    let r = put(&k, DOC, None, LISTS, &[]);
    assert_eq!(r.code, 415, "{r:?}");
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "0");
    assert_eq!(put(&k, DOC, Some(RL), LISTS, &[]).code, 201);
    let path = format!("{DOC}/~~/{}", encode("resource-lists/list[@name=\"work\"]"));
    assert_eq!(put(&k, &path, None, "<list name=\"work\"/>", &[]).code, 415);
    assert_eq!(put(&k, &path, Some(EL), "<list name=\"work\"/>", &[]).code, 201);
}

// What stores documents runs on every database back end (tests/harness/db.rs).
on_every_backend!(
    uniqueness_failure_field_is_percent_encoded,
    rfc_4825_insertion_examples,
    dot_segments_never_reach_the_table,
);

fn uniqueness_failure_field_is_percent_encoded() {
    let k = xcap::ours(&[]);
    let doubled =
        LISTS.replace("</resource-lists>", "  <list name=\"friends\"/>\n</resource-lists>");
    let r = put(&k, DOC, Some(RL), &doubled, &[]);
    assert_eq!(r.code, 409, "{r:?}");
    assert!(r.body.contains("<exists field=\"resource-lists/list%5B2%5D/@name\">"), "{}", r.body);
    assert!(!r.body.contains("list[2]"), "{}", r.body);
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "0");
}

/// PUTs the RFC example, then `body` at `selector`: 201, and the stored document is the
/// example with `old` replaced by `new`.
fn rfc_insert(k: &Kamailio, selector: &str, body: &str, old: &str, new: &str) {
    assert!(put(k, PROFILE, Some("application/vnd.oma.user-profile+xml"), EXAMPLE, &[]).code < 300);
    let path = format!("{PROFILE}/~~/{}", encode(selector));
    let r = put(k, &path, Some(EL), body, &[]);
    assert_eq!(r.code, 201, "{selector}: {r:?}");
    assert_eq!(get(k, PROFILE).body, EXAMPLE.replacen(old, new, 1), "{selector}");
    assert_eq!(get(k, &path).body, body, "{selector}");
}

fn rfc_4825_insertion_examples() {
    let k = xcap::ours(&[]);
    let second = "<el1 att=\"second\"/>";
    for selector in
        ["root/el1[@att=\"third\"]", "root/el1[3][@att=\"third\"]", "root/*[3][@att=\"third\"]"]
    {
        let body = "<el1 att=\"third\"/>";
        rfc_insert(&k, selector, body, second, &format!("{second}{body}"));
    }
    rfc_insert(
        &k,
        "root/el3",
        "<el3 att=\"first\"/>",
        "\n</root>",
        "\n<el3 att=\"first\"/></root>",
    );
    let el2 = "<el2 att=\"first\"/>";
    rfc_insert(
        &k,
        "root/el2[@att=\"2\"]",
        "<el2 att=\"2\"/>",
        el2,
        "<el2 att=\"first\"/><el2 att=\"2\"/>",
    );
    let first = "<el1 att=\"first\"/>";
    rfc_insert(
        &k,
        "root/*[2][@att=\"2\"]",
        "<el2 att=\"2\"/>",
        first,
        "<el1 att=\"first\"/><el2 att=\"2\"/>",
    );
    rfc_insert(
        &k,
        "root/*[@att=\"2\"]",
        "<el1 att=\"2\"/>",
        second,
        "<el1 att=\"second\"/><el1 att=\"2\"/>",
    );
}

#[test]
fn position_zero_selects_nothing() {
    let k = xcap::ours(&[]);
    assert_eq!(put(&k, PROFILE, None, EXAMPLE, &[]).code, 201);
    let r = get(&k, &format!("{PROFILE}/~~/{}", encode("root/*[0]")));
    assert_eq!(r.code, 404, "{r:?}");
    let path = format!("{PROFILE}/~~/{}", encode("root/*[0][@att=\"third\"]"));
    let r = put(&k, &path, Some(EL), "<el1 att=\"third\"/>", &[]);
    assert_eq!(r.code, 409, "{r:?}");
    assert!(r.body.contains("<cannot-insert"), "{}", r.body);
    assert_eq!(get(&k, PROFILE).body, EXAMPLE);
}

#[test]
fn tilde_pair_without_slash_selects_a_node() {
    let k = xcap::ours(&[]);
    assert_eq!(put(&k, PROFILE, None, EXAMPLE, &[]).code, 201);
    let path = format!("{PROFILE}/~~root/el3");
    assert_eq!(get(&k, &path).code, 404);
    let r = put(&k, &path, None, "<el3 att=\"first\"/>", &[]);
    assert_eq!(r.code, 201, "{r:?}");
    let r = get(&k, &path);
    assert_eq!((r.code, r.body.as_str()), (200, "<el3 att=\"first\"/>"));
    assert!(get(&k, PROFILE).body.contains("<el3 att=\"first\"/></root>"));
    // One document, under its own name.
    let rows = k.sql("SELECT doc_uri FROM xcap;");
    assert_eq!(rows.trim(), PROFILE);
    assert!(k.log_text().contains("file=index node=root/el3"), "the script sees the split");
}

fn dot_segments_never_reach_the_table() {
    let k = xcap::ours(&[]);
    let bob = "/xcap-root/resource-lists/users/sip:bob@example.com/index";
    for path in [
        "/xcap-root/resource-lists/users/sip:alice@example.com/../../../resource-lists/users/sip:bob@example.com/index",
        "/xcap-root/resource-lists/users/sip:alice@example.com/%2E%2E/sip:bob@example.com/./index",
    ] {
        let r = put(&k, path, Some(RL), LISTS, &["--path-as-is"]);
        assert!(r.code == 201 || r.code == 200, "{path}: {r:?}");
        let r = k.http(&["--path-as-is"], path);
        assert_eq!((r.code, r.body.as_str()), (200, LISTS), "{path}");
    }
    // Stored as bob's document, found by its plain URI; the script saw bob's user id.
    let rows = k.sql("SELECT username, doc_uri FROM xcap;");
    assert_eq!(rows.trim(), format!("bob|{bob}"));
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap WHERE doc_uri LIKE '%/..%' OR doc_uri LIKE '%/./%' OR username = 'alice';").trim(), "0");
    assert_eq!(get(&k, bob).body, LISTS);
    assert!(k.log_text().contains("xuid=sip:bob@example.com file=index"), "{}", k.log_text());
    assert!(!k.log_text().contains("xuid=sip:alice@example.com"));
    // An encoded `/` that would make a dot segment of the stored path is refused.
    let sneaky = "/xcap-root/resource-lists/users/sip:bob@example.com/..%2Fidx/index";
    let r = put(&k, sneaky, Some(RL), LISTS, &["--path-as-is"]);
    assert_eq!(r.code, 400, "{r:?}");
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "1");
    // Above the XCAP root there is nothing.
    let r =
        k.http(&["--path-as-is"], "/xcap-root/../resource-lists/users/sip:bob@example.com/index");
    assert_eq!(r.code, 404, "{r:?}");
}
