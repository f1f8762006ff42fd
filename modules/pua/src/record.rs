//! A pua record: one publication (PUBLISH with its SIP-ETag) or one subscription dialog
//! (SUBSCRIBE), with what is needed to refresh it and to persist it in the `pua` table.

/// One record, in the process's own memory (the stores keep their own copies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Record {
    /// The consumer's id for the record (e.g. "UL_PUBLISH.<callid>", rls's dialog id).
    pub id: Vec<u8>,
    pub pres_uri: Vec<u8>,
    /// The event flag (`kamailio::pua::event`).
    pub event: i32,
    /// The consumer's source flag (e.g. UL_PUBLISH, RPC_SUBSCRIBE).
    pub flag: i32,
    /// When the server's grant ends (unix seconds).
    pub expires: u32,
    /// When the consumer wants it to end (unix seconds); 0: keep it for ever.
    pub desired_expires: u32,
    pub etag: Vec<u8>,
    pub tuple_id: Vec<u8>,
    /// Where requests for it go first; empty: the module's default.
    pub outbound_proxy: Vec<u8>,
    pub extra_headers: Vec<u8>,
    pub content_type: Vec<u8>,
    pub version: i32,
    /// Subscriptions only: the watcher and the dialog.
    pub watcher_uri: Vec<u8>,
    pub call_id: Vec<u8>,
    pub to_tag: Vec<u8>,
    pub from_tag: Vec<u8>,
    pub cseq: u32,
    /// The route set, first hop first, as comma-separated entries.
    pub record_route: Vec<u8>,
    pub contact: Vec<u8>,
    pub remote_contact: Vec<u8>,
}

/// What the keys below read of a record, whichever way it is stored.
#[allow(clippy::wrong_self_convention)]
pub trait RecordView {
    fn flag(&self) -> i32;
    fn event(&self) -> i32;
    fn id(&self) -> &[u8];
    fn pres_uri(&self) -> &[u8];
    fn watcher_uri(&self) -> &[u8];
    fn etag(&self) -> &[u8];
    fn call_id(&self) -> &[u8];
    fn to_tag(&self) -> &[u8];
    fn from_tag(&self) -> &[u8];
    fn remote_contact(&self) -> &[u8];

    /// A subscription dialog (publications have no watcher).
    fn is_subscription(&self) -> bool {
        !self.watcher_uri().is_empty()
    }

    /// A subscription whose initial SUBSCRIBE has no final reply yet.
    fn is_temporary(&self) -> bool {
        self.is_subscription() && self.to_tag().is_empty()
    }
}

impl RecordView for Record {
    fn flag(&self) -> i32 {
        self.flag
    }
    fn event(&self) -> i32 {
        self.event
    }
    fn id(&self) -> &[u8] {
        &self.id
    }
    fn pres_uri(&self) -> &[u8] {
        &self.pres_uri
    }
    fn watcher_uri(&self) -> &[u8] {
        &self.watcher_uri
    }
    fn etag(&self) -> &[u8] {
        &self.etag
    }
    fn call_id(&self) -> &[u8] {
        &self.call_id
    }
    fn to_tag(&self) -> &[u8] {
        &self.to_tag
    }
    fn from_tag(&self) -> &[u8] {
        &self.from_tag
    }
    fn remote_contact(&self) -> &[u8] {
        &self.remote_contact
    }
}

/// Which publication a PUBLISH is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PubKey {
    pub pres_uri: Vec<u8>,
    /// Source flags: a record matches if it has one of them.
    pub flag: i32,
    /// Event flags: a record matches if it has one of them.
    pub event: i32,
    /// Empty: any id.
    pub id: Vec<u8>,
}

impl PubKey {
    /// True if `r` is a publication this key selects, with `etag` when given.
    pub fn matches(&self, r: &impl RecordView, etag: Option<&[u8]>) -> bool {
        !r.is_subscription()
            && r.flag() & self.flag != 0
            && r.event() & self.event != 0
            && r.pres_uri() == self.pres_uri
            && (self.id.is_empty() || r.id() == self.id)
            && etag.is_none_or(|e| r.etag() == e)
    }

    /// True if `r` is the very same publication (same id, empty included): the one an
    /// initial PUBLISH's record replaces, so that a key never has two records.
    pub fn same(&self, r: &impl RecordView) -> bool {
        !r.is_subscription() && r.flag() & self.flag != 0 && r.event() & self.event != 0 && r.pres_uri() == self.pres_uri && r.id() == self.id
    }
}

/// Which subscription a SUBSCRIBE is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubKey {
    pub pres_uri: Vec<u8>,
    pub watcher_uri: Vec<u8>,
    pub flag: i32,
    pub event: i32,
    /// Empty: any id.
    pub id: Vec<u8>,
    /// With `check_remote_contact`: the stored remote contact must equal this one.
    pub remote_contact: Option<Vec<u8>>,
}

impl SubKey {
    pub fn matches(&self, r: &impl RecordView) -> bool {
        r.is_subscription()
            && r.flag() & self.flag != 0
            && r.event() & self.event != 0
            && r.pres_uri() == self.pres_uri
            && r.watcher_uri() == self.watcher_uri
            && (self.id.is_empty() || r.id() == self.id)
            && self.remote_contact.as_ref().is_none_or(|c| r.remote_contact() == &c[..])
    }
}

/// A dialog named by its Call-ID and tags, from our side: `from_tag` is our (local) tag and
/// `to_tag` the presence server's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialogId {
    pub call_id: Vec<u8>,
    pub from_tag: Vec<u8>,
    pub to_tag: Vec<u8>,
}

impl DialogId {
    /// True for the established dialog with these ids.
    pub fn matches(&self, r: &impl RecordView) -> bool {
        r.is_subscription() && !r.to_tag().is_empty() && r.call_id() == self.call_id && r.to_tag() == self.to_tag && r.from_tag() == self.from_tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication() -> Record {
        Record { pres_uri: b"sip:a@x".to_vec(), flag: 64, event: 1, id: b"i1".to_vec(), etag: b"e1".to_vec(), ..Default::default() }
    }

    #[test]
    fn publication_keys_match_on_flags_uri_id_and_etag() {
        let r = publication();
        let k = PubKey { pres_uri: b"sip:a@x".to_vec(), flag: 64 | 128, event: 1, id: Vec::new() };
        assert!(k.matches(&r, None));
        assert!(k.matches(&r, Some(b"e1")));
        assert!(!k.matches(&r, Some(b"e2")));
        assert!(!PubKey { flag: 1, ..k.clone() }.matches(&r, None));
        assert!(!PubKey { id: b"other".to_vec(), ..k.clone() }.matches(&r, None));
        // An empty id selects any publication but is the same only as an empty-id record.
        assert!(!k.same(&r));
        assert!(PubKey { id: b"i1".to_vec(), ..k }.same(&r));
    }

    #[test]
    fn subscriptions_are_not_publications() {
        let s = Record { watcher_uri: b"sip:w@x".to_vec(), ..publication() };
        assert!(s.is_subscription() && s.is_temporary());
        let k = PubKey { pres_uri: b"sip:a@x".to_vec(), flag: 64, event: 1, id: Vec::new() };
        assert!(!k.matches(&s, None));
        let sk = SubKey { pres_uri: b"sip:a@x".to_vec(), watcher_uri: b"sip:w@x".to_vec(), flag: 64, event: 1, ..Default::default() };
        assert!(sk.matches(&s));
        assert!(!SubKey { remote_contact: Some(b"sip:c".to_vec()), ..sk }.matches(&s));
    }

    #[test]
    fn dialogs_match_on_all_three_ids_once_established() {
        let mut s = Record { watcher_uri: b"sip:w@x".to_vec(), call_id: b"c".to_vec(), from_tag: b"l".to_vec(), ..publication() };
        let id = DialogId { call_id: b"c".to_vec(), from_tag: b"l".to_vec(), to_tag: b"r".to_vec() };
        assert!(!id.matches(&s));
        s.to_tag = b"r".to_vec();
        assert!(id.matches(&s));
        assert!(!DialogId { to_tag: b"l".to_vec(), from_tag: b"r".to_vec(), ..id }.matches(&s));
    }
}
