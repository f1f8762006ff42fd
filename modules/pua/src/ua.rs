//! Sending PUBLISH and SUBSCRIBE for consumers and for our own refreshes, and handling their
//! final replies (in whichever process tm completes the transaction).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use kamailio::msg::SipMsg;
use kamailio::pua_api::{self, Hentity, Publish, Subscribe, ERR_PUBLISH_NO_BODY, ERR_WRONG_ETAG, INSERT_TYPE};
use kamailio::tm::{InDialog, Request, Sent};
use kamailio::{lm_dbg, lm_err, lm_info, lm_warn};

use crate::events;
use crate::headers;
use crate::module::{self as m, now};
use crate::pending::Pending;
use crate::reply::{self, PublishOutcome, SubscribeOutcome};
use crate::record::{DialogId, PubKey, Record, RecordView, SubKey};
use crate::stats;

/// Source flags with special handling (pua/hash.h).
pub const XMPP_SUBSCRIBE: i32 = 16;
pub const XMPP_INITIAL_SUBS: i32 = 32;

/// How long a dialog may wait for the reply to its first SUBSCRIBE.
const TEMPORARY_LIFETIME: u32 = 64;

fn desired(expires: i32) -> u32 {
    if expires < 0 { 0 } else { now().saturating_add(expires as u32) }
}

fn requested(expires: i32) -> i32 {
    if expires < 0 { m::default_expires() } else { expires }
}

/// Seconds to ask for when resending a request the consumer wanted until `desired`.
fn remaining(desired: u32) -> i32 {
    match desired {
        0 => -1,
        d if d <= now() => 0,
        d => (d - now()) as i32 + 3,
    }
}

/// The entity consumer callbacks see for a request in flight.
fn hentity<'a>(p: &'a Pending, etag: &'a [u8]) -> Hentity<'a> {
    let r = &p.rec;
    let opt = |b: &'a [u8]| (!b.is_empty()).then_some(b);
    Hentity {
        id: &r.id,
        pres_uri: &r.pres_uri,
        watcher_uri: opt(&r.watcher_uri),
        event: r.event,
        flag: r.flag,
        expires: r.expires,
        desired_expires: r.desired_expires,
        etag,
        tuple_id: &r.tuple_id,
        body: opt(&p.body),
        content_type: &r.content_type,
        call_id: &r.call_id,
        to_tag: &r.to_tag,
        from_tag: &r.from_tag,
        cseq: r.cseq as i32,
        version: r.version,
        extra_headers: opt(&r.extra_headers),
        outbound_proxy: opt(&r.outbound_proxy),
        record_route: &r.record_route,
        remote_contact: &r.remote_contact,
        contact: &r.contact,
        cb_param: p.cb_param as usize,
        ua_flag: if p.from_consumer { pua_api::REQ_OTHER } else { pua_api::REQ_ME },
    }
}

fn run_callbacks(p: &Pending, etag: &[u8], reply: Option<&mut SipMsg>) {
    if p.from_consumer {
        pua_api::run_callbacks(&hentity(p, etag), reply);
    }
}

fn pub_key(r: &Record) -> PubKey {
    PubKey { pres_uri: r.pres_uri.clone(), flag: r.flag, event: r.event, id: r.id.clone() }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `send_publish` of the API.
pub fn send_publish(p: Publish) -> i32 {
    let Some(ev) = events::get(p.event) else {
        lm_err!("send_publish: event {} is not registered", p.event);
        return -1;
    };
    let Some(store) = m::store() else { return -1 };
    if p.pres_uri.is_empty() {
        lm_err!("send_publish: no presentity URI");
        return -1;
    }
    let key = PubKey { pres_uri: p.pres_uri.clone(), flag: p.source_flag, event: p.event, id: p.id.clone() };
    let forced_initial = p.flag & INSERT_TYPE != 0;
    let found = match store.publication(&key, p.etag.as_deref(), p.expires != 0 && !forced_initial) {
        Ok(f) => f,
        Err(e) => {
            lm_err!("send_publish for {}: {e}", text(&p.pres_uri));
            return -1;
        }
    };
    if p.etag.is_some() && found.is_none() {
        return ERR_WRONG_ETAG;
    }
    let existing = if forced_initial { None } else { found };
    let (etag, tuple_id, version) = match &existing {
        None if p.expires == 0 => return 0,
        None if p.body.is_none() => return ERR_PUBLISH_NO_BODY,
        None => (None, Vec::new(), 0),
        Some(r) => (Some(r.etag.clone()), r.tuple_id.clone(), r.version),
    };
    let (body, tuple_id) = match p.body.as_deref().filter(|_| p.expires != 0) {
        Some(b) => match events::process(&ev, &p, b, version, &tuple_id, &new_tuple_id()) {
            Ok(x) => (Some(x.0), x.1),
            Err(e) => {
                lm_err!("send_publish for {}: the {} body cannot be published: {e}", text(&p.pres_uri), ev.name);
                return -1;
            }
        },
        None => (None, tuple_id),
    };
    let content_type = if p.content_type.is_empty() { ev.content_type.as_bytes().to_vec() } else { p.content_type.clone() };
    let pending = Pending {
        rec: Record {
            id: p.id.clone(),
            pres_uri: p.pres_uri.clone(),
            event: p.event,
            flag: p.source_flag,
            desired_expires: desired(p.expires),
            tuple_id,
            outbound_proxy: p.outbound_proxy.clone().unwrap_or_default(),
            extra_headers: p.extra_headers.clone().unwrap_or_default(),
            content_type: content_type.clone(),
            version,
            ..Default::default()
        },
        etag: etag.clone().unwrap_or_default(),
        body: body.clone().unwrap_or_default(),
        expires: p.expires,
        cb_param: p.cb_param as u64,
        from_consumer: true,
        initial: false,
    };
    let hdrs = headers::publish(&ev.name, requested(p.expires), m::min_expires(), etag.as_deref(), body.as_ref().map(|_| &content_type[..]), p.extra_headers.as_deref());
    match publish(&pending, &hdrs, body.as_deref().unwrap_or_default()) {
        Ok(_) => 0,
        Err(e) => {
            lm_err!("send_publish for {}: {e}", text(&p.pres_uri));
            -1
        }
    }
}

fn publish(p: &Pending, hdrs: &[u8], body: &[u8]) -> Result<Sent, kamailio::Error> {
    let uri = text(&p.rec.pres_uri);
    let proxy = if p.rec.outbound_proxy.is_empty() { m::outbound_proxy() } else { text(&p.rec.outbound_proxy) };
    let req = Request {
        method: "PUBLISH",
        ruri: &uri,
        to: &uri,
        from: &uri,
        headers: &text(hdrs),
        body,
        next_hop: (!proxy.is_empty()).then_some(proxy.as_str()),
    };
    let sent = m::tm()?.send_with(&req, None, on_publish_reply, &p.encode())?;
    // A dropped PUBLISH stored nothing (records are stored on the reply); like stock 6.0 it
    // is no error for the caller.
    log_drop(sent, "PUBLISH", &uri);
    if sent == Sent::Queued {
        stats::PUBLISH_SENT.inc();
    }
    Ok(sent)
}

/// Says in the log that the script dropped a request (Kamailio 6.0 reports it as a success).
fn log_drop(sent: Sent, method: &str, uri: &str) {
    if sent == Sent::Dropped {
        lm_info!("the {method} to {uri} was dropped by event_route[tm:local-request]");
    }
}

fn on_publish_reply(code: i32, reply: Option<&mut SipMsg>, data: &[u8]) {
    stats::reply(code, reply.is_some());
    let Some(p) = Pending::decode(data) else {
        lm_err!("PUBLISH reply: the request's state is damaged");
        return;
    };
    let Some(store) = m::store() else { return };
    let key = pub_key(&p.rec);
    let sent = (!p.etag.is_empty()).then_some(&p.etag[..]);
    let Some(reply) = reply else {
        lm_warn!("PUBLISH for {} got no reply ({code})", text(&p.rec.pres_uri));
        run_callbacks(&p, &p.etag, None);
        return;
    };
    // The Expires and SIP-ETag of an error reply are never looked at.
    let (expires, etag) = if code < 300 { (reply.expires(), reply.header("SIP-ETag").map(<[u8]>::to_vec)) } else { (None, None) };
    let result = match reply::publish_outcome(code, expires, etag.as_deref(), !p.body.is_empty(), p.rec.flag) {
        PublishOutcome::Refused { republish } => {
            if let Err(e) = store.remove_publication(&key, sent) {
                lm_err!("PUBLISH reply {code}: {e}");
            }
            m::changed();
            if republish {
                // The server lost the publication: publish it anew.
                let again = Publish {
                    id: p.rec.id.clone(),
                    pres_uri: p.rec.pres_uri.clone(),
                    body: Some(p.body.clone()),
                    expires: remaining(p.rec.desired_expires),
                    flag: INSERT_TYPE,
                    source_flag: p.rec.flag,
                    event: p.rec.event,
                    content_type: p.rec.content_type.clone(),
                    etag: None,
                    outbound_proxy: (!p.rec.outbound_proxy.is_empty()).then(|| p.rec.outbound_proxy.clone()),
                    extra_headers: (!p.rec.extra_headers.is_empty()).then(|| p.rec.extra_headers.clone()),
                    cb_param: p.cb_param as usize,
                };
                if send_publish(again) < 0 {
                    lm_err!("PUBLISH reply 412: cannot publish {} anew", text(&p.rec.pres_uri));
                }
            }
            run_callbacks(&p, &p.etag, Some(reply));
            return;
        }
        PublishOutcome::NoExpires => {
            lm_err!("the {code} to PUBLISH for {} has no valid Expires; the publication is left as it was", text(&p.rec.pres_uri));
            return;
        }
        PublishOutcome::NoEtag => {
            lm_err!("the {code} to PUBLISH for {} has no SIP-ETag; the publication is left as it was", text(&p.rec.pres_uri));
            return;
        }
        PublishOutcome::Ended => store.remove_publication(&key, sent),
        PublishOutcome::Accepted { etag, expires } => {
            let rec = Record { etag: etag.to_vec(), expires: now().saturating_add(expires), ..p.rec.clone() };
            store.publication_accepted(&key, sent, rec)
        }
    };
    m::changed();
    if let Err(e) = result {
        // The presence server accepted what pua could not keep: the caller is told it failed
        // (as if no reply had come), not that the publication is in place.
        lm_err!("PUBLISH reply {code} for {}: the publication cannot be stored: {e}", text(&p.rec.pres_uri));
        run_callbacks(&p, &p.etag, None);
        return;
    }
    run_callbacks(&p, &p.etag, Some(reply));
}

/// A tuple id for a PIDF document that has none.
fn new_tuple_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("0x{:x}{:x}", kamailio::pid(), (RandomState::new().build_hasher().finish() & 0xffff_ffff) ^ N.fetch_add(1, Ordering::Relaxed))
}

/// A Call-ID for a new dialog: random, with the process and a counter so it is unique.
fn new_call_id() -> Vec<u8> {
    static N: AtomicU64 = AtomicU64::new(0);
    let r = RandomState::new().build_hasher().finish();
    format!("{r:016x}-{}-{}@pua", kamailio::pid(), N.fetch_add(1, Ordering::Relaxed)).into_bytes()
}

/// The flag a subscription is stored and matched under.
fn stored_flag(flag: i32) -> i32 {
    if flag & XMPP_INITIAL_SUBS != 0 { XMPP_SUBSCRIBE } else { flag }
}

/// `send_subscribe` of the API.
pub fn send_subscribe(s: Subscribe) -> i32 {
    let Some(ev) = events::get(s.event) else {
        lm_err!("send_subscribe: event {} is not registered", s.event);
        return -1;
    };
    let Some(store) = m::store() else { return -1 };
    if s.pres_uri.is_empty() || s.watcher_uri.is_empty() {
        lm_err!("send_subscribe: a presentity and a watcher URI are needed");
        return -1;
    }
    let key = SubKey {
        pres_uri: s.pres_uri.clone(),
        watcher_uri: s.watcher_uri.clone(),
        flag: stored_flag(s.source_flag),
        event: s.event,
        id: s.id.clone(),
        remote_contact: m::check_remote_contact().then(|| s.remote_target.clone().unwrap_or_default()),
    };
    let found = match store.subscription(&key) {
        Ok(f) => f.filter(|_| s.flag & INSERT_TYPE == 0),
        Err(e) => {
            lm_err!("send_subscribe for {}: {e}", text(&s.pres_uri));
            return -1;
        }
    };
    let expires = requested(s.expires);
    let hdrs = headers::subscribe(&ev.name, &s.contact, expires, m::min_expires(), s.extra_headers.as_deref());
    let result = match found {
        None if s.expires == 0 => return 0,
        None => initial_subscribe(&s, &hdrs),
        Some(_) if s.internal_update => return 0,
        Some(r) if r.is_temporary() => {
            if s.expires == 0 {
                let _ = store.remove_dialog(&r.pres_uri, &r.call_id);
                m::changed();
            } else {
                lm_dbg!("send_subscribe: the dialog to {} is not established yet", text(&s.pres_uri));
            }
            return 0;
        }
        Some(r) => {
            let p = Pending {
                rec: Record { desired_expires: desired(s.expires), flag: s.source_flag, ..r },
                expires: s.expires,
                cb_param: s.cb_param as u64,
                from_consumer: true,
                ..Default::default()
            };
            subscribe_within(&p, &hdrs).map(|_| ())
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            lm_err!("send_subscribe for {}: {e}", text(&s.pres_uri));
            -1
        }
    }
}

fn initial_subscribe(s: &Subscribe, hdrs: &[u8]) -> Result<(), kamailio::Error> {
    let store = m::store().ok_or("no store")?;
    let call_id = new_call_id();
    let rec = Record {
        id: s.id.clone(),
        pres_uri: s.pres_uri.clone(),
        watcher_uri: s.watcher_uri.clone(),
        event: s.event,
        flag: stored_flag(s.source_flag),
        expires: now() + TEMPORARY_LIFETIME,
        desired_expires: desired(s.expires),
        call_id: call_id.clone(),
        contact: s.contact.clone(),
        outbound_proxy: s.outbound_proxy.clone().unwrap_or_default(),
        extra_headers: s.extra_headers.clone().unwrap_or_default(),
        ..Default::default()
    };
    // Stored before sending, so that a reply cannot come before its dialog exists.
    store.insert(rec.clone()).map_err(|e| e.to_string())?;
    m::changed();
    let p = Pending { rec: Record { flag: s.source_flag, ..rec }, expires: s.expires, cb_param: s.cb_param as u64, from_consumer: true, initial: true, ..Default::default() };
    let ruri = text(s.remote_target.as_deref().unwrap_or(&s.pres_uri));
    let (to, from) = (text(&s.pres_uri), text(&s.watcher_uri));
    let proxy = s.outbound_proxy.as_deref().map(text);
    let req = Request { method: "SUBSCRIBE", ruri: &ruri, to: &to, from: &from, headers: &text(hdrs), body: b"", next_hop: proxy.as_deref() };
    let sent = m::tm().and_then(|tm| tm.send_with(&req, Some(&call_id), on_subscribe_reply, &p.encode()));
    if sent == Ok(Sent::Queued) {
        stats::SUBSCRIBE_SENT.inc();
    }
    // A dialog whose SUBSCRIBE failed or was dropped will never get a reply.
    if sent != Ok(Sent::Queued) {
        let _ = store.remove_dialog(&s.pres_uri, &call_id);
        m::changed();
    }
    log_drop(sent?, "SUBSCRIBE", &ruri);
    Ok(())
}

fn subscribe_within(p: &Pending, hdrs: &[u8]) -> Result<Sent, kamailio::Error> {
    let r = &p.rec;
    let d = InDialog {
        method: "SUBSCRIBE",
        call_id: &r.call_id,
        local_tag: &r.from_tag,
        remote_tag: &r.to_tag,
        local_uri: &r.watcher_uri,
        remote_uri: &r.pres_uri,
        remote_target: if r.remote_contact.is_empty() { &r.pres_uri } else { &r.remote_contact },
        route_set: &r.record_route,
        cseq: r.cseq,
        headers: hdrs,
        body: b"",
    };
    let sent = m::tm()?.send_within(&d, on_subscribe_reply, &p.encode())?;
    log_drop(sent, "SUBSCRIBE", &text(&r.pres_uri));
    if sent == Sent::Queued {
        stats::SUBSCRIBE_SENT.inc();
    }
    Ok(sent)
}

fn on_subscribe_reply(code: i32, reply: Option<&mut SipMsg>, data: &[u8]) {
    stats::reply(code, reply.is_some());
    let Some(mut p) = Pending::decode(data) else {
        lm_err!("SUBSCRIBE reply: the request's state is damaged");
        return;
    };
    let Some(store) = m::store() else { return };
    let (pres, call_id) = (p.rec.pres_uri.clone(), p.rec.call_id.clone());
    let drop_dialog = || {
        if let Err(e) = store.remove_dialog(&pres, &call_id) {
            lm_err!("SUBSCRIBE reply: {e}");
        }
        m::changed();
    };
    let Some(reply) = reply else {
        lm_warn!("SUBSCRIBE to {} got no reply ({code}); the dialog is dropped", text(&pres));
        drop_dialog();
        run_callbacks(&p, b"", None);
        return;
    };
    if p.initial {
        if let Some((_, tag)) = reply.from() {
            p.rec.from_tag = tag.to_vec();
        }
    }
    let (to_tag, contact) = (reply.to().map(|(_, t)| t.to_vec()).unwrap_or_default(), reply.contact_uri().ok().flatten().map(<[u8]>::to_vec));
    let read = reply::SubscribeReply { code, expires: reply.expires(), to_tag: &to_tag, contact: contact.as_deref(), cseq: reply.cseq_number() };
    let result = match reply::subscribe_outcome(&read, p.initial) {
        SubscribeOutcome::Refused { resubscribe: again } => {
            drop_dialog();
            if again {
                resubscribe(&p);
            }
            run_callbacks(&p, b"", Some(reply));
            return;
        }
        SubscribeOutcome::Ended => {
            drop_dialog();
            run_callbacks(&p, b"", Some(reply));
            return;
        }
        SubscribeOutcome::NoContact { drop } => {
            lm_err!("the {code} to SUBSCRIBE for {} has no valid Contact", text(&pres));
            if drop {
                drop_dialog();
            }
            return;
        }
        SubscribeOutcome::NoCseq => {
            lm_err!("the {code} to SUBSCRIBE for {} has no valid CSeq", text(&pres));
            return;
        }
        SubscribeOutcome::NoToTag => {
            lm_err!("the {code} to SUBSCRIBE for {} has no To tag", text(&pres));
            drop_dialog();
            return;
        }
        SubscribeOutcome::Confirmed { to_tag, contact, cseq, expires } => {
            let rr = reply.header_values("Record-Route");
            p.rec.to_tag = to_tag.to_vec();
            p.rec.record_route = headers::route_set(&rr);
            p.rec.remote_contact = contact.to_vec();
            p.rec.cseq = cseq;
            p.rec.expires = now().saturating_add(expires);
            store.confirm_dialog(Record { flag: stored_flag(p.rec.flag), ..p.rec.clone() })
        }
        SubscribeOutcome::Refreshed { contact, cseq, expires } => {
            let id = DialogId { call_id: call_id.clone(), from_tag: p.rec.from_tag.clone(), to_tag: p.rec.to_tag.clone() };
            store.update_dialog(&pres, &id, now().saturating_add(expires), cseq, Some(contact)).map(|_| ())
        }
    };
    if let Err(e) = result {
        lm_err!("SUBSCRIBE reply for {}: {e}", text(&pres));
    }
    m::changed();
    run_callbacks(&p, b"", Some(reply));
}

/// A dialog the server ended (an error reply to a refresh, ours or a consumer's): start a new
/// one, to the last remote target, while the consumer wants it.
fn resubscribe(p: &Pending) {
    let expires = remaining(p.rec.desired_expires);
    if expires == 0 {
        return;
    }
    let r = &p.rec;
    let s = Subscribe {
        id: r.id.clone(),
        pres_uri: r.pres_uri.clone(),
        watcher_uri: r.watcher_uri.clone(),
        contact: r.contact.clone(),
        remote_target: (!r.remote_contact.is_empty()).then(|| r.remote_contact.clone()),
        outbound_proxy: (!r.outbound_proxy.is_empty()).then(|| r.outbound_proxy.clone()),
        event: r.event,
        extra_headers: (!r.extra_headers.is_empty()).then(|| r.extra_headers.clone()),
        expires,
        source_flag: r.flag,
        flag: INSERT_TYPE,
        cb_param: p.cb_param as usize,
        internal_update: false,
    };
    if send_subscribe(s) < 0 {
        lm_err!("cannot subscribe to {} anew", text(&r.pres_uri));
    }
}

/// Refreshes what a sweep found due (pua's own requests: no consumer callbacks).
pub fn refresh(due: Vec<Record>) {
    for r in due {
        let Some(ev) = events::get(r.event) else { continue };
        let expires = if r.desired_expires == 0 { m::default_expires() } else { r.desired_expires.saturating_sub(now()) as i32 };
        let p = Pending { rec: r.clone(), etag: r.etag.clone(), expires, ..Default::default() };
        let result = if r.is_subscription() {
            subscribe_within(&p, &headers::subscribe(&ev.name, &r.contact, expires, m::min_expires(), Some(&r.extra_headers)))
        } else {
            publish(&p, &headers::publish(&ev.name, expires, m::min_expires(), Some(&r.etag), None, Some(&r.extra_headers)), b"")
        };
        match result {
            Ok(Sent::Queued) => stats::REFRESHES.inc(),
            Ok(Sent::Dropped) => {}
            Err(e) => lm_err!("refreshing {} for {}: {e}", ev.name, text(&r.pres_uri)),
        }
    }
}
