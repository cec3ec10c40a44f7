//! FLX003 flux-namespace-denied-by-policy (error)
//!
//! What it detects: an admission policy refused the `flux-system` namespace or an object in it:
//! `admission webhook "validation.gatekeeper.sh" denied the request: [azurepolicy-...] ...`,
//! another policy webhook's denial (Kyverno and the like), or a PodSecurity `is forbidden:
//! violates PodSecurity` message, seen in events of `flux-system`, the `microsoft.flux`
//! extension's statuses, or agent logs that name `flux-system`. Denials about container CPU or
//! memory limits are FLX008, not this rule.
//!
//! Why it matters: the extension installs its controllers into `flux-system`; a policy that
//! refuses the namespace or its pods leaves the extension failed and GitOps not running.
//!
//! Evidence: each denial message, grouped by the policy that denied (the Gatekeeper constraint
//! when the message names it, else the webhook); the constraint's match scope when collected.
//!
//! Fix: exclude `flux-system` from the policy assignment (`excludedNamespaces`) or relax the
//! policy. Guide: "Errors installing the microsoft.flux extension".

use super::{denying_constraint, flux_applies, is_flux_extension_status};
use crate::finding::{Evidence, Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, Applies, Context, Hit, Inputs, Origin, Rule};
use std::collections::BTreeMap;

pub struct FluxNamespaceDeniedByPolicy;

/// Whether a hit concerns `flux-system`. A Kustomization or HelmRelease in `flux-system` whose
/// applied object was denied elsewhere is about that object's namespace, not `flux-system`.
fn about_flux_system(cx: &Context, h: &Hit) -> bool {
    let applier = |kind: &str| kind == "Kustomization" || kind == "HelmRelease";
    match &h.origin {
        Origin::Event { involved_kind, .. } if applier(involved_kind) => h.text.contains("flux-system"),
        Origin::Object { kind, .. } if applier(kind) => h.text.contains("flux-system"),
        Origin::Event {
            namespace,
            involved_kind,
            involved_name,
            ..
        } => namespace == "flux-system" || (involved_kind == "Namespace" && involved_name == "flux-system"),
        Origin::Object {
            namespace, name, kind, ..
        } => namespace.as_deref() == Some("flux-system") || (kind == "Namespace" && name == "flux-system"),
        Origin::Az { .. } => is_flux_extension_status(cx, h),
        // Agent logs only: a controller's log names the namespace of the object it reconciles.
        Origin::Log { namespace, pod, .. } => {
            let agent = namespace == "azure-arc"
                || (namespace == "kube-system" && pod.starts_with("extension-"))
                || (namespace == "flux-system" && pod.starts_with("fluxconfig-"));
            agent && h.text.contains("flux-system")
        }
    }
}

impl Rule for FluxNamespaceDeniedByPolicy {
    crate::rule_meta!("FLX003", "flux-namespace-denied-by-policy", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            any_of: vec![
                Need::NsResource("flux-system", "events"),
                Need::Az("k8s-extension-*"),
                Need::Logs("azure-arc"),
                Need::Logs("kube-system"),
            ],
            optional: vec![Need::Resource("constraints")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        flux_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut by_policy: BTreeMap<String, Vec<&Hit>> = BTreeMap::new();
        for h in cx.hits_for("FLX003") {
            if super::is_limits_denial(&h.text) || !about_flux_system(cx, h) {
                continue;
            }
            let key = denying_constraint(&h.text)
                .or_else(|| h.captures.get("denying_webhook").map(|w| format!("webhook {w}")))
                .unwrap_or_else(|| "PodSecurity admission".to_string());
            by_policy.entry(key).or_default().push(h);
        }
        let mut out = Vec::new();
        for (policy, hits) in by_policy {
            let detail = hits[0]
                .captures
                .get("denial")
                .or_else(|| hits[0].captures.get("psa_denial"))
                .map(|d| d.trim().to_string())
                .unwrap_or_else(|| hits[0].text.clone());
            let mut f = finding(
                self,
                Subject::new("Namespace", None, "flux-system"),
                format!("{policy} denies objects in flux-system"),
                format!(
                    "{} denial(s) for flux-system; first: {}",
                    hits.len(),
                    crate::text::excerpt(&detail, 500)
                ),
            );
            f.evidence.extend(hits.iter().map(|h| h.evidence.clone()));
            let constraint = cx
                .snap
                .bundle
                .objects
                .iter()
                .filter(|o| super::is_constraint(o))
                .find(|o| o.name() == policy);
            if let Some(c) = constraint {
                let m = c.value.pointer("/spec/match").cloned().unwrap_or_default();
                f.evidence.push(Evidence {
                    path: c.src.path.to_string(),
                    line: None,
                    object: Some(object_ref(c.kind(), None, c.name())),
                    field: Some("spec.match".into()),
                    excerpt: crate::text::excerpt(&m.to_string(), 300),
                });
            }
            if policy.starts_with("azurepolicy-") {
                f.fix.push(format!(
                    "{policy} comes from an Azure Policy assignment: add flux-system to that assignment's excludedNamespaces parameter (az policy assignment list --scope <CLUSTER_RESOURCE_ID> -o table to find it), or relax the policy; the in-cluster constraint is overwritten by Azure Policy"
                ));
            } else if policy.starts_with("webhook ") || policy == "PodSecurity admission" {
                f.fix.push(format!(
                    "exclude the flux-system namespace from the policy enforced by {policy}, or relax the policy"
                ));
            } else {
                f.fix.push(format!(
                    "add flux-system to spec.match.excludedNamespaces of constraint {policy} (kubectl edit on its kind), or relax the policy"
                ));
            }
            f.fix.push(format!(
                "then retry the extension: az k8s-extension show -g {} -c {} -n flux -t {}",
                cx.facts.rg(),
                cx.facts.cluster(),
                cx.facts.cluster_type.az_type()
            ));
            out.push(f);
        }
        out
    }
}
