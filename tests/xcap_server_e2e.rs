//! xcap_server end to end: curl against Kamailio (xhttp + our module) running the event route
//! of the module's documentation, on 127.0.0.1; differential runs against the stock module.

mod harness;

use harness::xcap;
use harness::{subscription_state, Kamailio, SipReply, Setup};

const DOC: &str = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
const RL: &str = "application/resource-lists+xml";
const EL: &str = "application/xcap-el+xml";
const ATT: &str = "application/xcap-att+xml";

const LISTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
    <entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>
  </list>
  <list name="work">
    <entry uri="sip:dave@example.com"/>
  </list>
</resource-lists>
"#;

/// `~~` node selector URL of the test document, percent-encoding what curl would not.
fn node(sel: &str) -> String {
    let enc: String = sel
        .chars()
        .map(|c| match c {
            '[' => "%5B".to_string(),
            ']' => "%5D".to_string(),
            '"' => "%22".to_string(),
            ' ' => "%20".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("{DOC}/~~/{enc}")
}

fn get(k: &Kamailio, path: &str, headers: &[&str]) -> SipReply {
    let mut args = Vec::new();
    for h in headers {
        args.extend(["-H", h]);
    }
    k.http(&args, path)
}

fn put(k: &Kamailio, path: &str, ctype: &str, body: &[u8], headers: &[&str]) -> SipReply {
    let file = k.dir.join(format!("body-{}", body.len()));
    std::fs::write(&file, body).unwrap();
    let ct = format!("Content-Type: {ctype}");
    let data = format!("@{}", file.display());
    let mut args = vec!["-X", "PUT", "-H", &ct, "--data-binary", &data];
    for h in headers {
        args.extend(["-H", *h]);
    }
    k.http(&args, path)
}

/// A PUT with no Content-Type header at all (curl drops its default for an empty one).
fn put_without_content_type(k: &Kamailio, path: &str, body: &[u8]) -> SipReply {
    let file = k.dir.join(format!("body-{}", body.len()));
    std::fs::write(&file, body).unwrap();
    let data = format!("@{}", file.display());
    k.http(&["-X", "PUT", "-H", "Content-Type:", "--data-binary", &data], path)
}

fn delete(k: &Kamailio, path: &str, headers: &[&str]) -> SipReply {
    let mut args = vec!["-X", "DELETE"];
    for h in headers {
        args.extend(["-H", *h]);
    }
    k.http(&args, path)
}

fn etag(r: &SipReply) -> String {
    r.header("ETag").unwrap_or_else(|| panic!("no ETag in {r:?}")).to_string()
}

// What stores documents runs on every database back end (tests/harness/db.rs).
on_every_backend!(
    whole_documents_put_get_delete_with_etags,
    node_selectors_per_rfc_4825,
    element_and_attribute_put_and_delete_in_place,
    conflicts_answer_xcap_error_bodies_and_change_nothing,
    status_codes_media_types_and_limits,
    preconditions_with_if_match_and_if_none_match,
    xcap_caps_and_the_xcap_directory,
    stock_presence_xml_reads_pres_rules_written_through_ours,
    the_table_is_shared_with_the_stock_module,
    differential_against_the_stock_module,
    a_user_differing_only_in_case_never_gets_another_users_document,
);

on_server_backends!(
    a_write_the_database_refuses_is_a_500_and_leaves_the_document_as_it_was,
    a_document_uri_too_long_for_its_column_fails_that_document_only,
);

/// A document URI longer than the table's `doc_uri` column (255 characters in Kamailio's
/// schema): that PUT gets 500, the log has the database's own error, and other documents are
/// stored and served as usual. (SQLite has no column sizes.)
fn a_document_uri_too_long_for_its_column_fails_that_document_only() {
    let k = xcap::ours(&[]);
    let long = DOC.replace("sip:alice@", &format!("sip:{}@", "a".repeat(300)));
    let r = put(&k, &long, RL, LISTS.as_bytes(), &[]);
    assert_eq!(r.code, 500, "{r:?}");
    let said = ["Data too long for column", "value too long for type"];
    assert!(said.iter().any(|s| k.log_text().contains(s)), "the log names the cause:\n{}", k.log_text());
    assert!(k.log_text().contains("the database refused the new row"), "{}", k.log_text());
    assert_eq!(get(&k, &long, &[]).code, 404);
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    assert_eq!(get(&k, DOC, &[]).body, LISTS);
}

/// The database refuses the write of a document (a trigger raises SQLSTATE 40001, what a
/// deadlock or a serialisation failure looks like to a client): the PUT gets 500, the log has
/// the database's own words, and the document stays as it was, entity tag included; once the
/// database takes writes again, so does the server.
fn a_write_the_database_refuses_is_a_500_and_leaves_the_document_as_it_was() {
    const WHY: &str = "simulated deadlock in a test";
    let k = xcap::ours(&[]);
    let created = put(&k, DOC, RL, LISTS.as_bytes(), &[]);
    assert_eq!(created.code, 201);
    let db = k.database();
    let (refuse, allow) = match db.backend() {
        harness::db::Backend::MariaDb => (
            format!("CREATE TRIGGER refuse BEFORE UPDATE ON xcap FOR EACH ROW SIGNAL SQLSTATE '40001' SET MESSAGE_TEXT = '{WHY}';"),
            "DROP TRIGGER refuse;".to_string(),
        ),
        _ => (
            format!(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '{WHY}' USING ERRCODE = '40001'; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER refuse BEFORE UPDATE ON xcap FOR EACH ROW EXECUTE FUNCTION refuse();"
            ),
            "DROP TRIGGER refuse ON xcap;".to_string(),
        ),
    };
    db.sql(&refuse);
    let before = xcap::stored(&k);
    let r = put(&k, DOC, RL, LISTS.replace("Bob", "Robert").as_bytes(), &[]);
    assert_eq!(r.code, 500, "{r:?}");
    assert!(k.log_text().contains(WHY), "the log names the cause:\n{}", k.log_text());
    assert_eq!(xcap::stored(&k), before, "nothing half-written");
    let r = get(&k, DOC, &[]);
    assert_eq!((r.body.as_str(), etag(&r)), (LISTS, etag(&created)));
    db.sql(&allow);
    assert_eq!(put(&k, DOC, RL, LISTS.replace("Bob", "Robert").as_bytes(), &[]).code, 200);
}

/// `sip:Alice@` and `sip:alice@` are different users (the user part of a SIP URI is case
/// sensitive). Where the database tells their document URIs apart (SQLite, PostgreSQL) each
/// gets a document of its own; MySQL/MariaDB compare strings without regard to case by default,
/// so Alice's PUT is refused there (500, the log says why) rather than replacing alice's
/// document. Either way alice's document stays hers, and Alice never reads it.
fn a_user_differing_only_in_case_never_gets_another_users_document() {
    let k = xcap::ours(&[]);
    let upper = DOC.replace("sip:alice@", "sip:Alice@");
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    let other = LISTS.replace("Bob", "Someone else");
    let r = put(&k, &upper, RL, other.as_bytes(), &[]);
    if k.database().backend() == harness::db::Backend::MariaDb {
        assert_eq!(r.code, 500, "{r:?}");
        assert!(k.log_text().contains("without regard to case"), "the log says why:\n{}", k.log_text());
        assert!(k.log_text().contains("Duplicate entry"), "the database's own words:\n{}", k.log_text());
        assert_eq!(get(&k, &upper, &[]).code, 404, "Alice does not read alice's document");
    } else {
        assert_eq!(r.code, 201, "{r:?}");
        assert_eq!(get(&k, &upper, &[]).body, other);
    }
    assert_eq!(get(&k, DOC, &[]).body, LISTS, "alice's document is untouched");
}

fn whole_documents_put_get_delete_with_etags() {
    let k = xcap::ours(&[]);
    let r = put(&k, DOC, RL, LISTS.as_bytes(), &[]);
    assert_eq!(r.code, 201, "{r:?}");
    let e1 = etag(&r);
    assert!(e1.starts_with('"') && e1.ends_with('"') && e1.len() > 2, "a strong quoted ETag: {e1}");

    let r = get(&k, DOC, &[]);
    assert_eq!((r.code, r.header("Content-Type"), r.body.as_str()), (200, Some(RL), LISTS));
    assert_eq!(etag(&r), e1);

    // Replacing answers 200 with a new ETag.
    let r = put(&k, DOC, RL, LISTS.replace("Bob", "Robert").as_bytes(), &[]);
    assert_eq!(r.code, 200);
    let e2 = etag(&r);
    assert_ne!(e1, e2);

    // The row is kept as the stock module keeps it.
    let row = k.sql("SELECT username, domain, doc_type, source, port, doc_uri FROM xcap;");
    assert_eq!(row.trim(), format!("alice|example.com|4|0|0|{DOC}"));

    assert_eq!(delete(&k, DOC, &[]).code, 200);
    assert_eq!(get(&k, DOC, &[]).code, 404);
    assert_eq!(delete(&k, DOC, &[]).code, 404);
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "0");
}

fn node_selectors_per_rfc_4825() {
    let k = xcap::ours(&[]);
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    let cases: &[(&str, u32, &str, &str)] = &[
        // by name, position, attribute, *, combination
        ("resource-lists/list[2]/entry", 200, EL, r#"<entry uri="sip:dave@example.com"/>"#),
        (r#"resource-lists/list[@name="friends"]/entry[2]/display-name"#, 200, EL, "<display-name>Carol</display-name>"),
        (r#"resource-lists/*[1]/entry[@uri="sip:bob@example.com"]"#, 200, EL, r#"<entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>"#),
        (r#"resource-lists/list[1][@name="friends"]/entry[1]/@uri"#, 200, ATT, "sip:bob@example.com"),
        // prefixes bound by xmlns() in the query
        ("r:resource-lists/r:list[2]/@name?xmlns(r=urn:ietf:params:xml:ns:resource-lists)", 200, ATT, "work"),
        // no match, two matches, bad syntax
        (r#"resource-lists/list[@name="nobody"]"#, 404, "", ""),
        ("resource-lists/list/entry", 404, "", ""),
        ("resource-lists/list[", 400, "", ""),
        // an unbound prefix
        ("x:resource-lists", 400, "", ""),
    ];
    for (sel, code, ctype, body) in cases {
        let r = get(&k, &node(sel), &[]);
        assert_eq!(r.code, *code, "GET {sel}: {r:?}");
        if *code == 200 {
            assert_eq!((r.header("Content-Type").unwrap_or(""), r.body.as_str()), (*ctype, *body), "GET {sel}");
        }
    }
    // The namespace selector answers (the stock module crashes the server on it).
    let r = get(&k, &node("resource-lists/list[1]/namespace::*"), &[]);
    assert_eq!((r.code, r.header("Content-Type")), (200, Some("application/xcap-ns+xml")), "{r:?}");
    assert!(r.body.contains(r#"xmlns="urn:ietf:params:xml:ns:resource-lists""#), "{}", r.body);
}

fn element_and_attribute_put_and_delete_in_place() {
    let k = xcap::ours(&[]);
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    // Replace the first entry in place: its position does not change.
    let r = put(&k, &node("resource-lists/list[1]/entry[1]"), EL, br#"<entry uri="sip:bob@example.com"><display-name>Bobby</display-name></entry>"#, &[]);
    assert_eq!(r.code, 200, "{r:?}");
    let doc = get(&k, DOC, &[]).body;
    assert!(doc.find("Bobby").unwrap() < doc.find("Carol").unwrap(), "moved:\n{doc}");
    assert_eq!(doc.replace("<display-name>Bobby</display-name>", "<display-name>Bob</display-name>"), LISTS, "only the entry changed");

    // Insert a new entry where the selector names it.
    let r = put(&k, &node(r#"resource-lists/list[2]/entry[@uri="sip:erin@example.com"]"#), EL, br#"<entry uri="sip:erin@example.com"/>"#, &[]);
    assert_eq!(r.code, 201, "{r:?}");
    assert_eq!(get(&k, &node("resource-lists/list[2]/entry[2]/@uri"), &[]).body, "sip:erin@example.com");

    // Attribute DELETE and PUT (new and replaced), on the list's optional name (an unknown
    // attribute such as `label` would break the resource-lists schema).
    assert_eq!(delete(&k, &node("resource-lists/list[2]/@name"), &[]).code, 200);
    assert_eq!(get(&k, &node("resource-lists/list[2]/@name"), &[]).code, 404);
    assert_eq!(put(&k, &node("resource-lists/list[2]/@name"), ATT, b"colleagues", &[]).code, 201);
    assert_eq!(put(&k, &node("resource-lists/list[2]/@name"), ATT, b"work", &[]).code, 200);
    assert_eq!(get(&k, &node("resource-lists/list[2]/@name"), &[]).body, "work");

    // Element DELETE.
    assert_eq!(delete(&k, &node(r#"resource-lists/list[2]/entry[@uri="sip:erin@example.com"]"#), &[]).code, 200);
    assert_eq!(get(&k, DOC, &[]).body.replace("Bobby", "Bob"), LISTS);
}

fn conflicts_answer_xcap_error_bodies_and_change_nothing() {
    let k = xcap::ours(&[]);
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    let before = xcap::stored(&k);
    let cases: Vec<(String, &str, Vec<u8>, &str)> = vec![
        (DOC.into(), RL, b"<resource-lists><list>".to_vec(), "not-well-formed"),
        (DOC.into(), RL, b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name=\"\xe9\"/></resource-lists>".to_vec(), "not-utf-8"),
        (node("resource-lists/list[1]/entry[3]"), EL, b"<entry uri=\"a\"/><entry uri=\"b\"/>".to_vec(), "not-xml-frag"),
        (node("resource-lists/list[3]/entry[1]"), EL, b"<entry uri=\"sip:x@example.com\"/>".to_vec(), "no-parent"),
        (node("resource-lists/list[1]/entry[5]"), EL, b"<entry uri=\"sip:x@example.com\"/>".to_vec(), "cannot-insert"),
        (node("resource-lists/list[1]/entry[3]"), EL, b"<entry uri=\"sip:bob@example.com\"/>".to_vec(), "uniqueness-failure"),
    ];
    for (path, ctype, body, report) in &cases {
        let r = put(&k, path, ctype, body, &[]);
        assert_eq!(r.code, 409, "{report}: {r:?}");
        assert_eq!(r.header("Content-Type"), Some("application/xcap-error+xml"));
        assert!(r.body.contains("urn:ietf:params:xml:ns:xcap-error") && r.body.contains(&format!("<{report}")), "{report}: {}", r.body);
        assert_eq!(xcap::stored(&k), before, "{report} changed the stored document");
    }
    // no-parent names the closest existing ancestor.
    let r = put(&k, &node("resource-lists/list[3]/entry[1]"), EL, b"<entry uri=\"sip:x@example.com\"/>", &[]);
    assert!(r.body.contains("<ancestor>") && r.body.contains("resource-lists"), "{}", r.body);
    // Deleting the only list entry by position would leave the selector naming another one.
    let r = delete(&k, &node("resource-lists/*[1]"), &[]);
    assert_eq!(r.code, 409, "{r:?}");
    assert!(r.body.contains("cannot-delete"), "{}", r.body);
    assert_eq!(xcap::stored(&k), before);
}

fn status_codes_media_types_and_limits() {
    // Media types are checked only with strict_content_type (xcap_conformance_e2e covers the
    // default, which accepts any).
    let k = xcap::ours(&["STRICT_CONTENT_TYPE"]);
    // A missing document.
    assert_eq!(get(&k, DOC, &[]).code, 404);
    // A node of a missing document has no parent.
    assert_eq!(put(&k, &node("resource-lists/list[1]"), EL, b"<list/>", &[]).code, 409);
    // The Content-Type must fit the selection.
    assert_eq!(put(&k, DOC, "application/x-www-form-urlencoded", LISTS.as_bytes(), &[]).code, 415);
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    assert_eq!(put(&k, &node("resource-lists/list[1]"), RL, b"<list name=\"x\"/>", &[]).code, 415);
    assert_eq!(put(&k, &node("resource-lists/list[1]/@name"), EL, b"x", &[]).code, 415);
    // Unknown application usage or tree, malformed escapes.
    assert_eq!(get(&k, "/xcap-root/no-such-auid/users/sip:alice@example.com/index", &[]).code, 404);
    assert_eq!(get(&k, "/xcap-root/resource-lists/people/sip:alice@example.com/index", &[]).code, 404);
    assert_eq!(get(&k, "/xcap-root/resource-lists/users/sip:alice%ZZexample.com/index", &[]).code, 400);
    // Read-only usages.
    let r = put(&k, "/xcap-root/xcap-caps/global/index", "application/xcap-caps+xml", b"<xcap-caps/>", &[]);
    assert_eq!((r.code, r.header("Allow")), (405, Some("GET")));
    // Oversized: 413 and a log line (buf_size 8192 by default: documents up to 8191 bytes).
    let big = format!("<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><!--{}--></resource-lists>", "a".repeat(9000));
    let r = put(&k, DOC, RL, big.as_bytes(), &[]);
    assert_eq!(r.code, 413, "{r:?}");
    assert!(k.log_text().contains("refused a document larger than 8191 bytes"), "{}", k.log_text());
    let fits = format!("<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><!--{}--></resource-lists>", "a".repeat(8000));
    assert_eq!(put(&k, DOC, RL, fits.as_bytes(), &[]).code, 200);
    // No DTDs (and so no external entities), and a bounded nesting depth.
    let dtd = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">&x;</resource-lists>";
    assert_eq!(put(&k, DOC, RL, dtd.as_bytes(), &[]).code, 409);
    let deep = format!("<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">{}{}</resource-lists>", "<a>".repeat(500), "</a>".repeat(500));
    assert_eq!(put(&k, DOC, RL, deep.as_bytes(), &[]).code, 409);
    assert!(get(&k, DOC, &[]).body.contains(&"a".repeat(8000)), "the accepted document stays");
}

fn preconditions_with_if_match_and_if_none_match() {
    let k = xcap::ours(&[]);
    // If-None-Match: * creates only.
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &["If-None-Match: *"]).code, 201);
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &["If-None-Match: *"]).code, 412);
    let e = etag(&get(&k, DOC, &[]));
    // GET: 304 for a matching If-None-Match (also in a list), 412 for a failing If-Match.
    let r = get(&k, DOC, &[&format!("If-None-Match: {e}")]);
    assert_eq!((r.code, r.header("ETag").map(str::to_string)), (304, Some(e.clone())));
    assert_eq!(get(&k, DOC, &[&format!("If-None-Match: \"x\", {e}")]).code, 304);
    assert_eq!(get(&k, DOC, &["If-Match: \"x\""]).code, 412);
    assert_eq!(get(&k, DOC, &["If-Match: *"]).code, 200);
    // PUT and DELETE with a stale tag fail and change nothing.
    let before = xcap::stored(&k);
    assert_eq!(put(&k, DOC, RL, LISTS.replace("Bob", "B").as_bytes(), &["If-Match: \"stale\""]).code, 412);
    assert_eq!(delete(&k, &node("resource-lists/list[2]"), &["If-Match: \"stale\""]).code, 412);
    assert_eq!(xcap::stored(&k), before);
    // With the current tag they go through, and each change makes a new tag.
    let r = delete(&k, &node("resource-lists/list[2]"), &[&format!("If-Match: \"x\", {e}")]);
    assert_eq!(r.code, 200, "{r:?}");
    assert_ne!(etag(&r), e);
}

fn xcap_caps_and_the_xcap_directory() {
    let k = xcap::ours(&[]);
    let r = get(&k, "/xcap-root/xcap-caps/global/index", &[]);
    assert_eq!((r.code, r.header("Content-Type")), (200, Some("application/xcap-caps+xml")), "{r:?}");
    for auid in ["resource-lists", "pres-rules", "rls-services", "pidf-manipulation"] {
        assert!(r.body.contains(&format!("<auid>{auid}</auid>")), "{auid} missing:\n{}", r.body);
    }
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    let rules = "/xcap-root/pres-rules/users/sip:alice@example.com/index";
    let pr = r#"<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy"/>"#;
    assert_eq!(put(&k, rules, "application/auth-policy+xml", pr.as_bytes(), &[]).code, 201);
    let r = get(&k, "/xcap-root/org.openmobilealliance.xcap-directory/users/sip:alice@example.com/directory.xml", &[("Host: xcap.example.com")]);
    assert_eq!((r.code, r.header("Content-Type")), (200, Some("application/vnd.oma.xcap-directory+xml")));
    assert!(r.body.contains(&format!(r#"<entry uri="http://xcap.example.com{DOC}""#)), "{}", r.body);
    assert!(r.body.contains(r#"<folder auid="pres-rules">"#) && r.body.contains(r#"<folder auid="resource-lists">"#), "{}", r.body);
}

#[test]
fn the_xcapuri_pseudo_variable_has_every_key() {
    let k = xcap::ours(&["LOG_XCAPURI"]);
    let _ = get(&k, &format!("{DOC}/~~/resource-lists/list%5B1%5D"), &[]);
    let _ = get(&k, "/xcap-root/org.openmobilealliance.search?target=sip:a@example.com&domain=example.com", &[]);
    let log = k.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("INFO: <script>: xcap")).map(|l| l.split("<script>: ").nth(1).unwrap()).collect();
    assert_eq!(
        lines[..2],
        [
            "xcap GET auid=resource-lists xuid=sip:alice@example.com file=index node=/resource-lists/list[1]",
            &format!("xcapuri uri={DOC}/~~/resource-lists/list[1] root=/xcap-root/ type=4 tree=users uri_adoc={DOC} target=<null> domain=<null> data={DOC}/~~/resource-lists/list[1]"),
        ],
        "{log}"
    );
    let search = lines.iter().find(|l| l.starts_with("xcapuri uri=/xcap-root/org.openmobilealliance.search")).expect("search line");
    assert!(search.contains("type=256") && search.contains("target=sip:a@example.com domain=example.com"), "{search}");
}

/// A document PUT through ours is read by the stock presence_xml (integrated_xcap_server=1).
fn stock_presence_xml_reads_pres_rules_written_through_ours() {
    let k = xcap::ours(&["WITH_PRESENCE"]);
    let rules = r#"<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="a"><cr:conditions><cr:identity><cr:one id="sip:bob@127.0.0.1"/></cr:identity></cr:conditions>
  <cr:actions><sub-handling>allow</sub-handling></cr:actions><cr:transformations/></cr:rule>
</cr:ruleset>"#;
    let path = "/xcap-root/pres-rules/users/sip:alice@127.0.0.1/index";
    assert_eq!(put(&k, path, "application/auth-policy+xml", rules.as_bytes(), &[]).code, 201);
    assert_eq!(subscription_state(&k.subscribe("presence", "bob", "alice", "Expires: 300")).0, "active");
    assert_ne!(subscription_state(&k.subscribe("presence", "carol", "alice", "Expires: 300")).0, "active");
}

/// A table written by the stock module is served by ours, and the other way round.
fn the_table_is_shared_with_the_stock_module() {
    let s = xcap::stock();
    assert_eq!(put(&s, DOC, RL, LISTS.as_bytes(), &[]).code, 200, "stock answers 200 on create");
    let stock_etag = etag(&get(&s, DOC, &[]));
    let mut setup = Setup::new("xcap.cfg", &["xcap_server"]);
    setup.db = Some(s.database());
    let ours = Kamailio::start(setup);
    let r = get(&ours, DOC, &[]);
    assert_eq!((r.code, r.body.as_str(), etag(&r)), (200, LISTS, stock_etag));

    // And a document written by ours is served by the stock module.
    assert_eq!(put(&ours, DOC, RL, LISTS.replace("Carol", "Caroline").as_bytes(), &[]).code, 200);
    let our_etag = etag(&get(&ours, DOC, &[]));
    let mut setup = Setup::new("xcap.cfg", &[]);
    setup.defines = &["STOCK_XCAP"];
    setup.db = Some(ours.database());
    let s2 = Kamailio::start(setup);
    let r = get(&s2, DOC, &[]);
    assert_eq!((r.code, r.body.contains("Caroline"), etag(&r)), (200, true, our_etag));
}

/// Differential: the same requests against the stock module and ours. Where stock is right,
/// the answers agree; each deliberate difference is named.
fn differential_against_the_stock_module() {
    let ours = xcap::ours(&[]);
    let stock = xcap::stock();
    for k in [&ours, &stock] {
        put(k, DOC, RL, LISTS.as_bytes(), &[]);
    }
    // Same answers: whole-document GET, element and attribute GET, a missing node,
    // a stale If-Match, a matching If-None-Match.
    let same: Vec<(&str, String, Vec<String>)> = vec![
        ("GET", DOC.to_string(), vec![]),
        ("GET", node("resource-lists/list[2]/entry"), vec![]),
        ("GET", node(r#"resource-lists/list[@name="friends"]/entry[2]/@uri"#), vec![]),
        ("GET", node(r#"resource-lists/list[@name="nobody"]"#), vec![]),
        ("GET", DOC.to_string(), vec!["If-Match: \"stale\"".into()]),
        ("DELETE", DOC.to_string(), vec!["If-Match: \"stale\"".into()]),
    ];
    for (method, path, headers) in &same {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        let (a, b) = match *method {
            "GET" => (get(&ours, path, &h), get(&stock, path, &h)),
            _ => (delete(&ours, path, &h), delete(&stock, path, &h)),
        };
        assert_eq!((a.code, a.body.as_str()), (b.code, b.body.as_str()), "{method} {path} {headers:?}");
    }
    let e = etag(&get(&stock, DOC, &[]));
    let e_ours = etag(&get(&ours, DOC, &[]));
    assert_eq!(get(&stock, DOC, &[&format!("If-None-Match: {e}")]).code, 304);
    assert_eq!(get(&ours, DOC, &[&format!("If-None-Match: {e_ours}")]).code, 304);

    // Deliberate difference: creating a document answers 201 (RFC 4825 §8.2.1); stock says 200.
    let other = "/xcap-root/resource-lists/users/sip:alice@example.com/other";
    assert_eq!(put(&ours, other, RL, LISTS.as_bytes(), &[]).code, 201);
    assert_eq!(put(&stock, other, RL, LISTS.as_bytes(), &[]).code, 200);
    // Deliberate difference: element and attribute selections carry their own MIME types
    // (RFC 4825 §7.6); stock answers with the document's.
    let sel = node("resource-lists/list[2]/entry");
    assert_eq!(get(&ours, &sel, &[]).header("Content-Type"), Some(EL));
    assert_eq!(get(&stock, &sel, &[]).header("Content-Type"), Some(RL));
    // Deliberate difference: DELETE of a missing document is 404; stock answers 500.
    let missing = "/xcap-root/resource-lists/users/sip:alice@example.com/missing";
    assert_eq!(delete(&ours, missing, &[]).code, 404);
    assert_eq!(delete(&stock, missing, &[]).code, 500);
    // Deliberate difference: an element PUT replaces in place; stock moves it to the end.
    let first = node("resource-lists/list[1]/entry[1]");
    let entry = br#"<entry uri="sip:bob@example.com"><display-name>Bobby</display-name></entry>"#;
    for k in [&ours, &stock] {
        assert_eq!(put(k, &first, EL, entry, &[]).code, 200);
    }
    let pos = |k: &Kamailio| {
        let d = get(k, DOC, &[]).body;
        d.find("Bobby").unwrap() < d.find("Carol").unwrap()
    };
    assert!(pos(&ours), "ours keeps the entry first");
    assert!(!pos(&stock), "stock moved the entry after Carol");
    // Deliberate difference: a malformed document is 409 not-well-formed; stock answers 500.
    assert_eq!(put(&ours, DOC, RL, b"<resource-lists", &[]).code, 409);
    assert_eq!(put(&stock, DOC, RL, b"<resource-lists", &[]).code, 500);
    // Deliberate difference: an element PUT without a Content-Type is 415 (RFC 4825 §8.2.1:
    // nothing says the body is an element rather than a document); stock takes it (200).
    let zed = node(r#"resource-lists/list[1]/entry[@uri="sip:zed@example.com"]"#);
    assert_eq!(put_without_content_type(&stock, &zed, br#"<entry uri="sip:zed@example.com"/>"#).code, 200);
    assert!(get(&stock, DOC, &[]).body.contains("sip:zed@example.com"));
    let bare = put_without_content_type(&ours, &zed, br#"<entry uri="sip:zed@example.com"/>"#);
    assert_eq!(bare.code, 415, "{bare:?}");
    assert!(!get(&ours, DOC, &[]).body.contains("zed"));
    // A whole document without a Content-Type is still taken, as by stock.
    let third = "/xcap-root/resource-lists/users/sip:alice@example.com/third";
    assert_eq!(put_without_content_type(&ours, third, LISTS.as_bytes()).code, 201);
    assert_eq!(put_without_content_type(&stock, third, LISTS.as_bytes()).code, 200);
    assert_eq!(get(&ours, third, &[]).body, LISTS);
}

/// The namespace selector (RFC 4825 §10) is answered, repeatedly, and the server stays up.
#[test]
fn namespace_selector_keeps_the_server_up() {
    let sel = node("resource-lists/list[1]/namespace::*");
    let mut k = xcap::ours(&[]);
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    for _ in 0..5 {
        let r = get(&k, &sel, &[]);
        assert_eq!((r.code, r.header("Content-Type")), (200, Some("application/xcap-ns+xml")));
    }
    assert_eq!(delete(&k, &sel, &[]).code, 405);
    assert!(k.is_running());
    assert_eq!(get(&k, DOC, &[]).code, 200);
}

#[test]
fn kemi_functions_from_a_lua_script() {
    let mut s = Setup::new("xcap-kemi.cfg", &["xcap_server"]);
    s.schemas = &["presence"];
    let k = Kamailio::start(s);
    assert_eq!(put(&k, DOC, RL, LISTS.as_bytes(), &[]).code, 201);
    assert_eq!(get(&k, &node("resource-lists/list[2]/entry/@uri"), &[]).body, "sip:dave@example.com");
    assert_eq!(delete(&k, DOC, &[]).code, 200);
    assert_eq!(get(&k, DOC, &[]).code, 404);
}

/// The documented setup (digest authentication, script-built xcap-caps, the per-user check)
/// behaves the same with ours and with the stock module, but for the 201 on creation.
#[test]
fn the_documented_setup_with_authentication_works_with_both() {
    let users = "INSERT INTO subscriber (username, domain, password) VALUES ('alice', '127.0.0.1', 'secret-a'), ('bob', '127.0.0.1', 'secret-b');";
    let alice_doc = "/xcap-root/resource-lists/users/sip:alice@127.0.0.1/index";
    for (stock, defines) in [(false, &[][..]), (true, &["STOCK_XCAP"][..])] {
        let mut s = Setup::new("xcap-auth.cfg", if stock { &[] } else { &["xcap_server"] });
        s.defines = defines;
        s.schemas = &["presence", "auth_db"];
        s.sql = users;
        let k = Kamailio::start(s);
        let as_user = |user: &str, pass: &str, extra: &[&str], path: &str| {
            let cred = format!("{user}:{pass}");
            let mut args = vec!["--digest", "-u", &cred];
            args.extend_from_slice(extra);
            k.http(&args, path)
        };
        let who = if stock { "stock" } else { "ours" };
        // No credentials: a digest challenge.
        let r = k.http(&[], alice_doc);
        assert_eq!(r.code, 401, "{who}: {r:?}");
        assert!(r.header("WWW-Authenticate").is_some_and(|h| h.starts_with("Digest")), "{who}: {r:?}");
        // Alice stores and reads her document.
        let put = as_user("alice", "secret-a", &["-X", "PUT", "-H", "Content-Type: application/resource-lists+xml", "--data-binary", LISTS], alice_doc);
        assert_eq!(put.code, if stock { 200 } else { 201 }, "{who}");
        let r = as_user("alice", "secret-a", &[], alice_doc);
        assert_eq!((r.code, r.body.as_str()), (200, LISTS), "{who}");
        // Bob may not read Alice's document; a wrong password is challenged again.
        assert_eq!(as_user("bob", "secret-b", &[], alice_doc).code, 403, "{who}");
        assert_eq!(as_user("alice", "wrong", &[], alice_doc).code, 401, "{who}");
        // xcap-caps comes from the script.
        let r = as_user("bob", "secret-b", &[], "/xcap-root/xcap-caps/global/index");
        assert_eq!((r.code, r.header("Content-Type")), (200, Some("application/xcap-caps+xml")), "{who}");
        assert_eq!(as_user("alice", "secret-a", &["-X", "DELETE"], alice_doc).code, 200, "{who}");
    }
}
