//! The XML Schema simple types the usages' schemas use, as value checks.

/// `xs:string`, and `xs:anyURI` (whose lexical space XML Schema 1.0 leaves open).
pub(super) fn any(_: &str) -> bool {
    true
}

/// `xs:boolean`.
pub(super) fn boolean(value: &str) -> bool {
    matches!(value.trim(), "true" | "false" | "1" | "0")
}

/// `xs:ID` and `xs:NCName`: a name without colons.
pub(super) fn ncname(value: &str) -> bool {
    let mut chars = value.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
}

/// `xs:dateTime`: `[-]YYYY-MM-DDThh:mm:ss[.fff][Z|(+|-)hh:mm]`.
pub(super) fn date_time(value: &str) -> bool {
    let value = value.trim();
    let value = value.strip_prefix('-').unwrap_or(value);
    let Some((date, time)) = value.split_once('T') else {
        return false;
    };
    let date: Vec<&str> = date.split('-').collect();
    let [year, month, day] = date[..] else {
        return false;
    };
    let (clock, zone) = split_zone(time);
    let (clock, fraction) = match clock.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (clock, None),
    };
    let clock: Vec<&str> = clock.split(':').collect();
    let [hour, minute, second] = clock[..] else {
        return false;
    };
    year.len() >= 4
        && digits(year)
        && in_range(month, 1, 12)
        && in_range(day, 1, 31)
        && (in_range(hour, 0, 23) || (hour == "24" && minute == "00" && second == "00"))
        && in_range(minute, 0, 59)
        && in_range(second, 0, 59)
        && fraction.is_none_or(|f| !f.is_empty() && digits(f))
        && zone.is_none_or(valid_zone)
}

/// The clock and the time zone of a time of day.
fn split_zone(time: &str) -> (&str, Option<&str>) {
    if let Some(clock) = time.strip_suffix('Z') {
        return (clock, Some("Z"));
    }
    match time.rfind(['+', '-']) {
        Some(at) => (&time[..at], Some(&time[at..])),
        None => (time, None),
    }
}

fn valid_zone(zone: &str) -> bool {
    if zone == "Z" {
        return true;
    }
    let Some((hours, minutes)) = zone[1..].split_once(':') else {
        return false;
    };
    in_range(hours, 0, 14) && in_range(minutes, 0, 59)
}

/// Two digits between `low` and `high`.
fn in_range(field: &str, low: u32, high: u32) -> bool {
    field.len() == 2
        && digits(field)
        && field.parse::<u32>().is_ok_and(|n| (low..=high).contains(&n))
}

fn digits(field: &str) -> bool {
    !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit())
}

/// PIDF's `qvalue`: a priority between 0 and 1 with at most three decimals.
pub(super) fn qvalue(value: &str) -> bool {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let fraction_ok = fraction.len() <= 3 && fraction.bytes().all(|b| b.is_ascii_digit());
    match whole {
        "0" => fraction_ok,
        "1" => fraction_ok && fraction.bytes().all(|b| b == b'0'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        for ok in [
            "2006-01-01T12:00:00Z",
            "2006-01-01T12:00:00.25+02:00",
            " 2030-12-31T23:59:59-05:00 ",
            "2006-01-01T12:00:00",
        ] {
            assert!(date_time(ok), "{ok}");
        }
        for bad in [
            "",
            "2006-01-01",
            "2006-13-01T12:00:00Z",
            "2006-01-01T25:00:00Z",
            "06-01-01T12:00:00Z",
            "2006-01-01T12:00Z",
            "2006-01-01T12:00:00+2",
            "yesterday",
        ] {
            assert!(!date_time(bad), "{bad}");
        }
    }

    #[test]
    fn booleans_names_and_qvalues() {
        assert!(boolean("true") && boolean(" 0 ") && !boolean("yes"));
        assert!(ncname("a1") && ncname("_x.y-z") && !ncname("1a") && !ncname("a:b") && !ncname(""));
        assert!(qvalue("0.8") && qvalue("1") && qvalue("1.000") && qvalue("0."));
        assert!(!qvalue("1.5") && !qvalue("0.1234") && !qvalue("2") && !qvalue(""));
    }
}
