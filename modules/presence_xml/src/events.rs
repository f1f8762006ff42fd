//! The callbacks of the events presence_xml registers with presence.

use kamailio::mem::PkgStr;
use kamailio::presence_events::{status, AuthStatus, EventHandler, Subscription};
use kamailio::{lm_err, lm_warn, Error, SipMsg};
use kamailio::target::SERIES;
use presence_docs::pidf::{self, Publication};
use presence_docs::rules::{self, Rules, Spelling, Status, Watcher};

use std::rc::Rc;

use crate::last_parsed::LastParsed;
use crate::module as m;
use crate::stats;
use crate::store::{self, text};

/// `presence`: PIDF bodies, pres-rules authorization and transformations.
pub struct Presence;

/// `dialog;sla`: dialog-info bodies, published as given.
pub struct Bla;

/// `presence.winfo`: bodies presence builds with libxml2 (we only free them).
pub struct Winfo;

/// `xcap-diff`: published as given.
pub struct XcapDiff;

impl EventHandler for Bla {
    fn check_publish(msg: &mut SipMsg) -> i32 {
        check_well_formed(msg)
    }
}

impl EventHandler for Winfo {}
impl EventHandler for XcapDiff {}

/// A PUBLISH body must be well-formed XML (an empty body is a refresh).
fn check_well_formed(msg: &mut SipMsg) -> i32 {
    let body = msg.body();
    if body.is_empty() || pidf::is_well_formed(body) {
        return 1;
    }
    lm_warn!("a PUBLISH body is not well-formed XML: 415");
    stats::BODIES_REFUSED.inc();
    reply(msg, 415, "Unsupported media type");
    -1
}

fn reply(msg: &mut SipMsg, code: u32, reason: &str) {
    if let Some(sl) = m::sl() {
        if let Err(e) = sl.reply(msg, code, reason, &[], None) {
            lm_err!("{e}");
        }
    }
}

/// The seconds since the epoch, for rules' validity.
fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

thread_local! {
    static RULES: LastParsed<Rules> = const { LastParsed::new() };
}

/// The pres-rules document parsed (once for a new watcher's status and body: see LastParsed).
fn parse_rules(doc: &[u8]) -> Result<Rc<Rules>, Error> {
    // `occurrence-id` as the target's stock module reads it: 6.0 knows only the RFC spelling;
    // on 5.6 ours reads the RFC's besides stock's `occurence-id`.
    let spelling = if SERIES.at_least_6_0() { Spelling::RfcOnly } else { Spelling::Both };
    RULES.with(|r| {
        r.get_or_parse(doc, |d| {
            Rules::parse_with(d, spelling).map_err(|e| Error::from(format!("the pres-rules document does not parse: {e}")))
        })
    })
}

impl EventHandler for Presence {
    fn aggregate(user: &[u8], domain: &[u8], bodies: &[Option<&[u8]>], off: Option<usize>) -> Option<Vec<u8>> {
        if bodies.iter().all(Option::is_none) {
            if m::dummy_presence() {
                let mut uri = b"sip:".to_vec();
                uri.extend_from_slice(user);
                uri.push(b'@');
                uri.extend_from_slice(domain);
                return Some(pidf::dummy(&text(&uri)));
            }
            return None;
        }
        // Positions stay those presence gave, so that `off` still names the right one; a
        // missing body is empty, which the aggregation skips.
        let all: Vec<&[u8]> = bodies.iter().map(|b| b.unwrap_or_default()).collect();
        if m::single_body() {
            return pidf::single_body_with_off(&all, off, &m::lookup_element(), &m::priorities());
        }
        pidf::aggregate(&all, off)
    }

    fn apply_auth(body: &[u8], subs: &Subscription) -> Result<Option<Vec<u8>>, Error> {
        if m::force_active() {
            return Ok(None);
        }
        let doc = subs.rules_doc.ok_or_else(|| Error::from("no rules document"))?;
        let rules = parse_rules(doc)?;
        let (user, domain) = (text(subs.watcher_user), text(subs.watcher_domain));
        let watcher = Watcher { user: &user, domain: &domain };
        let sphere = sphere_of(&rules, subs.pres_uri);
        match rules.matching(&watcher, now(), sphere.as_deref()) {
            None => Ok(None),
            Some(matched) => pidf::transform(body, &matched.transformations).map(Some).map_err(|e| Error::from(e.to_string())),
        }
    }

    fn auth_status(subs: &Subscription) -> Result<AuthStatus, Error> {
        if m::force_active() {
            stats::WATCHERS_ALLOWED.inc();
            return Ok(AuthStatus { status: status::ACTIVE, reason: None });
        }
        let Some(doc) = subs.rules_doc else {
            stats::WATCHERS_PENDING.inc();
            return Ok(AuthStatus { status: status::PENDING, reason: None });
        };
        let decided = parse_rules(doc).and_then(|rules| {
            let (user, domain) = (text(subs.watcher_user), text(subs.watcher_domain));
            let watcher = Watcher { user: &user, domain: &domain };
            let sphere = sphere_of(&rules, subs.pres_uri);
            let matched = rules.matching(&watcher, now(), sphere.as_deref());
            rules::decide(matched.as_ref(), subs.status == status::PENDING).map_err(|e| Error::from(e.to_string()))
        });
        let (st, reason) = match decided {
            Ok(d) => d,
            Err(e) => {
                stats::AUTH_ERRORS.inc();
                return Err(e);
            }
        };
        match (st, reason) {
            (Status::Active, Some(_)) => stats::WATCHERS_POLITE_BLOCKED.inc(),
            (Status::Active, None) => stats::WATCHERS_ALLOWED.inc(),
            (Status::Pending, _) => stats::WATCHERS_PENDING.inc(),
            (Status::Terminated, _) => stats::WATCHERS_BLOCKED.inc(),
        }
        let status = match st {
            Status::Active => status::ACTIVE,
            Status::Pending => status::PENDING,
            Status::Terminated => status::TERMINATED,
        };
        let reason = match (st, reason) {
            (_, Some(r)) => Some(r.as_bytes()),
            (Status::Terminated, None) => Some(m::userdel_reason()),
            _ => None,
        };
        Ok(AuthStatus { status, reason })
    }

    fn check_publish(msg: &mut SipMsg) -> i32 {
        let verdict = match msg.body() {
            [] => return 1,
            body => pidf::classify(body),
        };
        match verdict {
            Publication::Pidf => 1,
            Publication::NotXml(e) => {
                lm_warn!("a PUBLISH body is not well-formed XML ({e}): 415");
                stats::BODIES_REFUSED.inc();
                reply(msg, 415, "Unsupported media type");
                -1
            }
            Publication::NotPidf(e) if m::strict_pidf() => {
                lm_warn!("a PUBLISH body is not a PIDF document ({e}): 400");
                stats::BODIES_REFUSED.inc();
                reply(msg, 400, "Bad PIDF document");
                -1
            }
            Publication::NotPidf(e) => {
                // Accepted as stock does; NOTIFY bodies leave it out, so it harms no one.
                lm_warn!("a PUBLISH body is not a PIDF document ({e}); it will not appear in NOTIFYs");
                1
            }
        }
    }

    fn rules_doc(user: &[u8], domain: &[u8]) -> Result<Option<PkgStr>, Error> {
        if m::force_active() {
            return Ok(None);
        }
        store::pres_rules(&m::xcap_table(), user, domain, m::xcap_client())
    }

    fn pidf_doc(user: &[u8], domain: &[u8], file_uri: &[u8]) -> Result<Option<PkgStr>, Error> {
        if m::force_active() {
            return Ok(None);
        }
        store::pidf_manipulation(&m::xcap_table(), user, domain, file_uri)
    }
}

/// The presentity's sphere, asked of presence only when the rules have a sphere condition.
fn sphere_of(rules: &Rules, pres_uri: &[u8]) -> Option<String> {
    if !rules.has_sphere_condition() {
        return None;
    }
    m::presence().and_then(|p| p.get_sphere(pres_uri))
}
