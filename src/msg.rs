//! SIP (and xhttp) message access through the core parsers.

use crate::{kstr, sys};

/// `HDR_EOH_F`: parse up to the end of the headers.
const HDR_EOH_F: sys::hdr_flags_t = !0;

/// The parts of a SIP URI, from the core's parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub user: String,
    pub host: String,
    pub port: Option<u16>,
}

/// Parses a SIP URI with the core's parser; `None` if it is not one.
pub fn parse_uri(uri: &str) -> Option<SipUri> {
    let mut parsed = sys::sip_uri::default();
    // SAFETY: the parser reads `uri` and writes views of it into `parsed`.
    if unsafe { sys::parse_uri(uri.as_ptr() as *mut _, uri.len() as i32, &mut parsed) } < 0 {
        return None;
    }
    // SAFETY: the views point into `uri`, alive here.
    let text = |s: &sys::str_| String::from_utf8_lossy(unsafe { kstr::bytes(s) }).into_owned();
    Some(SipUri { user: text(&parsed.user), host: text(&parsed.host), port: (parsed.port_no != 0).then_some(parsed.port_no) })
}

/// A message Kamailio is processing, borrowed for the duration of a call.
#[repr(transparent)]
pub struct SipMsg(sys::sip_msg);

impl SipMsg {
    /// # Safety
    /// `p` is NULL or a message the core keeps valid for the returned lifetime.
    pub unsafe fn from_raw<'a>(p: *mut sys::sip_msg) -> Option<&'a mut SipMsg> {
        (p as *mut SipMsg).as_mut()
    }

    /// The raw pointer, for calls into the core.
    pub fn raw(&mut self) -> *mut sys::sip_msg {
        &mut self.0
    }

    /// True for a request (SIP or HTTP through xhttp).
    pub fn is_request(&self) -> bool {
        self.0.first_line.type_ as u32 == sys::SIP_REQUEST
    }

    /// The request method.
    pub fn method(&self) -> &[u8] {
        if !self.is_request() {
            return &[];
        }
        // SAFETY: for requests the union holds the request line, viewing the message buffer.
        unsafe { kstr::bytes(&self.0.first_line.u.request.method) }
    }

    /// The request URI (for xhttp: the HTTP path and query).
    pub fn ruri(&self) -> &[u8] {
        if !self.is_request() {
            return &[];
        }
        // SAFETY: as method().
        unsafe { kstr::bytes(&self.0.first_line.u.request.uri) }
    }

    /// The status code of a reply.
    pub fn status(&self) -> Option<u32> {
        // SAFETY: for replies the union holds the status line.
        (!self.is_request()).then_some(unsafe { self.0.first_line.u.reply.statuscode })
    }

    /// Parses all headers; false if the message is malformed.
    pub fn parse_headers(&mut self) -> bool {
        // SAFETY: the core parser on a live message.
        unsafe { sys::parse_headers(self.raw(), HDR_EOH_F, 0) >= 0 }
    }

    /// All headers as (name, body), in message order.
    pub fn headers(&mut self) -> Vec<(&[u8], &[u8])> {
        let mut out = Vec::new();
        if !self.parse_headers() {
            return out;
        }
        let mut h = self.0.headers;
        // SAFETY: the parsed header list lives as long as the message.
        while let Some(hf) = unsafe { h.as_ref() } {
            out.push(unsafe { (kstr::bytes(&hf.name), kstr::bytes(&hf.body)) });
            h = hf.next;
        }
        out
    }

    /// The body of the first header named `name` (case-insensitive), trimmed.
    pub fn header(&mut self, name: &str) -> Option<&[u8]> {
        self.headers()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, b)| b.trim_ascii())
    }

    /// The header as text.
    pub fn header_str(&mut self, name: &str) -> Option<String> {
        self.header(name).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The Call-ID.
    pub fn call_id(&mut self) -> Option<&[u8]> {
        if !self.parse_headers() {
            return None;
        }
        // SAFETY: set by the parser to a header of this message.
        unsafe { self.0.callid.as_ref().map(|h| kstr::bytes(&h.body).trim_ascii()) }
    }

    /// The From URI and tag.
    pub fn from(&mut self) -> Option<(&[u8], &[u8])> {
        // SAFETY: parse_from_header fills msg->from->parsed with a to_body.
        unsafe {
            if sys::parse_from_header(self.raw()) < 0 {
                return None;
            }
            let tb = (self.0.from.as_ref()?.parsed as *const sys::to_body).as_ref()?;
            Some((kstr::bytes(&tb.uri), kstr::bytes(&tb.tag_value)))
        }
    }

    /// The To URI and tag.
    pub fn to(&mut self) -> Option<(&[u8], &[u8])> {
        if !self.parse_headers() {
            return None;
        }
        // SAFETY: the header parser parses To into a to_body.
        unsafe {
            let tb = (self.0.to.as_ref()?.parsed as *const sys::to_body).as_ref()?;
            Some((kstr::bytes(&tb.uri), kstr::bytes(&tb.tag_value)))
        }
    }

    /// The Event package name (without parameters), through the core's Event parser.
    pub fn event(&mut self) -> Option<&[u8]> {
        if !self.parse_headers() || self.0.event.is_null() {
            return None;
        }
        // SAFETY: parse_event fills the header's parsed event_t.
        unsafe {
            if sys::parse_event(self.0.event) < 0 {
                return None;
            }
            let e = ((*self.0.event).parsed as *const sys::event_t).as_ref()?;
            Some(kstr::bytes(&e.name))
        }
    }

    /// The Expires value, if present and valid.
    pub fn expires(&mut self) -> Option<u32> {
        if !self.parse_headers() || self.0.expires.is_null() {
            return None;
        }
        // SAFETY: parse_expires fills the header's parsed exp_body.
        unsafe {
            if sys::parse_expires(self.0.expires) < 0 {
                return None;
            }
            let e = ((*self.0.expires).parsed as *const sys::exp_body_t).as_ref()?;
            (e.valid != 0).then_some(e.val)
        }
    }

    /// True if the message came over TLS (for xhttp: HTTPS).
    pub fn received_over_tls(&self) -> bool {
        self.0.rcv.proto as u32 == sys::PROTO_TLS
    }

    /// The local address and port the message was received on, as `ip:port`.
    pub fn local_address(&mut self) -> String {
        let mut buf = [0u8; 64];
        // SAFETY: ip_addr2sbuf writes at most `len` bytes into `buf` and returns how many.
        let n = unsafe { sys::ip_addr2sbuf(&mut self.0.rcv.dst_ip, buf.as_mut_ptr() as *mut _, buf.len() as i32) };
        let ip = String::from_utf8_lossy(&buf[..n.clamp(0, buf.len() as i32) as usize]).into_owned();
        // An IPv6 literal needs brackets before a port.
        let ip = if ip.contains(':') { format!("[{ip}]") } else { ip };
        format!("{ip}:{}", self.0.rcv.dst_port)
    }

    /// The bodies of every header named `name` (case-insensitive), in message order.
    pub fn header_values(&mut self, name: &str) -> Vec<&[u8]> {
        self.headers()
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, b)| b.trim_ascii())
            .collect()
    }

    /// The URI of the first Contact, through the core's Contact parser. `Err` when there is a
    /// Contact header that does not parse (or is `*`), `Ok(None)` when there is none.
    pub fn contact_uri(&mut self) -> Result<Option<&[u8]>, crate::Error> {
        let bad = || crate::Error::from("the Contact header does not parse");
        if !self.parse_headers() {
            return Err(bad());
        }
        if self.0.contact.is_null() {
            return Ok(None);
        }
        // SAFETY: parse_contact fills the header's parsed contact_body_t.
        unsafe {
            if (*self.0.contact).parsed.is_null() && sys::parse_contact(self.0.contact) < 0 {
                return Err(bad());
            }
            let body = ((*self.0.contact).parsed as *const sys::contact_body_t).as_ref().ok_or_else(bad)?;
            match body.contacts.as_ref() {
                Some(c) if body.star == 0 && c.uri.len > 0 => Ok(Some(kstr::bytes(&c.uri))),
                _ => Err(bad()),
            }
        }
    }

    /// The CSeq number, as the header parser read it.
    pub fn cseq_number(&mut self) -> Option<u32> {
        if !self.parse_headers() || self.0.cseq.is_null() {
            return None;
        }
        // SAFETY: the header parser parses CSeq into a cseq_body.
        let n = unsafe { ((*self.0.cseq).parsed as *const sys::cseq_body).as_ref().map(|c| kstr::bytes(&c.number)) }?;
        std::str::from_utf8(n).ok()?.trim().parse().ok()
    }

    /// True if the message has an Expires header (valid or not).
    pub fn has_expires(&mut self) -> bool {
        self.parse_headers() && !self.0.expires.is_null()
    }

    /// The message body (empty when there is none).
    pub fn body(&mut self) -> &[u8] {
        // SAFETY: get_body returns a pointer into the message buffer or NULL.
        unsafe {
            let b = sys::get_body(self.raw());
            if b.is_null() {
                return &[];
            }
            let end = self.0.buf.add(self.0.len as usize);
            let mut len = end.offset_from(b).max(0) as usize;
            if let Some(cl) = self.0.content_length.as_ref() {
                len = len.min(cl.parsed as usize);
            }
            std::slice::from_raw_parts(b as *const u8, len)
        }
    }
}
