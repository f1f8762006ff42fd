//! The application usages (AUIDs) XCAP serves, with the document types (the numbers the
//! `xcap` table and the presence modules use for them), MIME types and default namespaces.

/// The `doc_type` flags of the `xcap` table, the same bits presence, presence_xml, rls and the
/// `bind_xcap` API's callbacks use.
pub mod doc_type {
    pub const PRES_RULES: i32 = 2;
    pub const RESOURCE_LIST: i32 = 4;
    pub const RLS_SERVICE: i32 = 8;
    pub const PIDF_MANIPULATION: i32 = 16;
    pub const XCAP_CAPS: i32 = 32;
    pub const USER_PROFILE: i32 = 64;
    pub const PRES_CONTENT: i32 = 128;
    pub const SEARCH: i32 = 256;
    pub const DIRECTORY: i32 = 512;
}

use doc_type::*;

/// A document type: what an AUID's documents are stored and announced as. Both pres-rules
/// AUIDs share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocType {
    PresRules,
    ResourceList,
    RlsService,
    PidfManipulation,
    XcapCaps,
    UserProfile,
    PresContent,
    Search,
    Directory,
}

impl DocType {
    /// The bit presence, presence_xml and rls use for this type.
    pub const fn flag(self) -> i32 {
        match self {
            DocType::PresRules => PRES_RULES,
            DocType::ResourceList => RESOURCE_LIST,
            DocType::RlsService => RLS_SERVICE,
            DocType::PidfManipulation => PIDF_MANIPULATION,
            DocType::XcapCaps => XCAP_CAPS,
            DocType::UserProfile => USER_PROFILE,
            DocType::PresContent => PRES_CONTENT,
            DocType::Search => SEARCH,
            DocType::Directory => DIRECTORY,
        }
    }

    /// The type served under an AUID (the IETF ones and the OMA ones XCAP servers also use),
    /// named exactly (case-sensitive).
    pub fn from_auid(auid: &str) -> Option<DocType> {
        Auid::from_name(auid).map(Auid::document_type)
    }
}

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

    /// The document type of this AUID's documents.
    pub fn document_type(self) -> DocType {
        match self {
            Auid::PresRules | Auid::OmaPresRules => DocType::PresRules,
            Auid::ResourceLists => DocType::ResourceList,
            Auid::RlsServices => DocType::RlsService,
            Auid::PidfManipulation => DocType::PidfManipulation,
            Auid::XcapCaps => DocType::XcapCaps,
            Auid::UserProfile => DocType::UserProfile,
            Auid::PresContent => DocType::PresContent,
            Auid::Search => DocType::Search,
            Auid::XcapDirectory => DocType::Directory,
        }
    }

    /// The `doc_type` column value; presence, rls and xcap_client use the same flags.
    pub fn doc_type(self) -> i32 {
        self.document_type().flag()
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

    #[test]
    fn auids_map_to_their_flags() {
        let cases = [
            ("pres-rules", 2),
            ("org.openmobilealliance.pres-rules", 2),
            ("resource-lists", 4),
            ("rls-services", 8),
            ("pidf-manipulation", 16),
            ("xcap-caps", 32),
            ("org.openmobilealliance.user-profile", 64),
            ("org.openmobilealliance.pres-content", 128),
            ("org.openmobilealliance.search", 256),
            ("org.openmobilealliance.xcap-directory", 512),
        ];
        for (auid, flag) in cases {
            assert_eq!(
                DocType::from_auid(auid).map(DocType::flag),
                Some(flag),
                "{auid}"
            );
        }
    }

    #[test]
    fn unknown_auids_have_no_type() {
        for auid in ["", "Pres-Rules", "pres-rules ", "users", "resource-list"] {
            assert_eq!(DocType::from_auid(auid), None, "{auid:?}");
        }
    }
}
