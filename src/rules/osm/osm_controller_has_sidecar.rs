//! OSM003 osm-controller-has-sidecar (warning)
//!
//! What it detects: an `osm-controller` pod with more than one container (READY `x/2` in
//! `kubectl get pods`): a sidecar, normally Envoy, was injected into the control plane.
//!
//! Why it matters: the OSM control plane is not meant to run inside the mesh. A sidecar in front
//! of the controller intercepts the traffic the sidecars and the API server send it, which breaks
//! the mesh in ways that are hard to trace. It happens when `arc-osm-system` carries the mesh's
//! label or injection annotation (see OSM015).
//!
//! Evidence: the pod's container names and READY count.
//!
//! Fix: remove the injection label and annotation from `arc-osm-system`
//! (`kubectl label namespace arc-osm-system openservicemesh.io/monitored-by-`,
//! `kubectl annotate namespace arc-osm-system openservicemesh.io/sidecar-injection-`), then
//! restart the controller (`kubectl rollout restart deployment osm-controller -n arc-osm-system`).

use super::{applies, component_pods, NS};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmControllerHasSidecar;

impl Rule for OsmControllerHasSidecar {
    crate::rule_meta!("OSM003", "osm-controller-has-sidecar", Warning);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, "pods")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in component_pods(cx, "osm-controller") {
            if p.is_evicted() || p.is_succeeded() {
                continue;
            }
            let mut names: Vec<&str> = p.spec.containers.iter().map(|c| c.name.as_str()).collect();
            if names.is_empty() {
                names = p.status.container_statuses.iter().map(|c| c.name.as_str()).collect();
            }
            if names.len() < 2 {
                continue;
            }
            let (r, t) = p.ready_count();
            let extra: Vec<&str> = names.iter().copied().filter(|n| *n != "osm-controller").collect();
            let mut f = finding(
                self,
                Subject::new("Pod", Some(NS), &p.metadata.name),
                format!(
                    "osm-controller pod {} runs {} containers (READY {r}/{t}): a sidecar was injected",
                    p.metadata.name,
                    names.len()
                ),
                format!(
                    "Containers: {}. The controller normally runs alone (READY 1/1); extra: {}.",
                    names.join(", "),
                    extra.join(", ")
                ),
            );
            f.evidence.push(obj_evidence(
                &p.src,
                object_ref("Pod", Some(NS), &p.metadata.name),
                "spec.containers[*].name",
                &names.join(", "),
            ));
            f.fix
                .push(format!("kubectl label namespace {NS} openservicemesh.io/monitored-by-"));
            f.fix.push(format!(
                "kubectl annotate namespace {NS} openservicemesh.io/sidecar-injection-"
            ));
            f.fix
                .push(format!("kubectl rollout restart deployment osm-controller -n {NS}"));
            out.push(f);
        }
        out
    }
}
