//! K8S007 webhook-unreachable (error)
//!
//! What it detects: the API server could not call an admission webhook:
//! `failed calling webhook "<name>"` with any cause (`no endpoints available`, `context deadline
//! exceeded`, `i/o timeout`, `service ... not found`, `connection refused`, `no such host`,
//! `x509`), in events, object conditions, logs or `az` statuses. A Flux `dry-run failed ...
//! failed calling webhook` is this rule, not FLX001.
//!
//! Why it matters: with `failurePolicy: Fail` every create or update the webhook matches is
//! refused, so extension installs, Flux applies and pod creation fail across the cluster.
//!
//! Evidence: every message naming the webhook; the Validating or Mutating configuration that
//! holds it (and the webhook's index); whether its service exists and has ready endpoints.
//!
//! Fix: bring back the service's pods (no endpoints), restore the service or delete a stale
//! configuration left behind by an uninstalled component, or fix the CA bundle (x509).

use crate::finding::{Evidence, Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Context, Inputs, Rule};
use std::collections::BTreeMap;

pub struct WebhookUnreachable;

fn cause_of(text: &str) -> &'static str {
    let t = text.to_ascii_lowercase();
    if t.contains("no endpoints available") {
        "no-endpoints"
    } else if t.contains("x509") {
        "x509"
    } else if t.contains("not found") {
        "service-not-found"
    } else if t.contains("connection refused") {
        "connection-refused"
    } else if t.contains("no such host") {
        "no-such-host"
    } else if t.contains("deadline exceeded") || t.contains("i/o timeout") || t.contains("client.timeout") {
        "timeout"
    } else {
        "other"
    }
}

impl Rule for WebhookUnreachable {
    crate::rule_meta!("K8S007", "webhook-unreachable", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            any_of: vec![Need::Resource("events"), Need::Resource("pods"), Need::Logs("*")],
            optional: vec![
                Need::Resource("validatingwebhookconfigurations"),
                Need::Resource("mutatingwebhookconfigurations"),
                Need::Resource("services"),
                Need::Resource("endpoints"),
            ],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut by_webhook: BTreeMap<String, Vec<&crate::rules::Hit>> = BTreeMap::new();
        for h in cx.hits_for("K8S007") {
            let name = h.captures.get("webhook").cloned().unwrap_or_else(|| "<unknown>".into());
            by_webhook.entry(name).or_default().push(h);
        }
        let mut out = Vec::new();
        for (name, hits) in by_webhook {
            let mut causes: Vec<&str> = hits.iter().map(|h| cause_of(&h.text)).collect();
            causes.sort();
            causes.dedup();
            let mut f = finding(
                self,
                Subject::new("Webhook", None, &name),
                format!("admission webhook {name} cannot be called ({})", causes.join(", ")),
                hits[0].text.clone(),
            );
            f.evidence.extend(hits.iter().map(|h| h.evidence.clone()));
            // Look the webhook up in the configurations.
            let mut found = false;
            for cfg in &cx.snap.webhooks {
                for (i, w) in cfg.webhooks.iter().enumerate() {
                    if w.name != name {
                        continue;
                    }
                    found = true;
                    let cfg_ref = object_ref(&cfg.kind, None, &cfg.metadata.name);
                    f.evidence.push(obj_evidence(
                        &cfg.src,
                        cfg_ref.clone(),
                        &format!("webhooks[{i}].clientConfig"),
                        &match &w.client_config.service {
                            Some(s) => format!(
                                "service {}/{} port {} path {} failurePolicy {}",
                                s.namespace,
                                s.name,
                                s.port.unwrap_or(443),
                                s.path.as_deref().unwrap_or("/"),
                                w.failure_policy.as_deref().unwrap_or("Fail")
                            ),
                            None => format!("url {}", w.client_config.url.as_deref().unwrap_or("?")),
                        },
                    ));
                    if let Some(svc) = &w.client_config.service {
                        let services_known = cx.snap.has(&Need::Resource("services"))
                            && cx
                                .snap
                                .bundle
                                .inputs
                                .keys()
                                .any(|k| k == &format!("kubectl/namespaces/{}/services", svc.namespace));
                        let s = cx.snap.services.iter().find(|s| {
                            s.metadata.name == svc.name && s.metadata.namespace.as_deref() == Some(&svc.namespace)
                        });
                        let ep = cx.snap.endpoints.iter().find(|e| {
                            e.metadata.name == svc.name && e.metadata.namespace.as_deref() == Some(&svc.namespace)
                        });
                        let state = match (s, ep) {
                            (None, _) if services_known => {
                                format!("service {}/{} does not exist", svc.namespace, svc.name)
                            }
                            (None, _) => format!("service {}/{} was not collected", svc.namespace, svc.name),
                            (Some(_), Some(e)) => format!(
                                "service {}/{} exists; endpoints: {} ready, {} not ready",
                                svc.namespace,
                                svc.name,
                                e.ready_addresses(),
                                e.subsets.iter().map(|s| s.not_ready_addresses.len()).sum::<usize>()
                            ),
                            (Some(_), None) => format!(
                                "service {}/{} exists; its endpoints were not collected",
                                svc.namespace, svc.name
                            ),
                        };
                        f.evidence.push(Evidence {
                            path: s
                                .map(|s| s.src.path.to_string())
                                .unwrap_or_else(|| cfg.src.path.to_string()),
                            line: None,
                            object: Some(object_ref("Service", Some(&svc.namespace), &svc.name)),
                            field: None,
                            excerpt: state.clone(),
                        });
                        if state.ends_with("does not exist") {
                            f.fix.push(format!(
                                "the service behind {name} is gone: reinstall the component that owns {}, or delete the stale configuration: kubectl delete {} {}",
                                cfg.metadata.name,
                                cfg.kind.to_ascii_lowercase(),
                                cfg.metadata.name
                            ));
                        } else if ep.map(|e| e.ready_addresses() == 0).unwrap_or(false)
                            || causes.contains(&"no-endpoints")
                        {
                            f.fix.push(format!(
                                "no ready pod backs service {}/{}: kubectl get pods -n {} and fix the webhook's pods",
                                svc.namespace, svc.name, svc.namespace
                            ));
                        }
                    }
                }
            }
            if !found {
                f.message
                    .push_str(&format!(" (no webhook configuration holding {name} is in the bundle)"));
            }
            if causes.contains(&"x509") {
                f.fix.push(format!("the caBundle of {name} does not verify the webhook's serving certificate: let its owner re-issue both"));
            }
            if causes.contains(&"timeout") || causes.contains(&"connection-refused") {
                f.fix.push("check that the API server can reach the webhook service (network policies, firewalls, proxy settings) and that its pods listen on the port".into());
            }
            if f.fix.is_empty() || !found {
                f.fix.push(format!(
                    "kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o json | grep -n '\"name\": \"{name}\"'"
                ));
            }
            out.push(f);
        }
        out
    }
}
