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
        let at = cx.snap.bundle.collected_at.as_deref().and_then(unix_time);
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

/// Seconds since the epoch of an RFC 3339 time (`2026-11-25T17:00:00Z`, offsets and fractions
/// allowed); `None` when it does not parse.
fn unix_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |a: usize, b: usize| -> Option<i64> { s.get(a..b)?.parse().ok() };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" || !matches!(s.get(10..11)?, "T" | "t" | " ") {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        r if r.len() == 6 && (r.starts_with('+') || r.starts_with('-')) => {
            let oh: i64 = r.get(1..3)?.parse().ok()?;
            let om: i64 = r.get(4..6)?.parse().ok()?;
            let v = oh * 3600 + om * 60;
            if r.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    // Days from civil (proleptic Gregorian), Howard Hinnant's algorithm.
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod tests {
    use super::unix_time;

    #[test]
    fn rfc3339_to_unix() {
        assert_eq!(unix_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_time("2026-11-25T17:00:00Z"), Some(1_795_626_000));
        assert_eq!(unix_time("2026-11-25T18:00:00+01:00"), Some(1_795_626_000));
        assert_eq!(unix_time("2000-02-29T00:00:00.123Z"), Some(951_782_400));
        assert_eq!(unix_time("yesterday"), None);
    }
}
