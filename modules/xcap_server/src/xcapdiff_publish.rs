//! Publishing xcap-diff documents through pua (`publish_xcapdiff`): one publication per user,
//! at most one PUBLISH in flight per user, and at most [`BURST`] PUBLISHes at once then one
//! every [`REFILL_MS`] ms per user. Changes made meanwhile wait, merged into one document, and
//! go out when the reply comes, on the user's next change, or from a timer every second; so a
//! burst ends with the last state published, pua always modifies its one publication instead
//! of racing itself, and a user PUTting in a loop cannot fill shared memory with transactions.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use kamailio::lock::ShmMutex;
use kamailio::mem::{shm_box, Shm, ShmGlobal, ShmVec};
use kamailio::pua::{event, source, Publication, PublishError, PuaApi};
use kamailio::pua_api::Hentity;
use kamailio::{lm_err, lm_warn, Error, SipMsg};

use crate::xcapdiff::XcapDiff;

/// The record id of our publications in pua: one per user (and pua's key is the user's URI).
const PUBLICATION_ID: &[u8] = b"xcap_server";
const CONTENT_TYPE: &[u8] = b"application/xcap-diff+xml";
/// A PUBLISH whose reply has not come after this long is taken as lost (tm ends every
/// transaction well before).
const IN_FLIGHT_LIMIT_MS: u64 = 64_000;
/// PUBLISHes a user may send in a row (then one per [`REFILL_MS`]).
const BURST: u64 = 10;
const REFILL_MS: u64 = 100;
const STRIPES: usize = 64;

/// When a user's next PUBLISH may go: a token bucket, and the PUBLISH in flight. Times in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pace {
    in_flight_since: Option<u64>,
    tokens: u64,
    refilled_at: u64,
}

impl Pace {
    fn new(now: u64) -> Pace {
        Pace { in_flight_since: None, tokens: BURST, refilled_at: now }
    }

    fn refill(&mut self, now: u64) {
        let n = now.saturating_sub(self.refilled_at) / REFILL_MS;
        self.tokens = (self.tokens + n).min(BURST);
        self.refilled_at = if self.tokens == BURST { now } else { self.refilled_at + n * REFILL_MS };
    }

    fn busy(&self, now: u64) -> bool {
        self.in_flight_since.is_some_and(|t| now.saturating_sub(t) < IN_FLIGHT_LIMIT_MS)
    }

    /// True (and the PUBLISH counts as sent) when one may go now.
    fn try_start(&mut self, now: u64) -> bool {
        self.refill(now);
        if self.busy(now) || self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        self.in_flight_since = Some(now);
        true
    }

    /// Nothing in flight and a full bucket: the state can go.
    fn idle(&mut self, now: u64) -> bool {
        self.refill(now);
        !self.busy(now) && self.tokens == BURST
    }
}

/// A user that published lately, and what waits to be published.
struct User {
    uri: ShmVec<u8>,
    pace: Pace,
    /// An encoded [`XcapDiff`]; empty when nothing waits.
    waiting: ShmVec<u8>,
}

type Stripe = ShmMutex<ShmVec<User>>;

static STATE: ShmGlobal<[Stripe; STRIPES]> = ShmGlobal::new();
static PUA: OnceLock<PuaApi> = OnceLock::new();

/// Binds pua, registers for the replies to our PUBLISHes and starts the flush timer. From
/// mod_init.
pub fn init() -> Result<(), Error> {
    let pua = PuaApi::bind().ok_or_else(|| Error::from("publish_xcapdiff is 1 but pua is not loaded: load pua.so (before xcap_server.so)"))?;
    pua.register_callback(source::XCAPDIFF_PUBLISH, on_reply)?;
    let stripes = shm_box(std::array::from_fn(|_| ShmMutex::new(ShmVec::new_in(Shm)))).ok_or("out of shared memory")?;
    STATE.set(stripes);
    kamailio::timer::register(|_| flush(), 1)?;
    let _ = PUA.set(pua);
    Ok(())
}

/// True when changes are published.
pub fn enabled() -> bool {
    STATE.get().is_some()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn stripe(uri: &[u8]) -> Option<&'static Stripe> {
    let stripes = STATE.get()?;
    let h = uri.iter().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(*b as usize));
    Some(&stripes[h % STRIPES])
}

fn store_bytes(v: &mut ShmVec<u8>, b: &[u8]) -> bool {
    v.clear();
    if v.try_reserve(b.len()).is_err() {
        return false;
    }
    v.extend_from_slice(b);
    true
}

/// What waits for `u`, taken, when a PUBLISH may go now.
fn take_if_ready(u: &mut User, now: u64) -> Option<XcapDiff> {
    if u.waiting.is_empty() || !u.pace.try_start(now) {
        return None;
    }
    let diff = XcapDiff::decode(&u.waiting);
    u.waiting.clear();
    if diff.is_none() {
        u.pace.in_flight_since = None;
    }
    diff
}

/// Publishes the diff `build` makes for the user `uri`. `build` runs under the user's lock,
/// so that the diffs of one user are published in the order their listings were taken.
pub fn publish(uri: &str, build: impl FnOnce() -> Option<XcapDiff>) {
    let Some(stripe) = stripe(uri.as_bytes()) else { return };
    let mut users = stripe.lock();
    let Some(mut diff) = build() else { return };
    let now = now_ms();
    let i = match users.iter().position(|u| u.uri[..] == *uri.as_bytes()) {
        Some(i) => i,
        None => {
            let mut key = ShmVec::new_in(Shm);
            if !store_bytes(&mut key, uri.as_bytes()) || users.try_reserve(1).is_err() {
                lm_err!("xcap-diff for {uri}: out of shared memory, publishing without pacing");
                drop(users);
                send(uri, diff);
                return;
            }
            users.push(User { uri: key, pace: Pace::new(now), waiting: ShmVec::new_in(Shm) });
            users.len() - 1
        }
    };
    let u = &mut users[i];
    if let Some(earlier) = XcapDiff::decode(&u.waiting).filter(|_| !u.waiting.is_empty()) {
        diff = earlier.merged_with(diff);
    }
    if !u.pace.try_start(now) {
        if !store_bytes(&mut u.waiting, &diff.encode()) {
            lm_err!("xcap-diff for {uri}: out of shared memory, this change is not published");
        }
        return;
    }
    u.waiting.clear();
    drop(users);
    send(uri, diff);
}

/// The PUBLISH of `uri` is over: what waits, if it may go now.
fn finish(uri: &[u8]) -> Option<XcapDiff> {
    let mut users = stripe(uri)?.lock();
    let u = users.iter_mut().find(|u| u.uri[..] == *uri)?;
    u.pace.in_flight_since = None;
    take_if_ready(u, now_ms())
}

/// Every second (timer process): sends what waits and may go, forgets idle users.
fn flush() {
    let Some(stripes) = STATE.get() else { return };
    let now = now_ms();
    for stripe in stripes {
        let mut due = Vec::new();
        {
            let mut users = stripe.lock();
            for u in users.iter_mut() {
                if let Some(diff) = take_if_ready(u, now) {
                    due.push((String::from_utf8_lossy(&u.uri).into_owned(), diff));
                }
            }
            users.retain_mut(|u| !(u.waiting.is_empty() && u.pace.idle(now)));
        }
        for (uri, diff) in due {
            send(&uri, diff);
        }
    }
}

/// Sends `diff`; when pua refuses it, sends what waits instead, if anything.
fn send(uri: &str, mut diff: XcapDiff) {
    let Some(pua) = PUA.get() else { return };
    loop {
        let body = diff.to_xml();
        let p = Publication {
            id: PUBLICATION_ID,
            pres_uri: uri.as_bytes(),
            body: Some(body.as_bytes()),
            // pua's default_expires, refreshed by pua for as long as it runs: new watchers
            // always get the full state.
            expires: -1,
            source_flag: source::XCAPDIFF_PUBLISH,
            event: event::XCAPDIFF,
            content_type: CONTENT_TYPE,
            ..Default::default()
        };
        match pua.send_publish(&p) {
            Ok(()) => return,
            Err(e) => {
                let why = match e {
                    PublishError::Failed(_) => format!("{e} (see pua's log line)"),
                    _ => e.to_string(),
                };
                lm_err!("xcap-diff for {uri} not published, its xcap-diff watchers are not notified: {why}");
            }
        }
        match finish(uri.as_bytes()) {
            Some(next) => diff = next,
            None => return,
        }
    }
}

/// pua's callback for the final reply to one of our PUBLISHes (in whichever process got it).
fn on_reply(h: &Hentity, reply: Option<&mut SipMsg>) {
    if h.event != event::XCAPDIFF || h.id != PUBLICATION_ID {
        return;
    }
    let uri = String::from_utf8_lossy(h.pres_uri);
    match reply.and_then(|r| r.status()) {
        None => lm_warn!(
            "xcap-diff for {uri}: no reply to its PUBLISH (is presence at pua's outbound_proxy up?), so its xcap-diff watchers are not notified"
        ),
        // pua publishes the same body anew; its reply comes here too.
        Some(412) => {
            if let Some(stripe) = stripe(h.pres_uri) {
                if let Some(u) = stripe.lock().iter_mut().find(|u| u.uri[..] == *h.pres_uri) {
                    u.pace.in_flight_since = Some(now_ms());
                }
            }
            return;
        }
        Some(code) if code >= 300 => lm_warn!("xcap-diff for {uri}: presence refused its PUBLISH ({code}), so its xcap-diff watchers are not notified"),
        Some(_) => {}
    }
    if let Some(next) = finish(h.pres_uri) {
        send(&uri, next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_publish_in_flight_at_a_time() {
        let mut p = Pace::new(0);
        assert!(p.try_start(0));
        assert!(!p.try_start(5));
        p.in_flight_since = None;
        assert!(p.try_start(6));
    }

    #[test]
    fn a_burst_then_one_per_refill_period() {
        let mut p = Pace::new(1000);
        for i in 0..BURST {
            assert!(p.try_start(1000 + i), "{i}");
            p.in_flight_since = None;
        }
        assert!(!p.try_start(1050));
        assert!(p.try_start(1000 + REFILL_MS));
        p.in_flight_since = None;
        assert!(!p.try_start(1000 + REFILL_MS + 1));
        assert!(!p.idle(1000 + REFILL_MS + 1));
        assert!(p.idle(1000 + REFILL_MS * (BURST + 1)));
    }

    #[test]
    fn a_lost_reply_does_not_block_the_user_for_ever() {
        let mut p = Pace::new(0);
        assert!(p.try_start(0));
        assert!(!p.try_start(IN_FLIGHT_LIMIT_MS - 1));
        assert!(p.try_start(IN_FLIGHT_LIMIT_MS));
    }
}
