//! Runs generated inputs through every PIDF operation presence_xml uses (publish check and
//! classification, aggregation, offline form, single-body choice, transformations, the script
//! checks), pres-rules parsing and evaluation, pua's body editors and the date-time parser,
//! catching panics, timing every input and checking the invariants that hold between them.

use std::collections::HashSet;

use presence_docs::pidf::{self, MissingProvide, Publication};
use presence_docs::publish;
use presence_docs::rules::{decide, parse_date_time, Rules, Spelling, Status, Transformations, Watcher};

use crate::generate::{self, Input};

fuzzing::counts! {
    /// How many operations of each kind succeeded.
    pub struct Counts {
        pidf_bodies,
        aggregates,
        merged,
        offlines,
        single_bodies,
        transforms,
        transforms_removing,
        basic_matches,
        activity_matches,
        rules_parsed,
        rules_matched,
        decisions,
        presence_bodies,
        versioned_bodies,
        dates,
    }
}

/// The presence documents, as a fuzz target.
pub const TARGET: fuzzing::Target<Input, Counts> = fuzzing::Target { input: generate::input, exercise, describe };

/// What `show` prints besides the input.
fn describe(case: &Input) -> Vec<String> {
    let mut lines: Vec<String> =
        case.bodies.iter().enumerate().map(|(i, b)| format!("body {i} as text: {}", String::from_utf8_lossy(b))).collect();
    lines.push(format!("rules as text: {}", String::from_utf8_lossy(&case.rules)));
    lines.push(format!("versioned as text: {}", String::from_utf8_lossy(&case.versioned)));
    lines
}

fn parse(text: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    roxmltree::Document::parse_with_options(text, opts)
}

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| format!("output is not UTF-8: {e}"))
}

/// An output must be a PIDF document again.
fn check_pidf(what: &str, out: &[u8]) -> Result<(), String> {
    match pidf::classify(out) {
        Publication::Pidf => Ok(()),
        other => Err(format!("{what} gave a body that is not PIDF ({other:?}): {}", String::from_utf8_lossy(out))),
    }
}

/// The expanded names (namespace, local name) of the elements below the document element.
fn names(body: &[u8]) -> HashSet<(String, String)> {
    let text = std::str::from_utf8(body).unwrap_or("");
    let Ok(doc) = parse(text.strip_prefix('\u{feff}').unwrap_or(text)) else { return HashSet::new() };
    let root = doc.root_element();
    root.descendants()
        .skip(1)
        .filter(|n| n.is_element())
        .map(|n| (n.tag_name().namespace().unwrap_or("").to_string(), n.tag_name().name().to_string()))
        .collect()
}

/// Every element of `out` has a name some input element has: nothing changed namespace on
/// the way.
fn check_names(what: &str, out: &[u8], inputs: &HashSet<(String, String)>) -> Result<(), String> {
    let stray: Vec<_> = names(out).into_iter().filter(|n| !inputs.contains(n)).collect();
    if stray.is_empty() {
        Ok(())
    } else {
        Err(format!("{what} has elements no input has, {stray:?}: {}", String::from_utf8_lossy(out)))
    }
}

fn is_named(n: &roxmltree::Node<'_, '_>, name: &str) -> bool {
    n.is_element() && n.tag_name().name().eq_ignore_ascii_case(name)
}

/// Every operation on one input; `Err` when an invariant does not hold.
pub fn exercise(case: &Input) -> Result<Counts, String> {
    let mut counts = Counts::default();
    let bodies: Vec<&[u8]> = case.bodies.iter().map(Vec::as_slice).collect();
    let mut any_usable = false;
    let mut usable_names = HashSet::new();
    for (i, body) in bodies.iter().enumerate() {
        let class = pidf::classify(body);
        let checked = pidf::check_publication(body);
        if checked.is_ok() != (class == Publication::Pidf) {
            return Err(format!("body {i}: classify {class:?} but check_publication {checked:?}"));
        }
        if pidf::is_well_formed(body) == matches!(class, Publication::NotXml(_)) {
            return Err(format!("body {i}: classify {class:?} disagrees with is_well_formed"));
        }
        let off = case.off_index == Some(i);
        if class == Publication::Pidf {
            counts.pidf_bodies += 1;
            any_usable |= !off;
            if !off {
                usable_names.extend(names(body));
            }
        }
        if let Ok(out) = pidf::offline(body) {
            counts.offlines += 1;
            check_pidf("offline", &out)?;
            let mut allowed = names(body);
            allowed.extend(["status", "basic"].map(|n| (pidf::PIDF_NS.to_string(), n.to_string())));
            check_names("offline form", &out, &allowed)?;
            any_usable |= off;
            if off {
                usable_names.extend(names(&out));
            }
            let again = pidf::offline(&out).map_err(|e| format!("offline of an offline form failed: {e}"))?;
            if again != out {
                return Err(format!(
                    "offline is not idempotent:\n{}\n{}",
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&again)
                ));
            }
        } else if off && class == Publication::Pidf && has_tuple(body) {
            return Err(format!("body {i}: PIDF with a tuple but no offline form"));
        }
        let basic = pidf::check_basic(body, &case.status);
        let activities = pidf::check_activities(body, &case.activity);
        if ![-1, 1].contains(&basic) || ![-2, -1, 1].contains(&activities) {
            return Err(format!("check_basic {basic}, check_activities {activities}"));
        }
        counts.basic_matches += u64::from(basic == 1);
        counts.activity_matches += u64::from(activities == 1);
    }

    let aggregated = pidf::aggregate(&bodies, case.off_index);
    if aggregated.is_some() != any_usable {
        return Err(format!("aggregate gave {:?} with usable bodies: {any_usable}", aggregated.is_some()));
    }
    if let Some(out) = &aggregated {
        counts.aggregates += 1;
        check_pidf("aggregate", out)?;
        check_names("aggregate", out, &usable_names)?;
        counts.merged += u64::from(bodies.len() > 1 && !bodies.contains(&out.as_slice()));
    }
    let single = pidf::single_body_with_off(&bodies, case.off_index, &case.element, &case.priorities);
    if single.is_some() != aggregated.is_some() {
        return Err("single_body and aggregate disagree on whether a body is usable".into());
    }
    if let Some(out) = &single {
        counts.single_bodies += 1;
        check_pidf("single_body", out)?;
    }
    if case.off_index.is_none() && pidf::single_body(&bodies, &case.element, &case.priorities) != single {
        return Err("single_body and single_body_with_off(None) differ".into());
    }

    let rules = exercise_rules(case, &mut counts)?;
    let mut all = vec![Transformations::default()];
    all.extend(rules);
    for body in &bodies {
        for t in &all {
            transform(body, t, &mut counts)?;
        }
    }

    let entity = Watcher { user: &case.user, domain: &case.domain }.uri();
    let dummy = pidf::dummy(&entity);
    check_pidf("dummy", &dummy)?;
    let dummy_text = utf8(&dummy)?;
    let dummy_doc = parse(dummy_text).map_err(|e| e.to_string())?;
    let xml_char = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    };
    if entity.chars().all(xml_char)
        && dummy_doc.root_element().attribute("entity") != Some(entity.as_str())
    {
        return Err(format!("dummy body for {entity:?} names another entity: {dummy_text}"));
    }

    presence(case, &mut counts)?;
    versioned(case, &mut counts)?;
    date(case, &mut counts)?;
    Ok(counts)
}

fn has_tuple(body: &[u8]) -> bool {
    let text = std::str::from_utf8(body).unwrap_or("");
    parse(text.strip_prefix('\u{feff}').unwrap_or(text))
        .is_ok_and(|d| d.root_element().descendants().any(|n| is_named(&n, "tuple")))
}

/// Parses the rules both ways, evaluates them for the watcher and returns the transformations
/// of what matched.
fn exercise_rules(case: &Input, counts: &mut Counts) -> Result<Vec<Transformations>, String> {
    let both = Rules::parse(&case.rules);
    let rfc = Rules::parse_with(&case.rules, Spelling::RfcOnly);
    let (rules, rfc) = match (both, rfc) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(_), Err(_)) => return Ok(Vec::new()),
        (a, b) => return Err(format!("the spellings disagree on parsing: {a:?} / {b:?}")),
    };
    counts.rules_parsed += 1;
    if rules.len() != rfc.len() || rules.rule_ids() != rfc.rule_ids() || rules.is_empty() != rules.rule_ids().is_empty() {
        return Err("the spellings give different rules".into());
    }
    let watcher = Watcher { user: &case.user, domain: &case.domain };
    let sphere = case.sphere.as_deref();
    let first = rules.matching(&watcher, case.now, sphere);
    let combined = rules.matching_combined(&watcher, case.now, sphere);
    if first.is_some() != combined.is_some() {
        return Err(format!("matching {first:?} but combined {combined:?}"));
    }
    let mut out = Vec::new();
    if let (Some(f), Some(c)) = (&first, &combined) {
        counts.rules_matched += 1;
        if f.rule_id != c.rule_id {
            return Err(format!("first rule {:?}, combined names {:?}", f.rule_id, c.rule_id));
        }
        if f.invalid_sub_handling.is_some() && c.invalid_sub_handling.is_none() {
            return Err("combining lost an invalid sub-handling".into());
        }
        if f.sub_handling.is_some() && c.sub_handling < f.sub_handling {
            return Err(format!("combined {:?} less permissive than {:?}", c.sub_handling, f.sub_handling));
        }
        out.push(f.transformations.clone());
        out.push(c.transformations.clone());
    }
    for m in [first.as_ref(), combined.as_ref()] {
        let decided = decide(m, case.pending);
        match (m, &decided) {
            (None, Ok((status, None))) => {
                let want = if case.pending { Status::Pending } else { Status::Terminated };
                if *status != want {
                    return Err(format!("no rule gave {status:?}"));
                }
            }
            (Some(m), Ok(_)) if m.invalid_sub_handling.is_none() => counts.decisions += 1,
            (Some(m), Err(_)) if m.invalid_sub_handling.is_some() => {}
            _ => return Err(format!("decide({m:?}) gave {decided:?}")),
        }
    }
    Ok(out)
}

/// Transformations keep a PIDF document PIDF; without anything to apply they change nothing;
/// applied twice they change nothing more, unless a withheld element is one the selectors read.
fn transform(body: &[u8], t: &Transformations, counts: &mut Counts) -> Result<(), String> {
    for missing in [MissingProvide::Untouched, MissingProvide::NotProvided] {
        let Ok(out) = pidf::transform_with(body, t, missing) else { continue };
        counts.transforms += 1;
        check_pidf("transform", &out)?;
        check_names("transform", &out, &names(body))?;
        let text = utf8(body)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let unchanged = out == text.as_bytes();
        counts.transforms_removing += u64::from(!unchanged);
        let nothing = *t == Transformations::default() && missing == MissingProvide::Untouched;
        if nothing && !unchanged && !text.contains("<!DOCTYPE") {
            return Err(format!("empty transformations changed the body: {}", String::from_utf8_lossy(&out)));
        }
        let reads_selector = t.attributes.iter().any(|(name, provided)| {
            !provided && ["class", "deviceid", "contact"].iter().any(|s| name.eq_ignore_ascii_case(s))
        });
        if !reads_selector {
            let again = pidf::transform_with(&out, t, missing).map_err(|e| format!("transform of a transform failed: {e}"))?;
            if again != out {
                return Err(format!(
                    "transform is not idempotent ({t:?}):\n{}\n{}",
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&again)
                ));
            }
        }
        if missing == MissingProvide::Untouched && pidf::transform(body, t).as_deref() != Ok(out.as_slice()) {
            return Err("transform and transform_with(Untouched) differ".into());
        }
    }
    Ok(())
}

/// pua's PIDF processor: the first tuple carries the expected id, the first person one, and
/// running the processor again on its output with the remembered id changes nothing.
fn presence(case: &Input, counts: &mut Counts) -> Result<(), String> {
    let stored = case.stored_tuple_id.as_deref();
    for body in &case.bodies {
        let Ok((out, remember)) = publish::presence(body, stored, &case.new_id) else { continue };
        counts.presence_bodies += 1;
        let text = utf8(&out)?;
        let doc = parse(text.strip_prefix('\u{feff}').unwrap_or(text))
            .map_err(|e| format!("presence gave a body that does not parse ({e}): {text}"))?;
        let id_of = |n: roxmltree::Node<'_, '_>| {
            n.attributes().find(|a| a.name().eq_ignore_ascii_case("id")).map(|a| a.value().to_string())
        };
        let tuple = doc.descendants().find(|n| is_named(n, "tuple")).ok_or("presence output has no tuple")?;
        let stored_text = stored.filter(|s| !s.is_empty()).and_then(|s| std::str::from_utf8(s).ok());
        let original = utf8(body)?;
        let original = parse(original.strip_prefix('\u{feff}').unwrap_or(original)).map_err(|e| e.to_string())?;
        let own = original.descendants().find(|n| is_named(n, "tuple")).and_then(id_of);
        let want = own.clone().or(stored_text.map(str::to_string)).unwrap_or_else(|| case.new_id.clone());
        if id_of(tuple).as_deref() != Some(want.as_str()) {
            return Err(format!("first tuple has id {:?}, not {want:?}: {text}", id_of(tuple)));
        }
        let want_remember = match stored.filter(|s| !s.is_empty()) {
            Some(s) => s.to_vec(),
            None => want.clone().into_bytes(),
        };
        if remember != want_remember {
            return Err(format!("remembered {remember:?}, not {want_remember:?}"));
        }
        if let Some(person) = doc.descendants().find(|n| is_named(n, "person")) {
            if id_of(person).is_none() {
                return Err(format!("first person has no id: {text}"));
            }
        }
        let again = publish::presence(&out, Some(&remember), "other-id")
            .map_err(|e| format!("presence of its own output failed: {e}"))?;
        if again != (out.clone(), remember.clone()) {
            return Err(format!("presence is not idempotent: {text} / {}", String::from_utf8_lossy(&again.0)));
        }
    }
    Ok(())
}

/// The version editor: the document element's `version` holds the number afterwards, and
/// setting it again (or after another number) gives the same body.
fn versioned(case: &Input, counts: &mut Counts) -> Result<(), String> {
    let Ok(out) = publish::set_root_version(&case.versioned, case.root, case.version) else {
        return Ok(());
    };
    counts.versioned_bodies += 1;
    let text = utf8(&out)?;
    let doc = parse(text.strip_prefix('\u{feff}').unwrap_or(text))
        .map_err(|e| format!("set_root_version gave a body that does not parse ({e}): {text}"))?;
    let want = (case.version as i64 as u64).to_string();
    let got = doc.root_element().attributes().find(|a| a.namespace().is_none() && a.name() == "version").map(|a| a.value());
    if got != Some(want.as_str()) {
        return Err(format!("version is {got:?}, not {want}: {text}"));
    }
    let again = publish::set_root_version(&out, case.root, case.version).map_err(|e| e.to_string())?;
    let other = publish::set_root_version(&case.versioned, case.root, case.version.wrapping_add(1))
        .and_then(|o| publish::set_root_version(&o, case.root, case.version))
        .map_err(|e| e.to_string())?;
    if again != out || other != out {
        return Err(format!("set_root_version is not idempotent: {text}"));
    }
    Ok(())
}

/// A parsed date-time written back in UTC parses to the same instant.
fn date(case: &Input, counts: &mut Counts) -> Result<(), String> {
    let Some(t) = parse_date_time(&case.date) else { return Ok(()) };
    counts.dates += 1;
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=999_999_999).contains(&y) {
        return Ok(());
    }
    let text = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60);
    match parse_date_time(&text) {
        Some(back) if back == t => Ok(()),
        other => Err(format!("{:?} is {t}, written {text} which parses to {other:?}", case.date)),
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
