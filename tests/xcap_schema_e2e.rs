//! xcap_server schema validation end to end (RFC 4825 §8.2.5, RFC 4826 §3.2/§4.2/§4.4.5):
//! curl against Kamailio running test-configs/xcap.cfg; what breaks the usage's schema is a
//! 409 `<schema-validation-error>` and leaves the stored document as it was.

mod harness;

use harness::xcap::{self, FRIENDS_NAMED as LISTS};
use harness::{Kamailio, SipReply};

const LISTS_DOC: &str = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
const ALICE_RLS: &str = "/xcap-root/rls-services/users/sip:alice@example.com/index";
const BOB_RLS: &str = "/xcap-root/rls-services/users/sip:bob@example.com/index";
const RL: &str = "application/resource-lists+xml";
const RLS: &str = "application/rls-services+xml";
const EL: &str = "application/xcap-el+xml";
const ATT: &str = "application/xcap-att+xml";
const XCAP_ERROR_NS: &str = "urn:ietf:params:xml:ns:xcap-error";

fn rls(services: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rls-services xmlns=\"urn:ietf:params:xml:ns:rls-services\" \
         xmlns:rl=\"urn:ietf:params:xml:ns:resource-lists\">\n{services}\n</rls-services>\n"
    )
}

fn service(uri: &str) -> String {
    format!(
        "<service uri=\"{uri}\"><list name=\"l\"><rl:entry uri=\"sip:carol@example.com\"/></list>\
         <packages><package>presence</package></packages></service>"
    )
}

fn put(k: &Kamailio, path: &str, ctype: &str, body: &str) -> SipReply {
    let ct = format!("Content-Type: {ctype}");
    k.http(&["-X", "PUT", "-H", &ct, "--data-binary", body], path)
}

fn get(k: &Kamailio, path: &str) -> SipReply {
    k.http(&[], path)
}

/// `~~` URI of a node of `doc`, with what curl would not send as is percent-encoded.
fn node(doc: &str, sel: &str) -> String {
    let enc = sel.replace('[', "%5B").replace(']', "%5D").replace('"', "%22");
    format!("{doc}/~~/{enc}")
}

/// Asserts a 409 whose xcap-error body carries `<element`.
#[track_caller]
fn conflict(r: &SipReply, element: &str) {
    assert_eq!(r.code, 409, "{r:?}");
    assert_eq!(r.header("Content-Type"), Some("application/xcap-error+xml"), "{r:?}");
    assert!(r.body.contains(XCAP_ERROR_NS) && r.body.contains(&format!("<{element}")), "{element}: {}", r.body);
}

// What stores documents runs on every database back end (tests/harness/db.rs).
on_every_backend!(
    schema_violations_are_refused_and_nothing_is_stored,
    rls_lists_keep_the_resource_lists_uniqueness,
    service_uris_are_unique_across_all_users,
    difference_stock_stores_schema_violations,
    service_uri_check_over_many_documents,
);

fn schema_violations_are_refused_and_nothing_is_stored() {
    let k = xcap::ours(&[]);
    assert_eq!(put(&k, LISTS_DOC, RL, LISTS).code, 201);
    let before = xcap::stored(&k);
    // Whole document: an unqualified unknown attribute and an unknown resource-lists child.
    let bogus = LISTS.replace(
        "<list name=\"friends\">",
        "<list name=\"friends\" bogus=\"1\"><foo/>",
    );
    let r = put(&k, LISTS_DOC, RL, &bogus);
    conflict(&r, "schema-validation-error");
    assert!(r.body.contains("bogus"), "the phrase names the attribute: {}", r.body);
    // Element PUT of an unknown element, attribute PUT of an unknown attribute.
    conflict(&put(&k, &node(LISTS_DOC, "resource-lists/list[1]/foo"), EL, "<foo/>"), "schema-validation-error");
    conflict(
        &put(&k, &node(LISTS_DOC, "resource-lists/list[1]/@some-attribute"), ATT, "x"),
        "schema-validation-error",
    );
    // DELETE of a required attribute.
    let r = k.http(&["-X", "DELETE"], &node(LISTS_DOC, "resource-lists/list[1]/entry[1]/@uri"));
    conflict(&r, "schema-validation-error");
    assert_eq!(xcap::stored(&k), before);
    assert_eq!(get(&k, LISTS_DOC).body, LISTS);

    // rls-services: a service with neither <resource-list> nor <list>.
    let empty = rls("<service uri=\"sip:friends@example.com\"><packages><package>presence</package></packages></service>");
    conflict(&put(&k, ALICE_RLS, RLS, &empty), "schema-validation-error");
    assert_eq!(get(&k, ALICE_RLS).code, 404);
    assert_eq!(xcap::stored(&k), before);

    // A valid document is still stored.
    let valid = LISTS.replace("</list>", "<entry uri=\"sip:carol@example.com\"/></list>");
    assert_eq!(put(&k, LISTS_DOC, RL, &valid).code, 200);
    assert_eq!(get(&k, LISTS_DOC).body, valid);
    assert_eq!(put(&k, ALICE_RLS, RLS, &rls(&service("sip:friends@example.com"))).code, 201);
}

fn rls_lists_keep_the_resource_lists_uniqueness() {
    let k = xcap::ours(&[]);
    let twice = rls(
        "<service uri=\"sip:friends@example.com\"><list><rl:entry uri=\"sip:carol@example.com\"/>\
         <rl:entry uri=\"sip:carol@example.com\"/></list></service>",
    );
    let r = put(&k, ALICE_RLS, RLS, &twice);
    conflict(&r, "uniqueness-failure");
    assert!(r.body.contains("<exists field=") && r.body.contains("rl:entry"), "{}", r.body);
    assert_eq!(get(&k, ALICE_RLS).code, 404);
    // An element PUT adding the same entry again is refused too.
    assert_eq!(put(&k, ALICE_RLS, RLS, &rls(&service("sip:friends@example.com"))).code, 201);
    let before = xcap::stored(&k);
    let sel = "rls-services/service[1]/list/rl:entry[2]?xmlns(rl=urn:ietf:params:xml:ns:resource-lists)";
    conflict(&put(&k, &node(ALICE_RLS, sel), EL, "<rl:entry xmlns:rl=\"urn:ietf:params:xml:ns:resource-lists\" uri=\"sip:carol@example.com\"/>"), "uniqueness-failure");
    assert_eq!(xcap::stored(&k), before);
}

fn service_uris_are_unique_across_all_users() {
    let k = xcap::ours(&[]);
    assert_eq!(put(&k, BOB_RLS, RLS, &rls(&service("sip:friends@example.com"))).code, 201);
    let before = xcap::stored(&k);
    // Alice may not take bob's service URI: 409 with the field and a free alternative.
    let r = put(&k, ALICE_RLS, RLS, &rls(&format!("{}{}", service("sip:mine@example.com"), service("sip:friends@example.com"))));
    conflict(&r, "uniqueness-failure");
    assert!(r.body.contains("<exists field=\"rls-services/service%5B2%5D/@uri\">"), "{}", r.body);
    assert!(r.body.contains("<alt-value>sip:friends-1@example.com</alt-value>"), "{}", r.body);
    assert_eq!(xcap::stored(&k), before);
    // Nor by an attribute PUT into her own document.
    assert_eq!(put(&k, ALICE_RLS, RLS, &rls(&service("sip:mine@example.com"))).code, 201);
    let before = xcap::stored(&k);
    conflict(&put(&k, &node(ALICE_RLS, "rls-services/service[1]/@uri"), ATT, "sip:friends@example.com"), "uniqueness-failure");
    assert_eq!(xcap::stored(&k), before);
    // Bob may PUT his own document again, and alice the suggested URI.
    assert_eq!(put(&k, BOB_RLS, RLS, &rls(&service("sip:friends@example.com"))).code, 200);
    assert_eq!(put(&k, &node(ALICE_RLS, "rls-services/service[1]/@uri"), ATT, "sip:friends-1@example.com").code, 200);
}

/// Deliberate difference: the stock module stores documents that break the usage's schema
/// (it checks well-formedness only); ours refuses them with 409 schema-validation-error.
fn difference_stock_stores_schema_violations() {
    let bogus = LISTS.replace("<list name=\"friends\">", "<list name=\"friends\" bogus=\"1\"><foo/>");
    let empty = rls("<service uri=\"sip:friends@example.com\"><packages/></service>");
    let stock = xcap::stock();
    assert!(matches!(put(&stock, LISTS_DOC, RL, &bogus).code, 200 | 201));
    assert_eq!(get(&stock, LISTS_DOC).body, bogus, "stock stored the invalid document");
    assert!(matches!(put(&stock, ALICE_RLS, RLS, &empty).code, 200 | 201));
    let ours = xcap::ours(&[]);
    conflict(&put(&ours, LISTS_DOC, RL, &bogus), "schema-validation-error");
    conflict(&put(&ours, ALICE_RLS, RLS, &empty), "schema-validation-error");
    assert_eq!(ours.sql("SELECT COUNT(*) FROM xcap;").trim(), "0");
}

/// `schema_validation=0` gives back the stock module's behaviour: well-formed documents are
/// stored whatever their schema says; what is not well-formed is still refused.
#[test]
fn schema_validation_off_stores_what_stock_stores() {
    let bogus = LISTS.replace("<list name=\"friends\">", "<list name=\"friends\" bogus=\"1\"><foo/>");
    let k = xcap::ours(&["NO_SCHEMA_VALIDATION"]);
    assert_eq!(put(&k, LISTS_DOC, RL, &bogus).code, 201);
    assert_eq!(get(&k, LISTS_DOC).body, bogus);
    let r = put(&k, &node(LISTS_DOC, "resource-lists/list[@name=\"friends\"]/@other"), ATT, "x");
    assert_eq!(r.code, 201, "{}", r.body);
    let r = put(&k, LISTS_DOC, RL, "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list>");
    conflict(&r, "not-well-formed");
    assert!(get(&k, LISTS_DOC).body.contains("other=\"x\""));
}

/// The server-wide check reads every rls-services document: with 2000 other users' documents
/// a PUT still answers promptly (a generous bound; the figures are printed) and finds a clash
/// with any of them.
fn service_uri_check_over_many_documents() {
    const USERS: usize = 2000;
    let k = xcap::ours(&[]);
    // Multi-row INSERTs of a few hundred rows each: one command line per statement.
    let db = k.database();
    let rows: Vec<String> = (1..=USERS)
        .map(|i| {
            let doc = format!(
                "<rls-services xmlns=\"urn:ietf:params:xml:ns:rls-services\"><service uri=\"sip:s{i}@example.com\">\
                 <resource-list>http://x/l</resource-list></service></rls-services>"
            );
            let blob = xcap::blob_literal(&db, doc.as_bytes());
            format!("('u{i}', 'example.com', {blob}, 8, 'e{i}', 0, '/xcap-root/rls-services/users/sip:u{i}@example.com/index', 0)")
        })
        .collect();
    for chunk in rows.chunks(200) {
        k.sql(&format!(
            "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES {};",
            chunk.join(", ")
        ));
    }
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap WHERE doc_type = 8;").trim(), USERS.to_string());
    let started = std::time::Instant::now();
    for i in 0..20 {
        let r = put(&k, ALICE_RLS, RLS, &rls(&service(&format!("sip:alice-{i}@example.com"))));
        assert!(matches!(r.code, 200 | 201), "{r:?}");
    }
    let elapsed = started.elapsed();
    println!("20 rls-services PUTs against {USERS} other documents: {elapsed:?} ({:?} each)", elapsed / 20);
    assert!(elapsed < std::time::Duration::from_secs(30), "{elapsed:?}");
    let r = put(&k, ALICE_RLS, RLS, &rls(&service(&format!("sip:s{}@example.com", USERS / 2))));
    conflict(&r, "uniqueness-failure");
}
