//! Runs generated inputs through pua's pure logic: each event's body processor, the header
//! lines of PUBLISH and SUBSCRIBE, the decisions on PUBLISH and SUBSCRIBE replies, the route
//! set built from Record-Route values and the state a request carries to its reply, catching
//! panics, timing every input and checking the invariants that hold between them.

use pua::events::{self, Processor};
use pua::headers;
use pua::pending::Pending;
use pua::reply::{self, PublishOutcome, SubscribeOutcome, SubscribeReply};

use crate::generate::{self, Input, Kind};

fuzzing::counts! {
    /// How many operations of each kind succeeded.
    pub struct Counts {
        passed_through,
        presence_bodies,
        versioned_bodies,
        publish_headers,
        subscribe_headers,
        accepted,
        republished,
        confirmed,
        refreshed,
        route_sets,
        damaged_decoded,
    }
}

/// pua's pure logic, as a fuzz target.
pub const TARGET: fuzzing::Target<Input, Counts> = fuzzing::Target { input: generate::input, exercise, describe };

/// What `show` prints besides the input.
fn describe(case: &Input) -> Vec<String> {
    vec![format!("body as text: {}", String::from_utf8_lossy(&case.body))]
}

/// Every operation on one input; `Err` when an invariant does not hold.
pub fn exercise(case: &Input) -> Result<Counts, String> {
    let mut counts = Counts::default();
    process(case, &mut counts)?;

    let sent = headers::publish(&case.event, case.expires, case.min_expires, case.etag.as_deref(), case.content_type.as_deref(), case.extra.as_deref());
    check_publish(case, case.etag.as_deref(), &sent)?;
    counts.publish_headers += 1;
    let sent = headers::subscribe(&case.event, &case.contact, case.expires, case.min_expires, case.extra.as_deref());
    let lines = header_lines(&sent)?;
    let want = if case.expires > case.min_expires { case.expires as i64 + 10 } else { case.min_expires as i64 };
    expect(&lines, 0, "Max-Forwards", b"70")?;
    expect(&lines, 1, "Event", case.event.as_bytes())?;
    expect(&lines, 2, "Contact", &[b"<", &case.contact[..], b">"].concat())?;
    expect(&lines, 3, "Expires", want.to_string().as_bytes())?;
    check_extra(&lines[4..], case.extra.as_deref())?;
    counts.subscribe_headers += 1;

    publish_reply(case, &mut counts)?;
    subscribe_reply(case, &mut counts)?;
    route_set(case, &mut counts)?;

    let encoded = case.pending.encode();
    if Pending::decode(&encoded).as_ref() != Some(&case.pending) {
        return Err("the pending state does not decode to itself".into());
    }
    if Pending::decode(&encoded[..encoded.len() - 1]).is_some() {
        return Err("a truncated pending state decodes".into());
    }
    if let Some(p) = Pending::decode(&case.damaged) {
        counts.damaged_decoded += 1;
        if Pending::decode(&p.encode()).as_ref() != Some(&p) {
            return Err("a decoded damaged state does not round-trip".into());
        }
    }
    Ok(counts)
}

fn parse(text: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    roxmltree::Document::parse_with_options(text, opts)
}

/// The body processor of the event: pass-through changes nothing, the PIDF one gives a body
/// whose first tuple has an id and is stable when run again with the id it returned, the
/// version one sets the document element's `version` and is stable.
fn process(case: &Input, counts: &mut Counts) -> Result<(), String> {
    let processor = match case.kind {
        Kind::PassThrough => Processor::PassThrough,
        Kind::Presence => Processor::Presence,
        Kind::DialogInfo => Processor::Version("dialog-info"),
        Kind::Reginfo => Processor::Version("reginfo"),
    };
    let Ok((out, tuple_id)) = events::process_own(processor, &case.body, case.version, &case.tuple_id, &case.new_id) else {
        if case.kind == Kind::PassThrough {
            return Err("pass-through failed".into());
        }
        return Ok(());
    };
    let text = || std::str::from_utf8(&out).map_err(|e| format!("processed body is not UTF-8: {e}"));
    let doc = || {
        let text = text()?;
        parse(text.strip_prefix('\u{feff}').unwrap_or(text)).map_err(|e| format!("processed body does not parse ({e}): {text}"))
    };
    match case.kind {
        Kind::PassThrough => {
            if out != case.body || tuple_id != case.tuple_id {
                return Err("pass-through changed the body or the tuple id".into());
            }
            counts.passed_through += 1;
        }
        Kind::Presence => {
            let (text, doc) = (text()?, doc()?);
            let tuple = doc.descendants().find(|n| n.is_element() && n.tag_name().name().eq_ignore_ascii_case("tuple"));
            if !tuple.is_some_and(|t| t.attributes().any(|a| a.name().eq_ignore_ascii_case("id"))) {
                return Err(format!("the first tuple has no id: {text}"));
            }
            if !case.tuple_id.is_empty() && tuple_id != case.tuple_id {
                return Err("a stored tuple id was not kept".into());
            }
            let again = events::process_own(processor, &out, case.version, &tuple_id, "another")
                .map_err(|e| format!("processing the processed body failed: {e}"))?;
            if again != (out.clone(), tuple_id.clone()) {
                return Err(format!("the PIDF processor is not stable: {text}"));
            }
            counts.presence_bodies += 1;
        }
        Kind::DialogInfo | Kind::Reginfo => {
            let (text, doc) = (text()?, doc()?);
            let want = (case.version as i64 as u64).to_string();
            let got = doc.root_element().attributes().find(|a| a.namespace().is_none() && a.name() == "version").map(|a| a.value());
            if got != Some(want.as_str()) {
                return Err(format!("version is {got:?}, not {want}: {text}"));
            }
            let again = events::process_own(processor, &out, case.version, &tuple_id, "x").map_err(|e| e.to_string())?;
            if again.0 != out {
                return Err(format!("setting the version again changed the body: {text}"));
            }
            counts.versioned_bodies += 1;
        }
    }
    Ok(())
}

/// Header lines as a SIP parser reads them: each ends in CRLF; a line starting with
/// whitespace continues the previous one; the others are `name: value` with a token name.
fn header_lines(h: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let shown = || String::from_utf8_lossy(h).into_owned();
    let Some(body) = h.strip_suffix(b"\n").filter(|_| h.ends_with(b"\r\n")) else {
        return Err(format!("header lines do not end in CRLF: {:?}", shown()));
    };
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        let Some(line) = line.strip_suffix(b"\r") else {
            return Err(format!("a bare LF in the header lines: {:?}", shown()));
        };
        if line.contains(&b'\r') {
            return Err(format!("a bare CR in the header lines: {:?}", shown()));
        }
        match line.first() {
            Some(b' ' | b'\t') => match out.last_mut() {
                Some((_, value)) => {
                    value.extend_from_slice(b"\r\n");
                    value.extend_from_slice(line);
                }
                None => return Err(format!("the header lines start with a continuation: {:?}", shown())),
            },
            None => return Err(format!("an empty line inside the header lines: {:?}", shown())),
            Some(_) => {
                let colon = line.iter().position(|&b| b == b':').ok_or_else(|| format!("a header line without a colon: {:?}", shown()))?;
                let name = &line[..colon];
                let token = |b: &u8| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(b);
                if name.is_empty() || !name.iter().all(token) {
                    return Err(format!("a header name that is not a token: {:?}", shown()));
                }
                let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
                out.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
            }
        }
    }
    Ok(out)
}

fn expect(lines: &[(String, Vec<u8>)], at: usize, name: &str, value: &[u8]) -> Result<(), String> {
    match lines.get(at) {
        Some((n, v)) if n == name && v == value => Ok(()),
        other => Err(format!("header {at} is {other:?}, not {name}: {:?}", String::from_utf8_lossy(value))),
    }
}

/// The caller's own lines come last, exactly as given (trimmed).
fn check_extra(rest: &[(String, Vec<u8>)], extra: Option<&[u8]>) -> Result<(), String> {
    let extra = extra.map(<[u8]>::trim_ascii).filter(|x| !x.is_empty());
    let mut joined = Vec::new();
    for (name, value) in rest {
        joined.extend_from_slice(name.as_bytes());
        joined.extend_from_slice(b": ");
        joined.extend_from_slice(value);
        joined.extend_from_slice(b"\r\n");
    }
    let want = extra.map(|x| [x, b"\r\n"].concat()).unwrap_or_default();
    if joined != want {
        return Err(format!("extra header lines {:?}, not {:?}", String::from_utf8_lossy(&joined), String::from_utf8_lossy(&want)));
    }
    Ok(())
}

fn check_publish(case: &Input, etag: Option<&[u8]>, sent: &[u8]) -> Result<(), String> {
    let lines = header_lines(sent)?;
    let want = if case.expires > 0 { case.expires as i64 + 1 } else { case.min_expires as i64 };
    expect(&lines, 0, "Max-Forwards", b"70")?;
    expect(&lines, 1, "Event", case.event.as_bytes())?;
    expect(&lines, 2, "Expires", want.to_string().as_bytes())?;
    let mut at = 3;
    // A value is written on one line: its line breaks become spaces.
    let one_line = |v: &[u8]| -> Vec<u8> { v.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect() };
    if let Some(etag) = etag {
        expect(&lines, at, "SIP-If-Match", &one_line(etag))?;
        at += 1;
    }
    if let Some(ct) = case.content_type.as_deref().filter(|c| !c.is_empty()) {
        expect(&lines, at, "Content-Type", &one_line(ct))?;
        at += 1;
    }
    check_extra(&lines[at..], case.extra.as_deref())
}

/// The decision on a PUBLISH reply follows the status, Expires and SIP-ETag; an accepted
/// entity tag goes into the next PUBLISH's SIP-If-Match as a well-formed header line.
fn publish_reply(case: &Input, counts: &mut Counts) -> Result<(), String> {
    let etag = case.reply_etag.as_deref();
    let outcome = reply::publish_outcome(case.code, case.reply_expires, etag, case.has_body, case.flag);
    let usable_etag = etag.filter(|e| !e.is_empty());
    let ok = match &outcome {
        PublishOutcome::Refused { republish } => {
            counts.republished += u64::from(*republish);
            case.code >= 300
                && *republish == (case.code == 412 && case.has_body && case.flag != reply::RPC_PUBLISH && case.flag != reply::RPC_ASYN_PUBLISH)
        }
        PublishOutcome::NoExpires => case.code < 300 && case.reply_expires.is_none(),
        PublishOutcome::NoEtag => case.code < 300 && case.reply_expires.is_some() && usable_etag.is_none(),
        PublishOutcome::Ended => case.code < 300 && case.reply_expires == Some(0) && usable_etag.is_some(),
        PublishOutcome::Accepted { etag, expires } => {
            counts.accepted += 1;
            check_publish(case, Some(etag), &headers::publish(&case.event, case.expires, case.min_expires, Some(etag), case.content_type.as_deref(), case.extra.as_deref()))?;
            case.code < 300 && Some(*expires) == case.reply_expires && *expires > 0 && Some(*etag) == usable_etag
        }
    };
    if !ok {
        return Err(format!("PUBLISH reply {} / {:?} / {etag:?} gave {outcome:?}", case.code, case.reply_expires));
    }
    Ok(())
}

fn subscribe_reply(case: &Input, counts: &mut Counts) -> Result<(), String> {
    let read = SubscribeReply { code: case.code, expires: case.reply_expires, to_tag: &case.to_tag, contact: case.reply_contact.as_deref(), cseq: case.cseq };
    let outcome = reply::subscribe_outcome(&read, case.initial);
    let expires = case.reply_expires.unwrap_or(0);
    let contact = case.reply_contact.as_deref().filter(|c| !c.is_empty());
    let ok = match &outcome {
        SubscribeOutcome::Refused { resubscribe } => case.code >= 300 && *resubscribe != case.initial,
        SubscribeOutcome::Ended => case.code < 300 && expires == 0,
        SubscribeOutcome::NoContact { drop } => case.code < 300 && expires > 0 && contact.is_none() && *drop == case.initial,
        SubscribeOutcome::NoCseq => case.code < 300 && expires > 0 && contact.is_some() && case.cseq.is_none(),
        SubscribeOutcome::NoToTag => case.initial && case.to_tag.is_empty() && case.cseq.is_some(),
        SubscribeOutcome::Confirmed { to_tag, contact: c, cseq, expires: e } => {
            counts.confirmed += 1;
            case.initial && case.code < 300 && !to_tag.is_empty() && Some(*c) == contact && Some(*cseq) == case.cseq && *e == expires && *e > 0
        }
        SubscribeOutcome::Refreshed { contact: c, cseq, expires: e } => {
            counts.refreshed += 1;
            !case.initial && case.code < 300 && Some(*c) == contact && Some(*cseq) == case.cseq && *e == expires && *e > 0
        }
    };
    if !ok {
        return Err(format!("SUBSCRIBE reply {read:?} (initial {}) gave {outcome:?}", case.initial));
    }
    Ok(())
}

/// Whether every quote closes and every `<` closes before the next `<`, outside quotes.
fn balanced(h: &[u8]) -> bool {
    let (mut in_angle, mut in_quote) = (false, false);
    for &c in h {
        match c {
            b'"' if !in_angle => in_quote = !in_quote,
            b'<' if !in_quote && in_angle => return false,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote && !in_angle => return false,
            b'>' if !in_quote => in_angle = false,
            _ => {}
        }
    }
    !in_angle && !in_quote
}

/// The route set has no empty entry and no surrounding whitespace; reversed twice (as the
/// peer's view of it and back) it is the same, when its entries are well-formed.
fn route_set(case: &Input, counts: &mut Counts) -> Result<(), String> {
    let rr: Vec<&[u8]> = case.record_routes.iter().map(Vec::as_slice).collect();
    let set = headers::route_set(&rr);
    if set.is_empty() {
        return Ok(());
    }
    counts.route_sets += 1;
    let shown = || String::from_utf8_lossy(&set).into_owned();
    if set.trim_ascii() != set.as_slice() {
        return Err(format!("route set {:?} is not trimmed", shown()));
    }
    if rr.iter().all(|h| balanced(h)) {
        if set.starts_with(b",") || set.ends_with(b",") {
            return Err(format!("route set {:?} has an empty entry", shown()));
        }
        let back = headers::route_set(&[&set]);
        let again = headers::route_set(&[&back]);
        if again != set {
            return Err(format!("route set {:?} reversed twice is {:?}", shown(), String::from_utf8_lossy(&again)));
        }
    }
    Ok(())
}
