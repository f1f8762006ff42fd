//! Every entry point Kamailio calls runs through [`guard`]: a panic is caught, logged through
//! Kamailio's logger and turned into the error value the C caller expects.

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use crate::log;

static HOOK: Once = Once::new();

/// Runs `f` for module `module`; on a panic logs it and returns `on_panic`.
pub fn guard<R>(module: &'static CStr, what: &str, on_panic: R, f: impl FnOnce() -> R) -> R {
    log::enter_host(module);
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            crate::lm_crit!("panic at {at}: {msg}");
        }));
    });
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            crate::lm_err!("{what} panicked; the error was contained and reported to the caller");
            on_panic
        }
    }
}
