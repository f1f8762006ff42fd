//! Binding other modules' APIs through `find_export`, as their inline `*_load_api` helpers do.

use std::ffi::{c_int, c_void, CStr};

use crate::sys;

/// Looks up `name` in the loaded modules' export tables and calls it as a binder that fills
/// `api`. `None` when no loaded module exports it, or when the binder fails.
pub fn bind<T: Default>(name: &CStr, param_no: i32) -> Option<T> {
    // SAFETY: find_export only reads the module list; a binder takes a pointer to its struct.
    unsafe {
        let f = sys::find_export(name.as_ptr() as *mut _, param_no, 0)?;
        let binder: unsafe extern "C" fn(*mut c_void) -> c_int = std::mem::transmute(f);
        let mut api = T::default();
        (binder(&mut api as *mut T as *mut c_void) >= 0).then_some(api)
    }
}

/// True if a loaded module exports `name` with `param_no` parameters.
pub fn is_exported(name: &CStr, param_no: i32) -> bool {
    // SAFETY: a read-only lookup.
    unsafe { sys::find_export(name.as_ptr() as *mut _, param_no, 0).is_some() }
}

/// The loaded modules' names in load order, which is the order their `mod_init` runs in.
pub fn loaded_modules() -> Vec<String> {
    let mut names = Vec::new();
    // SAFETY: the core's module list is complete before any mod_init and never shrinks; the
    // newest module is at its head.
    unsafe {
        let mut m = sys::modules;
        while let Some(module) = m.as_ref() {
            if !module.exports.name.is_null() {
                names.push(CStr::from_ptr(module.exports.name).to_string_lossy().into_owned());
            }
            m = module.next;
        }
    }
    names.reverse();
    names
}

/// Where `other` stands relative to this module in the load order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOrder {
    /// Not loaded at all.
    Absent,
    /// Loaded before this module: its mod_init has run when ours runs.
    Before,
    /// Loaded after this module: its mod_init has not run yet when ours runs.
    After,
}

/// Where module `other` was loaded relative to module `me`.
pub fn load_order(me: &str, other: &str) -> LoadOrder {
    order_in(&loaded_modules(), me, other)
}

fn order_in(names: &[String], me: &str, other: &str) -> LoadOrder {
    let pos = |n: &str| names.iter().position(|x| x == n);
    match (pos(me), pos(other)) {
        (_, None) => LoadOrder::Absent,
        (Some(a), Some(b)) if b > a => LoadOrder::After,
        _ => LoadOrder::Before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_order_from_names() {
        let names: Vec<String> = ["tm", "presence", "mine", "pua"].iter().map(|s| s.to_string()).collect();
        assert_eq!(order_in(&names, "mine", "presence"), LoadOrder::Before);
        assert_eq!(order_in(&names, "mine", "pua"), LoadOrder::After);
        assert_eq!(order_in(&names, "mine", "rls"), LoadOrder::Absent);
    }
}
