//! Views of Kamailio's `str` (pointer + length, not NUL-terminated).

use std::ffi::{c_char, c_int};

use crate::sys;

/// Borrows the bytes of a Kamailio `str`; empty for a NULL pointer or a negative length.
///
/// # Safety
/// `s.s` must point to `s.len` readable bytes that outlive `'a`.
pub unsafe fn bytes<'a>(s: &sys::str_) -> &'a [u8] {
    if s.s.is_null() || s.len <= 0 {
        &[]
    } else {
        std::slice::from_raw_parts(s.s as *const u8, s.len as usize)
    }
}

/// Borrows a Kamailio `str` behind a pointer (NULL gives `None`).
///
/// # Safety
/// As [`bytes`], and `p` is NULL or valid.
pub unsafe fn opt_bytes<'a>(p: *const sys::str_) -> Option<&'a [u8]> {
    p.as_ref().map(|s| bytes(s))
}

/// A Kamailio `str` viewing `b`. The callee must not keep it beyond `b`'s lifetime.
pub fn view(b: &[u8]) -> sys::str_ {
    sys::str_ { s: b.as_ptr() as *mut c_char, len: b.len() as c_int }
}

/// An empty Kamailio `str` (NULL, 0).
pub const fn empty() -> sys::str_ {
    sys::str_ { s: std::ptr::null_mut(), len: 0 }
}
