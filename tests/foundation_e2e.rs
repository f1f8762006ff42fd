//! The foundation inside a real, multi-process Kamailio, through the test-only kamtest module.

mod harness;

use std::time::Duration;

use harness::{assert_sipp_ok, rpc_field as field, Kamailio, Setup};

const TABLE: &str = "CREATE TABLE kamtest (id INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL, call_id VARCHAR(255) NOT NULL);
INSERT INTO version (table_name, table_version) VALUES ('kamtest', 1);";

fn kamtest(counter_start: i32, defines: &'static [&'static str]) -> Setup<'static> {
    let mut s = Setup::new("kamtest.cfg", &["kamtest"]);
    s.vars.push(("COUNTER_START", counter_start.to_string()));
    s.vars.push(("TABLE_VERSION", "1".to_string()));
    s.defines = defines;
    s.sql = TABLE;
    s
}

#[test]
fn shm_counter_behind_the_lock_ends_at_exactly_n() {
    const N: usize = 2000;
    let k = Kamailio::start(kamtest(0, &[]));
    let out = k.sipp("request.xml", &["-s", "count", "-m", &N.to_string(), "-r", "4000", "-l", "100"]);
    assert_sipp_ok(&out, &k);
    let reply = k.rpc(&["kamtest.counter"]);
    println!("shm counter after {N} SIPp requests: {}", reply.split_whitespace().collect::<Vec<_>>().join(" "));
    assert_eq!(field(&reply, "total"), N as i64);
    // children=4: the requests were spread over several workers, all counting into one place.
    assert!(field(&reply, "processes") >= 2, "only one worker counted: {reply}");
}

#[test]
fn db_round_trip_from_several_processes() {
    const N: usize = 60;
    let k = Kamailio::start(kamtest(0, &[]));
    // One request at a time: SQLite has no busy wait in db_sqlite; workers still alternate.
    let out = k.sipp("request.xml", &["-s", "db", "-m", &N.to_string(), "-r", "300", "-l", "1"]);
    assert_sipp_ok(&out, &k);
    // Read back through the DB API from the RPC process (another process again).
    let reply = k.rpc(&["kamtest.db_rows"]);
    assert_eq!(field(&reply, "rows"), N as i64);
    assert_eq!(field(&reply, "empty_call_ids"), 0);
    let writers = field(&reply, "pids");
    assert!(writers >= 2, "rows came from one process only: {reply}");
    assert_eq!(k.sql("SELECT COUNT(DISTINCT pid) FROM kamtest;").trim(), writers.to_string());
    // A WHERE clause through the API agrees with SQLite.
    let pid = k.sql("SELECT pid FROM kamtest LIMIT 1;").trim().to_string();
    let expected = k.sql(&format!("SELECT COUNT(*) FROM kamtest WHERE pid={pid};")).trim().to_string();
    assert_eq!(field(&k.rpc(&["kamtest.db_rows", &pid]), "rows").to_string(), expected);
}

#[test]
fn a_panic_answers_an_error_and_the_server_keeps_serving() {
    let mut k = Kamailio::start(kamtest(0, &[]));
    // More panics than workers, so every worker has contained one.
    for _ in 0..8 {
        let r = k.request("OPTIONS", "panic", &[], b"");
        assert_eq!((r.code, r.reason.as_str()), (500, "Contained"));
    }
    assert!(k.is_running(), "the server went down");
    let out = k.sipp("request.xml", &["-s", "count", "-m", "200", "-r", "1000", "-l", "20"]);
    assert_sipp_ok(&out, &k);
    assert_eq!(field(&k.rpc(&["kamtest.counter"]), "total"), 200);
    let log = k.log_text();
    assert!(log.contains("panic at") && log.contains("kt_panic was called"), "panic not logged:\n{log}");
    assert!(log.contains("kt_panic panicked; the error was contained"), "containment not logged:\n{log}");
}

#[test]
fn rpc_round_trip_with_kamcmd() {
    let k = Kamailio::start(kamtest(5, &[]));
    assert_eq!(k.rpc(&["kamtest.echo", "hello", "21"]), "hello\n42\n");
    assert_eq!(k.rpc(&["kamtest.echo", "only"]), "only\n");
    let err = k.rpc_ok(&["kamtest.echo"]).unwrap_err();
    assert!(err.contains("a string parameter is required"), "{err}");
    // USE_FUNC parameters reached the module in order.
    assert_eq!(k.rpc(&["kamtest.labels"]), "first\nsecond\n");
    // INT parameter: the counter starts where the config says.
    assert_eq!(field(&k.rpc(&["kamtest.counter"]), "total"), 5);
}

#[test]
fn a_bad_parameter_stops_start_up_with_a_clear_log_line() {
    let f = Kamailio::start_expecting_failure(kamtest(-1, &[]));
    assert_ne!(f.code, Some(0));
    assert!(f.log.contains("kamtest") && f.log.contains("counter_start must be 0 or more, not -1"), "{}", f.log);

    let f = Kamailio::start_expecting_failure(kamtest(0, &["BAD_LABEL"]));
    assert_ne!(f.code, Some(0));
    assert!(f.log.contains("modparam label: label must be a non-empty string"), "{}", f.log);
}

#[test]
fn message_access_and_replies_with_headers_and_body() {
    let k = Kamailio::start(kamtest(0, &[]));
    let r = k.request(
        "MESSAGE",
        "echo",
        &[("Event", "presence;id=7"), ("Expires", "300"), ("Content-Type", "text/x-test")],
        b"hello body",
    );
    assert_eq!((r.code, r.reason.as_str()), (200, "Echo"));
    assert_eq!(r.header("X-Method"), Some("MESSAGE"));
    assert_eq!(r.header("X-Ruri"), Some("sip:echo@127.0.0.1"));
    assert_eq!(r.header("X-From"), Some("sip:tester@127.0.0.1"));
    assert!(r.header("X-From-Tag").is_some_and(|t| t.starts_with("from-")));
    assert_eq!(r.header("X-To"), Some("sip:echo@127.0.0.1"));
    assert!(r.header("X-Call-ID").is_some_and(|c| c.ends_with("@krs-test")));
    assert_eq!(r.header("X-Event"), Some("presence"));
    assert_eq!(r.header("X-Expires"), Some("300"));
    assert_eq!(r.header("Content-Type"), Some("text/x-test"));
    assert_eq!(r.body, "hello body");

    let r = k.request("OPTIONS", "echo", &[], b"");
    assert_eq!(r.header("X-Expires"), Some("none"));
    assert_eq!(r.body, "");
}

#[test]
fn fixups_and_pseudo_variables() {
    let k = Kamailio::start(kamtest(0, &[]));
    // Strings with pseudo-variables in every parameter.
    let r = k.request("OPTIONS", "reply", &[("X-Code", "299")], b"");
    assert_eq!((r.code, r.reason.as_str(), r.body.as_str()), (299, "Made OPTIONS", "tester sent this"));
    assert!(r.header("X-Kamtest-Pid").is_some_and(|p| p.parse::<u32>().is_ok()));
    // Integer fixups: integer pseudo-variables and literals.
    assert_eq!(k.request("OPTIONS", "add", &[("X-A", "2"), ("X-B", "-1")], b"").code, 200);
    assert_eq!(k.request("OPTIONS", "add", &[("X-A", "1"), ("X-B", "-5")], b"").code, 400);
    assert_eq!(k.request("OPTIONS", "addneg", &[("X-B", "1")], b"").code, 400);
    assert_eq!(k.request("OPTIONS", "addneg", &[("X-B", "5")], b"").code, 200);
    // Our pseudo-variable: a string and an integer in one expression. (The core reads a
    // parameter that starts with `$` as one PV, so the format starts with text.)
    let r = k.request("OPTIONS", "pv", &[], b"");
    let parts: Vec<&str> = r.reason.split(' ').collect();
    assert_eq!(parts.len(), 3, "{r:?}");
    let (name, pid) = (parts[1], parts[2]);
    assert_eq!(name, "kamtest");
    assert!(pid.parse::<u32>().is_ok_and(|p| p > 0), "{}", r.reason);
    // A settable PV: assigned, read, cleared with $null.
    assert_eq!(k.request("OPTIONS", "pvset", &[], b"").reason, "PV hello tester");
    // $kt(total) in a reply reason after counting.
    assert_eq!(k.request("OPTIONS", "count", &[], b"").reason, "Counted 1");
}

#[test]
fn timers_run_in_the_timer_process() {
    let k = Kamailio::start(kamtest(0, &[]));
    std::thread::sleep(Duration::from_millis(3500));
    let ticks: i64 = k.rpc(&["kamtest.ticks"]).trim().parse().unwrap();
    assert!((2..=5).contains(&ticks), "1 s timer fired {ticks} times in 3.5 s");
}

#[test]
fn a_table_with_the_wrong_version_stops_start_up() {
    let mut s = kamtest(0, &[]);
    s.vars.retain(|(k, _)| *k != "TABLE_VERSION");
    s.vars.push(("TABLE_VERSION", "2".to_string()));
    let f = Kamailio::start_expecting_failure(s);
    assert!(f.log.contains("table kamtest has the wrong version or is missing (version 2 expected)"), "{}", f.log);
}

#[test]
fn collections_in_shared_memory_are_shared_by_all_processes() {
    const N: usize = 300;
    let k = Kamailio::start(kamtest(0, &[]));
    let out = k.sipp("request.xml", &["-s", "note", "-m", &N.to_string(), "-r", "2000", "-l", "50"]);
    assert_sipp_ok(&out, &k);
    // Pushed by the workers, read by the RPC process.
    let reply = k.rpc(&["kamtest.notes"]);
    assert_eq!(field(&reply, "count"), N as i64);
    assert_eq!(field(&reply, "distinct"), N as i64);
    // Freed by the RPC process, then usable again by the workers.
    assert_eq!(k.rpc(&["kamtest.notes_clear"]).trim(), "0");
    assert_eq!(k.request("OPTIONS", "note", &[], b"").reason, "Noted");
    assert_eq!(field(&k.rpc(&["kamtest.notes"]), "count"), 1);
}

#[test]
fn pkg_memory_holds_collections_and_c_strings() {
    let k = Kamailio::start(kamtest(0, &[]));
    assert_eq!(k.rpc(&["kamtest.pkg", "100000"]), "4999950000\npkg copy\n");
}

#[test]
fn log_lines_are_native_and_follow_the_module_level() {
    let k = Kamailio::start(kamtest(0, &[]));
    // debug=2 for the server, 3 for kamtest (debugger mod_level): kamtest's debug lines show.
    assert_eq!(k.rpc(&["kamtest.log", "info", "an info line"]).trim(), "1");
    k.rpc(&["kamtest.log", "dbg", "a debug line"]);
    k.rpc(&["kamtest.log", "err", "an error line"]);
    let log = k.log_text();
    let line = |needle: &str| log.lines().find(|l| l.ends_with(needle)).unwrap_or_else(|| panic!("no {needle:?} in\n{log}")).to_string();
    // Kamailio's own format: "<proc>(<pid>) LEVEL: module [file:line]: message".
    for (level, text) in [("INFO", "an info line"), ("DEBUG", "a debug line"), ("ERROR", "an error line")] {
        let l = line(text);
        let rest = l.trim_start().split_once(") ").expect("process prefix").1;
        assert!(rest.starts_with(&format!("{level}: kamtest [lib.rs:")), "{l}");
    }
    // Other modules stay at the server's level 2: no debug lines from them.
    assert!(!log.lines().any(|l| l.contains("DEBUG: tm") || l.contains("DEBUG: <core>")), "{log}");
}

#[test]
fn requests_sent_through_tm_complete_with_the_callback() {
    let k = Kamailio::start(kamtest(0, &[]));
    let (reply, message) = k.request_and_serve("OPTIONS", "send", &[]);
    assert_eq!((reply.code, reply.reason.as_str()), (200, "Sending 1"));
    assert!(message.starts_with("MESSAGE sip:tester@127.0.0.1:"), "{message}");
    assert!(message.contains("X-Kamtest: tm\r\n") && message.ends_with("sent through tm"), "{message}");
    // The completion callback ran (in whichever process got our 200) with the cookie.
    let mut report = String::new();
    for _ in 0..50 {
        report = k.rpc(&["kamtest.tm"]);
        if field(&report, "completed") == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(field(&report, "completed"), 1, "{report}");
    assert_eq!(field(&report, "last_code"), 200, "{report}");
}

/// `event_route[tm:local-request]` drops the requests: tm never runs the completion callback.
/// Kamailio 6.0's tm says so with TMCB_LOCAL_REQUEST_DROP, 5.6's only by returning 0 instead of
/// 1; the foundation reports both as `Sent::Dropped` (kt_send returns 2) and releases the
/// callback's shm block. Measured as shm growth over many drops with a callback against the
/// same drops without one (5.6's tm itself keeps each dropped request's buffer; 6.0's does not).
#[test]
fn requests_dropped_by_the_local_request_route_leak_nothing() {
    let k = Kamailio::start(kamtest(0, &[]));
    let used = || field(&k.rpc(&["core.shmmem"]), "used");
    const N: i64 = 2000;
    // Shm growth over N drops of `user`'s requests (after a warm-up).
    let growth = |user: &str| {
        let drop_one = || {
            let r = k.request("OPTIONS", user, &[], b"");
            assert_eq!((r.code, r.reason.as_str()), (200, "Sending 2"), "{user}: accepted and dropped");
        };
        (0..100).for_each(|_| drop_one());
        let before = used();
        (0..N).for_each(|_| drop_one());
        used() - before
    };
    let plain = growth("plaindrop");
    let with_callback = growth("senddrop");
    println!("shm used grew by {with_callback} bytes over {N} dropped requests with a callback, {plain} without");
    // A leaked callback block costs at least 16 bytes plus the allocator's header.
    assert!(with_callback - plain < N * 8, "the callbacks' blocks leak: {with_callback} against {plain} bytes");
    if harness::is_6_0() {
        assert!(with_callback < N * 8, "6.0's tm keeps nothing of a dropped request: {with_callback} bytes");
    }
    assert_eq!(field(&k.rpc(&["kamtest.tm"]), "completed"), 0, "no completion callback for a dropped request");
    // A request that is not dropped still goes out and completes.
    let (reply, _) = k.request_and_serve("OPTIONS", "send", &[]);
    assert_eq!((reply.code, reply.reason.as_str()), (200, "Sending 1"));
}

#[test]
fn http_requests_through_xhttp_get_replies_with_headers_and_body() {
    let k = Kamailio::start(kamtest(0, &[]));
    let r = k.http(&["-X", "PUT", "-H", "Content-Type: application/x-test", "--data-binary", "<doc/>"], "/echo/a?b=c");
    assert_eq!((r.code, r.reason.as_str()), (200, "Echo"), "{r:?}");
    assert_eq!(r.header("X-Method"), Some("PUT"));
    assert_eq!(r.header("X-Ruri"), Some("/echo/a?b=c"));
    assert_eq!(r.header("Content-Type"), Some("application/x-test"));
    assert_eq!(r.body, "<doc/>");
    let r = k.http(&[], "/other");
    assert_eq!((r.code, r.body.as_str()), (404, "no such path"));
}

#[test]
fn kemi_exports_are_callable_from_a_lua_script() {
    let k = Kamailio::start(Setup::new("kamtest-kemi.cfg", &["kamtest"]));
    // "tester" (6) + "xy" (2).
    assert_eq!(k.request("OPTIONS", "len", &[], b"").reason, "Len 8");
    for _ in 0..3 {
        assert_eq!(k.request("OPTIONS", "count", &[], b"").reason, "Counted");
    }
    assert_eq!(field(&k.rpc(&["kamtest.counter"]), "total"), 3);
}
