//! Periodic work in a process of its own, so that a slow pass (a dead server's connect
//! timeouts, say) delays nobody else: the core's shared timer process runs every module's
//! timers one after another.
//!
//! The process is counted in `mod_init` (the core sizes its process table before forking) and
//! forked from the main process in `child_init(PROC_MAIN)`; the core then runs every module's
//! `child_init` with `PROC_TIMER` in it, so it opens its own database connections as the core's
//! timer process does. The function first runs one interval after the fork, then one interval
//! after each run ends.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use crate::module::Rank;
use crate::{lm_err, sys, timer, Error};

/// One dedicated timer process of a module, declared as a static.
pub struct TimerProcess {
    /// The process's name in the process table (`kamcmd core.psx`).
    desc: &'static CStr,
    job: OnceLock<(fn(u32), u32)>,
}

impl TimerProcess {
    pub const fn new(desc: &'static CStr) -> Self {
        TimerProcess { desc, job: OnceLock::new() }
    }

    /// Counts the process and remembers `f` and its interval (seconds, > 0). Call from
    /// `mod_init`, at most once.
    pub fn register(&self, f: fn(u32), interval_s: u32) -> Result<(), Error> {
        if interval_s == 0 {
            return Err(Error::from("a timer process needs an interval of at least one second"));
        }
        if self.job.set((f, interval_s)).is_err() {
            return Err(Error::from("this timer process is registered already"));
        }
        // SAFETY: called from mod_init, before the core sizes its process table.
        if unsafe { sys::register_basic_timers(1) } < 0 {
            return Err(Error::from("cannot register a timer process"));
        }
        Ok(())
    }

    /// Forks the process when `rank` is the main process and [`register`](Self::register) was
    /// called; otherwise does nothing. Call from `child_init`. Returns in the main process only.
    pub fn fork(&self, rank: Rank) -> Result<(), Error> {
        let Some(&(f, interval_s)) = self.job.get() else { return Ok(()) };
        if rank != Rank::MAIN {
            return Ok(());
        }
        let parent = std::process::id();
        // SAFETY: called in the main process from child_init(PROC_MAIN), as the core requires
        // for a process with a socket to the TCP main process; the core copies `desc`, and
        // `f` stays valid for the life of the process.
        let rc = unsafe {
            sys::fork_basic_timer(
                Rank::TIMER.0 as c_int,
                self.desc.as_ptr() as *mut _,
                1,
                Some(timer::trampoline),
                f as *mut c_void,
                interval_s as c_int,
            )
        };
        if std::process::id() != parent {
            // The child's loop ended: it could not take its configuration (-1), or the
            // server is shutting down (0). It must not go on as the main process would.
            if rc < 0 {
                lm_err!("the timer process {} could not start", self.desc.to_string_lossy());
            }
            // SAFETY: leaves this process at once, as the core's own processes do.
            unsafe { libc::_exit(if rc < 0 { 1 } else { 0 }) };
        }
        if rc < 0 {
            return Err(Error::from(format!("cannot fork the timer process {}", self.desc.to_string_lossy())));
        }
        Ok(())
    }
}
