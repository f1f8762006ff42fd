//! The header lines pua adds to the requests it sends (each line ends in CRLF).

/// PUBLISH: Expires is one second more than asked (a positive value), or `min_expires` for a
/// removal; SIP-If-Match for anything but an initial PUBLISH; Content-Type only with a body.
pub fn publish(event: &str, expires: i32, min_expires: i32, etag: Option<&[u8]>, content_type: Option<&[u8]>, extra: Option<&[u8]>) -> Vec<u8> {
    let t = if expires > 0 { expires as i64 + 1 } else { min_expires as i64 };
    let mut h = format!("Max-Forwards: 70\r\nEvent: {event}\r\nExpires: {t}\r\n").into_bytes();
    if let Some(e) = etag {
        line(&mut h, "SIP-If-Match", e);
    }
    if let Some(c) = content_type.filter(|c| !c.is_empty()) {
        line(&mut h, "Content-Type", c);
    }
    extra_lines(&mut h, extra);
    h
}

/// SUBSCRIBE: Expires is ten seconds more than asked when that is above `min_expires`, else
/// `min_expires`.
pub fn subscribe(event: &str, contact: &[u8], expires: i32, min_expires: i32, extra: Option<&[u8]>) -> Vec<u8> {
    let t = if expires > min_expires { expires as i64 + 10 } else { min_expires as i64 };
    let mut h = format!("Max-Forwards: 70\r\nEvent: {event}\r\n").into_bytes();
    h.extend_from_slice(b"Contact: <");
    h.extend_from_slice(contact);
    h.extend_from_slice(b">\r\n");
    h.extend_from_slice(format!("Expires: {t}\r\n").as_bytes());
    extra_lines(&mut h, extra);
    h
}

/// One `name: value` line. A line break in the value (an entity tag restored from the
/// database, a folded SIP-ETag) becomes a space, so the value cannot end the line early and
/// start a header of its own.
fn line(h: &mut Vec<u8>, name: &str, value: &[u8]) {
    h.extend_from_slice(name.as_bytes());
    h.extend_from_slice(b": ");
    h.extend(value.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    h.extend_from_slice(b"\r\n");
}

/// The caller's own header lines, each ended by CRLF even when the caller left it off.
fn extra_lines(h: &mut Vec<u8>, extra: Option<&[u8]>) {
    if let Some(x) = extra.map(<[u8]>::trim_ascii).filter(|x| !x.is_empty()) {
        h.extend_from_slice(x);
        h.extend_from_slice(b"\r\n");
    }
}

/// Reverses a reply's Record-Route entries into the route set of the dialog (first hop
/// first): the headers in order, each split at commas outside `<...>` and quotes.
pub fn route_set(record_routes: &[&[u8]]) -> Vec<u8> {
    let mut entries: Vec<&[u8]> = Vec::new();
    for h in record_routes {
        let (mut start, mut in_angle, mut in_quote) = (0, false, false);
        for (i, c) in h.iter().enumerate() {
            match c {
                b'"' if !in_angle => in_quote = !in_quote,
                b'<' if !in_quote => in_angle = true,
                b'>' if !in_quote => in_angle = false,
                b',' if !in_angle && !in_quote => {
                    entries.push(h[start..i].trim_ascii());
                    start = i + 1;
                }
                _ => {}
            }
        }
        entries.push(h[start..].trim_ascii());
    }
    entries.retain(|e| !e.is_empty());
    entries.reverse();
    entries.join(&b","[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_headers() {
        let h = publish("presence", 3600, 0, None, Some(b"application/pidf+xml"), Some(b"X-A: 1"));
        assert_eq!(h, b"Max-Forwards: 70\r\nEvent: presence\r\nExpires: 3601\r\nContent-Type: application/pidf+xml\r\nX-A: 1\r\n");
        let h = publish("dialog", 0, 0, Some(b"e1"), None, None);
        assert_eq!(h, b"Max-Forwards: 70\r\nEvent: dialog\r\nExpires: 0\r\nSIP-If-Match: e1\r\n");
    }

    #[test]
    fn a_line_break_in_a_value_stays_inside_its_line() {
        // Found by the fuzz driver: an entity tag with CR or LF wrote lines of its own.
        let h = publish("presence", 60, 0, Some(b"e1\r\nX-Evil: 1\rx\ny"), Some(b"a/b\r\n"), None);
        assert_eq!(h, b"Max-Forwards: 70\r\nEvent: presence\r\nExpires: 61\r\nSIP-If-Match: e1  X-Evil: 1 x y\r\nContent-Type: a/b  \r\n");
    }

    #[test]
    fn subscribe_headers() {
        let h = subscribe("presence", b"sip:w@x", 600, 0, Some(b"Accept: a/b\r\n"));
        assert_eq!(h, b"Max-Forwards: 70\r\nEvent: presence\r\nContact: <sip:w@x>\r\nExpires: 610\r\nAccept: a/b\r\n");
        assert!(String::from_utf8(subscribe("reg", b"c", 0, 30, None)).unwrap().contains("Expires: 30\r\n"));
    }

    #[test]
    fn route_sets_are_reversed_record_routes() {
        let rr: [&[u8]; 2] = [b"<sip:a;lr>, <sip:b;lr>", b"\"x,y\" <sip:c;lr>"];
        assert_eq!(route_set(&rr), b"\"x,y\" <sip:c;lr>,<sip:b;lr>,<sip:a;lr>");
        assert_eq!(route_set(&[]), b"");
    }
}
