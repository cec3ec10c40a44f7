//! Findings, evidence and severities: the values every rule returns and every report renders.
//! Ordering here is what makes output deterministic (severity, code, subject). A leaf like `k8s`
//! and `text`: it imports nothing of the crate and knows no rule, bundle layout or output format.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
    /// Higher is more severe.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Error => 3,
            Severity::Warning => 2,
            Severity::Info => 1,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about: a Kubernetes object, an Azure resource, or the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Subject {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl Subject {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Subject {
        Subject {
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }
    pub fn cluster() -> Subject {
        Subject::new("Cluster", None, "cluster")
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Where a finding's proof sits: a bundle path (and line for logs), or an object and field.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub excerpt: String,
}

impl Evidence {
    pub fn location(&self) -> String {
        let mut s = self.path.clone();
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
        }
        match (&self.object, &self.field) {
            (Some(o), Some(f)) => s.push_str(&format!(" ({o} {f})")),
            (Some(o), None) => s.push_str(&format!(" ({o})")),
            (None, Some(f)) => s.push_str(&format!(" ({f})")),
            (None, None) => {}
        }
        s
    }
}

/// A pointer from the finding that holds it to a finding that explains it (a cause): EXT002 lists
/// the K8S findings of its unready pods, FLX002 the cause rules that fired. The incident grouping
/// (`report::incidents`) reads it so.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Related {
    pub code: String,
    pub subject: String,
    pub title: String,
}

/// Evidence kept per finding: a certificate error logged by thousands of pods is one finding,
/// and its first thousand lines say what the rest would (a bundle of 9,000 such logs made one
/// finding of 4.6 million lines and a 780 MB report).
pub const MAX_EVIDENCE: usize = 1000;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: String,
    pub name: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub subject: Subject,
    pub evidence: Vec<Evidence>,
    /// Evidence past [`MAX_EVIDENCE`], counted only.
    #[serde(skip_serializing_if = "is_zero")]
    pub evidence_omitted: usize,
    pub fix: Vec<String>,
    pub related: Vec<Related>,
    /// What the incident grouping matches findings on besides `related`; not part of the JSON
    /// finding (an incident lists the affected objects).
    #[serde(skip)]
    pub scope: Scope,
}

/// The objects a finding concerns and the findings its rule can explain: what groups findings
/// into incidents (`report::incidents`). The engine fills it after the rules ran, from the
/// finding's subject and evidence, the snapshot (a pod's owners and node) and `Rule::explains`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The subject (unless it is the whole cluster), the objects the evidence names (events
    /// aside), and the owners of the pods among them (ReplicaSet, then Deployment), sorted.
    pub objects: Vec<Subject>,
    /// The nodes the pods among `objects` run on, sorted. Only a finding about a node that its
    /// rule says explains the other's code links through them (a node hosts unrelated pods).
    pub nodes: Vec<String>,
    /// Codes whose findings this one explains when they share an object or node
    /// (`Rule::explains`).
    pub explains: Vec<String>,
    /// For a finding about a pod a workload owns, that workload (`Deployment`, through its
    /// ReplicaSet, or the pod's direct owner): a name that survives a rollout, which `diff`
    /// matches the pod's findings by. `None` for any other subject and for a pod with no owner.
    pub workload: Option<Subject>,
}

impl Subject {
    /// `Kind/ns/name` or `Kind/name` (the form evidence names objects in) as a subject; `None` for
    /// anything else (`extension NAME`, free text).
    pub fn parse_ref(s: &str) -> Option<Subject> {
        if s.contains(char::is_whitespace) {
            return None;
        }
        let mut parts = s.splitn(3, '/');
        let kind = parts
            .next()
            .filter(|k| k.starts_with(|c: char| c.is_ascii_uppercase()))?;
        let a = parts.next().filter(|a| !a.is_empty())?;
        match parts.next() {
            Some(name) if !name.is_empty() && !name.contains('/') => Some(Subject::new(kind, Some(a), name)),
            Some(_) => None,
            None => Some(Subject::new(kind, None, a)),
        }
    }
}

impl Finding {
    /// Sort key used everywhere findings are ordered.
    pub fn sort_key(&self) -> (std::cmp::Reverse<u8>, &str, &Subject, &str) {
        (
            std::cmp::Reverse(self.severity.rank()),
            self.code.as_str(),
            &self.subject,
            self.title.as_str(),
        )
    }

    pub fn as_related(&self) -> Related {
        Related {
            code: self.code.clone(),
            subject: self.subject.to_string(),
            title: self.title.clone(),
        }
    }

    /// Drop duplicate evidence (keeping the rule's order) and sort related entries.
    pub fn normalize(&mut self) {
        let mut seen = std::collections::BTreeSet::new();
        self.evidence.retain(|e| seen.insert(e.clone()));
        if self.evidence.len() > MAX_EVIDENCE {
            self.evidence_omitted += self.evidence.len() - MAX_EVIDENCE;
            self.evidence.truncate(MAX_EVIDENCE);
        }
        self.related.sort();
        self.related.dedup();
    }
}
