//! The `xcap_server` parameter: external XCAP servers asked for pres-rules documents.

/// One XCAP server: its root (as given, without the port) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XcapServer {
    pub root: String,
    pub port: u16,
}

/// Parses `host[/root][:port]` or `http://host[:port][/root]`: the port follows the first `:`
/// (the second one when the value starts with a scheme) and defaults to 80.
pub fn parse(value: &str) -> Result<XcapServer, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("an empty xcap_server".into());
    }
    let skip = v.find("://").map_or(0, |i| i + 3);
    let Some(colon) = v[skip..].find(':').map(|i| i + skip) else {
        return Ok(XcapServer { root: v.to_string(), port: 80 });
    };
    let after = &v[colon + 1..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    let port: u32 = digits.parse().map_err(|_| format!("xcap_server {v}: no port after ':'"))?;
    if !(1..=65535).contains(&port) {
        return Err(format!("xcap_server {v}: port {port} is out of range"));
    }
    // The root keeps any path after the port (http://host:8080/xcap-root → http://host/xcap-root).
    let root = format!("{}{}", &v[..colon], &after[digits.len()..]);
    Ok(XcapServer { root, port: port as u16 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_forms() {
        assert_eq!(parse("xcap.example.com").unwrap(), XcapServer { root: "xcap.example.com".into(), port: 80 });
        assert_eq!(parse("xcap.example.com/xcap-root:8080").unwrap(), XcapServer { root: "xcap.example.com/xcap-root".into(), port: 8080 });
        assert_eq!(parse("http://127.0.0.1:5080/xcap-root").unwrap(), XcapServer { root: "http://127.0.0.1/xcap-root".into(), port: 5080 });
        assert_eq!(parse("http://h").unwrap().port, 80);
        assert!(parse("h:0").is_err());
        assert!(parse("h:70000").is_err());
        assert!(parse("h:x").is_err());
        assert!(parse(" ").is_err());
    }
}
