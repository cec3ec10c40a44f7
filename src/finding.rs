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

/// A pointer from one finding to another that explains or is explained by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Related {
    pub code: String,
    pub subject: String,
    pub title: String,
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
    pub fix: Vec<String>,
    pub related: Vec<Related>,
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
        self.related.sort();
        self.related.dedup();
    }
}
