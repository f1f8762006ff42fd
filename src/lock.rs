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
