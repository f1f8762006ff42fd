//! Periodic timers run by the core's timer process.

use std::ffi::{c_uint, c_void};

use crate::guard::guard;
use crate::{log, sys, Error};

/// Calls the `fn(u32)` in `param` with the ticks, guarded against panics.
pub(crate) unsafe extern "C" fn trampoline(ticks: c_uint, param: *mut c_void) {
    // SAFETY: `param` is the fn pointer stored by register().
    let f: fn(u32) = std::mem::transmute::<*mut c_void, fn(u32)>(param);
    guard(log::module_name(), "timer", (), || f(ticks));
}

/// Runs `f(ticks)` every `interval_s` seconds in the timer process. Call from mod_init.
pub fn register(f: fn(u32), interval_s: u32) -> Result<(), Error> {
    // SAFETY: the core keeps the pointers and calls the trampoline with `param`.
    let rc = unsafe { sys::register_timer(Some(trampoline), f as *mut c_void, interval_s) };
    if rc < 0 {
        return Err(Error::from("cannot register a timer"));
    }
    Ok(())
}
