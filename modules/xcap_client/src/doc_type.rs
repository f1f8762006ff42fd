//! The document types of the `xcap` table and of the update callbacks, keyed by XCAP AUID.

use kamailio::xcap::doc_type::*;

/// One XCAP application usage. Its flag is the value stored in the `doc_type` column and
/// matched against the type masks callbacks register with.
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

    /// The type served under an AUID (the IETF ones and the OMA ones XCAP servers also use).
    pub fn from_auid(auid: &str) -> Option<DocType> {
        Some(match auid {
            "pres-rules" | "org.openmobilealliance.pres-rules" => DocType::PresRules,
            "resource-lists" => DocType::ResourceList,
            "rls-services" => DocType::RlsService,
            "pidf-manipulation" => DocType::PidfManipulation,
            "xcap-caps" => DocType::XcapCaps,
            "org.openmobilealliance.user-profile" => DocType::UserProfile,
            "org.openmobilealliance.pres-content" => DocType::PresContent,
            "org.openmobilealliance.search" => DocType::Search,
            "org.openmobilealliance.xcap-directory" => DocType::Directory,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
