//! The `Rule` trait, the registry (sorted by code) and what a rule sees (`Context`).
//!
//! One rule per file under `flux/`, `ext/`, `ama/`, `osm/`, `k8s/`. A rule file opens with a `//!`
//! doc comment; that text is what `arcdiag explain CODE` prints (see [`doc_of_module`]; `build.rs` extracts it).
//! Signatures from `signatures.yaml` whose code is not a Rust rule become [`declarative`] rules.
//! Rules read the typed views (`model`), the facts and the signature hits; they know no bundle
//! layout (inputs are logical ids such as `kubectl/namespaces/<ns>/pods`), never format output and
//! never print. Helpers that rule files of a family share live in the family's `mod.rs` (or a file
//! the family owns), never in a rule file.

pub mod ama;
pub mod declarative;
pub mod ext;
pub mod flux;
pub mod k8s;
pub mod osm;

use crate::bundle::Src;
use crate::facts::Facts;
use crate::finding::{Evidence, Finding, Severity, Subject};
use crate::model::{Need, Snapshot};
use crate::signatures::SignatureSet;
use crate::text::excerpt;
use std::collections::BTreeMap;

/// What inputs a rule reads.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// All must be present for the rule to say `clean`.
    pub required: Vec<Need>,
    /// At least one must be present for the rule to say `clean`.
    pub any_of: Vec<Need>,
    /// Add evidence or precision; never cause a skip.
    pub optional: Vec<Need>,
}

/// Whether the component a rule is about is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applies {
    Yes,
    No(String),
    /// Nothing collected can tell whether the component is installed: the rule does not run and
    /// is `skipped` with this reason (a missing object is no evidence when the component may be
    /// absent).
    Unknown(String),
}

pub trait Rule: Send + Sync {
    fn code(&self) -> &str;
    fn name(&self) -> &str;
    fn severity(&self) -> Severity;
    /// The full text of `arcdiag explain`.
    fn doc(&self) -> String;
    fn inputs(&self) -> Inputs {
        Inputs::default()
    }
    /// Codes whose findings this rule reads (through `Context::prior`): it runs after them.
    fn after(&self) -> &[&str] {
        &[]
    }
    /// Codes of the findings this rule's findings explain when both concern the same object (a
    /// pod, its owner, an extension; a node for a rule about nodes): the one place rule knowledge
    /// enters the incident grouping (`report::incidents`), where such findings go under this
    /// one. A rule that reads its causes' findings says so the other way, with `after` and the
    /// finding's `related`.
    fn explains(&self) -> &[&str] {
        &[]
    }
    fn applies(&self, _cx: &Context) -> Applies {
        Applies::Yes
    }
    fn check(&self, cx: &Context) -> Vec<Finding>;
}

/// Where a signature hit was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Log {
        namespace: String,
        pod: String,
        container: String,
        previous: bool,
    },
    /// An event; `involved` is `Kind/ns/name` of the involved object.
    Event {
        namespace: String,
        involved_kind: String,
        involved_name: String,
        reason: String,
    },
    /// A message field of an object (conditions, status message, constraint violations).
    Object {
        resource: String,
        kind: String,
        namespace: Option<String>,
        name: String,
    },
    /// An `az` output: the slug and the resource's name.
    Az { slug: String, name: String },
}

/// One match of a signature, with its evidence.
#[derive(Debug, Clone)]
pub struct Hit {
    pub sig: usize,
    pub sig_id: String,
    pub code: String,
    pub captures: BTreeMap<String, String>,
    pub text: String,
    pub origin: Origin,
    pub evidence: Evidence,
}

/// Everything a rule may read.
pub struct Context<'a> {
    pub snap: &'a Snapshot,
    pub facts: &'a Facts,
    pub sigs: &'a SignatureSet,
    pub hits: &'a [Hit],
    /// Findings of the rules named in `Rule::after`.
    pub prior: &'a [Finding],
}

impl<'a> Context<'a> {
    /// Hits of signatures that carry this code.
    pub fn hits_for(&self, code: &'a str) -> impl Iterator<Item = &'a Hit> + 'a {
        self.hits.iter().filter(move |h| h.code == code)
    }
    /// Hits of one signature id.
    pub fn hits_of(&self, id: &'a str) -> impl Iterator<Item = &'a Hit> + 'a {
        self.hits.iter().filter(move |h| h.sig_id == id)
    }
    pub fn prior_of(&self, code: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.prior.iter().filter(move |f| f.code == code)
    }
}

/// Start a finding for a rule.
pub fn finding(rule: &dyn Rule, subject: Subject, title: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding {
        code: rule.code().to_string(),
        name: rule.name().to_string(),
        severity: rule.severity(),
        title: title.into(),
        message: message.into(),
        subject,
        evidence: Vec::new(),
        evidence_omitted: 0,
        fix: Vec::new(),
        related: Vec::new(),
        scope: Default::default(),
    }
}

/// Evidence that points at an object's field.
pub fn obj_evidence(src: &Src, object: String, field: &str, text: &str) -> Evidence {
    Evidence {
        path: src.path.to_string(),
        line: None,
        object: Some(object),
        field: if field.is_empty() {
            None
        } else {
            Some(field.to_string())
        },
        excerpt: excerpt(text, 300),
    }
}

/// Evidence that points at a log line.
pub fn log_evidence(path: &str, line: u64, text: &str) -> Evidence {
    Evidence {
        path: path.to_string(),
        line: Some(line),
        object: None,
        field: None,
        excerpt: excerpt(text, 300),
    }
}

/// Evidence for a signature's match in a log line: the excerpt is a window around the match
/// (`regex` run again on the kept line, or on its decoded JSON values when only those matched),
/// so a long JSON line never loses the text that matched.
pub fn log_match_evidence(path: &str, line: u64, text: &str, decoded: Option<&str>, regex: &regex::Regex) -> Evidence {
    let mut e = log_evidence(path, line, text);
    e.excerpt = match_excerpt(text, regex)
        .or_else(|| decoded.and_then(|d| match_excerpt(d, regex)))
        .unwrap_or(e.excerpt);
    e
}

/// Evidence for a signature's match in an object's field (an event message, a condition).
pub fn obj_match_evidence(src: &Src, object: String, field: &str, text: &str, regex: &regex::Regex) -> Evidence {
    let mut e = obj_evidence(src, object, field, text);
    if let Some(x) = match_excerpt(text, regex) {
        e.excerpt = x;
    }
    e
}

/// The 300-character excerpt of `text` around `regex`'s first match, if it matches.
fn match_excerpt(text: &str, regex: &regex::Regex) -> Option<String> {
    let m = regex.find(text)?;
    Some(crate::text::excerpt_around(text, m.start(), m.end(), 300))
}

pub use crate::text::CITED_LOG_LINES;

/// Cite why a container is not healthy: its waiting state, its last termination (reason, exit
/// code, restart count) and the last lines of its previous log (or current log) when the bundle
/// has them. `field` is the status's field path (`status.containerStatuses[0]`).
pub fn cite_container_status(
    cx: &Context,
    p: &crate::model::Obj<crate::k8s::Pod>,
    field: &str,
    cs: &crate::k8s::ContainerStatus,
    f: &mut Finding,
) {
    let pref = crate::model::object_ref("Pod", Some(p.ns()), &p.metadata.name);
    let container = cs.name.as_str();
    if let Some(w) = &cs.state.waiting {
        f.evidence.push(obj_evidence(
            &p.src,
            pref.clone(),
            &format!("{field}.state.waiting"),
            format!(
                "{}: {}",
                w.reason.as_deref().unwrap_or(""),
                w.message.as_deref().unwrap_or("")
            )
            .trim_end_matches([' ', ':']),
        ));
    }
    if let Some(t) = &cs.last_state.terminated {
        f.evidence.push(obj_evidence(
            &p.src,
            pref.clone(),
            &format!("{field}.lastState.terminated"),
            &format!(
                "reason {} exitCode {} restartCount {}{}",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code,
                cs.restart_count,
                t.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
            ),
        ));
    } else if let Some(t) = &cs.state.terminated {
        f.evidence.push(obj_evidence(
            &p.src,
            pref.clone(),
            &format!("{field}.state.terminated"),
            &format!(
                "reason {} exitCode {} restartCount {}",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code,
                cs.restart_count
            ),
        ));
    } else {
        f.evidence.push(obj_evidence(
            &p.src,
            pref.clone(),
            &format!("{field}.ready"),
            &format!("ready {} restartCount {}", cs.ready, cs.restart_count),
        ));
    }
    if let Some(log) = cx.snap.last_log_of(p.ns(), &p.metadata.name, container) {
        let tail = &log.scan.tail;
        let lines: Vec<(usize, &str)> = tail.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
        let skip = lines.len().saturating_sub(CITED_LOG_LINES);
        for (i, line) in lines.into_iter().skip(skip) {
            f.evidence
                .push(log_evidence(&log.path, log.scan.tail_first_line + i as u64, line));
        }
    }
}

mod docs {
    include!(concat!(env!("OUT_DIR"), "/rule_docs.rs"));
}

/// The `//!` doc of the rule file whose module path (as `module_path!()` gives it) is `module`;
/// `build.rs` extracts the docs, so only they are embedded, not the rules' sources.
pub fn doc_of_module(module: &str) -> String {
    // `arcdiag::rules::flux::foo` → `rules::flux::foo`: the crate's own name is not part of the key.
    let key = module.split_once("::").map_or(module, |(_, rest)| rest);
    docs::RULE_DOCS
        .binary_search_by(|(m, _)| (*m).cmp(key))
        .map(|i| docs::RULE_DOCS[i].1.to_string())
        .unwrap_or_default()
}

/// The current rule file's `//!` doc (see [`doc_of_module`]).
#[macro_export]
macro_rules! rule_doc {
    () => {
        $crate::rules::doc_of_module(module_path!())
    };
}

/// Declares a unit struct rule's identity in one line.
#[macro_export]
macro_rules! rule_meta {
    ($code:literal, $name:literal, $sev:ident) => {
        fn code(&self) -> &str {
            $code
        }
        fn name(&self) -> &str {
            $name
        }
        fn severity(&self) -> $crate::finding::Severity {
            $crate::finding::Severity::$sev
        }
        fn doc(&self) -> String {
            $crate::rule_doc!()
        }
    };
}

/// The Rust rules, sorted by code.
pub fn rust_rules() -> Vec<Box<dyn Rule>> {
    let mut v: Vec<Box<dyn Rule>> = Vec::new();
    v.extend(k8s::all());
    v.extend(flux::all());
    v.extend(ext::all());
    v.extend(osm::all());
    v.extend(ama::all());
    v.sort_by(|a, b| a.code().cmp(b.code()));
    v
}

pub fn rust_codes() -> Vec<&'static str> {
    // Codes are literals in each rule; collect them once.
    static CODES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    CODES
        .get_or_init(|| {
            rust_rules()
                .iter()
                .map(|r| &*Box::leak(r.code().to_string().into_boxed_str()))
                .collect()
        })
        .clone()
}

/// Every rule: the Rust rules plus one declarative rule per signature code without Rust code.
pub fn registry(sigs: &SignatureSet) -> Vec<Box<dyn Rule>> {
    let mut v = rust_rules();
    let rust: Vec<String> = v.iter().map(|r| r.code().to_string()).collect();
    v.extend(declarative::from_signatures(sigs, &rust));
    v.sort_by(|a, b| a.code().cmp(b.code()));
    v
}

/// The first sentence of a rule's "What it detects" paragraph, for the catalog.
pub fn summary_of(doc: &str) -> String {
    let mut paragraph = String::new();
    for line in doc.lines().skip(1) {
        let l = line.trim();
        if l.is_empty() {
            if paragraph.is_empty() {
                continue;
            }
            break;
        }
        if !paragraph.is_empty() {
            paragraph.push(' ');
        }
        paragraph.push_str(l);
    }
    let p = paragraph.strip_prefix("What it detects:").unwrap_or(&paragraph).trim();
    match p.find(". ") {
        Some(i) => p[..=i].to_string(),
        None => p.to_string(),
    }
}

/// The codes closest to `want` (same family first), at most `n`.
pub fn nearest(want: &str, codes: &[&str], n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = codes
        .iter()
        .map(|c| {
            let family_bonus = match want.get(..3) {
                Some(prefix) if c.starts_with(prefix) => 0,
                _ => 2,
            };
            (strsim::levenshtein(want, c) + family_bonus, *c)
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .filter(|(d, _)| *d <= 4)
        .take(n)
        .map(|(_, c)| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The built-in signatures are checked here, where the Rust codes they may name are known.
    #[test]
    fn builtin_signatures_compile_and_are_escape_safe() {
        use crate::signatures::Place;
        let codes = rust_codes();
        let set = SignatureSet::load(&[], &codes).expect("built-in signatures");
        assert!(!set.sigs.is_empty());
        // the built-in signatures all have plain runs: no line is unescaped unless it is a candidate
        assert!(set.log.escape_safe);
        // messages are prefiltered too, and an escape inside a literal does not hide a match
        assert!(set.prefilters_text());
        assert!(set.match_text("Back-off pulling image", Place::Events).is_empty());
        let m = set.match_text(
            r#"Internal error occurred: failed calling webhook \u0022v.example.io\u0022: x509: certificate has expired or is not yet valid"#,
            Place::Events,
        );
        assert!(
            m.iter()
                .any(|m| m.captures.get("webhook").map(String::as_str) == Some("v.example.io")),
            "{m:?}"
        );
    }
}
