//! K8S008 certificate-expired (error)
//!
//! What it detects: `x509: certificate has expired or is not yet valid` in a log line, an
//! event or an object's condition.
//!
//! Why it matters: TLS between components fails: webhooks, the Arc agents' connection to Azure,
//! Flux fetching from a Git server, envoy sidecars. Clock skew on a node gives the same error
//! ("not yet valid").
//!
//! Evidence: every line or message with the error, one finding per certificate: the host of the
//! URL the error is about and the validity bound Go prints (`current time T is after NOTAFTER`:
//! expired; `is before NOTBEFORE`: not yet valid) when the message gives them, else the message
//! itself. One expired certificate logged by 30 pods is one finding that lists the pods.
//!
//! Fix: renew the certificate named in the message (or let its owner rotate it); check the
//! node clocks (NTP) when the certificate is "not yet valid".

use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::declarative::subject_of;
use crate::rules::{finding, Context, Hit, Inputs, Rule};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub struct CertificateExpired;

const SIGNATURE: &str = "x509: certificate has expired or is not yet valid";

/// What identifies a certificate in an error: `(host, bound)`, where bound is `notAfter=T` or
/// `notBefore=T`; else the text after the signature without Go's varying `current time ...`.
fn certificate_of(text: &str) -> String {
    static URL: OnceLock<Option<Regex>> = OnceLock::new();
    static BOUND: OnceLock<Option<Regex>> = OnceLock::new();
    let url = URL
        .get_or_init(|| Regex::new(r"(?:https?|wss?|oci)://([A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?)").ok())
        .as_ref();
    let bound = BOUND
        .get_or_init(|| Regex::new(r"is (after|before) ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z)").ok())
        .as_ref();
    let at = text.find(SIGNATURE).unwrap_or(text.len());
    let (before, after) = text.split_at(at);
    // The URL the error is about is the last one before the error.
    let host = url.and_then(|r| r.captures_iter(before).last()).and_then(|c| c.get(1));
    let limit = bound.and_then(|r| r.captures(after));
    match (host, limit) {
        (h, Some(c)) => {
            let which = if &c[1] == "after" { "notAfter" } else { "notBefore" };
            match h {
                Some(h) => format!("{} {which}={}", h.as_str(), &c[2]),
                None => format!("{which}={}", &c[2]),
            }
        }
        (Some(h), None) => h.as_str().to_string(),
        (None, None) => {
            let rest = after.get(SIGNATURE.len()..).unwrap_or("");
            let rest = rest.trim_start_matches([':', ' ']);
            let cut: String = rest
                .chars()
                .take_while(|c| !matches!(c, '"' | '\\' | '}'))
                .take(80)
                .collect();
            if cut.trim().is_empty() {
                "unnamed certificate".into()
            } else {
                cut.trim().to_string()
            }
        }
    }
}

impl Rule for CertificateExpired {
    crate::rule_meta!("K8S008", "certificate-expired", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            any_of: vec![Need::Logs("*"), Need::Resource("events")],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut groups: BTreeMap<String, Vec<&Hit>> = BTreeMap::new();
        for h in cx.hits_for("K8S008") {
            groups.entry(certificate_of(&h.text)).or_default().push(h);
        }
        groups
            .into_iter()
            .map(|(cert, hits)| {
                let mut seen_by: Vec<String> = hits.iter().map(|h| subject_of(h).to_string()).collect();
                seen_by.sort();
                seen_by.dedup();
                let (host, bound) = match cert.split_once(' ') {
                    Some((h, b)) if b.starts_with("not") => (Some(h), b),
                    _ if cert.starts_with("not") => (None, cert.as_str()),
                    _ => (None, ""),
                };
                let of = host
                    .map(|h| format!("the certificate of {h}"))
                    .unwrap_or_else(|| "a certificate".into());
                let what = match bound.split_once('=') {
                    Some(("notAfter", t)) => format!("{of} expired at {t}"),
                    Some(("notBefore", t)) => format!("{of} is not valid before {t}"),
                    _ => format!("certificate expired or not yet valid: {cert}"),
                };
                let mut f = finding(
                    self,
                    Subject::new("Certificate", None, &cert),
                    format!(
                        "{what} (reported by {} {})",
                        seen_by.len(),
                        if seen_by.len() == 1 { "object" } else { "objects" }
                    ),
                    format!(
                        "{} occurrence(s), reported by {}; first: {}",
                        hits.len(),
                        seen_by.join(", "),
                        hits[0].evidence.excerpt
                    ),
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

#[cfg(test)]
mod tests {
    use super::certificate_of;

    #[test]
    fn a_certificate_is_its_host_and_bound_else_its_message() {
        let go = "Get \"https://git.contoso.internal/x/info/refs\": x509: certificate has expired or is not yet valid: current time 2026-11-25T16:40:01Z is after 2026-11-01T00:00:00Z";
        assert_eq!(certificate_of(go), "git.contoso.internal notAfter=2026-11-01T00:00:00Z");
        let early = "Post https://10.0.0.1:443/v1: x509: certificate has expired or is not yet valid: current time 2026-11-25T16:40:01Z is before 2026-12-01T00:00:00Z";
        assert_eq!(certificate_of(early), "10.0.0.1:443 notBefore=2026-12-01T00:00:00Z");
        assert_eq!(
            certificate_of("tls: x509: certificate has expired or is not yet valid"),
            "unnamed certificate"
        );
        assert_eq!(
            certificate_of("x509: certificate has expired or is not yet valid: the CA of mesh osm\"}"),
            "the CA of mesh osm"
        );
    }
}
