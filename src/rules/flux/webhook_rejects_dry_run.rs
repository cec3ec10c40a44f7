//! FLX001 webhook-rejects-dry-run (error)
//!
//! What it detects: Flux cannot reconcile because an admission webhook does not support dry run:
//! `dry-run failed ... admission webhook "<name>" does not support dry run`, in any of its forms
//! (`dry-run failed, reason: BadRequest, error: ...`, `dry-run failed (BadRequest): ...`, the
//! guide's `dry-run failed, error: ...`), seen in a Kustomization or HelmRelease condition, an
//! event, a kustomize-/helm-controller log line (JSON or not) or a flux configuration status in
//! `az` (escaped quotes included). A `dry-run failed ... failed calling webhook` is not this
//! rule: the webhook could not be reached (K8S007).
//!
//! Why it matters: kustomize-controller applies with server-side dry run first. A webhook whose
//! `sideEffects` is `Some` or `Unknown` makes the API server refuse every dry run it matches, so
//! the Kustomization stays `Ready=False` and nothing it holds is applied.
//!
//! Evidence: every message naming the webhook (condition, event, log line, `az` status), grouped
//! into one finding per webhook; the Validating or Mutating configuration holding it, the
//! webhook's index and its current `sideEffects`.
//!
//! Fix: set that webhook's `sideEffects` to `None` (or `NoneOnDryRun`):
//! `kubectl patch validatingwebhookconfiguration <cfg> --type=json -p
//! '[{"op":"replace","path":"/webhooks/<i>/sideEffects","value":"None"}]'`. A patch to a
//! platform-managed webhook (`*.azmk8s.io`) is reverted: AKS must fix it, and upgrading the
//! cluster is the route. Guide: "GitOps (Flux v2)", "Webhook/dry run errors".

use super::{flux_applies, hit_object};
use crate::finding::{Evidence, Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, Applies, Context, Hit, Inputs, Rule};
use std::collections::{BTreeMap, BTreeSet};

pub struct WebhookRejectsDryRun;

impl Rule for WebhookRejectsDryRun {
    crate::rule_meta!("FLX001", "webhook-rejects-dry-run", Error);

    /// The Kustomization whose dry run the webhook rejects is not ready.
    fn explains(&self) -> &[&str] {
        &["FLX010"]
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            any_of: vec![
                Need::Resource("kustomizations.kustomize.toolkit.fluxcd.io"),
                Need::Resource("helmreleases.helm.toolkit.fluxcd.io"),
                Need::Resource("events"),
                Need::Logs("flux-system"),
                Need::Az("k8s-configuration-flux-*"),
            ],
            optional: vec![
                Need::Resource("validatingwebhookconfigurations"),
                Need::Resource("mutatingwebhookconfigurations"),
            ],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        flux_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut by_webhook: BTreeMap<String, Vec<&Hit>> = BTreeMap::new();
        for h in cx.hits_for("FLX001") {
            // The same message also saying the webhook could not be called is K8S007's.
            if h.text.contains("failed calling webhook") && !h.text.contains("does not support dry run") {
                continue;
            }
            if let Some(w) = h.captures.get("dry_run_webhook") {
                by_webhook.entry(w.clone()).or_default().push(h);
            }
        }
        let configs_collected = cx.snap.has(&Need::Resource("validatingwebhookconfigurations"))
            || cx.snap.has(&Need::Resource("mutatingwebhookconfigurations"));
        let mut out = Vec::new();
        for (name, hits) in by_webhook {
            let mut objects: BTreeSet<String> = BTreeSet::new();
            let mut targets: BTreeSet<String> = BTreeSet::new();
            for h in &hits {
                if let Some(o) = hit_object(cx, h) {
                    objects.insert(o);
                }
                if let Some(t) = h.captures.get("target") {
                    targets.insert(t.clone());
                }
            }
            let platform = name.ends_with(".azmk8s.io");
            let mut message =
                format!("admission webhook \"{name}\" does not support dry run, so Flux's server-side dry run fails");
            if !objects.is_empty() {
                message.push_str(&format!(
                    "; failing: {}",
                    objects.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            if !targets.is_empty() {
                message.push_str(&format!(
                    "; rejected while applying {}",
                    targets.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            let mut f = finding(
                self,
                Subject::new("Webhook", None, &name),
                format!("webhook {name} rejects Flux's dry run"),
                String::new(),
            );
            f.evidence.extend(hits.iter().map(|h| h.evidence.clone()));
            let mut located = Vec::new();
            for cfg in &cx.snap.webhooks {
                for (i, w) in cfg.webhooks.iter().enumerate() {
                    if w.name != name {
                        continue;
                    }
                    let side = w.side_effects.clone();
                    f.evidence.push(Evidence {
                        path: cfg.src.path.to_string(),
                        line: None,
                        object: Some(object_ref(&cfg.kind, None, &cfg.metadata.name)),
                        field: Some(format!("webhooks[{i}].sideEffects")),
                        excerpt: format!(
                            "webhook {name} (index {i}) sideEffects: {}",
                            side.as_deref().unwrap_or("<unset>")
                        ),
                    });
                    located.push((cfg.kind.to_ascii_lowercase(), cfg.metadata.name.clone(), i, side));
                }
            }
            for (kind, cfg, i, side) in &located {
                message.push_str(&format!(
                    "; it is webhook {i} of {kind} {cfg}, sideEffects {}",
                    side.as_deref().unwrap_or("<unset>")
                ));
                if matches!(side.as_deref(), Some("None") | Some("NoneOnDryRun")) {
                    message.push_str(" (already dry-run safe: the configuration was changed after the failure, or another webhook of the same name is at fault)");
                }
            }
            if located.is_empty() {
                message.push_str(if configs_collected {
                    "; no Validating or Mutating webhook configuration in the bundle holds it"
                } else {
                    "; the webhook configurations are not in the bundle, so its configuration and index are unknown"
                });
            }
            if platform {
                message.push_str("; the webhook is managed by AKS (*.azmk8s.io): a patch is reverted by the platform");
            }
            f.message = message;
            if platform {
                f.fix.push(format!(
                    "{name} is managed by AKS: patching it is reverted, so AKS must fix it; upgrading the cluster brings the fixed webhook: az aks upgrade -g {} -n {} --kubernetes-version <VERSION>",
                    cx.facts.rg(),
                    cx.facts.cluster()
                ));
                f.fix.push("until then, exclude the rejected objects from the Kustomization or open a support request with AKS naming the webhook".into());
            }
            for (kind, cfg, i, side) in &located {
                let op = if side.is_some() { "replace" } else { "add" };
                f.fix.push(format!(
                    "{}kubectl patch {kind} {cfg} --type=json -p '[{{\"op\":\"{op}\",\"path\":\"/webhooks/{i}/sideEffects\",\"value\":\"None\"}}]'",
                    if platform { "a temporary workaround only, AKS reverts it: " } else { "" }
                ));
            }
            if located.is_empty() {
                f.fix.push(format!(
                    "find the configuration and index of {name}: kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o jsonpath='{{range .items[*]}}{{.kind}} {{.metadata.name}}: {{.webhooks[*].name}}{{\"\\n\"}}{{end}}' | grep -F '{name}'"
                ));
                f.fix.push(
                    "kubectl patch validatingwebhookconfiguration <CONFIGURATION> --type=json -p '[{\"op\":\"replace\",\"path\":\"/webhooks/<INDEX>/sideEffects\",\"value\":\"None\"}]'  (mutatingwebhookconfiguration when it is a mutating webhook; <INDEX> counts from 0)".into(),
                );
            }
            if !platform {
                f.fix.push("if the webhook's owner manages the configuration (a Helm chart or operator), set sideEffects: None (or NoneOnDryRun) there too, or the patch is undone on its next upgrade".into());
            }
            for o in objects
                .iter()
                .filter(|o| o.starts_with("Kustomization/") || o.starts_with("HelmRelease/"))
            {
                let mut parts = o.splitn(3, '/');
                let (k, ns, n) = (parts.next(), parts.next(), parts.next());
                if let (Some(k), Some(ns), Some(n)) = (k, ns, n) {
                    let kind = if k == "Kustomization" {
                        "kustomization"
                    } else {
                        "helmrelease"
                    };
                    f.fix.push(format!("then: flux reconcile {kind} {n} -n {ns}"));
                }
            }
            out.push(f);
        }
        out
    }
}
