//! Kamailio's module ABI (5.6 and 6.0, one per build) in safe Rust: the foundation every
//! module of this project uses.
//!
//! `sys` holds the generated bindings of the target's headers; everything else is the safe API
//! over them, one API for both targets: where a layout differs, the difference stays inside
//! (`kamailio_target` cfg), and where a behaviour differs, modules read [`target::SERIES`]. Module
//! crates declare themselves with [`module!`] and never need `unsafe`.

pub mod api;
pub mod db;
pub mod guard;
pub mod kstr;
pub mod libxml_api;
pub mod lock;
pub mod log;
pub mod mem;
pub mod module;
pub mod msg;
pub mod presence;
pub mod presence_events;
pub mod presence_xml_api;
pub mod pua;
pub mod pua_api;
pub mod pv;
pub mod rpc;
pub mod sl;
pub mod stats;
pub mod sys;
pub mod target;
pub mod timer;
pub mod timer_process;
pub mod tm;
pub mod valgrind;
pub mod xcap;
pub mod xcap_client_api;
pub mod xml;

pub use db::{Db, DbConn, Value};
pub use lock::{DeferringGuard, ShmLock, ShmMutex, ShmMutexGuard, TerminationDeferred};
pub use mem::{ShmBox, ShmGlobal};
pub use module::{CfgParam, Fixup, IntParam, ParamValue, Rank, StrParam};
pub use msg::SipMsg;
pub use pv::PvValue;
pub use rpc::Rpc;
pub use timer_process::TimerProcess;
pub use stats::Counter;

use std::fmt;

/// An error with a message for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error(s.to_string())
    }
}

impl From<db::DbError> for Error {
    fn from(e: db::DbError) -> Self {
        Error(e.0)
    }
}

/// This process's number in Kamailio's process table.
pub fn process_no() -> i32 {
    // SAFETY: a plain int the core sets for each process.
    unsafe { sys::process_no }
}

/// This process's pid.
pub fn pid() -> i32 {
    // SAFETY: a core function without preconditions.
    unsafe { sys::my_pid() }
}
