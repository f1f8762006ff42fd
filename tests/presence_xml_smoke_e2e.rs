//! presence_xml (ours) in the real Kamailio with the stock presence module: a presentity
//! publishes, a watcher allowed by pres-rules stored through xcap_server subscribes and gets
//! the PIDF document in its NOTIFY.

mod harness;

use harness::{subscription_state, Kamailio, Setup};

const RULES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
<cr:rule id="a"><cr:conditions><cr:identity><cr:one id="sip:bob@127.0.0.1"/></cr:identity></cr:conditions>
<cr:actions><sub-handling>allow</sub-handling></cr:actions>
<cr:transformations><provide-services><all-services/></provide-services><provide-persons><all-persons/></provide-persons><provide-devices><all-devices/></provide-devices></cr:transformations></cr:rule>
</cr:ruleset>"#;

fn pidf(note: &str) -> String {
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@127.0.0.1"><tuple id="t1"><status><basic>open</basic></status><note>{note}</note></tuple></presence>"#)
}

fn allowed_watcher(ours: bool) {
    allowed_watcher_with_rules_at(ours, "/xcap-root/pres-rules/users/sip:alice@127.0.0.1/index");
}

fn allowed_watcher_with_rules_at(ours: bool, rules: &str) {
    let mut s = Setup::new("kamailio.cfg", &["presence_xml", "presence_xcapdiff", "xcap_server"]);
    s.defines = if ours { &[] } else { &["STOCK_PRESENCE_XML"] };
    s.schemas = &["presence"];
    let k = Kamailio::start(s);
    let put = k.http(&["-X", "PUT", "-H", "Content-Type: application/auth-policy+xml", "--data-binary", RULES], rules);
    assert!(put.code == 201 || put.code == 200, "{put:?}");
    let r = k.request("PUBLISH", "alice", &[("Event", "presence"), ("Expires", "600"), ("Content-Type", "application/pidf+xml")], pidf("in the office").as_bytes());
    assert_eq!(r.code, 200, "{r:?}\n{}", k.log_text());
    let notify = k.subscribe("presence", "bob", "alice", "Expires: 600");
    assert_eq!(subscription_state(&notify).0, "active", "{notify}");
    assert!(notify.contains("in the office"), "{notify}\n{}", k.log_text());
    // carol has no rule: a new watcher stays pending (no body).
    let notify = k.subscribe("presence", "carol", "alice", "Expires: 600");
    assert_eq!(subscription_state(&notify).0, "pending", "{notify}");
    assert!(!notify.contains("in the office"), "{notify}");
}

#[test]
fn an_allowed_watcher_gets_the_published_document() {
    allowed_watcher(true);
}

#[test]
fn an_allowed_watcher_gets_the_published_document_on_stock() {
    allowed_watcher(false);
}

/// test-configs/kamailio.cfg takes a bare `user@domain` XUI for the owner `sip:user@domain`:
/// pres-rules stored under it are the presentity's.
#[test]
fn pres_rules_under_a_bare_user_at_domain_xui_are_the_presentitys() {
    allowed_watcher_with_rules_at(true, "/xcap-root/pres-rules/users/alice@127.0.0.1/index");
}
