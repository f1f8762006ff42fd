//! A process-shared lock with the core's own `gen_lock_t` protocol (a futex in shm, taken
//! through the core's inline code in the C shim), so that C code locking the same lock
//! interoperates. `std::sync::Mutex` is private to one process and must not be used in shm.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

use crate::sys;

/// A bare `gen_lock_t` (4 bytes), for C-layout structures that embed one.
#[repr(transparent)]
pub struct ShmLock(UnsafeCell<sys::gen_lock_t>);

// SAFETY: the lock word is only touched through the core's atomic lock operations.
unsafe impl Sync for ShmLock {}
unsafe impl Send for ShmLock {}

impl ShmLock {
    /// An unlocked lock (the core's initial state is 0).
    pub const fn new() -> Self {
        ShmLock(UnsafeCell::new(0))
    }

    pub fn lock(&self) {
        // SAFETY: the lock word is valid and lives in memory all users can reach.
        unsafe { sys::ksr_shim_lock_get(self.0.get() as *mut _) }
    }

    pub fn unlock(&self) {
        // SAFETY: as lock(); the caller holds the lock.
        unsafe { sys::ksr_shim_lock_release(self.0.get() as *mut _) }
    }

    /// Takes the lock if it is free; true on success.
    pub fn try_lock(&self) -> bool {
        // SAFETY: as lock(). The core's lock_try returns 0 on success.
        unsafe { sys::ksr_shim_lock_try(self.0.get() as *mut _) == 0 }
    }

    /// The raw lock word, for C code that takes the same lock.
    pub fn as_ptr(&self) -> *mut sys::gen_lock_t {
        self.0.get()
    }
}

impl Default for ShmLock {
    fn default() -> Self {
        Self::new()
    }
}

/// Data guarded by a process-shared lock. Place it in shm (see [`crate::mem::shm_box`]); `T`
/// must not hold pointers into process-private memory.
#[repr(C)]
pub struct ShmMutex<T> {
    lock: ShmLock,
    data: UnsafeCell<T>,
}

// SAFETY: access to `data` is serialised by the lock across threads and processes.
unsafe impl<T: Send> Sync for ShmMutex<T> {}
unsafe impl<T: Send> Send for ShmMutex<T> {}

impl<T> ShmMutex<T> {
    pub const fn new(v: T) -> Self {
        ShmMutex { lock: ShmLock::new(), data: UnsafeCell::new(v) }
    }

    pub fn lock(&self) -> ShmMutexGuard<'_, T> {
        self.lock.lock();
        ShmMutexGuard { m: self }
    }

    pub fn try_lock(&self) -> Option<ShmMutexGuard<'_, T>> {
        self.lock.try_lock().then_some(ShmMutexGuard { m: self })
    }

    /// Takes the lock with SIGTERM and SIGINT held back until it is released (see
    /// [`TerminationDeferred`]): for data that another process reads at shutdown, which a
    /// worker ended by a stop inside the critical section would leave locked for ever.
    pub fn lock_deferring(&self) -> DeferringGuard<'_, T> {
        let deferred = TerminationDeferred::new();
        DeferringGuard { guard: self.lock(), _deferred: deferred }
    }

    /// Takes the lock under a deferral the caller already holds: a loop over many locks
    /// defers termination once, not once per lock. The guard borrows the deferral, so it
    /// cannot outlive it.
    pub fn lock_under<'a>(&'a self, _deferred: &'a TerminationDeferred) -> ShmMutexGuard<'a, T> {
        self.lock()
    }

    /// The underlying lock.
    pub fn raw_lock(&self) -> &ShmLock {
        &self.lock
    }
}

/// Holds a [`ShmMutex`] until dropped (also on unwinding).
pub struct ShmMutexGuard<'a, T> {
    m: &'a ShmMutex<T>,
}

impl<T> Deref for ShmMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held.
        unsafe { &*self.m.data.get() }
    }
}

impl<T> DerefMut for ShmMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T> Drop for ShmMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.m.lock.unlock();
    }
}

/// Holds a [`ShmMutex`] with termination held back ([`ShmMutex::lock_deferring`]). The fields
/// drop in order: the lock first, then the deferral, so a signal that came meanwhile is
/// delivered after the unlock.
pub struct DeferringGuard<'a, T> {
    guard: ShmMutexGuard<'a, T>,
    _deferred: TerminationDeferred,
}

impl<T> Deref for DeferringGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for DeferringGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

/// Holds back SIGTERM and SIGINT in this thread while it lives; a signal that comes meanwhile
/// is delivered when the last guard goes. Kamailio's workers `_exit` from their handler of
/// these signals wherever they are when a stop begins: a worker that ends holding a
/// process-shared lock leaves it held for ever, and leaves what the lock guards half-changed,
/// so a process that reads it at shutdown (the main process, in a module's destroy) blocks
/// until the core's shutdown alarm aborts it. Take this guard before such a lock and drop it
/// after the lock's guard (declare it first), and a stop ends the worker just after the
/// critical section instead of inside it. Guards nest: each restores the mask it found. The
/// mask is the calling thread's: a process with other threads that let the signals through
/// (none in the core's processes; some modules start threads) may still be ended by them.
pub struct TerminationDeferred {
    old: libc::sigset_t,
}

impl TerminationDeferred {
    pub fn new() -> Self {
        // SAFETY: sigset_t is plain data that sigemptyset initialises; pthread_sigmask only
        // reads `set` and writes `old`, both valid for the call.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigaddset(&mut set, libc::SIGINT);
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            TerminationDeferred { old }
        }
    }
}

impl Default for TerminationDeferred {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TerminationDeferred {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by new(); a pending signal is delivered here.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A MAP_SHARED anonymous mapping: shared with forked children like Kamailio's shm.
    fn shared<T>(v: T) -> &'static ShmMutex<T> {
        // SAFETY: a fresh mapping of the right size, initialised before use.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                std::mem::size_of::<ShmMutex<T>>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let m = p as *mut ShmMutex<T>;
            m.write(ShmMutex::new(v));
            &*m
        }
    }

    #[test]
    fn the_lock_is_four_bytes_like_gen_lock_t() {
        // SAFETY: a pure function of the shim.
        assert_eq!(unsafe { sys::ksr_shim_lock_size() }, std::mem::size_of::<ShmLock>());
        assert_eq!(std::mem::size_of::<ShmLock>(), 4);
    }

    #[test]
    fn try_lock_sees_a_held_lock() {
        let m = shared(0u32);
        let g = m.lock();
        assert!(m.try_lock().is_none());
        drop(g);
        assert!(m.try_lock().is_some());
    }

    /// Kamailio's worker handler of SIGTERM: `_exit(0)` wherever the worker is.
    extern "C" fn exit_at_once(_: libc::c_int) {
        // SAFETY: async-signal-safe.
        unsafe { libc::_exit(0) };
    }

    /// True when SIGTERM waits to be delivered to process `pid` (its ShdPnd mask).
    fn sigterm_pending(pid: libc::pid_t) -> bool {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let mask = status.lines().find_map(|l| l.strip_prefix("ShdPnd:")).unwrap().trim();
        u64::from_str_radix(mask, 16).unwrap() & (1 << (libc::SIGTERM - 1)) != 0
    }

    /// A child takes the lock, tells the parent, and stays inside until the parent lets it go;
    /// the parent sends SIGTERM while it is inside (and lets it go once the signal is pending,
    /// when the child holds it back). Returns whether the lock was free once the child had
    /// exited.
    fn sigterm_inside_the_lock(defer: bool) -> bool {
        let m = shared(0u32);
        let mut ready = [0 as libc::c_int; 2];
        let mut go = [0 as libc::c_int; 2];
        // SAFETY: pipes for the two processes; the child only touches the shared mapping and
        // its pipe ends, then _exits.
        unsafe {
            assert_eq!(libc::pipe(ready.as_mut_ptr()), 0);
            assert_eq!(libc::pipe(go.as_mut_ptr()), 0);
            match libc::fork() {
                0 => {
                    libc::signal(libc::SIGTERM, exit_at_once as extern "C" fn(libc::c_int) as libc::sighandler_t);
                    let inside = |g: &mut u32| {
                        *g = 1;
                        libc::write(ready[1], b"x".as_ptr().cast(), 1);
                        let mut b = 0u8;
                        libc::read(go[0], (&mut b as *mut u8).cast(), 1);
                        *g = 2;
                    };
                    if defer {
                        let mut g = m.lock_deferring();
                        inside(&mut g);
                        // Unlocks, then lets the pending SIGTERM in: the process ends here,
                        // in its handler (status 0).
                        drop(g);
                    } else {
                        inside(&mut m.lock());
                    }
                    libc::_exit(3);
                }
                pid if pid > 0 => {
                    let mut b = 0u8;
                    assert_eq!(libc::read(ready[0], (&mut b as *mut u8).cast(), 1), 1);
                    libc::kill(pid, libc::SIGTERM);
                    if defer {
                        // The child leaves the lock only once the signal waits for it.
                        while !sigterm_pending(pid) {
                            std::thread::sleep(std::time::Duration::from_millis(1));
                        }
                        libc::write(go[1], b"x".as_ptr().cast(), 1);
                    }
                    let mut status = 0;
                    libc::waitpid(pid, &mut status, 0);
                    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "ended by the handler: {status:#x}");
                    for fd in ready.into_iter().chain(go) {
                        libc::close(fd);
                    }
                    let free = m.try_lock().map(|g| *g);
                    match free {
                        Some(v) => {
                            assert_eq!(v, 2, "the child finished its critical section");
                            true
                        }
                        None => false,
                    }
                }
                _ => panic!("fork failed"),
            }
        }
    }

    #[test]
    fn a_stop_inside_a_deferring_critical_section_ends_the_process_after_it() {
        assert!(sigterm_inside_the_lock(true), "the lock is free once the process has gone");
        // Without the guard the process ends inside and the lock stays held.
        assert!(!sigterm_inside_the_lock(false));
    }

    /// True when this thread holds back SIGTERM and SIGINT.
    fn termination_blocked() -> bool {
        // SAFETY: reads this thread's mask into a local set.
        unsafe {
            let mut cur: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut cur);
            libc::sigismember(&cur, libc::SIGTERM) == 1 && libc::sigismember(&cur, libc::SIGINT) == 1
        }
    }

    #[test]
    fn a_deferring_lock_holds_termination_back_while_locked() {
        let m = shared(0u32);
        assert!(!termination_blocked());
        let mut g = m.lock_deferring();
        *g += 1;
        assert!(termination_blocked());
        assert!(m.try_lock().is_none());
        drop(g);
        assert!(!termination_blocked());
        assert_eq!(m.try_lock().map(|g| *g), Some(1));
        let deferred = TerminationDeferred::new();
        for _ in 0..3 {
            *m.lock_under(&deferred) += 1;
            assert!(termination_blocked(), "the loop's deferral lasts across its locks");
        }
        drop(deferred);
        assert!(!termination_blocked());
        assert_eq!(m.try_lock().map(|g| *g), Some(4));
    }

    #[test]
    fn deferral_guards_nest_and_restore_the_mask() {
        let blocked = termination_blocked;
        assert!(!blocked());
        let outer = TerminationDeferred::new();
        {
            let _inner = TerminationDeferred::new();
            assert!(blocked());
        }
        assert!(blocked(), "the inner guard leaves the outer one's mask");
        drop(outer);
        assert!(!blocked());
    }

    #[test]
    fn serialises_increments_across_processes() {
        const PROCS: usize = 4;
        const ROUNDS: u64 = 20_000;
        let m = shared(0u64);
        let mut pids = Vec::new();
        for _ in 0..PROCS {
            // SAFETY: the child only touches the shared mapping and then _exits.
            match unsafe { libc::fork() } {
                0 => {
                    for _ in 0..ROUNDS {
                        let mut g = m.lock();
                        // A read-modify-write that loses updates without mutual exclusion.
                        let v = *g;
                        std::hint::black_box(&v);
                        *g = v + 1;
                    }
                    unsafe { libc::_exit(0) };
                }
                pid if pid > 0 => pids.push(pid),
                _ => panic!("fork failed"),
            }
        }
        for pid in pids {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        }
        assert_eq!(*m.lock(), PROCS as u64 * ROUNDS);
    }
}
