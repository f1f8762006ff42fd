//! xcap-diff notifications end to end (RFC 5875 with RFC 5874 bodies): xcap_server with
//! `publish_xcapdiff=1` publishes every change of a user's XCAP documents through pua to this
//! Kamailio's own presence, which NOTIFYs the user's xcap-diff watchers (SIPp here). The HTTP
//! requests are curl's; the configuration is test-configs/xcapdiff-publish.cfg.
//!
//! The main test and the burst of PUTs (concurrent writers, and the timer process's flush on its
//! own connection) run on SQLite, PostgreSQL and MariaDB (`on_every_backend!`), both databases
//! of the test's back end; the others on SQLite.

mod harness;

use std::process::Command;
use std::time::{Duration, Instant};

use harness::db::{backend, Backend, TestDb};
use harness::xcap::FRIENDS as LISTS;
use harness::{free_port, scratch_dir, Kamailio, SipMsg, SippServer, Setup};

const MODULES: &[&str] = &["presence_xml", "pua", "presence_xcapdiff", "xcap_server"];
const LISTS_PATH: &str = "/xcap-root/resource-lists/users/sip:alice@127.0.0.1/index";
const RULES_PATH: &str = "/xcap-root/pres-rules/users/sip:alice@127.0.0.1/index";
const LISTS_SEL: &str = "resource-lists/users/sip:alice@127.0.0.1/index";
const RULES_SEL: &str = "pres-rules/users/sip:alice@127.0.0.1/index";
const LISTS_TYPE: &str = "application/resource-lists+xml";
const RULES_TYPE: &str = "application/auth-policy+xml";
/// How soon a change must reach the watcher.
const NOTIFY_WITHIN: Duration = Duration::from_secs(1);

const RULES: &str = r#"<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy"/>"#;

/// The server under test and the database of its presence (and pua), apart from the XCAP
/// documents' (SQLite has one writer at a time per file, and db_sqlite does not wait for the
/// lock); both of the test's back end. The server stops before its database goes.
struct Server {
    k: Kamailio,
    presence_db: TestDb,
}

impl std::ops::Deref for Server {
    type Target = Kamailio;
    fn deref(&self) -> &Kamailio {
        &self.k
    }
}

fn start(defines: &'static [&'static str], vars: Vec<(&'static str, String)>) -> Server {
    let (s, presence_db) = setup(defines, vars);
    Server { k: Kamailio::start(s), presence_db }
}

fn setup(defines: &'static [&'static str], mut vars: Vec<(&'static str, String)>) -> (Setup<'static>, TestDb) {
    // SQLite: WAL in both databases, so that readers never wait for a writer.
    let sql = if backend() == Backend::Sqlite { "PRAGMA journal_mode=WAL;\n" } else { "" };
    let presence_db = TestDb::create(backend(), &scratch_dir("xcapdiff-presence-db").join("presence.db"), &["presence"], sql);
    vars.push(("PRESENCE_DB_URL", presence_db.url()));
    let mut s = Setup::new("xcapdiff-publish.cfg", MODULES);
    s.defines = defines;
    s.schemas = &["presence"];
    s.sql = sql;
    s.vars = vars;
    (s, presence_db)
}

/// How many xcap-diff publications presence holds.
fn publications(k: &Server) -> String {
    k.presence_db.sql("SELECT count(*) FROM presentity WHERE event = 'xcap-diff';").trim().to_string()
}

/// One HTTP exchange as curl saw it.
struct Http {
    status: u32,
    /// The ETag header, unquoted.
    etag: Option<String>,
    /// curl -v: request and response headers.
    verbose: String,
    elapsed: Duration,
}

/// `curl -v -X method` with an optional (content type, body); never waits more than 10 s.
fn http(k: &Kamailio, method: &str, path: &str, body: Option<(&str, &str)>) -> Http {
    let url = format!("http://127.0.0.1:{}{path}", k.http_port);
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-v", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-X", method]);
    if let Some((ctype, data)) = body {
        cmd.args(["-H", &format!("Content-Type: {ctype}"), "--data-binary", data]);
    }
    let t = Instant::now();
    let out = cmd.arg(&url).output().expect("run curl");
    let elapsed = t.elapsed();
    let verbose = String::from_utf8_lossy(&out.stderr).into_owned();
    let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    let etag = verbose
        .lines()
        .find_map(|l| l.strip_prefix("< ").and_then(|h| h.split_once(':')).filter(|(n, _)| n.eq_ignore_ascii_case("etag")).map(|(_, v)| v.trim().trim_matches('"').to_string()));
    Http { status, etag, verbose, elapsed }
}

fn put(k: &Kamailio, path: &str, ctype: &str, body: &str) -> Http {
    let r = http(k, "PUT", path, Some((ctype, body)));
    assert!(r.status == 200 || r.status == 201, "PUT {path}: {}\n{}", r.status, r.verbose);
    r
}

/// `~~` node selector path of a document, percent-encoding what curl would not send.
fn node(doc: &str, sel: &str) -> String {
    let enc = sel.replace('[', "%5B").replace(']', "%5D").replace('"', "%22");
    format!("{doc}/~~/{enc}")
}

/// The attributes of the `<document>` with this `sel` in an xcap-diff body: (previous-etag,
/// new-etag); `None` when the body has no such document.
fn document(body: &str, sel: &str) -> Option<(Option<String>, Option<String>)> {
    let start = body.find(&format!("<document sel=\"{sel}\""))?;
    let el = &body[start..start + body[start..].find('>')?];
    let attr = |name: &str| {
        let at = el.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(el[at..at + el[at..].find('"')?].to_string())
    };
    Some((attr("previous-etag"), attr("new-etag")))
}

/// A SIPp xcap-diff client subscribed to `presentity`'s documents.
fn watcher(k: &Kamailio, watcher: &str, presentity: &str) -> SippServer {
    let target = format!("127.0.0.1:{}", k.sip_port);
    SippServer::start("xcapdiff-watcher.xml", &["-m", "1", "-key", "watcher", watcher, "-key", "presentity", presentity, &target])
}

/// Waits until the watcher has received more than `seen` NOTIFYs; returns them all.
fn notifies_after(w: &SippServer, seen: usize, wait: Duration) -> Vec<SipMsg> {
    w.wait_requests("NOTIFY", seen + 1, wait)
}

/// Waits for the next NOTIFY after `seen`, no longer than [`NOTIFY_WITHIN`] after `since`.
fn next_notify(w: &SippServer, seen: usize, since: Instant, what: &str) -> SipMsg {
    let all = notifies_after(w, seen, NOTIFY_WITHIN.saturating_sub(since.elapsed()));
    let late = since.elapsed();
    assert!(all.len() > seen, "no NOTIFY within {NOTIFY_WITHIN:?} after {what} ({late:?})\n{}", w.trace_text());
    all[seen].clone()
}

fn initial_notify(w: &SippServer) -> SipMsg {
    let n = notifies_after(w, 0, Duration::from_secs(5));
    assert!(!n.is_empty(), "no initial NOTIFY\n{}", w.trace_text());
    n[0].clone()
}

on_every_backend!(
    every_change_of_alices_documents_notifies_her_watcher_within_a_second,
    a_burst_of_100_puts_ends_with_the_last_etag_and_blocks_no_worker,
);

/// A change to make: its name, the HTTP method, the path and the body with its content type.
type Change<'a> = (&'a str, &'a str, String, Option<(&'a str, &'a str)>);

fn every_change_of_alices_documents_notifies_her_watcher_within_a_second() {
    let k = start(&[], Vec::new());
    let lists = put(&k, LISTS_PATH, LISTS_TYPE, LISTS);
    let rules = put(&k, RULES_PATH, RULES_TYPE, RULES);
    let (mut lists_etag, rules_etag) = (lists.etag.unwrap(), rules.etag.unwrap());

    // A new watcher gets the full state: every document with its current tag.
    let w = watcher(&k, "alice-phone", "alice");
    let first = initial_notify(&w);
    assert_eq!(first.header("Event"), Some("xcap-diff"), "{}", first.text());
    assert_eq!(first.header("Content-Type"), Some("application/xcap-diff+xml"), "{}", first.text());
    assert!(first.body.contains(&format!("xcap-root=\"http://127.0.0.1:{}/xcap-root/\"", k.http_port)), "{}", first.body);
    assert_eq!(document(&first.body, LISTS_SEL).and_then(|d| d.1), Some(lists_etag.clone()), "{}", first.body);
    assert_eq!(document(&first.body, RULES_SEL).and_then(|d| d.1), Some(rules_etag.clone()), "{}", first.body);
    let mut seen = 1;

    let steps: [Change; 3] = [
        ("document PUT", "PUT", LISTS_PATH.to_string(), Some((LISTS_TYPE, &LISTS.replace("bob", "bobby")))),
        ("element PUT", "PUT", node(LISTS_PATH, r#"resource-lists/list[@name="friends"]/entry[@uri="sip:carol@example.com"]"#), Some(("application/xcap-el+xml", r#"<entry uri="sip:carol@example.com"/>"#))),
        ("attribute PUT", "PUT", node(LISTS_PATH, "resource-lists/list[1]/@name"), Some(("application/xcap-att+xml", "buddies"))),
    ];
    let mut shown = false;
    for (what, method, path, body) in &steps {
        let r = http(&k, method, path, *body);
        let t = Instant::now();
        assert!(r.status == 200 || r.status == 201, "{what}: {}\n{}", r.status, r.verbose);
        let new = r.etag.clone().expect("an ETag");
        let n = next_notify(&w, seen, t, what);
        seen += 1;
        println!("{what}: NOTIFY {:?} after the HTTP reply", t.elapsed());
        assert_eq!(document(&n.body, LISTS_SEL), Some((Some(lists_etag.clone()), Some(new.clone()))), "{what}\n{}", n.text());
        // The unchanged document is listed with its tag only.
        assert_eq!(document(&n.body, RULES_SEL), Some((None, Some(rules_etag.clone()))), "{what}\n{}", n.text());
        if !shown {
            let subscribe = w.messages().into_iter().find(|m| !m.received && m.method() == "SUBSCRIBE").expect("the SUBSCRIBE");
            println!("==== SUBSCRIBE (SIPp) ====\n{}", subscribe.text());
            println!("==== {what} (curl -v) ====\n{}", r.verbose.lines().filter(|l| l.starts_with("> ") || l.starts_with("< ")).collect::<Vec<_>>().join("\n"));
            println!("==== NOTIFY (received by SIPp) ====\n{}", n.text());
            shown = true;
        }
        lists_etag = new;
    }

    // Deleting a document: its previous tag and no new one.
    let r = http(&k, "DELETE", RULES_PATH, None);
    let t = Instant::now();
    assert_eq!(r.status, 200, "{}", r.verbose);
    let n = next_notify(&w, seen, t, "document DELETE");
    assert_eq!(document(&n.body, RULES_SEL), Some((Some(rules_etag), None)), "{}", n.text());
    assert_eq!(document(&n.body, LISTS_SEL), Some((None, Some(lists_etag.clone()))), "{}", n.text());
    seen += 1;

    // An element DELETE changes the document's tag like a PUT.
    let r = http(&k, "DELETE", &node(LISTS_PATH, r#"resource-lists/list[@name="buddies"]/entry[@uri="sip:carol@example.com"]"#), None);
    let t = Instant::now();
    assert_eq!(r.status, 200, "{}", r.verbose);
    let n = next_notify(&w, seen, t, "element DELETE");
    assert_eq!(document(&n.body, LISTS_SEL), Some((Some(lists_etag), r.etag)), "{}", n.text());

    // pua keeps one publication for alice and modifies it.
    assert_eq!(publications(&k), "1");
}

#[test]
fn another_users_change_notifies_only_that_user() {
    let k = start(&[], Vec::new());
    put(&k, LISTS_PATH, LISTS_TYPE, LISTS);
    let alice = watcher(&k, "alice-phone", "alice");
    let bob = watcher(&k, "bob-phone", "bob");
    initial_notify(&alice);
    initial_notify(&bob);
    let bob_seen = bob.requests("NOTIFY").len();

    let r = put(&k, "/xcap-root/resource-lists/users/sip:bob@127.0.0.1/index", LISTS_TYPE, LISTS);
    let t = Instant::now();
    let n = next_notify(&bob, bob_seen, t, "bob's PUT");
    assert_eq!(document(&n.body, "resource-lists/users/sip:bob@127.0.0.1/index"), Some((None, r.etag)), "{}", n.text());
    assert!(document(&n.body, LISTS_SEL).is_none(), "alice's document in bob's diff: {}", n.body);

    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(alice.requests("NOTIFY").len(), 1, "alice was notified of bob's change\n{}", alice.trace_text());
    // One publication each.
    assert_eq!(publications(&k), "2");
}

fn a_burst_of_100_puts_ends_with_the_last_etag_and_blocks_no_worker() {
    let k = start(&[], Vec::new());
    put(&k, LISTS_PATH, LISTS_TYPE, LISTS);
    let w = watcher(&k, "alice-phone", "alice");
    initial_notify(&w);

    // Four clients, 25 PUTs each, at the same time.
    let t = Instant::now();
    std::thread::scope(|s| {
        for c in 0..4 {
            let k = &k;
            s.spawn(move || {
                for i in 0..25 {
                    put(k, LISTS_PATH, LISTS_TYPE, &LISTS.replace("bob", &format!("bob{c}x{i}")));
                }
            });
        }
    });
    let burst = t.elapsed();
    // XCAP answers promptly right after.
    let g = http(&k, "GET", LISTS_PATH, None);
    assert_eq!(g.status, 200);
    assert!(g.elapsed < Duration::from_secs(1), "GET after the burst took {:?}", g.elapsed);
    let last = g.etag.expect("an ETag");

    // The last NOTIFY names the last tag, soon; nothing older comes after it.
    let deadline = Instant::now() + harness::scaled(Duration::from_secs(3));
    let carries_last = |m: &SipMsg| document(&m.body, LISTS_SEL).and_then(|d| d.1).as_deref() == Some(last.as_str());
    while !w.requests("NOTIFY").last().is_some_and(carries_last) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let all = w.requests("NOTIFY");
    let final_notify = all.last().unwrap();
    assert!(carries_last(final_notify), "the last NOTIFY does not carry {last}:\n{}", final_notify.text());
    println!("100 PUTs in {burst:?}: {} NOTIFYs after the initial one", all.len() - 1);
    // Paced: 10 PUBLISHes at once, then one per 100 ms, plus the timer's flush.
    let bound = 10 + t.elapsed().as_millis() as usize / 100 + 2;
    assert!(all.len() - 1 <= bound, "{} NOTIFYs for 100 PUTs, more than the pacing allows ({bound})", all.len() - 1);
    assert_eq!(publications(&k), "1");
    assert!(!k.log_text().contains("ERROR"), "{}", k.log_text());
}

#[test]
fn with_presence_down_xcap_answers_as_usual_and_the_log_says_why() {
    let dead = free_port();
    let k = start(&["PRESENCE_DOWN"], vec![("DEAD_PORT", dead.to_string())]);
    for i in 0..5 {
        let r = put(&k, LISTS_PATH, LISTS_TYPE, &LISTS.replace("bob", &format!("bob{i}")));
        assert!(r.elapsed < Duration::from_secs(1), "PUT {i} took {:?} with presence down", r.elapsed);
    }
    let r = http(&k, "DELETE", LISTS_PATH, None);
    assert!(r.status == 200 && r.elapsed < Duration::from_secs(1), "DELETE: {} in {:?}", r.status, r.elapsed);
    let why = "xcap-diff for sip:alice@127.0.0.1: no reply to its PUBLISH";
    let deadline = Instant::now() + harness::scaled(Duration::from_secs(10));
    while !k.log_text().contains(why) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(k.log_text().contains(why), "no log line saying why no NOTIFY:\n{}", k.log_text());
    // The changes that waited go out when tm gives up on the first PUBLISH (in the timer
    // process, which lists alice's documents with its own database connection): a second
    // PUBLISH, lost too.
    while k.log_text().matches(why).count() < 2 && Instant::now() < deadline + Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = k.log_text();
    assert!(log.matches(why).count() >= 2, "the changes that waited were not published:\n{log}");
    assert!(!log.contains("listing its documents"), "{log}");
    // Still serving.
    let g = http(&k, "GET", "/xcap-root/xcap-caps/global/index", None);
    assert_eq!(g.status, 200);
}

#[test]
fn publish_xcapdiff_0_publishes_nothing() {
    let k = start(&["NO_XCAPDIFF_PUBLISH"], Vec::new());
    let w = watcher(&k, "alice-phone", "alice");
    initial_notify(&w);
    put(&k, LISTS_PATH, LISTS_TYPE, LISTS);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(w.requests("NOTIFY").len(), 1, "{}", w.trace_text());
    assert_eq!(publications(&k), "0");
}

#[test]
fn publish_xcapdiff_without_pua_stops_start_up_with_a_clear_error() {
    let f = Kamailio::start_expecting_failure(setup(&["NO_PUA"], Vec::new()).0);
    assert_ne!(f.code, Some(0));
    assert!(f.log.contains("publish_xcapdiff is 1 but pua is not loaded"), "{}", f.log);
}
