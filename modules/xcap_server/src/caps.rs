//! The xcap-caps document (RFC 4825 §12): the AUIDs, extensions and namespaces this server
//! understands.

use std::sync::OnceLock;

use xcap::auid::Auid;

/// The namespace of the xcap-caps document.
pub const XCAP_CAPS_NS: &str = "urn:ietf:params:xml:ns:xcap-caps";

/// The body of a GET of `xcap-caps/global/index`.
pub fn caps_document() -> String {
    let auids: String =
        Auid::ALL.iter().map(|auid| format!("    <auid>{}</auid>\n", auid.name())).collect();
    let mut namespaces: Vec<&str> = Vec::new();
    for namespace in Auid::ALL.map(Auid::default_namespace) {
        if !namespaces.contains(&namespace) {
            namespaces.push(namespace);
        }
    }
    let namespaces: String =
        namespaces.iter().map(|ns| format!("    <namespace>{ns}</namespace>\n")).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <xcap-caps xmlns=\"{XCAP_CAPS_NS}\">\n  <auids>\n{auids}  </auids>\n  <extensions/>\n  \
         <namespaces>\n{namespaces}  </namespaces>\n</xcap-caps>\n"
    )
}

/// The xcap-caps document and its entity tag, built once per process. The tag is derived
/// from the content (64-bit FNV-1a), so every worker and every restart of the same server
/// version answers the same tag, and it changes only with the document.
pub fn caps() -> &'static (String, String) {
    static CAPS: OnceLock<(String, String)> = OnceLock::new();
    CAPS.get_or_init(|| {
        let doc = caps_document();
        let etag = content_etag(doc.as_bytes());
        (doc, etag)
    })
}

/// `caps-` and the 64-bit FNV-1a hash of `content` in hex.
fn content_etag(content: &[u8]) -> String {
    let hash = content.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("caps-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entity_tag_is_stable_and_follows_the_content() {
        let (doc, etag) = caps();
        assert_eq!(etag, &content_etag(doc.as_bytes()));
        assert_eq!(caps().1, *etag);
        // FNV-1a test vectors: the tag does not depend on the build or the process.
        assert_eq!(content_etag(b""), "caps-cbf29ce484222325");
        assert_eq!(content_etag(b"a"), "caps-af63dc4c8601ec8c");
        assert_ne!(content_etag(doc.as_bytes()), content_etag(format!("{doc} ").as_bytes()));
    }

    #[test]
    fn lists_every_auid_and_namespace_once() {
        let caps = caps_document();
        let document = roxmltree::Document::parse(&caps).unwrap();
        let root = document.root_element();
        assert_eq!(root.tag_name().namespace(), Some(XCAP_CAPS_NS));
        assert_eq!(root.tag_name().name(), "xcap-caps");
        let texts = |element: &str| -> Vec<String> {
            root.descendants()
                .filter(|n| n.has_tag_name((XCAP_CAPS_NS, element)))
                .map(|n| n.text().unwrap_or_default().to_string())
                .collect()
        };
        let auids = texts("auid");
        assert_eq!(auids.len(), Auid::ALL.len());
        assert!(auids.iter().all(|name| Auid::from_name(name).is_some()));
        let namespaces = texts("namespace");
        assert_eq!(namespaces.len(), Auid::ALL.len());
        assert!(namespaces.contains(&"urn:ietf:params:xml:ns:resource-lists".to_string()));
        assert!(namespaces.contains(&XCAP_CAPS_NS.to_string()));
        let extensions: Vec<_> =
            root.children().filter(|n| n.has_tag_name((XCAP_CAPS_NS, "extensions"))).collect();
        assert_eq!(extensions.len(), 1);
        assert_eq!(extensions[0].children().count(), 0);
    }
}
