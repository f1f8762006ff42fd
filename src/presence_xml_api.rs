//! The provider side of `bind_presence_xml` (`presence_xml_api_t`, 16 bytes): the two status
//! checks, with their `str` parameters passed by value, for script engines (app_lua_sr).

use std::ffi::c_int;

use crate::guard::guard;
use crate::msg::SipMsg;
use crate::{kstr, log, sys};

/// What the module implements behind the API.
pub trait PresenceXmlChecks: 'static {
    /// 1 if a tuple of the presentity has this basic status, -1 otherwise.
    fn check_basic(msg: &mut SipMsg, pres_uri: &[u8], status: &[u8]) -> i32;
    /// 1 if a person of the presentity has this activity, -2 / -1 otherwise.
    fn check_activities(msg: &mut SipMsg, pres_uri: &[u8], activity: &[u8]) -> i32;
}

/// Fills the consumer's table; returns 0.
pub fn fill_api<P: PresenceXmlChecks>(api: &mut sys::presence_xml_api_t) -> i32 {
    api.pres_check_basic = Some(check_basic::<P>);
    api.pres_check_activities = Some(check_activities::<P>);
    0
}

unsafe extern "C" fn check_basic<P: PresenceXmlChecks>(msg: *mut sys::sip_msg, uri: sys::str_, status: sys::str_) -> c_int {
    guard(log::module_name(), "pres_check_basic", -1, || {
        // SAFETY: the caller's message and strings, valid for the call.
        match unsafe { SipMsg::from_raw(msg) } {
            Some(m) => P::check_basic(m, unsafe { kstr::bytes(&uri) }, unsafe { kstr::bytes(&status) }),
            None => -1,
        }
    })
}

unsafe extern "C" fn check_activities<P: PresenceXmlChecks>(msg: *mut sys::sip_msg, uri: sys::str_, activity: sys::str_) -> c_int {
    guard(log::module_name(), "pres_check_activities", -1, || {
        // SAFETY: as check_basic.
        match unsafe { SipMsg::from_raw(msg) } {
            Some(m) => P::check_activities(m, unsafe { kstr::bytes(&uri) }, unsafe { kstr::bytes(&activity) }),
            None => -1,
        }
    })
}
