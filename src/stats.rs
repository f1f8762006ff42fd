//! Counters in Kamailio's statistics (core/counters.h), the ones `kamcmd stats.get_statistics`
//! lists and `xhttp_prom` exports, as `group:name` (the group is the module's name).
//!
//! The core keeps one row of counter values per process in shared memory, allocated when the
//! workers are about to be forked; a process adds only to its own row and a reader sums the
//! rows. So a counter must be registered before the fork (the `counters:` section of
//! [`crate::module!`] registers them just before `mod_init`), counting is one addition to
//! memory no other process writes, and a counter that was never registered (outside
//! Kamailio, in unit tests) counts nothing.
//!
//! A gauge (how many records there are now) is not a sum of per-process additions: it is a
//! function the core calls whenever the statistics are read, in the reading process.

use std::ffi::{c_int, c_void, CString};
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};
use std::sync::OnceLock;

use crate::guard::guard;
use crate::{log, sys, Error};

/// `CNT_F_NO_RESET` (core/counters.h): `stats.reset_statistics` leaves the counter alone.
const CNT_F_NO_RESET: i32 = 1;

/// Where the core keeps the values: the addresses of its globals, taken when the first counter
/// is registered. Code that counts reaches the core only through these, so that it links into
/// unit-test executables, where the core's symbols do not exist.
struct CoreTable {
    /// `&_cnts_vals`: the table moves to shared memory at the fork, so it is read each time.
    vals: *const *mut sys::counter_array_t,
    row_len: *const c_int,
    process_no: *const c_int,
    get_val: unsafe extern "C" fn(sys::counter_handle_t) -> sys::counter_val_t,
}

// SAFETY: addresses of the core's globals, valid for the life of the process; only read.
unsafe impl Send for CoreTable {}
unsafe impl Sync for CoreTable {}

static CORE: OnceLock<CoreTable> = OnceLock::new();

/// One named statistic of a module: a counter (`inc`, `add`) or a gauge (read on demand).
/// Declare it as a `static` and list it in the module's `counters:` section.
pub struct Counter {
    name: &'static str,
    doc: &'static str,
    read: Option<fn() -> i64>,
    /// The core's handle; 0 (the core's invalid counter) until registered.
    id: AtomicU16,
}

impl Counter {
    /// A counter: the sum of what every process added since start (or the last reset).
    pub const fn new(name: &'static str, doc: &'static str) -> Counter {
        Counter { name, doc, read: None, id: AtomicU16::new(0) }
    }

    /// A gauge: `read()` is its value, called in whichever process reads the statistics.
    /// `read` runs inside Kamailio like any entry point (a panic is caught and reads as 0).
    pub const fn gauge(name: &'static str, doc: &'static str, read: fn() -> i64) -> Counter {
        Counter { name, doc, read: Some(read), id: AtomicU16::new(0) }
    }

    /// The name inside the module's group.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The description kept with the counter (`kamcmd cnt.help` with the counters module).
    pub fn doc(&self) -> &'static str {
        self.doc
    }

    /// True for a gauge.
    pub fn is_gauge(&self) -> bool {
        self.read.is_some()
    }

    /// True once registered with the core.
    pub fn is_registered(&self) -> bool {
        self.id.load(Ordering::Relaxed) != 0
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` (a gauge ignores it).
    #[inline]
    pub fn add(&self, n: i64) {
        let id = self.id.load(Ordering::Relaxed);
        if id == 0 || self.read.is_some() {
            return;
        }
        let Some(core) = CORE.get() else { return };
        // SAFETY: `_cnts_vals` holds `_cnts_row_len` values per process and `id` is below
        // `_cnts_row_len` (the core sized the rows for every registered counter); before the
        // fork it is a one-row array and `process_no` is 0. Only this process writes its row
        // (the core's `counter_add` is this same plain addition), and in each process only its
        // main thread runs module code, so a relaxed load and store lose no addition.
        unsafe {
            let vals = *core.vals;
            if vals.is_null() {
                return;
            }
            let row = *core.process_no as isize * *core.row_len as isize;
            let cell = AtomicI64::from_ptr(std::ptr::addr_of_mut!((*vals.offset(row + id as isize)).v));
            cell.store(cell.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        }
    }

    /// The value as readers see it (summed over the processes, or the gauge read); 0 when
    /// not registered.
    pub fn get(&self) -> i64 {
        let id = self.id.load(Ordering::Relaxed);
        let Some(core) = CORE.get().filter(|_| id != 0) else { return 0 };
        // SAFETY: a registered handle; the core sums the rows (or calls the gauge's reader).
        unsafe { (core.get_val)(sys::counter_handle_t { id }) }
    }
}

/// What the core calls to read a gauge; `param` is the registered `&'static Counter`.
unsafe extern "C" fn read_gauge(_h: sys::counter_handle_t, param: *mut c_void) -> sys::counter_val_t {
    // SAFETY: register() passes a pointer to a 'static Counter, at the same address in every
    // process (they are forks of one image).
    let c = unsafe { &*(param as *const Counter) };
    match c.read {
        Some(f) => guard(log::module_name(), c.name, 0, f),
        None => 0,
    }
}

/// Registers `counters` in the core's statistics under `group`. Only before the workers are
/// forked (mod_init, or the `counters:` section of [`crate::module!`]).
pub fn register(group: &str, counters: &[&'static Counter]) -> Result<(), Error> {
    let cgroup = CString::new(group).map_err(|_| Error::from("a statistics group name has a NUL"))?;
    CORE.get_or_init(|| CoreTable {
        vals: std::ptr::addr_of!(sys::_cnts_vals),
        row_len: std::ptr::addr_of!(sys::_cnts_row_len),
        process_no: std::ptr::addr_of!(sys::process_no),
        get_val: sys::counter_get_val,
    });
    for c in counters {
        if c.is_registered() {
            continue;
        }
        let name = CString::new(c.name).map_err(|_| Error::from(format!("statistic {:?} has a NUL in its name", c.name)))?;
        let doc = CString::new(c.doc).unwrap_or_default();
        let mut h = sys::counter_handle_t { id: 0 };
        let (flags, cbk, param): (i32, sys::counter_cbk_f, *mut c_void) = match c.read {
            Some(_) => (CNT_F_NO_RESET, Some(read_gauge), *c as *const Counter as *mut c_void),
            None => (0, None, std::ptr::null_mut()),
        };
        // SAFETY: the core copies group, name and doc; `param` is 'static (read_gauge).
        let rc = unsafe { sys::counter_register(&mut h, cgroup.as_ptr(), name.as_ptr(), flags, cbk, param, doc.as_ptr(), 0) };
        match rc {
            0 if h.id != 0 => c.id.store(h.id, Ordering::Relaxed),
            -2 => return Err(Error::from(format!("statistic {group}:{} is registered already", c.name))),
            _ => return Err(Error::from(format!("cannot register the statistic {group}:{} (after the fork, or out of memory)", c.name))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static HITS: Counter = Counter::new("hits", "what was hit");
    static SIZE: Counter = Counter::gauge("size", "how big", || 7);

    #[test]
    fn unregistered_counters_count_nothing_and_touch_nothing() {
        // Outside Kamailio the core's arrays do not exist: these must not reach them.
        HITS.inc();
        HITS.add(5);
        SIZE.add(1);
        assert_eq!((HITS.get(), SIZE.get()), (0, 0));
        assert!(!HITS.is_registered() && !HITS.is_gauge() && SIZE.is_gauge());
        assert_eq!((HITS.name(), HITS.doc()), ("hits", "what was hit"));
    }
}
