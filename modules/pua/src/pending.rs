//! What a request in flight carries to its reply handler (which may run in another process):
//! the record it is about and how it was asked for, as bytes.

use crate::record::Record;

/// A request waiting for its final reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    /// The record as it will be stored (publication) or the dialog (subscription).
    pub rec: Record,
    /// The SIP-If-Match sent with a PUBLISH (empty for an initial one).
    pub etag: Vec<u8>,
    /// The body sent with a PUBLISH, kept to send again after a 412.
    pub body: Vec<u8>,
    /// Seconds asked for (negative: the default).
    pub expires: i32,
    /// The consumer's callback pointer.
    pub cb_param: u64,
    /// False for pua's own refreshes (consumer callbacks run only for consumers' requests).
    pub from_consumer: bool,
    /// A SUBSCRIBE that starts a dialog.
    pub initial: bool,
}

fn put(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_n(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(&n.to_le_bytes());
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        self.take(n).map(<[u8]>::to_vec)
    }
    fn n(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

impl Pending {
    pub fn encode(&self) -> Vec<u8> {
        let r = &self.rec;
        let mut o = Vec::with_capacity(256 + self.body.len());
        for b in [
            &r.id, &r.pres_uri, &r.etag, &r.tuple_id, &r.outbound_proxy, &r.extra_headers, &r.content_type, &r.watcher_uri, &r.call_id,
            &r.to_tag, &r.from_tag, &r.record_route, &r.contact, &r.remote_contact, &self.etag, &self.body,
        ] {
            put(&mut o, b);
        }
        for n in [
            r.event as i64,
            r.flag as i64,
            r.expires as i64,
            r.desired_expires as i64,
            r.version as i64,
            r.cseq as i64,
            self.expires as i64,
            self.cb_param as i64,
            self.from_consumer as i64,
            self.initial as i64,
        ] {
            put_n(&mut o, n);
        }
        o
    }

    pub fn decode(b: &[u8]) -> Option<Pending> {
        let mut rd = Reader(b);
        let mut s: Vec<Vec<u8>> = Vec::with_capacity(16);
        for _ in 0..16 {
            s.push(rd.bytes()?);
        }
        let mut n = [0i64; 10];
        for v in n.iter_mut() {
            *v = rd.n()?;
        }
        let mut it = s.into_iter();
        let mut next = || it.next().unwrap_or_default();
        let rec = Record {
            id: next(),
            pres_uri: next(),
            etag: next(),
            tuple_id: next(),
            outbound_proxy: next(),
            extra_headers: next(),
            content_type: next(),
            watcher_uri: next(),
            call_id: next(),
            to_tag: next(),
            from_tag: next(),
            record_route: next(),
            contact: next(),
            remote_contact: next(),
            event: n[0] as i32,
            flag: n[1] as i32,
            expires: n[2] as u32,
            desired_expires: n[3] as u32,
            version: n[4] as i32,
            cseq: n[5] as u32,
        };
        Some(Pending { rec, etag: next(), body: next(), expires: n[6] as i32, cb_param: n[7] as u64, from_consumer: n[8] != 0, initial: n[9] != 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let p = Pending {
            rec: Record { pres_uri: b"sip:a@b".to_vec(), watcher_uri: b"sip:w".to_vec(), event: 1, flag: 256, expires: 99, cseq: 3, ..Default::default() },
            etag: b"e".to_vec(),
            body: vec![0, 1, 2, 255],
            expires: -1,
            cb_param: u64::MAX - 5,
            from_consumer: true,
            initial: true,
        };
        assert_eq!(Pending::decode(&p.encode()), Some(p.clone()));
        let enc = p.encode();
        assert_eq!(Pending::decode(&enc[..enc.len() - 1]), None);
    }
}
