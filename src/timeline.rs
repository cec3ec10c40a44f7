//! The bundle's dated moments, in time order: events, condition transitions that are not healthy
//! (pods, nodes and any object with `status.conditions`), and the log lines findings cite that
//! carry a time (RFC 3339 anywhere in the line, or klog's `E1125 16:51:03` with the bundle's year).
//! Read from the snapshot and the findings, for the HTML report's timeline. Owns picking and
//! dating moments; must not know how they are drawn, nor any rule.

use crate::finding::Finding;
use crate::k8s::time;
use crate::model::Snapshot;
use serde::Serialize;
use serde_json::Value;

/// Most moments kept (the latest ones): a timeline is read, not searched.
pub const MOST: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Moment {
    /// RFC 3339, UTC, as the source wrote it once parsed (`2026-11-25T16:51:03Z`).
    pub time: String,
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// The lane: a namespace, `cluster`, or `logs ns/pod`.
    pub component: String,
    /// `event`, `condition` or `log`.
    pub kind: &'static str,
    pub text: String,
}

fn moment(t: &str, component: String, kind: &'static str, text: String) -> Option<Moment> {
    let at = time::parse(t)?;
    let at = at.to_offset(::time::UtcOffset::UTC);
    let secs = at.unix_timestamp();
    let stamp = at
        .format(&::time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string());
    Some(Moment {
        time: stamp,
        at: secs,
        component,
        kind,
        text,
    })
}

/// Whether a condition's status is the unhealthy one (`*Pressure`, `NetworkUnavailable`,
/// `Stalled` are bad when True; the rest when not True).
fn unhealthy(type_: &str, status: &str) -> bool {
    let bad_when_true = type_.ends_with("Pressure") || type_ == "NetworkUnavailable" || type_ == "Stalled";
    if bad_when_true {
        status == "True"
    } else {
        status != "True"
    }
}

/// The time in a log line: RFC 3339 anywhere, or a klog header (`E1125 16:51:03.412733`) in
/// the year of `year_of`.
fn log_time(line: &str, year_of: Option<&str>) -> Option<String> {
    let b = line.as_bytes();
    for i in 0..b.len().saturating_sub(19) {
        if b[i].is_ascii_digit() && b.get(i + 4) == Some(&b'-') && b.get(i + 10) == Some(&b'T') {
            let end = line[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+')))
                .map_or(line.len(), |n| i + n);
            let cand = &line[i..end];
            if time::parse(cand).is_some() {
                return Some(cand.to_string());
            }
        }
    }
    let year = year_of.and_then(|y| y.get(..4))?;
    let l = line.trim_start();
    let lb = l.as_bytes();
    if lb.len() >= 21
        && matches!(lb[0], b'I' | b'W' | b'E' | b'F')
        && lb[1..5].iter().all(u8::is_ascii_digit)
        && lb[5] == b' '
    {
        let (mm, dd) = (&l[1..3], &l[3..5]);
        let hms = l.get(6..14).filter(|h| {
            let h = h.as_bytes();
            h[2] == b':' && h[5] == b':' && [0, 1, 3, 4, 6, 7].iter().all(|&i| h[i].is_ascii_digit())
        })?;
        return Some(format!("{year}-{mm}-{dd}T{hms}Z"));
    }
    None
}

/// What makes one moment when it is kept: (component, kind, text).
type Make<'a> = &'a dyn Fn() -> (String, &'static str, String);

/// Every candidate moment, in one fixed order: its time as written and what makes the rest.
fn each_moment(snap: &Snapshot, findings: &[Finding], emit: &mut dyn FnMut(&str, Make)) {
    for e in snap.events.iter() {
        let t = e
            .last_timestamp
            .as_deref()
            .or(e.event_time.as_deref())
            .or(e.first_timestamp.as_deref())
            .or(e.metadata.creation_timestamp.as_deref());
        let Some(t) = t else { continue };
        emit(t, &|| {
            let ns = e.metadata.namespace.as_deref().unwrap_or("cluster").to_string();
            let io = &e.involved_object;
            let text = format!("{} {}/{}: {} {}", e.type_, io.kind, io.name, e.reason, e.message);
            (ns, "event", text)
        });
    }
    let mut cond = |component: &dyn Fn() -> String, what: &dyn Fn() -> String, c: &crate::k8s::Condition| {
        if !unhealthy(&c.type_, &c.status) {
            return;
        }
        if let Some(t) = c.last_transition_time.as_deref() {
            emit(t, &|| {
                let text = format!(
                    "{}: {}={} {} {}",
                    what(),
                    c.type_,
                    c.status,
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                );
                (component(), "condition", text.trim_end().to_string())
            });
        }
    };
    for p in snap.pods.iter() {
        for c in &p.status.conditions {
            cond(&|| p.ns().to_string(), &|| format!("Pod/{}", p.metadata.name), c);
        }
    }
    for n in snap.nodes.iter() {
        for c in &n.status.conditions {
            cond(&|| "cluster".into(), &|| format!("Node/{}", n.metadata.name), c);
        }
    }
    for o in &snap.bundle.objects {
        let Some(conds) = o.value.pointer("/status/conditions").and_then(Value::as_array) else {
            continue;
        };
        for c in conds {
            let s = |k: &str| c.get(k).and_then(Value::as_str).map(crate::k8s::Str::from);
            let c = crate::k8s::Condition {
                type_: s("type").unwrap_or_default(),
                status: s("status").unwrap_or_default(),
                reason: s("reason"),
                message: s("message"),
                last_transition_time: s("lastTransitionTime"),
            };
            cond(
                &|| o.namespace().unwrap_or("cluster").to_string(),
                &|| format!("{}/{}", o.kind(), o.name()),
                &c,
            );
        }
    }
    let year = snap.bundle.collected_at.as_deref();
    for f in findings {
        for e in f.evidence.iter().filter(|e| e.line.is_some()) {
            let Some(t) = log_time(&e.excerpt, year) else {
                continue;
            };
            emit(&t, &|| {
                let lane = e
                    .path
                    .strip_prefix("logs/")
                    .and_then(|p| p.rsplit_once('/'))
                    .map_or_else(|| e.path.clone(), |(dir, _)| format!("logs {dir}"));
                let text = format!("{}:{} {}", e.path, e.line.unwrap_or(0), e.excerpt);
                (lane, "log", text)
            });
        }
    }
}

/// The latest [`MOST`] moments, in time order.
///
/// A bundle of 200,000 events has 200,000 candidates, and making each one (its text, its
/// RFC 3339 stamp) was most of the time the report took after the rules. So the first pass only
/// dates them; the second makes those at or after the [`MOST`]th latest time, which hold the
/// latest [`MOST`] once sorted unless duplicates among them leave fewer (then every one is made,
/// as before).
pub fn build(snap: &Snapshot, findings: &[Finding]) -> Vec<Moment> {
    let mut ats: Vec<Option<i64>> = Vec::new();
    each_moment(snap, findings, &mut |t, _| {
        ats.push(time::parse(t).map(|a| a.unix_timestamp()))
    });
    let mut dated: Vec<i64> = ats.iter().flatten().copied().collect();
    let from = if dated.len() > MOST {
        let k = dated.len() - MOST;
        Some(*dated.select_nth_unstable(k).1)
    } else {
        None
    };
    let made = |from: Option<i64>| {
        let mut out: Vec<Moment> = Vec::new();
        let mut i = 0;
        each_moment(snap, findings, &mut |t, make| {
            let keep = ats
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|at| from.is_none_or(|f| at >= f));
            i += 1;
            if keep {
                let (component, kind, text) = make();
                out.extend(moment(t, component, kind, text));
            }
        });
        out.sort_by(|a, b| (a.at, &a.component, a.kind, &a.text).cmp(&(b.at, &b.component, b.kind, &b.text)));
        out.dedup();
        out
    };
    let mut out = made(from);
    if out.len() < MOST && from.is_some() {
        out = made(None);
    }
    if out.len() > MOST {
        out.drain(..out.len() - MOST);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::log_time;

    #[test]
    fn log_lines_are_dated() {
        let y = Some("2026-11-25T17:00:00Z");
        assert_eq!(
            log_time("E1125 16:51:03.412733       1 main.go:88] error", y).as_deref(),
            Some("2026-11-25T16:51:03Z")
        );
        assert_eq!(
            log_time("time=2026-11-25T16:53:12Z level=fatal", y).as_deref(),
            Some("2026-11-25T16:53:12Z")
        );
        assert_eq!(
            log_time(r#"{"ts":"2026-11-25T16:00:07.037Z","msg":"x"}"#, y).as_deref(),
            Some("2026-11-25T16:00:07.037Z")
        );
        assert_eq!(log_time("no time here", y), None);
    }
}
