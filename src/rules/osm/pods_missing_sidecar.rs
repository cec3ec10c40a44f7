//! OSM017 pods-missing-sidecar (warning)
//!
//! What it detects: running pods in a fully joined namespace (label
//! `openservicemesh.io/monitored-by=osm` and annotation `openservicemesh.io/sidecar-injection:
//! enabled`) that have no `envoy` container: they were created before the namespace joined.
//! Pods that opt out (`openservicemesh.io/sidecar-injection: disabled` on the pod), pods on the
//! host network, and completed or evicted pods are left out.
//!
//! Why it matters: the guide: after `osm namespace add` only new pods get the Envoy sidecar.
//! Older pods stay outside the mesh: with permissive mode off their traffic is refused, and
//! they bypass the mesh's policies and certificates.
//!
//! Evidence: each pod without the sidecar and its containers.
//!
//! Fix: `kubectl rollout restart deployment -n <ns>` (and the same for the namespace's
//! StatefulSets and DaemonSets).

use super::{applies, MONITORED_BY, SIDECAR_INJECTION};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};
use std::collections::BTreeSet;

pub struct PodsMissingSidecar;

impl Rule for PodsMissingSidecar {
    crate::rule_meta!("OSM017", "pods-missing-sidecar", Warning);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("namespaces"), Need::Resource("pods")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut joined: Vec<&str> = cx
            .snap
            .namespaces
            .iter()
            .filter(|n| {
                n.metadata.name != super::NS
                    && n.metadata.labels.get(MONITORED_BY).map(crate::k8s::Str::as_str) == Some("osm")
                    && n.metadata
                        .annotations
                        .get(SIDECAR_INJECTION)
                        .map(crate::k8s::Str::as_str)
                        == Some("enabled")
            })
            .map(|n| n.metadata.name.as_str())
            .collect();
        joined.sort();
        for ns in joined {
            let mut pods: Vec<_> = cx
                .snap
                .pods
                .iter()
                .filter(|p| p.metadata.namespace.as_deref() == Some(ns))
                .filter(|p| !p.is_succeeded() && !p.is_evicted() && p.status.phase != "Failed")
                .filter(|p| !p.spec.host_network)
                .filter(|p| {
                    p.metadata
                        .annotations
                        .get(SIDECAR_INJECTION)
                        .map(crate::k8s::Str::as_str)
                        != Some("disabled")
                })
                .filter(|p| !p.spec.containers.iter().any(|c| c.name == "envoy"))
                .filter(|p| !p.spec.containers.is_empty())
                .collect();
            if pods.is_empty() {
                continue;
            }
            pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            let names: Vec<&str> = pods.iter().map(|p| p.metadata.name.as_str()).collect();
            let mut f = finding(
                self,
                Subject::new("Namespace", None, ns),
                format!("{} pod(s) in meshed namespace {ns} run without the Envoy sidecar", pods.len()),
                format!(
                    "{ns} is joined to the mesh, but these pods have no envoy container (created before the namespace joined): {}.",
                    names.join(", ")
                ),
            );
            let mut owners = BTreeSet::new();
            for p in &pods {
                let containers: Vec<&str> = p.spec.containers.iter().map(|c| c.name.as_str()).collect();
                f.evidence.push(obj_evidence(
                    &p.src,
                    object_ref("Pod", Some(ns), &p.metadata.name),
                    "spec.containers[*].name",
                    &containers.join(", "),
                ));
                if let Some(o) = p.owner_ref() {
                    owners.insert(o);
                }
            }
            f.fix.push(format!("kubectl rollout restart deployment -n {ns}"));
            for o in owners {
                if o.starts_with("statefulset/") || o.starts_with("daemonset/") {
                    f.fix.push(format!("kubectl rollout restart {o} -n {ns}"));
                }
            }
            out.push(f);
        }
        out
    }
}
