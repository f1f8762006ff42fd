//! The unmodified stock consumers of pua (pua_usrloc, pua_dialoginfo, pua_reginfo, pua_bla, rls)
//! and our presence_xcapdiff on top of pua, differential: every scenario runs on the stock pua.so
//! (`*_stock`, `-A STOCK_PUA`) and on ours (`*_ours`) with the same assertions, except where a
//! deliberate difference is named (only pua_reginfo's version numbering, scenario 3).
//!
//! Set-up (test-configs/pua-consumers.cfg): one config, the consumer chosen by a define. SIPp
//! plays the phones (test-configs/sipp/pua-consumer-register.xml, -caller.xml, -callee.xml,
//! -watcher.xml) and the presence server (pua-consumer-publish-uas.xml for PUBLISH,
//! pua-consumer-subscribe-uas.xml for SUBSCRIBE, which NOTIFYs back, and once more after the
//! first refresh). PUBLISHes reach the presence server through pua's outbound_proxy (pua_reginfo:
//! its own outbound_proxy), rls' back-end SUBSCRIBEs through rls' outbound_proxy, pua_bla's
//! SUBSCRIBE goes to the registered contact; what the presence server receives is read back from
//! its SIPp message trace. Every scenario ends with the server alive, no ERROR/CRITICAL line in
//! its log, and a graceful stop without a crash.
//!
//! Scenarios: 1 pua_usrloc, 2 pua_dialoginfo (with and without dlginfo_increase_version),
//! 3 pua_reginfo (reginfo_increase_version, and dlginfo_increase_version), 4 pua_bla, 5 rls
//! (integrated XCAP, rls tables on db_text, rls.update_subs), 6 presence_xcapdiff.
//! `KDEBUG=1 cargo test ...` runs Kamailio with debug=3.

mod harness;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use harness::{parse_sipp_trace, scratch_dir, Kamailio, Setup, SipMsg, SippServer};

use harness::pua::{Ours, Pua, Stock};

const CFG: &str = "pua-consumers.cfg";
const WAIT: Duration = Duration::from_secs(10);

/// A db_text directory for rls' own tables (rls on db_sqlite crashes at the first back-end
/// NOTIFY, fact sheet §4.6); removed when dropped unless the test failed.
struct DbText {
    dir: PathBuf,
}

impl DbText {
    fn new() -> DbText {
        let dir = scratch_dir("pua-consumers-dbtext");
        for t in ["version", "rls_watchers", "rls_presentity"] {
            std::fs::copy(harness::sys_path(&format!("/usr/share/kamailio/dbtext/kamailio/{t}")), dir.join(t)).expect("copy a db_text table");
        }
        DbText { dir }
    }
}

impl Drop for DbText {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Starts pua-consumers.cfg with the stock pua or ours, the presence server at `pres_port`.
fn start(pua: Pua, defines: &[&str], pres_port: u16, sql: &str, dbtext: Option<&DbText>) -> Kamailio {
    let mut all: Vec<&str> = defines.to_vec();
    if pua == Stock {
        all.push("STOCK_PUA");
    }
    if std::env::var("KDEBUG").is_ok() {
        all.push("KDEBUG");
    }
    let mut modules: Vec<&str> = Vec::new();
    if pua == Ours {
        modules.push("pua");
    }
    if defines.contains(&"WITH_XCAPDIFF") {
        modules.push("presence_xcapdiff");
    }
    let mut s = Setup::new(CFG, &modules);
    s.defines = &all;
    s.schemas = &["presence"];
    s.sql = sql;
    s.vars.push(("PRES_PORT", pres_port.to_string()));
    s.vars.push(("DBTEXT", dbtext.map(|d| d.dir.display().to_string()).unwrap_or_else(|| "/nonexistent".into())));
    Kamailio::start(s)
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// One REGISTER of sip:<user>@127.0.0.1 (SIPp), expecting 200.
fn register(k: &Kamailio, user: &str, call_id: &str, cseq: u32, contact: &str, expires: u32) {
    let out = k.sipp(
        "pua-consumer-register.xml",
        &[
            "-key", "reg_user", user, "-cid_str", call_id, "-key", "reg_cseq", &cseq.to_string(), "-key", "reg_contact", contact,
            "-key", "reg_expires", &expires.to_string(), "-m", "1",
        ],
    );
    harness::assert_sipp_ok(&out, k);
}

/// Runs a UAC scenario with a message trace; returns the messages.
fn sipp_traced(k: &Kamailio, scenario: &str, args: &[&str]) -> Vec<SipMsg> {
    let trace = k.dir.join(format!("uac-{}.log", SEQ.fetch_add(1, Ordering::Relaxed)));
    let mut all: Vec<&str> = args.to_vec();
    let t = trace.display().to_string();
    all.extend(["-m", "1", "-trace_msg", "-message_file", &t]);
    let out = k.sipp(scenario, &all);
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    if !out.status.success() {
        eprintln!("==== {scenario} trace ====\n{text}");
    }
    harness::assert_sipp_ok(&out, k);
    parse_sipp_trace(&text)
}

/// A UAC scenario run in the background against `k` (one call), with a message trace; killed
/// by PID when dropped.
struct BgSipp {
    child: Option<std::process::Child>,
    trace: PathBuf,
    errors: PathBuf,
}

impl BgSipp {
    fn start(k: &Kamailio, scenario: &str, args: &[&str]) -> BgSipp {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let trace = k.dir.join(format!("bg-{n}.log"));
        let errors = k.dir.join(format!("bg-{n}-errors.log"));
        let child = std::process::Command::new("sipp")
            .arg("-sf")
            .arg(harness::repo().join("test-configs/sipp").join(scenario))
            .args(["-i", "127.0.0.1", "-p", &harness::free_port().to_string(), "-m", "1", "-nostdin", "-timeout", "50s", "-timeout_error"])
            .args(["-trace_msg", "-message_file"])
            .arg(&trace)
            .args(["-trace_err", "-error_file"])
            .arg(&errors)
            .args(args)
            .arg(format!("127.0.0.1:{}", k.sip_port))
            .current_dir(&k.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn sipp");
        BgSipp { child: Some(child), trace, errors }
    }

    fn messages(&self) -> Vec<SipMsg> {
        parse_sipp_trace(&std::fs::read_to_string(&self.trace).unwrap_or_default())
    }

    fn received(&self, method: &str) -> Vec<SipMsg> {
        self.messages().into_iter().filter(|m| m.received && m.method() == method).collect()
    }

    /// Waits for SIPp to finish its call; panics (with its errors) unless it succeeded.
    fn wait_ok(&mut self, wait: Duration) -> Vec<SipMsg> {
        let deadline = Instant::now() + harness::scaled(wait);
        let mut child = self.child.take().unwrap();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("sipp did not finish in {wait:?}:\n{}", std::fs::read_to_string(&self.trace).unwrap_or_default());
            }
            sleep_ms(50);
        };
        assert!(
            status.success(),
            "sipp failed ({status}):\n{}\nerrors:\n{}",
            std::fs::read_to_string(&self.trace).unwrap_or_default(),
            std::fs::read_to_string(&self.errors).unwrap_or_default()
        );
        self.messages()
    }
}

impl Drop for BgSipp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn nth_request(uas: &SippServer, method: &str, n: usize) -> SipMsg {
    let r = uas.wait_requests(method, n, WAIT);
    assert!(r.len() >= n, "expected {n} {method}(s) at port {}, got {}:\n{}", uas.port, r.len(), uas.trace_text());
    r[n - 1].clone()
}

/// The SIP-ETag values the presence server sent, in order.
fn etags_sent(uas: &SippServer) -> Vec<String> {
    uas.messages().iter().filter(|m| !m.received).filter_map(|m| m.header("SIP-ETag").map(String::from)).collect()
}

fn header_num(m: &SipMsg, name: &str) -> i64 {
    m.header(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no numeric {name} in\n{}", m.text()))
}

fn assert_no_body(m: &SipMsg) {
    assert!(m.header("Content-Type").is_none(), "Content-Type without a body\n{}", m.text());
    assert!(m.body.trim().is_empty(), "body\n{}", m.text());
    assert_eq!(header_num(m, "Content-Length"), 0, "{}", m.text());
}

fn assert_body_has(m: &SipMsg, parts: &[&str]) {
    for p in parts {
        assert!(m.body.contains(p), "{p} missing from the body\n{}", m.text());
    }
}

/// The value of attribute `name` of the first element `elem` in an XML text.
fn xml_attr(xml: &str, elem: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{elem} ")).or_else(|| xml.find(&format!("<{elem}>")))?;
    let tag = &xml[start..start + xml[start..].find('>')?];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

fn version_of(m: &SipMsg, root: &str) -> i64 {
    xml_attr(&m.body, root, "version")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {root} version in\n{}", m.text()))
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// The server runs and answers, nothing crashed and nothing logged an ERROR or CRITICAL line.
fn assert_alive(k: &mut Kamailio) {
    assert!(k.is_running(), "kamailio died:\n{}", k.log_text());
    assert_eq!(k.request("OPTIONS", "ping", &[], b"").code, 200);
    let log = k.log_text();
    assert!(!log.contains("signal 11") && !log.contains("core was generated"), "a process crashed:\n{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR: ") || l.contains(" CRITICAL: ")).collect();
    assert!(errors.is_empty(), "errors logged:\n{}\n\nthe whole log:\n{log}", errors.join("\n"));
}

/// assert_alive, then a graceful stop (SIGTERM) after which no process died of a signal.
fn finish(mut k: Kamailio) {
    assert_alive(&mut k);
    k.stop();
    let log = k.log_text();
    assert!(!log.contains("signal 11") && !log.contains("exited by a signal") && !log.contains("core was generated"), "a crash at shutdown:\n{log}");
}

/// Nothing more arrives at `uas` than the `n` requests of `method` seen so far.
fn assert_no_more(uas: &SippServer, method: &str, n: usize) {
    sleep_ms(500);
    assert_eq!(uas.requests(method).len(), n, "no further {method}\n{}", uas.trace_text());
}

/// Waits up to WAIT for a log line containing `needle`; returns that line.
fn wait_log(k: &Kamailio, needle: &str) -> Option<String> {
    let deadline = Instant::now() + harness::scaled(WAIT);
    loop {
        if let Some(l) = k.log_text().lines().find(|l| l.contains(needle)) {
            return Some(l.to_string());
        }
        if Instant::now() > deadline {
            return None;
        }
        sleep_ms(50);
    }
}

fn call_id(tag: &str) -> String {
    format!("{tag}-{}-{}@pua-consumers", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// 1. pua_usrloc.

/// REGISTER of alice (pua_set_publish() before save(), Expires 600) → pua_usrloc PUBLISHes for
/// sip:alice@127.0.0.1 (default_domain): Event presence, Expires the contact's lifetime + 1, no
/// SIP-If-Match, Content-Type application/pidf+xml, a PIDF body with basic "open". The
/// re-REGISTER (same Call-ID, CSeq 2) is an update without a body: PUBLISH with SIP-If-Match:
/// the first 200's etag, no body. REGISTER Expires 0 deletes the contact: PUBLISH Expires 0 with
/// SIP-If-Match: the second 200's etag, no body; a new REGISTER then publishes anew (initial
/// PUBLISH with a body, no SIP-If-Match). Nothing else is sent.
///
/// Stock, as observed: exactly that (Expires 601, 601, 0; the body re-serialised by pua with a
/// generated tuple id, entity "alice@127.0.0.1" without a scheme, as pua_usrloc builds it).
fn usrloc(pua: Pua) {
    let pres = SippServer::start("pua-consumer-publish-uas.xml", &[]);
    let k = start(pua, &["WITH_PUA_USRLOC"], pres.port, "", None);
    let aor = "sip:alice@127.0.0.1";
    let cid = call_id("usrloc");
    let contact = "sip:alice@127.0.0.1:5999";

    register(&k, "alice", &cid, 1, contact, 600);
    let p = nth_request(&pres, "PUBLISH", 1);
    assert_eq!(p.ruri(), aor, "{}", p.text());
    assert!(p.header("To").is_some_and(|v| v.contains(aor)), "{}", p.text());
    assert!(p.header("From").is_some_and(|v| v.contains(aor)), "{}", p.text());
    assert_eq!(p.header("Event"), Some("presence"), "{}", p.text());
    let exp = header_num(&p, "Expires");
    assert!((599..=601).contains(&exp), "Expires {exp}: the contact's 600 s + 1\n{}", p.text());
    assert!(p.header("SIP-If-Match").is_none(), "{}", p.text());
    assert_eq!(p.header("Content-Type"), Some("application/pidf+xml"), "{}", p.text());
    assert_body_has(&p, &["urn:ietf:params:xml:ns:pidf", "<basic>open</basic>", "<tuple id="]);
    assert_eq!(xml_attr(&p.body, "presence", "entity").as_deref(), Some("alice@127.0.0.1"), "{}", p.text());
    pres.wait_answered(WAIT);

    register(&k, "alice", &cid, 2, contact, 600);
    let p = nth_request(&pres, "PUBLISH", 2);
    assert_eq!(p.ruri(), aor, "{}", p.text());
    assert_eq!(p.header("Event"), Some("presence"), "{}", p.text());
    assert_eq!(p.header("SIP-If-Match"), Some(etags_sent(&pres)[0].as_str()), "a refresh of the first\n{}", p.text());
    let exp = header_num(&p, "Expires");
    assert!((599..=601).contains(&exp), "Expires {exp}\n{}", p.text());
    assert_no_body(&p);
    pres.wait_answered(WAIT);

    register(&k, "alice", &cid, 3, contact, 0);
    let p = nth_request(&pres, "PUBLISH", 3);
    assert_eq!(p.ruri(), aor, "{}", p.text());
    assert_eq!(p.header("Event"), Some("presence"), "{}", p.text());
    assert_eq!(header_num(&p, "Expires"), 0, "{}", p.text());
    assert_eq!(p.header("SIP-If-Match"), Some(etags_sent(&pres)[1].as_str()), "{}", p.text());
    assert_no_body(&p);
    pres.wait_answered(WAIT);

    // The publication is gone: the next registration publishes anew.
    register(&k, "alice", &cid, 4, contact, 600);
    let p = nth_request(&pres, "PUBLISH", 4);
    assert_eq!(p.ruri(), aor, "{}", p.text());
    assert!(p.header("SIP-If-Match").is_none(), "an initial PUBLISH again\n{}", p.text());
    assert_eq!(p.header("Content-Type"), Some("application/pidf+xml"), "{}", p.text());
    assert_body_has(&p, &["<basic>open</basic>"]);
    pres.wait_answered(WAIT);

    assert_no_more(&pres, "PUBLISH", 4);
    finish(k);
}

#[test]
fn usrloc_stock() {
    usrloc(Stock);
}

#[test]
fn usrloc_ours() {
    usrloc(Ours);
}

// ---------------------------------------------------------------------------------------------
// 2. pua_dialoginfo.

/// The PUBLISHes at `pres` for `uri`, in order.
fn publishes_for(pres: &SippServer, uri: &str) -> Vec<SipMsg> {
    pres.requests("PUBLISH").into_iter().filter(|m| m.ruri() == uri).collect()
}

/// The dialog state in a dialog-info body.
fn dialog_state(m: &SipMsg) -> String {
    let b = &m.body;
    let at = b.find("<state>").unwrap_or_else(|| panic!("no <state> in\n{}", m.text())) + "<state>".len();
    b[at..at + b[at..].find('<').unwrap()].to_string()
}

/// The SIP-ETag of the presence server's 200 to the request `m`.
fn etag_of_reply_to(pres: &SippServer, m: &SipMsg) -> String {
    let cid = m.header("Call-ID").unwrap();
    pres.messages()
        .into_iter()
        .find(|r| !r.received && r.method().is_empty() && r.header("Call-ID") == Some(cid))
        .and_then(|r| r.header("SIP-ETag").map(String::from))
        .unwrap_or_else(|| panic!("no 200 with SIP-ETag to\n{}\n{}", m.text(), pres.trace_text()))
}

/// alice calls bob through Kamailio (dlg_manage(), record-routed); bob rings after 500 ms and
/// answers 500 ms later; alice hangs up after 1 s. pua_dialoginfo (defaults: PUBLISH only for
/// local URIs, which sip:*@127.0.0.1 are) PUBLISHes for both parties, one publication each (id
/// DIALOG_PUBLISH.<dialog uuid>): alice Trying, early, confirmed, terminated; bob early,
/// confirmed, terminated. Every PUBLISH: R-URI = To = From = the party, Event: dialog,
/// Content-Type: application/dialog-info+xml, Expires: the dialog lifetime (43200) + 1, for
/// terminated 10 + 1; the first of a party has no SIP-If-Match, each later one carries the etag
/// of the 200 to the party's previous PUBLISH. Bodies: dialog-info of that entity, the call's
/// Call-ID, direction initiator (alice) / recipient (bob), the state. dialog-info version: "0"
/// in every body by default (pua_dialoginfo writes 0, pua passes the body through); with pua's
/// dlginfo_increase_version=1, 0, 1, 2, ... per party (pua sets it to the publication's count).
///
/// Stock, as observed: exactly that, 7 PUBLISHes in the order alice Trying, alice early, bob
/// early, alice confirmed, bob confirmed, alice terminated, bob terminated.
fn dialoginfo(pua: Pua, increase_version: bool) {
    let pres = SippServer::start("pua-consumer-publish-uas.xml", &[]);
    let callee = SippServer::start("pua-consumer-callee.xml", &[]);
    let defines: &[&str] = if increase_version { &["WITH_PUA_DIALOGINFO", "PUA_DLGINFO_INCREASE_VERSION"] } else { &["WITH_PUA_DIALOGINFO"] };
    let k = start(pua, defines, pres.port, "", None);
    let caller = sipp_traced(&k, "pua-consumer-caller.xml", &["-key", "callee_port", &callee.port.to_string()]);
    let invite = caller.iter().find(|m| !m.received && m.method() == "INVITE").expect("the INVITE");
    let call_id = invite.header("Call-ID").unwrap().to_string();

    let all = pres.wait_requests("PUBLISH", 7, WAIT);
    pres.wait_answered(WAIT);
    assert_no_more(&pres, "PUBLISH", 7);
    let order: Vec<(String, String)> = all.iter().map(|m| (m.ruri().to_string(), dialog_state(m))).collect();
    let alice = "sip:alice@127.0.0.1";
    let bob = "sip:bob@127.0.0.1";
    let expected: Vec<(String, String)> = [
        (alice, "Trying"),
        (alice, "early"),
        (bob, "early"),
        (alice, "confirmed"),
        (bob, "confirmed"),
        (alice, "terminated"),
        (bob, "terminated"),
    ]
    .iter()
    .map(|(u, s)| (u.to_string(), s.to_string()))
    .collect();
    assert_eq!(order, expected, "PUBLISHes (party, state)\n{}", pres.trace_text());

    for (party, direction) in [(alice, "initiator"), (bob, "recipient")] {
        let mine = publishes_for(&pres, party);
        for (i, m) in mine.iter().enumerate() {
            assert!(m.header("To").is_some_and(|v| v.contains(party)), "{}", m.text());
            assert!(m.header("From").is_some_and(|v| v.contains(party)), "{}", m.text());
            assert_eq!(m.header("Event"), Some("dialog"), "{}", m.text());
            assert_eq!(m.header("Content-Type"), Some("application/dialog-info+xml"), "{}", m.text());
            let exp = if dialog_state(m) == "terminated" { 11 } else { 43201 };
            assert_eq!(header_num(m, "Expires"), exp, "{}", m.text());
            if i == 0 {
                assert!(m.header("SIP-If-Match").is_none(), "the first PUBLISH of {party}\n{}", m.text());
            } else {
                let prev = etag_of_reply_to(&pres, &mine[i - 1]);
                assert_eq!(m.header("SIP-If-Match"), Some(prev.as_str()), "modifies {party}'s publication\n{}", m.text());
            }
            assert_eq!(xml_attr(&m.body, "dialog-info", "entity").as_deref(), Some(party), "{}", m.text());
            assert_eq!(xml_attr(&m.body, "dialog-info", "state").as_deref(), Some("full"), "{}", m.text());
            assert_eq!(xml_attr(&m.body, "dialog", "call-id").as_deref(), Some(call_id.as_str()), "{}", m.text());
            assert_eq!(xml_attr(&m.body, "dialog", "direction").as_deref(), Some(direction), "{}", m.text());
            assert_body_has(m, &["urn:ietf:params:xml:ns:dialog-info"]);
        }
        let versions: Vec<i64> = mine.iter().map(|m| version_of(m, "dialog-info")).collect();
        let expected: Vec<i64> = if increase_version { (0..mine.len() as i64).collect() } else { vec![0; mine.len()] };
        assert_eq!(versions, expected, "dialog-info versions of {party} (dlginfo_increase_version={})", increase_version as u8);
    }
    finish(k);
}

#[test]
fn dialoginfo_stock() {
    dialoginfo(Stock, false);
}

#[test]
fn dialoginfo_ours() {
    dialoginfo(Ours, false);
}

#[test]
fn dialoginfo_increase_version_stock() {
    dialoginfo(Stock, true);
}

#[test]
fn dialoginfo_increase_version_ours() {
    dialoginfo(Ours, true);
}

// ---------------------------------------------------------------------------------------------
// 3. pua_reginfo.

/// Which of pua's version parameters is set to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
enum VersionFlag {
    Reginfo,
    Dlginfo,
}

/// pua's reginfo_increase_version=1 (or, second variant, dlginfo_increase_version=1).
/// REGISTER of alice (Expires 600), re-REGISTER, REGISTER
/// Expires 0 → pua_reginfo PUBLISHes Event: reg for sip:alice@127.0.0.1 (default_domain) through
/// its own outbound_proxy, one publication (id REGINFO_PUBLISH.alice@location): Expires 3600 + 1
/// every time (also for the terminated registration), Content-Type application/reginfo+xml, the
/// first without SIP-If-Match, the others with the etag of the previous 200. Bodies: reginfo of
/// aor sip:alice@127.0.0.1, registration active / active / terminated, the contact created /
/// refreshed / unregistered with its URI, Call-ID and CSeq.
///
/// Deliberate difference (a stock bug fixed by ours): stock never reads reginfo_increase_version;
/// for reg it looks at dlginfo_increase_version. So with reginfo_increase_version=1 stock's
/// reginfo version stays "0" in all three bodies while ours numbers them 0, 1, 2; and, the other
/// side of the same fix, with only dlginfo_increase_version=1 stock numbers the reginfo bodies
/// 0, 1, 2 while ours leaves them at "0" (pua's documentation ties dlginfo_increase_version to
/// Event: dialog and reginfo_increase_version to Event: reg).
///
/// Stock, as observed: as above, versions 0, 0, 0 (reginfo flag) and 0, 1, 2 (dlginfo flag).
fn reginfo(pua: Pua, flag: VersionFlag) {
    let pres = SippServer::start("pua-consumer-publish-uas.xml", &[]);
    let define = if flag == VersionFlag::Reginfo { "PUA_REGINFO_INCREASE_VERSION" } else { "PUA_DLGINFO_INCREASE_VERSION" };
    let k = start(pua, &["WITH_PUA_REGINFO", define], pres.port, "", None);
    let aor = "sip:alice@127.0.0.1";
    let cid = call_id("reginfo");
    let contact = "sip:alice@127.0.0.1:5999";
    let steps = [(1, 600, "active", "created"), (2, 600, "active", "refreshed"), (3, 0, "terminated", "unregistered")];
    for (i, (cseq, expires, reg_state, event)) in steps.iter().enumerate() {
        register(&k, "alice", &cid, *cseq, contact, *expires);
        let m = nth_request(&pres, "PUBLISH", i + 1);
        pres.wait_answered(WAIT);
        assert_eq!(m.ruri(), aor, "{}", m.text());
        assert!(m.header("To").is_some_and(|v| v.contains(aor)), "{}", m.text());
        assert!(m.header("From").is_some_and(|v| v.contains(aor)), "{}", m.text());
        assert_eq!(m.header("Event"), Some("reg"), "{}", m.text());
        assert_eq!(header_num(&m, "Expires"), 3601, "pua_reginfo publishes 3600 s, also when terminated\n{}", m.text());
        assert_eq!(m.header("Content-Type"), Some("application/reginfo+xml"), "{}", m.text());
        if i == 0 {
            assert!(m.header("SIP-If-Match").is_none(), "{}", m.text());
        } else {
            let prev = etag_of_reply_to(&pres, &nth_request(&pres, "PUBLISH", i));
            assert_eq!(m.header("SIP-If-Match"), Some(prev.as_str()), "{}", m.text());
        }
        assert_eq!(xml_attr(&m.body, "reginfo", "state").as_deref(), Some("full"), "{}", m.text());
        assert_eq!(xml_attr(&m.body, "registration", "aor").as_deref(), Some(aor), "{}", m.text());
        assert_eq!(xml_attr(&m.body, "registration", "state").as_deref(), Some(*reg_state), "{}", m.text());
        assert_eq!(xml_attr(&m.body, "contact", "event").as_deref(), Some(*event), "{}", m.text());
        assert_eq!(xml_attr(&m.body, "contact", "callid").as_deref(), Some(cid.as_str()), "{}", m.text());
        assert_body_has(&m, &["urn:ietf:params:xml:ns:reginfo", &format!("<uri>{contact}</uri>")]);
    }
    assert_no_more(&pres, "PUBLISH", 3);
    let versions: Vec<i64> = pres.requests("PUBLISH").iter().map(|m| version_of(m, "reginfo")).collect();
    match (pua, flag) {
        // 6.0 reads reginfo_increase_version for reg bodies, and only it, on both.
        (_, VersionFlag::Reginfo) if harness::is_6_0() => {
            assert_eq!(versions, vec![0, 1, 2], "6.0: reginfo_increase_version=1 numbers the reginfo documents")
        }
        (_, VersionFlag::Dlginfo) if harness::is_6_0() => {
            assert_eq!(versions, vec![0, 0, 0], "6.0: dlginfo_increase_version does not number reg bodies")
        }
        (Stock, VersionFlag::Reginfo) => assert_eq!(versions, vec![0, 0, 0], "stock 5.6 bug: reginfo_increase_version is never read"),
        (Ours, VersionFlag::Reginfo) => assert_eq!(versions, vec![0, 1, 2], "reginfo_increase_version=1 numbers the reginfo documents"),
        // 5.6: configurations that relied on stock numbering reg bodies with
        // dlginfo_increase_version keep that: ours numbers them when either flag is set.
        (_, VersionFlag::Dlginfo) => assert_eq!(versions, vec![0, 1, 2], "dlginfo_increase_version numbers reg bodies too"),
    }
    finish(k);
}

#[test]
fn reginfo_stock() {
    reginfo(Stock, VersionFlag::Reginfo);
}

#[test]
fn reginfo_ours() {
    reginfo(Ours, VersionFlag::Reginfo);
}

#[test]
fn reginfo_dlginfo_flag_stock() {
    reginfo(Stock, VersionFlag::Dlginfo);
}

#[test]
fn reginfo_dlginfo_flag_ours() {
    reginfo(Ours, VersionFlag::Dlginfo);
}

// ---------------------------------------------------------------------------------------------
// 4. pua_bla.

/// The log lines of the config for `what` (bla_handle_notify) and this Call-ID: return codes.
fn script_codes(k: &Kamailio, what: &str, call_id: &str) -> Vec<i32> {
    let needle = format!("{what} returned ");
    k.log_text()
        .lines()
        .filter(|l| l.contains(&needle) && l.ends_with(&format!("for call-id {call_id}")))
        .filter_map(|l| l.split(&needle).nth(1)?.split_whitespace().next()?.parse().ok())
        .collect()
}

fn wait_script_codes(k: &Kamailio, what: &str, call_id: &str, n: usize) -> Vec<i32> {
    let deadline = Instant::now() + harness::scaled(WAIT);
    loop {
        let c = script_codes(k, what, call_id);
        if c.len() >= n || Instant::now() > deadline {
            return c;
        }
        sleep_ms(50);
    }
}

/// alice is a BLA user (bla_set_flag() before save()); her REGISTER (Expires 600) names the SIPp
/// phone as contact. pua_bla SUBSCRIBEs to dialog;sla at the contact: R-URI = the contact, To =
/// the REGISTER's From URI (no tag), From = sip:alice@127.0.0.1 (default_domain) with a tag,
/// Contact: <server_address>, Expires: 600 + 10. The phone answers 200 and NOTIFYs
/// (dialog-info, dialog "sla-1" confirmed) to server_address; the config runs
/// bla_handle_notify() (1) and pua PUBLISHes it to the presence server: R-URI sip:alice@127.0.0.1,
/// Event: dialog;sla, Expires: the NOTIFY's expires + 1, Content-Type application/dialog-info+xml,
/// Sender: <the NOTIFY's Contact> (header_name "Sender"), no SIP-If-Match, the body re-serialised
/// with version 0. The re-REGISTER refreshes the subscription in its dialog (R-URI = the 200's
/// Contact, same Call-ID, the 200's To tag, higher CSeq); the phone NOTIFYs again (state
/// terminated) and that PUBLISH modifies the first (SIP-If-Match: its etag, version 1).
/// REGISTER Expires 0 ends the subscription in the dialog (Expires 0). Nothing else is sent.
///
/// Stock, as observed: exactly that.
fn bla(pua: Pua) {
    let pres = SippServer::start("pua-consumer-publish-uas.xml", &[]);
    let phone = SippServer::start("pua-consumer-subscribe-uas.xml", &[]);
    let k = start(pua, &["WITH_PUA_BLA"], pres.port, "", None);
    let alice = "sip:alice@127.0.0.1";
    let cid = call_id("bla");
    let contact = format!("sip:alice@127.0.0.1:{}", phone.port);
    let server_address = format!("<sip:bla@127.0.0.1:{}>", k.sip_port);
    let phone_contact = format!("sip:phone@127.0.0.1:{}", phone.port);

    register(&k, "alice", &cid, 1, &contact, 600);
    let s1 = nth_request(&phone, "SUBSCRIBE", 1);
    assert_eq!(s1.ruri(), contact, "to the registered contact\n{}", s1.text());
    assert!(s1.header("To").is_some_and(|v| v.contains(alice)) && s1.tag("To").is_none(), "{}", s1.text());
    assert!(s1.header("From").is_some_and(|v| v.contains(alice)) && s1.tag("From").is_some(), "{}", s1.text());
    assert_eq!(s1.header("Event"), Some("dialog;sla"), "{}", s1.text());
    assert_eq!(s1.header("Contact"), Some(server_address.as_str()), "{}", s1.text());
    let exp = header_num(&s1, "Expires");
    assert!((609..=610).contains(&exp), "Expires {exp}: 600 + 10\n{}", s1.text());
    let dialog_id = s1.header("Call-ID").unwrap().to_string();

    let p1 = nth_request(&pres, "PUBLISH", 1);
    assert_eq!(wait_script_codes(&k, "bla_handle_notify", &dialog_id, 1), vec![1], "the NOTIFY is handled");
    let n1 = phone.messages().into_iter().find(|m| !m.received && m.method() == "NOTIFY").expect("the phone's NOTIFY");
    let notify_expires: i64 = n1.header("Subscription-State").and_then(|v| v.split("expires=").nth(1)).and_then(|e| e.parse().ok()).unwrap();
    assert_eq!(p1.ruri(), alice, "{}", p1.text());
    assert!(p1.header("To").is_some_and(|v| v.contains(alice)), "{}", p1.text());
    assert_eq!(p1.header("Event"), Some("dialog;sla"), "{}", p1.text());
    assert_eq!(header_num(&p1, "Expires"), notify_expires + 1, "{}", p1.text());
    assert_eq!(p1.header("Content-Type"), Some("application/dialog-info+xml"), "{}", p1.text());
    assert_eq!(p1.header("Sender"), Some(phone_contact.as_str()), "{}", p1.text());
    assert!(p1.header("SIP-If-Match").is_none(), "{}", p1.text());
    assert_eq!(xml_attr(&p1.body, "dialog", "id").as_deref(), Some("sla-1"), "{}", p1.text());
    assert_eq!(dialog_state(&p1), "confirmed", "{}", p1.text());
    assert_eq!(version_of(&p1, "dialog-info"), 0, "{}", p1.text());
    pres.wait_answered(WAIT);
    phone.wait_answered(WAIT);
    let ok = phone.messages().into_iter().find(|m| !m.received && m.first_line.starts_with("SIP/2.0 200") && m.cseq() == s1.cseq()).unwrap();

    register(&k, "alice", &cid, 2, &contact, 600);
    let s2 = nth_request(&phone, "SUBSCRIBE", 2);
    assert_eq!(s2.ruri(), format!("sip:presence@127.0.0.1:{}", phone.port), "the 200's Contact\n{}", s2.text());
    assert_eq!(s2.header("Call-ID"), Some(dialog_id.as_str()), "{}", s2.text());
    assert_eq!(s2.tag("To"), ok.tag("To"), "{}", s2.text());
    assert_eq!(s2.tag("From"), s1.tag("From"), "{}", s2.text());
    assert!(s2.cseq() > s1.cseq(), "{}", s2.text());
    assert_eq!(s2.header("Event"), Some("dialog;sla"), "{}", s2.text());
    let exp = header_num(&s2, "Expires");
    assert!((608..=610).contains(&exp), "Expires {exp}\n{}", s2.text());

    let p2 = nth_request(&pres, "PUBLISH", 2);
    assert_eq!(wait_script_codes(&k, "bla_handle_notify", &dialog_id, 2), vec![1, 1], "both NOTIFYs are handled");
    assert_eq!(p2.ruri(), alice, "{}", p2.text());
    assert_eq!(p2.header("Event"), Some("dialog;sla"), "{}", p2.text());
    assert_eq!(p2.header("SIP-If-Match"), Some(etag_of_reply_to(&pres, &p1).as_str()), "{}", p2.text());
    assert_eq!(p2.header("Content-Type"), Some("application/dialog-info+xml"), "{}", p2.text());
    assert_eq!(p2.header("Sender"), Some(phone_contact.as_str()), "{}", p2.text());
    assert_eq!(dialog_state(&p2), "terminated", "{}", p2.text());
    assert_eq!(version_of(&p2, "dialog-info"), 1, "{}", p2.text());
    pres.wait_answered(WAIT);
    phone.wait_answered(WAIT);

    register(&k, "alice", &cid, 3, &contact, 0);
    let s3 = nth_request(&phone, "SUBSCRIBE", 3);
    assert_eq!(s3.header("Call-ID"), Some(dialog_id.as_str()), "{}", s3.text());
    assert_eq!(s3.ruri(), s2.ruri(), "{}", s3.text());
    assert!(s3.cseq() > s2.cseq(), "{}", s3.text());
    assert_eq!(header_num(&s3, "Expires"), 0, "{}", s3.text());
    phone.wait_answered(WAIT);

    assert_no_more(&phone, "SUBSCRIBE", 3);
    assert_eq!(pres.requests("PUBLISH").len(), 2, "{}", pres.trace_text());
    finish(k);
}

#[test]
fn bla_stock() {
    bla(Stock);
}

#[test]
fn bla_ours() {
    bla(Ours);
}

// ---------------------------------------------------------------------------------------------
// 5. rls.

const RL_DOC_URI: &str = "/xcap-root/resource-lists/users/sip:alice@127.0.0.1/index";

/// alice's resource-lists document: list "friends" with sip:<member>@127.0.0.1 for each member.
fn resource_lists(members: &[&str]) -> String {
    let entries: String = members.iter().map(|m| format!("\n    <entry uri=\"sip:{m}@127.0.0.1\"/>")).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">\n  <list name=\"friends\">{entries}\n  </list>\n</resource-lists>"
    )
}

/// alice's rls-services document (sip:friends@127.0.0.1 → her resource list "friends", by
/// reference) and resource-lists document (carol, dave), as the integrated XCAP server stores them.
fn rls_documents_sql() -> String {
    let rls_services = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
  <service uri="sip:friends@127.0.0.1">
    <resource-list>http://127.0.0.1{RL_DOC_URI}/~~/resource-lists/list%5B@name=%22friends%22%5D</resource-list>
    <packages><package>presence</package></packages>
  </service>
</rls-services>"#
    );
    let resource_lists = resource_lists(&["carol", "dave"]);
    format!(
        "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES \
         ('alice', '127.0.0.1', '{rls_services}', 8, 'e-rls', 1, '/xcap-root/rls-services/users/sip:alice@127.0.0.1/index', 8080), \
         ('alice', '127.0.0.1', '{resource_lists}', 4, 'e-rl', 1, '{RL_DOC_URI}', 8080);\n"
    )
}

/// The `<presence ...>...</presence>` element of a PIDF text.
fn presence_element(body: &str) -> &str {
    let a = body.find("<presence").unwrap_or_else(|| panic!("no <presence> in {body}"));
    let b = body[a..].find("</presence>").unwrap_or_else(|| panic!("no </presence> in {body}")) + a + "</presence>".len();
    &body[a..b]
}

/// Asserts one initial back-end SUBSCRIBE of rls for `member`.
fn assert_backend_subscribe(s1: &SipMsg, member: &str, rls_contact: &str, expires: std::ops::RangeInclusive<i64>) {
    assert_eq!(s1.ruri(), member, "{}", s1.text());
    assert!(s1.header("To").is_some_and(|v| v.contains(member)) && s1.tag("To").is_none(), "{}", s1.text());
    assert!(s1.header("From").is_some_and(|v| v.contains("sip:alice@127.0.0.1")) && s1.tag("From").is_some(), "{}", s1.text());
    assert_eq!(s1.header("Event"), Some("presence"), "{}", s1.text());
    assert_eq!(s1.header("Contact"), Some(rls_contact), "{}", s1.text());
    let exp = header_num(s1, "Expires");
    assert!(expires.contains(&exp), "Expires {exp}, not in {expires:?}\n{}", s1.text());
    assert_eq!(s1.header("Supported"), Some("eventlist"), "{}", s1.text());
    assert_eq!(
        s1.header("Accept"),
        Some("application/pidf+xml, application/rlmi+xml, application/watcherinfo+xml, multipart/related"),
        "{}",
        s1.text()
    );
}

/// Asserts that `s2` ends the back-end subscription `s1` in its dialog.
fn assert_backend_unsubscribe(pres: &SippServer, s1: &SipMsg, s2: &SipMsg) {
    let cid = s1.header("Call-ID").unwrap();
    let ok = pres.messages().into_iter().find(|m| !m.received && m.first_line.starts_with("SIP/2.0 200") && m.header("Call-ID") == Some(cid)).unwrap();
    assert_eq!(s2.header("Call-ID"), Some(cid), "{}", s2.text());
    assert_eq!(header_num(s2, "Expires"), 0, "{}", s2.text());
    assert_eq!(s2.ruri(), format!("sip:presence@127.0.0.1:{}", pres.port), "the 200's Contact\n{}", s2.text());
    assert_eq!(s2.tag("To"), ok.tag("To"), "{}", s2.text());
    assert_eq!(s2.tag("From"), s1.tag("From"), "{}", s2.text());
    assert!(s2.cseq() > s1.cseq(), "{}", s2.text());
    assert_eq!(s2.header("Event"), Some("presence"), "{}", s2.text());
}

/// The presence server's NOTIFY in the back-end dialog `s1`, and that Kamailio answered it 200
/// after rls_handle_notify() returned 1.
fn backend_notify(k: &Kamailio, pres: &SippServer, s1: &SipMsg) -> SipMsg {
    let cid = s1.header("Call-ID").unwrap();
    let deadline = Instant::now() + harness::scaled(WAIT);
    loop {
        let m = pres.messages();
        let answered = m.iter().any(|r| r.received && r.first_line.starts_with("SIP/2.0 200") && r.header("Call-ID") == Some(cid) && r.cseq() == 1);
        if answered {
            assert_eq!(script_codes(k, "rls_handle_notify", cid), vec![1], "the back-end NOTIFY is taken\n{}", k.log_text());
            return m.into_iter().find(|r| !r.received && r.method() == "NOTIFY" && r.header("Call-ID") == Some(cid)).unwrap();
        }
        assert!(Instant::now() < deadline, "no 200 to the NOTIFY of {}\n{}", s1.ruri(), pres.trace_text());
        sleep_ms(50);
    }
}

/// True when some RLMI NOTIFY the watcher got has `member` with an active instance and the PIDF
/// element `pidf` as a part.
fn watcher_has(notifies: &[SipMsg], member: &str, pidf: &str) -> bool {
    let resource = format!(r#"<resource uri="{member}"><instance id="#);
    notifies.iter().any(|n| {
        n.body.contains(pidf)
            && n.body.find(&resource).is_some_and(|at| n.body[at..].split("</resource>").next().unwrap().contains(r#"state="active""#))
    })
}

/// alice SUBSCRIBEs to sip:friends@127.0.0.1 (Event: presence, Supported: eventlist, Expires
/// 600), a service in her rls-services document whose list is a reference to "friends" in her
/// resource-lists document (carol, dave), both in the xcap table (integrated XCAP server); rls
/// keeps its own tables on db_text.
///
/// rls answers 200 (Require: eventlist, Contact: server_address) and NOTIFYs the full list state
/// (multipart/related;type="application/rlmi+xml", RLMI list sip:friends@127.0.0.1, fullState,
/// both resources), and SUBSCRIBEs through pua once per member to the presence server (rls'
/// outbound_proxy): R-URI = To = the member (no To tag), From: sip:alice@127.0.0.1 with a tag,
/// Event: presence, Contact: <server_address>, Expires: 600 + 10, Supported: eventlist and rls'
/// Accept. The presence server answers 200 and NOTIFYs a PIDF document; rls_handle_notify()
/// finds each dialog through pua (get_record_id) and answers 200 (returns 1); within waitn_time
/// (1 s) the watcher gets an RLMI NOTIFY with an active instance and the PIDF part per member.
///
/// Then dave is replaced by erin in the resource list (SQL) and `rls.update_subs
/// sip:alice@127.0.0.1 presence` runs: rls re-walks the list with pua's internal-update flag (no
/// request for carol, whose dialog exists), SUBSCRIBEs to erin, and asks pua for the list's
/// subscriptions (get_subs_list) to end the one no longer listed: SUBSCRIBE Expires 0 in dave's
/// dialog (R-URI the 200's Contact, same Call-ID, the 200's To tag, higher CSeq; pua
/// check_remote_contact=0). erin's state reaches the watcher the same way. When alice
/// un-SUBSCRIBEs (Expires 0, after 3 s without NOTIFY), rls ends carol's and erin's back-end
/// subscriptions in their dialogs. Nothing else reaches the presence server.
///
/// Stock, as observed: exactly that (no NOTIFY to the watcher after its un-SUBSCRIBE within 2 s;
/// rls on db_text does not crash).
fn rls(pua: Pua) {
    let pres = SippServer::start("pua-consumer-subscribe-uas.xml", &[]);
    let dbtext = DbText::new();
    let sql = rls_documents_sql();
    let k = start(pua, &["WITH_RLS"], pres.port, &sql, Some(&dbtext));
    let rls_contact = format!("<sip:rls@127.0.0.1:{}>", k.sip_port);
    let (carol, dave, erin) = ("sip:carol@127.0.0.1", "sip:dave@127.0.0.1", "sip:erin@127.0.0.1");
    let mut watcher = BgSipp::start(&k, "pua-consumer-watcher.xml", &["-key", "watcher", "alice", "-key", "list", "friends"]);
    let show = |msgs: &[SipMsg]| msgs.iter().map(|m| m.text()).collect::<Vec<_>>().join("\n----\n");

    // The list's two members.
    let subs = pres.wait_requests("SUBSCRIBE", 2, WAIT);
    assert_eq!(subs.len(), 2, "one back-end SUBSCRIBE per member\n{}", pres.trace_text());
    let mut pidf = std::collections::HashMap::new();
    for member in [carol, dave] {
        let s1 = subs.iter().find(|m| m.ruri() == member).unwrap_or_else(|| panic!("no SUBSCRIBE to {member}\n{}", pres.trace_text()));
        assert_backend_subscribe(s1, member, &rls_contact, 610..=610);
        let n = backend_notify(&k, &pres, s1);
        pidf.insert(member, presence_element(&n.body).to_string());
    }
    let deadline = Instant::now() + harness::scaled(WAIT);
    while !(watcher_has(&watcher.received("NOTIFY"), carol, &pidf[carol]) && watcher_has(&watcher.received("NOTIFY"), dave, &pidf[dave])) {
        assert!(Instant::now() < deadline, "carol's and dave's state never reached the watcher:\n{}", show(&watcher.messages()));
        sleep_ms(50);
    }

    // dave leaves the list, erin joins.
    k.sql(&format!("UPDATE xcap SET doc = '{}', etag = 'e-rl-2' WHERE doc_type = 4;", resource_lists(&["carol", "erin"])));
    k.rpc(&["rls.update_subs", "sip:alice@127.0.0.1", "presence"]);
    let subs = pres.wait_requests("SUBSCRIBE", 4, WAIT);
    assert_eq!(subs.len(), 4, "erin's SUBSCRIBE and dave's un-SUBSCRIBE\n{}", pres.trace_text());
    let s_erin = subs[2..].iter().find(|m| m.ruri() == erin).unwrap_or_else(|| panic!("no SUBSCRIBE to erin\n{}", pres.trace_text()));
    assert_backend_subscribe(s_erin, erin, &rls_contact, 600..=610);
    let s_dave = subs.iter().find(|m| m.ruri() == dave).unwrap();
    let un_dave = subs[2..].iter().find(|m| m.header("Call-ID") == s_dave.header("Call-ID")).unwrap_or_else(|| panic!("dave's subscription is not ended\n{}", pres.trace_text()));
    assert_backend_unsubscribe(&pres, s_dave, un_dave);
    let n = backend_notify(&k, &pres, s_erin);
    pidf.insert(erin, presence_element(&n.body).to_string());

    // The watcher's side, then its un-SUBSCRIBE.
    let messages = watcher.wait_ok(Duration::from_secs(30));
    let ok = messages.iter().find(|m| m.received && m.first_line.starts_with("SIP/2.0 200") && m.cseq() == 1).expect("200 to the SUBSCRIBE");
    assert_eq!(ok.header("Require"), Some("eventlist"), "{}", ok.text());
    assert_eq!(ok.header("Contact"), Some(rls_contact.as_str()), "{}", ok.text());
    let unsubscribe_at = messages.iter().position(|m| !m.received && m.method() == "SUBSCRIBE" && m.cseq() == 2).expect("the un-SUBSCRIBE");
    let notifies: Vec<SipMsg> = messages[..unsubscribe_at].iter().filter(|m| m.received && m.method() == "NOTIFY").cloned().collect();
    for n in &notifies {
        assert_eq!(n.header("Event"), Some("presence"), "{}", n.text());
        assert_eq!(n.header("Require"), Some("eventlist"), "{}", n.text());
        let ct = n.header("Content-Type").unwrap_or_default();
        assert!(ct.starts_with("multipart/related;") && ct.contains(r#"type="application/rlmi+xml""#), "{}", n.text());
        assert!(n.header("Subscription-State").is_some_and(|v| v.starts_with("active;")), "{}", n.text());
        assert_eq!(xml_attr(&n.body, "list", "uri").as_deref(), Some("sip:friends@127.0.0.1"), "{}", n.text());
    }
    let first = &notifies[0];
    assert_eq!(xml_attr(&first.body, "list", "fullState").as_deref(), Some("true"), "{}", first.text());
    assert_body_has(first, &[r#"<resource uri="sip:carol@127.0.0.1"/>"#, r#"<resource uri="sip:dave@127.0.0.1"/>"#]);
    assert!(watcher_has(&notifies, erin, &pidf[erin]), "erin's state reached the watcher:\n{}", show(&messages));

    let subs = pres.wait_requests("SUBSCRIBE", 6, WAIT);
    assert_eq!(subs.len(), 6, "carol's and erin's un-SUBSCRIBEs\n{}", pres.trace_text());
    for s1 in [subs.iter().find(|m| m.ruri() == carol).unwrap(), s_erin] {
        let s2 = subs[4..].iter().find(|m| m.header("Call-ID") == s1.header("Call-ID")).unwrap_or_else(|| panic!("{} is not ended\n{}", s1.ruri(), pres.trace_text()));
        assert_backend_unsubscribe(&pres, s1, s2);
    }
    pres.wait_answered(WAIT);
    assert_no_more(&pres, "SUBSCRIBE", 6);
    finish(k);
}

#[test]
fn rls_stock() {
    rls(Stock);
}

#[test]
fn rls_ours() {
    rls(Ours);
}

// ---------------------------------------------------------------------------------------------
// 6. presence_xcapdiff (ours) after pua.

/// Our presence_xcapdiff loaded after pua (and pua_usrloc): it registers the xcap-diff event
/// with pua, saying so in one log line; pua keeps serving its other consumers (a REGISTER is
/// PUBLISHed as in scenario 1) and nothing crashes, also at a graceful stop.
///
/// Stock pua, as observed: exactly that.
fn xcapdiff(pua: Pua) {
    let pres = SippServer::start("pua-consumer-publish-uas.xml", &[]);
    let k = start(pua, &["WITH_PUA_USRLOC", "WITH_XCAPDIFF"], pres.port, "", None);
    let line = wait_log(&k, "event xcap-diff (application/xcap-diff+xml) registered with")
        .unwrap_or_else(|| panic!("no registration line:\n{}", k.log_text()));
    assert!(line.contains("INFO: presence_xcapdiff") && line.ends_with("registered with pua"), "{line}");

    register(&k, "alice", &call_id("xcapdiff"), 1, "sip:alice@127.0.0.1:5999", 600);
    let p = nth_request(&pres, "PUBLISH", 1);
    assert_eq!(p.ruri(), "sip:alice@127.0.0.1", "{}", p.text());
    assert_eq!(p.header("Event"), Some("presence"), "{}", p.text());
    assert_body_has(&p, &["<basic>open</basic>"]);
    pres.wait_answered(WAIT);
    finish(k);
}

#[test]
fn xcapdiff_stock() {
    xcapdiff(Stock);
}

#[test]
fn xcapdiff_ours() {
    xcapdiff(Ours);
}

// ---------------------------------------------------------------------------------------------
// 6b. presence_dfks (Kamailio 6.0).

/// Debian 13's presence_dfks 6.0.1 binds pua for its as-feature-event PUBLISHes, but it does
/// not load into Kamailio 6.0.1 at all, on stock pua or ours: it refers to a global
/// `pres_add_event` that it declares and never defines, so dlopen fails before pua is ever
/// asked. pua's as-feature-event itself is tested through pua_rpc (tests/pua_e2e.rs,
/// `as_feature_event_*`). 5.6 has no presence_dfks. When Debian's module loads, this test fails
/// and is to become a scenario with presence_dfks on top.
fn dfks(pua: Pua) {
    if !harness::is_6_0() {
        assert!(!harness::stock_modules().join("presence_dfks.so").exists(), "5.6 has no presence_dfks");
        return;
    }
    let mut all = vec!["WITH_DFKS"];
    if pua == Stock {
        all.push("STOCK_PUA");
    }
    let modules: &[&str] = if pua == Ours { &["pua"] } else { &[] };
    let mut s = Setup::new(CFG, modules);
    s.defines = &all;
    s.schemas = &["presence"];
    s.vars.push(("PRES_PORT", "9".to_string()));
    s.vars.push(("DBTEXT", "/nonexistent".to_string()));
    let failed = Kamailio::start_expecting_failure(s);
    assert!(
        failed.log.contains("presence_dfks.so: undefined symbol: pres_add_event"),
        "presence_dfks fails to load for its own undefined symbol:\n{}",
        failed.log
    );
}

#[test]
fn dfks_stock() {
    dfks(Stock);
}

#[test]
fn dfks_ours() {
    dfks(Ours);
}

// ---------------------------------------------------------------------------------------------
// 7. A 412 to a consumer's modify.

/// The presence server has lost every publication (it answers 412 to any SIP-If-Match):
/// each of pua_dialoginfo's modifies is answered by pua with a new initial PUBLISH of the same
/// body (no SIP-If-Match), as stock does for consumers other than pua_rpc.
fn dialoginfo_after_412(pua: Pua) {
    let pres = SippServer::start("pua-publish-uas.xml", &["-set", "refuse_if_match", "1"]);
    let callee = SippServer::start("pua-consumer-callee.xml", &[]);
    let k = start(pua, &["WITH_PUA_DIALOGINFO"], pres.port, "", None);
    sipp_traced(&k, "pua-consumer-caller.xml", &["-key", "callee_port", &callee.port.to_string()]);
    // 7 PUBLISHes, 5 of them modifies, each followed by its new initial one.
    let all = pres.wait_requests("PUBLISH", 12, WAIT);
    pres.wait_answered(WAIT);
    assert_eq!(all.len(), 12, "{}", pres.trace_text());
    for (i, m) in all.iter().enumerate().filter(|(_, m)| m.header("SIP-If-Match").is_some()) {
        let party = m.ruri();
        let again = all[i + 1..]
            .iter()
            .find(|n| n.ruri() == party)
            .unwrap_or_else(|| panic!("no PUBLISH after the 412 to\n{}\n{}", m.text(), pres.trace_text()));
        assert!(again.header("SIP-If-Match").is_none(), "a new initial PUBLISH\n{}", again.text());
        assert_eq!(dialog_state(again), dialog_state(m), "the same body again\n{}", again.text());
        assert_eq!(again.body, m.body, "the same body again");
    }
    finish(k);
}

#[test]
fn dialoginfo_after_412_stock() {
    dialoginfo_after_412(Stock);
}

#[test]
fn dialoginfo_after_412_ours() {
    dialoginfo_after_412(Ours);
}

// ---------------------------------------------------------------------------------------------
// 8. Records without an id reach the table (db_mode 0).

/// pua_bla publishes without an id (its publ_info_t id is left NULL). The timer writes the
/// records to the `pua` table (update_period 10): the publication and the subscription dialog.
/// Stock bug: pua_bla's SUBSCRIBE has no id either; its dialog's NULL id is written as a NULL
/// `pres_id`, which the NOT NULL column refuses: the dialog never reaches the table (every
/// write fails on it again), only the publication.
fn bla_records_reach_the_table(pua: Pua) {
    let pres = SippServer::start("pua-consumer-publish-uas.xml", &[]);
    let phone = SippServer::start("pua-consumer-subscribe-uas.xml", &[]);
    let k = start(pua, &["WITH_PUA_BLA", "PUA_UPDATE_PERIOD=10"], pres.port, "", None);
    let contact = format!("sip:alice@127.0.0.1:{}", phone.port);
    register(&k, "alice", &call_id("bla-db"), 1, &contact, 600);
    nth_request(&pres, "PUBLISH", 1);
    pres.wait_answered(WAIT);
    let rows = || k.sql("SELECT event || '|' || pres_id || '|' || (watcher_uri <> '') FROM pua ORDER BY watcher_uri;");
    let want = "4||0\n4||1\n";
    let deadline = std::time::Instant::now() + harness::scaled(Duration::from_secs(24));
    while rows() != want && std::time::Instant::now() < deadline {
        sleep_ms(500);
    }
    if pua == Stock {
        assert_eq!(rows(), "4||0\n", "stock bug: the dialog is missing\n{}", k.log_text());
        assert!(k.log_text().contains("NOT NULL constraint failed: pua.pres_id"), "{}", k.log_text());
    } else {
        assert_eq!(rows(), want, "the publication and the dialog\n{}", k.log_text());
    }
}

#[test]
fn bla_records_reach_the_table_stock() {
    bla_records_reach_the_table(Stock);
}

#[test]
fn bla_records_reach_the_table_ours() {
    bla_records_reach_the_table(Ours);
}
