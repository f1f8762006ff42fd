//! The provider side of the `bind_pua` API (`pua_api_t`, 56 bytes): the C entry points that
//! pua_usrloc, pua_dialoginfo, pua_reginfo, pua_bla, pua_xmpp, pua_rpc, rls and
//! presence_xcapdiff call. They read the consumers' C structs (`publ_info_t`, `subs_info_t`,
//! `ua_pres_t`) into owned Rust values, hand them to the module through [`PuaProvider`], and
//! give results back in the allocators the consumers free them with (pkg). Consumer callbacks
//! (`register_puacb`) are kept here and called with a `ua_pres_t` built for the call.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Mutex;

use crate::guard::guard;
use crate::mem::{pkg_free, pkg_malloc, pkg_str_dup, shm_free};
use crate::msg::SipMsg;
use crate::{kstr, log, sys};

/// `send_publish` result: a new publication without a body.
pub const ERR_PUBLISH_NO_BODY: i32 = -10;
/// `send_publish` result: the caller's ETag matches no publication (a positive value).
pub const ERR_WRONG_ETAG: i32 = 418;
/// `publ_info_t.flag` / `subs_info_t.flag` bits.
pub const INSERT_TYPE: i32 = 1 << 1;
pub const UPDATE_TYPE: i32 = 1 << 2;
/// `ua_pres_t.ua_flag`: the request came from a consumer (callbacks run) or from pua itself.
pub const REQ_OTHER: i32 = 0;
pub const REQ_ME: i32 = 1;

/// A consumer's PUBLISH request (`publ_info_t`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publish {
    pub id: Vec<u8>,
    pub pres_uri: Vec<u8>,
    pub body: Option<Vec<u8>>,
    /// Relative seconds; negative: the module's default; 0: remove the publication.
    pub expires: i32,
    pub flag: i32,
    pub source_flag: i32,
    pub event: i32,
    pub content_type: Vec<u8>,
    pub etag: Option<Vec<u8>>,
    pub outbound_proxy: Option<Vec<u8>>,
    pub extra_headers: Option<Vec<u8>>,
    /// The consumer's opaque pointer, handed back to its callback.
    pub cb_param: usize,
}

/// A consumer's SUBSCRIBE request (`subs_info_t`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscribe {
    pub id: Vec<u8>,
    pub pres_uri: Vec<u8>,
    pub watcher_uri: Vec<u8>,
    pub contact: Vec<u8>,
    pub remote_target: Option<Vec<u8>>,
    pub outbound_proxy: Option<Vec<u8>>,
    pub event: i32,
    pub extra_headers: Option<Vec<u8>>,
    pub expires: i32,
    pub source_flag: i32,
    pub flag: i32,
    pub cb_param: usize,
    /// Set by rls for its own refreshes of an existing dialog: nothing is sent.
    pub internal_update: bool,
}

/// The dialog a consumer asks about (`is_dialog`, `get_record_id`), from its stack `ua_pres_t`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialogRef {
    pub pres_uri: Vec<u8>,
    pub watcher_uri: Vec<u8>,
    pub call_id: Vec<u8>,
    pub to_tag: Vec<u8>,
    pub from_tag: Vec<u8>,
    pub flag: i32,
    pub event: i32,
}

/// What a consumer callback is shown as its `ua_pres_t` (borrowed for the call).
#[derive(Debug, Clone, Default)]
pub struct Hentity<'a> {
    pub id: &'a [u8],
    pub pres_uri: &'a [u8],
    pub watcher_uri: Option<&'a [u8]>,
    pub event: i32,
    pub flag: i32,
    pub expires: u32,
    pub desired_expires: u32,
    pub etag: &'a [u8],
    pub tuple_id: &'a [u8],
    pub body: Option<&'a [u8]>,
    pub content_type: &'a [u8],
    pub call_id: &'a [u8],
    pub to_tag: &'a [u8],
    pub from_tag: &'a [u8],
    pub cseq: i32,
    pub version: i32,
    pub extra_headers: Option<&'a [u8]>,
    pub outbound_proxy: Option<&'a [u8]>,
    pub record_route: &'a [u8],
    pub remote_contact: &'a [u8],
    pub contact: &'a [u8],
    pub cb_param: usize,
    pub ua_flag: i32,
}

/// A body processor a consumer registered with its event (`evs_process_body_t`).
#[derive(Clone, Copy, Debug)]
pub struct BodyProcessor(unsafe extern "C" fn(*mut sys::publ_info, *mut *mut sys::str_, c_int, *mut *mut sys::str_) -> c_int);

impl BodyProcessor {
    /// Runs the processor on `body`: `Ok(None)` keeps the body, `Ok(Some(new))` replaces it.
    pub fn run(&self, p: &Publish, body: &[u8], version: i32) -> Result<Option<Vec<u8>>, crate::Error> {
        let mut c = CPublish::new(p);
        let mut b = kstr::view(body);
        c.raw.body = &mut b;
        let mut final_body: *mut sys::str_ = std::ptr::null_mut();
        let mut tuple: *mut sys::str_ = std::ptr::null_mut();
        // SAFETY: the consumer's processor with its documented signature; everything it reads
        // lives until the call returns.
        let rc = unsafe { (self.0)(&mut c.raw, &mut final_body, version, &mut tuple) };
        // A processor that hands back a tuple id gives it in pkg memory.
        if !tuple.is_null() {
            // SAFETY: a pkg str the processor allocated for us.
            unsafe {
                pkg_free((*tuple).s as *mut c_void);
                pkg_free(tuple as *mut c_void);
            }
        }
        if rc < 0 {
            return Err(crate::Error::from("the event's body processor failed"));
        }
        if rc == 0 || final_body.is_null() {
            return Ok(None);
        }
        // SAFETY: a new body is a pkg str whose text libxml2 allocated.
        unsafe {
            let out = kstr::bytes(&*final_body).to_vec();
            crate::xml::free((*final_body).s as *mut c_void);
            pkg_free(final_body as *mut c_void);
            Ok(Some(out))
        }
    }
}

/// A `publ_info_t` viewing a [`Publish`], for calling C processors.
struct CPublish<'a> {
    raw: sys::publ_info,
    _strs: Box<[sys::str_; 5]>,
    _p: std::marker::PhantomData<&'a Publish>,
}

impl<'a> CPublish<'a> {
    fn new(p: &'a Publish) -> Self {
        let opt = |o: &'a Option<Vec<u8>>| o.as_deref().map(kstr::view);
        let mut strs = Box::new([
            kstr::view(&p.pres_uri),
            opt(&p.etag).unwrap_or(kstr::empty()),
            opt(&p.outbound_proxy).unwrap_or(kstr::empty()),
            opt(&p.extra_headers).unwrap_or(kstr::empty()),
            kstr::empty(),
        ]);
        let ptr = |i: usize, present: bool, s: &mut [sys::str_; 5]| if present { &mut s[i] as *mut sys::str_ } else { std::ptr::null_mut() };
        let raw = sys::publ_info {
            id: kstr::view(&p.id),
            pres_uri: ptr(0, true, &mut strs),
            body: std::ptr::null_mut(),
            expires: p.expires,
            flag: p.flag,
            source_flag: p.source_flag,
            event: p.event,
            content_type: kstr::view(&p.content_type),
            etag: ptr(1, p.etag.is_some(), &mut strs),
            outbound_proxy: ptr(2, p.outbound_proxy.is_some(), &mut strs),
            extra_headers: ptr(3, p.extra_headers.is_some(), &mut strs),
            cb_param: p.cb_param as *mut c_void,
        };
        CPublish { raw, _strs: strs, _p: std::marker::PhantomData }
    }
}

/// What the module implements behind the API.
pub trait PuaProvider: 'static {
    /// 0 on success, [`ERR_PUBLISH_NO_BODY`], [`ERR_WRONG_ETAG`] or another negative error.
    fn send_publish(p: Publish) -> i32;
    /// 0 on success (also when nothing needed sending), negative on error.
    fn send_subscribe(s: Subscribe) -> i32;
    /// 0: an established dialog, 1: a dialog still waiting for its reply, -1: none.
    fn is_dialog(d: &DialogRef) -> i32;
    /// The id of the dialog's record; `Err` on a lookup failure.
    fn get_record_id(d: &DialogRef) -> Result<Option<Vec<u8>>, crate::Error>;
    /// Registers an event; an event of the same name stays as it is. 0 or -1.
    fn add_event(flag: i32, name: &str, content_type: &str, processor: Option<BodyProcessor>) -> i32;
    /// The presentity URIs of the records whose id starts with `did`, sorted.
    fn get_subs_list(did: &[u8]) -> Vec<Vec<u8>>;
}

/// Fills the consumer's API table; returns 0 (the `bind_pua` convention).
pub fn fill_api<P: PuaProvider>(api: &mut sys::pua_api_t) -> i32 {
    api.send_subscribe = Some(send_subscribe::<P>);
    api.send_publish = Some(send_publish::<P>);
    api.register_puacb = Some(register_puacb);
    api.is_dialog = Some(is_dialog::<P>);
    api.get_record_id = Some(get_record_id::<P>);
    api.add_event = Some(add_event::<P>);
    api.get_subs_list = Some(get_subs_list::<P>);
    0
}

/// # Safety
/// `p` is NULL or a valid `str*` whose bytes outlive the call.
unsafe fn owned(p: *const sys::str_) -> Option<Vec<u8>> {
    // SAFETY: as documented.
    unsafe { kstr::opt_bytes(p) }.map(<[u8]>::to_vec)
}

/// # Safety
/// `p` is NULL or a valid `str*`; an absent or empty value is `None`.
unsafe fn non_empty(p: *const sys::str_) -> Option<Vec<u8>> {
    // SAFETY: as documented.
    unsafe { owned(p) }.filter(|v| !v.is_empty())
}

unsafe extern "C" fn send_publish<P: PuaProvider>(publ: *mut sys::publ_info) -> c_int {
    guard(log::module_name(), "send_publish", -1, || {
        // SAFETY: the consumer passes its publ_info_t, valid for the call.
        let Some(c) = (unsafe { publ.as_ref() }) else {
            crate::lm_err!("send_publish: called with NULL");
            return -1;
        };
        // SAFETY: every str* the consumer set points at memory it keeps during the call.
        let p = unsafe {
            Publish {
                id: kstr::bytes(&c.id).to_vec(),
                pres_uri: owned(c.pres_uri).unwrap_or_default(),
                body: owned(c.body),
                expires: c.expires,
                flag: c.flag,
                source_flag: c.source_flag,
                event: c.event,
                content_type: kstr::bytes(&c.content_type).to_vec(),
                etag: non_empty(c.etag),
                outbound_proxy: non_empty(c.outbound_proxy),
                extra_headers: non_empty(c.extra_headers),
                cb_param: c.cb_param as usize,
            }
        };
        P::send_publish(p)
    })
}

unsafe extern "C" fn send_subscribe<P: PuaProvider>(subs: *mut sys::subs_info) -> c_int {
    guard(log::module_name(), "send_subscribe", -1, || {
        // SAFETY: the consumer passes its subs_info_t, valid for the call.
        let Some(c) = (unsafe { subs.as_ref() }) else {
            crate::lm_err!("send_subscribe: called with NULL");
            return -1;
        };
        // SAFETY: as in send_publish.
        let s = unsafe {
            Subscribe {
                id: kstr::bytes(&c.id).to_vec(),
                pres_uri: owned(c.pres_uri).unwrap_or_default(),
                watcher_uri: owned(c.watcher_uri).unwrap_or_default(),
                contact: owned(c.contact).unwrap_or_default(),
                remote_target: non_empty(c.remote_target),
                outbound_proxy: non_empty(c.outbound_proxy),
                event: c.event,
                extra_headers: non_empty(c.extra_headers),
                expires: c.expires,
                source_flag: c.source_flag,
                flag: c.flag,
                cb_param: c.cb_param as usize,
                internal_update: c.internal_update_flag == 1,
            }
        };
        P::send_subscribe(s)
    })
}

/// # Safety
/// `d` is NULL or the consumer's `ua_pres_t`.
unsafe fn dialog_ref(d: *const sys::ua_pres_t) -> Option<DialogRef> {
    // SAFETY: as documented; consumers zero the struct and set the fields they use.
    unsafe {
        let d = d.as_ref()?;
        Some(DialogRef {
            pres_uri: owned(d.pres_uri).unwrap_or_default(),
            watcher_uri: owned(d.watcher_uri).unwrap_or_default(),
            call_id: kstr::bytes(&d.call_id).to_vec(),
            to_tag: kstr::bytes(&d.to_tag).to_vec(),
            from_tag: kstr::bytes(&d.from_tag).to_vec(),
            flag: d.flag,
            event: d.event,
        })
    }
}

unsafe extern "C" fn is_dialog<P: PuaProvider>(d: *mut sys::ua_pres_t) -> c_int {
    guard(log::module_name(), "is_dialog", -1, || {
        // SAFETY: the consumer's ua_pres_t.
        match unsafe { dialog_ref(d) } {
            Some(d) => P::is_dialog(&d),
            None => -1,
        }
    })
}

unsafe extern "C" fn get_record_id<P: PuaProvider>(d: *mut sys::ua_pres_t, out: *mut *mut sys::str_) -> c_int {
    guard(log::module_name(), "get_record_id", -1, || {
        // SAFETY: the consumer passes a pointer to its result slot.
        let Some(out) = (unsafe { out.as_mut() }) else { return -1 };
        *out = std::ptr::null_mut();
        // SAFETY: the consumer's ua_pres_t.
        let Some(d) = (unsafe { dialog_ref(d) }) else { return -1 };
        match P::get_record_id(&d) {
            Ok(None) => 0,
            Ok(Some(id)) => match pkg_str_dup(&id) {
                Some(s) => {
                    // The consumer frees both blocks with pkg_free.
                    *out = s.into_raw();
                    0
                }
                None => {
                    crate::lm_err!("get_record_id: out of pkg memory");
                    -1
                }
            },
            Err(e) => {
                crate::lm_err!("get_record_id: {e}");
                -1
            }
        }
    })
}

unsafe extern "C" fn add_event<P: PuaProvider>(
    flag: c_int,
    name: *mut c_char,
    content_type: *mut c_char,
    process_body: sys::evs_process_body_t,
) -> c_int {
    guard(log::module_name(), "add_event", -1, || {
        let text = |p: *const c_char| {
            // SAFETY: consumers pass NUL-terminated strings or NULL.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        };
        let Some(name) = text(name).filter(|n| !n.is_empty()) else {
            crate::lm_err!("add_event: an event needs a name");
            return -1;
        };
        let ctype = text(content_type).unwrap_or_default();
        P::add_event(flag, &name, &ctype, process_body.map(BodyProcessor))
    })
}

unsafe extern "C" fn get_subs_list<P: PuaProvider>(did: *mut sys::str_) -> *mut sys::list_entry {
    guard(log::module_name(), "get_subs_list", std::ptr::null_mut(), || {
        // SAFETY: the consumer's dialog id.
        let Some(did) = (unsafe { kstr::opt_bytes(did) }) else { return std::ptr::null_mut() };
        let mut uris = P::get_subs_list(did);
        uris.sort();
        pkg_list(&uris)
    })
}

/// A pkg `list_entry_t` chain in the order given; every entry and string is pkg memory the
/// consumer frees.
fn pkg_list(items: &[Vec<u8>]) -> *mut sys::list_entry {
    let mut head: *mut sys::list_entry = std::ptr::null_mut();
    for item in items.iter().rev() {
        let Some(s) = pkg_str_dup(item) else {
            crate::lm_err!("get_subs_list: out of pkg memory");
            break;
        };
        let e = pkg_malloc(std::mem::size_of::<sys::list_entry>()) as *mut sys::list_entry;
        if e.is_null() {
            crate::lm_err!("get_subs_list: out of pkg memory");
            break;
        }
        // SAFETY: a fresh pkg block of the right size.
        unsafe { e.write(sys::list_entry { strng: s.into_raw(), next: head }) };
        head = e;
    }
    head
}

/// A registered consumer callback.
#[derive(Clone, Copy)]
struct Callback {
    types: c_int,
    f: unsafe extern "C" fn(*mut sys::ua_pres_t, *mut sys::sip_msg) -> c_int,
    param: usize,
}

/// Consumers register in their mod_init, before the fork: every process inherits the list.
static CALLBACKS: Mutex<Vec<Callback>> = Mutex::new(Vec::new());

/// `E_BUG`, the core's error code for a caller's mistake.
const E_BUG: c_int = -5;

unsafe extern "C" fn register_puacb(types: c_int, f: sys::pua_cb, param: *mut c_void) -> c_int {
    guard(log::module_name(), "register_puacb", -1, || {
        let Some(f) = f else {
            crate::lm_err!("register_puacb: no callback function");
            return E_BUG;
        };
        if types <= 0 {
            crate::lm_err!("register_puacb: invalid callback types {types}");
            return E_BUG;
        }
        match CALLBACKS.lock() {
            Ok(mut l) => {
                // The newest registration runs first.
                l.insert(0, Callback { types, f, param: param as usize });
                1
            }
            Err(_) => -1,
        }
    })
}

/// True if some consumer callback would run for `flag`.
pub fn has_callbacks(flag: i32) -> bool {
    CALLBACKS.lock().map(|l| l.iter().any(|c| c.types & flag != 0)).unwrap_or(false)
}

/// Runs every consumer callback registered for `h.flag` with the entity and the reply (`None`:
/// no reply came, which consumers see as tm's faked reply). Returns how many ran.
pub fn run_callbacks(h: &Hentity, reply: Option<&mut SipMsg>) -> usize {
    let list: Vec<Callback> = CALLBACKS.lock().map(|l| l.clone()).unwrap_or_default();
    let reply_p = match reply {
        Some(r) => r.raw(),
        // tm's FAKED_REPLY, which consumers test for.
        None => usize::MAX as *mut sys::sip_msg,
    };
    let mut ran = 0;
    for cb in list.iter().filter(|c| c.types & h.flag != 0) {
        let mut c = CHentity::new(h);
        // SAFETY: the consumer's callback with the documented signature; the entity lives
        // until it returns (a consumer may write its fields, e.g. clear cb_param).
        unsafe { (cb.f)(&mut c.raw, reply_p) };
        ran += 1;
    }
    ran
}

/// Frees the callbacks' shm parameters (module destroy).
pub fn release_callbacks() {
    if let Ok(mut l) = CALLBACKS.lock() {
        for cb in l.drain(..) {
            // SAFETY: consumers register shm parameters (or NULL), released once, at the end.
            unsafe { shm_free(cb.param as *mut c_void) };
        }
    }
}

/// A `ua_pres_t` viewing a [`Hentity`].
struct CHentity {
    raw: sys::ua_pres_t,
    _strs: Box<[sys::str_; 5]>,
}

impl CHentity {
    fn new(h: &Hentity) -> Self {
        let v = |b: &[u8]| kstr::view(b);
        let mut strs = Box::new([
            v(h.pres_uri),
            h.watcher_uri.map(v).unwrap_or(kstr::empty()),
            h.outbound_proxy.map(v).unwrap_or(kstr::empty()),
            h.body.map(v).unwrap_or(kstr::empty()),
            h.extra_headers.map(v).unwrap_or(kstr::empty()),
        ]);
        let p = |i: usize, present: bool, s: &mut [sys::str_; 5]| if present { &mut s[i] as *mut sys::str_ } else { std::ptr::null_mut() };
        let raw = sys::ua_pres_t {
            id: v(h.id),
            pres_uri: p(0, true, &mut strs),
            event: h.event,
            expires: h.expires,
            desired_expires: h.desired_expires,
            flag: h.flag,
            db_flag: 0,
            cb_param: h.cb_param as *mut c_void,
            next: std::ptr::null_mut(),
            ua_flag: h.ua_flag,
            outbound_proxy: p(2, h.outbound_proxy.is_some(), &mut strs),
            etag: v(h.etag),
            tuple_id: v(h.tuple_id),
            body: p(3, h.body.is_some(), &mut strs),
            content_type: v(h.content_type),
            watcher_uri: p(1, h.watcher_uri.is_some(), &mut strs),
            call_id: v(h.call_id),
            to_tag: v(h.to_tag),
            from_tag: v(h.from_tag),
            cseq: h.cseq,
            version: h.version,
            extra_headers: p(4, h.extra_headers.is_some(), &mut strs),
            record_route: v(h.record_route),
            remote_contact: v(h.remote_contact),
            contact: v(h.contact),
        };
        CHentity { raw, _strs: strs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_structs_have_the_consumers_sizes() {
        assert_eq!(std::mem::size_of::<sys::pua_api_t>(), 56);
        assert_eq!(std::mem::size_of::<sys::ua_pres_t>(), 256);
        assert_eq!(std::mem::size_of::<sys::publ_info>(), 96);
        assert_eq!(std::mem::size_of::<sys::subs_info>(), 104);
        assert_eq!(std::mem::size_of::<sys::list_entry>(), 16);
    }

    #[test]
    fn the_entity_view_points_at_the_callers_bytes() {
        let h = Hentity { pres_uri: b"sip:a@b", watcher_uri: None, etag: b"e1", cb_param: 42, flag: 64, ..Default::default() };
        let c = CHentity::new(&h);
        // SAFETY: the view's pointers are valid while `h` and `c` live.
        unsafe {
            assert_eq!(kstr::opt_bytes(c.raw.pres_uri), Some(&b"sip:a@b"[..]));
            assert!(c.raw.watcher_uri.is_null());
            assert_eq!(kstr::bytes(&c.raw.etag), b"e1");
        }
        assert_eq!(c.raw.cb_param as usize, 42);
    }
}
