//! AMA001 privileged-pods-disallowed (error)
//!
//! What it detects: the `ama-logs` DaemonSet is refused the privileged pods it needs. Either an
//! event, object condition or extension status about `ama-logs` says so (`privileged:
//! Forbidden`, `disallowed by cluster policy`, `privileged containers are not allowed`, a Pod
//! Security `privileged` violation), or the cluster is Canonical Charmed Kubernetes (node labels
//! `juju-application`, `juju-charm`, `juju.io/cloud`), where privileged pods are off unless
//! allowed, and `ama-logs` is not fully ready.
//!
//! Why it matters: the guide: Container Insights needs its DaemonSet to run privileged. Refused,
//! the DaemonSet creates no pods and no node is monitored.
//!
//! Evidence: the denial messages; the Charmed node labels; the DaemonSet's desired and ready
//! counts.
//!
//! Fix: on Charmed Kubernetes `juju config kubernetes-worker allow-privileged=true` (for each
//! worker application); elsewhere allow privileged pods in `kube-system` in the policy that
//! refused them (Pod Security labels, or the Gatekeeper/Azure Policy assignment's excluded
//! namespaces). Then let the DaemonSet recreate its pods.
//!
//! A denial event older than a DaemonSet that is now fully ready does not fire.

use super::{ama_pods, applies, NS};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Hit, Inputs, Origin, Rule};
use std::collections::BTreeSet;

pub struct PrivilegedPodsDisallowed;

const JUJU_LABELS: [&str; 3] = ["juju-application", "juju-charm", "juju.io/cloud"];

impl Rule for PrivilegedPodsDisallowed {
    crate::rule_meta!("AMA001", "privileged-pods-disallowed", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("nodes")],
            any_of: vec![
                Need::NsResource(NS, "daemonsets"),
                Need::Resource("events"),
                Need::Az("k8s-extension-*"),
            ],
            optional: vec![Need::NsResource(NS, "pods")],
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let denials: Vec<&Hit> = cx.hits_for("AMA001").filter(|h| about_ama(cx, h)).collect();
        let charmed: Vec<_> = cx
            .snap
            .nodes
            .iter()
            .filter(|n| JUJU_LABELS.iter().any(|l| n.metadata.labels.contains_key(l)))
            .collect();
        let ds = cx
            .snap
            .daemonsets
            .iter()
            .find(|d| d.metadata.namespace.as_deref() == Some(NS) && d.metadata.name == "ama-logs");
        // Whether ama-logs is fully ready, and the words that say so.
        let (not_ready, state) = match ds {
            Some(d) => {
                let s = &d.status;
                let bad = s.desired_number_scheduled == 0
                    || s.number_ready < s.desired_number_scheduled
                    || s.current_number_scheduled < s.desired_number_scheduled;
                (
                    bad,
                    format!(
                        "DaemonSet kube-system/ama-logs: desired {}, current {}, ready {}",
                        s.desired_number_scheduled, s.current_number_scheduled, s.number_ready
                    ),
                )
            }
            None if cx.snap.has(&Need::NsResource(NS, "daemonsets")) => {
                (true, "DaemonSet kube-system/ama-logs does not exist".to_string())
            }
            None => {
                let ds_pods: Vec<_> = ama_pods(cx)
                    .into_iter()
                    .filter(|p| !p.metadata.name.starts_with("ama-logs-rs"))
                    .collect();
                if ds_pods.is_empty() {
                    (false, "the ama-logs DaemonSet was not collected".to_string())
                } else {
                    let ready = ds_pods.iter().filter(|p| p.all_ready()).count();
                    (
                        ready < ds_pods.len(),
                        format!("ama-logs pods: {ready}/{} ready", ds_pods.len()),
                    )
                }
            }
        };
        let charmed_path = !charmed.is_empty() && not_ready;
        // A denial from before the DaemonSet recovered is history, not a failure.
        let recovered = ds.is_some() && !not_ready;
        if (denials.is_empty() || recovered) && !charmed_path {
            return Vec::new();
        }
        let (title, message) = if !denials.is_empty() {
            (
                "the ama-logs DaemonSet is refused privileged pods".to_string(),
                format!(
                    "{}{}. Container Insights needs its DaemonSet to run privileged.",
                    denials[0].text,
                    if charmed.is_empty() {
                        String::new()
                    } else {
                        " (Canonical Charmed Kubernetes)".to_string()
                    }
                ),
            )
        } else {
            (
                "ama-logs is not ready on Canonical Charmed Kubernetes, which refuses privileged pods unless allowed".to_string(),
                format!(
                    "{state}. The nodes are Charmed Kubernetes ({} node(s) with juju labels); Container Insights needs privileged pods, which Charmed allows only with allow-privileged=true.",
                    charmed.len()
                ),
            )
        };
        let mut f = finding(self, Subject::new("DaemonSet", Some(NS), "ama-logs"), title, message);
        f.evidence.extend(denials.iter().take(5).map(|h| h.evidence.clone()));
        if let Some(d) = ds {
            f.evidence.push(obj_evidence(
                &d.src,
                object_ref("DaemonSet", Some(NS), "ama-logs"),
                "status",
                &state,
            ));
        }
        let mut apps = BTreeSet::new();
        for n in charmed.iter().take(5) {
            let labels: Vec<String> = JUJU_LABELS
                .iter()
                .filter_map(|l| n.metadata.labels.get(l).map(|v| format!("{l}={v}")))
                .collect();
            f.evidence.push(obj_evidence(
                &n.src,
                object_ref("Node", None, &n.metadata.name),
                "metadata.labels",
                &labels.join(", "),
            ));
        }
        for n in &charmed {
            if let Some(app) = n.metadata.labels.get("juju-application") {
                if !app.contains("control-plane") && !app.contains("master") {
                    apps.insert(app.to_string());
                }
            }
        }
        if !charmed.is_empty() {
            if apps.is_empty() {
                apps.insert("kubernetes-worker".to_string());
            }
            for app in &apps {
                f.fix.push(format!("juju config {app} allow-privileged=true"));
            }
        } else {
            f.fix.push("allow privileged pods for kube-system in the policy that refused them: with Pod Security admission `kubectl label namespace kube-system pod-security.kubernetes.io/enforce=privileged --overwrite`; with Gatekeeper / Azure Policy add kube-system to the assignment's excluded namespaces".into());
        }
        f.fix.push(
            "then let the DaemonSet recreate its pods: kubectl -n kube-system rollout restart daemonset ama-logs"
                .into(),
        );
        vec![f]
    }
}

/// Whether a denial is about the AMA agent (its pods, DaemonSet, or the extension).
fn about_ama(cx: &Context, h: &Hit) -> bool {
    if h.text.contains("ama-logs") {
        return true;
    }
    match &h.origin {
        Origin::Event { involved_name, .. } => involved_name.starts_with("ama-logs"),
        Origin::Object { name, .. } => name.starts_with("ama-logs"),
        Origin::Az { name, .. } => cx
            .snap
            .extensions
            .iter()
            .any(|e| &e.name == name && e.is_type("microsoft.azuremonitor.containers")),
        Origin::Log { .. } => false,
    }
}
