//! The engine: finds every signature hit once (logs were scanned while reading; messages of
//! events, conditions and `az` statuses are matched here), selects rules, checks their
//! applicability and inputs, runs them in parallel (in waves, so a rule that reads others'
//! findings runs after them), isolates a panicking rule, and sorts the findings. It knows no rule
//! by name (only codes, inputs and `after`), no bundle path and no output format.

use crate::facts::Facts;
use crate::finding::{Finding, Scope, Severity, Subject};
use crate::model::{object_ref, NeedState, Snapshot};
use crate::rules::{obj_match_evidence, Applies, Context, Hit, Origin, Rule};
use crate::signatures::{Place, SignatureSet};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Fired,
    Clean,
    Skipped,
    NotApplicable,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fired => "fired",
            Outcome::Clean => "clean",
            Outcome::Skipped => "skipped",
            Outcome::NotApplicable => "not-applicable",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub code: String,
    pub name: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub min_severity: Severity,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            select: Vec::new(),
            ignore: Vec::new(),
            min_severity: Severity::Info,
        }
    }
}

impl Options {
    pub fn selects(&self, code: &str) -> bool {
        let m = |p: &String| {
            p.eq_ignore_ascii_case("ALL") || code.to_ascii_uppercase().starts_with(&p.to_ascii_uppercase())
        };
        (self.select.is_empty() || self.select.iter().any(m)) && !self.ignore.iter().any(m)
    }
}

pub struct Analysis {
    pub facts: Facts,
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleResult>,
}

/// Every signature hit in the snapshot, in a stable order.
fn condition_texts(conds: &[crate::k8s::Condition]) -> Vec<(String, &str)> {
    conds
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((format!("status.conditions[{i}].message"), c.message.as_deref()?)))
        .collect()
}

/// Signature hits in the status texts of one object.
fn object_hits(
    sigs: &SignatureSet,
    resource: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    src: &crate::bundle::Src,
    texts: Vec<(String, &str)>,
) -> Vec<Hit> {
    let mut out = Vec::new();
    for (field, text) in texts {
        for m in sigs.match_text(text, Place::Conditions) {
            let s = &sigs.sigs[m.sig];
            out.push(Hit {
                sig: m.sig,
                sig_id: s.id.clone(),
                code: s.code.clone(),
                captures: m.captures,
                text: text.to_string(),
                origin: Origin::Object {
                    resource: resource.to_string(),
                    kind: kind.to_string(),
                    namespace: namespace.map(str::to_string),
                    name: name.to_string(),
                },
                evidence: obj_match_evidence(src, object_ref(kind, namespace, name), &field, text, &s.regex),
            });
        }
    }
    out
}

pub fn collect_hits(snap: &Snapshot, sigs: &SignatureSet) -> Vec<Hit> {
    let mut hits = Vec::new();
    for log in snap.logs() {
        for lh in &log.scan.hits {
            for (sig, caps) in &lh.sigs {
                let s = &sigs.sigs[*sig];
                if !s.applies_to_log(&log.namespace, &log.pod, &log.container) {
                    continue;
                }
                hits.push(Hit {
                    sig: *sig,
                    sig_id: s.id.clone(),
                    code: s.code.clone(),
                    captures: caps.clone(),
                    text: lh.decoded.clone().unwrap_or_else(|| lh.text.clone()),
                    origin: Origin::Log {
                        namespace: log.namespace.clone(),
                        pod: log.pod.clone(),
                        container: log.container.clone(),
                        previous: log.previous,
                    },
                    evidence: crate::rules::log_match_evidence(
                        &log.path,
                        lh.line,
                        &lh.text,
                        lh.decoded.as_deref(),
                        &s.regex,
                    ),
                });
            }
        }
    }
    let mut event_hits: Vec<Hit> = snap
        .events
        .par_iter()
        .flat_map_iter(|e| {
            sigs.match_text(&e.message, Place::Events).into_iter().map(move |m| {
                let s = &sigs.sigs[m.sig];
                let ns = e.metadata.namespace.as_deref().unwrap_or_default();
                Hit {
                    sig: m.sig,
                    sig_id: s.id.clone(),
                    code: s.code.clone(),
                    captures: m.captures,
                    text: e.message.to_string(),
                    origin: Origin::Event {
                        namespace: e.involved_object.namespace.as_deref().unwrap_or(ns).to_string(),
                        involved_kind: e.involved_object.kind.to_string(),
                        involved_name: e.involved_object.name.to_string(),
                        reason: e.reason.to_string(),
                    },
                    evidence: obj_match_evidence(
                        &e.src,
                        object_ref("Event", Some(ns), &e.metadata.name),
                        "message",
                        &e.message,
                        &s.regex,
                    ),
                }
            })
        })
        .collect();
    hits.append(&mut event_hits);
    let mut obj_hits: Vec<Hit> = snap
        .bundle
        .objects
        .par_iter()
        .flat_map_iter(|o| {
            let mut texts: Vec<(String, &str)> = Vec::new();
            if let Some(conds) = o.value.pointer("/status/conditions").and_then(Value::as_array) {
                for (i, c) in conds.iter().enumerate() {
                    if let Some(m) = c.get("message").and_then(Value::as_str) {
                        texts.push((format!("status.conditions[{i}].message"), m));
                    }
                }
            }
            if let Some(m) = o.value.pointer("/status/message").and_then(Value::as_str) {
                texts.push(("status.message".into(), m));
            }
            if let Some(v) = o.value.pointer("/status/violations").and_then(Value::as_array) {
                for (i, c) in v.iter().enumerate() {
                    if let Some(m) = c.get("message").and_then(Value::as_str) {
                        texts.push((format!("status.violations[{i}].message"), m));
                    }
                }
            }
            let kind = if o.kind().is_empty() { &o.resource } else { o.kind() };
            object_hits(sigs, &o.resource, kind, o.namespace(), o.name(), &o.src, texts)
        })
        .collect();
    // Pods and nodes are typed (never raw): the same fields, from their models.
    obj_hits.par_extend(snap.pods.par_iter().flat_map_iter(|p| {
        let mut texts = condition_texts(&p.status.conditions);
        if let Some(m) = p.status.message.as_deref() {
            texts.push(("status.message".into(), m));
        }
        let m = &p.metadata;
        object_hits(sigs, "pods", "Pod", m.namespace.as_deref(), &m.name, &p.src, texts)
    }));
    obj_hits.par_extend(snap.nodes.par_iter().flat_map_iter(|n| {
        let texts = condition_texts(&n.status.conditions);
        object_hits(sigs, "nodes", "Node", None, &n.metadata.name, &n.src, texts)
    }));
    hits.append(&mut obj_hits);
    // az: extension statuses and flux configuration statuses
    let mut az_texts: Vec<(String, String, crate::bundle::Src, String, String)> = Vec::new();
    for e in &snap.extensions {
        for (field, text) in e.messages() {
            az_texts.push((slug_of(&e.src.path), e.name.clone(), e.src.clone(), field, text));
        }
    }
    for c in &snap.flux_configs {
        if let Some(m) = c.error_message.as_deref().filter(|m| !m.is_empty()) {
            az_texts.push((
                slug_of(&c.src.path),
                c.name.clone(),
                c.src.clone(),
                "errorMessage".into(),
                m.to_string(),
            ));
        }
        for (i, st) in c.statuses.iter().enumerate() {
            for (j, cond) in st.status_conditions.iter().enumerate() {
                if let Some(m) = &cond.message {
                    az_texts.push((
                        slug_of(&c.src.path),
                        c.name.clone(),
                        c.src.clone(),
                        format!("statuses[{i}].statusConditions[{j}].message"),
                        m.clone(),
                    ));
                }
            }
        }
    }
    for (slug, name, src, field, text) in az_texts {
        for m in sigs.match_text(&text, Place::Az) {
            let s = &sigs.sigs[m.sig];
            let object = if slug.starts_with("k8s-extension") {
                format!("extension {name}")
            } else {
                format!("fluxConfiguration {name}")
            };
            hits.push(Hit {
                sig: m.sig,
                sig_id: s.id.clone(),
                code: s.code.clone(),
                captures: m.captures,
                text: text.clone(),
                origin: Origin::Az {
                    slug: slug.clone(),
                    name: name.clone(),
                },
                evidence: obj_match_evidence(&src, object, &field, &text, &s.regex),
            });
        }
    }
    hits
}

fn slug_of(path: &str) -> String {
    path.rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".json")
        .to_string()
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

fn run_one(rule: &dyn Rule, cx: &Context) -> (RuleResult, Vec<Finding>) {
    let result = |outcome, reason: Option<String>| RuleResult {
        code: rule.code().to_string(),
        name: rule.name().to_string(),
        outcome,
        reason,
    };
    let applies = match catch_unwind(AssertUnwindSafe(|| rule.applies(cx))) {
        Ok(a) => a,
        Err(p) => {
            return (
                result(Outcome::Failed, Some(format!("rule panicked: {}", panic_text(&*p)))),
                Vec::new(),
            )
        }
    };
    match applies {
        Applies::No(why) => return (result(Outcome::NotApplicable, Some(why)), Vec::new()),
        Applies::Unknown(why) => return (result(Outcome::Skipped, Some(why)), Vec::new()),
        Applies::Yes => {}
    }
    let findings = match catch_unwind(AssertUnwindSafe(|| rule.check(cx))) {
        Ok(f) => f,
        Err(p) => {
            return (
                result(Outcome::Failed, Some(format!("rule panicked: {}", panic_text(&*p)))),
                Vec::new(),
            )
        }
    };
    if !findings.is_empty() {
        return (result(Outcome::Fired, None), findings);
    }
    let inputs = rule.inputs();
    let mut missing = Vec::new();
    for need in &inputs.required {
        match cx.snap.need_state(need) {
            NeedState::Present => {}
            NeedState::Absent(r) | NeedState::Failed(r) => missing.push(r),
        }
    }
    if !inputs.any_of.is_empty() {
        let states: Vec<NeedState> = inputs.any_of.iter().map(|n| cx.snap.need_state(n)).collect();
        if !states.contains(&NeedState::Present) {
            let reasons: Vec<String> = states
                .into_iter()
                .map(|s| match s {
                    NeedState::Absent(r) | NeedState::Failed(r) => r,
                    NeedState::Present => String::new(),
                })
                .collect();
            missing.push(format!(
                "none of the inputs it reads is present ({})",
                reasons.join("; ")
            ));
        }
    }
    if missing.is_empty() {
        (result(Outcome::Clean, None), Vec::new())
    } else {
        (result(Outcome::Skipped, Some(missing.join("; "))), Vec::new())
    }
}

/// Pods and ReplicaSets by (namespace, name): what [`scope_of`] reads to give a pod its owners
/// and node.
struct Owners<'a> {
    pods: HashMap<(&'a str, &'a str), &'a crate::k8s::Pod>,
    replicasets: HashMap<(&'a str, &'a str), &'a crate::k8s::ReplicaSet>,
}

impl<'a> Owners<'a> {
    /// The pods the findings name (their subject or evidence, as [`scope_of`] reads them) and
    /// the ReplicaSets that own those: a handful, where a map of every pod (50,000) cost more
    /// than the rules.
    fn of(snap: &'a Snapshot, findings: &[Finding]) -> Owners<'a> {
        let mut wanted: Vec<(String, String)> = Vec::new();
        for f in findings {
            let named = std::iter::once(f.subject.clone())
                .filter(|s| s.kind != "Cluster")
                .chain(
                    f.evidence
                        .iter()
                        .filter_map(|e| e.object.as_deref().and_then(Subject::parse_ref)),
                );
            for s in named.filter(|s| s.kind == "Pod") {
                wanted.push((s.namespace.unwrap_or_else(|| "default".into()), s.name));
            }
        }
        wanted.sort();
        wanted.dedup();
        let is_wanted = |w: &[(String, String)], k: (&str, &str)| {
            w.binary_search_by(|(n, m)| (n.as_str(), m.as_str()).cmp(&k)).is_ok()
        };
        let key = |m: &'a crate::k8s::ObjectMeta| (m.namespace.as_deref().unwrap_or("default"), m.name.as_str());
        let pods: HashMap<(&'a str, &'a str), &'a crate::k8s::Pod> = snap
            .pods
            .iter()
            .filter(|p| is_wanted(&wanted, key(&p.metadata)))
            .map(|p| (key(&p.metadata), &p.item))
            .collect();
        let mut owning: Vec<(String, String)> = Vec::new();
        for ((ns, _), p) in &pods {
            for o in p.metadata.owner_references.iter().filter(|o| o.kind == "ReplicaSet") {
                owning.push((ns.to_string(), o.name.to_string()));
            }
        }
        owning.sort();
        owning.dedup();
        Owners {
            pods,
            replicasets: snap
                .replicasets
                .iter()
                .filter(|r| is_wanted(&owning, key(&r.metadata)))
                .map(|r| (key(&r.metadata), &r.item))
                .collect(),
        }
    }
}

/// A finding's [`Scope`]: its subject and the objects its evidence names (events are evidence,
/// not objects a finding is about), the owners of the pods among them (ReplicaSet, then its
/// Deployment) and the nodes they run on, and the codes its rule explains.
fn scope_of(f: &Finding, owners: &Owners, explains: &[&str]) -> Scope {
    let mut objects: Vec<Subject> = Vec::new();
    if f.subject.kind != "Cluster" {
        objects.push(f.subject.clone());
    }
    objects.extend(
        f.evidence
            .iter()
            .filter_map(|e| e.object.as_deref().and_then(Subject::parse_ref))
            .filter(|s| s.kind != "Event"),
    );
    let mut nodes = Vec::new();
    let pods: Vec<Subject> = objects.iter().filter(|s| s.kind == "Pod").cloned().collect();
    for s in pods {
        let ns = s.namespace.as_deref().unwrap_or("default");
        let Some(pod) = owners.pods.get(&(ns, s.name.as_str())) else {
            continue;
        };
        nodes.extend(pod.node().map(str::to_string));
        for o in &pod.metadata.owner_references {
            objects.push(Subject::new(&o.kind, Some(ns), &o.name));
            if o.kind != "ReplicaSet" {
                continue;
            }
            if let Some(rs) = owners.replicasets.get(&(ns, o.name.as_str())) {
                for d in &rs.metadata.owner_references {
                    objects.push(Subject::new(&d.kind, Some(ns), &d.name));
                }
            }
        }
    }
    objects.sort();
    objects.dedup();
    nodes.sort();
    nodes.dedup();
    Scope {
        objects,
        nodes,
        explains: explains.iter().map(|c| c.to_string()).collect(),
        workload: workload_of(&f.subject, owners),
    }
}

/// The workload that owns a pod subject, by a name that survives a rollout: a ReplicaSet's
/// Deployment (from the ReplicaSet's owner; when the bundle lacks the ReplicaSet, its name less
/// the pod's `pod-template-hash` label, as Kubernetes names it, or less a last part that looks
/// like one: 6 to 10 lowercase letters and digits, a digit among them), else the pod's
/// controller (a DaemonSet, Job, ReplicaSet). A StatefulSet's pod keeps its own stable name
/// (`web-0`), so none.
fn workload_of(subject: &Subject, owners: &Owners) -> Option<Subject> {
    if subject.kind != "Pod" {
        return None;
    }
    let ns = subject.namespace.as_deref().unwrap_or("default");
    let pod = owners.pods.get(&(ns, subject.name.as_str()))?;
    let o = pod.metadata.owner_references.first()?;
    if o.kind == "StatefulSet" {
        return None;
    }
    if o.kind == "ReplicaSet" {
        if let Some(rs) = owners.replicasets.get(&(ns, o.name.as_str())) {
            if let Some(d) = rs.metadata.owner_references.first() {
                return Some(Subject::new(&d.kind, Some(ns), &d.name));
            }
        } else {
            let hash = pod
                .metadata
                .labels
                .get("pod-template-hash")
                .map(|h| h.to_string())
                .or_else(|| {
                    o.name
                        .rsplit_once('-')
                        .map(|(_, h)| h)
                        .filter(|h| {
                            (6..=10).contains(&h.len())
                                && h.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                                && h.bytes().any(|b| b.is_ascii_digit())
                        })
                        .map(str::to_string)
                });
            if let Some(d) = hash
                .as_deref()
                .and_then(|h| o.name.strip_suffix(h))
                .and_then(|d| d.strip_suffix('-'))
                .filter(|d| !d.is_empty())
            {
                return Some(Subject::new("Deployment", Some(ns), d));
            }
        }
    }
    Some(Subject::new(&o.kind, Some(ns), &o.name))
}

/// Run the selected rules over a snapshot.
pub fn run(snap: &Snapshot, sigs: &SignatureSet, rules: &[Box<dyn Rule>], opts: &Options) -> Analysis {
    let facts = Facts::derive(snap);
    let hits = collect_hits(snap, sigs);
    let selected: Vec<&dyn Rule> = rules
        .iter()
        .map(|r| r.as_ref())
        .filter(|r| opts.selects(r.code()))
        .collect();
    let selected_codes: Vec<String> = selected.iter().map(|r| r.code().to_string()).collect();
    let explains: std::collections::BTreeMap<&str, &[&str]> =
        selected.iter().map(|r| (r.code(), r.explains())).collect();
    let mut done: Vec<String> = Vec::new();
    let mut pending: Vec<&dyn Rule> = selected;
    let mut findings: Vec<Finding> = Vec::new();
    let mut results: Vec<RuleResult> = Vec::new();
    while !pending.is_empty() {
        let (ready, rest): (Vec<&dyn Rule>, Vec<&dyn Rule>) = pending.into_iter().partition(|r| {
            r.after()
                .iter()
                .all(|c| done.iter().any(|d| d == c) || !selected_codes.iter().any(|s| s == c))
        });
        // A dependency cycle would leave nothing ready: run the rest regardless.
        let (ready, rest) = if ready.is_empty() {
            (rest, Vec::new())
        } else {
            (ready, rest)
        };
        let cx = Context {
            snap,
            facts: &facts,
            sigs,
            hits: &hits,
            prior: &findings,
        };
        let wave: Vec<(RuleResult, Vec<Finding>)> = ready.par_iter().map(|r| run_one(*r, &cx)).collect();
        for (res, f) in wave {
            done.push(res.code.clone());
            results.push(res);
            findings.extend(f);
        }
        pending = rest;
    }
    let owners = Owners::of(snap, &findings);
    for f in &mut findings {
        f.normalize();
        f.scope = scope_of(f, &owners, explains.get(f.code.as_str()).copied().unwrap_or(&[]));
    }
    findings.retain(|f| f.severity.rank() >= opts.min_severity.rank());
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    results.sort_by(|a, b| a.code.cmp(&b.code));
    Analysis {
        facts,
        findings,
        rules: results,
    }
}
