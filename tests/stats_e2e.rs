//! The modules' counters in Kamailio's statistics, end to end: after a known load, every
//! counter of a module's group has exactly the expected value, as `kamcmd
//! stats.get_statistics` lists it and as xhttp_prom exports it on `/metrics` (`-A WITH_STATS`
//! in test-configs/presence-xml.cfg, pua.cfg and presence-xcap-client.cfg loads kex and
//! xhttp_prom).
//!
//! Each group is compared whole: a counter missing, extra, or off by one fails the test.

mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use harness::pua;
use harness::xcap::{FRIENDS, FRIENDS_NAMED};
use harness::{free_port, subscription_state, Kamailio, Setup};

type Stats = BTreeMap<String, i64>;

/// The statistics of `group` as `kamcmd stats.get_statistics <group>:` prints them
/// (`group:name = value` lines).
fn kamcmd_group(k: &Kamailio, group: &str) -> Stats {
    let out = k.rpc(&["stats.get_statistics", &format!("{group}:")]);
    parse_kamcmd(&out, group)
}

fn parse_kamcmd(out: &str, group: &str) -> Stats {
    out.lines()
        .filter_map(|l| {
            let (name, value) = l.trim().split_once(" = ")?;
            let name = name.strip_prefix(&format!("{group}:"))?;
            Some((name.to_string(), value.trim().parse().unwrap_or_else(|_| panic!("not a number: {l:?}"))))
        })
        .collect()
}

/// The statistics of `group` in xhttp_prom's export: `kamailio_<group>_<name> value timestamp`.
fn prom_group(k: &Kamailio, group: &str) -> Stats {
    let r = k.http(&[], "/metrics");
    assert_eq!(r.code, 200, "GET /metrics: {r:?}");
    let prefix = format!("kamailio_{group}_");
    r.body
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next()?.strip_prefix(&prefix)?;
            let value = parts.next()?.parse().unwrap_or_else(|_| panic!("not a number: {l:?}"));
            Some((name.to_string(), value))
        })
        .collect()
}

fn expected(pairs: &[(&str, i64)]) -> Stats {
    pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

/// Both ways of reading a group show exactly `want`; `kamcmd stats.get_statistics all` too.
fn assert_group(k: &Kamailio, group: &str, want: &[(&str, i64)]) {
    let want = expected(want);
    assert_eq!(kamcmd_group(k, group), want, "kamcmd stats.get_statistics {group}:");
    assert_eq!(parse_kamcmd(&k.rpc(&["stats.get_statistics", "all"]), group), want, "kamcmd stats.get_statistics all");
    assert_eq!(prom_group(k, group), want, "xhttp_prom /metrics");
}

// ---------------------------------------------------------------------------------------------
// xcap_server and presence_xml

const PIDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@127.0.0.1"><tuple id="t1"><status><basic>open</basic></status></tuple></presence>"#;

fn rule(id: &str, who: &str, action: &str) -> String {
    format!(
        r#"<cr:rule id="{id}"><cr:conditions><cr:identity><cr:one id="sip:{who}@127.0.0.1"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>{action}</pr:sub-handling></cr:actions><cr:transformations><pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-devices><pr:all-devices/></pr:provide-devices></cr:transformations></cr:rule>"#
    )
}

fn rules() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">{}{}{}</cr:ruleset>"#,
        rule("a", "bob", "allow"),
        rule("b", "mallory", "block"),
        rule("p", "pat", "polite-block")
    )
}

fn rls_services(service: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="{service}"><resource-list>http://127.0.0.1/xcap-root/resource-lists/users/sip:bob@127.0.0.1/index/~~/resource-lists/list%5b@name=%22friends%22%5d</resource-list><packages><package>presence</package></packages></service></rls-services>"#
    )
}

const LISTS: &str = "/xcap-root/resource-lists/users/sip:bob@127.0.0.1/index";
const LISTS_CT: &str = "Content-Type: application/resource-lists+xml";

/// curl's arguments for a PUT of `body` with these extra header lines.
fn put<'a>(body: &'a str, headers: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["-X", "PUT", "--data-binary", body];
    for h in headers {
        a.extend(["-H", h]);
    }
    a
}

fn status(k: &Kamailio, args: &[&str], path: &str) -> u32 {
    k.http(args, path).code
}

fn presence_server() -> Kamailio {
    let mut s = Setup::new("presence-xml.cfg", &["presence_xml", "xcap_server", "xcap_client"]);
    s.defines = &["OUR_PRESENCE_XML", "WITH_STATS"];
    s.schemas = &["presence"];
    Kamailio::start(s)
}

#[test]
fn xcap_server_and_presence_xml_count_what_they_answered() {
    let k = presence_server();
    let zero_xcap: Vec<(&str, i64)> = [
        "db_errors", "delete_2xx", "delete_3xx", "delete_4xx", "delete_5xx", "get_2xx", "get_3xx", "get_4xx", "get_5xx",
        "media_type_refusals", "node_conflicts", "precondition_failures", "put_2xx", "put_3xx", "put_4xx", "put_5xx",
        "races_lost", "retries_exhausted", "uniqueness_conflicts", "validation_refusals",
    ]
    .iter()
    .map(|n| (*n, 0))
    .collect();
    assert_group(&k, "xcap_server", &zero_xcap);

    // PUT: 201, 201, 200; 409 (not well-formed), 412, 415 (an element without Content-Type),
    // 409 no-parent; rls-services: 201, then 409 uniqueness-failure for another user.
    let rules_path = "/xcap-root/pres-rules/users/sip:alice@127.0.0.1/index";
    assert_eq!(status(&k, &put(&rules(), &["Content-Type: application/auth-policy+xml"]), rules_path), 201);
    assert_eq!(status(&k, &put(FRIENDS, &[LISTS_CT]), LISTS), 201);
    let r = k.http(&put(FRIENDS_NAMED, &[LISTS_CT]), LISTS);
    assert_eq!(r.code, 200, "{r:?}");
    let etag = r.header("ETag").expect("an ETag").to_string();
    assert_eq!(status(&k, &put("<resource-lists", &[LISTS_CT]), LISTS), 409);
    assert_eq!(status(&k, &put(FRIENDS, &[LISTS_CT, "If-Match: \"stale\""]), LISTS), 412);
    let entry = format!("{LISTS}/~~/resource-lists/list%5b@name=%22friends%22%5d/entry%5b@uri=%22sip:carol@example.com%22%5d");
    assert_eq!(status(&k, &put(r#"<entry uri="sip:carol@example.com"/>"#, &["Content-Type:"]), &entry), 415);
    let orphan = format!("{LISTS}/~~/resource-lists/list%5b@name=%22none%22%5d/entry");
    assert_eq!(status(&k, &put(r#"<entry uri="sip:dan@example.com"/>"#, &["Content-Type: application/xcap-el+xml"]), &orphan), 409);
    let rls = rls_services("sip:friends@127.0.0.1");
    let rls_ct = "Content-Type: application/rls-services+xml";
    assert_eq!(status(&k, &put(&rls, &[rls_ct]), "/xcap-root/rls-services/users/sip:carol@127.0.0.1/index"), 201);
    assert_eq!(status(&k, &put(&rls, &[rls_ct]), "/xcap-root/rls-services/users/sip:dave@127.0.0.1/index"), 409);
    // GET: 200, 200, 304, 404.
    assert_eq!(status(&k, &[], LISTS), 200);
    assert_eq!(status(&k, &[], rules_path), 200);
    let inm = format!("If-None-Match: {etag}");
    assert_eq!(status(&k, &["-H", &inm], LISTS), 304);
    assert_eq!(status(&k, &[], "/xcap-root/resource-lists/users/sip:nobody@127.0.0.1/index"), 404);
    // DELETE: 200, then 404.
    assert_eq!(status(&k, &["-X", "DELETE"], LISTS), 200);
    assert_eq!(status(&k, &["-X", "DELETE"], LISTS), 404);
    // The table gone for a moment: a GET fails in the database (500).
    k.sql("ALTER TABLE xcap RENAME TO xcap_away;");
    assert_eq!(status(&k, &[], rules_path), 500);
    k.sql("ALTER TABLE xcap_away RENAME TO xcap;");
    assert_eq!(status(&k, &[], rules_path), 200);

    // presence_xml: one PUBLISH body refused; one watcher of each decision.
    let publish = |body: &str| {
        let h = [("Event", "presence"), ("Expires", "600"), ("Content-Type", "application/pidf+xml")];
        k.request("PUBLISH", "alice", &h, body.as_bytes()).code
    };
    assert_eq!(publish(PIDF), 200);
    assert_eq!(publish("this is not XML"), 415);
    for (watcher, state) in [("bob", "active"), ("mallory", "terminated"), ("pat", "active"), ("carol", "pending")] {
        let notify = k.subscribe("presence", watcher, "alice", "Expires: 600");
        assert_eq!(subscription_state(&notify).0, state, "{watcher}: {notify}");
    }

    let want: Vec<(&str, i64)> = zero_xcap
        .iter()
        .map(|(n, _)| {
            let v = match *n {
                "put_2xx" => 4,
                "put_4xx" => 5,
                "validation_refusals" => 1,
                "precondition_failures" => 1,
                "media_type_refusals" => 1,
                "node_conflicts" => 1,
                "uniqueness_conflicts" => 1,
                "get_2xx" => 3,
                "get_3xx" => 1,
                "get_4xx" => 1,
                "get_5xx" => 1,
                "db_errors" => 1,
                "delete_2xx" => 1,
                "delete_4xx" => 1,
                _ => 0,
            };
            (*n, v)
        })
        .collect();
    assert_group(&k, "xcap_server", &want);
    assert_group(
        &k,
        "presence_xml",
        &[
            ("auth_errors", 0),
            ("bodies_refused", 1),
            ("watchers_allowed", 1),
            ("watchers_blocked", 1),
            ("watchers_pending", 1),
            ("watchers_polite_blocked", 1),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// pua

/// Publications granted 1 s and refused with 412 when refreshed, a subscription, and a
/// PUBLISH nobody answers; no refresh timer (update_period 0): pua.cleanup runs the refreshes.
#[test]
fn pua_counts_requests_replies_refreshes_and_records() {
    let uas = pua::publish_uas(&[("grant", "1"), ("refuse_if_match", "1")]);
    let subs = pua::subscribe_uas(&[]);
    let mut s = Setup::new("pua.cfg", &["pua"]);
    s.defines = &["WITH_STATS", "PUA_UPDATE_PERIOD=0"];
    s.schemas = &["presence"];
    let k = Kamailio::start(s);
    let zero: Vec<(&str, i64)> = [
        "db_errors", "publish_sent", "records", "refreshes", "replies_2xx", "replies_3xx", "replies_4xx", "replies_5xx",
        "replies_6xx", "replies_timeout", "subscribe_sent",
    ]
    .iter()
    .map(|n| (*n, 0))
    .collect();
    assert_group(&k, "pua", &zero);

    // Two publications (200): two records.
    for user in ["alice", "bob"] {
        let uri = format!("sip:{user}@127.0.0.1:{}", uas.port);
        let p = pua::publish(&k, &uri, 3600, None, None, Some(&pua::pidf(&uri, "open", user)));
        assert!(p.error().is_none(), "{}", p.raw);
    }
    let mut want = expected(&zero);
    want.extend(expected(&[("publish_sent", 2), ("replies_2xx", 2), ("records", 2)]));
    assert_eq!(kamcmd_group(&k, "pua"), want);

    // Both due (granted 1 s, wanted an hour): refreshed, refused with 412, dropped.
    pua::sleep_ms(2100);
    pua::cleanup(&k);
    pua::nth_publish(&uas, 4);
    uas.wait_answered(Duration::from_secs(2));
    pua::sleep_ms(pua::SETTLE);

    // A subscription (200): one record.
    pua::subscribe(&k, &format!("sip:carol@127.0.0.1:{}", subs.port), 600);
    pua::nth_request(&subs, "SUBSCRIBE", 1, Duration::from_secs(5));
    subs.wait_answered(Duration::from_secs(2));
    pua::sleep_ms(pua::SETTLE);

    // A PUBLISH to a port nobody listens on: tm gives up after fr_timer (4 s) with a 408.
    let nowhere = format!("sip:dave@127.0.0.1:{}", free_port());
    let p = pua::publish(&k, &nowhere, 3600, None, None, Some(&pua::pidf(&nowhere, "open", "x")));
    assert!(!p.raw.contains("SIP-ETag"), "{}", p.raw);

    let want: Vec<(&str, i64)> = zero
        .iter()
        .map(|(n, _)| {
            let v = match *n {
                "publish_sent" => 5,
                "subscribe_sent" => 1,
                "refreshes" => 2,
                "replies_2xx" => 3,
                "replies_4xx" => 3,
                "replies_timeout" => 1,
                "records" => 1,
                _ => 0,
            };
            (*n, v)
        })
        .collect();
    assert_group(&k, "pua", &want);

    // A reset zeroes the counters; the gauge still says what is held.
    k.rpc(&["stats.reset_statistics", "pua:"]);
    let mut want = expected(&zero);
    want.insert("records".into(), 1);
    assert_eq!(kamcmd_group(&k, "pua"), want);
}

// ---------------------------------------------------------------------------------------------
// xcap_client

fn pres_rules(action: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><cr:rule id="bob"><cr:conditions><cr:identity><cr:one id="sip:bob@127.0.0.1"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>{action}</pr:sub-handling></cr:actions><cr:transformations/></cr:rule></cr:ruleset>"#
    )
}

fn rules_path(user: &str) -> String {
    format!("/xcap-root/pres-rules/users/sip:{user}@127.0.0.1/index")
}

/// An HTTP server answering every request with 503; stops with the test process.
fn answering_503() -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let (mut req, mut buf) = (Vec::new(), [0u8; 1024]);
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = c.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    port
}

/// getNewDoc (presence_xml asking for rules) twice, then refreshXcapDoc for a 304, a changed
/// document, a document the server does not have, a server answering 503, a port nobody
/// listens on (backed off for 300 s) and that port again (skipped). No periodic refresh runs
/// (query_period 1000 s).
#[test]
fn xcap_client_counts_fetches_answers_updates_and_backed_off_servers() {
    let server = harness::xcap::ours(&[]);
    let put = |user: &str, action: &str| {
        let r = server.http(&["-X", "PUT", "-H", "Content-Type: application/auth-policy+xml", "--data-binary", &pres_rules(action)], &rules_path(user));
        assert!(r.code == 200 || r.code == 201, "PUT {user}'s pres-rules: {r:?}");
    };
    put("alice", "allow");
    put("dave", "allow");
    let xcap_server = format!("127.0.0.1/xcap-root:{}", server.http_port);
    let mut s = Setup::new("presence-xcap-client.cfg", &["xcap_client"]);
    s.vars.push(("XCAP_SERVER", xcap_server.clone()));
    s.vars.push(("XCAP_ROOT_URL", xcap_server));
    s.vars.push(("QUERY_PERIOD", "1000".into()));
    s.vars.push(("BACKOFF_BASE", "300".into()));
    s.vars.push(("BACKOFF_MAX", "300".into()));
    s.defines = &["WITH_STATS", "WITH_BACKOFF"];
    s.schemas = &["presence"];
    let k = Kamailio::start(s);
    let names = ["backed_off_hosts", "backoff_skips", "documents_updated", "failures", "fetches", "http_errors", "not_found", "not_modified"];
    let zero: Vec<(&str, i64)> = names.iter().map(|n| (*n, 0)).collect();
    assert_group(&k, "xcap_client", &zero);

    // getNewDoc through bind_xcap: alice's and dave's rules, 200 each.
    for presentity in ["alice", "dave"] {
        assert_eq!(subscription_state(&k.subscribe("presence", "bob", presentity, "Expires: 300")).0, "active", "{presentity}");
    }
    let mut want = expected(&zero);
    want.insert("fetches".into(), 2);
    assert_eq!(kamcmd_group(&k, "xcap_client"), want);

    let port = server.http_port.to_string();
    let refresh = |url: &str, port: &str| k.rpc_ok(&["xcap_client.refreshXcapDoc", url, port]);
    let url = |port: u16, user: &str| format!("http://127.0.0.1:{port}{}", rules_path(user));
    // 304; changed (stored, callbacks run); 404.
    assert_eq!(refresh(&url(server.http_port, "alice"), &port).unwrap().trim(), "unchanged");
    put("dave", "block");
    assert_eq!(refresh(&url(server.http_port, "dave"), &port).unwrap().trim(), "updated");
    assert_eq!(refresh(&url(server.http_port, "nobody"), &port).unwrap().trim(), "gone");
    // An answer with an error status; then no answer at all, twice: the second is not tried.
    let failing = answering_503();
    let err = refresh(&url(failing, "alice"), &failing.to_string()).unwrap_err();
    assert!(err.contains("503"), "{err}");
    let closed = free_port();
    for _ in 0..2 {
        let err = refresh(&url(closed, "alice"), &closed.to_string()).unwrap_err();
        assert!(err.contains("not answering"), "{err}");
    }

    let want: Vec<(&str, i64)> = names
        .iter()
        .map(|n| {
            let v = match *n {
                "fetches" => 7,
                "backoff_skips" | "backed_off_hosts" | "documents_updated" | "failures" | "http_errors" | "not_found" | "not_modified" => 1,
                _ => 0,
            };
            (*n, v)
        })
        .collect();
    assert_group(&k, "xcap_client", &want);

    // A reset zeroes the counters; the gauge still says which servers are backed off.
    k.rpc(&["stats.reset_statistics", "xcap_client:"]);
    let mut want = expected(&zero);
    want.insert("backed_off_hosts".into(), 1);
    assert_eq!(kamcmd_group(&k, "xcap_client"), want);
}

/// An XCAP server answering its first `answers` requests with 304 and closing every later
/// connection without a word; returns its port and how many connections it saw.
fn answering_304_then_silent(answers: usize) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = seen.clone();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            if count.fetch_add(1, Ordering::SeqCst) >= answers {
                continue;
            }
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let (mut req, mut buf) = (Vec::new(), [0u8; 1024]);
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = c.write_all(b"HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\nConnection: close\r\n\r\n");
        }
    });
    (port, seen)
}

/// The periodic refresh counts in its own process: two mirrored documents, refreshed every
/// second; the server answers the first pass (304, 304), then closes connections unanswered,
/// so the second pass fails on the first document (backed off for 300 s) and skips the
/// second, and every later pass skips both. Once the rows are gone the counts stay; the
/// skips are compared with the refresh's log lines.
#[test]
fn xcap_client_counts_the_periodic_refresh() {
    let (port, seen) = answering_304_then_silent(2);
    let rows: String = (0..2)
        .map(|i| {
            format!(
                "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES \
                 ('u{i}', '127.0.0.1', '<ruleset/>', 2, 'e1', 1, 'http://127.0.0.1:{port}{}', {port});\n",
                rules_path(&format!("u{i}"))
            )
        })
        .collect();
    let mut s = Setup::new("presence-xcap-client.cfg", &["xcap_client"]);
    s.vars.push(("XCAP_SERVER", format!("127.0.0.1/xcap-root:{port}")));
    s.vars.push(("XCAP_ROOT_URL", format!("127.0.0.1/xcap-root:{port}")));
    s.vars.push(("QUERY_PERIOD", "1".into()));
    s.vars.push(("BACKOFF_BASE", "300".into()));
    s.vars.push(("BACKOFF_MAX", "300".into()));
    s.defines = &["WITH_STATS", "WITH_BACKOFF"];
    s.schemas = &["presence"];
    s.sql = &rows;
    let k = Kamailio::start(s);

    let deadline = std::time::Instant::now() + harness::scaled(Duration::from_secs(15));
    while kamcmd_group(&k, "xcap_client").get("backoff_skips").copied().unwrap_or(0) < 3 {
        assert!(std::time::Instant::now() < deadline, "no third refresh pass:\n{}", k.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    k.sql("DELETE FROM xcap;");
    // A pass that read the rows before they went finishes within a second.
    std::thread::sleep(Duration::from_millis(2500));
    let needle = format!("document(s) of http://127.0.0.1:{port} skipped");
    let skips: i64 = k
        .log_text()
        .lines()
        .filter(|l| l.contains(&needle))
        .map(|l| l.split("refresh: ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse::<i64>().ok()).expect(l))
        .sum();
    assert!(skips >= 3 && skips % 2 == 1, "{skips} skips: one in the second pass, two in each later one");
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 3, "connections the server saw");
    assert_group(
        &k,
        "xcap_client",
        &[
            ("backed_off_hosts", 1),
            ("backoff_skips", skips),
            ("documents_updated", 0),
            ("failures", 1),
            ("fetches", 3),
            ("http_errors", 0),
            ("not_found", 0),
            ("not_modified", 2),
        ],
    );
}
