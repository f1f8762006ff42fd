//! The XCAP user identifier (XUI) of a users-tree document: the owner's SIP address of record.

use std::fmt;

/// A SIP address of record split into user and domain, as the `xcap` table stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xid {
    pub user: String,
    pub domain: String,
}

impl Xid {
    /// Reads `sip:user@domain`, also without the `sip:` scheme; `sip:domain` gives an empty user,
    /// the inverse of how presence builds the address from an empty user.
    pub fn parse(text: &str) -> Option<Xid> {
        let bare = match text.get(..4) {
            Some(scheme) if scheme.eq_ignore_ascii_case("sip:") => &text[4..],
            _ => text,
        };
        let (user, domain) = bare.split_once('@').unwrap_or(("", bare));
        let user_ok = !bare.contains('@') || !user.is_empty();
        if !user_ok || domain.is_empty() || domain.contains('@') {
            return None;
        }
        Some(Xid {
            user: user.to_owned(),
            domain: domain.to_owned(),
        })
    }
}

/// The form handed to the document-change callbacks: `sip:user@domain`, or `sip:domain`
/// when the user is empty.
impl fmt::Display for Xid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.user.is_empty() {
            write!(f, "sip:{}", self.domain)
        } else {
            write!(f, "sip:{}@{}", self.user, self.domain)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xid(user: &str, domain: &str) -> Xid {
        Xid {
            user: user.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn displays_as_sip_uri() {
        assert_eq!(
            xid("alice", "example.com").to_string(),
            "sip:alice@example.com"
        );
        assert_eq!(xid("", "example.com").to_string(), "sip:example.com");
    }

    #[test]
    fn parses_sip_uri_with_or_without_scheme() {
        assert_eq!(
            Xid::parse("sip:alice@example.com"),
            Some(xid("alice", "example.com"))
        );
        assert_eq!(
            Xid::parse("SIP:alice@example.com"),
            Some(xid("alice", "example.com"))
        );
        assert_eq!(
            Xid::parse("alice@example.com"),
            Some(xid("alice", "example.com"))
        );
        assert_eq!(Xid::parse("sip:example.com"), Some(xid("", "example.com")));
        assert_eq!(Xid::parse("eyebeam"), Some(xid("", "eyebeam")));
    }

    #[test]
    fn rejects_incomplete_addresses() {
        for text in [
            "",
            "sip:",
            "sip:alice@",
            "sip:@example.com",
            "a@b@c",
            "@",
            "sip:a@b@c",
        ] {
            assert_eq!(Xid::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn round_trips_through_display() {
        for text in [
            "sip:alice@example.com",
            "sip:example.com",
            "sip:a.b-c@[::1]",
        ] {
            assert_eq!(Xid::parse(text).unwrap().to_string(), text);
        }
    }
}
