//! Pseudo-variables exported by a module: `$name(inner)`, read-only, answered by a Rust getter.

use std::cell::RefCell;
use std::ffi::{c_int, CStr};

use crate::guard::guard;
use crate::msg::SipMsg;
use crate::{kstr, sys};

/// What a pseudo-variable getter answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PvValue {
    Null,
    /// An integer: `int` wide on Kamailio 5.6, `long` on 6.0.
    Int(i64),
    Str(String),
}

/// The getter trampoline signature.
pub type GetFn = unsafe extern "C" fn(*mut sys::sip_msg, *mut sys::pv_param_t, *mut sys::pv_value_t) -> c_int;
/// The setter trampoline signature.
pub type SetFn = unsafe extern "C" fn(*mut sys::sip_msg, *mut sys::pv_param_t, c_int, *mut sys::pv_value_t) -> c_int;

/// The table terminator.
pub const END: sys::pv_export_t = sys::pv_export_t {
    name: kstr::empty(),
    type_: 0,
    getf: None,
    setf: None,
    parse_name: None,
    parse_index: None,
    init_param: None,
    iparam: 0,
};

/// A `pv_export_t` for `$name(inner)`; `name_nul` ends with NUL. With a setter the PV can
/// be assigned in the script.
pub const fn export(name_nul: &'static str, getf: GetFn, setf: Option<SetFn>) -> sys::pv_export_t {
    sys::pv_export_t {
        name: sys::str_ { s: name_nul.as_ptr() as *mut _, len: name_nul.len() as c_int - 1 },
        type_: sys::PVT_OTHER,
        getf: Some(getf),
        setf,
        parse_name: Some(parse_name),
        parse_index: None,
        init_param: None,
        iparam: 0,
    }
}

/// Keeps the text between the parentheses as the PV's name.
unsafe extern "C" fn parse_name(sp: *mut sys::pv_spec_t, input: *mut sys::str_) -> c_int {
    let (Some(sp), Some(input)) = (sp.as_mut(), input.as_ref()) else { return -1 };
    if input.s.is_null() || input.len <= 0 {
        return -1;
    }
    sp.pvp.pvn.type_ = sys::PV_NAME_INTSTR as c_int;
    sp.pvp.pvn.u.isname.type_ = sys::AVP_NAME_STR as _;
    // The cfg parser keeps this text for the life of the process.
    sp.pvp.pvn.u.isname.name.s = *input;
    0
}

/// The PV's name: the text between the parentheses.
///
/// # Safety
/// `param` is NULL or the param of a spec parsed by `parse_name`.
unsafe fn inner_name(param: *mut sys::pv_param_t) -> String {
    let b = match param.as_ref() {
        Some(p) if p.pvn.type_ == sys::PV_NAME_INTSTR as c_int => kstr::bytes(&p.pvn.u.isname.name.s),
        _ => &[][..],
    };
    String::from_utf8_lossy(b).into_owned()
}

/// # Safety
/// The pointers are what the core passes to a PV setter of a spec parsed by `parse_name`.
#[doc(hidden)]
pub unsafe fn dispatch_set(
    module: &'static CStr,
    pv: &str,
    msg: *mut sys::sip_msg,
    param: *mut sys::pv_param_t,
    val: *mut sys::pv_value_t,
    handler: fn(&mut SipMsg, &str, PvValue) -> Result<(), crate::Error>,
) -> c_int {
    guard(module, pv, -1, || {
        // SAFETY: as documented for this function.
        let name = unsafe { inner_name(param) };
        let value = match unsafe { val.as_ref() } {
            None => PvValue::Null,
            Some(v) if v.flags as u32 & sys::PV_VAL_NULL != 0 => PvValue::Null,
            // SAFETY: a string value views memory valid during the call.
            Some(v) if v.flags as u32 & sys::PV_VAL_STR != 0 => {
                PvValue::Str(String::from_utf8_lossy(unsafe { kstr::bytes(&v.rs) }).into_owned())
            }
            Some(v) => PvValue::Int(i64::from(v.ri)),
        };
        let Some(msg) = (unsafe { SipMsg::from_raw(msg) }) else { return -1 };
        match handler(msg, &name, value) {
            Ok(()) => 0,
            Err(e) => {
                crate::lm_err!("${pv}({name}): {e}");
                -1
            }
        }
    })
}

/// An integer as the target's pv value holds it.
#[cfg(kamailio_target = "6.0")]
fn clamp_int(i: i64) -> std::ffi::c_long {
    i as std::ffi::c_long
}

/// An integer as the target's pv value holds it.
#[cfg(not(kamailio_target = "6.0"))]
fn clamp_int(i: i64) -> c_int {
    i.clamp(c_int::MIN.into(), c_int::MAX.into()) as c_int
}

// Values must outlive the getter call; a small per-process ring lets several values of one
// expression coexist, as the core's own ring buffers do.
const RING: usize = 8;
thread_local! {
    static VALUES: RefCell<(usize, Vec<Vec<u8>>)> = RefCell::new((0, vec![Vec::new(); RING]));
}

/// # Safety
/// The pointers are what the core passes to a PV getter of a spec parsed by `parse_name`.
#[doc(hidden)]
pub unsafe fn dispatch_get(
    module: &'static CStr,
    pv: &str,
    msg: *mut sys::sip_msg,
    param: *mut sys::pv_param_t,
    res: *mut sys::pv_value_t,
    handler: fn(&mut SipMsg, &str) -> PvValue,
) -> c_int {
    guard(module, pv, -1, || {
        // SAFETY: the core passes the spec's param (set by parse_name) and a result slot.
        let name = unsafe { inner_name(param) };
        // SAFETY: as above.
        let value = match unsafe { SipMsg::from_raw(msg) } {
            Some(m) => handler(m, &name),
            None => PvValue::Null,
        };
        // SAFETY: the core's setters fill the result slot; strings point into the ring.
        unsafe {
            match value {
                PvValue::Null => sys::pv_get_null(msg, param, res),
                // 5.6 holds an int: a wider value is clamped rather than wrapped.
                PvValue::Int(i) => sys::pv_get_sintval(msg, param, res, clamp_int(i)),
                PvValue::Str(s) => VALUES.with(|v| {
                    let mut v = v.borrow_mut();
                    let slot = v.0;
                    v.0 = (slot + 1) % RING;
                    v.1[slot] = s.into_bytes();
                    let mut view = kstr::view(&v.1[slot]);
                    sys::pv_get_strval(msg, param, res, &mut view)
                }),
            }
        }
    })
}
