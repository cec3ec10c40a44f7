//! OSM011 osm-webhook-ca-bundle-missing (error)
//!
//! What it detects: a webhook of `osm-validator-mesh-osm` or `arc-osm-webhook-osm` whose
//! `clientConfig.caBundle` is absent (kubectl omits an empty one) or empty, is not base64, does
//! not decode to a PEM certificate, holds a certificate that is expired or not yet valid at the
//! bundle's collection time, or is shorter than 1000 characters (the guide's threshold for
//! `jq -r '.webhooks[0].clientConfig.caBundle' | wc -c`; a healthy one is about 1800).
//!
//! Why it matters: the API server verifies the webhook's serving certificate with this CA
//! bundle. Without a valid one every call fails (`x509: ...`), so OSM objects are rejected and
//! pods of meshed namespaces get no sidecar or cannot be created.
//!
//! Evidence: the webhook, the caBundle's length, what decoding found (the certificate's subject
//! and validity when it parses).
//!
//! Fix: osm-controller provisions the CA bundle: restart it (`kubectl rollout restart deployment
//! osm-controller -n arc-osm-system`) and check its log for certificate errors.

use super::{applies, webhook_config, MUTATING_WEBHOOK, VALIDATING_WEBHOOK};
use crate::finding::{Finding, Subject};
use crate::k8s::time::unix_seconds;
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};
use base64::Engine;

pub struct OsmWebhookCaBundleMissing;

/// The guide's threshold: fewer characters than this is "not provisioned correctly".
const MIN_CHARS: usize = 1000;

impl Rule for OsmWebhookCaBundleMissing {
    crate::rule_meta!("OSM011", "osm-webhook-ca-bundle-missing", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![
                Need::Resource("validatingwebhookconfigurations"),
                Need::Resource("mutatingwebhookconfigurations"),
            ],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let at = cx.snap.bundle.collected_at.as_deref().and_then(unix_seconds);
        let mut out = Vec::new();
        for (kind, name, app) in [
            ("ValidatingWebhookConfiguration", VALIDATING_WEBHOOK, "osm-controller"),
            ("MutatingWebhookConfiguration", MUTATING_WEBHOOK, "osm-injector"),
        ] {
            let Some(cfg) = webhook_config(cx, kind, name, app) else {
                continue;
            };
            for (i, w) in cfg.webhooks.iter().enumerate() {
                let ca = w.client_config.ca_bundle.as_deref().unwrap_or("");
                let Some((problem, detail)) = diagnose(ca, at) else {
                    continue;
                };
                let mut f = finding(
                    self,
                    Subject::new(kind, None, &cfg.metadata.name),
                    format!("{kind} {} has a bad CA bundle: {problem}", cfg.metadata.name),
                    format!("webhooks[{i}] ({}): {problem}. {detail}", w.name),
                );
                f.evidence.push(obj_evidence(
                    &cfg.src,
                    object_ref(kind, None, &cfg.metadata.name),
                    &format!("webhooks[{i}].clientConfig.caBundle"),
                    &format!(
                        "{} characters{}",
                        ca.len(),
                        if ca.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", crate::text::excerpt(ca, 40))
                        }
                    ),
                ));
                f.fix
                    .push("kubectl rollout restart deployment osm-controller -n arc-osm-system".into());
                f.fix
                    .push("kubectl logs -n arc-osm-system -l app=osm-controller | grep -i -E 'cert|webhook'".into());
                f.fix.push(format!(
                    "kubectl get {kind} {} -o json | jq -r '.webhooks[{i}].clientConfig.caBundle' | wc -c   # expect well over {MIN_CHARS}",
                    cfg.metadata.name
                ));
                out.push(f);
            }
        }
        out
    }
}

/// What is wrong with a caBundle, and what decoding found; `None` when it is fine.
fn diagnose(ca: &str, at: Option<i64>) -> Option<(String, String)> {
    if ca.trim().is_empty() {
        return Some((
            "it is absent or empty".into(),
            "The controller has not provisioned it.".into(),
        ));
    }
    let short = ca.len() < MIN_CHARS;
    let short_note = if short {
        format!(
            " It is only {} characters (the guide's threshold is {MIN_CHARS}).",
            ca.len()
        )
    } else {
        String::new()
    };
    let bytes = match base64::engine::general_purpose::STANDARD.decode(ca.trim()) {
        Ok(b) => b,
        Err(e) => {
            return Some((
                "it is not base64".into(),
                format!("Decoding failed: {}.{short_note}", e.to_string().trim_end_matches('.')),
            ))
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Some((
            "it is not a PEM certificate".into(),
            format!(
                "The {} decoded bytes hold no `-----BEGIN CERTIFICATE-----` block.{short_note}",
                bytes.len()
            ),
        ));
    }
    let mut certs = Vec::new();
    let mut errors = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(&bytes) {
        match pem {
            Ok(p) if p.label == "CERTIFICATE" => match p.parse_x509() {
                Ok(c) => certs.push((
                    c.subject().to_string(),
                    c.validity().not_before.timestamp(),
                    c.validity().not_after.timestamp(),
                    c.validity().not_before.to_string(),
                    c.validity().not_after.to_string(),
                )),
                Err(e) => errors.push(format!("{e}")),
            },
            Ok(_) => {}
            Err(e) => errors.push(format!("{e:?}")),
        }
    }
    if certs.is_empty() {
        return Some((
            "it is not a certificate".into(),
            format!(
                "The PEM block does not parse as an X.509 certificate ({}).{short_note}",
                if errors.is_empty() {
                    "no certificate block".to_string()
                } else {
                    errors.join("; ")
                }
            ),
        ));
    }
    if let Some(now) = at {
        for (subject, nb, na, nbs, nas) in &certs {
            if now > *na {
                return Some((
                    "its certificate has expired".into(),
                    format!(
                        "Certificate {subject} was valid from {nbs} to {nas}; the bundle was collected after that."
                    ),
                ));
            }
            if now < *nb {
                return Some((
                    "its certificate is not yet valid".into(),
                    format!("Certificate {subject} is valid only from {nbs} (to {nas}); the bundle was collected before that."),
                ));
            }
        }
    }
    if short {
        let (subject, _, _, nbs, nas) = &certs[0];
        return Some((
            format!("it is shorter than {MIN_CHARS} characters"),
            format!(
                "It is only {} characters (the guide's threshold is {MIN_CHARS}); it decodes to certificate {subject} valid {nbs} to {nas}.",
                ca.len()
            ),
        ));
    }
    None
}
