//! Buffers allocated by libxml2, for bodies handed to C consumers that release them with
//! `xmlFree` (presence frees notification bodies that way).

use std::ffi::{c_char, c_int, c_void};
use std::ptr::NonNull;

use crate::mem::{pkg_free, pkg_malloc};
use crate::sys;

#[link(name = "xml2")]
extern "C" {
    fn xmlStrndup(cur: *const u8, len: c_int) -> *mut u8;
    static xmlFree: Option<unsafe extern "C" fn(*mut c_void)>;
}

/// A NUL-terminated copy of some bytes in libxml2's heap; `xmlFree`d on drop unless handed
/// over with [`XmlBuf::into_raw`].
pub struct XmlBuf {
    ptr: NonNull<u8>,
    len: usize,
}

impl XmlBuf {
    /// Copies `b` (at most `i32::MAX` bytes) into libxml2's heap.
    pub fn copy(b: &[u8]) -> Option<XmlBuf> {
        let len = c_int::try_from(b.len()).ok()?;
        // SAFETY: xmlStrndup copies `len` bytes and appends a NUL.
        let p = unsafe { xmlStrndup(b.as_ptr(), len) };
        NonNull::new(p).map(|ptr| XmlBuf { ptr, len: b.len() })
    }

    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes were copied into the buffer.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Gives the buffer to a consumer that calls `xmlFree` on it.
    pub fn into_raw(self) -> *mut c_char {
        let p = self.ptr.as_ptr() as *mut c_char;
        std::mem::forget(self);
        p
    }

    /// A pkg `str` whose `s` is this libxml2 buffer: the body shape presence expects from
    /// event callbacks (it `xmlFree`s `s` and `pkg_free`s the `str`).
    pub fn into_pkg_str(self) -> Option<NonNull<sys::str_>> {
        let s = NonNull::new(pkg_malloc(std::mem::size_of::<sys::str_>()) as *mut sys::str_)?;
        let len = self.len as c_int;
        // SAFETY: a fresh pkg block of the right size.
        unsafe { s.as_ptr().write(sys::str_ { s: self.into_raw(), len }) };
        Some(s)
    }

    /// Frees a pkg `str` made by [`XmlBuf::into_pkg_str`] that was not handed over.
    ///
    /// # Safety
    /// `s` came from `into_pkg_str` and was not freed by anyone else.
    pub unsafe fn free_pkg_str(s: NonNull<sys::str_>) {
        xml_free(s.as_ref().s as *mut c_void);
        unsafe { pkg_free(s.as_ptr() as *mut c_void) };
    }
}

/// `xmlFree`: releases memory libxml2 allocated (NULL is ignored).
pub fn free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    xml_free(p)
}

fn xml_free(p: *mut c_void) {
    // SAFETY: libxml2's deallocator, for memory it allocated.
    unsafe {
        if let Some(f) = xmlFree {
            f(p)
        }
    }
}

impl Drop for XmlBuf {
    fn drop(&mut self) {
        xml_free(self.ptr.as_ptr() as *mut c_void);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_into_libxml2_and_frees_with_xml_free() {
        let b = XmlBuf::copy(b"<presence/>").unwrap();
        assert_eq!(b.as_bytes(), b"<presence/>");
        let raw = b.into_raw();
        // SAFETY: a NUL-terminated buffer from xmlStrndup.
        assert_eq!(unsafe { std::ffi::CStr::from_ptr(raw) }.to_bytes(), b"<presence/>");
        xml_free(raw as *mut c_void);
        assert!(XmlBuf::copy(b"").unwrap().is_empty());
    }
}
