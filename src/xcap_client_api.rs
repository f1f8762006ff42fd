//! The `bind_xcap` API as a consumer sees it: fetching a user's document through whichever
//! xcap_client is loaded (ours or stock), and hearing of documents it refreshed.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

use crate::guard::guard;
use crate::mem::pkg_free;
use crate::{api, kstr, log, sys, Error};

/// The bound xcap_client API.
#[derive(Clone, Copy)]
pub struct XcapClient(sys::xcap_api_t);

// SAFETY: a table of function pointers into another module, identical in every process.
unsafe impl Send for XcapClient {}
unsafe impl Sync for XcapClient {}

/// Called with (document type, xid, document) for every document the client refreshed.
pub type OnUpdate = fn(doc_type: i32, xid: &[u8], doc: &[u8]);

/// Set once, before the fork: every process calls the same function.
static ON_UPDATE: OnceLock<OnUpdate> = OnceLock::new();

unsafe extern "C" fn updated(doc_type: c_int, xid: sys::str_, doc: *mut c_char) -> c_int {
    guard(log::module_name(), "xcap update callback", -1, || {
        let Some(f) = ON_UPDATE.get() else { return 0 };
        // SAFETY: the client passes the xid and a NUL-terminated document for the call.
        let (xid, doc) = unsafe { (kstr::bytes(&xid), if doc.is_null() { &[][..] } else { CStr::from_ptr(doc).to_bytes() }) };
        f(doc_type, xid, doc);
        0
    })
}

/// A user's document on an XCAP server.
pub struct UserDoc<'a> {
    pub root: &'a str,
    pub port: u32,
    pub auid: &'a str,
    pub doc_type: i32,
    pub xid: &'a [u8],
    pub filename: &'a str,
}

impl XcapClient {
    /// Binds xcap_client if it is loaded.
    pub fn bind() -> Option<XcapClient> {
        api::bind::<sys::xcap_api_t>(c"bind_xcap", 1).map(XcapClient)
    }

    /// Fetches `<root>/<auid>/users/<xid>/<filename>` for `user@domain` (the client adds the
    /// port when the root has none). `None` when the server has no such document or cannot
    /// be reached.
    pub fn get_new_doc(&self, d: &UserDoc, user: &[u8], domain: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let get = self.0.getNewDoc.ok_or_else(|| Error::from("xcap_client has no getNewDoc"))?;
        let root = CString::new(d.root).map_err(|_| Error::from("an XCAP root with NUL"))?;
        let req = sys::xcap_get_req_t {
            xcap_root: root.as_ptr() as *mut c_char,
            port: d.port,
            doc_sel: sys::xcap_doc_sel_t {
                auid: kstr::view(d.auid.as_bytes()),
                doc_type: d.doc_type,
                type_: 1,
                xid: kstr::view(d.xid),
                filename: kstr::view(d.filename.as_bytes()),
            },
            ..Default::default()
        };
        // SAFETY: the client reads the request during the call and returns a NUL-terminated
        // pkg copy (or NULL), which we free.
        unsafe {
            let p = get(req, kstr::view(user), kstr::view(domain));
            if p.is_null() {
                return Ok(None);
            }
            let doc = CStr::from_ptr(p).to_bytes().to_vec();
            pkg_free(p as *mut c_void);
            Ok(Some(doc))
        }
    }

    /// Asks to hear of refreshed documents of the types in `types` (call from mod_init).
    pub fn register_callback(&self, types: i32, f: OnUpdate) -> Result<(), Error> {
        let reg = self.0.register_xcb.ok_or_else(|| Error::from("xcap_client has no register_xcb"))?;
        ON_UPDATE.set(f).map_err(|_| Error::from("an xcap update callback is already registered"))?;
        // SAFETY: the client keeps the function pointer, valid for the process's life.
        if unsafe { reg(types, Some(updated)) } < 0 {
            return Err(Error::from("xcap_client refused the callback"));
        }
        Ok(())
    }
}
