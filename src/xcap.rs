//! The `bind_xcap` API (`xcap_api_t`, 48 bytes) for a module that fetches XCAP documents on
//! behalf of presence_xml and rls. The C entry points live here; the module supplies the
//! behaviour through [`XcapProvider`] and fills the table with [`fill_api`].

use std::collections::HashSet;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Mutex;

use crate::guard::guard;
use crate::mem::{pkg_free, pkg_malloc};
use crate::{kstr, log, sys};

/// Doc-type flags shared by the XCAP modules and their consumers (the XCAP vocabulary's).
pub use xcap::auid::doc_type;

/// `match_type` values of a request.
pub const IF_MATCH: i32 = 1;
pub const IF_NONE_MATCH: i32 = 2;

/// Which tree a document lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    Users,
    Global,
}

/// A `getNewDoc` request, read out of the consumer's `xcap_get_req_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRequest {
    pub xcap_root: String,
    pub port: u32,
    pub auid: String,
    pub doc_type: i32,
    pub tree: Tree,
    pub xid: String,
    pub filename: String,
    pub etag: Option<String>,
    pub match_type: i32,
}

/// What the module implements behind the API.
pub trait XcapProvider: 'static {
    /// A node selector under construction.
    type NodeSel: Default + 'static;

    /// `add_step(name or "*", namespace, position (0 = none), attribute test, extra)`.
    fn add_step(sel: &mut Self::NodeSel, name: Option<&str>, ns: Option<&str>, pos: i32, attr: Option<(&str, &str)>, extra: Option<&str>) -> bool;

    /// `add_terminal(attribute, namespace, extension)`.
    fn add_terminal(sel: &mut Self::NodeSel, attr: Option<&str>, ns: Option<&str>, extra: Option<&str>) -> bool;

    /// Fetches (and records) a document; `None` when there is none.
    fn get_new_doc(req: &DocRequest, node: Option<&Self::NodeSel>, user: &str, domain: &str) -> Option<Vec<u8>>;
}

/// The consumer sees this as an `xcap_node_sel_t*`: the C struct first (kept empty and
/// valid), then the module's own selector.
#[repr(C)]
struct NodeSelHandle<N> {
    c: sys::xcap_node_sel_t,
    sel: N,
}

thread_local! {
    /// Handles handed out in this process, so a pointer we did not make is refused.
    static HANDLES: std::cell::RefCell<HashSet<usize>> = std::cell::RefCell::new(HashSet::new());
}

/// Registered update callbacks: (doc-type mask, function). Consumers register in their
/// mod_init, before the fork, so every process inherits the list.
static CALLBACKS: Mutex<Vec<(c_int, XcapCallback)>> = Mutex::new(Vec::new());

/// A consumer's `xcap_cb`: `int f(int doc_type, str xid, char *doc)`.
type XcapCallback = unsafe extern "C" fn(c_int, sys::str_, *mut c_char) -> c_int;

/// Fills the consumer's API table; returns 0 (the `bind_xcap` convention).
pub fn fill_api<P: XcapProvider>(api: &mut sys::xcap_api_t) -> i32 {
    api.int_node_sel = Some(init_node_sel::<P>);
    api.add_step = Some(add_step::<P>);
    api.add_terminal = Some(add_terminal::<P>);
    api.free_node_sel = Some(free_node_sel::<P>);
    api.getNewDoc = Some(get_new_doc::<P>);
    api.register_xcb = Some(register_xcb);
    0
}

/// Runs every callback registered for `doc_type` with the document; returns how many ran.
pub fn run_callbacks(doc_type: i32, xid: &str, doc: &[u8]) -> usize {
    let list = CALLBACKS.lock().map(|l| l.clone()).unwrap_or_default();
    let mut ran = 0;
    for (_, f) in list.into_iter().filter(|(t, _)| t & doc_type != 0) {
        // The callee may strlen() the document, and it must not see our buffer change.
        let mut copy = doc.to_vec();
        copy.push(0);
        let x = kstr::view(xid.as_bytes());
        scrub_stack();
        // SAFETY: a consumer's callback with the documented signature; it reads `copy`
        // only during the call.
        unsafe { f(doc_type, x, copy.as_mut_ptr() as *mut c_char) };
        ran += 1;
    }
    ran
}

/// Zeroes the stack just below the caller's frame, where the next callee's frame will be.
/// presence_xml's update callback passes presence a stack `pres_ev_t` of which it sets only
/// the name; presence looks the real event up only when the unset `content_type.s` reads as
/// NULL, and otherwise calls through the garbage pointers. Zeroed memory makes that path the
/// one taken, every time.
#[inline(never)]
fn scrub_stack() {
    let mut area = [0u8; 32 * 1024];
    for b in area.iter_mut() {
        // SAFETY: a write to our own local; volatile so it is not optimised away.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::hint::black_box(&area);
}

/// How many callbacks are registered (for diagnostics).
pub fn callback_count() -> usize {
    CALLBACKS.lock().map(|l| l.len()).unwrap_or(0)
}

unsafe extern "C" fn register_xcb(types: c_int, f: sys::xcap_cb) -> c_int {
    guard(log::module_name(), "register_xcb", -1, || {
        let Some(f) = f else { return -1 };
        match CALLBACKS.lock() {
            Ok(mut l) => {
                l.push((types, f));
                0
            }
            Err(_) => -1,
        }
    })
}

unsafe extern "C" fn init_node_sel<P: XcapProvider>() -> *mut sys::xcap_node_sel_t {
    guard(log::module_name(), "int_node_sel", std::ptr::null_mut(), || {
        let p = pkg_malloc(std::mem::size_of::<NodeSelHandle<P::NodeSel>>()) as *mut NodeSelHandle<P::NodeSel>;
        if p.is_null() {
            crate::lm_err!("out of pkg memory for a node selector");
            return std::ptr::null_mut();
        }
        // SAFETY: a fresh block of the handle's size (pkg memory is 8-byte aligned).
        unsafe { p.write(NodeSelHandle { c: std::mem::zeroed(), sel: P::NodeSel::default() }) };
        HANDLES.with(|h| h.borrow_mut().insert(p as usize));
        p as *mut sys::xcap_node_sel_t
    })
}

/// The module's selector behind a handle we made.
///
/// # Safety
/// Called with a pointer a consumer got from `int_node_sel`, or anything else (refused).
unsafe fn handle<'a, N>(p: *mut sys::xcap_node_sel_t) -> Option<&'a mut N> {
    if p.is_null() || !HANDLES.with(|h| h.borrow().contains(&(p as usize))) {
        return None;
    }
    Some(&mut (*(p as *mut NodeSelHandle<N>)).sel)
}

fn text<'a>(p: *const sys::str_) -> Option<&'a str> {
    // SAFETY: consumers pass NULL or a valid str.
    unsafe { kstr::opt_bytes(p) }.and_then(|b| std::str::from_utf8(b).ok()).filter(|s| !s.is_empty())
}

fn ctext<'a>(p: *const c_char) -> Option<&'a str> {
    // SAFETY: consumers pass NULL or a NUL-terminated string.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().ok()).flatten().filter(|s| !s.is_empty())
}

unsafe extern "C" fn add_step<P: XcapProvider>(
    cur: *mut sys::xcap_node_sel_t,
    name: *mut sys::str_,
    ns: *mut sys::str_,
    pos: c_int,
    attr: *mut sys::attr_test_t,
    extra: *mut sys::str_,
) -> *mut sys::xcap_node_sel_t {
    guard(log::module_name(), "add_step", std::ptr::null_mut(), || {
        // SAFETY: see handle().
        let Some(sel) = (unsafe { handle::<P::NodeSel>(cur) }) else {
            crate::lm_err!("add_step: not a node selector from int_node_sel");
            return std::ptr::null_mut();
        };
        // SAFETY: NULL or a valid attr_test_t.
        let attr = unsafe { attr.as_ref() }.and_then(|a| Some((text(&a.name)?, text(&a.value).unwrap_or(""))));
        if P::add_step(sel, text(name), text(ns), pos, attr, text(extra)) {
            cur
        } else {
            std::ptr::null_mut()
        }
    })
}

unsafe extern "C" fn add_terminal<P: XcapProvider>(
    cur: *mut sys::xcap_node_sel_t,
    attr: *mut c_char,
    ns: *mut c_char,
    extra: *mut c_char,
) -> *mut sys::xcap_node_sel_t {
    guard(log::module_name(), "add_terminal", std::ptr::null_mut(), || {
        // SAFETY: see handle().
        let Some(sel) = (unsafe { handle::<P::NodeSel>(cur) }) else {
            crate::lm_err!("add_terminal: not a node selector from int_node_sel");
            return std::ptr::null_mut();
        };
        if P::add_terminal(sel, ctext(attr), ctext(ns), ctext(extra)) {
            cur
        } else {
            std::ptr::null_mut()
        }
    })
}

unsafe extern "C" fn free_node_sel<P: XcapProvider>(p: *mut sys::xcap_node_sel_t) {
    guard(log::module_name(), "free_node_sel", (), || {
        if !HANDLES.with(|h| h.borrow_mut().remove(&(p as usize))) {
            return;
        }
        // SAFETY: a live handle made by init_node_sel, dropped and freed once.
        unsafe {
            std::ptr::drop_in_place(p as *mut NodeSelHandle<P::NodeSel>);
            pkg_free(p as *mut c_void);
        }
    })
}

unsafe extern "C" fn get_new_doc<P: XcapProvider>(req: sys::xcap_get_req_t, user: sys::str_, domain: sys::str_) -> *mut c_char {
    guard(log::module_name(), "getNewDoc", std::ptr::null_mut(), || {
        let d = &req.doc_sel;
        let s = |x: &sys::str_| String::from_utf8_lossy(unsafe { kstr::bytes(x) }).into_owned();
        let r = DocRequest {
            xcap_root: ctext(req.xcap_root).unwrap_or("").to_string(),
            port: req.port,
            auid: s(&d.auid),
            doc_type: d.doc_type,
            tree: if d.type_ == 2 { Tree::Global } else { Tree::Users },
            xid: s(&d.xid),
            filename: s(&d.filename),
            etag: ctext(req.etag).map(str::to_string),
            match_type: req.match_type,
        };
        // SAFETY: see handle(); a foreign node selector is refused with a log line.
        let node = unsafe { handle::<P::NodeSel>(req.node_sel) };
        if node.is_none() && !req.node_sel.is_null() {
            crate::lm_err!("getNewDoc: the node selector was not made by int_node_sel; ignoring it");
        }
        let (user, domain) = (s(&user), s(&domain));
        match P::get_new_doc(&r, node.map(|n| &*n), &user, &domain) {
            Some(doc) => pkg_cstr(&doc),
            None => std::ptr::null_mut(),
        }
    })
}

/// A NUL-terminated pkg copy: what getNewDoc's callers `strlen` and `pkg_free`.
fn pkg_cstr(b: &[u8]) -> *mut c_char {
    let p = pkg_malloc(b.len() + 1) as *mut u8;
    if !p.is_null() {
        // SAFETY: a fresh block of len + 1 bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
            *p.add(b.len()) = 0;
        }
    }
    p as *mut c_char
}
