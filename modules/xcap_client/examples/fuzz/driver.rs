//! Runs generated HTTP answers through xcap_client's answer handling as libcurl would feed it
//! (header lines one by one, body chunks, the transfer's result, the status), then the
//! refresh decision against a stored row and the conditions sent with a GET, catching
//! panics, timing every input and checking the invariants that hold between them.

use xcap_client::answer::{self, Received};
use xcap::etag::opaque;
use xcap_client::fetch::{Condition, FetchError, Fetched, MAX_BODY};
use xcap_client::refresh::{decide, Refresh};
use xcap_client::url::with_port;

use crate::generate::{self, Input};

fuzzing::counts! {
    /// How many answers ended each way, and what the refresh made of them.
    pub struct Counts {
        documents,
        documents_with_etag,
        not_modified,
        not_found,
        status_errors,
        too_large,
        not_utf8,
        transport_errors,
        updated,
        retagged,
        unchanged,
        gone,
        conditions,
    }
}

/// xcap_client's answer handling, as a fuzz target.
pub const TARGET: fuzzing::Target<Input, Counts> = fuzzing::Target { input: generate::input, exercise, describe };

/// What `show` prints besides the input.
fn describe(case: &Input) -> Vec<String> {
    vec![format!("head as text: {}", String::from_utf8_lossy(&case.head))]
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
