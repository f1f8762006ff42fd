//! Logging through Kamailio's logger, at the module's own debug level, in the core's line
//! format (`module [file:line]: message`). Outside Kamailio (unit tests) lines go to stderr.

use std::ffi::{c_char, CStr, CString};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use crate::sys;

/// Kamailio's log levels (core/dprint.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    Alert = -5,
    Bug = -4,
    Crit = -2,
    Err = -1,
    Warn = 0,
    Notice = 1,
    Info = 2,
    Dbg = 3,
}

static MODULE_NAME: AtomicPtr<c_char> = AtomicPtr::new(std::ptr::null_mut());
static IN_HOST: AtomicBool = AtomicBool::new(false);

/// Records that this code runs inside Kamailio as module `name` (done by every entry point).
pub fn enter_host(name: &'static CStr) {
    if !IN_HOST.load(Ordering::Relaxed) {
        let _ = MODULE_NAME.compare_exchange(
            std::ptr::null_mut(),
            name.as_ptr() as *mut c_char,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        IN_HOST.store(true, Ordering::Release);
    }
}

/// True once an entry point has been called by Kamailio in this process.
pub fn in_host() -> bool {
    IN_HOST.load(Ordering::Acquire)
}

/// The module name this library was loaded as ("rust" before the first entry point).
pub fn module_name() -> &'static CStr {
    let p = MODULE_NAME.load(Ordering::Acquire);
    if p.is_null() {
        c"rust"
    } else {
        // SAFETY: only 'static C strings are ever stored (enter_host).
        unsafe { CStr::from_ptr(p) }
    }
}

/// Whether a line at `level` would be printed for this module.
pub fn enabled(level: Level) -> bool {
    if !in_host() {
        return level as i32 <= Level::Info as i32;
    }
    // SAFETY: the shim reads core globals that exist for the whole process lifetime.
    unsafe { sys::ksr_shim_log_enabled(module_name().as_ptr(), level as i32) != 0 }
}

#[doc(hidden)]
pub fn write(level: Level, file: &str, line: u32, args: fmt::Arguments) {
    if !enabled(level) {
        return;
    }
    let file = file.rsplit('/').next().unwrap_or(file);
    let module = module_name().to_string_lossy();
    let msg = args.to_string();
    if !in_host() {
        eprintln!("{level:?}: {module} [{file}:{line}]: {msg}");
        return;
    }
    let loc = CString::new(format!("{module} [{file}:{line}]: ")).unwrap_or_default();
    let msg = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    unsafe {
        sys::ksr_shim_log(module_name().as_ptr(), level as i32, loc.as_ptr(), std::ptr::null(), msg.as_ptr())
    }
}

/// `LM_ERR`: an error line.
#[macro_export]
macro_rules! lm_err {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Err, file!(), line!(), format_args!($($arg)*)) };
}
/// `LM_WARN`: a warning line.
#[macro_export]
macro_rules! lm_warn {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Warn, file!(), line!(), format_args!($($arg)*)) };
}
/// `LM_NOTICE`: a notice line.
#[macro_export]
macro_rules! lm_notice {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Notice, file!(), line!(), format_args!($($arg)*)) };
}
/// `LM_INFO`: an informational line.
#[macro_export]
macro_rules! lm_info {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, file!(), line!(), format_args!($($arg)*)) };
}
/// `LM_DBG`: a debug line.
#[macro_export]
macro_rules! lm_dbg {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Dbg, file!(), line!(), format_args!($($arg)*)) };
}
/// `LM_CRIT`: a critical line.
#[macro_export]
macro_rules! lm_crit {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Crit, file!(), line!(), format_args!($($arg)*)) };
}
