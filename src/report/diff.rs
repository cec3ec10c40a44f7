//! `arcdiag diff BEFORE AFTER`: two reports compared, the value (`arcdiag-diff/v1`) and its
//! renderings (text, Markdown, JSON). Findings are matched by a stable [`Identity`]; what changed
//! in the ones that persist, the inputs whose state changed and the facts that differ are listed;
//! warnings say when the bundles do not look like two collections of one cluster. It compares
//! finished reports and decides nothing a rule decides; it knows no bundle path.
//!
//! **Identity.** A finding is its code and its subject (kind, namespace, name), except that a pod
//! a workload owns stands for that workload ([`crate::finding::Scope::workload`]): a crash-looping
//! pod of a Deployment is renamed by every rollout (`ledger-worker-feffd96ba-1d4e1` becomes
//! `ledger-worker-5c7d9f8b4-q9w2x`), and is still the same problem. A StatefulSet's pods, bare
//! pods and every other subject keep their own name. Several findings may share an identity (two
//! failing pods of one Deployment): they are paired first by equal subjects, then in report order;
//! what is left over is resolved (before) or new (after).

use super::markdown::{md_code, md_text};
use super::{FactsInfo, Report};
use crate::bundle::{ClusterMeta, InputState};
use crate::finding::{Finding, Severity, Subject};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

pub const SCHEMA: &str = "arcdiag-diff/v1";

/// What a finding is matched by across two collections (see the module note).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identity {
    pub code: String,
    pub subject: Subject,
}

impl Identity {
    pub fn of(f: &Finding) -> Identity {
        Identity {
            code: f.code.clone(),
            subject: f.scope.workload.clone().unwrap_or_else(|| f.subject.clone()),
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.subject)
    }
}

/// One side of the comparison: which bundle it is.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub source: String,
    pub collected_at: Option<String>,
    pub cluster: ClusterMeta,
    pub partial: bool,
}

/// A field that differs between the two findings of one identity (or two facts).
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Persisting<'a> {
    pub identity: String,
    pub code: &'a str,
    /// The subject as AFTER names it.
    pub subject: &'a Subject,
    /// Empty when nothing changed: subject, severity, title, message, evidence (count).
    pub changes: Vec<Change>,
    pub before: &'a Finding,
    pub after: &'a Finding,
}

/// An input whose state differs (`null`: the bundle does not list it).
#[derive(Debug, Clone, Serialize)]
pub struct InputChange {
    pub id: String,
    pub before: Option<InputState>,
    pub after: Option<InputState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffSummary {
    pub resolved: usize,
    pub new: usize,
    pub persisting: usize,
    pub changed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff<'a> {
    pub schema: &'static str,
    pub before: Side,
    pub after: Side,
    /// Both bundles name the same cluster (name, and resource group when both have one).
    pub same_cluster: bool,
    pub warnings: Vec<String>,
    pub summary: DiffSummary,
    /// BEFORE's findings with no match in AFTER, as in BEFORE's report.
    pub resolved: Vec<&'a Finding>,
    /// AFTER's findings with no match in BEFORE, as in AFTER's report.
    pub new: Vec<&'a Finding>,
    pub persisting: Vec<Persisting<'a>>,
    pub inputs: Vec<InputChange>,
    /// Facts and bundle properties that differ (`cluster.name`, `distribution`,
    /// `node_os.<node>`, ...).
    pub facts: Vec<Change>,
}

fn side(r: &Report) -> Side {
    Side {
        source: r.bundle.source.clone(),
        collected_at: r.bundle.collected_at.clone(),
        cluster: r.bundle.cluster.clone(),
        partial: r.bundle.partial,
    }
}

/// Pair the findings of two reports: (before index, after index) pairs, then the unpaired ones.
fn pair(before: &[Finding], after: &[Finding]) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
    let group = |fs: &[Finding]| {
        let mut m: BTreeMap<Identity, Vec<usize>> = BTreeMap::new();
        for (i, f) in fs.iter().enumerate() {
            m.entry(Identity::of(f)).or_default().push(i);
        }
        m
    };
    let (gb, mut ga) = (group(before), group(after));
    let mut pairs = Vec::new();
    let mut resolved = Vec::new();
    for (id, bs) in gb {
        let mut avail = ga.remove(&id).unwrap_or_default();
        let mut rest = Vec::new();
        for b in bs {
            match avail.iter().position(|&a| after[a].subject == before[b].subject) {
                Some(p) => pairs.push((b, avail.remove(p))),
                None => rest.push(b),
            }
        }
        for b in rest {
            if avail.is_empty() {
                resolved.push(b);
            } else {
                pairs.push((b, avail.remove(0)));
            }
        }
        ga.insert(id, avail);
    }
    let mut new: Vec<usize> = ga.into_values().flatten().collect();
    new.sort_unstable();
    resolved.sort_unstable();
    pairs.sort_by_key(|&(_, a)| a);
    (pairs, resolved, new)
}

fn changes(b: &Finding, a: &Finding) -> Vec<Change> {
    let mut out = Vec::new();
    let mut field = |name: &str, x: Value, y: Value| {
        if x != y {
            out.push(Change {
                field: name.into(),
                before: x,
                after: y,
            });
        }
    };
    field("subject", b.subject.to_string().into(), a.subject.to_string().into());
    field("severity", b.severity.as_str().into(), a.severity.as_str().into());
    field("title", b.title.clone().into(), a.title.clone().into());
    field("message", b.message.clone().into(), a.message.clone().into());
    field("evidence", b.evidence.len().into(), a.evidence.len().into());
    out
}

/// Facts and bundle properties as `name → value`, flattened one level (`cluster.name`).
fn fact_values(r: &Report) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    let b = &r.bundle;
    m.insert("layout".to_string(), Value::from(b.layout.as_str()));
    m.insert("complete".to_string(), Value::from(b.complete));
    m.insert("partial".to_string(), Value::from(b.partial));
    m.insert("integrity".to_string(), Value::from(b.integrity.state));
    if let Ok(Value::Object(c)) = serde_json::to_value(&b.cluster) {
        for (k, v) in c {
            m.insert(format!("cluster.{k}"), v);
        }
    }
    if let Ok(Value::Object(f)) = serde_json::to_value::<&FactsInfo>(&r.facts) {
        for (k, v) in f {
            match v {
                // Per entry (`node_os.k8s-worker-03`), so a changed node reads as that node.
                Value::Object(entries) => {
                    for (e, v) in entries {
                        m.insert(format!("{k}.{e}"), v);
                    }
                }
                v => {
                    m.insert(k, v);
                }
            }
        }
    }
    m
}

fn cluster_name(c: &ClusterMeta) -> String {
    match (&c.name, &c.resource_group) {
        (Some(n), Some(g)) => format!("{n} (resource group {g})"),
        (Some(n), None) => n.clone(),
        (None, _) => "no cluster".into(),
    }
}

/// Compare two reports (BEFORE, AFTER).
pub fn diff<'a>(before: &'a Report, after: &'a Report) -> Diff<'a> {
    let (pairs, resolved, new) = pair(&before.findings, &after.findings);
    let persisting: Vec<Persisting> = pairs
        .iter()
        .map(|&(b, a)| {
            let (fb, fa) = (&before.findings[b], &after.findings[a]);
            Persisting {
                identity: Identity::of(fa).to_string(),
                code: &fa.code,
                subject: &fa.subject,
                changes: changes(fb, fa),
                before: fb,
                after: fa,
            }
        })
        .collect();
    let mut inputs = Vec::new();
    let ib: BTreeMap<&str, &crate::bundle::Input> = before.inputs.iter().map(|i| (i.id.as_str(), i)).collect();
    let ia: BTreeMap<&str, &crate::bundle::Input> = after.inputs.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut ids: Vec<&str> = ib.keys().chain(ia.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let (x, y) = (ib.get(id).map(|i| i.state), ia.get(id).map(|i| i.state));
        if x != y {
            inputs.push(InputChange {
                id: id.to_string(),
                before: x,
                after: y,
                reason: ia.get(id).or(ib.get(id)).and_then(|i| i.reason.clone()),
            });
        }
    }
    let (fb, fa) = (fact_values(before), fact_values(after));
    let mut facts = Vec::new();
    let mut names: Vec<&String> = fb.keys().chain(fa.keys()).collect();
    names.sort_unstable();
    names.dedup();
    for n in names {
        let (x, y) = (
            fb.get(n).cloned().unwrap_or(Value::Null),
            fa.get(n).cloned().unwrap_or(Value::Null),
        );
        if x != y {
            facts.push(Change {
                field: n.clone(),
                before: x,
                after: y,
            });
        }
    }

    let (cb, ca) = (&before.bundle.cluster, &after.bundle.cluster);
    let same_cluster = match (&cb.name, &ca.name) {
        (Some(x), Some(y)) => {
            x.eq_ignore_ascii_case(y)
                && match (&cb.resource_group, &ca.resource_group) {
                    (Some(g), Some(h)) => g.eq_ignore_ascii_case(h),
                    _ => true,
                }
        }
        _ => false,
    };
    let mut warnings = Vec::new();
    if !same_cluster {
        if cb.name.is_none() || ca.name.is_none() {
            warnings.push(format!(
                "cannot tell whether the bundles are of one cluster: BEFORE names {}, AFTER {}; findings are compared all the same",
                cluster_name(cb),
                cluster_name(ca)
            ));
        } else {
            warnings.push(format!(
                "the bundles are not of the same cluster: BEFORE is {}, AFTER is {}; findings are compared all the same",
                cluster_name(cb),
                cluster_name(ca)
            ));
        }
    }
    if let (Some(x), Some(y)) = (&before.bundle.collected_at, &after.bundle.collected_at) {
        if let (Some(tx), Some(ty)) = (crate::k8s::time::parse(x), crate::k8s::time::parse(y)) {
            if ty < tx {
                warnings.push(format!(
                    "AFTER was collected ({y}) before BEFORE ({x}): are they swapped?"
                ));
            }
        }
    }
    for (name, r) in [("BEFORE", before), ("AFTER", after)] {
        if r.bundle.partial {
            warnings.push(format!(
                "{name} is partial ({} problem(s) reading it): {}",
                r.bundle.errors.len(),
                if name == "AFTER" {
                    "a finding listed as resolved may still be there, unread"
                } else {
                    "a finding listed as new may have been there, unread"
                }
            ));
        }
    }
    // A resolved finding whose rule could not vouch for AFTER may only be unseen.
    let mut unsure: BTreeMap<&str, String> = BTreeMap::new();
    for &b in &resolved {
        let code = before.findings[b].code.as_str();
        match after.rules.iter().find(|x| x.code == code) {
            Some(x) if x.outcome == crate::engine::Outcome::Skipped || x.outcome == crate::engine::Outcome::Failed => {
                unsure.insert(
                    code,
                    format!(
                        "{code} was {} in AFTER ({}): its resolved findings may only be unseen",
                        x.outcome.as_str(),
                        x.reason.as_deref().unwrap_or("no reason given")
                    ),
                );
            }
            None => {
                unsure.insert(
                    code,
                    format!("{code} did not run on AFTER: its resolved findings may only be unseen"),
                );
            }
            _ => {}
        }
    }
    warnings.extend(unsure.into_values());

    let summary = DiffSummary {
        resolved: resolved.len(),
        new: new.len(),
        persisting: persisting.len(),
        changed: persisting.iter().filter(|p| !p.changes.is_empty()).count(),
    };
    Diff {
        schema: SCHEMA,
        before: side(before),
        after: side(after),
        same_cluster,
        warnings,
        summary,
        resolved: resolved.iter().map(|&i| &before.findings[i]).collect(),
        new: new.iter().map(|&i| &after.findings[i]).collect(),
        persisting,
        inputs,
        facts,
    }
}

impl Diff<'_> {
    /// A new finding at or above the threshold (info never counts).
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        threshold.is_some_and(|t| {
            self.new
                .iter()
                .any(|f| f.severity != Severity::Info && f.severity.rank() >= t.rank())
        })
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn state(s: Option<InputState>) -> &'static str {
    match s {
        Some(InputState::Present) => "present",
        Some(InputState::Absent) => "absent",
        Some(InputState::Failed) => "failed",
        None => "not listed",
    }
}

fn side_line(s: &Side) -> String {
    let mut parts = vec![s.source.clone()];
    if let Some(c) = &s.collected_at {
        parts.push(format!("collected {c}"));
    }
    parts.push(format!("cluster {}", cluster_name(&s.cluster)));
    if s.partial {
        parts.push("partial".into());
    }
    parts.join(", ")
}

/// The diff as JSON (`arcdiag-diff/v1`).
pub fn render_json(d: &Diff) -> String {
    let mut s =
        serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("{{\"error\": \"cannot render diff: {e}\"}}"));
    s.push('\n');
    s
}

/// The diff for a terminal; everything from a bundle escaped.
pub fn render_text(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "arcdiag diff");
    let _ = writeln!(out, "before: {}", side_line(&d.before));
    let _ = writeln!(out, "after:  {}", side_line(&d.after));
    for w in &d.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out.push('\n');
    let line = |out: &mut String, mark: &str, f: &Finding| {
        let _ = writeln!(
            out,
            "  {mark} {} {:<7} {}: {}",
            f.code,
            f.severity.as_str(),
            f.subject,
            f.title
        );
    };
    let _ = writeln!(out, "RESOLVED ({})", d.resolved.len());
    for f in &d.resolved {
        line(&mut out, "-", f);
    }
    let _ = writeln!(out, "\nNEW ({})", d.new.len());
    for f in &d.new {
        line(&mut out, "+", f);
    }
    let _ = writeln!(
        out,
        "\nPERSISTING ({}, {} changed)",
        d.persisting.len(),
        d.summary.changed
    );
    for p in &d.persisting {
        line(&mut out, if p.changes.is_empty() { "=" } else { "~" }, p.after);
        for c in &p.changes {
            let _ = writeln!(
                out,
                "      {}: {} -> {}",
                c.field,
                show(&c.before).replace('\n', " "),
                show(&c.after).replace('\n', " ")
            );
        }
    }
    if !d.inputs.is_empty() {
        let _ = writeln!(out, "\nINPUTS ({} changed)", d.inputs.len());
        for i in &d.inputs {
            let why = i
                .reason
                .as_deref()
                .map(|r| format!(" ({})", r.replace('\n', " ")))
                .unwrap_or_default();
            let _ = writeln!(out, "  {}: {} -> {}{why}", i.id, state(i.before), state(i.after));
        }
    }
    if !d.facts.is_empty() {
        let _ = writeln!(out, "\nFACTS ({} differ)", d.facts.len());
        for c in &d.facts {
            let _ = writeln!(out, "  {}: {} -> {}", c.field, show(&c.before), show(&c.after));
        }
    }
    let s = &d.summary;
    let _ = writeln!(
        out,
        "\n{} resolved, {} new, {} persisting ({} changed)",
        s.resolved, s.new, s.persisting, s.changed
    );
    crate::text::escape_controls(&out)
}

/// The diff for a support ticket; everything from a bundle escaped as Markdown.
pub fn render_markdown(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# arcdiag diff\n");
    let _ = writeln!(out, "| | before | after |\n|---|---|---|");
    let _ = writeln!(
        out,
        "| bundle | {} | {} |",
        md_code(&d.before.source),
        md_code(&d.after.source)
    );
    let opt = |s: &Option<String>| s.as_deref().map(md_text).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "| collected | {} | {} |",
        opt(&d.before.collected_at),
        opt(&d.after.collected_at)
    );
    let _ = writeln!(
        out,
        "| cluster | {} | {} |\n",
        md_text(&cluster_name(&d.before.cluster)),
        md_text(&cluster_name(&d.after.cluster))
    );
    for w in &d.warnings {
        let _ = writeln!(out, "> **Warning:** {}\n", md_text(w));
    }
    let s = &d.summary;
    let _ = writeln!(
        out,
        "**{} resolved, {} new, {} persisting ({} changed).**\n",
        s.resolved, s.new, s.persisting, s.changed
    );
    let table = |out: &mut String, title: &str, fs: &[&Finding]| {
        let _ = writeln!(out, "## {title} ({})\n", fs.len());
        if fs.is_empty() {
            let _ = writeln!(out, "None.\n");
            return;
        }
        let _ = writeln!(out, "| severity | code | subject | title |\n|---|---|---|---|");
        for f in fs {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                f.severity,
                f.code,
                md_code(&f.subject.to_string()),
                md_text(&f.title)
            );
        }
        out.push('\n');
    };
    table(&mut out, "Resolved", &d.resolved);
    table(&mut out, "New", &d.new);
    let _ = writeln!(out, "## Persisting ({})\n", d.persisting.len());
    if d.persisting.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(
            out,
            "| severity | code | subject | title | changed |\n|---|---|---|---|---|"
        );
        for p in &d.persisting {
            let changed: Vec<String> = p
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{}: {} → {}",
                        c.field,
                        md_code(&show(&c.before)),
                        md_code(&show(&c.after))
                    )
                })
                .collect();
            let f = p.after;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.severity,
                f.code,
                md_code(&f.subject.to_string()),
                md_text(&f.title),
                if changed.is_empty() {
                    "-".to_string()
                } else {
                    changed.join("; ")
                }
            );
        }
        out.push('\n');
    }
    if !d.inputs.is_empty() {
        let _ = writeln!(out, "## Inputs ({} changed)\n", d.inputs.len());
        let _ = writeln!(out, "| input | before | after | reason |\n|---|---|---|---|");
        for i in &d.inputs {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                md_code(&i.id),
                state(i.before),
                state(i.after),
                i.reason.as_deref().map(md_text).unwrap_or_else(|| "-".into())
            );
        }
        out.push('\n');
    }
    if !d.facts.is_empty() {
        let _ = writeln!(out, "## Facts ({} differ)\n", d.facts.len());
        let _ = writeln!(out, "| fact | before | after |\n|---|---|---|");
        for c in &d.facts {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                c.field,
                md_code(&show(&c.before)),
                md_code(&show(&c.after))
            );
        }
        out.push('\n');
    }
    crate::text::escape_controls(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Evidence, Scope};

    fn f(code: &str, sev: Severity, subject: Subject, workload: Option<Subject>, evidence: usize) -> Finding {
        Finding {
            code: code.into(),
            name: code.to_ascii_lowercase(),
            severity: sev,
            title: format!("{code} on {subject}"),
            message: String::new(),
            subject,
            evidence: vec![Evidence::default(); evidence],
            evidence_omitted: 0,
            fix: Vec::new(),
            related: Vec::new(),
            scope: Scope {
                workload,
                ..Scope::default()
            },
        }
    }
    fn pod(n: &str) -> Subject {
        Subject::new("Pod", Some("ns"), n)
    }
    fn deploy(n: &str) -> Option<Subject> {
        Some(Subject::new("Deployment", Some("ns"), n))
    }

    #[test]
    fn a_workload_pod_renamed_by_a_rollout_persists_a_bare_pod_renamed_does_not() {
        let before = vec![
            f("K8S001", Severity::Error, pod("api-aaaaaaaaa-11111"), deploy("api"), 2),
            f("K8S001", Severity::Error, pod("solo"), None, 1),
        ];
        let after = vec![
            f("K8S001", Severity::Error, pod("api-bbbbbbbbb-22222"), deploy("api"), 3),
            f("K8S001", Severity::Error, pod("solo-2"), None, 1),
        ];
        let (pairs, resolved, new) = pair(&before, &after);
        assert_eq!(pairs, [(0, 0)]);
        assert_eq!((resolved, new), (vec![1], vec![1]));
        let c = changes(&before[0], &after[0]);
        let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["subject", "title", "evidence"]);
    }

    #[test]
    fn findings_sharing_an_identity_pair_by_subject_first_and_the_rest_is_left_over() {
        let before = vec![
            f("K8S002", Severity::Error, pod("api-a-1"), deploy("api"), 1),
            f("K8S002", Severity::Error, pod("api-a-2"), deploy("api"), 1),
        ];
        let after = vec![
            f("K8S002", Severity::Error, pod("api-a-2"), deploy("api"), 1),
            f("K8S002", Severity::Error, pod("api-b-3"), deploy("api"), 1),
            f("K8S002", Severity::Error, pod("api-b-4"), deploy("api"), 1),
        ];
        let (pairs, resolved, new) = pair(&before, &after);
        assert_eq!(pairs, [(1, 0), (0, 1)]);
        assert!(resolved.is_empty());
        assert_eq!(new, [2]);
    }
}
