//! The tm module's API (`load_tm`): sending requests statefully, with a completion callback
//! that may run in any process (the one that receives the final reply, or the timer).

use std::ffi::{c_int, c_void};

use crate::guard::guard;
use crate::mem::{shm_box, Shm, ShmBox};
use crate::msg::SipMsg;
use crate::{api, kstr, log, sys, Error};

/// What became of a request tm accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// On its way; the completion callback runs once.
    Queued,
    /// `event_route[tm:local-request]` dropped it: tm never runs the completion callback, and
    /// the callback's data is already released. Kamailio 6.0 reports a drop with
    /// `TMCB_LOCAL_REQUEST_DROP`; 5.6 only by returning 0 instead of 1 (its callers, stock's
    /// included, took that for a success and leaked the callback's data).
    Dropped,
}

/// tm's verdict on a request it did not refuse: 6.0 flags a drop in the flags it hands back.
#[cfg(kamailio_target = "6.0")]
fn outcome(_rc: c_int, uac: &sys::uac_req_t) -> Sent {
    if uac.cb_flags & sys::TMCB_LOCAL_REQUEST_DROP != 0 {
        Sent::Dropped
    } else {
        Sent::Queued
    }
}

/// tm's verdict on a request it did not refuse: 5.6 returns 0 for a drop, 1 for a request sent.
#[cfg(not(kamailio_target = "6.0"))]
fn outcome(rc: c_int, _uac: &sys::uac_req_t) -> Sent {
    if rc == 0 {
        Sent::Dropped
    } else {
        Sent::Queued
    }
}

/// The bound tm API (the C struct, 560 bytes, all function pointers).
#[derive(Clone, Copy, Default)]
pub struct TmApi(pub sys::tm_binds);

/// An out-of-dialog request.
pub struct Request<'a> {
    pub method: &'a str,
    pub ruri: &'a str,
    pub to: &'a str,
    pub from: &'a str,
    /// Extra header lines, each ending in CRLF.
    pub headers: &'a str,
    pub body: &'a [u8],
    /// Where to send it instead of the R-URI's host.
    pub next_hop: Option<&'a str>,
}

/// Called once with the final status (408 when tm gave up waiting), the reply when there is
/// a real one, and the caller's cookie. Runs in whichever process completes the transaction.
pub type OnComplete = fn(code: i32, reply: Option<&mut SipMsg>, cookie: usize);

/// The callback and cookie, in shm because the completing process may be another one.
#[repr(C)]
struct Pending {
    f: OnComplete,
    cookie: usize,
}

unsafe extern "C" fn completed(_t: *mut sys::cell, _type: c_int, ps: *mut sys::tmcb_params) {
    guard(log::module_name(), "tm completion callback", (), || {
        // SAFETY: tm passes its params; `*param` is the transaction's copy of our cbp.
        let Some(ps) = (unsafe { ps.as_mut() }) else { return };
        let slot = ps.param;
        // SAFETY: as above; the slot is NULL once we took the pending callback.
        let pending = unsafe { slot.as_mut() }.map(|s| std::mem::replace(s, std::ptr::null_mut()));
        let Some(p) = pending.filter(|p| !p.is_null()) else { return };
        // SAFETY: `p` is the ShmBox leaked by send(); it is taken exactly once. Another
        // process may have filled it (see crate::valgrind).
        let pending = unsafe {
            crate::valgrind::mark_defined(std::slice::from_raw_parts(p as *const u8, std::mem::size_of::<Pending>()));
            ShmBox::from_raw_in(p as *mut Pending, Shm)
        };
        // FAKED_REPLY is (sip_msg*)-1: tm's stand-in when no reply came.
        let reply = if ps.rpl as isize == -1 { None } else { unsafe { SipMsg::from_raw(ps.rpl) } };
        (pending.f)(ps.code, reply, pending.cookie);
    });
}

// SAFETY: a table of function pointers into another module, identical in every process.
unsafe impl Send for TmApi {}
unsafe impl Sync for TmApi {}

impl TmApi {
    /// Binds tm (it must be loaded); `load_tm` is exported with NO_SCRIPT (-1) parameters.
    pub fn bind() -> Result<TmApi, Error> {
        api::bind::<sys::tm_binds>(c"load_tm", -1).map(TmApi).ok_or_else(|| Error::from("cannot bind the tm module (is tm.so loaded?)"))
    }

    /// The raw function table.
    pub fn raw(&self) -> &sys::tm_binds {
        &self.0
    }

    /// Sends `req` statefully (`t_request`); `on_complete` runs when it completes, unless the
    /// request was dropped.
    pub fn send(&self, req: &Request, on_complete: Option<(OnComplete, usize)>) -> Result<Sent, Error> {
        let pending = match on_complete {
            Some((f, cookie)) => ShmBox::into_raw(shm_box(Pending { f, cookie }).ok_or_else(|| Error::from("out of shared memory"))?),
            None => std::ptr::null_mut(),
        };
        let cb = (!pending.is_null()).then_some((completed as TransactionCb, pending as *mut c_void));
        let sent = self.request(req, None, cb);
        if !pending.is_null() && !matches!(sent, Ok(Sent::Queued)) {
            // SAFETY: tm did not take the callback parameter: the request failed or was dropped.
            drop(unsafe { ShmBox::from_raw_in(pending, Shm) });
        }
        sent
    }

    /// `t_request` with an optional Call-ID and completion callback.
    fn request(&self, req: &Request, call_id: Option<&[u8]>, cb: Option<(TransactionCb, *mut c_void)>) -> Result<Sent, Error> {
        let t_request = self.0.t_request.ok_or_else(|| Error::from("tm has no t_request"))?;
        let mut method = kstr::view(req.method.as_bytes());
        let mut headers = kstr::view(req.headers.as_bytes());
        let mut body = kstr::view(req.body);
        let mut ruri = kstr::view(req.ruri.as_bytes());
        let mut to = kstr::view(req.to.as_bytes());
        let mut from = kstr::view(req.from.as_bytes());
        let mut hop = req.next_hop.map(|h| kstr::view(h.as_bytes()));
        let mut cid = call_id.map(kstr::view);
        let mut uac = sys::uac_req_t {
            method: &mut method,
            headers: if req.headers.is_empty() { std::ptr::null_mut() } else { &mut headers },
            body: if req.body.is_empty() { std::ptr::null_mut() } else { &mut body },
            callid: cid.as_mut().map_or(std::ptr::null_mut(), |c| c as *mut sys::str_),
            ..Default::default()
        };
        if let Some((f, param)) = cb {
            uac.cb_flags = sys::TMCB_LOCAL_COMPLETED as _;
            uac.cb = Some(f);
            uac.cbp = param;
        }
        let hop_p = hop.as_mut().map_or(std::ptr::null_mut(), |h| h as *mut sys::str_);
        // SAFETY: tm copies everything it keeps into the transaction before returning.
        let rc = unsafe { t_request(&mut uac, &mut ruri, &mut to, &mut from, hop_p) };
        if rc < 0 {
            return Err(Error::from(format!("tm could not send the {} to {}", req.method, req.ruri)));
        }
        Ok(outcome(rc, &uac))
    }
}

/// tm's completion callback signature.
type TransactionCb = unsafe extern "C" fn(*mut sys::cell, c_int, *mut sys::tmcb_params);

/// Called once with the final status (408 when tm gave up waiting), the reply when there is a
/// real one, and the bytes given when the request was sent. Runs in whichever process
/// completes the transaction.
pub type OnReply = fn(code: i32, reply: Option<&mut SipMsg>, data: &[u8]);

/// The callback and its data, in one shm block because the completing process may be another
/// one: the data's length, the function's address (identical in every process, forked from
/// one image), then the data.
struct PendingData;

const WORD: usize = std::mem::size_of::<usize>();

unsafe extern "C" fn completed_data(_t: *mut sys::cell, _type: c_int, ps: *mut sys::tmcb_params) {
    guard(log::module_name(), "tm completion callback", (), || {
        // SAFETY: tm passes its params; `*param` is the transaction's copy of our cbp.
        let Some(ps) = (unsafe { ps.as_mut() }) else { return };
        // SAFETY: as above; the slot is NULL once we took the pending callback.
        let pending = unsafe { ps.param.as_mut() }.map(|s| std::mem::replace(s, std::ptr::null_mut()));
        let Some(p) = pending.filter(|p| !p.is_null()) else { return };
        // SAFETY: `p` is the block pending_data() filled; it is taken exactly once, copied out
        // and freed before the callback runs.
        let (f, data) = unsafe {
            let b = p as *const u8;
            // The block may come from another process, whose writes valgrind cannot see here.
            crate::valgrind::mark_defined(std::slice::from_raw_parts(b, 2 * WORD));
            let len = (b as *const usize).read_unaligned();
            crate::valgrind::mark_defined(std::slice::from_raw_parts(b.add(2 * WORD), len));
            let f = std::mem::transmute::<usize, OnReply>((b.add(WORD) as *const usize).read_unaligned());
            let data = std::slice::from_raw_parts(b.add(2 * WORD), len).to_vec();
            crate::mem::shm_free(p);
            (f, data)
        };
        // FAKED_REPLY is (sip_msg*)-1: tm's stand-in when no reply came.
        let reply = if ps.rpl as isize == -1 { None } else { unsafe { SipMsg::from_raw(ps.rpl) } };
        f(ps.code, reply, &data);
    });
}

/// Puts the callback and its data into one shm block.
fn pending_data(f: OnReply, data: &[u8]) -> Result<*mut PendingData, Error> {
    let p = crate::mem::shm_malloc(2 * WORD + data.len()) as *mut u8;
    if p.is_null() {
        return Err(Error::from("out of shared memory"));
    }
    // SAFETY: a fresh block of 2 words plus the data.
    unsafe {
        (p as *mut usize).write_unaligned(data.len());
        (p.add(WORD) as *mut usize).write_unaligned(f as usize);
        std::ptr::copy_nonoverlapping(data.as_ptr(), p.add(2 * WORD), data.len());
    }
    Ok(p as *mut PendingData)
}

/// Releases the callback data of a request tm did not take.
fn drop_pending(p: *mut PendingData) {
    // SAFETY: tm did not take the callback parameter: the request failed or was dropped.
    unsafe { crate::mem::shm_free(p as *mut c_void) };
}

/// A request inside an established dialog, from the dialog's stored state.
pub struct InDialog<'a> {
    pub method: &'a str,
    pub call_id: &'a [u8],
    pub local_tag: &'a [u8],
    pub remote_tag: &'a [u8],
    pub local_uri: &'a [u8],
    pub remote_uri: &'a [u8],
    pub remote_target: &'a [u8],
    /// The route set as comma-separated route entries, first hop first (may be empty).
    pub route_set: &'a [u8],
    /// The CSeq of the last request sent; tm sends the next one.
    pub cseq: u32,
    /// Extra header lines, each ending in CRLF.
    pub headers: &'a [u8],
    pub body: &'a [u8],
}

impl TmApi {
    /// Sends `req` statefully (`t_request`) with `call_id` when given; `on_reply` gets `data`
    /// back when it completes, unless the request was dropped.
    pub fn send_with(&self, req: &Request, call_id: Option<&[u8]>, on_reply: OnReply, data: &[u8]) -> Result<Sent, Error> {
        let pending = pending_data(on_reply, data)?;
        let sent = self.request(req, call_id, Some((completed_data as TransactionCb, pending as *mut c_void)));
        if !matches!(sent, Ok(Sent::Queued)) {
            drop_pending(pending);
        }
        sent
    }

    /// Sends a request inside a dialog (`t_request_within`); `on_reply` gets `data` back,
    /// unless the request was dropped.
    pub fn send_within(&self, d: &InDialog, on_reply: OnReply, data: &[u8]) -> Result<Sent, Error> {
        let within = self.0.t_request_within.ok_or_else(|| Error::from("tm has no t_request_within"))?;
        let mut dlg = sys::dlg_t::default();
        dlg.id.call_id = kstr::view(d.call_id);
        dlg.id.rem_tag = kstr::view(d.remote_tag);
        dlg.id.loc_tag = kstr::view(d.local_tag);
        dlg.loc_uri = kstr::view(d.local_uri);
        dlg.rem_uri = kstr::view(d.remote_uri);
        dlg.rem_target = kstr::view(d.remote_target);
        dlg.loc_seq.value = d.cseq;
        dlg.loc_seq.is_set = 1;
        dlg.state = sys::DLG_CONFIRMED;
        if !d.route_set.is_empty() {
            // SAFETY: the parser builds a pkg rr_t list viewing `route_set`, freed below.
            if unsafe { sys::parse_rr_body(d.route_set.as_ptr() as *mut _, d.route_set.len() as c_int, &mut dlg.route_set) } < 0 {
                return Err(Error::from("the stored route set does not parse"));
            }
        }
        let mut method = kstr::view(d.method.as_bytes());
        let mut headers = kstr::view(d.headers);
        let mut body = kstr::view(d.body);
        let mut uac = sys::uac_req_t {
            method: &mut method,
            headers: if d.headers.is_empty() { std::ptr::null_mut() } else { &mut headers },
            body: if d.body.is_empty() { std::ptr::null_mut() } else { &mut body },
            dialog: &mut dlg,
            ..Default::default()
        };
        let pending = match pending_data(on_reply, data) {
            Ok(p) => {
                uac.cb_flags = sys::TMCB_LOCAL_COMPLETED as _;
                uac.cb = Some(completed_data);
                uac.cbp = p as *mut c_void;
                p
            }
            Err(e) => {
                // SAFETY: the list parse_rr_body made.
                unsafe { sys::free_rr(&mut dlg.route_set) };
                return Err(e);
            }
        };
        // SAFETY: tm reads the dialog (and computes its next hop) while sending; it copies
        // everything it keeps into the transaction.
        let rc = unsafe { within(&mut uac) };
        // SAFETY: the list parse_rr_body made; tm keeps no pointer into it.
        unsafe { sys::free_rr(&mut dlg.route_set) };
        if rc < 0 {
            drop_pending(pending);
            return Err(Error::from(format!("tm could not send the in-dialog {}", d.method)));
        }
        let sent = outcome(rc, &uac);
        if sent == Sent::Dropped {
            drop_pending(pending);
        }
        Ok(sent)
    }
}
