//! K8S008 certificate-expired (error)
//!
//! What it detects: `x509: certificate has expired or is not yet valid` in a log line, an
//! event or an object's condition.
//!
//! Why it matters: TLS between components fails: webhooks, the Arc agents' connection to Azure,
//! Flux fetching from a Git server, envoy sidecars. Clock skew on a node gives the same error
//! ("not yet valid").
//!
//! Evidence: every line or message with the error, grouped by the pod or object it came from.
//!
//! Fix: renew the certificate named in the message (or let its owner rotate it); check the
//! node clocks (NTP) when the certificate is "not yet valid".

use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::declarative::subject_of;
use crate::rules::{finding, Context, Hit, Inputs, Rule};
use std::collections::BTreeMap;

pub struct CertificateExpired;

impl Rule for CertificateExpired {
    crate::rule_meta!("K8S008", "certificate-expired", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            any_of: vec![Need::Logs("*"), Need::Resource("events")],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut groups: BTreeMap<Subject, Vec<&Hit>> = BTreeMap::new();
        for h in cx.hits_for("K8S008") {
            groups.entry(subject_of(h)).or_default().push(h);
        }
        groups
            .into_iter()
            .map(|(subject, hits)| {
                let mut f = finding(
                    self,
                    subject.clone(),
                    format!("{subject} reports an expired or not-yet-valid certificate"),
                    format!("{} occurrence(s); first: {}", hits.len(), hits[0].evidence.excerpt),
                );
                f.evidence = hits.iter().map(|h| h.evidence.clone()).collect();
                f.fix.push(
                    "renew the certificate named in the message, or restart its owner so it re-issues one".into(),
                );
                f.fix
                    .push("if the certificate is not yet valid, check the node clocks (NTP)".into());
                f
            })
            .collect()
    }
}
