//! The application usages (AUIDs) this server knows, with the numbers and names the `xcap`
//! table and the other presence modules use for them.

use kamailio::xcap::doc_type::*;

/// One application usage, named by the first path segment under the XCAP root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auid {
    /// `pres-rules` (RFC 5025).
    PresRules,
    /// `org.openmobilealliance.pres-rules`: the same documents under OMA's name.
    OmaPresRules,
    /// `resource-lists` (RFC 4826).
    ResourceLists,
    /// `rls-services` (RFC 4826).
    RlsServices,
    /// `pidf-manipulation` (RFC 4827).
    PidfManipulation,
    /// `xcap-caps` (RFC 4825 §12).
    XcapCaps,
    /// `org.openmobilealliance.user-profile`.
    UserProfile,
    /// `org.openmobilealliance.pres-content`.
    PresContent,
    /// `org.openmobilealliance.search`.
    Search,
    /// `org.openmobilealliance.xcap-directory`.
    XcapDirectory,
}

impl Auid {
    /// Every AUID, in the order the server lists them (ascending doc type).
    pub const ALL: [Auid; 10] = [
        Auid::PresRules,
        Auid::OmaPresRules,
        Auid::ResourceLists,
        Auid::RlsServices,
        Auid::PidfManipulation,
        Auid::XcapCaps,
        Auid::UserProfile,
        Auid::PresContent,
        Auid::Search,
        Auid::XcapDirectory,
    ];

    /// The AUID with this exact name (case-sensitive, as in the URI).
    pub fn from_name(name: &str) -> Option<Auid> {
        Auid::ALL.into_iter().find(|auid| auid.name() == name)
    }

    /// The path segment naming the AUID.
    pub fn name(self) -> &'static str {
        match self {
            Auid::PresRules => "pres-rules",
            Auid::OmaPresRules => "org.openmobilealliance.pres-rules",
            Auid::ResourceLists => "resource-lists",
            Auid::RlsServices => "rls-services",
            Auid::PidfManipulation => "pidf-manipulation",
            Auid::XcapCaps => "xcap-caps",
            Auid::UserProfile => "org.openmobilealliance.user-profile",
            Auid::PresContent => "org.openmobilealliance.pres-content",
            Auid::Search => "org.openmobilealliance.search",
            Auid::XcapDirectory => "org.openmobilealliance.xcap-directory",
        }
    }

    /// The `doc_type` column value; presence, rls and xcap_client use the same flags.
    pub fn doc_type(self) -> i32 {
        match self {
            Auid::PresRules | Auid::OmaPresRules => PRES_RULES,
            Auid::ResourceLists => RESOURCE_LIST,
            Auid::RlsServices => RLS_SERVICE,
            Auid::PidfManipulation => PIDF_MANIPULATION,
            Auid::XcapCaps => XCAP_CAPS,
            Auid::UserProfile => USER_PROFILE,
            Auid::PresContent => PRES_CONTENT,
            Auid::Search => SEARCH,
            Auid::XcapDirectory => DIRECTORY,
        }
    }

    /// The MIME type of a whole document of this AUID.
    pub fn mime_type(self) -> &'static str {
        match self {
            Auid::PresRules | Auid::OmaPresRules => "application/auth-policy+xml",
            Auid::ResourceLists => "application/resource-lists+xml",
            Auid::RlsServices => "application/rls-services+xml",
            Auid::PidfManipulation => "application/pidf+xml",
            Auid::XcapCaps => "application/xcap-caps+xml",
            Auid::UserProfile => "application/vnd.oma.user-profile+xml",
            Auid::PresContent => "application/vnd.oma.pres-content+xml",
            Auid::Search => "application/vnd.oma.search+xml",
            Auid::XcapDirectory => "application/vnd.oma.xcap-directory+xml",
        }
    }

    /// The namespace unprefixed element names in a node selector belong to (RFC 4825 §5.2).
    pub fn default_namespace(self) -> &'static str {
        match self {
            Auid::PresRules => "urn:ietf:params:xml:ns:pres-rules",
            // OMA's pres-rules usage expands names into the common-policy namespace its
            // documents' elements live in.
            Auid::OmaPresRules => "urn:ietf:params:xml:ns:common-policy",
            Auid::ResourceLists => "urn:ietf:params:xml:ns:resource-lists",
            Auid::RlsServices => "urn:ietf:params:xml:ns:rls-services",
            Auid::PidfManipulation => "urn:ietf:params:xml:ns:pidf",
            Auid::XcapCaps => "urn:ietf:params:xml:ns:xcap-caps",
            Auid::UserProfile => "urn:oma:xml:xdm:user-profile",
            Auid::PresContent => "urn:oma:xml:prs:pres-content",
            Auid::Search => "urn:oma:xml:xdm:search",
            Auid::XcapDirectory => "urn:oma:xml:xdm:xcap-directory",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for auid in Auid::ALL {
            assert_eq!(Auid::from_name(auid.name()), Some(auid));
        }
    }

    #[test]
    fn unknown_and_differently_cased_names_are_rejected() {
        assert_eq!(Auid::from_name("Resource-Lists"), None);
        assert_eq!(Auid::from_name("resource-list"), None);
        assert_eq!(Auid::from_name(""), None);
    }

    #[test]
    fn doc_types_are_the_shared_flags() {
        let types: Vec<i32> = Auid::ALL.iter().map(|a| a.doc_type()).collect();
        assert_eq!(types, [2, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    }

    #[test]
    fn both_pres_rules_names_share_type_and_mime() {
        assert_eq!(Auid::PresRules.doc_type(), Auid::OmaPresRules.doc_type());
        assert_eq!(Auid::OmaPresRules.mime_type(), "application/auth-policy+xml");
    }

    #[test]
    fn mime_types_and_namespaces() {
        assert_eq!(Auid::ResourceLists.mime_type(), "application/resource-lists+xml");
        assert_eq!(Auid::RlsServices.mime_type(), "application/rls-services+xml");
        assert_eq!(Auid::PidfManipulation.mime_type(), "application/pidf+xml");
        assert_eq!(Auid::XcapDirectory.mime_type(), "application/vnd.oma.xcap-directory+xml");
        assert_eq!(
            Auid::ResourceLists.default_namespace(),
            "urn:ietf:params:xml:ns:resource-lists"
        );
        assert_eq!(Auid::PidfManipulation.default_namespace(), "urn:ietf:params:xml:ns:pidf");
    }
}
