//! pua in the real Kamailio, differential: every scenario runs against the stock pua.so
//! (`*_stock`) and against ours (`*_ours`), with the same assertions, except where a stock bug
//! is named (then stock is asserted to show it and ours to be fixed).
//!
//! The scenarios that read or write the `pua` table (db_mode 0's restart, timer write and
//! cleanup, db_mode 2) run on every database back end, both puas on the same one
//! (`<scenario>::{stock,ours}::{sqlite,postgres,mariadb}`, see `both_puas_on_every_backend!`);
//! the others on SQLite.
//!
//! Set-up (test-configs/pua.cfg): pua and pua_rpc; the presence server is SIPp
//! (test-configs/sipp/pua-publish-uas.xml, pua-subscribe-uas.xml) running in the background on
//! its own port, addressed through the presentity URI (sip:alice@127.0.0.1:<sipp port>); what
//! it receives is read back from its message trace. pua.publish waits for the final reply of
//! the PUBLISH (an RPC delayed reply), which kamcmd's binrpc transport refuses ("600 - Reply
//! wait/async mode not supported by this rpc transport"), so the pua_rpc commands go as
//! JSON-RPC over HTTP (jsonrpcs); kamcmd runs pua.cleanup.
//!
//! pua_rpc's pua.publish parameters: presentity URI, expires, event, content type ("." = the
//! event's default), id ("." = none), etag ("." = none), outbound proxy, extra headers, and
//! the body (absent only with content type "."); on a 200 it answers
//! `{"SIP-ETag": <the 200's SIP-ETag>, "Expires": <the 200's Expires>}`; an etag that matches
//! no publication is refused with 500 "Wrong ETag". pua.subscribe: presentity URI, watcher URI
//! (also the Contact), event, expires (an integer).

mod harness;

use std::time::{Duration, Instant};

use harness::db::Backend;
use harness::pua::*;
use harness::{json_str, Kamailio, Setup, SipMsg, SippServer};

// ---------------------------------------------------------------------------------------------
// 1. Initial PUBLISH, modify with the etag, unpublish.

/// pua.publish sends an initial PUBLISH (R-URI = To = From = the presentity, Event: presence,
/// Expires: expires + 1, the body with Content-Type application/pidf+xml, no SIP-If-Match) and
/// answers with the 200's SIP-ETag and Expires. A modify naming that etag sends SIP-If-Match:
/// <etag> and the new body; an unpublish (expires 0, no body) sends Expires: 0 with SIP-If-Match
/// and no body, and afterwards the etag is unknown ("Wrong ETag", nothing sent). An etag that
/// was never issued is refused the same way without sending anything.
///
/// Stock, as observed: exactly that. The body goes out re-serialised by libxml2 (indented, the
/// tuple id and note kept; no <person> element added).
fn publish_modify_unpublish(pua: Pua) {
    let uas = publish_uas(&[]);
    let k = start(pua, &[]);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);

    let unknown = publish(&k, &uri, 3600, None, Some("no-such-etag"), Some(&pidf(&uri, "open", "x")));
    assert_eq!(unknown.error().as_deref(), Some("Wrong ETag"), "{}", unknown.raw);

    let first = publish(&k, &uri, 3600, None, None, Some(&pidf(&uri, "open", "first note")));
    let p = nth_publish(&uas, 1);
    assert_publish_to(&p, &uri);
    assert_eq!(header_num(&p, "Expires"), 3601, "expires + 1\n{}", p.text());
    assert!(p.header("SIP-If-Match").is_none(), "{}", p.text());
    assert_eq!(p.header("Content-Type"), Some("application/pidf+xml"), "{}", p.text());
    for part in ["<basic>open</basic>", "first note", r#"id="t1""#, "urn:ietf:params:xml:ns:pidf"] {
        assert!(p.body.contains(part), "{part} missing from the body\n{}", p.text());
    }
    assert_eq!(first.error(), None, "{}", first.raw);
    let etag1 = first.etag();
    assert_eq!(etags_sent(&uas), vec![etag1.clone()], "the RPC answers with the 200's SIP-ETag");
    assert_eq!(first.expires(), 3601, "the RPC answers with the 200's Expires (the UAS echoes)");

    let modified = publish(&k, &uri, 3600, None, Some(&etag1), Some(&pidf(&uri, "closed", "second note")));
    let p = nth_publish(&uas, 2);
    assert_publish_to(&p, &uri);
    assert_eq!(p.header("SIP-If-Match"), Some(etag1.as_str()), "{}", p.text());
    assert_eq!(header_num(&p, "Expires"), 3601);
    assert_eq!(p.header("Content-Type"), Some("application/pidf+xml"), "{}", p.text());
    assert!(p.body.contains("<basic>closed</basic>") && p.body.contains("second note"), "{}", p.text());
    let etag2 = modified.etag();
    assert_ne!(etag2, etag1);

    let gone = publish(&k, &uri, 0, None, Some(&etag2), None);
    let p = nth_publish(&uas, 3);
    assert_publish_to(&p, &uri);
    assert_eq!(header_num(&p, "Expires"), 0, "{}", p.text());
    assert_eq!(p.header("SIP-If-Match"), Some(etag2.as_str()), "{}", p.text());
    assert_no_body(&p);
    assert_eq!(gone.expires(), 0, "{}", gone.raw);

    let again = publish(&k, &uri, 0, None, Some(&etag2), None);
    assert_eq!(again.error().as_deref(), Some("Wrong ETag"), "the publication is gone: {}", again.raw);
    sleep_ms(SETTLE);
    assert_eq!(uas.requests("PUBLISH").len(), 3, "nothing sent for unknown etags\n{}", uas.trace_text());
}

#[test]
fn publish_modify_unpublish_stock() {
    publish_modify_unpublish(Stock);
}

#[test]
fn publish_modify_unpublish_ours() {
    publish_modify_unpublish(Ours);
}

// ---------------------------------------------------------------------------------------------
// 1b. as-feature-event (Kamailio 6.0).

const FEATURE_EVENT: &str = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<DoNotDisturbEvent xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\">\n<device>1001</device>\n<doNotDisturbOn>true</doNotDisturbOn>\n</DoNotDisturbEvent>\n";

/// On 6.0 pua knows the event as-feature-event (what presence_dfks publishes): pua.publish of
/// it sends Event: as-feature-event with Content-Type application/x-as-feature-event+xml and
/// the body exactly as given (pua passes it through), then a modify with SIP-If-Match and an
/// unpublish. On 5.6 pua_rpc does not know the event and refuses it, sending nothing.
///
/// Stock, as observed: exactly that, on each version.
fn as_feature_event(pua: Pua) {
    let uas = publish_uas(&[]);
    let k = start(pua, &[]);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);
    let first = publish_event(&k, &uri, 3600, "as-feature-event", None, Some(FEATURE_EVENT));
    if !harness::is_6_0() {
        assert_eq!(first.error().as_deref(), Some("Unknown event"), "{}", first.raw);
        std::thread::sleep(Duration::from_millis(300));
        assert!(uas.requests("PUBLISH").is_empty(), "{}", uas.trace_text());
        return;
    }
    assert_eq!(first.error(), None, "{}", first.raw);
    let p = nth_publish(&uas, 1);
    assert_event_publish_to(&p, &uri, "as-feature-event");
    assert_eq!(p.header("Content-Type"), Some("application/x-as-feature-event+xml"), "{}", p.text());
    assert!(p.header("SIP-If-Match").is_none(), "{}", p.text());
    // The trace drops the body's last line end; Content-Length counts it.
    assert_eq!(p.body.trim_end(), FEATURE_EVENT.trim_end(), "the body goes out as given\n{}", p.text());
    assert_eq!(header_num(&p, "Content-Length"), FEATURE_EVENT.len() as i64, "{}", p.text());

    let off = FEATURE_EVENT.replace(">true<", ">false<");
    let modified = publish_event(&k, &uri, 3600, "as-feature-event", Some(&first.etag()), Some(&off));
    assert_eq!(modified.error(), None, "{}", modified.raw);
    let p = nth_publish(&uas, 2);
    assert_eq!(p.header("SIP-If-Match"), Some(first.etag().as_str()), "{}", p.text());
    assert_eq!(p.body.trim_end(), off.trim_end(), "{}", p.text());

    let gone = publish_event(&k, &uri, 0, "as-feature-event", Some(&modified.etag()), None);
    assert_eq!(gone.error(), None, "{}", gone.raw);
    let p = nth_publish(&uas, 3);
    assert_event_publish_to(&p, &uri, "as-feature-event");
    assert_eq!(header_num(&p, "Expires"), 0, "{}", p.text());
    assert_no_body(&p);
}

#[test]
fn as_feature_event_stock() {
    as_feature_event(Stock);
}

#[test]
fn as_feature_event_ours() {
    as_feature_event(Ours);
}

// ---------------------------------------------------------------------------------------------
// 2. 412 to a modify and to a refresh.

/// A 412 to a modify or to a refresh drops the publication. pua re-sends an initial PUBLISH
/// after a 412 only when the failed request carried a body and its source is not pua_rpc
/// (send_publish.c): pua_rpc publications are never re-sent, and refreshes carry no body, so
/// with the modules of this config the re-send cannot happen; what is observable is that the
/// publication is gone: nothing is re-sent, later refresh passes send nothing for it, the next
/// pua.publish is an initial one and the old etag is refused ("Wrong ETag").
///
/// The presence server grants Expires 1 and answers 412 to anything with SIP-If-Match;
/// update_period 0 (no timers), so only pua.cleanup runs the refresh pass.
///
/// Stock, as observed: as above; pua.publish whose PUBLISH got the 412 answers with an empty
/// result (`"result": {}`: no SIP-ETag, no error).
fn conditional_request_failed(pua: Pua) {
    let uas = publish_uas(&[("grant", "1"), ("refuse_if_match", "1")]);
    let k = start(pua, &["PUA_UPDATE_PERIOD=0"]);
    let alice = format!("sip:alice@127.0.0.1:{}", uas.port);
    let bob = format!("sip:bob@127.0.0.1:{}", uas.port);
    let to = |uri: &str| -> Vec<SipMsg> { uas.requests("PUBLISH").into_iter().filter(|m| m.ruri() == uri).collect() };

    // A modify refused with 412.
    let a1 = publish(&k, &alice, 3600, None, None, Some(&pidf(&alice, "open", "a"))).etag();
    let refused = publish(&k, &alice, 3600, None, Some(&a1), Some(&pidf(&alice, "closed", "b")));
    let p = nth_publish(&uas, 2);
    assert_eq!(p.header("SIP-If-Match"), Some(a1.as_str()), "{}", p.text());
    // pua_rpc adds nothing to its answer for a non-200: an empty result.
    assert!(refused.raw.contains("\"result\"") && refused.error().is_none(), "{}", refused.raw);
    assert!(!refused.raw.contains("SIP-ETag"), "no etag after a 412: {}", refused.raw);
    sleep_ms(1000);
    assert_eq!(to(&alice).len(), 2, "no re-PUBLISH for a pua_rpc publication\n{}", uas.trace_text());

    // A refresh refused with 412.
    let b1 = publish(&k, &bob, 3600, None, None, Some(&pidf(&bob, "open", "c"))).etag();
    sleep_ms(2100); // granted 1 s: due for a refresh once its expiry (whole seconds) is past
    cleanup(&k);
    let p = nth_publish(&uas, 4);
    assert_eq!(p.ruri(), bob, "only bob's publication is left to refresh\n{}", uas.trace_text());
    assert_eq!(p.header("SIP-If-Match"), Some(b1.as_str()), "{}", p.text());
    assert_no_body(&p);
    uas.wait_answered(Duration::from_secs(2));
    sleep_ms(SETTLE);
    cleanup(&k);
    sleep_ms(1000);
    assert_eq!(uas.requests("PUBLISH").len(), 4, "nothing left to refresh, nothing re-sent\n{}", uas.trace_text());

    // Both publications are gone.
    let again = publish(&k, &alice, 3600, None, None, Some(&pidf(&alice, "open", "d")));
    let p = nth_publish(&uas, 5);
    assert_eq!(p.ruri(), alice);
    assert!(p.header("SIP-If-Match").is_none(), "a new initial PUBLISH\n{}", p.text());
    assert!(p.body.contains("<basic>open</basic>"), "{}", p.text());
    assert!(again.error().is_none(), "{}", again.raw);
    for (uri, etag) in [(&alice, &a1), (&bob, &b1)] {
        let stale = publish(&k, uri, 3600, None, Some(etag), Some(&pidf(uri, "open", "e")));
        assert_eq!(stale.error().as_deref(), Some("Wrong ETag"), "{uri}: {}", stale.raw);
    }
    assert_eq!(uas.requests("PUBLISH").len(), 5, "{}", uas.trace_text());
}

#[test]
fn conditional_request_failed_stock() {
    conditional_request_failed(Stock);
}

#[test]
fn conditional_request_failed_ours() {
    conditional_request_failed(Ours);
}

// ---------------------------------------------------------------------------------------------
// 3. Timer refresh.

/// update_period 10: the refresh pass runs every 5 s and refreshes a publication whose expiry is
/// less than 10 s away while the wanted lifetime is longer. The server grants 12 s of the 3600
/// asked for, so within a few seconds pua sends PUBLISH with SIP-If-Match: <etag of the 200>,
/// Expires: the rest of the wanted lifetime + 1 (3600 - elapsed + 1), Event: presence, no body;
/// the next refresh uses the etag of the refresh's 200. update_period 1..5 stops start-up.
///
/// Stock, as observed: as above (refreshes about every 5 s; the log names "update_period must be
/// 0 or > 5" for 3).
fn timer_refresh(pua: Pua) {
    let f = Kamailio::start_expecting_failure({
        let mut s = Setup::new("pua.cfg", if pua == Stock { &[] } else { &["pua"] });
        s.defines = if pua == Stock { &["STOCK_PUA", "PUA_UPDATE_PERIOD=3"] } else { &["PUA_UPDATE_PERIOD=3"] };
        s.schemas = &["presence"];
        s
    });
    assert_ne!(f.code, Some(0));
    assert!(f.log.contains("update_period"), "the log names the parameter:\n{}", f.log);

    let uas = publish_uas(&[("grant", "12")]);
    let k = start(pua, &["PUA_UPDATE_PERIOD=10"]);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);
    let t0 = Instant::now();
    let first = publish(&k, &uri, 3600, None, None, Some(&pidf(&uri, "open", "timer")));
    assert_eq!(first.expires(), 12);
    let etag1 = first.etag();

    let r1 = nth_request(&uas, "PUBLISH", 2, Duration::from_secs(14));
    let elapsed = t0.elapsed().as_secs() as i64;
    assert_publish_to(&r1, &uri);
    assert_eq!(r1.header("SIP-If-Match"), Some(etag1.as_str()), "{}", r1.text());
    assert_no_body(&r1);
    let exp = header_num(&r1, "Expires");
    assert!((3600 - elapsed - 2..=3601 - elapsed + 1).contains(&exp), "Expires {exp} after {elapsed} s\n{}", r1.text());

    let r2 = nth_request(&uas, "PUBLISH", 3, Duration::from_secs(12));
    let etag2 = etags_sent(&uas)[1].clone();
    assert_eq!(r2.header("SIP-If-Match"), Some(etag2.as_str()), "the refresh uses the latest etag\n{}", r2.text());
    assert_no_body(&r2);
}

#[test]
fn timer_refresh_stock() {
    timer_refresh(Stock);
}

#[test]
fn timer_refresh_ours() {
    timer_refresh(Ours);
}

// ---------------------------------------------------------------------------------------------
// 4. SUBSCRIBE and its refresh.

/// pua.subscribe sends SUBSCRIBE sip:alice@<uas> (To: the presentity without tag, From: the
/// watcher with a tag, Event: presence, Contact: <watcher>, Expires: expires + 10). With
/// check_remote_contact=0 a second pua.subscribe refreshes in the dialog the 200 made: same
/// Call-ID and From tag, higher CSeq, To tag of the 200, R-URI = the 200's Contact; expires 0
/// sends Expires: 0 in the dialog. With the default check_remote_contact=1 pua_rpc (which gives
/// no remote target) never finds the dialog, so every pua.subscribe starts a new one.
///
/// Stock, as observed: as above (CSeq 10, then 11, 12).
fn subscribe_and_refresh(pua: Pua) {
    let uas = subscribe_uas(&[]);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);
    let contact = format!("sip:presence@127.0.0.1:{}", uas.port);
    {
        let k = start(pua, &["PUA_CHECK_REMOTE_CONTACT=0"]);
        subscribe(&k, &uri, 600);
        let s1 = nth_request(&uas, "SUBSCRIBE", 1, Duration::from_secs(5));
        assert_eq!(s1.ruri(), uri, "{}", s1.text());
        assert!(s1.header("To").is_some_and(|v| v.contains(&uri)) && s1.tag("To").is_none(), "{}", s1.text());
        assert!(s1.header("From").is_some_and(|v| v.contains(WATCHER)) && s1.tag("From").is_some(), "{}", s1.text());
        assert_eq!(s1.header("Event"), Some("presence"));
        assert_eq!(s1.header("Contact"), Some(format!("<{WATCHER}>").as_str()), "{}", s1.text());
        assert_eq!(header_num(&s1, "Expires"), 610, "expires + 10\n{}", s1.text());
        uas.wait_answered(Duration::from_secs(2));
        sleep_ms(SETTLE);
        let ok = uas.messages().into_iter().find(|m| !m.received && m.first_line.starts_with("SIP/2.0 200")).unwrap();
        let uas_tag = ok.tag("To").unwrap();

        subscribe(&k, &uri, 600);
        let s2 = nth_request(&uas, "SUBSCRIBE", 2, Duration::from_secs(5));
        assert_eq!(s2.ruri(), contact, "the refresh goes to the 200's Contact\n{}", s2.text());
        assert_eq!(s2.header("Call-ID"), s1.header("Call-ID"), "{}", s2.text());
        assert_eq!(s2.tag("From"), s1.tag("From"));
        assert_eq!(s2.tag("To").as_deref(), Some(uas_tag.as_str()), "{}", s2.text());
        assert!(s2.cseq() > s1.cseq(), "CSeq {} then {}", s1.cseq(), s2.cseq());
        assert_eq!(header_num(&s2, "Expires"), 610);
        assert_eq!(s2.header("Event"), Some("presence"));
        uas.wait_answered(Duration::from_secs(2));
        sleep_ms(SETTLE);

        subscribe(&k, &uri, 0);
        let s3 = nth_request(&uas, "SUBSCRIBE", 3, Duration::from_secs(5));
        assert_eq!(s3.header("Call-ID"), s1.header("Call-ID"), "{}", s3.text());
        assert!(s3.cseq() > s2.cseq());
        assert_eq!(header_num(&s3, "Expires"), 0, "{}", s3.text());
        uas.wait_answered(Duration::from_secs(2));
    }

    let k = start(pua, &[]);
    subscribe(&k, &uri, 600);
    let a = nth_request(&uas, "SUBSCRIBE", 4, Duration::from_secs(5));
    uas.wait_answered(Duration::from_secs(2));
    sleep_ms(SETTLE);
    subscribe(&k, &uri, 600);
    let b = nth_request(&uas, "SUBSCRIBE", 5, Duration::from_secs(5));
    assert_ne!(a.header("Call-ID"), b.header("Call-ID"), "check_remote_contact=1: a new dialog\n{}", b.text());
    assert!(b.tag("To").is_none() && b.ruri() == uri, "{}", b.text());
}

#[test]
fn subscribe_and_refresh_stock() {
    subscribe_and_refresh(Stock);
}

#[test]
fn subscribe_and_refresh_ours() {
    subscribe_and_refresh(Ours);
}

// ---------------------------------------------------------------------------------------------
// 5. pua_update_contact() moves the dialog's remote target.

/// After the SUBSCRIBE dialog is established the presence server sends an in-dialog NOTIFY whose
/// Contact is another presence server; the config runs pua_update_contact() on it and the next
/// refresh (check_remote_contact=0) must go to the new Contact.
///
/// Stock bug (fact sheet §4.2): it looks the dialog up with the NOTIFY's tags unswapped, logs
/// "no record for the dialog found in hash table", returns -1, and the refresh still goes to the
/// old target. Stock, as observed: exactly that. Ours returns 1 and the refresh reaches the new
/// Contact, in the same dialog.
fn update_contact(pua: Pua) {
    let moved = subscribe_uas(&[]);
    let port = moved.port.to_string();
    let uas = subscribe_uas(&[("notify_contact_port", &port)]);
    let k = start(pua, &["PUA_CHECK_REMOTE_CONTACT=0"]);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);

    subscribe(&k, &uri, 600);
    let s1 = nth_request(&uas, "SUBSCRIBE", 1, Duration::from_secs(5));
    let call_id = s1.header("Call-ID").unwrap().to_string();
    let rc = wait_update_contact(&k, &call_id);
    let notify =
        uas.messages().into_iter().find(|m| !m.received && m.method() == "NOTIFY").expect("the NOTIFY SIPp sent");
    assert_eq!(notify.header("Contact"), Some(format!("<sip:presence@127.0.0.1:{port}>").as_str()));
    sleep_ms(200);

    subscribe(&k, &uri, 600);
    if pua == Stock {
        assert_eq!(rc, -1, "stock bug: the dialog is not found");
        assert!(k.log_text().contains("no record for the dialog found in hash table"));
        let s2 = nth_request(&uas, "SUBSCRIBE", 2, Duration::from_secs(5));
        assert_eq!(s2.ruri(), format!("sip:presence@127.0.0.1:{}", uas.port), "stock: the old target\n{}", s2.text());
        assert_eq!(s2.header("Call-ID"), Some(call_id.as_str()));
        assert!(moved.requests("SUBSCRIBE").is_empty());
    } else {
        assert_eq!(rc, 1, "pua_update_contact() finds the dialog:\n{}", k.log_text());
        let s2 = nth_request(&moved, "SUBSCRIBE", 1, Duration::from_secs(5));
        assert!(s2.ruri().starts_with(&format!("sip:presence@127.0.0.1:{port}")), "the new target\n{}", s2.text());
        assert_eq!(s2.header("Call-ID"), Some(call_id.as_str()), "{}", s2.text());
        assert_eq!(
            s2.tag("To"),
            uas.messages()
                .into_iter()
                .find(|m| !m.received && m.first_line.starts_with("SIP/2.0 200"))
                .unwrap()
                .tag("To")
        );
        assert!(s2.cseq() > s1.cseq());
        assert_eq!(uas.requests("SUBSCRIBE").len(), 1, "nothing more to the old target");
    }
}

#[test]
fn update_contact_stock() {
    update_contact(Stock);
}

#[test]
fn update_contact_ours() {
    update_contact(Ours);
}

// ---------------------------------------------------------------------------------------------
// 6. db_mode 0: stop and restart.

/// db_mode 0 keeps publications in memory and writes them to the pua table on the update_period
/// timer and at shutdown; a restart (a new server on the same database) reads them back. With
/// update_period 100 the timer never ran before the graceful stop (SIGTERM), so only the
/// shutdown write can save the publication.
///
/// Stock bug: the shutdown write runs in the main process, whose DB connection mod_init closed,
/// so nothing is written; the pua table is empty and after the restart the same pua.publish is
/// an initial PUBLISH again (no SIP-If-Match). Stock, as observed: exactly that. Ours: the row
/// (presentity, id, etag) is in the table, and after the restart the PUBLISH carries
/// SIP-If-Match with the old etag.
fn restart_keeps_publications(pua: Pua) {
    let uas = publish_uas(&[]);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);
    let mut k1 = start(pua, &[]);
    let etag1 = publish(&k1, &uri, 3600, Some("restart"), None, Some(&pidf(&uri, "open", "before"))).etag();
    k1.stop();
    let rows = k1.sql("SELECT pres_uri, pres_id, etag, event FROM pua;");
    if pua == Stock {
        assert_eq!(rows.trim(), "", "stock bug: nothing written at shutdown");
    } else {
        assert_eq!(rows.trim(), format!("{uri}|restart|{etag1}|1"), "the publication is saved at shutdown");
    }

    let k2 = start_on(pua, &[], Some(k1.database()));
    let again = publish(&k2, &uri, 3600, Some("restart"), None, Some(&pidf(&uri, "closed", "after")));
    let p = nth_publish(&uas, 2);
    assert_publish_to(&p, &uri);
    if pua == Stock {
        assert!(p.header("SIP-If-Match").is_none(), "stock bug: the publication was lost\n{}", p.text());
    } else {
        assert_eq!(p.header("SIP-If-Match"), Some(etag1.as_str()), "restored from the table\n{}", p.text());
    }
    assert!(p.body.contains("<basic>closed</basic>"), "{}", p.text());
    assert!(again.error().is_none(), "{}", again.raw);
}

both_puas_on_every_backend!(restart_keeps_publications);

// ---------------------------------------------------------------------------------------------
// 6b. db_mode 0: a graceful stop under load.

/// What the server grants each publication (s): long enough for the stop and the restart, short
/// enough for the refresh timer to come during the test.
const LOAD_GRANT: u64 = 40;
/// Threads sending pua.publish, each for presentities of its own, one after another.
const LOAD_THREADS: usize = 8;
/// The stop comes once this many publications were acknowledged, or after `LOAD_MAX_TIME`.
const LOAD_ACKED: usize = 300;
const LOAD_MAX_TIME: Duration = Duration::from_secs(10);
/// Clients reading the `records` gauge meanwhile.
const GAUGE_READERS: usize = 3;

/// One pua.publish of the load: its presentity, when it was sent and answered, and the
/// SIP-ETag of the answer (None: an error, an empty result or no answer).
struct LoadCall {
    uri: String,
    sent: Instant,
    answered: Instant,
    etag: Option<String>,
}

/// The entity tags the presence server gave in its 200s, each with the To header it answered.
fn etags_given(uas: &SippServer) -> std::collections::HashMap<String, String> {
    uas.messages()
        .into_iter()
        .filter(|m| !m.received && m.first_line.starts_with("SIP/2.0 200"))
        .filter_map(|m| Some((m.header("SIP-ETag")?.to_string(), m.header("To")?.to_string())))
        .collect()
}

/// Several threads send pua.publish for new presentities (initial PUBLISHes, wanted for 3600 s,
/// the server grants `LOAD_GRANT`) without pause, while monitoring reads the `records` gauge
/// (kamcmd, so the ctl process counts the records of 2^18 buckets, one bucket lock after the
/// other); once `LOAD_ACKED` were acknowledged (or after `LOAD_MAX_TIME`) the server's process
/// group gets SIGTERM while all that goes on. Calls in flight then fail or get no answer: that
/// is expected. Kamailio's workers end at once on SIGTERM, wherever they are: one that ended
/// holding a bucket lock used to leave it held, so the shutdown write waited for it until the
/// core aborted the stop after 60 s, and nothing was saved. A publication counts as acknowledged when pua.publish answered
/// with its SIP-ETag: pua_rpc answers from pua's reply callback, which runs after pua stored the
/// 200, so every acknowledged publication was in pua's memory before the stop. (A 200 the server
/// sent that pua never read, because the worker that would have read it was gone, is not
/// acknowledged: no one can refresh with its etag. Those are counted in the failure message.)
///
/// With update_period 100 the timer never ran before the stop: only the shutdown write can save
/// the publications. The server must stop gracefully (exit status 0, within a generous minute
/// and a half: longer than the core's own 60 s shutdown timeout, so a hung stop is seen as such),
/// its log free of crash markers; the `pua` table then holds every acknowledged (presentity,
/// etag) and no key twice. A restart on the same database with update_period 10 runs the refresh
/// timer every 5 s: each acknowledged publication must be refreshed by pua's timer with
/// SIP-If-Match: <its etag> (which proves the record came back complete enough to refresh:
/// presentity, event, etag, wanted lifetime), and nothing else is sent: no initial PUBLISH,
/// no etag that was not that presentity's. A second graceful stop leaves one row per key.
///
/// The test cannot pass vacuously: at least one publication was acknowledged, at least one
/// pua.publish was in flight when SIGTERM was sent (sent before, not answered before), and
/// (ours) the gauge was read.
///
/// Stock bug, as observed (the one of `restart_keeps_publications`, deterministic here too: the
/// timer has not run, and the shutdown write has no DB connection): the stop is graceful, the
/// table is empty, and after the restart nothing is refreshed (waited for as long as ours needs
/// to refresh everything).
fn stop_under_load(pua: Pua) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    let uas = publish_uas(&[("grant", &LOAD_GRANT.to_string())]);
    // Stock's table of 2^18 buckets does not fit in the default 64 MB of shared memory, and
    // stock has no records gauge to read: it keeps the default size.
    let mut k1 = start(pua, if pua == Ours { &["WITH_STATS", "PUA_HASH_SIZE=18"] } else { &["WITH_STATS"] });
    let db = k1.database();
    let (http_port, ctl) = (k1.http_port, k1.ctl.clone());
    let acked_count = AtomicUsize::new(0);
    let stop_load = AtomicBool::new(false);
    let calls: Mutex<Vec<LoadCall>> = Mutex::new(Vec::new());
    let gauge_reads = AtomicUsize::new(0);

    let (sigterm_at, stopped_at, status) = std::thread::scope(|s| {
        for t in 0..LOAD_THREADS {
            let (acked_count, stop_load, calls) = (&acked_count, &stop_load, &calls);
            let port = uas.port;
            s.spawn(move || {
                let mut n = 0;
                while !stop_load.load(Ordering::SeqCst) {
                    n += 1;
                    let uri = format!("sip:load{t}x{n}@127.0.0.1:{port}");
                    let params = publish_params(&uri, 3600, None, None, Some(&pidf(&uri, "open", "load")));
                    let sent = Instant::now();
                    let answer = harness::jsonrpc_at(http_port, "pua.publish", &params, RPC_WAIT);
                    let answered = Instant::now();
                    let etag = answer.ok().and_then(|raw| harness::json_field(&raw, "SIP-ETag"));
                    if etag.is_some() {
                        acked_count.fetch_add(1, Ordering::SeqCst);
                    }
                    calls.lock().unwrap().push(LoadCall { uri, sent, answered, etag });
                }
            });
        }
        // Monitoring reads the `records` gauge all along, from several clients so that the ctl
        // process is always counting the records bucket by bucket (2^18 of them): the stop
        // often finds it inside a bucket.
        for _ in 0..GAUGE_READERS {
            let (ctl, stop_load, gauge_reads) = (&ctl, &stop_load, &gauge_reads);
            s.spawn(move || {
                while !stop_load.load(Ordering::SeqCst) {
                    let out = std::process::Command::new("kamcmd")
                        .arg("-s")
                        .arg(format!("unix:{}", ctl.display()))
                        .args(["stats.get_statistics", "pua:"])
                        .output()
                        .expect("run kamcmd");
                    if String::from_utf8_lossy(&out.stdout).contains("pua:records") {
                        gauge_reads.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        let load_start = Instant::now();
        while acked_count.load(Ordering::SeqCst) < LOAD_ACKED && load_start.elapsed() < LOAD_MAX_TIME {
            sleep_ms(10);
        }
        let sigterm_at = Instant::now();
        let status = k1.stop_within(Duration::from_secs(90));
        let stopped_at = Instant::now();
        stop_load.store(true, Ordering::SeqCst);
        (sigterm_at, stopped_at, status)
    });
    let calls = calls.into_inner().unwrap();
    let log1 = k1.log_text();

    let acked: Vec<(String, String)> = calls.iter().filter_map(|c| Some((c.uri.clone(), c.etag.clone()?))).collect();
    let in_flight = calls.iter().filter(|c| c.sent < sigterm_at && c.answered > sigterm_at).count();
    let after = calls.iter().filter(|c| c.sent > sigterm_at).count();
    let gauge_reads = gauge_reads.into_inner();
    let summary = format!(
        "{} pua.publish calls, {} acknowledged, {in_flight} in flight at SIGTERM, {after} sent after it, \
         {gauge_reads} reads of the records gauge, the stop took {:?}",
        calls.len(),
        acked.len(),
        stopped_at - sigterm_at
    );
    eprintln!("stop_under_load ({pua:?}, {:?}): {summary}", db.backend());
    assert!(!acked.is_empty(), "nothing was acknowledged before the stop: {summary}\n{log1}");
    assert!(in_flight > 0, "the stop did not come during the load: {summary}");
    if pua == Ours {
        assert!(gauge_reads > 0, "the records gauge was never read: {summary}");
    }
    let status = status.unwrap_or_else(|| panic!("the stop was not graceful: killed after 90 s\n{log1}"));
    assert!(status.success(), "the stop ended with {status}\n{log1}");
    for marker in ["signal 11", "core was generated", "exited by a signal", "shutdown timeout", "BUG"] {
        assert!(!log1.contains(marker), "{marker:?} in the log of the stopped server:\n{log1}");
    }

    // Every acknowledged etag is one the presence server gave that presentity in a 200.
    let given = etags_given(&uas);
    for (uri, etag) in &acked {
        assert!(given.get(etag).is_some_and(|to| to.contains(uri.as_str())), "{uri}: {etag} is not what the server gave it");
    }
    let unacknowledged_200s = given.len() - acked.len();

    let duplicates = |when: &str| {
        let dup = db.sql("SELECT pres_uri, pres_id, event, flag, count(*) FROM pua GROUP BY pres_uri, pres_id, event, flag HAVING count(*) > 1;");
        assert_eq!(dup.trim(), "", "keys with more than one row {when}");
    };
    let rows: std::collections::HashSet<(String, String)> = db
        .sql("SELECT pres_uri, etag FROM pua;")
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(u, e)| (u.to_string(), e.to_string()))
        .collect();
    duplicates("after the stop");
    if pua == Stock {
        assert!(rows.is_empty(), "stock bug: nothing written at shutdown; {} rows", rows.len());
    } else {
        let missing: Vec<_> = acked.iter().filter(|a| !rows.contains(*a)).collect();
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged publications are not in the table after the stop ({summary}; \
             {unacknowledged_200s} 200s never acknowledged): {missing:?}\n{log1}",
            missing.len(),
            acked.len()
        );
    }

    // The restart: the refresh timer runs every 5 s and refreshes what ends within 10 s.
    let before = uas.requests("PUBLISH").len();
    let mut k2 = start_on(pua, &["PUA_UPDATE_PERIOD=10"], Some(db.clone()));
    let since_restart = || uas.requests("PUBLISH").split_off(before);
    let refreshed = |sent: &[SipMsg]| -> std::collections::HashSet<(String, String)> {
        sent.iter().filter_map(|m| Some((m.ruri().to_string(), m.header("SIP-If-Match")?.to_string()))).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(LOAD_GRANT + 60);
    let wanted: std::collections::HashSet<(String, String)> = acked.iter().cloned().collect();
    if pua == Stock {
        // As long as ours needs: every grant has run out and the timer has run several times.
        sleep_ms((LOAD_GRANT + 10) * 1000);
        let sent = since_restart();
        assert!(sent.is_empty(), "stock bug: nothing was loaded, so nothing is refreshed; sent:\n{}", sent[0].text());
        assert_alive(&mut k2);
        return;
    }
    let mut sent = since_restart();
    while !wanted.is_subset(&refreshed(&sent)) && Instant::now() < deadline {
        sleep_ms(500);
        sent = since_restart();
    }
    let got = refreshed(&sent);
    let missing: Vec<_> = wanted.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged publications were not refreshed with their etag after the restart: {missing:?}\n{}",
        missing.len(),
        wanted.len(),
        k2.log_text()
    );
    for m in &sent {
        assert!(m.header("SIP-If-Match").is_some(), "only refreshes after the restart\n{}", m.text());
        assert_no_body(m);
    }
    // A refresh carries the etag the server gave that presentity: before the stop, or in the
    // 200 to an earlier refresh.
    let given = etags_given(&uas);
    for m in &sent {
        let etag = m.header("SIP-If-Match").unwrap();
        assert!(given.get(etag).is_some_and(|to| to.contains(m.ruri())), "a refresh with an etag the server never gave it\n{}", m.text());
    }
    assert_alive(&mut k2);
    uas.wait_answered(Duration::from_secs(5));
    sleep_ms(SETTLE);

    // A second graceful stop: one row per key, every acknowledged presentity among them.
    let status = k2.stop_within(Duration::from_secs(90)).expect("the second stop is graceful");
    assert!(status.success(), "{status}");
    duplicates("after the second stop");
    let uris: std::collections::HashSet<String> = db.sql("SELECT pres_uri FROM pua;").lines().map(String::from).collect();
    for (uri, _) in &acked {
        assert!(uris.contains(uri), "{uri} is not in the table after the second stop");
    }
}

both_puas_on_every_backend!(stop_under_load);

// ---------------------------------------------------------------------------------------------
// 7. db_mode 2 (database only).

/// db_mode 2 keeps everything in the pua table. A publication with an id is found again: the
/// second pua.publish is a modify with SIP-If-Match.
///
/// Stock bugs on SQLite, as observed: stock passes some empty strings as a zero-length `str`
/// without a pointer, which db_sqlite binds as NULL (db_postgres and db_mysql send ''), so
/// (1) with an EMPTY id (pua_rpc's ".": no pointer) the stored row (pres_id '') is never found
/// again, the lookup comparing pres_id with NULL: every pua.publish is an initial PUBLISH and
/// adds a row; (2) pua.subscribe crashes the server: inserting the temporary dialog (to_tag
/// NULL) fails ("NOT NULL constraint failed: pua.to_tag") and the process handling the 200
/// dies of SIGSEGV, which stops Kamailio. Stock on PostgreSQL and MariaDB, as observed:
/// neither bug, it behaves as ours. Ours, on every back
/// end: the empty-id publication is modified (SIP-If-Match, one row) and the SUBSCRIBE dialog
/// is stored (watcher, Call-ID, the 200's To tag) with the server alive.
fn db_only_mode(pua: Pua) {
    let uas = publish_uas(&[]);
    let subs = subscribe_uas(&[]);
    // Stock crashes on SQLite (below): no core file for that.
    let mut k = start(pua, &["PUA_DB_MODE=2", "NO_CORE_DUMP"]);
    let stock_sqlite_bugs = pua == Stock && k.database().backend() == Backend::Sqlite;
    let alice = format!("sip:alice@127.0.0.1:{}", uas.port);
    let carol = format!("sip:carol@127.0.0.1:{}", uas.port);

    let a1 = publish(&k, &alice, 3600, Some("with-id"), None, Some(&pidf(&alice, "open", "1"))).etag();
    publish(&k, &alice, 3600, Some("with-id"), None, Some(&pidf(&alice, "closed", "2")));
    let p = nth_publish(&uas, 2);
    assert_eq!(p.header("SIP-If-Match"), Some(a1.as_str()), "found by its id\n{}", p.text());

    let c1 = publish(&k, &carol, 3600, None, None, Some(&pidf(&carol, "open", "3"))).etag();
    publish(&k, &carol, 3600, None, None, Some(&pidf(&carol, "closed", "4")));
    let p = nth_publish(&uas, 4);
    assert_eq!(p.ruri(), carol);
    let rows = k.sql(&format!("SELECT count(*) FROM pua WHERE pres_uri = '{carol}';"));
    if stock_sqlite_bugs {
        assert!(p.header("SIP-If-Match").is_none(), "stock bug: the empty-id row is not found\n{}", p.text());
        assert_eq!(rows.trim(), "2", "stock bug: a second row");
    } else {
        assert_eq!(p.header("SIP-If-Match"), Some(c1.as_str()), "{}", p.text());
        assert_eq!(rows.trim(), "1");
    }

    let uri = format!("sip:alice@127.0.0.1:{}", subs.port);
    subscribe(&k, &uri, 600);
    let s = nth_request(&subs, "SUBSCRIBE", 1, Duration::from_secs(5));
    assert_eq!(header_num(&s, "Expires"), 610);
    if stock_sqlite_bugs {
        assert!(k.wait_exit(Duration::from_secs(10)), "stock bug: the server dies");
        let log = k.log_text();
        assert!(log.contains("exited by a signal 11"), "SIGSEGV:\n{log}");
        assert!(log.contains("NOT NULL constraint failed: pua.to_tag"), "{log}");
    } else {
        subs.wait_answered(Duration::from_secs(2));
        sleep_ms(500);
        assert_alive(&mut k);
        let ok = subs.messages().into_iter().find(|m| !m.received && m.first_line.starts_with("SIP/2.0 200")).unwrap();
        let rows = k.sql(&format!("SELECT watcher_uri, call_id, to_tag FROM pua WHERE pres_uri = '{uri}';"));
        assert_eq!(
            rows.trim(),
            format!("{WATCHER}|{}|{}", s.header("Call-ID").unwrap(), ok.tag("To").unwrap()),
            "the confirmed dialog is stored"
        );
    }
}

both_puas_on_every_backend!(db_only_mode);

// ---------------------------------------------------------------------------------------------
// 7b. Requests dropped by event_route[tm:local-request].

/// While the script drops every local request, pua.send_publish and pua.subscribe send
/// nothing and no reply ever comes. Once requests go out again: a PUBLISH starts as initial
/// (nothing was stored), and an initial SUBSCRIBE to the same presentity goes out (ours
/// removed the dialog of the dropped one instead of waiting for its reply).
///
/// Stock, as observed on 5.6 and 6.0: the same.
fn dropped_local_requests(pua: Pua) {
    let uas = publish_uas(&[]);
    let subs = subscribe_uas(&[]);
    let k = start(pua, &[]);
    let alice = format!("sip:alice@127.0.0.1:{}", uas.port);
    let bob = format!("sip:bob@127.0.0.1:{}", subs.port);
    k.rpc(&["pv.shvSet", "drop_local", "int", "1"]);
    send_publish(&k, &alice, 3600, Some(&pidf(&alice, "open", "dropped")));
    subscribe(&k, &bob, 600);
    sleep_ms(500);
    assert!(uas.requests("PUBLISH").is_empty(), "{}", uas.trace_text());
    assert!(subs.requests("SUBSCRIBE").is_empty(), "{}", subs.trace_text());
    let drops = k.log_text().matches("dropping the local").count();
    assert_eq!(drops, 2, "the script dropped both:\n{}", k.log_text());
    if pua == Ours {
        let said = k.log_text().matches("dropped by event_route[tm:local-request]").count();
        assert_eq!(said, 2, "one INFO line each:\n{}", k.log_text());
    }

    k.rpc(&["pv.shvSet", "drop_local", "int", "0"]);
    let published = publish(&k, &alice, 3600, None, None, Some(&pidf(&alice, "open", "sent")));
    assert_eq!(published.error(), None, "{}", published.raw);
    let p = nth_publish(&uas, 1);
    assert!(p.header("SIP-If-Match").is_none(), "nothing was stored for the dropped PUBLISH\n{}", p.text());
    subscribe(&k, &bob, 600);
    let s = nth_request(&subs, "SUBSCRIBE", 1, Duration::from_secs(5));
    assert!(s.tag("To").is_none(), "an initial SUBSCRIBE\n{}", s.text());
}

#[test]
fn dropped_local_requests_stock() {
    dropped_local_requests(Stock);
}

#[test]
fn dropped_local_requests_ours() {
    dropped_local_requests(Ours);
}

// ---------------------------------------------------------------------------------------------
// 8. Bad input from the presence server.

/// A 200 to PUBLISH without SIP-ETag, and one with "Expires: soon": pua logs an error naming
/// the header, stores nothing (the next PUBLISH to that presentity is initial again) and keeps
/// serving. A NOTIFY in the SUBSCRIBE dialog with a Contact that is no URI, and one for an
/// unknown dialog: pua_update_contact() fails (-1) or logs an error, nothing crashes, and the
/// dialog's next refresh still goes to the old target.
///
/// pua.send_publish is used for the bad 200s: after a 200 without SIP-ETag stock never runs the
/// RPC callback, so pua.publish's answer would never come.
///
/// Stock, as observed: "ERROR: pua [send_publish.c:328]: publ_cback_func(): no SIP-ETag header
/// field found", nothing stored. Stock quirk (asserted as such; ours must log): "Expires: soon"
/// is parsed by the core as 0 without complaint (parse_expires marks it invalid, value 0), so
/// pua takes the 200 as the end of the publication: nothing stored, nothing logged (pua.publish
/// would answer Expires 0). pua_update_contact() returns -1 for both NOTIFYs (for the garbage
/// Contact because of the tag bug of scenario 5 already).
fn bad_input(pua: Pua) {
    let no_etag = publish_uas(&[("no_etag", "1")]);
    let bad_expires = publish_uas(&[("bad_expires", "1")]);
    let subs = subscribe_uas(&[]);
    let mut k = start(pua, &["PUA_CHECK_REMOTE_CONTACT=0"]);

    for (uas, header) in [(&no_etag, "sip-etag"), (&bad_expires, "expires")] {
        let uri = format!("sip:alice@127.0.0.1:{}", uas.port);
        let (errors_before, all_errors_before) = (pua_errors(&k, header), pua_errors(&k, ""));
        send_publish(&k, &uri, 3600, Some(&pidf(&uri, "open", "bad")));
        nth_publish(uas, 1);
        uas.wait_answered(Duration::from_secs(2));
        if pua == Stock && header == "expires" {
            // Stock quirk: the core's Expires parser takes "soon" as 0 without complaint, so
            // pua treats the 200 as an unpublish: nothing stored, nothing logged.
            sleep_ms(500);
            assert_eq!(pua_errors(&k, ""), all_errors_before, "stock logs nothing:\n{}", k.log_text());
        } else {
            let deadline = Instant::now() + harness::scaled(Duration::from_secs(5));
            while pua_errors(&k, header) <= errors_before {
                assert!(Instant::now() < deadline, "no error line naming {header}:\n{}", k.log_text());
                sleep_ms(50);
            }
        }
        send_publish(&k, &uri, 3600, Some(&pidf(&uri, "open", "bad again")));
        let p = nth_publish(uas, 2);
        assert!(p.header("SIP-If-Match").is_none(), "nothing was stored\n{}", p.text());
        uas.wait_answered(Duration::from_secs(2));
        sleep_ms(SETTLE);
        assert_alive(&mut k);
    }

    let uri = format!("sip:alice@127.0.0.1:{}", subs.port);
    subscribe(&k, &uri, 600);
    let s1 = nth_request(&subs, "SUBSCRIBE", 1, Duration::from_secs(5));
    subs.wait_answered(Duration::from_secs(2));
    sleep_ms(SETTLE);
    let ok = subs.messages().into_iter().find(|m| !m.received && m.first_line.starts_with("SIP/2.0 200")).unwrap();
    let call_id = s1.header("Call-ID").unwrap();
    let notify = |call_id: &str, from_tag: &str, to_tag: &str, contact: &str| {
        format!(
            "NOTIFY {WATCHER} SIP/2.0\r\nVia: SIP/2.0/UDP @LOCAL@;branch=z9hG4bK-pua-{to_tag}\r\n\
             From: <{uri}>;tag={from_tag}\r\nTo: <{WATCHER}>;tag={to_tag}\r\nCall-ID: {call_id}\r\n\
             CSeq: 5 NOTIFY\r\nMax-Forwards: 70\r\nContact: {contact}\r\nEvent: presence\r\n\
             Subscription-State: active;expires=600\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let errors_before = pua_errors(&k, "");
    let garbage = notify(call_id, &ok.tag("To").unwrap(), &s1.tag("From").unwrap(), "this is :: not <a URI");
    let reply = k.send_udp(garbage.as_bytes(), Duration::from_secs(5)).expect("an answer to the NOTIFY");
    assert!(reply.starts_with("SIP/2.0 200"), "{reply}");
    let rc = wait_update_contact(&k, call_id);
    assert!(rc == -1 || pua_errors(&k, "") > errors_before, "rc {rc} and no error logged:\n{}", k.log_text());

    let unknown = notify("no-such-dialog@127.0.0.1", "x1", "x2", &format!("<sip:presence@127.0.0.1:{}>", subs.port));
    let reply = k.send_udp(unknown.as_bytes(), Duration::from_secs(5)).expect("an answer to the NOTIFY");
    assert!(reply.starts_with("SIP/2.0 200"), "{reply}");
    assert_eq!(wait_update_contact(&k, "no-such-dialog@127.0.0.1"), -1);
    assert_alive(&mut k);

    subscribe(&k, &uri, 600);
    let s2 = nth_request(&subs, "SUBSCRIBE", 2, Duration::from_secs(5));
    assert_eq!(s2.header("Call-ID"), Some(call_id), "the refresh still reaches the old target\n{}", s2.text());
    assert_eq!(s2.ruri(), format!("sip:presence@127.0.0.1:{}", subs.port), "{}", s2.text());
    assert_alive(&mut k);
}

/// How many ERROR/WARNING lines from pua mention `word` (case-insensitive; "" = any).
fn pua_errors(k: &Kamailio, word: &str) -> usize {
    k.log_text()
        .lines()
        .filter(|l| (l.contains("ERROR: pua") || l.contains("WARNING: pua")) && l.to_ascii_lowercase().contains(word))
        .count()
}

#[test]
fn bad_input_stock() {
    bad_input(Stock);
}

#[test]
fn bad_input_ours() {
    bad_input(Ours);
}

// ---------------------------------------------------------------------------------------------
// 9. pua.cleanup.

/// pua.cleanup runs the expiry/refresh pass once. With update_period 0 (no timers) a
/// publication is deleted by it once its expiry is more than 10 s past and it is not to be
/// refreshed (the wanted lifetime is not longer than what was granted); a publication granted
/// less than it wants is refreshed instead; one that has not expired is left alone.
///
/// alice (wants 1 s, granted 1 s) and alice2 (same) expire; after 12 s alice2 is still there (a
/// modify with its etag goes out with SIP-If-Match) — expired records wait for the pass; then
/// pua.cleanup deletes alice (its etag becomes "Wrong ETag"), refreshes bob (wants 3600, granted
/// 1: PUBLISH with SIP-If-Match, no body) and leaves carol (granted 3600 by another server:
/// nothing sent, still modifiable).
///
/// Stock, as observed: exactly that.
fn cleanup_removes_expired(pua: Pua) {
    let short = publish_uas(&[("grant", "1")]);
    let long = publish_uas(&[]);
    let k = start(pua, &["PUA_UPDATE_PERIOD=0"]);
    let alice = format!("sip:alice@127.0.0.1:{}", short.port);
    let alice2 = format!("sip:alice2@127.0.0.1:{}", short.port);
    let bob = format!("sip:bob@127.0.0.1:{}", short.port);
    let carol = format!("sip:carol@127.0.0.1:{}", long.port);

    let a = publish(&k, &alice, 1, None, None, Some(&pidf(&alice, "open", "a"))).etag();
    let a2 = publish(&k, &alice2, 1, None, None, Some(&pidf(&alice2, "open", "a2"))).etag();
    let b = publish(&k, &bob, 3600, None, None, Some(&pidf(&bob, "open", "b"))).etag();
    let c = publish(&k, &carol, 3600, None, None, Some(&pidf(&carol, "open", "c"))).etag();
    assert_eq!(header_num(&nth_publish(&short, 1), "Expires"), 2);
    std::thread::sleep(Duration::from_millis(12_500));
    assert_eq!(short.requests("PUBLISH").len(), 3, "no timers with update_period 0\n{}", short.trace_text());

    let m = publish(&k, &alice2, 1, None, Some(&a2), Some(&pidf(&alice2, "closed", "a2")));
    assert!(m.error().is_none(), "an expired publication stays until the pass runs: {}", m.raw);
    assert_eq!(nth_publish(&short, 4).header("SIP-If-Match"), Some(a2.as_str()));

    cleanup(&k);
    let r = nth_publish(&short, 5);
    assert_eq!(r.ruri(), bob, "only bob is refreshed\n{}", short.trace_text());
    assert_eq!(r.header("SIP-If-Match"), Some(b.as_str()), "{}", r.text());
    assert_no_body(&r);
    short.wait_answered(Duration::from_secs(2));
    sleep_ms(500);
    assert_eq!(short.requests("PUBLISH").len(), 5, "{}", short.trace_text());
    assert_eq!(long.requests("PUBLISH").len(), 1, "carol is left alone\n{}", long.trace_text());

    let gone = publish(&k, &alice, 3600, None, Some(&a), Some(&pidf(&alice, "open", "again")));
    assert_eq!(gone.error().as_deref(), Some("Wrong ETag"), "alice was deleted: {}", gone.raw);
    let kept = publish(&k, &carol, 3600, None, Some(&c), Some(&pidf(&carol, "closed", "c")));
    assert!(kept.error().is_none(), "{}", kept.raw);
    assert_eq!(nth_publish(&long, 2).header("SIP-If-Match"), Some(c.as_str()));
}

both_puas_on_every_backend!(cleanup_removes_expired);

// ---------------------------------------------------------------------------------------------
// 10. The outbound proxy given with a publication.

/// A publication sent through the outbound proxy its consumer named (pua_rpc's outbound_proxy
/// parameter) is refreshed through that proxy too. Stock bug: the refresh goes to the module's
/// `outbound_proxy` (none here), i.e. straight to the presentity's host, and the proxy never
/// sees it. The presentity's own host:port has nothing listening.
fn refresh_keeps_outbound_proxy(pua: Pua) {
    let proxy = publish_uas(&[("grant", "1")]);
    let k = start(pua, &["PUA_UPDATE_PERIOD=0"]);
    let uri = format!("sip:alice@127.0.0.1:{}", harness::free_port());
    let mut params = publish_params(&uri, 3600, Some("obp"), None, Some(&pidf(&uri, "open", "via proxy")));
    params[6] = json_str(&format!("sip:127.0.0.1:{}", proxy.port));
    let raw = k.jsonrpc("pua.publish", &params, RPC_WAIT).expect("pua.publish answers");
    let first = Published { raw };
    assert_eq!(first.expires(), 1);
    let p1 = nth_publish(&proxy, 1);
    assert_publish_to(&p1, &uri);

    // The grant has run out: the cleanup pass refreshes the publication.
    sleep_ms(2000);
    cleanup(&k);
    let refreshes = proxy.wait_requests("PUBLISH", 2, Duration::from_secs(4));
    if pua == Stock {
        assert_eq!(refreshes.len(), 1, "stock bug: the refresh bypasses the proxy\n{}", proxy.trace_text());
    } else {
        assert_eq!(refreshes.len(), 2, "the refresh goes through the proxy\n{}", proxy.trace_text());
        let r = &refreshes[1];
        assert_publish_to(r, &uri);
        assert_eq!(r.header("SIP-If-Match"), Some(first.etag().as_str()), "{}", r.text());
        assert_no_body(r);
    }
}

#[test]
fn refresh_keeps_outbound_proxy_stock() {
    refresh_keeps_outbound_proxy(Stock);
}

#[test]
fn refresh_keeps_outbound_proxy_ours() {
    refresh_keeps_outbound_proxy(Ours);
}

// ---------------------------------------------------------------------------------------------
// 11. db_mode 0: the timer writes every record to the table.

/// The timer writes the records to the `pua` table while the server runs (update_period 10),
/// publications with an empty id included. (pua_rpc gives an empty id as a zero-length
/// string, which stock writes fine; the NULL `pres_id` of stock comes from consumers that
/// leave the id unset.)
fn timer_writes_the_table(pua: Pua) {
    let uas = publish_uas(&[]);
    let k = start(pua, &["PUA_UPDATE_PERIOD=10"]);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);
    let other = format!("sip:carol@127.0.0.1:{}", uas.port);
    publish(&k, &uri, 3600, None, None, Some(&pidf(&uri, "open", "no id")));
    publish(&k, &other, 3600, Some("with-id"), None, Some(&pidf(&other, "open", "id")));
    let rows = || k.sql("SELECT pres_uri, pres_id FROM pua ORDER BY pres_uri;");
    let deadline = Instant::now() + harness::scaled(Duration::from_secs(24));
    let want = format!("{uri}|\n{other}|with-id\n");
    while rows() != want && Instant::now() < deadline {
        sleep_ms(500);
    }
    assert_eq!(rows(), want, "{}", k.log_text());
}

both_puas_on_every_backend!(timer_writes_the_table);
