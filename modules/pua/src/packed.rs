//! A record as the memory store keeps it: the numbers, and every string in one buffer (one
//! allocation per record, in whatever allocator the store uses: shm in Kamailio).

use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::vec::Vec as AVec;

use crate::record::{Record, RecordView};

/// The string fields, in buffer order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum F {
    Id,
    PresUri,
    Etag,
    TupleId,
    OutboundProxy,
    ExtraHeaders,
    ContentType,
    WatcherUri,
    CallId,
    ToTag,
    FromTag,
    RecordRoute,
    Contact,
    RemoteContact,
}

const N: usize = 14;

/// A packed record.
pub struct Packed<A: Allocator> {
    pub event: i32,
    pub flag: i32,
    pub expires: u32,
    pub desired_expires: u32,
    pub version: i32,
    pub cseq: u32,
    /// End offset of each string field in `buf`.
    ends: [u32; N],
    buf: AVec<u8, A>,
}

fn fields(r: &Record) -> [&[u8]; N] {
    [
        &r.id,
        &r.pres_uri,
        &r.etag,
        &r.tuple_id,
        &r.outbound_proxy,
        &r.extra_headers,
        &r.content_type,
        &r.watcher_uri,
        &r.call_id,
        &r.to_tag,
        &r.from_tag,
        &r.record_route,
        &r.contact,
        &r.remote_contact,
    ]
}

impl<A: Allocator> Packed<A> {
    /// Packs `r` into one allocation from `alloc`.
    pub fn pack(r: &Record, alloc: A) -> Result<Self, AllocError> {
        let f = fields(r);
        let total: usize = f.iter().map(|s| s.len()).sum();
        let total32 = u32::try_from(total).map_err(|_| AllocError)?;
        let mut buf = AVec::new_in(alloc);
        buf.try_reserve_exact(total32 as usize).map_err(|_| AllocError)?;
        let mut ends = [0u32; N];
        for (i, s) in f.iter().enumerate() {
            buf.extend_from_slice(s);
            ends[i] = buf.len() as u32;
        }
        Ok(Packed { event: r.event, flag: r.flag, expires: r.expires, desired_expires: r.desired_expires, version: r.version, cseq: r.cseq, ends, buf })
    }

    /// Replaces the string fields given, reusing the buffer when the new strings fit in it
    /// (a refresh changes only the etag, usually of the same length: no allocation then).
    pub fn set(&mut self, changes: &[(F, &[u8])]) -> Result<(), AllocError> {
        let value = |f: F| changes.iter().rev().find(|(c, _)| *c == f).map(|(_, v)| *v);
        let all = [
            F::Id, F::PresUri, F::Etag, F::TupleId, F::OutboundProxy, F::ExtraHeaders, F::ContentType, F::WatcherUri, F::CallId, F::ToTag,
            F::FromTag, F::RecordRoute, F::Contact, F::RemoteContact,
        ];
        let mut next = Vec::with_capacity(self.buf.len());
        let mut ends = [0u32; N];
        for (i, f) in all.iter().enumerate() {
            next.extend_from_slice(value(*f).unwrap_or_else(|| self.get(*f)));
            ends[i] = u32::try_from(next.len()).map_err(|_| AllocError)?;
        }
        if next.len() > self.buf.capacity() {
            self.buf.try_reserve_exact(next.len() - self.buf.len()).map_err(|_| AllocError)?;
        }
        self.buf.clear();
        self.buf.extend_from_slice(&next);
        self.ends = ends;
        Ok(())
    }

    /// One string field.
    pub fn get(&self, f: F) -> &[u8] {
        let i = f as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    /// The record, unpacked.
    pub fn unpack(&self) -> Record {
        let s = |f| self.get(f).to_vec();
        Record {
            id: s(F::Id),
            pres_uri: s(F::PresUri),
            event: self.event,
            flag: self.flag,
            expires: self.expires,
            desired_expires: self.desired_expires,
            etag: s(F::Etag),
            tuple_id: s(F::TupleId),
            outbound_proxy: s(F::OutboundProxy),
            extra_headers: s(F::ExtraHeaders),
            content_type: s(F::ContentType),
            version: self.version,
            watcher_uri: s(F::WatcherUri),
            call_id: s(F::CallId),
            to_tag: s(F::ToTag),
            from_tag: s(F::FromTag),
            cseq: self.cseq,
            record_route: s(F::RecordRoute),
            contact: s(F::Contact),
            remote_contact: s(F::RemoteContact),
        }
    }

    /// Bytes of memory this record holds (for statistics).
    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }
}

impl<A: Allocator> RecordView for Packed<A> {
    fn flag(&self) -> i32 {
        self.flag
    }
    fn event(&self) -> i32 {
        self.event
    }
    fn id(&self) -> &[u8] {
        self.get(F::Id)
    }
    fn pres_uri(&self) -> &[u8] {
        self.get(F::PresUri)
    }
    fn watcher_uri(&self) -> &[u8] {
        self.get(F::WatcherUri)
    }
    fn etag(&self) -> &[u8] {
        self.get(F::Etag)
    }
    fn call_id(&self) -> &[u8] {
        self.get(F::CallId)
    }
    fn to_tag(&self) -> &[u8] {
        self.get(F::ToTag)
    }
    fn from_tag(&self) -> &[u8] {
        self.get(F::FromTag)
    }
    fn remote_contact(&self) -> &[u8] {
        self.get(F::RemoteContact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;

    #[test]
    fn packs_and_unpacks_every_field() {
        let r = Record {
            id: b"id".to_vec(),
            pres_uri: b"sip:p@x".to_vec(),
            event: 32,
            flag: 1024,
            expires: 10,
            desired_expires: 20,
            etag: b"e".to_vec(),
            tuple_id: b"t".to_vec(),
            outbound_proxy: b"sip:o".to_vec(),
            extra_headers: b"X: y\r\n".to_vec(),
            content_type: b"c/t".to_vec(),
            version: 3,
            watcher_uri: b"sip:w@x".to_vec(),
            call_id: b"cid".to_vec(),
            to_tag: b"tt".to_vec(),
            from_tag: b"ft".to_vec(),
            cseq: 7,
            record_route: b"<sip:r;lr>".to_vec(),
            contact: b"sip:c".to_vec(),
            remote_contact: b"sip:rc".to_vec(),
        };
        let p = Packed::pack(&r, Global).unwrap();
        assert_eq!(p.unpack(), r);
        assert_eq!(p.get(F::CallId), b"cid");
        assert_eq!(p.get(F::Id), b"id");
        assert_eq!(p.get(F::RemoteContact), b"sip:rc");
        assert!(p.is_subscription());
        let mut p = p;
        p.set(&[(F::Etag, b"f"), (F::RemoteContact, b"sip:longer-contact")]).unwrap();
        let mut want = r.clone();
        want.etag = b"f".to_vec();
        want.remote_contact = b"sip:longer-contact".to_vec();
        assert_eq!(p.unpack(), want);
        p.set(&[(F::RemoteContact, b"")]).unwrap();
        want.remote_contact.clear();
        assert_eq!(p.unpack(), want);
        let empty = Packed::pack(&Record::default(), Global).unwrap();
        assert_eq!(empty.unpack(), Record::default());
    }
}
