//! The xcap-caps document (RFC 4825 §12): the AUIDs, extensions and namespaces this server
//! understands.

use crate::auid::Auid;

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

#[cfg(test)]
mod tests {
    use super::*;

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
