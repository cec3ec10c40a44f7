//! JSON Lines (`analyze --format jsonl`), for many bundles and for query engines (DuckDB, see
//! docs/fleet.md): per bundle, one `finding` line per finding (the bundle's name, cluster and
//! collection time beside the finding exactly as in the report, and its diff [`Identity`]),
//! then one `bundle` line with its summary; a bundle that could not be read gets its `bundle`
//! line with the error. Each line is one compact JSON object. Knows nothing of rules beyond the
//! report it is given.
//!
//! [`Identity`]: super::diff::Identity

use super::json::Unreadable;
use super::{FactsInfo, Report, Summary};
use crate::bundle::BundleError;
use crate::finding::Finding;
use serde::Serialize;

#[derive(Serialize)]
struct FindingLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    bundle: &'a str,
    cluster: Option<&'a str>,
    collected_at: Option<&'a str>,
    identity: String,
    finding: &'a Finding,
}

#[derive(Serialize)]
struct BundleLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    bundle: &'a str,
    cluster: Option<&'a str>,
    collected_at: Option<&'a str>,
    unreadable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    layout: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    complete: Option<bool>,
    partial: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    integrity: Option<&'static str>,
    errors: &'a [BundleError],
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    facts: Option<&'a FactsInfo>,
}

fn line<T: Serialize>(out: &mut String, v: &T) {
    match serde_json::to_string(v) {
        Ok(s) => out.push_str(&s),
        Err(e) => {
            out.push_str(&serde_json::json!({"type": "error", "error": format!("cannot render: {e}")}).to_string())
        }
    }
    out.push('\n');
}

/// One bundle's lines: its findings, then its summary.
pub fn render(r: &Report) -> String {
    let b = &r.bundle;
    let mut out = String::new();
    for f in &r.findings {
        line(
            &mut out,
            &FindingLine {
                kind: "finding",
                bundle: &b.source,
                cluster: b.cluster.name.as_deref(),
                collected_at: b.collected_at.as_deref(),
                identity: super::diff::Identity::of(f).to_string(),
                finding: f,
            },
        );
    }
    line(
        &mut out,
        &BundleLine {
            kind: "bundle",
            bundle: &b.source,
            cluster: b.cluster.name.as_deref(),
            collected_at: b.collected_at.as_deref(),
            unreadable: false,
            layout: Some(b.layout.as_str()),
            complete: Some(b.complete),
            partial: b.partial,
            integrity: Some(b.integrity.state),
            errors: &b.errors,
            summary: Some(&r.summary),
            facts: Some(&r.facts),
        },
    );
    out
}

/// The summary line of a bundle that could not be read at all.
pub fn render_unreadable(u: &Unreadable) -> String {
    let mut out = String::new();
    line(
        &mut out,
        &BundleLine {
            kind: "bundle",
            bundle: &u.bundle.source,
            cluster: None,
            collected_at: None,
            unreadable: true,
            layout: None,
            complete: None,
            partial: true,
            integrity: None,
            errors: &u.bundle.errors,
            summary: None,
            facts: None,
        },
    );
    out
}
