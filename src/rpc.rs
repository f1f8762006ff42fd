//! RPC handlers: reading parameters and building replies through the core's `rpc_t`.

use std::ffi::{c_char, c_int, c_void, CString};

use crate::{kstr, sys};

/// One RPC call in progress.
pub struct Rpc {
    api: *mut sys::rpc_t,
    ctx: *mut c_void,
}

/// A structure in an RPC reply.
pub struct RpcStruct<'a> {
    rpc: &'a Rpc,
    handle: *mut c_void,
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl Rpc {
    /// # Safety
    /// `api` and `ctx` are the pointers the core passed to the handler.
    pub(crate) unsafe fn from_raw(api: *mut sys::rpc_t, ctx: *mut c_void) -> Rpc {
        Rpc { api, ctx }
    }

    fn api(&self) -> &sys::rpc_t {
        // SAFETY: valid for the whole call (from_raw).
        unsafe { &*self.api }
    }

    /// The next parameter as a string, if there is one.
    pub fn scan_str(&mut self) -> Option<String> {
        let mut s = kstr::empty();
        let scan = self.api().scan?;
        // SAFETY: "*S" reads one optional str into `s` (valid until the call ends).
        let n = unsafe { scan(self.ctx, c"*S".as_ptr() as *mut c_char, &mut s as *mut sys::str_) };
        // SAFETY: on success `s` views the request buffer.
        (n >= 1).then(|| String::from_utf8_lossy(unsafe { kstr::bytes(&s) }).into_owned())
    }

    /// The next parameter as an integer, if there is one.
    pub fn scan_int(&mut self) -> Option<i32> {
        let mut v: c_int = 0;
        let scan = self.api().scan?;
        // SAFETY: "*d" reads one optional int.
        let n = unsafe { scan(self.ctx, c"*d".as_ptr() as *mut c_char, &mut v as *mut c_int) };
        (n >= 1).then_some(v)
    }

    /// Answers with an error code and message.
    pub fn fault(&mut self, code: i32, msg: &str) {
        let m = cstring(msg);
        if let Some(f) = self.api().fault {
            // SAFETY: "%s" with one NUL-terminated string.
            unsafe { f(self.ctx, code, c"%s".as_ptr() as *mut c_char, m.as_ptr()) };
        }
    }

    /// Adds a string value to the reply.
    pub fn add_str(&mut self, s: &str) {
        let mut v = kstr::view(s.as_bytes());
        if let Some(add) = self.api().add {
            // SAFETY: "S" copies the str into the reply.
            unsafe { add(self.ctx, c"S".as_ptr() as *mut c_char, &mut v as *mut sys::str_) };
        }
    }

    /// Adds an integer value to the reply.
    pub fn add_int(&mut self, v: i32) {
        if let Some(add) = self.api().add {
            // SAFETY: "d" takes one int.
            unsafe { add(self.ctx, c"d".as_ptr() as *mut c_char, v as c_int) };
        }
    }

    /// Adds a structure to the reply; fill it with [`RpcStruct`]'s methods.
    pub fn add_struct(&mut self) -> Option<RpcStruct<'_>> {
        let mut handle: *mut c_void = std::ptr::null_mut();
        let add = self.api().add?;
        // SAFETY: "{" creates a structure and writes its handle.
        let rc = unsafe { add(self.ctx, c"{".as_ptr() as *mut c_char, &mut handle as *mut *mut c_void) };
        (rc >= 0 && !handle.is_null()).then_some(RpcStruct { rpc: self, handle })
    }
}

impl RpcStruct<'_> {
    /// Adds `name: value` (integer).
    pub fn add_int(&mut self, name: &str, v: i32) {
        let n = cstring(name);
        if let Some(f) = self.rpc.api().struct_add {
            // SAFETY: "d" with a member name and one int.
            unsafe { f(self.handle, c"d".as_ptr() as *mut c_char, n.as_ptr(), v as c_int) };
        }
    }

    /// Adds `name: value` (string).
    pub fn add_str(&mut self, name: &str, v: &str) {
        let n = cstring(name);
        let mut s = kstr::view(v.as_bytes());
        if let Some(f) = self.rpc.api().struct_add {
            // SAFETY: "S" with a member name and one str (copied).
            unsafe { f(self.handle, c"S".as_ptr() as *mut c_char, n.as_ptr(), &mut s as *mut sys::str_) };
        }
    }
}
