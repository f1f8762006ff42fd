//! Where records live: [`Store`] is what the PUBLISH and SUBSCRIBE logic needs, with two
//! implementations, [`MemStore`] (a hash table of packed records behind process-shared locks,
//! `db_mode` 0) and the database store of `db_mode` 2.

use std::fmt;

use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec as AVec;
use kamailio::{ShmMutex, TerminationDeferred};

use crate::slots::Slots;
use crate::packed::{Packed, F};
use crate::record::{DialogId, PubKey, Record, RecordView, SubKey};

/// A store failure (out of memory, a database error), with what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// The record operations of pua. Lookups return copies.
pub trait Store: Sync {
    /// The publication `key` (and `etag`, when given) selects; its version is raised by one
    /// first when `bump` is set.
    fn publication(&self, key: &PubKey, etag: Option<&[u8]>, bump: bool) -> StoreResult<Option<Record>>;

    /// Stores what the server accepted for a publication. With `old_etag`, the record holding
    /// it takes `rec`'s etag, expiry, tuple id and proxy; otherwise (or when that record is
    /// gone) `rec` replaces every record with the same key, so a key never has two.
    fn publication_accepted(&self, key: &PubKey, old_etag: Option<&[u8]>, rec: Record) -> StoreResult<()>;

    /// Removes the publications `key` and `etag` select.
    fn remove_publication(&self, key: &PubKey, etag: Option<&[u8]>) -> StoreResult<()>;

    /// The subscription `key` selects.
    fn subscription(&self, key: &SubKey) -> StoreResult<Option<Record>>;

    /// Adds a record (a subscription waiting for its first reply).
    fn insert(&self, rec: Record) -> StoreResult<()>;

    /// The subscription with this Call-ID (and local tag, when given), established or not.
    fn dialog_by_call_id(&self, pres_uri: &[u8], call_id: &[u8], from_tag: Option<&[u8]>) -> StoreResult<Option<Record>>;

    /// Replaces the subscription with `rec.call_id` by `rec` (the dialog is established).
    fn confirm_dialog(&self, rec: Record) -> StoreResult<()>;

    /// The established dialog `id`; `pres_uri` narrows the search when known.
    fn dialog(&self, pres_uri: &[u8], id: &DialogId) -> StoreResult<Option<Record>>;

    /// Sets what a refresh of dialog `id` changed; false if there is no such dialog.
    fn update_dialog(&self, pres_uri: &[u8], id: &DialogId, expires: u32, cseq: u32, remote_contact: Option<&[u8]>) -> StoreResult<bool>;

    /// Removes the subscription with this Call-ID.
    fn remove_dialog(&self, pres_uri: &[u8], call_id: &[u8]) -> StoreResult<()>;

    /// The presentity URIs of records whose id starts with `did`.
    fn subs_list(&self, did: &[u8]) -> StoreResult<Vec<Vec<u8>>>;

    /// Removes the records that ended more than 10 s before `now`, and returns those to
    /// refresh: within `update_period` of their end and wanted longer (`desired_expires`
    /// beyond the end plus `min_expires`, or 0).
    fn sweep(&self, now: u32, update_period: u32, min_expires: u32) -> StoreResult<Vec<Record>>;

    /// How many records there are.
    fn count(&self) -> StoreResult<usize>;
}

/// What a sweep does with a record at `now`.
pub fn sweep_decision(expires: u32, desired: u32, now: u32, update_period: u32, min_expires: u32) -> Sweep {
    if (expires as i64) - (update_period as i64) >= now as i64 {
        return Sweep::Keep;
    }
    if desired == 0 || desired as i64 > expires as i64 + min_expires as i64 {
        Sweep::Refresh
    } else if (expires as i64) < now as i64 - 10 {
        Sweep::Remove
    } else {
        Sweep::Keep
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    Keep,
    Refresh,
    Remove,
}

/// A bucket: the records of the presentities that hash to it.
type Bucket<A> = Slots<Packed<A>, A>;

/// The in-memory table: `size` buckets, each behind its own process-shared lock; records
/// hash by presentity URI. Every bucket is locked with termination held back
/// ([`ShmMutex::lock_deferring`], or [`ShmMutex::lock_under`] one deferral in a loop over
/// buckets): Kamailio's workers end (`_exit`) wherever a stop finds them, and one that ended
/// inside a bucket would leave it locked for ever, so the main process's shutdown write would
/// wait for it until the core aborts the stop.
pub struct MemStore<A: Allocator + Clone> {
    buckets: AVec<ShmMutex<Bucket<A>>, A>,
    alloc: A,
}

fn oom() -> StoreError {
    StoreError("out of shared memory".into())
}

/// FNV-1a over the presentity URI: its bucket, and (the low half) its records' tag there.
fn hash(pres_uri: &[u8]) -> u64 {
    pres_uri.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn tag(pres_uri: &[u8]) -> u32 {
    hash(pres_uri) as u32
}

impl<A: Allocator + Clone + Send + Sync> MemStore<A> {
    pub fn new(size: usize, alloc: A) -> StoreResult<Self> {
        let mut buckets = AVec::new_in(alloc.clone());
        buckets.try_reserve_exact(size.max(1)).map_err(|_| oom())?;
        for _ in 0..size.max(1) {
            buckets.push(ShmMutex::new(Slots::new_in(alloc.clone())));
        }
        Ok(MemStore { buckets, alloc })
    }

    fn bucket(&self, pres_uri: &[u8]) -> &ShmMutex<Bucket<A>> {
        &self.buckets[(hash(pres_uri) % self.buckets.len() as u64) as usize]
    }

    /// The buckets to search: the presentity's, or all when it is not known.
    fn buckets_for(&self, pres_uri: &[u8]) -> Vec<&ShmMutex<Bucket<A>>> {
        if pres_uri.is_empty() {
            self.buckets.iter().collect()
        } else {
            vec![self.bucket(pres_uri)]
        }
    }

    fn pack(&self, r: &Record) -> StoreResult<Packed<A>> {
        Packed::pack(r, self.alloc.clone()).map_err(|_| oom())
    }

    fn push(&self, b: &mut Bucket<A>, p: Packed<A>) -> StoreResult<()> {
        b.push(tag(p.pres_uri()), p).map_err(|_| oom())
    }

    /// Every record, unpacked (for persistence).
    pub fn snapshot(&self) -> Vec<Record> {
        let deferred = TerminationDeferred::new();
        self.buckets.iter().flat_map(|b| b.lock_under(&deferred).iter().map(Packed::unpack).collect::<Vec<_>>()).collect()
    }

    /// Every record of the buckets that are not locked, unpacked, and how many buckets are
    /// locked; waits for none. For the main process's shutdown write, which runs once every
    /// other process has ended: a bucket still locked then belongs to a process that ended
    /// inside it (a crash: a stop no longer ends a process there), so waiting would never end,
    /// and its content may be half-changed, so it is not read.
    pub fn snapshot_at_exit(&self) -> (Vec<Record>, usize) {
        let mut records = Vec::new();
        let mut held = 0;
        for b in self.buckets.iter() {
            match b.try_lock() {
                Some(g) => records.extend(g.iter().map(Packed::unpack)),
                None => held += 1,
            }
        }
        (records, held)
    }

    /// Memory held by the records (their buffers), for statistics.
    pub fn heap_bytes(&self) -> usize {
        let deferred = TerminationDeferred::new();
        self.buckets.iter().map(|b| b.lock_under(&deferred).iter().map(|p| p.heap_size() + std::mem::size_of::<Packed<A>>()).sum::<usize>()).sum()
    }
}

impl<A: Allocator + Clone + Send + Sync> Store for MemStore<A> {
    fn publication(&self, key: &PubKey, etag: Option<&[u8]>, bump: bool) -> StoreResult<Option<Record>> {
        let mut b = self.bucket(&key.pres_uri).lock_deferring();
        let found = b.tagged_mut(tag(&key.pres_uri)).find(|p| key.matches(*p, etag)).map(|p| {
            if bump {
                p.version = p.version.wrapping_add(1);
            }
            p.unpack()
        });
        Ok(found)
    }

    fn publication_accepted(&self, key: &PubKey, old_etag: Option<&[u8]>, rec: Record) -> StoreResult<()> {
        let mut b = self.bucket(&key.pres_uri).lock_deferring();
        if let Some(old) = old_etag {
            if let Some(p) = b.tagged_mut(tag(&key.pres_uri)).find(|p| key.matches(*p, Some(old))) {
                p.expires = rec.expires;
                p.desired_expires = rec.desired_expires;
                let mut changes: Vec<(F, &[u8])> = vec![(F::Etag, &rec.etag), (F::OutboundProxy, &rec.outbound_proxy)];
                if !rec.tuple_id.is_empty() {
                    changes.push((F::TupleId, &rec.tuple_id));
                }
                return p.set(&changes).map_err(|_| oom());
            }
        }
        let packed = self.pack(&rec)?;
        let exact = PubKey { id: rec.id.clone(), ..key.clone() };
        b.remove_tagged(tag(&key.pres_uri), |p| exact.same(p));
        self.push(&mut b, packed)
    }

    fn remove_publication(&self, key: &PubKey, etag: Option<&[u8]>) -> StoreResult<()> {
        let mut b = self.bucket(&key.pres_uri).lock_deferring();
        b.remove_tagged(tag(&key.pres_uri), |p| key.matches(p, etag));
        Ok(())
    }

    fn subscription(&self, key: &SubKey) -> StoreResult<Option<Record>> {
        let found = self.bucket(&key.pres_uri).lock_deferring().tagged(tag(&key.pres_uri)).find(|p| key.matches(*p)).map(Packed::unpack);
        Ok(found)
    }

    fn insert(&self, rec: Record) -> StoreResult<()> {
        let p = self.pack(&rec)?;
        let mut b = self.bucket(&rec.pres_uri).lock_deferring();
        self.push(&mut b, p)
    }

    fn dialog_by_call_id(&self, pres_uri: &[u8], call_id: &[u8], from_tag: Option<&[u8]>) -> StoreResult<Option<Record>> {
        let deferred = TerminationDeferred::new();
        for b in self.buckets_for(pres_uri) {
            let b = b.lock_under(&deferred);
            let found = b.iter().find(|p| p.is_subscription() && p.call_id() == call_id && from_tag.is_none_or(|t| p.from_tag() == t));
            if let Some(p) = found {
                return Ok(Some(p.unpack()));
            }
        }
        Ok(None)
    }

    fn confirm_dialog(&self, rec: Record) -> StoreResult<()> {
        let packed = self.pack(&rec)?;
        let mut b = self.bucket(&rec.pres_uri).lock_deferring();
        b.retain(|p| !(p.is_subscription() && p.call_id() == &rec.call_id[..]));
        self.push(&mut b, packed)
    }

    fn dialog(&self, pres_uri: &[u8], id: &DialogId) -> StoreResult<Option<Record>> {
        let deferred = TerminationDeferred::new();
        for b in self.buckets_for(pres_uri) {
            if let Some(p) = b.lock_under(&deferred).iter().find(|p| id.matches(*p)) {
                return Ok(Some(p.unpack()));
            }
        }
        Ok(None)
    }

    fn update_dialog(&self, pres_uri: &[u8], id: &DialogId, expires: u32, cseq: u32, remote_contact: Option<&[u8]>) -> StoreResult<bool> {
        let deferred = TerminationDeferred::new();
        for b in self.buckets_for(pres_uri) {
            let mut b = b.lock_under(&deferred);
            if let Some(p) = b.iter_mut().find(|p| id.matches(*p)) {
                p.expires = expires;
                p.cseq = cseq;
                if let Some(c) = remote_contact.filter(|c| *c != p.get(F::RemoteContact)) {
                    p.set(&[(F::RemoteContact, c)]).map_err(|_| oom())?;
                }
                return Ok(true);
            };
        }
        Ok(false)
    }

    fn remove_dialog(&self, pres_uri: &[u8], call_id: &[u8]) -> StoreResult<()> {
        let deferred = TerminationDeferred::new();
        for b in self.buckets_for(pres_uri) {
            let mut b = b.lock_under(&deferred);
            b.retain(|p| !(p.is_subscription() && p.call_id() == call_id));
        }
        Ok(())
    }

    fn subs_list(&self, did: &[u8]) -> StoreResult<Vec<Vec<u8>>> {
        let deferred = TerminationDeferred::new();
        let mut out = Vec::new();
        for b in self.buckets.iter() {
            out.extend(b.lock_under(&deferred).iter().filter(|p| !p.id().is_empty() && p.id().starts_with(did) && !p.pres_uri().is_empty()).map(|p| p.pres_uri().to_vec()));
        }
        Ok(out)
    }

    fn sweep(&self, now: u32, update_period: u32, min_expires: u32) -> StoreResult<Vec<Record>> {
        let deferred = TerminationDeferred::new();
        let mut due = Vec::new();
        for b in self.buckets.iter() {
            let mut b = b.lock_under(&deferred);
            b.retain(|p| match sweep_decision(p.expires, p.desired_expires, now, update_period, min_expires) {
                Sweep::Keep => true,
                // A dialog still waiting for its first reply is left to the reply or timeout.
                Sweep::Refresh if p.is_temporary() => true,
                Sweep::Refresh => {
                    due.push(p.unpack());
                    true
                }
                Sweep::Remove => false,
            });
        }
        Ok(due)
    }

    fn count(&self) -> StoreResult<usize> {
        let deferred = TerminationDeferred::new();
        Ok(self.buckets.iter().map(|b| b.lock_under(&deferred).len()).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;

    fn store() -> MemStore<Global> {
        MemStore::new(4, Global).unwrap()
    }

    fn publ(id: &str, etag: &str) -> Record {
        Record { pres_uri: b"sip:alice@x".to_vec(), id: id.into(), etag: etag.into(), flag: 64, event: 1, expires: 1000, ..Default::default() }
    }

    fn key(id: &str) -> PubKey {
        PubKey { pres_uri: b"sip:alice@x".to_vec(), flag: 64, event: 1, id: id.into() }
    }

    #[test]
    fn a_key_keeps_one_publication() {
        let s = store();
        s.publication_accepted(&key("a"), None, publ("a", "e1")).unwrap();
        s.publication_accepted(&key("a"), None, publ("a", "e2")).unwrap();
        assert_eq!(s.count().unwrap(), 1);
        assert_eq!(s.publication(&key("a"), None, false).unwrap().unwrap().etag, b"e2");
        // An empty id is a key of its own too.
        s.publication_accepted(&key(""), None, publ("", "e3")).unwrap();
        s.publication_accepted(&key(""), None, publ("", "e4")).unwrap();
        assert_eq!(s.count().unwrap(), 2);
    }

    #[test]
    fn a_refresh_updates_the_record_holding_the_old_etag() {
        let s = store();
        let mut r = publ("a", "e1");
        r.tuple_id = b"t1".to_vec();
        s.publication_accepted(&key("a"), None, r).unwrap();
        let mut refreshed = publ("a", "e2");
        refreshed.expires = 2000;
        s.publication_accepted(&key(""), Some(b"e1"), refreshed).unwrap();
        let got = s.publication(&key("a"), Some(b"e2"), true).unwrap().unwrap();
        assert_eq!((got.expires, got.version, &got.tuple_id[..]), (2000, 1, &b"t1"[..]));
        assert_eq!(s.publication(&key("a"), None, true).unwrap().unwrap().version, 2);
        s.remove_publication(&key(""), Some(b"e2")).unwrap();
        assert_eq!(s.count().unwrap(), 0);
        assert_eq!(s.heap_bytes(), 0);
    }

    #[test]
    fn dialogs_go_from_temporary_to_established() {
        let s = store();
        let temp = Record { pres_uri: b"sip:p@x".to_vec(), watcher_uri: b"sip:w@x".to_vec(), call_id: b"c1".to_vec(), flag: 256, event: 1, expires: 64, ..Default::default() };
        s.insert(temp.clone()).unwrap();
        assert!(s.dialog_by_call_id(b"", b"c1", None).unwrap().unwrap().is_temporary());
        let id = DialogId { call_id: b"c1".to_vec(), from_tag: b"l".to_vec(), to_tag: b"r".to_vec() };
        assert!(s.dialog(b"", &id).unwrap().is_none());
        s.confirm_dialog(Record { from_tag: b"l".to_vec(), to_tag: b"r".to_vec(), remote_contact: b"sip:old".to_vec(), ..temp }).unwrap();
        assert_eq!(s.count().unwrap(), 1);
        assert!(s.update_dialog(b"sip:p@x", &id, 500, 11, Some(b"sip:new")).unwrap());
        let d = s.dialog(b"", &id).unwrap().unwrap();
        assert_eq!((d.expires, d.cseq, &d.remote_contact[..]), (500, 11, &b"sip:new"[..]));
        let sk = SubKey { pres_uri: b"sip:p@x".to_vec(), watcher_uri: b"sip:w@x".to_vec(), flag: 256, event: 1, ..Default::default() };
        assert!(s.subscription(&sk).unwrap().is_some());
        s.remove_dialog(b"sip:p@x", b"c1").unwrap();
        assert_eq!(s.count().unwrap(), 0);
    }

    #[test]
    fn the_sweep_refreshes_what_is_wanted_longer_and_removes_what_ended() {
        assert_eq!(sweep_decision(1100, 0, 1000, 50, 0), Sweep::Keep);
        assert_eq!(sweep_decision(1040, 0, 1000, 50, 0), Sweep::Refresh);
        assert_eq!(sweep_decision(1040, 2000, 1000, 50, 0), Sweep::Refresh);
        assert_eq!(sweep_decision(1040, 1040, 1000, 50, 0), Sweep::Keep);
        assert_eq!(sweep_decision(1040, 1044, 1000, 50, 5), Sweep::Keep);
        assert_eq!(sweep_decision(1040, 1046, 1000, 50, 5), Sweep::Refresh);
        assert_eq!(sweep_decision(980, 980, 1000, 50, 0), Sweep::Remove);
        let s = store();
        s.insert(Record { expires: 900, desired_expires: 900, ..publ("old", "e") }).unwrap();
        s.insert(Record { expires: 1020, desired_expires: 0, ..publ("live", "f") }).unwrap();
        let due = s.sweep(1000, 50, 0).unwrap();
        assert_eq!(due.len(), 1);
        let r = &due[0];
        assert_eq!(r.id, b"live");
        assert_eq!(s.count().unwrap(), 1);
    }

    #[test]
    fn the_exit_snapshot_skips_buckets_left_locked() {
        let s = MemStore::new(8, Global).unwrap();
        let uris: Vec<String> = (0..40).map(|i| format!("sip:p{i}@x")).collect();
        for u in &uris {
            s.insert(Record { pres_uri: u.as_bytes().to_vec(), ..publ("", "e") }).unwrap();
        }
        let (all, held) = s.snapshot_at_exit();
        assert_eq!((all.len(), held), (40, 0));
        // A bucket whose holder ended inside it: its records are left out, the rest is read.
        let stuck = s.bucket(uris[0].as_bytes());
        let in_stuck = uris.iter().filter(|u| std::ptr::eq(s.bucket(u.as_bytes()), stuck)).count();
        let g = stuck.try_lock().unwrap();
        let (some, held) = s.snapshot_at_exit();
        assert_eq!((some.len(), held), (40 - in_stuck, 1));
        assert!(some.iter().all(|r| !std::ptr::eq(s.bucket(&r.pres_uri), stuck)));
        drop(g);
        assert_eq!(s.snapshot_at_exit().0.len(), 40);
    }

    #[test]
    fn subs_lists_select_by_id_prefix() {
        let s = store();
        for (id, uri) in [("did1;a", "sip:b@x"), ("did1;b", "sip:a@x"), ("did2", "sip:c@x")] {
            s.insert(Record { id: id.into(), pres_uri: uri.into(), watcher_uri: b"sip:w".to_vec(), call_id: id.into(), ..Default::default() }).unwrap();
        }
        let mut l = s.subs_list(b"did1").unwrap();
        l.sort();
        assert_eq!(l, vec![b"sip:a@x".to_vec(), b"sip:b@x".to_vec()]);
    }
}
