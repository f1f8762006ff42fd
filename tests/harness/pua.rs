//! Helpers for the pua end-to-end tests: starting test-configs/pua.cfg with the stock pua or
//! ours, the SIPp presence servers, and pua_rpc's commands over JSON-RPC.

use std::time::{Duration, Instant};

use super::db::TestDb;
use super::{json_field, json_str, Kamailio, Setup, SipMsg, SippServer};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pua {
    Stock,
    Ours,
}
#[allow(unused_imports)]
pub use Pua::{Ours, Stock};

pub const WATCHER: &str = "sip:bob@127.0.0.1";
pub const RPC_WAIT: Duration = Duration::from_secs(10);
/// Time for Kamailio to act on a reply SIPp has sent (before the next step depends on it).
pub const SETTLE: u64 = 500;

/// One test per pua (`<name>::stock`, `<name>::ours`) and back end (`::sqlite`, `::postgres`,
/// `::mariadb`) of each function `fn(Pua)` named: both puas run on the same back end.
#[macro_export]
macro_rules! both_puas_on_every_backend {
    ($($f:ident),+ $(,)?) => {$(
        mod $f {
            fn stock() {
                super::$f($crate::harness::pua::Stock)
            }
            fn ours() {
                super::$f($crate::harness::pua::Ours)
            }
            $crate::on_every_backend!(stock, ours);
        }
    )+};
}

/// Starts Kamailio with pua.cfg, the stock pua or ours, with these -A defines, on a fresh
/// database of the test's back end (see `harness::db`).
pub fn start(pua: Pua, defines: &[&str]) -> Kamailio {
    start_on(pua, defines, None)
}

/// [`start`], on `db` (another server's database: a restart, a second instance) when given.
pub fn start_on(pua: Pua, defines: &[&str], db: Option<TestDb>) -> Kamailio {
    let mut all: Vec<&str> = defines.to_vec();
    if pua == Stock {
        all.push("STOCK_PUA");
    }
    let mut s = Setup::new("pua.cfg", if pua == Stock { &[] } else { &["pua"] });
    s.defines = &all;
    s.schemas = &["presence"];
    s.db = db;
    Kamailio::start(s)
}

/// The SIPp presence server for PUBLISH, with its `-set` switches (see the scenario).
pub fn publish_uas(sets: &[(&str, &str)]) -> SippServer {
    presence_server("pua-publish-uas.xml", sets)
}

/// The SIPp presence server for SUBSCRIBE, with its `-set` switches (see the scenario).
pub fn subscribe_uas(sets: &[(&str, &str)]) -> SippServer {
    presence_server("pua-subscribe-uas.xml", sets)
}

pub fn presence_server(scenario: &str, sets: &[(&str, &str)]) -> SippServer {
    let args: Vec<&str> = sets.iter().flat_map(|(k, v)| ["-set", k, v]).collect();
    SippServer::start(scenario, &args)
}

/// A PIDF document for `entity` with one tuple "t1".
pub fn pidf(entity: &str, basic: &str, note: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="{entity}"><tuple id="t1"><status><basic>{basic}</basic></status><note>{note}</note></tuple></presence>"#
    )
}

/// pua_rpc's publish parameters for event presence: None is ".".
pub fn publish_params(uri: &str, expires: i64, id: Option<&str>, etag: Option<&str>, body: Option<&str>) -> Vec<String> {
    event_publish_params(uri, expires, "presence", None, id, etag, body)
}

/// pua_rpc's publish parameters for any event (content type None: the event's default).
pub fn event_publish_params(
    uri: &str,
    expires: i64,
    event: &str,
    content_type: Option<&str>,
    id: Option<&str>,
    etag: Option<&str>,
    body: Option<&str>,
) -> Vec<String> {
    let dot = |o: Option<&str>| json_str(o.unwrap_or("."));
    let mut p = vec![
        json_str(uri),
        json_str(&expires.to_string()),
        json_str(event),
        dot(content_type),
        dot(id),
        dot(etag),
        json_str("."),
        json_str("."),
    ];
    if let Some(b) = body {
        p.push(json_str(b));
    }
    p
}

/// The answer to pua.publish (which waits for the PUBLISH's final reply).
pub struct Published {
    pub raw: String,
}

impl Published {
    pub fn etag(&self) -> String {
        json_field(&self.raw, "SIP-ETag")
            .unwrap_or_else(|| panic!("no SIP-ETag in the pua.publish answer: {}", self.raw))
    }
    pub fn expires(&self) -> i64 {
        json_field(&self.raw, "Expires")
            .and_then(|e| e.parse().ok())
            .unwrap_or_else(|| panic!("no Expires in the pua.publish answer: {}", self.raw))
    }
    pub fn error(&self) -> Option<String> {
        self.raw.contains("\"error\"").then(|| json_field(&self.raw, "message").unwrap_or_default())
    }
}

/// `pua.publish` over JSON-RPC; panics if no HTTP answer comes.
pub fn publish(
    k: &Kamailio,
    uri: &str,
    expires: i64,
    id: Option<&str>,
    etag: Option<&str>,
    body: Option<&str>,
) -> Published {
    let raw = k
        .jsonrpc("pua.publish", &publish_params(uri, expires, id, etag, body), RPC_WAIT)
        .unwrap_or_else(|e| panic!("pua.publish {uri} got no answer: {e}"));
    Published { raw }
}

/// `pua.publish` of another event than presence, the content type the event's default.
pub fn publish_event(k: &Kamailio, uri: &str, expires: i64, event: &str, etag: Option<&str>, body: Option<&str>) -> Published {
    let raw = k
        .jsonrpc("pua.publish", &event_publish_params(uri, expires, event, None, None, etag, body), RPC_WAIT)
        .unwrap_or_else(|e| panic!("pua.publish {uri} ({event}) got no answer: {e}"));
    Published { raw }
}

/// `pua.send_publish` (does not wait for the PUBLISH's reply).
pub fn send_publish(k: &Kamailio, uri: &str, expires: i64, body: Option<&str>) -> String {
    let raw = k
        .jsonrpc("pua.send_publish", &publish_params(uri, expires, None, None, body), RPC_WAIT)
        .unwrap_or_else(|e| panic!("pua.send_publish {uri} got no answer: {e}"));
    assert!(!raw.contains("\"error\""), "pua.send_publish {uri}: {raw}");
    raw
}

/// `pua.subscribe presentity bob presence expires`.
pub fn subscribe(k: &Kamailio, uri: &str, expires: i64) {
    let raw = k
        .jsonrpc(
            "pua.subscribe",
            &[json_str(uri), json_str(WATCHER), json_str("presence"), expires.to_string()],
            RPC_WAIT,
        )
        .unwrap_or_else(|e| panic!("pua.subscribe {uri} got no answer: {e}"));
    assert!(!raw.contains("\"error\""), "pua.subscribe {uri}: {raw}");
}

pub fn cleanup(k: &Kamailio) {
    k.rpc_within(&["pua.cleanup"], RPC_WAIT).unwrap_or_else(|e| panic!("pua.cleanup: {e}"));
}

/// Waits for the `n`th PUBLISH (1-based) at `uas` and returns it.
pub fn nth_publish(uas: &SippServer, n: usize) -> SipMsg {
    nth_request(uas, "PUBLISH", n, Duration::from_secs(10))
}

pub fn nth_request(uas: &SippServer, method: &str, n: usize, wait: Duration) -> SipMsg {
    let r = uas.wait_requests(method, n, wait);
    assert!(r.len() >= n, "expected {n} {method}(s) at port {}, got {}:\n{}", uas.port, r.len(), uas.trace_text());
    r[n - 1].clone()
}

/// The SIP-ETag values SIPp sent, in order.
pub fn etags_sent(uas: &SippServer) -> Vec<String> {
    uas.messages().iter().filter(|m| !m.received).filter_map(|m| m.header("SIP-ETag").map(String::from)).collect()
}

pub fn header_num(m: &SipMsg, name: &str) -> i64 {
    m.header(name).and_then(|v| v.trim().parse().ok()).unwrap_or_else(|| panic!("no numeric {name} in\n{}", m.text()))
}

/// Asserts the parts of a PUBLISH that pua builds the same way every time.
pub fn assert_publish_to(m: &SipMsg, uri: &str) {
    assert_event_publish_to(m, uri, "presence");
}

/// Asserts the parts of a PUBLISH of `event` that pua builds the same way every time.
pub fn assert_event_publish_to(m: &SipMsg, uri: &str, event: &str) {
    assert_eq!(m.method(), "PUBLISH", "{}", m.text());
    assert_eq!(m.ruri(), uri, "R-URI\n{}", m.text());
    assert!(m.header("To").is_some_and(|v| v.contains(uri)), "To\n{}", m.text());
    assert!(m.header("From").is_some_and(|v| v.contains(uri)), "From\n{}", m.text());
    assert_eq!(m.header("Event"), Some(event), "{}", m.text());
}

/// A PUBLISH without a body: no Content-Type, Content-Length 0.
pub fn assert_no_body(m: &SipMsg) {
    assert!(m.header("Content-Type").is_none(), "Content-Type without a body\n{}", m.text());
    assert!(m.body.trim().is_empty(), "body\n{}", m.text());
    assert_eq!(header_num(m, "Content-Length"), 0, "{}", m.text());
}

pub fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// The return codes the config logged for pua_update_contact() on NOTIFYs of `call_id`.
pub fn update_contact_codes(k: &Kamailio, call_id: &str) -> Vec<i32> {
    let needle = "pua_update_contact returned ";
    k.log_text()
        .lines()
        .filter(|l| l.contains(needle) && l.ends_with(&format!("for call-id {call_id}")))
        .filter_map(|l| l.split(needle).nth(1)?.split_whitespace().next()?.parse().ok())
        .collect()
}

pub fn wait_update_contact(k: &Kamailio, call_id: &str) -> i32 {
    let deadline = Instant::now() + super::scaled(Duration::from_secs(5));
    loop {
        if let Some(rc) = update_contact_codes(k, call_id).first() {
            return *rc;
        }
        assert!(Instant::now() < deadline, "no pua_update_contact line for {call_id}:\n{}", k.log_text());
        sleep_ms(50);
    }
}

pub fn assert_alive(k: &mut Kamailio) {
    assert!(k.is_running(), "kamailio died:\n{}", k.log_text());
    assert_eq!(k.request("OPTIONS", "ping", &[], b"").code, 200);
    let log = k.log_text();
    assert!(!log.contains("signal 11") && !log.contains("core was generated"), "a process crashed:\n{log}");
}

