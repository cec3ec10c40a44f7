//! Reports: the `arcdiag-report/v1` value built from a bundle and its analysis, and its three
//! renderings (`text`, `json`, `markdown`). This is the only code that formats output; it
//! returns strings and never prints. It decides nothing: findings, outcomes and facts come finished
//! from the engine.

pub mod json;
pub mod markdown;
pub mod text;

use crate::bundle::digest::Integrity;
use crate::bundle::{Bundle, BundleError, ClusterMeta, Input, Layout};
use crate::engine::{Analysis, Outcome, RuleResult};
use crate::facts::ClusterType;
use crate::finding::{Finding, Severity};
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "arcdiag-report/v1";

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
    pub inputs: Vec<Input>,
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleResult>,
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
            inputs: bundle.inputs.values().cloned().collect(),
            findings: analysis.findings,
            rules: analysis.rules,
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

/// Whether a fix line is a command to run (printed with `$ `) rather than advice.
pub fn is_command(line: &str) -> bool {
    const CMDS: &[&str] = &["kubectl ", "az ", "helm ", "juju ", "sudo ", "echo ", "osm ", "for "];
    CMDS.iter().any(|c| line.starts_with(c))
}
