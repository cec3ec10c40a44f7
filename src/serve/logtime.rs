//! The time a container log line says it was written, for `kubectl logs --since`, `--since-time`
//! and `--timestamps` (the kubelet answers these from the runtime's timestamps; a bundle holds
//! only the lines, so their own times stand in). Knows nothing of HTTP or of the index.
//!
//! Read: an RFC 3339 prefix (a log collected with `--timestamps`), a klog header
//! (`E1125 16:59:01.123456 ...`, its year the collection time's, or the one before when that would
//! put the line after the collection), a JSON line's `ts`, `time` or `timestamp` (RFC 3339 or
//! Unix seconds). A line without a time has its predecessor's.

use crate::k8s::time;
use ::time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Unix time in nanoseconds.
pub type Nanos = i128;

fn rfc3339_prefix(line: &str) -> Option<(Nanos, usize)> {
    let end = line.find(' ').unwrap_or(line.len());
    if end < 20 {
        return None;
    }
    time::parse(&line[..end]).map(|t| (t.unix_timestamp_nanos(), end))
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn klog(line: &str, now: Option<i64>) -> Option<Nanos> {
    let b = line.as_bytes();
    if b.len() < 21 || !matches!(b[0], b'I' | b'W' | b'E' | b'F') || b[5] != b' ' || b[8] != b':' || b[11] != b':' {
        return None;
    }
    let month = Month::try_from(digits(line.get(1..3)?)? as u8).ok()?;
    let day = digits(line.get(3..5)?)? as u8;
    let (h, m, s) = (
        digits(line.get(6..8)?)? as u8,
        digits(line.get(9..11)?)? as u8,
        digits(line.get(12..14)?)? as u8,
    );
    let micros = if b.get(14) == Some(&b'.') {
        let frac: String = line[15..].chars().take_while(char::is_ascii_digit).take(6).collect();
        format!("{frac:0<6}").parse::<u32>().ok()?
    } else {
        0
    };
    let now_t = now.and_then(|n| OffsetDateTime::from_unix_timestamp(n).ok());
    let year = now_t.map_or(1970, |t| t.year());
    let at = |y: i32| -> Option<Nanos> {
        let d = Date::from_calendar_date(y, month, day).ok()?;
        let t = Time::from_hms_micro(h, m, s, micros).ok()?;
        Some(PrimitiveDateTime::new(d, t).assume_utc().unix_timestamp_nanos())
    };
    let t = at(year)?;
    match now {
        Some(n) if t > (n as Nanos + 86_400) * 1_000_000_000 => at(year - 1),
        _ => Some(t),
    }
}

fn json_time(line: &str) -> Option<Nanos> {
    if !line.starts_with('{') {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let t = ["ts", "time", "timestamp", "@timestamp"]
        .iter()
        .find_map(|k| v.get(*k))?;
    match t {
        serde_json::Value::String(s) => time::parse(s).map(OffsetDateTime::unix_timestamp_nanos),
        serde_json::Value::Number(n) => {
            // Decimal seconds, read as text: a float would blur the nanoseconds.
            let text = n.to_string();
            let (secs, frac) = text.split_once('.').unwrap_or((&text, ""));
            let frac: String = frac.chars().take(9).collect();
            Some(secs.parse::<Nanos>().ok()? * 1_000_000_000 + format!("{frac:0<9}").parse::<Nanos>().ok()?)
        }
        _ => None,
    }
}

/// A line's own time, and how many leading bytes are an RFC 3339 timestamp already (0 if none).
pub fn line_time(line: &str, now: Option<i64>) -> Option<(Nanos, usize)> {
    rfc3339_prefix(line)
        .or_else(|| klog(line, now).map(|t| (t, 0)))
        .or_else(|| json_time(line).map(|t| (t, 0)))
}

/// RFC 3339 with nanoseconds, trailing zeros trimmed (Go's `time.RFC3339Nano`, what the kubelet
/// prefixes lines with).
pub fn rfc3339_nano(t: Nanos) -> String {
    let Ok(d) = OffsetDateTime::from_unix_timestamp_nanos(t) else {
        return String::new();
    };
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        d.month() as u8,
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    let ns = d.nanosecond();
    if ns > 0 {
        let frac = format!("{ns:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// `since` (Unix nanoseconds) and `timestamps` applied to a log: lines written before `since`
/// dropped (a line without a time goes with its predecessor; lines before the first timed one
/// are kept only when no line has a time), each kept line prefixed with its time when asked.
pub fn filter(text: &[u8], since: Option<Nanos>, timestamps: bool, now: Option<i64>) -> Vec<u8> {
    if since.is_none() && !timestamps {
        return text.to_vec();
    }
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let times: Vec<Option<(Nanos, usize)>> = lines
        .iter()
        .map(|l| line_time(l.trim_end_matches(['\n', '\r']), now))
        .collect();
    let any_time = times.iter().any(Option::is_some);
    let mut out = Vec::with_capacity(text.len());
    let mut last: Option<Nanos> = None;
    for (line, t) in lines.iter().zip(times) {
        let prefixed = t.is_some_and(|(_, p)| p > 0);
        if let Some((t, _)) = t {
            last = Some(t);
        }
        let keep = match (since, last) {
            (None, _) => true,
            (Some(s), Some(t)) => t >= s,
            (Some(_), None) => !any_time,
        };
        if !keep {
            continue;
        }
        if timestamps && !prefixed {
            if let Some(t) = last {
                out.extend_from_slice(rfc3339_nano(t).as_bytes());
                out.push(b' ');
            }
        }
        out.extend_from_slice(line.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_626_000; // 2026-11-25T17:00:00Z

    #[test]
    fn times_of_lines() {
        let t = |l: &str| line_time(l, Some(NOW)).map(|(t, p)| (rfc3339_nano(t), p));
        assert_eq!(
            t("E1125 16:59:01.123456    1 main.go:10] boom"),
            Some(("2026-11-25T16:59:01.123456Z".into(), 0))
        );
        // A klog date after the collection is last year's.
        assert_eq!(
            t("I1231 23:00:00.000000 x").map(|x| x.0),
            Some("2025-12-31T23:00:00Z".into())
        );
        assert_eq!(
            t("2026-11-25T16:00:00.5Z hello"),
            Some(("2026-11-25T16:00:00.5Z".into(), 22))
        );
        assert_eq!(
            t(r#"{"level":"info","ts":"2026-11-25T16:30:00Z","msg":"x"}"#).map(|x| x.0),
            Some("2026-11-25T16:30:00Z".into())
        );
        assert_eq!(
            t(r#"{"ts":1795624200.25}"#).map(|x| x.0),
            Some("2026-11-25T16:30:00.25Z".into())
        );
        assert_eq!(t("plain text"), None);
    }

    #[test]
    fn since_and_timestamps() {
        let log = b"E1125 16:00:00.000000 old\n  continued\nE1125 16:59:00.000000 new\n  trace\n";
        let since = Some((NOW as Nanos - 3600) * 1_000_000_000 + 1);
        assert_eq!(
            filter(log, since, false, Some(NOW)),
            b"E1125 16:59:00.000000 new\n  trace\n".to_vec()
        );
        assert_eq!(
            String::from_utf8(filter(log, since, true, Some(NOW))).unwrap_or_default(),
            "2026-11-25T16:59:00Z E1125 16:59:00.000000 new\n2026-11-25T16:59:00Z   trace\n"
        );
        assert_eq!(filter(b"no times\n", since, false, Some(NOW)), b"no times\n".to_vec());
    }
}
