//! Events whose bodies and authorization a module provides to the presence module: the
//! callbacks of `pres_ev_t` (aggregate the publications into a NOTIFY body, apply a watcher's
//! rules to it, decide a watcher's subscription state, check a PUBLISH, fetch the rules
//! document), as generic C entry points over [`EventHandler`].
//!
//! Memory contracts (presence's): bodies handed back are a pkg `str` whose text is libxml2
//! memory (presence releases the text with `free_body` or `xmlFree`); rules documents are a
//! pkg `str` with pkg text; a subscription's reason is read during the call and copied.

use std::ffi::{c_char, c_int, c_uint, c_void};

use crate::guard::guard;
use crate::mem::PkgStr;
use crate::msg::SipMsg;
use crate::presence::{PresenceApi, Registered, PUBL_TYPE};
use crate::xml::XmlBuf;
use crate::{kstr, log, sys, Error};

/// A subscription's state (presence/subscribe.h).
pub mod status {
    pub const ACTIVE: u32 = 1;
    pub const PENDING: u32 = 2;
    pub const TERMINATED: u32 = 3;
    pub const WAITING: u32 = 4;
}

/// What a handler sees of a subscription.
#[derive(Debug, Clone, Copy)]
pub struct Subscription<'a> {
    pub pres_uri: &'a [u8],
    pub watcher_user: &'a [u8],
    pub watcher_domain: &'a [u8],
    pub from_user: &'a [u8],
    pub from_domain: &'a [u8],
    /// The current status (`status::*`).
    pub status: u32,
    /// The presentity's rules document, when presence found one.
    pub rules_doc: Option<&'a [u8]>,
}

/// A watcher's subscription state and its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthStatus {
    pub status: u32,
    /// Memory that outlives the call (presence copies it).
    pub reason: Option<&'static [u8]>,
}

/// What a module implements for its events. Each method is wired only when the event's
/// [`Callbacks`] ask for it.
pub trait EventHandler: 'static {
    /// The NOTIFY body from the presentity's publications (`None` entries are missing ones);
    /// `off_index` is a publication being removed. `None`: no body.
    fn aggregate(_user: &[u8], _domain: &[u8], _bodies: &[Option<&[u8]>], _off_index: Option<usize>) -> Option<Vec<u8>> {
        None
    }

    /// The body `subs` may see: `Ok(None)` leaves `body` as it is.
    fn apply_auth(_body: &[u8], _subs: &Subscription) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }

    /// The watcher's subscription state.
    fn auth_status(_subs: &Subscription) -> Result<AuthStatus, Error> {
        Ok(AuthStatus { status: status::ACTIVE, reason: None })
    }

    /// Checks a PUBLISH (and may reply to it): 1 to accept, -1 to refuse.
    fn check_publish(_msg: &mut SipMsg) -> i32 {
        1
    }

    /// The presentity's rules document, in pkg memory (presence frees it; see
    /// [`crate::db::DbConn::query_with`] for why it is best copied there from the result set).
    fn rules_doc(_user: &[u8], _domain: &[u8]) -> Result<Option<PkgStr>, Error> {
        Ok(None)
    }

    /// A pidf-manipulation document of the presentity.
    fn pidf_doc(_user: &[u8], _domain: &[u8], _file_uri: &[u8]) -> Result<Option<PkgStr>, Error> {
        Ok(None)
    }
}

/// Which callbacks an event gets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Callbacks {
    /// `agg_nbody` (and `free_body`).
    pub aggregate: bool,
    /// `apply_auth_nbody`, `get_auth_status`, `get_rules_doc`, `get_pidf_doc` and `req_auth`.
    pub authorize: bool,
    /// `evs_publ_handl`.
    pub check_publish: bool,
    /// `free_body` alone (bodies presence builds with libxml2, such as watcher info).
    pub free_body: bool,
}

/// An event to register.
pub struct EventSpec<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub default_expires: u32,
    /// A PUBLISH refresh keeps its ETag.
    pub etag_not_new: bool,
    pub callbacks: Callbacks,
}

/// Registers an event whose callbacks `H` implements (from mod_init, presence loaded first).
/// presence keeps an earlier registration of the same name.
pub fn register<H: EventHandler>(api: &PresenceApi, spec: &EventSpec) -> Result<Registered, Error> {
    let add = api.raw().add_event.ok_or_else(|| Error::from("presence has no add_event"))?;
    if api.contains_event(spec.name) {
        return Ok(Registered::AlreadyPresent);
    }
    let cb = spec.callbacks;
    let mut e = sys::pres_ev_t {
        name: kstr::view(spec.name.as_bytes()),
        content_type: kstr::view(spec.content_type.as_bytes()),
        default_expires: spec.default_expires as c_uint,
        type_: PUBL_TYPE,
        etag_not_new: spec.etag_not_new as c_int,
        req_auth: cb.authorize as c_int,
        ..Default::default()
    };
    if cb.aggregate {
        e.agg_nbody = Some(agg_nbody::<H>);
    }
    if cb.aggregate || cb.free_body || cb.authorize {
        e.free_body = Some(free_body);
    }
    if cb.authorize {
        e.apply_auth_nbody = Some(apply_auth::<H>);
        e.get_auth_status = Some(auth_status::<H>);
        e.get_rules_doc = Some(rules_doc::<H>);
        e.get_pidf_doc = Some(pidf_doc::<H>);
    }
    if cb.check_publish {
        e.evs_publ_handl = Some(check_publish::<H>);
    }
    // SAFETY: presence copies the struct and its strings into shm.
    if unsafe { add(&mut e) } < 0 {
        return Err(Error::from(format!("presence refused the event {}", spec.name)));
    }
    Ok(Registered::Added)
}

/// A body for presence: a pkg `str` with libxml2 text; NULL when it cannot be allocated.
fn body_for_presence(b: &[u8]) -> *mut sys::str_ {
    match XmlBuf::copy(b).and_then(XmlBuf::into_pkg_str) {
        Some(s) => s.as_ptr(),
        None => {
            crate::lm_err!("out of memory for a NOTIFY body of {} bytes", b.len());
            std::ptr::null_mut()
        }
    }
}

unsafe extern "C" fn agg_nbody<H: EventHandler>(user: *mut sys::str_, domain: *mut sys::str_, bodies: *mut *mut sys::str_, n: c_int, off: c_int) -> *mut sys::str_ {
    guard(log::module_name(), "agg_nbody", std::ptr::null_mut(), || {
        // SAFETY: presence passes the presentity's user and domain and `n` body pointers (or
        // NULL with n = 0), valid for the call.
        let (user, domain, list) = unsafe {
            let list: Vec<Option<&[u8]>> = if bodies.is_null() || n <= 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(bodies, n as usize).iter().map(|&b| kstr::opt_bytes(b)).collect()
            };
            (kstr::opt_bytes(user).unwrap_or_default(), kstr::opt_bytes(domain).unwrap_or_default(), list)
        };
        let off = usize::try_from(off).ok().filter(|&i| i < list.len());
        match H::aggregate(user, domain, &list, off) {
            Some(b) => body_for_presence(&b),
            None => std::ptr::null_mut(),
        }
    })
}

/// # Safety
/// `s` is presence's subscription, valid for the call.
unsafe fn subscription<'a>(s: &'a sys::subscription) -> Subscription<'a> {
    // SAFETY: as documented.
    unsafe {
        Subscription {
            pres_uri: kstr::bytes(&s.pres_uri),
            watcher_user: kstr::bytes(&s.watcher_user),
            watcher_domain: kstr::bytes(&s.watcher_domain),
            from_user: kstr::bytes(&s.from_user),
            from_domain: kstr::bytes(&s.from_domain),
            status: s.status,
            rules_doc: kstr::opt_bytes(s.auth_rules_doc),
        }
    }
}

unsafe extern "C" fn apply_auth<H: EventHandler>(body: *mut sys::str_, subs: *mut sys::subscription, out: *mut *mut sys::str_) -> c_int {
    guard(log::module_name(), "apply_auth_nbody", -1, || {
        // SAFETY: presence passes the body, the subscription and a result slot.
        let (Some(body), Some(subs), Some(out)) = (unsafe { kstr::opt_bytes(body) }, unsafe { subs.as_ref() }, unsafe { out.as_mut() }) else {
            return -1;
        };
        *out = std::ptr::null_mut();
        // SAFETY: presence's subscription.
        match H::apply_auth(body, &unsafe { subscription(subs) }) {
            Ok(None) => 0,
            Ok(Some(b)) => {
                *out = body_for_presence(&b);
                if out.is_null() { -1 } else { 1 }
            }
            Err(e) => {
                crate::lm_err!("applying the rules to a NOTIFY body: {e}");
                -1
            }
        }
    })
}

unsafe extern "C" fn auth_status<H: EventHandler>(subs: *mut sys::subscription) -> c_int {
    guard(log::module_name(), "get_auth_status", -1, || {
        // SAFETY: presence's subscription, which it lets us update.
        let Some(subs) = (unsafe { subs.as_mut() }) else { return -1 };
        // SAFETY: as above.
        match H::auth_status(&unsafe { subscription(subs) }) {
            Ok(a) => {
                subs.status = a.status;
                subs.reason = a.reason.map_or(kstr::empty(), kstr::view);
                0
            }
            Err(e) => {
                crate::lm_err!("authorizing a watcher: {e}");
                -1
            }
        }
    })
}

unsafe extern "C" fn check_publish<H: EventHandler>(msg: *mut sys::sip_msg) -> c_int {
    guard(log::module_name(), "evs_publ_handl", -1, || {
        // SAFETY: the PUBLISH being handled.
        match unsafe { SipMsg::from_raw(msg) } {
            Some(m) => H::check_publish(m),
            None => -1,
        }
    })
}

unsafe extern "C" fn free_body(body: *mut c_char) {
    crate::xml::free(body as *mut c_void);
}

/// Hands a document to presence, which frees it: 1.
fn doc_for_presence(doc: PkgStr, out: &mut *mut sys::str_) -> c_int {
    *out = doc.into_raw();
    1
}

unsafe extern "C" fn rules_doc<H: EventHandler>(user: *mut sys::str_, domain: *mut sys::str_, out: *mut *mut sys::str_) -> c_int {
    guard(log::module_name(), "get_rules_doc", -1, || {
        // SAFETY: presence passes the presentity's user, domain and a result slot.
        let (Some(user), Some(domain), Some(out)) = (unsafe { kstr::opt_bytes(user) }, unsafe { kstr::opt_bytes(domain) }, unsafe { out.as_mut() }) else {
            return -1;
        };
        match H::rules_doc(user, domain) {
            Ok(Some(doc)) => doc_for_presence(doc, out),
            Ok(None) => {
                *out = std::ptr::null_mut();
                0
            }
            Err(e) => {
                crate::lm_err!("getting the rules document: {e}");
                -1
            }
        }
    })
}

unsafe extern "C" fn pidf_doc<H: EventHandler>(user: *mut sys::str_, domain: *mut sys::str_, file: *mut sys::str_, out: *mut *mut sys::str_) -> c_int {
    guard(log::module_name(), "get_pidf_doc", -1, || {
        // SAFETY: as rules_doc, plus the document's file URI.
        let (Some(user), Some(domain), Some(out)) = (unsafe { kstr::opt_bytes(user) }, unsafe { kstr::opt_bytes(domain) }, unsafe { out.as_mut() }) else {
            return -1;
        };
        // SAFETY: as above.
        let file = unsafe { kstr::opt_bytes(file) }.unwrap_or_default();
        match H::pidf_doc(user, domain, file) {
            Ok(Some(doc)) => doc_for_presence(doc, out),
            Ok(None) => {
                *out = std::ptr::null_mut();
                0
            }
            Err(e) => {
                crate::lm_err!("getting the pidf-manipulation document: {e}");
                -1
            }
        }
    })
}
