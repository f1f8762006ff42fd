//! The pua module's API (`bind_pua`) as a consumer sees it.

use std::ffi::CString;

use crate::{api, sys, Error};

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
}

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

    /// The raw function table.
    pub fn raw(&self) -> &sys::pua_api_t {
        &self.0
    }
}
