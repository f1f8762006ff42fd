//! Stateless replies through the sl module, with extra headers and a body. Requests that
//! arrive through xhttp are answered the same way (xhttp turns the reply into HTTP).

use crate::msg::SipMsg;
use crate::{api, kstr, sys, Error};

/// The sl module's API.
#[derive(Clone, Copy)]
pub struct SlApi(sys::sl_api_t);

// SAFETY: a table of function pointers into another module, identical in every process.
unsafe impl Send for SlApi {}
unsafe impl Sync for SlApi {}

impl SlApi {
    /// Binds sl (it must be loaded).
    pub fn bind() -> Result<SlApi, Error> {
        api::bind::<sys::sl_api_t>(c"bind_sl", 0).map(SlApi).ok_or_else(|| Error::from("cannot bind the sl module (is sl.so loaded?)"))
    }

    /// Replies `code reason` with `headers` (name, value) and an optional body.
    pub fn reply(
        &self,
        msg: &mut SipMsg,
        code: u32,
        reason: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<(), Error> {
        let mut hdrs = String::new();
        for (n, v) in headers {
            hdrs.push_str(n);
            hdrs.push_str(": ");
            hdrs.push_str(v);
            hdrs.push_str("\r\n");
        }
        if !hdrs.is_empty() {
            add_lump(msg, hdrs.as_bytes(), sys::LUMP_RPL_HDR)?;
        }
        if let Some(b) = body {
            add_lump(msg, b, sys::LUMP_RPL_BODY)?;
        }
        let freply = self.0.freply.ok_or_else(|| Error::from("sl has no freply"))?;
        let mut r = kstr::view(reason.as_bytes());
        // SAFETY: sl copies the reason while building the reply.
        if unsafe { freply(msg.raw(), code as i32, &mut r) } < 0 {
            return Err(Error::from(format!("sending the {code} reply failed")));
        }
        Ok(())
    }
}

fn add_lump(msg: &mut SipMsg, data: &[u8], kind: u32) -> Result<(), Error> {
    // SAFETY: add_lump_rpl2 copies the data into the reply lump list of this message.
    let l = unsafe { sys::add_lump_rpl2(msg.raw(), data.as_ptr() as *mut _, data.len() as i32, kind as i32) };
    // SAFETY: the returned list head is NULL or valid.
    if l.is_null() || unsafe { (*l).is_null() } {
        return Err(Error::from("cannot add a reply lump"));
    }
    Ok(())
}
