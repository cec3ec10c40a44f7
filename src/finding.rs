//! Findings, evidence and severities: the values every rule returns and every report renders.
//! Ordering here is what makes output deterministic (severity, code, subject).

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

/// Shorten a line of text for an excerpt, on a character boundary.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut s = String::new();
    push_excerpt(&mut s, text, max_chars);
    s
}

/// An excerpt of `max_chars` characters of `text` that shows its bytes `start..end` (a signature's
/// match): a window around the match, `…` on each side that was cut (as [`excerpt`] adds one). A match past the
/// first `max_chars` characters is what the excerpt is for, so it is never cut away.
pub fn excerpt_around(text: &str, start: usize, end: usize, max_chars: usize) -> String {
    let t = text.trim_end_matches(['\r', '\n']);
    if t.len() <= max_chars || t.chars().count() <= max_chars {
        return t.to_string();
    }
    // Character indices of the match (byte offsets clamped onto char boundaries).
    let floor = |i: usize| (0..=i.min(t.len())).rev().find(|&b| t.is_char_boundary(b)).unwrap_or(0);
    let (start, end) = (floor(start), floor(end));
    let end = end.max(start);
    let cs = t[..start].chars().count();
    let ce = cs + t[start..end].chars().count();
    let total = t.chars().count();
    let len = ce - cs;
    // `max_chars` characters of the text, as [`excerpt`] keeps; the `…` markers come on top.
    let room = max_chars.max(1);
    let from = if len >= room {
        cs
    } else {
        cs.saturating_sub((room - len) / 2).min(total.saturating_sub(room))
    };
    let to = (from + room).min(total);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(t.chars().skip(from).take(to - from));
    if to < total {
        out.push('…');
    }
    out
}

/// [`excerpt`], appended to `out`.
pub fn push_excerpt(out: &mut String, text: &str, max_chars: usize) {
    let t = text.trim_end_matches(['\r', '\n']);
    // No more bytes than characters allowed: nothing to count (most log lines).
    if t.len() <= max_chars || t.chars().count() <= max_chars {
        out.push_str(t);
        return;
    }
    out.extend(t.chars().take(max_chars));
    out.push('…');
}

#[cfg(test)]
mod excerpt_tests {
    use super::*;

    #[test]
    fn a_match_past_the_cut_is_shown_with_ellipses() {
        let text = format!(
            "{{\"level\":\"error\",\"msg\":\"{}webhook does not support dry run{}\"}}",
            "x".repeat(400),
            "y".repeat(400)
        );
        let at = text.find("does not support dry run").expect("in text");
        let e = excerpt_around(&text, at, at + 24, 300);
        assert!(e.contains("does not support dry run"), "{e}");
        assert!(e.starts_with('…') && e.ends_with('…'), "{e}");
        assert_eq!(e.chars().count(), 302);
    }

    #[test]
    fn short_text_whole_and_edges_cut_on_one_side() {
        assert_eq!(excerpt_around("short line\n", 0, 5, 300), "short line");
        let text = format!("x509: certificate has expired {}", "z".repeat(500));
        let e = excerpt_around(&text, 0, 29, 100);
        assert!(
            e.starts_with("x509: certificate has expired") && e.ends_with('…'),
            "{e}"
        );
        let text = format!("{} x509: certificate has expired", "é".repeat(500));
        let at = text.find("x509").expect("in text");
        let e = excerpt_around(&text, at, text.len(), 100);
        assert!(e.starts_with('…') && e.ends_with("has expired"), "{e}");
        assert_eq!(e.chars().count(), 101);
    }

    #[test]
    fn a_match_longer_than_the_window_starts_at_the_match() {
        let text = format!("{}{}", "a".repeat(50), "M".repeat(500));
        let e = excerpt_around(&text, 50, 550, 100);
        assert!(e.starts_with("…M") && e.ends_with('…'), "{e}");
    }
}
