//! Kamailio's pkg (per-process) and shm (shared) memory, as typed allocations and as
//! `allocator-api2` allocators so that ordinary collections can live in them.

use std::alloc::Layout;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};

use allocator_api2::alloc::{AllocError, Allocator};

use crate::{log, sys};

// The allocator records these in chunk headers and prints them in memory reports, so they
// must be 'static.
const FILE: &std::ffi::CStr = c"rust";
const FUNC: &std::ffi::CStr = c"allocator";

/// Both allocators return at least pointer-size-aligned memory (q_malloc, f_malloc, tlsf).
const MAX_ALIGN: usize = 8;

/// Kamailio's private (per-process) memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pkg;

/// Kamailio's shared memory, visible to every process forked after it was allocated.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shm;

/// pkg_malloc.
pub fn pkg_malloc(size: usize) -> *mut c_void {
    // SAFETY: _pkg_root is set up by the core before any module code runs.
    unsafe {
        let root = &*std::ptr::addr_of!(sys::_pkg_root);
        match root.xmalloc {
            Some(f) => f(root.mem_block, size, FILE.as_ptr(), FUNC.as_ptr(), 0, log::module_name().as_ptr()),
            None => std::ptr::null_mut(),
        }
    }
}

/// pkg_free.
///
/// # Safety
/// `p` is NULL or came from pkg_malloc in this process and is not used afterwards.
pub unsafe fn pkg_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: `p` came from pkg_malloc in this process.
    unsafe {
        let root = &*std::ptr::addr_of!(sys::_pkg_root);
        if let Some(f) = root.xfree {
            f(root.mem_block, p, FILE.as_ptr(), FUNC.as_ptr(), 0, log::module_name().as_ptr());
        }
    }
}

/// shm_malloc.
pub fn shm_malloc(size: usize) -> *mut c_void {
    // SAFETY: _shm_root is set up before mod_init; the shm allocator locks internally.
    unsafe {
        let root = &*std::ptr::addr_of!(sys::_shm_root);
        match root.xmalloc {
            Some(f) => f(root.mem_block, size, FILE.as_ptr(), FUNC.as_ptr(), 0, log::module_name().as_ptr()),
            None => std::ptr::null_mut(),
        }
    }
}

/// shm_free.
///
/// # Safety
/// `p` is NULL or came from shm_malloc and is not used afterwards by any process.
pub unsafe fn shm_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: `p` came from shm_malloc.
    unsafe {
        let root = &*std::ptr::addr_of!(sys::_shm_root);
        if let Some(f) = root.xfree {
            f(root.mem_block, p, FILE.as_ptr(), FUNC.as_ptr(), 0, log::module_name().as_ptr());
        }
    }
}

fn alloc_with(layout: Layout, malloc: fn(usize) -> *mut c_void) -> Result<NonNull<[u8]>, AllocError> {
    if layout.align() > MAX_ALIGN {
        return Err(AllocError);
    }
    let size = layout.size().max(1);
    let p = NonNull::new(malloc(size) as *mut u8).ok_or(AllocError)?;
    Ok(NonNull::slice_from_raw_parts(p, layout.size()))
}

// SAFETY: pkg_malloc/pkg_free honour the contract for alignments up to MAX_ALIGN.
unsafe impl Allocator for Pkg {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        alloc_with(layout, pkg_malloc)
    }
    unsafe fn deallocate(&self, ptr: NonNull<u8>, _layout: Layout) {
        // SAFETY: the Allocator contract: `ptr` came from allocate() on this allocator.
        unsafe { pkg_free(ptr.as_ptr() as *mut c_void) }
    }
}

// SAFETY: as Pkg, over shared memory.
unsafe impl Allocator for Shm {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        alloc_with(layout, shm_malloc)
    }
    unsafe fn deallocate(&self, ptr: NonNull<u8>, _layout: Layout) {
        // SAFETY: the Allocator contract: `ptr` came from allocate() on this allocator.
        unsafe { shm_free(ptr.as_ptr() as *mut c_void) }
    }
}

/// A value in shared memory.
pub type ShmBox<T> = allocator_api2::boxed::Box<T, Shm>;
/// A vector in shared memory.
pub type ShmVec<T> = allocator_api2::vec::Vec<T, Shm>;
/// A value in pkg memory.
pub type PkgBox<T> = allocator_api2::boxed::Box<T, Pkg>;

/// Moves `v` into shared memory.
pub fn shm_box<T>(v: T) -> Option<ShmBox<T>> {
    ShmBox::try_new_in(v, Shm).ok()
}

/// A module global that points at state in shared memory: set once in `mod_init` (before the
/// workers fork, so every process inherits the pointer), then read from any process.
pub struct ShmGlobal<T>(AtomicPtr<T>);

impl<T> ShmGlobal<T> {
    pub const fn new() -> Self {
        ShmGlobal(AtomicPtr::new(std::ptr::null_mut()))
    }

    /// Stores the state; it then lives until the process ends (shm is released by the core).
    pub fn set(&self, v: ShmBox<T>) {
        let p = ShmBox::into_raw(v);
        let old = self.0.swap(p, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: `old` came from a ShmBox stored here before.
            drop(unsafe { ShmBox::from_raw_in(old, Shm) });
        }
    }

    /// The state, once set.
    pub fn get(&self) -> Option<&'static T> {
        // SAFETY: set() stored a leaked ShmBox that is never freed while reachable.
        unsafe { self.0.load(Ordering::Acquire).as_ref() }
    }
}

impl<T> Default for ShmGlobal<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A pkg-allocated `str` whose `s` is a separate pkg block with a trailing NUL: the shape C
/// consumers release with `pkg_free(s->s); pkg_free(s)`. Freed on drop unless handed over
/// with [`PkgStr::into_raw`].
pub struct PkgStr(NonNull<sys::str_>);

impl PkgStr {
    /// The bytes (without the trailing NUL).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: both blocks were filled by pkg_str_dup and stay alive until drop.
        unsafe { crate::kstr::bytes(self.0.as_ref()) }
    }

    /// Gives the `str*` to a C consumer that frees it.
    pub fn into_raw(self) -> *mut sys::str_ {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Drop for PkgStr {
    fn drop(&mut self) {
        // SAFETY: both blocks came from pkg_malloc in pkg_str_dup.
        unsafe {
            pkg_free(self.0.as_ref().s as *mut c_void);
            pkg_free(self.0.as_ptr() as *mut c_void);
        }
    }
}

/// Copies `b` into a new [`PkgStr`].
pub fn pkg_str_dup(b: &[u8]) -> Option<PkgStr> {
    let s = NonNull::new(pkg_malloc(std::mem::size_of::<sys::str_>()) as *mut sys::str_)?;
    let buf = pkg_malloc(b.len() + 1) as *mut u8;
    if buf.is_null() {
        // SAFETY: just allocated, not handed out.
        unsafe { pkg_free(s.as_ptr() as *mut c_void) };
        return None;
    }
    // SAFETY: both blocks were just allocated with the sizes written here.
    unsafe {
        std::ptr::copy_nonoverlapping(b.as_ptr(), buf, b.len());
        *buf.add(b.len()) = 0;
        s.as_ptr().write(sys::str_ { s: buf as *mut _, len: b.len() as i32 });
    }
    Some(PkgStr(s))
}
