//! Rules defined only by signatures (built-in `signatures.yaml` or `--rules FILE.yaml`): every
//! hit of a signature with the rule's code is evidence; hits are grouped into one finding per
//! subject (the pod of a log, the object of an event or condition, the Azure resource). Knows no
//! signature by name: everything comes from the signature set.

use super::{finding, Context, Hit, Inputs, Origin, Rule};
use crate::finding::{Finding, Severity, Subject};
use crate::model::Need;
use crate::signatures::{Place, SignatureSet};
use std::collections::BTreeMap;

pub struct SignatureRule {
    code: String,
    name: String,
    severity: Severity,
    title: String,
    fix: Vec<String>,
    doc: String,
    places: Vec<Place>,
}

pub fn from_signatures(sigs: &SignatureSet, rust_codes: &[String]) -> Vec<Box<dyn Rule>> {
    let mut by_code: BTreeMap<String, SignatureRule> = BTreeMap::new();
    for s in &sigs.sigs {
        if rust_codes.contains(&s.code) {
            continue;
        }
        let entry = by_code.entry(s.code.clone()).or_insert_with(|| SignatureRule {
            code: s.code.clone(),
            name: s.name.clone().unwrap_or_default(),
            severity: s.severity.unwrap_or(Severity::Warning),
            title: s.title.clone().unwrap_or_default(),
            fix: s.fix.clone(),
            doc: String::new(),
            places: Vec::new(),
        });
        if let Some(d) = &s.doc {
            if entry.doc.is_empty() {
                entry.doc = d.trim().to_string();
            }
        }
        for p in &s.places {
            if !entry.places.contains(p) {
                entry.places.push(*p);
            }
        }
    }
    by_code
        .into_values()
        .map(|mut r| {
            r.places.sort();
            if r.doc.is_empty() {
                r.doc = format!(
                    "{} {} ({})\n\nWhat it detects: {}\n\nDefined by signatures in a rules file (listed below).",
                    r.code,
                    r.name,
                    r.severity.as_str(),
                    r.title
                );
            }
            Box::new(r) as Box<dyn Rule>
        })
        .collect()
}

/// Replace `{capture}` in a template with the hit's captures.
pub fn fill(template: &str, caps: &BTreeMap<String, String>) -> String {
    let mut out = template.to_string();
    for (k, v) in caps {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

pub fn subject_of(hit: &Hit) -> Subject {
    match &hit.origin {
        Origin::Log { namespace, pod, .. } => Subject::new("Pod", Some(namespace), pod),
        Origin::Event {
            namespace,
            involved_kind,
            involved_name,
            ..
        } => Subject::new(
            involved_kind,
            Some(namespace).filter(|n| !n.is_empty()).map(|s| s.as_str()),
            involved_name,
        ),
        Origin::Object {
            kind, namespace, name, ..
        } => Subject::new(kind, namespace.as_deref(), name),
        Origin::Az { slug, name } => Subject::new(
            if slug.starts_with("k8s-extension") {
                "Extension"
            } else {
                "AzureResource"
            },
            None,
            name,
        ),
    }
}

impl Rule for SignatureRule {
    fn code(&self) -> &str {
        &self.code
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn doc(&self) -> String {
        self.doc.clone()
    }
    fn inputs(&self) -> Inputs {
        let mut any_of = Vec::new();
        for p in &self.places {
            match p {
                Place::Logs => any_of.push(Need::Logs("*")),
                Place::Events => any_of.push(Need::Resource("events")),
                Place::Conditions => any_of.push(Need::Resource("pods")),
                Place::Az => any_of.push(Need::Az("*")),
            }
        }
        Inputs {
            any_of,
            ..Inputs::default()
        }
    }
    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut groups: BTreeMap<Subject, Vec<&Hit>> = BTreeMap::new();
        for h in cx.hits_for(&self.code) {
            groups.entry(subject_of(h)).or_default().push(h);
        }
        groups
            .into_iter()
            .map(|(subject, hits)| {
                let caps = &hits[0].captures;
                let title = fill(&self.title, caps);
                let message = format!(
                    "{} matching line(s) or message(s); first: {}",
                    hits.len(),
                    hits[0].evidence.excerpt
                );
                let mut f = finding(self, subject, title, message);
                f.evidence = hits.iter().map(|h| h.evidence.clone()).collect();
                f.fix = self.fix.iter().map(|t| fill(t, caps)).collect();
                f
            })
            .collect()
    }
}
