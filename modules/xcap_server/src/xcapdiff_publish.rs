//! Publishing xcap-diff documents through pua (`publish_xcapdiff`): one publication per user,
//! at most one PUBLISH in flight per user, and at most [`BURST`] PUBLISHes at once then one
//! every [`REFILL_MS`] ms per user. Changes made meanwhile wait in shared memory as a
//! [`Batch`] (per changed document, the tag before the batch), which costs a change no
//! database access; the batch goes out when the reply comes, on the user's next change, or
//! from a timer every second, and only then are the user's documents listed and the body
//! built. So a burst ends with the last state published, pua always modifies its one
//! publication instead of racing itself, and a user PUTting in a loop cannot fill shared
//! memory with transactions.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use kamailio::lock::ShmMutex;
use kamailio::mem::{shm_box, Shm, ShmGlobal, ShmVec};
use kamailio::pua::{event, source, Publication, PublishError, PuaApi};
use kamailio::pua_api::Hentity;
use kamailio::{lm_err, lm_warn, Error, SipMsg};

use crate::xcapdiff::{Batch, Change, XcapDiff};

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

/// Lists a user's documents as they are now (document path, entity tag), by owner URI, with
/// this process's database connection.
pub type Lister = fn(&str) -> Result<Vec<(String, String)>, String>;

/// How bodies are built: the lister and the XCAP root path (prefix of the document paths).
struct Builder {
    list: Lister,
    root_path: String,
}

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
    /// The `xcap-root` of the user's last change (`scheme://host` and the root path).
    xcap_root: ShmVec<u8>,
    /// An encoded [`Batch`]; empty when nothing waits.
    waiting: ShmVec<u8>,
}

/// What goes out in one PUBLISH: the root URI and the changed documents.
struct Due {
    xcap_root: String,
    changed: Vec<(String, Option<String>)>,
}

type Stripe = ShmMutex<ShmVec<User>>;

static STATE: ShmGlobal<[Stripe; STRIPES]> = ShmGlobal::new();
static PUA: OnceLock<PuaApi> = OnceLock::new();
static BUILDER: OnceLock<Builder> = OnceLock::new();

/// Binds pua, registers for the replies to our PUBLISHes and starts the flush timer; `list`
/// and `root_path` build the bodies (in whichever process sends). From mod_init.
pub fn init(list: Lister, root_path: &str) -> Result<(), Error> {
    let _ = BUILDER.set(Builder { list, root_path: root_path.to_string() });
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
fn take_if_ready(u: &mut User, now: u64) -> Option<Due> {
    if u.waiting.is_empty() || !u.pace.try_start(now) {
        return None;
    }
    let changed = Batch::decode(&u.waiting);
    u.waiting.clear();
    match changed {
        Some(changed) => Some(Due { xcap_root: String::from_utf8_lossy(&u.xcap_root).into_owned(), changed }),
        None => {
            u.pace.in_flight_since = None;
            None
        }
    }
}

/// Publishes `change` of the documents of the user `uri` (`xcap_root`: the root URI for the
/// body): now if the user's PUBLISH may go, else with the next one.
pub fn publish(uri: &str, xcap_root: &str, change: &Change) {
    let Some(stripe) = stripe(uri.as_bytes()) else { return };
    let unpaced = || Due { xcap_root: xcap_root.to_string(), changed: vec![(change.doc_uri.clone(), change.previous_etag.clone())] };
    let mut users = stripe.lock();
    let now = now_ms();
    let i = match users.iter().position(|u| u.uri[..] == *uri.as_bytes()) {
        Some(i) => i,
        None => {
            let mut key = ShmVec::new_in(Shm);
            if !store_bytes(&mut key, uri.as_bytes()) || users.try_reserve(1).is_err() {
                drop(users);
                lm_err!("xcap-diff for {uri}: out of shared memory, publishing without pacing");
                send(uri, unpaced());
                return;
            }
            users.push(User { uri: key, pace: Pace::new(now), xcap_root: ShmVec::new_in(Shm), waiting: ShmVec::new_in(Shm) });
            users.len() - 1
        }
    };
    let u = &mut users[i];
    if u.xcap_root[..] != *xcap_root.as_bytes() && !store_bytes(&mut u.xcap_root, xcap_root.as_bytes()) {
        lm_err!("xcap-diff for {uri}: out of shared memory, its xcap-root is not updated");
    }
    if let Some(more) = Batch::append_for(&u.waiting, change) {
        if u.waiting.try_reserve(more.len()).is_err() {
            lm_err!("xcap-diff for {uri}: out of shared memory, this change is not published");
        } else {
            u.waiting.extend_from_slice(&more);
        }
    }
    let due = take_if_ready(u, now);
    drop(users);
    if let Some(due) = due {
        send(uri, due);
    }
}

/// The PUBLISH of `uri` is over: what waits, if it may go now.
fn finish(uri: &[u8]) -> Option<Due> {
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
                if let Some(d) = take_if_ready(u, now) {
                    due.push((String::from_utf8_lossy(&u.uri).into_owned(), d));
                }
            }
            users.retain_mut(|u| !(u.waiting.is_empty() && u.pace.idle(now)));
        }
        for (uri, d) in due {
            send(&uri, d);
        }
    }
}

/// The body for `due`: the user's documents as they are now, the changed ones with their
/// previous tags.
fn build(uri: &str, due: &Due) -> Result<String, String> {
    let b = BUILDER.get().ok_or("not initialised")?;
    let listing = (b.list)(uri).map_err(|e| format!("listing its documents: {e}"))?;
    Ok(XcapDiff::after_changes(&due.xcap_root, &b.root_path, &listing, &due.changed).to_xml())
}

/// Builds and sends `due`; when that fails, sends what waits instead, if anything.
fn send(uri: &str, mut due: Due) {
    let Some(pua) = PUA.get() else { return };
    loop {
        let sent = build(uri, &due).and_then(|body| {
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
            pua.send_publish(&p).map_err(|e| match e {
                PublishError::Failed(_) => format!("{e} (see pua's log line)"),
                _ => e.to_string(),
            })
        });
        match sent {
            Ok(()) => return,
            Err(why) => lm_err!("xcap-diff for {uri} not published, its xcap-diff watchers are not notified: {why}"),
        }
        match finish(uri.as_bytes()) {
            Some(next) => due = next,
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
