//! Runs generated inputs through the URI parser, the node selector parser, the document
//! operations (GET selection, PUT and DELETE of elements and attributes) and whole-document
//! validation, catching panics, timing every input and checking a few invariants.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use xcap::auid::Auid;
use xcap_server::doc::{delete, put_attribute, put_element, select, validate_document, Selection};
use xcap_server::error::XcapError;
use xcap_server::pvar::XcapUriKey;
use xcap::node_selector::{NodeSelector, Terminal};
use xcap_server::uri::XcapUri;

use crate::generate::{input, Input};

/// An input slower than this counts as a hang.
pub const SLOW: Duration = Duration::from_secs(1);
/// The watchdog ends the run when one input takes this long (a real hang).
const STUCK: Duration = Duration::from_secs(30);
const DOC_LIMIT: usize = 1 << 20;

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
    pub uris_parsed: u64,
    pub selectors_parsed: u64,
    pub selections: u64,
    pub puts: u64,
    pub deletes: u64,
    pub valid_docs: u64,
    /// VmRSS in kB at the start, middle and end of the run.
    pub rss_kb: [u64; 3],
    pub failures: Vec<Failure>,
}

/// How many operations of each kind succeeded for one input.
#[derive(Debug, Default)]
pub struct Counts {
    uri: bool,
    selector: bool,
    selections: u64,
    puts: u64,
    deletes: u64,
    valid: bool,
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
            Ok(Ok(counts)) => stats.add(&counts),
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
        if index == count / 2 {
            stats.rss_kb[1] = rss_kb();
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

impl Stats {
    fn add(&mut self, counts: &Counts) {
        self.uris_parsed += u64::from(counts.uri);
        self.selectors_parsed += u64::from(counts.selector);
        self.selections += counts.selections;
        self.puts += counts.puts;
        self.deletes += counts.deletes;
        self.valid_docs += u64::from(counts.valid);
    }
}

/// Every operation on one input; `Err` when an invariant does not hold.
pub fn exercise(case: &Input) -> Result<Counts, String> {
    let mut counts = Counts::default();
    let doc = std::str::from_utf8(&case.doc).ok();
    if let Ok(xuri) = XcapUri::parse(&case.uri, &case.root) {
        counts.uri = true;
        check_uri(&xuri)?;
        if let (Some(Ok(selector)), Some(doc)) = (xuri.selector(), doc) {
            edit(doc, &selector, &case.body, case.auid, &mut counts)?;
        }
    }
    let default_ns = Some(case.auid.default_namespace());
    if let Ok(selector) = NodeSelector::parse(&case.selector, &case.bindings, default_ns) {
        counts.selector = true;
        let again = NodeSelector::parse(&selector.to_string(), &case.bindings, default_ns);
        if again.as_ref() != Ok(&selector) {
            return Err(format!("selector {selector} does not parse back: {again:?}"));
        }
        if let Some(doc) = doc {
            edit(doc, &selector, &case.body, case.auid, &mut counts)?;
        }
    }
    counts.valid = validate_document(&case.doc, case.auid, DOC_LIMIT).is_ok();
    Ok(counts)
}

/// The document key never keeps a dot segment; every `$xcapuri` key can be read.
fn check_uri(xuri: &XcapUri) -> Result<(), String> {
    if xuri.adoc.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(format!("document URI with a dot segment: {}", xuri.adoc));
    }
    for key in [
        "data", "uri", "root", "auid", "type", "tree", "xuid", "file", "node", "target", "domain",
        "uri_adoc",
    ] {
        let key = XcapUriKey::from_name(key).ok_or("unknown $xcapuri key")?;
        let _ = xuri.pv_value(key);
    }
    Ok(())
}

/// GET, PUT and DELETE of what `selector` points at; a successful PUT must read back and
/// give a document that validation accepts or refuses without failing, a successful DELETE
/// must leave nothing for the selector.
fn edit(
    doc: &str,
    selector: &NodeSelector,
    body: &str,
    auid: Auid,
    counts: &mut Counts,
) -> Result<(), String> {
    if select(doc, selector).is_ok() {
        counts.selections += 1;
    }
    let put = match selector.terminal {
        Some(Terminal::Attribute(_)) => put_attribute(doc, selector, body),
        _ => put_element(doc, selector, body),
    };
    if let Ok(outcome) = put {
        counts.puts += 1;
        let expected = match selector.terminal {
            Some(Terminal::Attribute(_)) => Selection::Attribute(body.to_string()),
            _ => Selection::Element(body.trim_matches([' ', '\t', '\r', '\n']).to_string()),
        };
        let got = select(&outcome.doc, selector);
        if got.as_ref() != Ok(&expected) {
            return Err(format!("PUT {selector} then GET gave {got:?}, not {expected:?}"));
        }
        let _ = validate_document(outcome.doc.as_bytes(), auid, DOC_LIMIT);
    }
    if let Ok(new_doc) = delete(doc, selector) {
        counts.deletes += 1;
        match select(&new_doc, selector) {
            Err(XcapError::NotFound(_)) => {}
            other => return Err(format!("DELETE {selector} left {other:?}")),
        }
    }
    Ok(())
}
