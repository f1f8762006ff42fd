//! presence_xcapdiff: the `xcap-diff` event (RFC 5875) for presence and pua.
//!
//! With presence loaded first, clients can SUBSCRIBE to `xcap-diff` and PUBLISHed xcap-diff
//! documents are passed through to them unchanged; with pua loaded first, pua knows the event
//! for sending. Either may be absent: the module then registers with the one that is there.

use kamailio::api::{load_order, LoadOrder};
use kamailio::presence::{PresenceApi, PresenceEvent, Registered};
use kamailio::pua::{event, PuaApi};
use kamailio::{lm_info, module, Error, IntParam};

/// The event package name.
pub const EVENT: &str = "xcap-diff";
/// Its body type.
pub const CONTENT_TYPE: &str = "application/xcap-diff+xml";

/// Default subscription lifetime for the event, in seconds.
static DEFAULT_EXPIRES: IntParam = IntParam::new(3600);

module! {
    name: "presence_xcapdiff",
    params: { "default_expires" => DEFAULT_EXPIRES },
    init: mod_init,
}

/// What happened on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The module is not loaded.
    Absent,
    /// Our registration took effect.
    Registered,
    /// Another module had registered the event already (the first registration stays).
    AlreadyThere,
}

fn mod_init() -> Result<(), Error> {
    let expires = checked_expires(DEFAULT_EXPIRES.get())?;
    // Both keep their event lists in state their own mod_init creates; registering before it
    // ran would crash them, so a wrong load order stops start-up with the fix in the log.
    for other in ["presence", "pua"] {
        if load_order("presence_xcapdiff", other) == LoadOrder::After {
            return Err(Error::from(format!("{other} must be loaded before presence_xcapdiff")));
        }
    }

    let presence = match PresenceApi::bind() {
        None => Side::Absent,
        Some(api) => {
            let ev = PresenceEvent { name: EVENT, content_type: CONTENT_TYPE, default_expires: expires };
            match api.add_event(&ev)? {
                Registered::Added => Side::Registered,
                Registered::AlreadyPresent => Side::AlreadyThere,
            }
        }
    };
    let pua = match PuaApi::bind() {
        None => Side::Absent,
        Some(api) => {
            api.add_event(event::XCAPDIFF, EVENT, CONTENT_TYPE)?;
            Side::Registered
        }
    };
    if let Some(line) = summary(presence, pua, expires) {
        lm_info!("{line}");
    }
    Ok(())
}

/// `default_expires` must be a positive number of seconds.
fn checked_expires(v: i32) -> Result<u32, Error> {
    if v <= 0 {
        return Err(Error::from(format!("default_expires must be a positive number of seconds, not {v}")));
    }
    Ok(v as u32)
}

/// The one start-up line; none when neither presence nor pua is loaded.
fn summary(presence: Side, pua: Side, expires: u32) -> Option<String> {
    let p = match presence {
        Side::Absent => None,
        Side::Registered => Some(format!("presence (default expires {expires}s)")),
        Side::AlreadyThere => Some("presence (already registered by another module, whose settings stay)".to_string()),
    };
    let u = (pua != Side::Absent).then(|| "pua".to_string());
    let with: Vec<String> = [p, u].into_iter().flatten().collect();
    (!with.is_empty()).then(|| format!("event {EVENT} ({CONTENT_TYPE}) registered with {}", with.join(" and ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_must_be_positive() {
        assert_eq!(checked_expires(3600), Ok(3600));
        assert!(checked_expires(0).unwrap_err().0.contains("positive"));
        assert!(checked_expires(-5).is_err());
    }

    #[test]
    fn one_line_names_each_side() {
        assert_eq!(
            summary(Side::Registered, Side::Registered, 60).unwrap(),
            "event xcap-diff (application/xcap-diff+xml) registered with presence (default expires 60s) and pua"
        );
        assert_eq!(
            summary(Side::Absent, Side::Registered, 60).unwrap(),
            "event xcap-diff (application/xcap-diff+xml) registered with pua"
        );
        assert!(summary(Side::AlreadyThere, Side::Absent, 60).unwrap().contains("already registered"));
        assert_eq!(summary(Side::Absent, Side::Absent, 60), None);
    }
}
