//! The presence module's API (`bind_presence`): registering events and looking them up.

use crate::{api, kstr, sys, Error};

/// `PUBL_TYPE`: an event whose state comes from PUBLISH (presence/event_list.h).
pub const PUBL_TYPE: i32 = 1 << 1;
/// `WINFO_TYPE`: a watcher-info event.
pub const WINFO_TYPE: i32 = 1 << 0;

/// An event to register with presence (no callbacks: a pass-through event).
pub struct PresenceEvent<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub default_expires: u32,
}

/// The handler of a pass-through event: no callbacks.
struct PassThrough;

impl crate::presence_events::EventHandler for PassThrough {}

/// What `add_event` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Registered {
    /// Our registration is the event's.
    Added,
    /// The event was already registered (presence keeps the first registration).
    AlreadyPresent,
}

/// The bound presence API.
#[derive(Clone, Copy)]
pub struct PresenceApi(sys::presence_api_t);

// SAFETY: a table of function pointers into another module, identical in every process.
unsafe impl Send for PresenceApi {}
unsafe impl Sync for PresenceApi {}

impl PresenceApi {
    /// Binds presence if it is loaded.
    pub fn bind() -> Option<PresenceApi> {
        api::bind::<sys::presence_api_t>(c"bind_presence", 1).map(PresenceApi)
    }

    /// True if presence knows an event of that name.
    pub fn contains_event(&self, name: &str) -> bool {
        let Some(f) = self.0.contains_event else { return false };
        let mut n = kstr::view(name.as_bytes());
        // SAFETY: presence only reads the name (a NULL parsed event is allowed).
        !unsafe { f(&mut n, std::ptr::null_mut()) }.is_null()
    }

    /// Registers an event whose bodies pass through unchanged (call from mod_init, with
    /// presence loaded before this module).
    pub fn add_event(&self, ev: &PresenceEvent) -> Result<Registered, Error> {
        let spec = crate::presence_events::EventSpec {
            name: ev.name,
            content_type: ev.content_type,
            default_expires: ev.default_expires,
            etag_not_new: false,
            callbacks: Default::default(),
        };
        crate::presence_events::register::<PassThrough>(self, &spec)
    }

    /// presence's record of an event (NULL when unknown).
    fn event_ptr(&self, name: &str) -> *mut sys::pres_ev_t {
        let Some(f) = self.0.contains_event else { return std::ptr::null_mut() };
        let mut n = kstr::view(name.as_bytes());
        // SAFETY: presence only reads the name; the event lives in its shm list for good.
        unsafe { f(&mut n, std::ptr::null_mut()) }
    }

    /// The presentity's current sphere (RFC 4480), when presence tracks spheres.
    pub fn get_sphere(&self, pres_uri: &[u8]) -> Option<String> {
        let f = self.0.get_sphere?;
        let mut u = kstr::view(pres_uri);
        // SAFETY: presence returns a NUL-terminated pkg string or NULL; we free it.
        unsafe {
            let p = f(&mut u);
            if p.is_null() {
                return None;
            }
            let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
            crate::mem::pkg_free(p as *mut std::ffi::c_void);
            Some(s)
        }
    }

    /// The presentity's current (aggregated) document for `event`.
    pub fn get_presentity(&self, pres_uri: &[u8], event: &str) -> Option<Vec<u8>> {
        let (get, free) = (self.0.get_presentity?, self.0.free_presentity?);
        let ev = self.event_ptr(event);
        if ev.is_null() {
            return None;
        }
        // SAFETY: presence builds the document and releases it with free_presentity.
        unsafe {
            let p = get(kstr::view(pres_uri), ev, std::ptr::null_mut(), std::ptr::null_mut());
            let doc = kstr::opt_bytes(p).map(<[u8]>::to_vec);
            if !p.is_null() {
                free(p, ev);
            }
            doc
        }
    }

    /// Re-evaluates the watchers of `pres_uri` for `event` against a new rules document.
    pub fn update_watchers_status(&self, pres_uri: &[u8], event: &str, rules_doc: &[u8]) -> Result<(), Error> {
        let f = self.0.update_watchers_status.ok_or_else(|| Error::from("presence has no update_watchers_status"))?;
        let ev = self.event_ptr(event);
        if ev.is_null() {
            return Err(Error::from(format!("presence has no event {event}")));
        }
        let mut u = kstr::view(pres_uri);
        let mut d = kstr::view(rules_doc);
        // SAFETY: presence reads the URI and document during the call.
        if unsafe { f(&mut u, ev, &mut d) } < 0 {
            return Err(Error::from("presence could not update the watchers"));
        }
        Ok(())
    }

    /// The raw function table.
    pub fn raw(&self) -> &sys::presence_api_t {
        &self.0
    }
}
