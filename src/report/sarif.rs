//! SARIF 2.1.0 rendering, for code-scanning dashboards: one run per bundle, the selected rules as
//! the driver's rules (their `explain` text as help), one result per finding with its evidence as
//! locations (bundle paths relative to the `BUNDLE` base, and lines for logs). Field order is fixed
//! by `serde_json::json!` (sorted keys) and lists follow the report, so output is byte-identical.
//! Knows nothing of rules beyond the report and the catalog it is given.

use super::{Catalog, Report};
use crate::finding::{Finding, Severity};
use serde_json::{json, Value};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A bundle path as a relative URI reference: every byte but unreserved ones and `/` is
/// percent-encoded (a path from a bundle may hold spaces, `%`, `#` or `?`).
pub fn uri_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn result(f: &Finding, rule_index: Option<usize>, incident: usize) -> Value {
    let text = if f.message.is_empty() {
        f.title.clone()
    } else {
        format!("{}\n{}", f.title, f.message)
    };
    let locations: Vec<Value> = f
        .evidence
        .iter()
        .map(|e| {
            let mut physical = json!({
                "artifactLocation": {"uri": uri_of(&e.path), "uriBaseId": "BUNDLE"},
            });
            if let Some(line) = e.line.filter(|l| *l >= 1) {
                physical["region"] = json!({"startLine": line});
            }
            let mut loc = json!({"physicalLocation": physical});
            let what = match (&e.object, &e.field) {
                (Some(o), Some(fl)) => format!("{o} {fl}: "),
                (Some(o), None) => format!("{o}: "),
                (None, Some(fl)) => format!("{fl}: "),
                (None, None) => String::new(),
            };
            if !what.is_empty() || !e.excerpt.is_empty() {
                loc["message"] = json!({"text": format!("{what}{}", e.excerpt)});
            }
            loc
        })
        .collect();
    let mut r = json!({
        "ruleId": f.code,
        "level": level(f.severity),
        "message": {"text": text},
        "locations": locations,
        // Code and subject: stable across bundles of one cluster (a title carries counts that change).
        "partialFingerprints": {"arcdiagFinding/v1": format!("{} {}", f.code, f.subject)},
        "properties": {
            "subject": f.subject.to_string(),
            "fix": f.fix,
            "incident": incident + 1,
            "related": f.related.iter().map(|r| format!("{} {}", r.code, r.subject)).collect::<Vec<_>>(),
        },
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    r
}

fn run(r: &Report, catalog: &Catalog) -> Value {
    let rules: Vec<Value> = r
        .rules
        .iter()
        .map(|x| {
            let info = catalog.get(&x.code);
            let doc = info.map(|i| i.doc.as_str()).unwrap_or("");
            let summary = crate::rules::summary_of(doc);
            let mut d = json!({
                "id": x.code,
                "name": x.name,
                "shortDescription": {"text": if summary.is_empty() { x.name.clone() } else { summary }},
                "help": {"text": if doc.is_empty() { x.name.clone() } else { doc.to_string() }},
            });
            if let Some(i) = info {
                d["defaultConfiguration"] = json!({"level": level(i.severity)});
            }
            d
        })
        .collect();
    let of = r.incident_of();
    let results: Vec<Value> = r
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| result(f, r.rules.iter().position(|x| x.code == f.code), of[i]))
        .collect();
    // Rules that could not vouch for the cluster, as notifications of the run.
    let notes: Vec<Value> = r
        .rules
        .iter()
        .filter(|x| x.reason.is_some())
        .map(|x| {
            json!({
                "level": if x.outcome == crate::engine::Outcome::Failed { "error" } else { "note" },
                "message": {"text": format!("{} {}: {}", x.code, x.outcome.as_str(), x.reason.as_deref().unwrap_or(""))},
                "descriptor": {"id": x.code},
            })
        })
        .collect();
    json!({
        "tool": {"driver": {
            "name": "arcdiag",
            "version": env!("CARGO_PKG_VERSION"),
            "rules": rules,
        }},
        "originalUriBaseIds": {
            "BUNDLE": {"description": {"text": format!("the root of the bundle {}", r.bundle.source)}},
        },
        "invocations": [{
            "executionSuccessful": true,
            "toolExecutionNotifications": notes,
        }],
        "properties": {
            "bundle": r.bundle.source,
            "partial": r.bundle.partial,
            "incidents": r.incidents.iter().map(|i| i.summary.clone()).collect::<Vec<_>>(),
        },
        "results": results,
    })
}

/// One SARIF log with a run per report.
pub fn render(reports: &[Report], catalog: &Catalog) -> String {
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": reports.iter().map(|r| run(r, catalog)).collect::<Vec<_>>(),
    });
    let mut s =
        serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"cannot render SARIF: {e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_become_uri_references() {
        assert_eq!(super::uri_of("logs/ns/p/c.log"), "logs/ns/p/c.log");
        assert_eq!(super::uri_of("a b/%#?.json"), "a%20b/%25%23%3F.json");
        assert_eq!(super::uri_of("é"), "%C3%A9");
    }
}
