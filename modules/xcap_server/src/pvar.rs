//! The `$xcapuri(name=>key)` pseudo-variable: its name syntax and the value of each key.

use crate::uri::XcapUri;

/// A key of `$xcapuri(name=>key)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XcapUriKey {
    /// `data`: the only settable key; reads like `uri`.
    Data,
    Uri,
    Root,
    Auid,
    /// `type`: the AUID's doc type, an integer.
    Type,
    Tree,
    Xuid,
    File,
    Node,
    Target,
    Domain,
    /// `uri_adoc`: the document path, the `doc_uri` table key.
    UriAdoc,
}

/// A key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PvValue<'a> {
    Str(&'a str),
    Int(i32),
}

impl XcapUriKey {
    pub fn from_name(key: &str) -> Option<XcapUriKey> {
        Some(match key {
            "data" => XcapUriKey::Data,
            "uri" => XcapUriKey::Uri,
            "root" => XcapUriKey::Root,
            "auid" => XcapUriKey::Auid,
            "type" => XcapUriKey::Type,
            "tree" => XcapUriKey::Tree,
            "xuid" => XcapUriKey::Xuid,
            "file" => XcapUriKey::File,
            "node" => XcapUriKey::Node,
            "target" => XcapUriKey::Target,
            "domain" => XcapUriKey::Domain,
            "uri_adoc" => XcapUriKey::UriAdoc,
            _ => return None,
        })
    }
}

/// Splits the inner text of `$xcapuri(...)` into the URI's name and its key: blanks may
/// surround the name, the key follows `=>` directly and runs to the end.
pub fn parse_pv_name(spec: &str) -> Option<(&str, XcapUriKey)> {
    let is_blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let spec = spec.trim_start_matches(is_blank);
    let name_len = spec.find(|c: char| c == '=' || is_blank(c))?;
    let (name, rest) = spec.split_at(name_len);
    let key = rest.trim_start_matches(is_blank).strip_prefix("=>")?;
    Some((name, XcapUriKey::from_name(key)?))
}

impl XcapUri {
    /// The value `$xcapuri(name=>key)` reads; `None` (null) for an empty or absent part.
    pub fn pv_value(&self, key: XcapUriKey) -> Option<PvValue<'_>> {
        let text = match key {
            XcapUriKey::Type => return Some(PvValue::Int(self.doc_type())),
            XcapUriKey::Data | XcapUriKey::Uri => self.uri.as_str(),
            XcapUriKey::Root => self.root.as_str(),
            XcapUriKey::Auid => self.auid.name(),
            XcapUriKey::Tree => self.tree.map(|tree| tree.as_str()).unwrap_or_default(),
            XcapUriKey::Xuid => self.xuid.as_deref().unwrap_or_default(),
            XcapUriKey::File => self.file.as_str(),
            XcapUriKey::Node => self.node.as_deref().unwrap_or_default(),
            XcapUriKey::Target => self.target.as_deref().unwrap_or_default(),
            XcapUriKey::Domain => self.domain.as_deref().unwrap_or_default(),
            XcapUriKey::UriAdoc => self.adoc.as_str(),
        };
        (!text.is_empty()).then_some(PvValue::Str(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_and_keys() {
        assert_eq!(parse_pv_name("u=>data"), Some(("u", XcapUriKey::Data)));
        assert_eq!(parse_pv_name("  u =>uri_adoc"), Some(("u", XcapUriKey::UriAdoc)));
        assert_eq!(parse_pv_name("\tx\n=>type"), Some(("x", XcapUriKey::Type)));
        assert_eq!(parse_pv_name("u=>xuid"), Some(("u", XcapUriKey::Xuid)));
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in ["u", "u=data", "u=> data", "u=>Data", "u=>nope", "", "   ", "u =x>uri"] {
            assert_eq!(parse_pv_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_key_name_parses() {
        for key in [
            "data", "uri", "root", "auid", "type", "tree", "xuid", "file", "node", "target",
            "domain", "uri_adoc",
        ] {
            assert!(XcapUriKey::from_name(key).is_some(), "{key}");
        }
    }

    #[test]
    fn values_of_a_user_document_uri() {
        let xuri = XcapUri::parse(
            "/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists",
            "/xcap-root/",
        )
        .unwrap();
        let value = |key| xuri.pv_value(key);
        assert_eq!(value(XcapUriKey::Data), value(XcapUriKey::Uri));
        assert_eq!(
            value(XcapUriKey::Uri),
            Some(PvValue::Str(
                "/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists"
            ))
        );
        assert_eq!(value(XcapUriKey::Root), Some(PvValue::Str("/xcap-root/")));
        assert_eq!(value(XcapUriKey::Auid), Some(PvValue::Str("resource-lists")));
        assert_eq!(value(XcapUriKey::Type), Some(PvValue::Int(4)));
        assert_eq!(value(XcapUriKey::Tree), Some(PvValue::Str("users")));
        assert_eq!(value(XcapUriKey::Xuid), Some(PvValue::Str("sip:alice@example.com")));
        assert_eq!(value(XcapUriKey::File), Some(PvValue::Str("index")));
        assert_eq!(value(XcapUriKey::Node), Some(PvValue::Str("/resource-lists")));
        assert_eq!(
            value(XcapUriKey::UriAdoc),
            Some(PvValue::Str("/xcap-root/resource-lists/users/sip:alice@example.com/index"))
        );
        assert_eq!(value(XcapUriKey::Target), None);
        assert_eq!(value(XcapUriKey::Domain), None);
    }

    #[test]
    fn values_of_a_search_uri() {
        let xuri = XcapUri::parse(
            "/xcap-root/org.openmobilealliance.search?target=t&domain=d",
            "/xcap-root/",
        )
        .unwrap();
        assert_eq!(xuri.pv_value(XcapUriKey::Target), Some(PvValue::Str("t")));
        assert_eq!(xuri.pv_value(XcapUriKey::Domain), Some(PvValue::Str("d")));
        assert_eq!(xuri.pv_value(XcapUriKey::UriAdoc), None);
        assert_eq!(xuri.pv_value(XcapUriKey::Tree), None);
        assert_eq!(xuri.pv_value(XcapUriKey::Type), Some(PvValue::Int(256)));
    }

    #[test]
    fn values_agree_after_dot_segments_and_a_bare_separator() {
        let xuri = XcapUri::parse(
            "/xcap-root/resource-lists/users/sip:alice@example.com/../sip:bob@example.com/./index~~root/el3",
            "/xcap-root/",
        )
        .unwrap();
        let value = |key| xuri.pv_value(key);
        assert_eq!(value(XcapUriKey::Xuid), Some(PvValue::Str("sip:bob@example.com")));
        assert_eq!(value(XcapUriKey::File), Some(PvValue::Str("index")));
        assert_eq!(value(XcapUriKey::Node), Some(PvValue::Str("root/el3")));
        let adoc = "/xcap-root/resource-lists/users/sip:bob@example.com/index";
        assert_eq!(value(XcapUriKey::UriAdoc), Some(PvValue::Str(adoc)));
        assert_eq!(value(XcapUriKey::Uri), Some(PvValue::Str(&format!("{adoc}~~root/el3"))));
    }

    proptest! {
        #[test]
        fn arbitrary_names_never_panic(spec in any::<String>()) {
            let _ = parse_pv_name(&spec);
        }
    }
}
