//! Runs generated HTTP answers through xcap_client's answer handling as libcurl would feed it
//! (header lines one by one, body chunks, the transfer's result, the status), then the
//! refresh decision against a stored row and the conditions sent with a GET, catching
//! panics, timing every input and checking the invariants that hold between them.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use xcap_client::answer::{self, Received};
use xcap::etag::opaque;
use xcap_client::fetch::{Condition, FetchError, Fetched, MAX_BODY};
use xcap_client::refresh::{decide, Refresh};
use xcap_client::url::with_port;

use crate::generate::{input, Input};

/// An input slower than this counts as a hang.
pub const SLOW: Duration = Duration::from_secs(1);
/// The watchdog ends the run when one input takes this long (a real hang).
const STUCK: Duration = Duration::from_secs(30);

/// What went wrong with one input.
#[derive(Debug, Clone)]
pub struct Failure {
    pub index: u64,
    pub what: String,
}

/// Totals of a run.
#[derive(Debug, Default)]
pub struct Stats {
    pub inputs: u64,
    pub elapsed: Duration,
    pub max_time: Duration,
    pub slowest: u64,
    pub counts: Counts,
    /// VmRSS in kB at the start, middle and end of the run.
    pub rss_kb: [u64; 3],
    pub failures: Vec<Failure>,
}

/// The resident set size of this process, in kB.
pub fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs inputs `0..count` of `seed`; `progress` prints a line every tenth of the run.
pub fn run(count: u64, seed: u64, progress: bool) -> Stats {
    run_for(count, seed, progress, None)
}

/// [`run`], stopping early once `limit` has passed (the middle RSS is then taken at half of it).
pub fn run_for(count: u64, seed: u64, progress: bool, limit: Option<Duration>) -> Stats {
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let current = Arc::new(AtomicU64::new(u64::MAX));
    let started_at = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let watchdog = {
        let (current, started_at) = (Arc::clone(&current), Arc::clone(&started_at));
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            let index = current.load(Ordering::Acquire);
            if index == u64::MAX - 1 {
                return;
            }
            let since = Duration::from_micros(started_at.load(Ordering::Acquire));
            if index != u64::MAX && start.elapsed().saturating_sub(since) > STUCK {
                eprintln!("input {index} of seed {seed} runs for more than {STUCK:?}: hang");
                eprintln!("{:#?}", input(seed, index));
                std::process::exit(2);
            }
        })
    };

    let mut stats = Stats { rss_kb: [rss_kb(), 0, 0], ..Stats::default() };
    for index in 0..count {
        started_at.store(start.elapsed().as_micros() as u64, Ordering::Release);
        current.store(index, Ordering::Release);
        let t0 = Instant::now();
        let case = input(seed, index);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| exercise(&case)));
        let took = t0.elapsed();
        stats.inputs += 1;
        if took > stats.max_time {
            stats.max_time = took;
            stats.slowest = index;
        }
        let mut failure = (took > SLOW).then(|| format!("took {took:?}"));
        match outcome {
            Ok(Ok(counts)) => stats.counts.add(&counts),
            Ok(Err(what)) => failure = Some(what),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                failure = Some(format!("panic: {message}"));
            }
        }
        if let Some(what) = failure {
            if progress {
                println!("input {index}: {what}");
            }
            stats.failures.push(Failure { index, what });
        }
        let elapsed = start.elapsed();
        if stats.rss_kb[1] == 0 && (index == count / 2 || limit.is_some_and(|l| elapsed >= l / 2)) {
            stats.rss_kb[1] = rss_kb();
        }
        if limit.is_some_and(|l| elapsed >= l) {
            if progress {
                println!("time limit reached after {} inputs", index + 1);
            }
            break;
        }
        if progress && count >= 10 && (index + 1) % (count / 10) == 0 {
            let elapsed = start.elapsed().as_secs_f64();
            println!(
                "{:>10} inputs  {:>8.0} inputs/s  max {:?} (input {})  RSS {} kB  failures {}",
                index + 1,
                (index + 1) as f64 / elapsed,
                stats.max_time,
                stats.slowest,
                rss_kb(),
                stats.failures.len()
            );
        }
    }
    current.store(u64::MAX - 1, Ordering::Release);
    let _ = watchdog.join();
    panic::set_hook(previous_hook);
    stats.elapsed = start.elapsed();
    stats.rss_kb[2] = rss_kb();
    stats
}

/// How many answers ended each way, and what the refresh made of them.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub documents: u64,
    pub documents_with_etag: u64,
    pub not_modified: u64,
    pub not_found: u64,
    pub status_errors: u64,
    pub too_large: u64,
    pub not_utf8: u64,
    pub transport_errors: u64,
    pub updated: u64,
    pub retagged: u64,
    pub unchanged: u64,
    pub gone: u64,
    pub conditions: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.documents += o.documents;
        self.documents_with_etag += o.documents_with_etag;
        self.not_modified += o.not_modified;
        self.not_found += o.not_found;
        self.status_errors += o.status_errors;
        self.too_large += o.too_large;
        self.not_utf8 += o.not_utf8;
        self.transport_errors += o.transport_errors;
        self.updated += o.updated;
        self.retagged += o.retagged;
        self.unchanged += o.unchanged;
        self.gone += o.gone;
        self.conditions += o.conditions;
    }
}

/// Feeds the answer as libcurl does: each header line with its ending, then the body in
/// chunks of `sizes` (the rest in one), stopping when a chunk is refused.
fn feed(case: &Input, sizes: &[usize]) -> Result<Fetched, FetchError> {
    let mut received = Received::default();
    for line in case.head.split_inclusive(|&b| b == b'\n') {
        answer::read_header(line, &mut received.etag);
    }
    let mut refused = false;
    let mut rest = &case.body[..];
    let mut sizes = sizes.iter();
    while !rest.is_empty() {
        let n = sizes.next().map_or(rest.len(), |&n| n.clamp(1, rest.len()));
        let (chunk, tail) = rest.split_at(n);
        if !answer::append_chunk(&mut received.body, &mut received.too_large, chunk) {
            refused = true;
            break;
        }
        rest = tail;
    }
    // A refused chunk makes libcurl end the transfer with CURLE_WRITE_ERROR.
    let transfer = match (refused, case.transfer_error) {
        (true, _) => Err(curl::Error::new(23)),
        (false, Some(code)) => Err(curl::Error::new(code)),
        (false, None) => Ok(()),
    };
    answer::outcome(&case.url, received, transfer, || case.status.map_err(curl::Error::new))
}

/// The entity tag of the final response: that of its last ETag line.
fn final_etag(head: &[u8]) -> Option<String> {
    let mut etag = None;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else { continue };
        if line.starts_with("HTTP/") {
            etag = None;
        } else if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("etag") {
                etag = opaque(value).map(str::to_owned);
            }
        }
    }
    etag
}

/// What the answer must become.
fn expected(case: &Input) -> String {
    let url = case.url.clone();
    let result = if case.body.len() > MAX_BODY || case.transfer_error == Some(63) {
        Err(FetchError::TooLarge { url })
    } else if let Some(code) = case.transfer_error {
        Err(FetchError::Transport { url, error: curl::Error::new(code) })
    } else {
        match case.status {
            Err(code) => Err(FetchError::Transport { url, error: curl::Error::new(code) }),
            Ok(200) => match String::from_utf8(case.body.clone()) {
                Ok(body) => Ok(Fetched::Document { body, etag: final_etag(&case.head) }),
                Err(_) => Err(FetchError::NotUtf8 { url }),
            },
            Ok(304) => Ok(Fetched::NotModified),
            Ok(404) => Ok(Fetched::NotFound),
            Ok(code) => Err(FetchError::Status { url, code }),
        }
    };
    format!("{result:?}")
}

/// A tag `opaque` keeps can be sent quoted and reads back as itself, bare, quoted or weak.
fn check_etag(raw: &str, counts: &mut Counts) -> Result<(), String> {
    let tag = opaque(raw);
    let header = answer::condition_header(Condition::IfMatch(raw), "u");
    match tag {
        Some(t) => {
            if t.is_empty() || !t.chars().all(|c| c > ' ' && c != '"' && c != '\u{7f}' && !c.is_control()) {
                return Err(format!("opaque({raw:?}) kept {t:?}"));
            }
            for written in [t.to_string(), format!("\"{t}\""), format!("W/\"{t}\""), format!(" \"{t}\"\r\n")] {
                if opaque(&written) != Some(t) {
                    return Err(format!("opaque({raw:?}) is {t:?}, but opaque({written:?}) is {:?}", opaque(&written)));
                }
            }
            let want = format!("If-Match: \"{t}\"");
            if header.as_ref().ok().and_then(Option::as_deref) != Some(want.as_str()) {
                return Err(format!("condition for {raw:?} is {header:?}, not {want:?}"));
            }
            counts.conditions += 1;
        }
        None => {
            if !matches!(header, Err(FetchError::Etag { .. })) {
                return Err(format!("no tag in {raw:?} but the condition is {header:?}"));
            }
        }
    }
    Ok(())
}

/// Every operation on one input; `Err` when an invariant does not hold.
pub fn exercise(case: &Input) -> Result<Counts, String> {
    let mut counts = Counts::default();
    let got = feed(case, &case.chunks);
    let shown = format!("{got:?}");
    if shown != format!("{:?}", feed(case, &[])) {
        return Err(format!("the answer depends on how the body was chunked: {shown}"));
    }
    let want = expected(case);
    if shown != want {
        return Err(format!("the answer became {shown}, not {want}"));
    }
    match &got {
        Ok(Fetched::Document { etag, .. }) => {
            counts.documents += 1;
            counts.documents_with_etag += u64::from(etag.is_some());
        }
        Ok(Fetched::NotModified) => counts.not_modified += 1,
        Ok(Fetched::NotFound) => counts.not_found += 1,
        Err(FetchError::Status { .. }) => counts.status_errors += 1,
        Err(FetchError::TooLarge { .. }) => counts.too_large += 1,
        Err(FetchError::NotUtf8 { .. }) => counts.not_utf8 += 1,
        Err(FetchError::Transport { .. }) => counts.transport_errors += 1,
        Err(other) => return Err(format!("an answer gave {other:?}")),
    }

    for line in case.head.split(|&b| b == b'\n') {
        if let Some((name, value)) = std::str::from_utf8(line).ok().and_then(|l| l.split_once(':')) {
            if name.trim().eq_ignore_ascii_case("etag") {
                check_etag(value, &mut counts)?;
            }
        }
    }
    check_etag(&case.raw_etag, &mut counts)?;

    if let Some(stored) = &case.stored {
        if let Some(raw) = &stored.etag {
            check_etag(raw, &mut counts)?;
        }
        let condition = stored.condition();
        let want = stored.etag.as_deref().and_then(opaque);
        match (condition, want) {
            (Condition::IfNoneMatch(t), Some(w)) if t == w => {}
            (Condition::None, None) => {}
            (c, w) => return Err(format!("stored tag {:?} gives condition {c:?}, not {w:?}", stored.etag)),
        }
        if let Ok(url) = stored.fetch_url() {
            if with_port(&url, stored.port).as_ref() != Ok(&url) {
                return Err(format!("with_port is not idempotent on {url:?} (port {})", stored.port));
            }
        }
    }
    let old_tag = case.stored.as_ref().and_then(|s| s.etag.as_deref()).and_then(opaque);
    let decision = decide(case.stored.as_ref(), got);
    let ok = match (&decision, feed(case, &case.chunks)) {
        (Refresh::Failed(_), Err(_)) => true,
        (Refresh::Unchanged, Ok(Fetched::NotModified)) => {
            counts.unchanged += 1;
            true
        }
        (Refresh::Gone, Ok(Fetched::NotFound)) => {
            counts.gone += 1;
            true
        }
        (Refresh::Updated { doc, etag }, Ok(Fetched::Document { body, etag: tag })) => {
            counts.updated += 1;
            *doc == body && *etag == tag && case.stored.as_ref().is_none_or(|s| s.doc != body)
        }
        (Refresh::Retagged { etag }, Ok(Fetched::Document { body, etag: tag })) => {
            counts.retagged += 1;
            *etag == tag && case.stored.as_ref().is_some_and(|s| s.doc == body) && old_tag != tag.as_deref()
        }
        (Refresh::Unchanged, Ok(Fetched::Document { body, etag: tag })) => {
            counts.unchanged += 1;
            case.stored.as_ref().is_some_and(|s| s.doc == body) && old_tag == tag.as_deref()
        }
        _ => false,
    };
    if !ok {
        return Err(format!("refresh decided {decision:?} for {shown} against {:?}", case.stored));
    }
    Ok(counts)
}
