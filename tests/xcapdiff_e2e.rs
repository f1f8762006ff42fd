//! presence_xcapdiff in the real Kamailio: SUBSCRIBE/NOTIFY for xcap-diff through presence,
//! registration with pua, loading without presence, and refusing a wrong load order.

mod harness;

use harness::{subscription_state as state_expires, Kamailio, Setup};

const LINE: &str = "event xcap-diff (application/xcap-diff+xml) registered with";

fn setup(defines: &'static [&'static str]) -> Setup<'static> {
    let mut s = Setup::new("kamailio.cfg", &["presence_xcapdiff", "xcap_server", "presence_xml", "pua"]);
    s.defines = defines;
    s.schemas = &["presence"];
    s
}

/// SUBSCRIBEs to alice's xcap-diff with SIPp and returns the NOTIFY it received.
fn subscribe(k: &Kamailio, expires_header: &str) -> String {
    k.subscribe("xcap-diff", "bob", "alice", expires_header)
}

// presence keeps the subscription in its database (active_watchers).
on_every_backend!(subscribe_to_xcap_diff_gets_2xx_and_notify);

fn subscribe_to_xcap_diff_gets_2xx_and_notify() {
    let k = Kamailio::start(setup(&[]));
    assert!(k.log_text().contains(&format!("{LINE} presence (default expires 1800s)")), "{}", k.log_text());

    // No Expires header: presence applies the event's default, which is our parameter.
    let notify = subscribe(&k, "X-Test: default-expires");
    println!("NOTIFY received by SIPp:\n{notify}");
    assert!(notify.contains("\nEvent: xcap-diff"), "{notify}");
    let (state, secs) = state_expires(&notify);
    assert_eq!(state, "active");
    assert!((1790..=1800).contains(&secs), "expires={secs}, default_expires is 1800");

    let notify = subscribe(&k, "Expires: 600");
    let (_, secs) = state_expires(&notify);
    assert!((590..=600).contains(&secs), "expires={secs} for a 600 s subscription");
}

#[test]
fn registers_with_pua_too_when_pua_is_loaded() {
    let k = Kamailio::start(setup(&["WITH_PUA"]));
    assert!(k.log_text().contains(&format!("{LINE} presence (default expires 1800s) and pua")), "{}", k.log_text());
    let notify = subscribe(&k, "Expires: 300");
    assert!(notify.contains("\nEvent: xcap-diff"));
}

#[test]
fn loads_quietly_without_presence() {
    // Neither presence nor pua: no registration line, no error, and the server serves.
    let k = Kamailio::start(setup(&["WITHOUT_PRESENCE"]));
    let log = k.log_text();
    assert!(!log.contains(LINE), "{log}");
    assert!(!log.contains("ERROR: presence_xcapdiff"), "{log}");
    assert_eq!(k.request("OPTIONS", "anyone", &[], b"").code, 200);
    drop(k);

    // pua without presence: registered with pua only; SUBSCRIBE is not served here.
    let k = Kamailio::start(setup(&["WITHOUT_PRESENCE", "WITH_PUA"]));
    assert!(k.log_text().contains(&format!("{LINE} pua\n")), "{}", k.log_text());
    assert_eq!(k.request("SUBSCRIBE", "alice", &[("Event", "xcap-diff")], b"").code, 404);
}

#[test]
fn a_wrong_load_order_stops_start_up_instead_of_crashing_presence() {
    let f = Kamailio::start_expecting_failure(setup(&["XCAPDIFF_FIRST"]));
    assert_ne!(f.code, Some(0));
    assert!(f.log.contains("presence must be loaded before presence_xcapdiff"), "{}", f.log);
    assert!(!f.log.contains("Segmentation"), "{}", f.log);
}

#[test]
fn a_bad_default_expires_stops_start_up() {
    let f = Kamailio::start_expecting_failure(setup(&["XCAPDIFF_BAD_EXPIRES"]));
    assert_ne!(f.code, Some(0));
    assert!(f.log.contains("default_expires must be a positive number of seconds, not 0"), "{}", f.log);
}

/// Differential: the stock presence_xml's own xcap-diff registration and ours answer the same
/// SUBSCRIBE alike. Deliberate difference: our default_expires parameter (1800 here) applies,
/// where stock always uses presence_xml's default_expires (3600).
#[test]
fn same_exchange_as_the_stock_registration() {
    let ours = Kamailio::start(setup(&[]));
    let stock = Kamailio::start(setup(&["STOCK_XCAPDIFF", "STOCK_PRESENCE_XML"]));
    assert!(!stock.log_text().contains(LINE));
    let a = subscribe(&ours, "X-Test: default-expires");
    let b = subscribe(&stock, "X-Test: default-expires");
    let headers = |m: &str| -> Vec<String> {
        let mut h: Vec<String> = m
            .lines()
            .filter(|l| ["Event:", "Content-Type:", "Content-Length:"].iter().any(|p| l.starts_with(p)))
            .map(String::from)
            .collect();
        h.sort();
        h
    };
    assert_eq!(headers(&a), headers(&b));
    assert_eq!(state_expires(&a).0, state_expires(&b).0);
    let (sa, sb) = (state_expires(&a).1, state_expires(&b).1);
    assert!((1790..=1800).contains(&sa) && (3590..=3600).contains(&sb), "ours {sa}, stock {sb}");
}
