//! `arcdiag fleet`: a summary across many bundles (`arcdiag-fleet/v1`) and its renderings (text,
//! Markdown, JSON): per code, how many bundles fired it and which, and per bundle its counts. A
//! bundle is kept as a small [`BundleDigest`] as soon as it is analyzed, so thousands of bundles
//! never hold their reports at once. Knows nothing of rules beyond the reports it is given.

use super::json::Unreadable;
use super::markdown::{md_code, md_text};
use super::Report;
use crate::finding::Severity;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

pub const SCHEMA: &str = "arcdiag-fleet/v1";

/// What the fleet summary keeps of one bundle.
#[derive(Debug, Clone, Serialize)]
pub struct BundleDigest {
    pub source: String,
    pub cluster: Option<String>,
    pub collected_at: Option<String>,
    pub unreadable: bool,
    pub partial: bool,
    /// Why it could not be read (unreadable bundles only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    /// The codes that fired, sorted.
    pub codes: Vec<String>,
    /// (code → name, severity, findings), for the code table.
    #[serde(skip)]
    fired: BTreeMap<String, (String, Severity, usize)>,
}

impl BundleDigest {
    pub fn of(r: &Report) -> BundleDigest {
        let mut fired: BTreeMap<String, (String, Severity, usize)> = BTreeMap::new();
        for f in &r.findings {
            let e = fired.entry(f.code.clone()).or_insert((f.name.clone(), f.severity, 0));
            if f.severity.rank() > e.1.rank() {
                e.1 = f.severity;
            }
            e.2 += 1;
        }
        BundleDigest {
            source: r.bundle.source.clone(),
            cluster: r.bundle.cluster.name.clone(),
            collected_at: r.bundle.collected_at.clone(),
            unreadable: false,
            partial: r.bundle.partial,
            error_message: None,
            error: r.summary.error,
            warning: r.summary.warning,
            info: r.summary.info,
            codes: fired.keys().cloned().collect(),
            fired,
        }
    }

    pub fn unreadable(u: &Unreadable) -> BundleDigest {
        BundleDigest {
            source: u.bundle.source.clone(),
            cluster: None,
            collected_at: None,
            unreadable: true,
            partial: true,
            error_message: u.bundle.errors.first().map(|e| e.message.clone()),
            error: 0,
            warning: 0,
            info: 0,
            codes: Vec::new(),
            fired: BTreeMap::new(),
        }
    }
}

/// One code across the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct CodeRow {
    pub code: String,
    pub name: String,
    /// The most severe of its findings.
    pub severity: Severity,
    /// How many bundles it fired in.
    pub bundles: usize,
    pub findings: usize,
    /// Those bundles, in input order.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FleetSummary {
    pub bundles: usize,
    pub unreadable: usize,
    pub partial: usize,
    /// Bundles with at least one error (warning) finding.
    pub with_errors: usize,
    pub with_warnings: usize,
    pub clean: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    pub schema: &'static str,
    pub summary: FleetSummary,
    /// Most bundles first, then most severe, then by code.
    pub codes: Vec<CodeRow>,
    /// In input order.
    pub bundles: Vec<BundleDigest>,
}

/// The summary of the bundles, given in input order.
pub fn build(bundles: Vec<BundleDigest>) -> Fleet {
    let mut rows: BTreeMap<&str, CodeRow> = BTreeMap::new();
    for b in &bundles {
        for (code, (name, sev, n)) in &b.fired {
            let row = rows.entry(code).or_insert_with(|| CodeRow {
                code: code.clone(),
                name: name.clone(),
                severity: *sev,
                bundles: 0,
                findings: 0,
                sources: Vec::new(),
            });
            if sev.rank() > row.severity.rank() {
                row.severity = *sev;
            }
            row.bundles += 1;
            row.findings += n;
            row.sources.push(b.source.clone());
        }
    }
    let mut codes: Vec<CodeRow> = rows.into_values().collect();
    codes.sort_by(|a, b| {
        b.bundles
            .cmp(&a.bundles)
            .then(b.severity.rank().cmp(&a.severity.rank()))
            .then(a.code.cmp(&b.code))
    });
    let summary = FleetSummary {
        bundles: bundles.len(),
        unreadable: bundles.iter().filter(|b| b.unreadable).count(),
        partial: bundles.iter().filter(|b| b.partial && !b.unreadable).count(),
        with_errors: bundles.iter().filter(|b| b.error > 0).count(),
        with_warnings: bundles.iter().filter(|b| b.warning > 0).count(),
        clean: bundles
            .iter()
            .filter(|b| !b.unreadable && b.error + b.warning + b.info == 0)
            .count(),
    };
    Fleet {
        schema: SCHEMA,
        summary,
        codes,
        bundles,
    }
}

/// Names of bundles listed per code in text and Markdown (JSON lists them all).
const SOURCES_SHOWN: usize = 10;

fn sources(row: &CodeRow, each: impl Fn(&str) -> String) -> String {
    let mut s: Vec<String> = row.sources.iter().take(SOURCES_SHOWN).map(|x| each(x)).collect();
    if row.sources.len() > SOURCES_SHOWN {
        s.push(format!("and {} more", row.sources.len() - SOURCES_SHOWN));
    }
    s.join(", ")
}

pub fn render_json(f: &Fleet) -> String {
    let mut s =
        serde_json::to_string_pretty(f).unwrap_or_else(|e| format!("{{\"error\": \"cannot render fleet: {e}\"}}"));
    s.push('\n');
    s
}

fn summary_line(s: &FleetSummary) -> String {
    format!(
        "{} bundle(s): {} with errors, {} with warnings, {} without findings, {} partial, {} unreadable",
        s.bundles, s.with_errors, s.with_warnings, s.clean, s.partial, s.unreadable
    )
}

/// For a terminal; everything from a bundle escaped.
pub fn render_text(f: &Fleet) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "arcdiag fleet: {}\n", summary_line(&f.summary));
    if f.codes.is_empty() {
        let _ = writeln!(out, "No findings in any bundle.");
    } else {
        let _ = writeln!(
            out,
            "{:<8} {:<8} {:>7} {:>8}  name / bundles",
            "code", "severity", "bundles", "findings"
        );
        for r in &f.codes {
            let _ = writeln!(
                out,
                "{:<8} {:<8} {:>7} {:>8}  {}",
                r.code,
                r.severity.as_str(),
                r.bundles,
                r.findings,
                r.name
            );
            let _ = writeln!(out, "{:<36}{}", "", sources(r, |s| crate::text::short_name(s, 80)));
        }
    }
    let bad: Vec<&BundleDigest> = f.bundles.iter().filter(|b| b.unreadable).collect();
    if !bad.is_empty() {
        let _ = writeln!(out, "\nUnreadable ({}):", bad.len());
        for b in bad {
            let _ = writeln!(
                out,
                "  {}: {}",
                crate::text::short_name(&b.source, crate::text::NAME_CHARS),
                b.error_message.as_deref().unwrap_or("").replace('\n', " ")
            );
        }
    }
    crate::text::escape_controls(&out)
}

/// For a ticket or a wiki page; everything from a bundle escaped as Markdown.
pub fn render_markdown(f: &Fleet) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# arcdiag fleet\n\n{}\n", summary_line(&f.summary));
    if f.codes.is_empty() {
        let _ = writeln!(out, "No findings in any bundle.\n");
    } else {
        let _ = writeln!(
            out,
            "| code | severity | name | bundles | findings | in |\n|---|---|---|---|---|---|"
        );
        for r in &f.codes {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} | {} |",
                r.code,
                r.severity,
                r.name,
                r.bundles,
                r.findings,
                sources(r, md_code)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## Bundles\n\n| bundle | cluster | collected | error | warning | info | note |\n|---|---|---|---|---|---|---|"
    );
    for b in &f.bundles {
        let note = if b.unreadable {
            format!("unreadable: {}", md_text(b.error_message.as_deref().unwrap_or("")))
        } else if b.partial {
            "partial".into()
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md_code(&b.source),
            b.cluster.as_deref().map(md_text).unwrap_or_else(|| "-".into()),
            b.collected_at.as_deref().map(md_text).unwrap_or_else(|| "-".into()),
            b.error,
            b.warning,
            b.info,
            note.replace('\n', " ")
        );
    }
    crate::text::escape_controls(&out)
}
