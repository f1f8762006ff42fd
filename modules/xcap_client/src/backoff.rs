//! Per-host back-off. An XCAP server (scheme, host and port) that gives no answer is asked at
//! most once per back-off period, by whichever process asks first once the period is over;
//! the period doubles with each failure in a row up to a cap, and any answer from the server
//! forgets it. Everyone else gets an immediate error meanwhile, so a dead server costs one
//! connect timeout per period instead of one per document and per request.
//!
//! The table is plain fixed-size data without pointers, so it can live in shared memory
//! behind a lock and serve every process. Times are milliseconds of a clock all processes
//! share.

/// Longest host key tracked: `https://` + a 253-byte host name + `:65535`.
pub const KEY_MAX: usize = 272;
/// Hosts tracked at once; when all are backed off, the one whose period ends first makes room.
pub const HOSTS: usize = 64;

/// How long hosts are backed off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The first period, after one failure; 0 turns the back-off off.
    pub base_ms: u64,
    /// The longest period.
    pub max_ms: u64,
    /// How long the process that got the one attempt of a period may take before another
    /// process may try (it may have died): a fetch's whole timeout and a margin.
    pub attempt_ms: u64,
}

impl Policy {
    /// The period after `failures` failures in a row (at least 1).
    pub fn period_ms(&self, failures: u32) -> u64 {
        let doublings = failures.saturating_sub(1).min(63);
        self.base_ms.saturating_mul(1u64 << doublings).min(self.max_ms.max(self.base_ms))
    }
}

/// Whether a fetch from a host may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Go,
    /// Backed off: the next attempt is allowed in `retry_in_ms` (0: another process is making it).
    Skip { retry_in_ms: u64, failures: u32 },
}

#[derive(Clone, Copy)]
struct Entry {
    key: [u8; KEY_MAX],
    key_len: u16,
    /// Failures in a row; 0 marks a free entry.
    failures: u32,
    /// No attempt before this time.
    retry_at: u64,
    /// While non-zero, one process is making the attempt of this period, until then at most.
    attempt_until: u64,
}

impl Entry {
    const FREE: Entry = Entry { key: [0; KEY_MAX], key_len: 0, failures: 0, retry_at: 0, attempt_until: 0 };

    fn is(&self, key: &[u8]) -> bool {
        self.failures > 0 && &self.key[..self.key_len as usize] == key
    }
}

/// The backed-off hosts.
pub struct HostTable {
    entries: [Entry; HOSTS],
}

impl Default for HostTable {
    fn default() -> Self {
        Self::new()
    }
}

impl HostTable {
    pub const fn new() -> Self {
        HostTable { entries: [Entry::FREE; HOSTS] }
    }

    fn find(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.is(key.as_bytes()))
    }

    /// Asks whether `key` may be fetched from now; when its period is over, the caller gets
    /// the one attempt and must report it with [`answered`](Self::answered) or
    /// [`failed`](Self::failed).
    pub fn admit(&mut self, key: &str, now: u64, policy: &Policy) -> Admit {
        let Some(e) = self.find(key) else { return Admit::Go };
        if now < e.retry_at {
            return Admit::Skip { retry_in_ms: e.retry_at - now, failures: e.failures };
        }
        if e.attempt_until != 0 && now < e.attempt_until {
            return Admit::Skip { retry_in_ms: 0, failures: e.failures };
        }
        e.attempt_until = now.saturating_add(policy.attempt_ms.max(1));
        Admit::Go
    }

    /// How many hosts are backed off: those that gave no answer to their last request. Each
    /// stays until it answers, even once its period is over (its next request is an attempt).
    pub fn backed_off(&self) -> usize {
        self.entries.iter().filter(|e| e.failures > 0).count()
    }

    /// The host answered: it is no longer backed off.
    pub fn answered(&mut self, key: &str) {
        if let Some(e) = self.find(key) {
            *e = Entry::FREE;
        }
    }

    /// The host gave no answer. Returns the failures in a row and the period now running, or
    /// None when the back-off is off or the key is too long to track. A failure of a fetch
    /// that started before the host was backed off (a concurrent one) does not double it again.
    pub fn failed(&mut self, key: &str, now: u64, policy: &Policy) -> Option<(u32, u64)> {
        if policy.base_ms == 0 || key.is_empty() || key.len() > KEY_MAX {
            return None;
        }
        let e = match self.entries.iter().position(|e| e.is(key.as_bytes())) {
            Some(i) => &mut self.entries[i],
            None => {
                // A free entry, else the one whose period ends first.
                let i = self
                    .entries
                    .iter()
                    .position(|e| e.failures == 0)
                    .unwrap_or_else(|| (0..HOSTS).min_by_key(|&i| self.entries[i].retry_at).unwrap_or(0));
                let e = &mut self.entries[i];
                *e = Entry::FREE;
                e.key[..key.len()].copy_from_slice(key.as_bytes());
                e.key_len = key.len() as u16;
                e
            }
        };
        let attempt = e.failures == 0 || e.attempt_until != 0 || now >= e.retry_at;
        if attempt {
            e.failures = e.failures.saturating_add(1);
            e.retry_at = now.saturating_add(policy.period_ms(e.failures));
            e.attempt_until = 0;
        }
        Some((e.failures, e.retry_at.saturating_sub(now)))
    }
}

#[cfg(test)]
mod tests;
