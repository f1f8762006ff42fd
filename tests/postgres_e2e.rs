//! The same modules on PostgreSQL (db_postgres) instead of SQLite: the DB API is the
//! Kamailio one, so any backend works; this runs the real server we also deploy on.

mod harness;

use harness::postgres::Postgres;
use harness::{assert_sipp_ok, rpc_field as field, subscription_state, Kamailio, Setup};

#[test]
fn concurrent_db_writes_in_transactions_from_several_processes() {
    const N: usize = 300;
    let pg = Postgres::start(
        &[],
        "CREATE TABLE kamtest (id SERIAL PRIMARY KEY, pid INTEGER NOT NULL, call_id VARCHAR(255) NOT NULL);
         INSERT INTO version (table_name, table_version) VALUES ('kamtest', 1);",
    );
    let mut s = Setup::new("kamtest.cfg", &["kamtest"]);
    s.vars.push(("COUNTER_START", "0".into()));
    s.vars.push(("TABLE_VERSION", "1".into()));
    s.db_url = Some(pg.url());
    let k = Kamailio::start(s);
    // PostgreSQL takes concurrent writers: 20 requests in flight.
    let out = k.sipp("request.xml", &["-s", "db", "-m", &N.to_string(), "-r", "1000", "-l", "20"]);
    assert_sipp_ok(&out, &k);
    let reply = k.rpc(&["kamtest.db_rows"]);
    assert_eq!(field(&reply, "rows"), N as i64);
    assert!(field(&reply, "pids") >= 2, "{reply}");
    assert_eq!(pg.psql("kamailio", "SELECT COUNT(DISTINCT call_id) FROM kamtest;").trim(), N.to_string());
}

#[test]
fn xcap_server_on_postgresql() {
    let pg = Postgres::start(&["presence"], "");
    let mut s = Setup::new("xcap.cfg", &["xcap_server"]);
    s.db_url = Some(pg.url());
    let k = Kamailio::start(s);
    let doc = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
    let body = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry uri="sip:b@example.com"/></list></resource-lists>"#;
    let put = |path: &str, ct: &str, b: &str| {
        k.http(&["-X", "PUT", "-H", &format!("Content-Type: {ct}"), "--data-binary", b], path).code
    };
    assert_eq!(put(doc, "application/resource-lists+xml", body), 201);
    assert_eq!(put(&format!("{doc}/~~/resource-lists/list/entry%5B2%5D"), "application/xcap-el+xml", r#"<entry uri="sip:c@example.com"/>"#), 201);
    let r = k.http(&[], doc);
    assert_eq!(r.code, 200);
    assert!(r.body.contains(r#"<entry uri="sip:b@example.com"/><entry uri="sip:c@example.com"/>"#), "{}", r.body);
    // The bytea column holds exactly what GET returns.
    let stored = pg.psql("kamailio", "SELECT convert_from(doc, 'UTF8') FROM xcap;");
    assert_eq!(stored.trim_end(), r.body);
    assert_eq!(k.http(&["-X", "DELETE"], doc).code, 200);
    assert_eq!(pg.psql("kamailio", "SELECT COUNT(*) FROM xcap;").trim(), "0");
}

#[test]
fn xcap_client_mirrors_into_postgresql() {
    // The XCAP server on SQLite; presence and our xcap_client on PostgreSQL.
    let mut s = Setup::new("xcap.cfg", &["xcap_server"]);
    s.schemas = &["presence"];
    let server = Kamailio::start(s);
    let rules = r#"<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy"><cr:rule id="a"><cr:conditions><cr:identity><cr:one id="sip:bob@127.0.0.1"/></cr:identity></cr:conditions><cr:actions><sub-handling>allow</sub-handling></cr:actions><cr:transformations/></cr:rule></cr:ruleset>"#;
    let path = "/xcap-root/pres-rules/users/sip:alice@127.0.0.1/index";
    let r = server.http(&["-X", "PUT", "-H", "Content-Type: application/auth-policy+xml", "--data-binary", rules], path);
    assert_eq!(r.code, 201);

    let pg = Postgres::start(&["presence"], "");
    let mut s = Setup::new("presence-xcap-client.cfg", &["xcap_client"]);
    let xs = format!("127.0.0.1/xcap-root:{}", server.http_port);
    s.vars.push(("XCAP_SERVER", xs.clone()));
    s.vars.push(("XCAP_ROOT_URL", xs));
    s.vars.push(("QUERY_PERIOD", "100".into()));
    s.db_url = Some(pg.url());
    let k = Kamailio::start(s);
    assert_eq!(subscription_state(&k.subscribe("presence", "bob", "alice", "Expires: 300")).0, "active");
    let row = pg.psql("kamailio", "SELECT username, doc_type, source, etag FROM xcap;");
    let server_etag = server.sql("SELECT etag FROM xcap;");
    assert_eq!(row.trim(), format!("alice|2|1|{}", server_etag.trim()));

    // A change on the server reaches the PostgreSQL row through the refresh RPC.
    let r = server.http(&["-X", "PUT", "-H", "Content-Type: application/auth-policy+xml", "--data-binary", &rules.replace("allow", "block")], path);
    assert_eq!(r.code, 200);
    let url = format!("http://127.0.0.1:{}{path}", server.http_port);
    assert_eq!(k.rpc(&["xcap_client.refreshXcapDoc", &url, &server.http_port.to_string()]).trim(), "updated");
    assert!(pg.psql("kamailio", "SELECT convert_from(doc, 'UTF8') FROM xcap;").contains(">block<"));
    assert_eq!(pg.psql("kamailio", "SELECT status FROM watchers WHERE watcher_username='bob';").trim(), "3");
}

/// The database goes away under a running XCAP server: requests get a 500 and a log line, the
/// workers keep serving, and once the database is back the stored documents are all there.
#[test]
fn a_database_that_goes_down_gives_errors_not_crashes_and_loses_nothing() {
    let pg = Postgres::start(&["presence"], "");
    let mut s = Setup::new("xcap.cfg", &["xcap_server"]);
    s.db_url = Some(pg.url());
    let mut k = Kamailio::start(s);
    let doc = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
    let body = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"/></resource-lists>"#;
    let put = |k: &Kamailio, b: &str| k.http(&["-X", "PUT", "-H", "Content-Type: application/resource-lists+xml", "--data-binary", b], doc).code;
    assert_eq!(put(&k, body), 201);

    pg.stop();
    for _ in 0..4 {
        assert_eq!(k.http(&[], doc).code, 500);
        assert_eq!(put(&k, &body.replace("\"a\"", "\"b\"")), 500);
    }
    assert!(k.is_running());
    assert_eq!(k.request("OPTIONS", "anyone", &[], b"").code, 200, "SIP is still served");
    let log = k.log_text();
    assert!(log.contains("ERROR: xcap_server") && log.contains("(owner \"sip:alice@example.com\""), "{log}");

    pg.restart();
    // db_postgres reconnects on the next query; the document stored before is unchanged.
    let mut code = 0;
    for _ in 0..20 {
        let r = k.http(&[], doc);
        code = r.code;
        if code == 200 {
            assert_eq!(r.body, body);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert_eq!(code, 200, "the server did not recover:\n{}", k.log_text());
}
