//! The pua module's API (`bind_pua`) as a consumer sees it.

use std::ffi::{c_int, c_void, CString};
use std::sync::Mutex;

use crate::guard::guard;
use crate::msg::SipMsg;
use crate::pua_api::{Hentity, ERR_PUBLISH_NO_BODY, ERR_WRONG_ETAG};
use crate::{api, kstr, log, sys, Error};

/// pua's event flags (pua/hash.h).
pub mod event {
    pub const PRESENCE: i32 = 1;
    pub const PWINFO: i32 = 2;
    pub const BLA: i32 = 4;
    pub const MSGSUM: i32 = 8;
    pub const CONFERENCE: i32 = 16;
    pub const DIALOG: i32 = 32;
    pub const REGINFO: i32 = 64;
    pub const XCAPDIFF: i32 = 128;
    /// `as-feature-event`: pua registers it from Kamailio 6.0 on (for `presence_dfks`).
    pub const DFKS: i32 = 256;
}

/// pua's source flags (pua/hash.h): who asked for a publication or a subscription. Callbacks
/// are registered for, and run on, these.
pub mod source {
    pub const UL_PUBLISH: i32 = 1;
    pub const BLA_PUBLISH: i32 = 2;
    pub const BLA_SUBSCRIBE: i32 = 4;
    pub const XMPP_PUBLISH: i32 = 8;
    pub const XMPP_SUBSCRIBE: i32 = 16;
    pub const XMPP_INITIAL_SUBS: i32 = 32;
    pub const RPC_PUBLISH: i32 = 64;
    pub const RPC_ASYN_PUBLISH: i32 = 128;
    pub const RPC_SUBSCRIBE: i32 = 256;
    pub const RLS_SUBSCRIBE: i32 = 512;
    pub const DIALOG_PUBLISH: i32 = 1024;
    pub const PURPLE_PUBLISH: i32 = 2048;
    pub const REGINFO_PUBLISH: i32 = 4096;
    pub const REGINFO_SUBSCRIBE: i32 = 8192;
    pub const XCAPDIFF_PUBLISH: i32 = 16384;
    pub const XCAPDIFF_SUBSCRIBE: i32 = 32768;
    /// Kamailio 6.0 on.
    pub const DFKS_PUBLISH: i32 = 1 << 16;
    /// Kamailio 6.0 on.
    pub const DFKS_SUBSCRIBE: i32 = 1 << 17;
}

/// A PUBLISH for pua to send (`publ_info_t`), borrowing the caller's bytes for the call.
#[derive(Debug, Clone, Copy, Default)]
pub struct Publication<'a> {
    /// The consumer's record id (may be empty).
    pub id: &'a [u8],
    pub pres_uri: &'a [u8],
    /// Required for a new publication; `None` for a refresh or a removal.
    pub body: Option<&'a [u8]>,
    /// Relative seconds; negative: pua's default_expires; 0: remove the publication.
    pub expires: i32,
    /// `pua_api::INSERT_TYPE` forces a new publication; 0 lets pua decide.
    pub flag: i32,
    /// One of [`source`].
    pub source_flag: i32,
    /// One of [`event`].
    pub event: i32,
    /// Empty: the event's content type.
    pub content_type: &'a [u8],
    pub etag: Option<&'a [u8]>,
    pub outbound_proxy: Option<&'a [u8]>,
    pub extra_headers: Option<&'a [u8]>,
    /// Handed back unchanged to the callbacks as `cb_param`; pua never dereferences it, so
    /// any number works (a pointer must be to shm: the callback runs in another process).
    pub cb_param: usize,
}

/// Why pua did not send a PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishError {
    /// A new publication needs a body (`ERR_PUBLISH_NO_BODY`).
    NoBody,
    /// An ETag was given but no publication has it (418).
    WrongEtag,
    /// pua's code for any other failure (negative), or pua has no `send_publish`.
    Failed(i32),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::NoBody => write!(f, "a new publication needs a body"),
            PublishError::WrongEtag => write!(f, "no publication has that ETag"),
            PublishError::Failed(rc) => write!(f, "pua could not send the PUBLISH ({rc})"),
        }
    }
}

/// A consumer callback: the entity whose request completed, and its final reply (`None` when
/// none came: tm's faked reply).
pub type Callback = fn(&Hentity, Option<&mut SipMsg>);

struct Callbacks {
    /// The source flags the trampoline is registered with pua for.
    registered: i32,
    list: Vec<(i32, Callback)>,
}

/// This module's callbacks. Registered in mod_init, before the fork: every process has them.
static CALLBACKS: Mutex<Callbacks> = Mutex::new(Callbacks { registered: 0, list: Vec::new() });

/// The bound pua API.
#[derive(Clone, Copy)]
pub struct PuaApi(sys::pua_api_t);

// SAFETY: a table of function pointers into another module, identical in every process.
unsafe impl Send for PuaApi {}
unsafe impl Sync for PuaApi {}

impl PuaApi {
    /// Binds pua if it is loaded.
    pub fn bind() -> Option<PuaApi> {
        api::bind::<sys::pua_api_t>(c"bind_pua", 1).map(PuaApi)
    }

    /// Registers an event with pua, without a body processor (bodies pass through). pua keeps
    /// an existing event of the same name unchanged. Call from mod_init, pua loaded first.
    pub fn add_event(&self, flag: i32, name: &str, content_type: &str) -> Result<(), Error> {
        let add = self.0.add_event.ok_or_else(|| Error::from("pua has no add_event"))?;
        let n = CString::new(name).map_err(|_| Error::from("event name with NUL"))?;
        let c = CString::new(content_type).map_err(|_| Error::from("content type with NUL"))?;
        // SAFETY: pua copies both strings into shm.
        if unsafe { add(flag, n.as_ptr() as *mut _, c.as_ptr() as *mut _, None) } < 0 {
            return Err(Error::from(format!("pua refused the event {name}")));
        }
        Ok(())
    }

    /// Asks pua to send a PUBLISH (new, refresh, modify or removal, as pua finds the record).
    /// The reply reaches the callbacks registered for `p.source_flag`, in whichever process
    /// receives it.
    pub fn send_publish(&self, p: &Publication) -> Result<(), PublishError> {
        let send = self.0.send_publish.ok_or(PublishError::Failed(-1))?;
        let mut pres_uri = kstr::view(p.pres_uri);
        let mut body = p.body.map(kstr::view);
        let mut etag = p.etag.map(kstr::view);
        let mut proxy = p.outbound_proxy.map(kstr::view);
        let mut extra = p.extra_headers.map(kstr::view);
        let ptr = |s: &mut Option<sys::str_>| s.as_mut().map_or(std::ptr::null_mut(), |s| s as *mut sys::str_);
        let mut c = sys::publ_info {
            id: kstr::view(p.id),
            pres_uri: &mut pres_uri,
            body: ptr(&mut body),
            expires: p.expires,
            flag: p.flag,
            source_flag: p.source_flag,
            event: p.event,
            content_type: kstr::view(p.content_type),
            etag: ptr(&mut etag),
            outbound_proxy: ptr(&mut proxy),
            extra_headers: ptr(&mut extra),
            cb_param: p.cb_param as *mut c_void,
        };
        // SAFETY: pua reads the struct and the strings during the call only (it copies what
        // it keeps into shm) and never writes into the strings' bytes. It may overwrite
        // fields of `c` itself (flag, etag pointing at its stack): `c` is ours and dropped
        // unread after the call.
        match unsafe { send(&mut c) } {
            0 => Ok(()),
            ERR_PUBLISH_NO_BODY => Err(PublishError::NoBody),
            ERR_WRONG_ETAG => Err(PublishError::WrongEtag),
            rc => Err(PublishError::Failed(rc)),
        }
    }

    /// Registers `f` to run when a request of one of the source flags in `types` completes
    /// (pua runs callbacks for requests consumers asked for, not for its own refreshes). The
    /// stock pua accepts flags up to `RLS_SUBSCRIBE` only. Call from mod_init, with pua
    /// loaded before this module (its mod_init has run). A request whose source flag has
    /// several bits may reach `f` once per bit that was registered separately.
    pub fn register_callback(&self, types: i32, f: Callback) -> Result<(), Error> {
        if types <= 0 {
            return Err(Error::from(format!("invalid pua callback types {types}")));
        }
        let reg = self.0.register_puacb.ok_or_else(|| Error::from("pua has no register_puacb"))?;
        let mut g = CALLBACKS.lock().map_err(|_| Error::from("pua callback list poisoned"))?;
        // One trampoline serves every callback: it is registered once per flag, so that pua
        // calls it once per request and it runs every matching callback.
        let new_bits = types & !g.registered;
        if new_bits != 0 {
            // SAFETY: the trampoline has pua_cb's signature and lives as long as the module;
            // the parameter is NULL (pua shm_frees a non-NULL one at shutdown).
            let rc = unsafe { reg(new_bits, Some(trampoline), std::ptr::null_mut()) };
            if rc < 0 {
                return Err(Error::from(format!("pua refused a callback for types {new_bits} ({rc})")));
            }
            g.registered |= new_bits;
        }
        g.list.push((types, f));
        Ok(())
    }

    /// The raw function table.
    pub fn raw(&self) -> &sys::pua_api_t {
        &self.0
    }
}

/// The view of pua's entity that callbacks get.
///
/// # Safety
/// `h` is pua's `ua_pres_t` (zeroed where unset), whose strings stay valid while the result
/// is used.
unsafe fn entity<'a>(h: &'a sys::ua_pres_t) -> Hentity<'a> {
    // SAFETY: as documented; every str is NULL/0 or points at its bytes.
    unsafe {
        Hentity {
            id: kstr::bytes(&h.id),
            pres_uri: kstr::opt_bytes(h.pres_uri).unwrap_or_default(),
            watcher_uri: kstr::opt_bytes(h.watcher_uri),
            event: h.event,
            flag: h.flag,
            expires: h.expires,
            desired_expires: h.desired_expires,
            etag: kstr::bytes(&h.etag),
            tuple_id: kstr::bytes(&h.tuple_id),
            body: kstr::opt_bytes(h.body),
            content_type: kstr::bytes(&h.content_type),
            call_id: kstr::bytes(&h.call_id),
            to_tag: kstr::bytes(&h.to_tag),
            from_tag: kstr::bytes(&h.from_tag),
            cseq: h.cseq,
            version: h.version,
            extra_headers: kstr::opt_bytes(h.extra_headers),
            outbound_proxy: kstr::opt_bytes(h.outbound_proxy),
            record_route: kstr::bytes(&h.record_route),
            remote_contact: kstr::bytes(&h.remote_contact),
            contact: kstr::bytes(&h.contact),
            cb_param: h.cb_param as usize,
            ua_flag: h.ua_flag,
        }
    }
}

/// What pua calls: runs this module's callbacks whose types match the entity's source flag.
unsafe extern "C" fn trampoline(h: *mut sys::ua_pres_t, reply: *mut sys::sip_msg) -> c_int {
    guard(log::module_name(), "pua callback", 0, || {
        // SAFETY: pua passes its entity for the duration of the call.
        let Some(h) = (unsafe { h.as_ref() }) else { return 0 };
        // SAFETY: as above; the view does not outlive this call.
        let view = unsafe { entity(h) };
        // tm's FAKED_REPLY is (struct sip_msg *)-1: no reply came.
        let mut reply = if reply.is_null() || reply as usize == usize::MAX {
            None
        } else {
            // SAFETY: the reply tm hands pua, valid for the duration of the call.
            unsafe { SipMsg::from_raw(reply) }
        };
        let list: Vec<(i32, Callback)> = CALLBACKS.lock().map(|g| g.list.clone()).unwrap_or_default();
        for (types, f) in list {
            if types & h.flag != 0 {
                f(&view, reply.as_deref_mut());
            }
        }
        0
    })
}
