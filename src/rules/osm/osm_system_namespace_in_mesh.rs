//! OSM015 osm-system-namespace-in-mesh (error)
//!
//! What it detects: the namespace `arc-osm-system` carries the label
//! `openservicemesh.io/monitored-by` or the annotation `openservicemesh.io/sidecar-injection`.
//!
//! Why it matters: the guide: `arc-osm-system` never takes part in the mesh and is never labeled
//! or annotated with these keys. When it is, the injector adds Envoy sidecars to the control
//! plane itself (OSM003), which breaks the mesh.
//!
//! Evidence: the namespace's label and annotation.
//!
//! Fix: `kubectl label namespace arc-osm-system openservicemesh.io/monitored-by-` and
//! `kubectl annotate namespace arc-osm-system openservicemesh.io/sidecar-injection-`, then
//! restart the control plane's deployments.

use super::{applies, MONITORED_BY, NS, SIDECAR_INJECTION};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmSystemNamespaceInMesh;

impl Rule for OsmSystemNamespaceInMesh {
    crate::rule_meta!("OSM015", "osm-system-namespace-in-mesh", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("namespaces")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let Some(ns) = cx.snap.namespaces.iter().find(|n| n.metadata.name == NS) else {
            return Vec::new();
        };
        let label = ns.metadata.labels.get(MONITORED_BY);
        let annotation = ns.metadata.annotations.get(SIDECAR_INJECTION);
        if label.is_none() && annotation.is_none() {
            return Vec::new();
        }
        let mut what = Vec::new();
        if let Some(v) = label {
            what.push(format!("label {MONITORED_BY}={v}"));
        }
        if let Some(v) = annotation {
            what.push(format!("annotation {SIDECAR_INJECTION}: {v}"));
        }
        let mut f = finding(
            self,
            Subject::new("Namespace", None, NS),
            format!("namespace arc-osm-system is joined to the mesh ({})", what.join(", ")),
            "arc-osm-system must never take part in the mesh: the injector would add sidecars to the OSM control plane.",
        );
        let oref = object_ref("Namespace", None, NS);
        if let Some(v) = label {
            f.evidence.push(obj_evidence(
                &ns.src,
                oref.clone(),
                &format!("metadata.labels[{MONITORED_BY}]"),
                v,
            ));
            f.fix.push(format!("kubectl label namespace {NS} {MONITORED_BY}-"));
        }
        if let Some(v) = annotation {
            f.evidence.push(obj_evidence(
                &ns.src,
                oref,
                &format!("metadata.annotations[{SIDECAR_INJECTION}]"),
                v,
            ));
            f.fix
                .push(format!("kubectl annotate namespace {NS} {SIDECAR_INJECTION}-"));
        }
        f.fix.push(format!(
            "kubectl rollout restart deployment -n {NS}   # drops any injected sidecar"
        ));
        vec![f]
    }
}
