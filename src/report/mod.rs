//! Reports: the `arcdiag-report/v1` value built from a bundle and its analysis (with its findings
//! grouped into `incidents`), and its renderings (`text`, `json`, `markdown`, `sarif`, `junit`). This is the only code that formats output; it
//! returns strings and never prints. It decides nothing: findings, outcomes and facts come finished
//! from the engine.

pub mod diff;
pub mod fleet;
pub mod html;
pub mod incidents;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;

use crate::bundle::digest::Integrity;
use crate::bundle::{Bundle, BundleError, ClusterMeta, Input, Layout};
use crate::engine::{Analysis, Outcome, RuleResult};
use crate::facts::ClusterType;
use crate::finding::{Finding, Severity};
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "arcdiag-report/v1";

/// What a rendering may say of a rule beyond the report: its severity and its `explain` text.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub severity: Severity,
    pub doc: String,
}

/// Rule code → [`RuleInfo`], for the renderings that describe rules (SARIF).
pub type Catalog = BTreeMap<String, RuleInfo>;

#[derive(Debug, Clone, Serialize)]
pub struct BundleInfo {
    pub source: String,
    pub layout: Layout,
    pub collected_at: Option<String>,
    pub cluster: ClusterMeta,
    pub complete: bool,
    pub partial: bool,
    pub errors: Vec<BundleError>,
    /// Whether the members are the ones the bundle recorded (`verified`, `mismatch`, `unverifiable`).
    pub integrity: Integrity,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactsInfo {
    pub cluster_type: ClusterType,
    pub distribution: Option<String>,
    pub flux_installed: bool,
    pub osm_installed: bool,
    pub container_insights_installed: bool,
    pub pod_identity: bool,
    pub meshed_namespaces: Vec<String>,
    pub node_os: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    pub rules_fired: usize,
    pub rules_clean: usize,
    pub rules_skipped: usize,
    pub rules_not_applicable: usize,
    pub rules_failed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub bundle: BundleInfo,
    pub facts: FactsInfo,
    pub summary: Summary,
    /// The findings grouped by what explains what (see [`incidents`]).
    pub incidents: Vec<incidents::Incident>,
    pub inputs: Vec<Input>,
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleResult>,
    /// The bundle's dated moments, for the HTML timeline (not part of the JSON report).
    #[serde(skip)]
    pub timeline: Vec<crate::timeline::Moment>,
}

impl Report {
    pub fn new(bundle: &Bundle, extra_errors: &[BundleError], analysis: Analysis) -> Report {
        let mut errors = bundle.errors.clone();
        errors.extend(extra_errors.iter().cloned());
        errors.sort();
        errors.dedup();
        let mut summary = Summary::default();
        for f in &analysis.findings {
            match f.severity {
                Severity::Error => summary.error += 1,
                Severity::Warning => summary.warning += 1,
                Severity::Info => summary.info += 1,
            }
        }
        for r in &analysis.rules {
            match r.outcome {
                Outcome::Fired => summary.rules_fired += 1,
                Outcome::Clean => summary.rules_clean += 1,
                Outcome::Skipped => summary.rules_skipped += 1,
                Outcome::NotApplicable => summary.rules_not_applicable += 1,
                Outcome::Failed => summary.rules_failed += 1,
            }
        }
        let fa = &analysis.facts;
        Report {
            schema: SCHEMA,
            bundle: BundleInfo {
                source: bundle.source.clone(),
                layout: bundle.layout,
                collected_at: bundle.collected_at.clone(),
                cluster: bundle.cluster.clone(),
                complete: bundle.complete,
                partial: !errors.is_empty() || bundle.read_stopped_early,
                errors,
                integrity: bundle.integrity.clone(),
            },
            facts: FactsInfo {
                cluster_type: fa.cluster_type,
                distribution: fa.distribution.clone(),
                flux_installed: fa.flux.installed,
                osm_installed: fa.osm.installed,
                container_insights_installed: fa.ama.installed,
                pod_identity: fa.pod_identity.installed,
                meshed_namespaces: fa.meshed_namespaces.clone(),
                node_os: fa.node_os.clone(),
            },
            summary,
            incidents: incidents::group(&analysis.findings),
            inputs: bundle.inputs.values().cloned().collect(),
            findings: analysis.findings,
            rules: analysis.rules,
            timeline: Vec::new(),
        }
    }

    /// Findings at or above the threshold (info never counts).
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        match threshold {
            None => false,
            Some(t) => self
                .findings
                .iter()
                .any(|f| f.severity != Severity::Info && f.severity.rank() >= t.rank()),
        }
    }
}

impl Report {
    /// For each finding (by position), the incident it is in.
    pub fn incident_of(&self) -> Vec<usize> {
        let mut of = vec![0; self.findings.len()];
        for (n, inc) in self.incidents.iter().enumerate() {
            for i in inc.findings() {
                if let Some(slot) = of.get_mut(i) {
                    *slot = n;
                }
            }
        }
        of
    }

    /// For each finding's evidence, the finding of the same incident that showed it first (in
    /// report order), when that is another finding: evidence repeated across an incident is shown
    /// once and referred to after. Evidence is the same when its place is (path, line, object,
    /// field), whatever excerpt each rule cut.
    pub fn repeated_evidence(&self) -> Vec<Vec<Option<usize>>> {
        let of = self.incident_of();
        let mut first: BTreeMap<(usize, EvidencePlace), usize> = BTreeMap::new();
        let mut out = Vec::with_capacity(self.findings.len());
        for (i, f) in self.findings.iter().enumerate() {
            let mut row = Vec::with_capacity(f.evidence.len());
            for e in &f.evidence {
                let key = (
                    of[i],
                    (e.path.as_str(), e.line, e.object.as_deref(), e.field.as_deref()),
                );
                let shown = *first.entry(key).or_insert(i);
                row.push((shown != i).then_some(shown));
            }
            out.push(row);
        }
        out
    }
}

/// Where a piece of evidence sits: path, line, object, field.
type EvidencePlace<'a> = (&'a str, Option<u64>, Option<&'a str>, Option<&'a str>);

/// Text for XML and HTML element content and quoted attribute values: `& < > " '` as entities
/// (`&#39;` reads the same in both), other control characters and XML's non-characters
/// U+FFFE/U+FFFF as visible `\u{..}`; newline and tab kept.
pub fn markup_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// The rules that could not vouch for the cluster: skipped or failed.
pub fn unvouched(r: &Report) -> impl Iterator<Item = &RuleResult> {
    r.rules
        .iter()
        .filter(|x| x.outcome == Outcome::Skipped || x.outcome == Outcome::Failed)
}

/// Whether a fix line is a command to run (printed with `$ `) rather than advice.
pub fn is_command(line: &str) -> bool {
    const CMDS: &[&str] = &["kubectl ", "az ", "helm ", "juju ", "sudo ", "echo ", "osm ", "for "];
    CMDS.iter().any(|c| line.starts_with(c))
}
