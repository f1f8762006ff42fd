//! What a final reply to a PUBLISH or a SUBSCRIBE means for the record it is about, decided
//! from the values read out of the reply (status, Expires, SIP-ETag, To tag, Contact, CSeq),
//! so that the decision is plain Rust and testable without a message.

/// Source flags whose publications are not published anew after a 412 (pua/hash.h).
pub const RPC_PUBLISH: i32 = 64;
pub const RPC_ASYN_PUBLISH: i32 = 128;

/// What the reply to a PUBLISH does to the publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome<'a> {
    /// An error status: the publication is removed. `republish` when the server lost it
    /// (412) and its body is to be published anew.
    Refused { republish: bool },
    /// A success without a valid Expires: the publication is left as it was.
    NoExpires,
    /// A success without a SIP-ETag: the publication is left as it was.
    NoEtag,
    /// Expires 0: the publication ended.
    Ended,
    /// Stored for `expires` seconds under `etag`.
    Accepted { etag: &'a [u8], expires: u32 },
}

/// Decides on a final PUBLISH reply with status `code`, its Expires value (None: missing or
/// not valid) and SIP-ETag (trimmed). `has_body` and `flag` are the request's.
pub fn publish_outcome<'a>(code: i32, expires: Option<u32>, etag: Option<&'a [u8]>, has_body: bool, flag: i32) -> PublishOutcome<'a> {
    if code >= 300 {
        let republish = code == 412 && has_body && flag != RPC_PUBLISH && flag != RPC_ASYN_PUBLISH;
        return PublishOutcome::Refused { republish };
    }
    let Some(expires) = expires else { return PublishOutcome::NoExpires };
    let Some(etag) = etag.filter(|e| !e.is_empty()) else { return PublishOutcome::NoEtag };
    if expires == 0 {
        PublishOutcome::Ended
    } else {
        PublishOutcome::Accepted { etag, expires }
    }
}

/// What the reply to a SUBSCRIBE does to its dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeOutcome<'a> {
    /// An error status: the dialog is dropped, and one that existed before this request is
    /// started anew (`resubscribe`).
    Refused { resubscribe: bool },
    /// Expires 0 (or none): the subscription ended; the dialog is dropped.
    Ended,
    /// No usable Contact: a dialog being set up is dropped (`drop`), an established one kept.
    NoContact { drop: bool },
    /// No usable CSeq: the dialog is left as it was.
    NoCseq,
    /// The first success of a new dialog without a To tag: the dialog is dropped.
    NoToTag,
    /// A new dialog is established with the server's tag, its contact and CSeq.
    Confirmed { to_tag: &'a [u8], contact: &'a [u8], cseq: u32, expires: u32 },
    /// An established dialog is refreshed.
    Refreshed { contact: &'a [u8], cseq: u32, expires: u32 },
}

/// The values a SUBSCRIBE reply carries, as read from it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscribeReply<'a> {
    pub code: i32,
    /// The Expires value; None when missing or not valid (counts as 0).
    pub expires: Option<u32>,
    /// The To tag (empty when there is none).
    pub to_tag: &'a [u8],
    /// The first Contact's URI; None when there is none or it does not parse.
    pub contact: Option<&'a [u8]>,
    pub cseq: Option<u32>,
}

/// Decides on a final SUBSCRIBE reply; `initial` says the request started the dialog.
pub fn subscribe_outcome<'a>(reply: &SubscribeReply<'a>, initial: bool) -> SubscribeOutcome<'a> {
    if reply.code >= 300 {
        return SubscribeOutcome::Refused { resubscribe: !initial };
    }
    let expires = reply.expires.unwrap_or(0);
    if expires == 0 {
        return SubscribeOutcome::Ended;
    }
    let Some(contact) = reply.contact.filter(|c| !c.is_empty()) else {
        return SubscribeOutcome::NoContact { drop: initial };
    };
    let Some(cseq) = reply.cseq else { return SubscribeOutcome::NoCseq };
    if !initial {
        return SubscribeOutcome::Refreshed { contact, cseq, expires };
    }
    if reply.to_tag.is_empty() {
        return SubscribeOutcome::NoToTag;
    }
    SubscribeOutcome::Confirmed { to_tag: reply.to_tag, contact, cseq, expires }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_replies() {
        assert_eq!(publish_outcome(200, Some(60), Some(b"e1"), true, 0), PublishOutcome::Accepted { etag: b"e1", expires: 60 });
        assert_eq!(publish_outcome(200, Some(0), Some(b"e1"), true, 0), PublishOutcome::Ended);
        assert_eq!(publish_outcome(200, None, Some(b"e1"), true, 0), PublishOutcome::NoExpires);
        assert_eq!(publish_outcome(202, Some(60), Some(b""), true, 0), PublishOutcome::NoEtag);
        assert_eq!(publish_outcome(202, Some(0), None, true, 0), PublishOutcome::NoEtag);
        assert_eq!(publish_outcome(412, None, None, true, 0), PublishOutcome::Refused { republish: true });
        assert_eq!(publish_outcome(412, None, None, false, 0), PublishOutcome::Refused { republish: false });
        assert_eq!(publish_outcome(412, None, None, true, RPC_PUBLISH), PublishOutcome::Refused { republish: false });
        assert_eq!(publish_outcome(500, Some(60), Some(b"e"), true, 0), PublishOutcome::Refused { republish: false });
    }

    #[test]
    fn subscribe_replies() {
        let ok = SubscribeReply { code: 200, expires: Some(60), to_tag: b"t", contact: Some(b"sip:c"), cseq: Some(2) };
        assert_eq!(subscribe_outcome(&ok, true), SubscribeOutcome::Confirmed { to_tag: b"t", contact: b"sip:c", cseq: 2, expires: 60 });
        assert_eq!(subscribe_outcome(&ok, false), SubscribeOutcome::Refreshed { contact: b"sip:c", cseq: 2, expires: 60 });
        assert_eq!(subscribe_outcome(&SubscribeReply { code: 481, ..ok }, false), SubscribeOutcome::Refused { resubscribe: true });
        assert_eq!(subscribe_outcome(&SubscribeReply { code: 489, ..ok }, true), SubscribeOutcome::Refused { resubscribe: false });
        assert_eq!(subscribe_outcome(&SubscribeReply { expires: None, ..ok }, true), SubscribeOutcome::Ended);
        assert_eq!(subscribe_outcome(&SubscribeReply { contact: None, ..ok }, true), SubscribeOutcome::NoContact { drop: true });
        assert_eq!(subscribe_outcome(&SubscribeReply { contact: None, ..ok }, false), SubscribeOutcome::NoContact { drop: false });
        assert_eq!(subscribe_outcome(&SubscribeReply { cseq: None, ..ok }, true), SubscribeOutcome::NoCseq);
        assert_eq!(subscribe_outcome(&SubscribeReply { to_tag: b"", ..ok }, true), SubscribeOutcome::NoToTag);
        assert_eq!(subscribe_outcome(&SubscribeReply { to_tag: b"", ..ok }, false), SubscribeOutcome::Refreshed { contact: b"sip:c", cseq: 2, expires: 60 });
    }
}
