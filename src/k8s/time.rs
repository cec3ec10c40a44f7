//! Times as Kubernetes writes them, on the `time` crate: RFC 3339 timestamps (`metav1.Time`,
//! `2026-11-25T17:00:00Z`; `metav1.MicroTime`, `2026-11-25T17:00:00.123456Z`; offsets such as
//! `+01:00` from other tools) and ages as kubectl prints them (`duration.HumanDuration`: `5s`,
//! `2m5s`, `3h1m`, `3d1h`, `2y4d`).
//!
//! A time without a zone is read as UTC. The API server, kubectl and `arcdiag collect` always
//! write one (`Z`), so a zoneless time comes from another tool that left the zone out of a UTC
//! time (as Python's `datetime.utcnow().isoformat()` does); reading it as UTC is at worst the
//! offset wrong, where refusing it would lose the time altogether. Every reader of times in the
//! crate goes through [`parse`], so they all agree on this. Surrounding whitespace is ignored; the
//! date and time are separated by `T`, `t` or a space; a leap second (`23:59:60`) reads as the
//! last nanosecond before it, as `time` has it.
//!
//! Owns: turning timestamp text into instants and durations into kubectl's text. Must not know
//! which field or file a time came from, nor what a rule or the server does with it.

use ::time::format_description::well_known::Rfc3339;
use ::time::OffsetDateTime;

/// The instant of an RFC 3339 time (a missing zone is UTC); `None` when it is not one.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let b = s.as_bytes();
    // `time` accepts any separator byte; Kubernetes writes `T`, RFC 3339 allows `t` and a space.
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    if has_zone(b) {
        OffsetDateTime::parse(s, &Rfc3339).ok()
    } else {
        OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok()
    }
}

/// Whether the text after the seconds (`YYYY-MM-DDTHH:MM:SS`, 19 bytes) and an optional fraction
/// names a zone (`Z` or an offset). Text that is neither is left to the parser to refuse.
fn has_zone(b: &[u8]) -> bool {
    let mut rest = b.get(19..).unwrap_or_default();
    if let Some(r) = rest.strip_prefix(b".") {
        let digits = r.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &r[digits..];
    }
    !rest.is_empty()
}

/// Seconds since the Unix epoch of an RFC 3339 time (see [`parse`]).
pub fn unix_seconds(s: &str) -> Option<i64> {
    parse(s).map(OffsetDateTime::unix_timestamp)
}

/// `duration.HumanDuration` of the Kubernetes libraries (what kubectl prints as an age): below
/// -1s `<invalid>`, a second of clock skew `0s`, then seconds up to 2 minutes, minutes and seconds
/// up to 10 minutes, minutes up to 3 hours, hours and minutes up to 8 hours, hours up to 2 days,
/// days and hours up to 8 days, days up to 2 years, years and days up to 8 years, then years.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The age of the time `ts` at the instant `now` (Unix seconds), as kubectl prints it; `None`
/// when `ts` is not a time.
pub fn age(ts: &str, now: i64) -> Option<String> {
    unix_seconds(ts).map(|t| human_duration(now - t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2024-03-01T00:00:00Z"), Some(1_709_251_200));
        assert_eq!(unix_seconds("2026-11-25T17:00:00Z"), Some(1_795_626_000));
        assert_eq!(unix_seconds("2026-11-25T17:00:00z"), Some(1_795_626_000));
        assert_eq!(unix_seconds("1969-12-31T23:59:59Z"), Some(-1));
    }

    #[test]
    fn fractions_and_offsets() {
        assert_eq!(unix_seconds("2024-03-01T01:00:00.123456+01:00"), Some(1_709_251_200));
        assert_eq!(unix_seconds("2026-11-25T18:00:00+01:00"), Some(1_795_626_000));
        assert_eq!(unix_seconds("2026-11-25T12:30:00-04:30"), Some(1_795_626_000));
        assert_eq!(unix_seconds("2000-02-29T00:00:00.123Z"), Some(951_782_400));
        let micro = parse("2026-11-25T17:00:00.000001Z").map(|t| t.nanosecond());
        assert_eq!(micro, Some(1_000));
        let nano = parse("2026-11-25T17:00:00.123456789Z").map(|t| t.nanosecond());
        assert_eq!(nano, Some(123_456_789));
    }

    #[test]
    fn a_missing_zone_is_utc() {
        assert_eq!(unix_seconds("2026-11-25T17:00:00"), Some(1_795_626_000));
        assert_eq!(
            unix_seconds("2026-11-25T17:00:00.5"),
            unix_seconds("2026-11-25T17:00:00.5Z")
        );
        assert_eq!(parse("2026-11-25T17:00:00"), parse("2026-11-25T17:00:00Z"));
    }

    #[test]
    fn separators_and_whitespace() {
        assert_eq!(unix_seconds("2026-11-25 17:00:00Z"), Some(1_795_626_000));
        assert_eq!(unix_seconds("2026-11-25t17:00:00Z"), Some(1_795_626_000));
        assert_eq!(unix_seconds(" 2026-11-25T17:00:00Z\n"), Some(1_795_626_000));
        assert_eq!(unix_seconds("2026-11-25X17:00:00Z"), None);
    }

    #[test]
    fn not_times() {
        for s in [
            "",
            "nope",
            "yesterday",
            "2026-11-25",
            "2026-11-25T17:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T17:00:00.Z",
            "2026-11-25T17:00:00+0100",
            "2026-11-25T17:00:00 UTC",
            "2026-11-25T17:00:00Zjunk",
            "20261125T170000Z",
            "2026-11-25T17:00:00+1",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn order_is_the_instant_not_the_text() {
        // as text, `.5Z` sorts before `Z` and `+01:00` before `Z`; as instants they do not
        let (a, b) = ("2026-11-25T17:00:00Z", "2026-11-25T17:00:00.5Z");
        assert!(b < a && parse(a) < parse(b));
        let (c, d) = ("2026-11-25T17:30:00Z", "2026-11-25T18:00:00+01:00");
        assert!(d > c && parse(d) < parse(c));
    }

    #[test]
    fn durations_match_kubernetes() {
        assert_eq!(human_duration(-5), "<invalid>");
        assert_eq!(human_duration(-1), "0s");
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(180), "3m");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(5 * 3600), "5h");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(4 * 86400), "4d");
        assert_eq!(human_duration(100 * 86400), "100d");
        assert_eq!(human_duration(800 * 86400), "2y70d");
        assert_eq!(human_duration((2 * 365 + 4) * 86400), "2y4d");
        assert_eq!(human_duration(3 * 365 * 86400), "3y");
        assert_eq!(human_duration(10 * 365 * 86400 + 86400), "10y");
    }

    #[test]
    fn ages() {
        let now = 1_795_626_000;
        assert_eq!(age("2026-11-25T16:55:00Z", now).as_deref(), Some("5m"));
        assert_eq!(age("2026-11-25T17:00:30Z", now).as_deref(), Some("<invalid>"));
        assert_eq!(age("not a time", now), None);
    }
}
