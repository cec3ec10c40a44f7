//! OSM016 namespace-half-joined (warning)
//!
//! What it detects: a namespace with the label `openservicemesh.io/monitored-by=osm` but not the
//! annotation `openservicemesh.io/sidecar-injection: enabled`, or with the annotation but not
//! the label. An explicit `sidecar-injection: disabled` beside the label is what
//! `osm namespace add --disable-sidecar-injection` writes on purpose and does not fire;
//! `arc-osm-system` is OSM015's.
//!
//! Why it matters: the guide: without both, the OSM injector adds no Envoy sidecar, so the
//! namespace's new pods run outside the mesh while the user believes they are in it.
//!
//! Evidence: the namespace's label and annotation as they are.
//!
//! Fix: `osm namespace add <ns>`, or the missing `kubectl label namespace <ns>
//! openservicemesh.io/monitored-by=osm` / `kubectl annotate namespace <ns>
//! openservicemesh.io/sidecar-injection=enabled` line; then restart the namespace's workloads.

use super::{applies, MONITORED_BY, NS, SIDECAR_INJECTION};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct NamespaceHalfJoined;

/// The mesh name the Arc extension installs.
const MESH: &str = "osm";

impl Rule for NamespaceHalfJoined {
    crate::rule_meta!("OSM016", "namespace-half-joined", Warning);

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
        let mut out = Vec::new();
        for ns in &cx.snap.namespaces {
            let name = &ns.metadata.name;
            if name == NS {
                continue;
            }
            let label = ns.metadata.labels.get(MONITORED_BY).map(crate::k8s::Str::as_str);
            let annotation = ns
                .metadata
                .annotations
                .get(SIDECAR_INJECTION)
                .map(crate::k8s::Str::as_str);
            let labeled = label == Some(MESH);
            let enabled = annotation == Some("enabled");
            let (title, fix) = match (labeled, enabled, annotation) {
                (true, false, Some("disabled")) | (true, true, _) | (false, false, _) => continue,
                (true, false, _) => (
                    format!("namespace {name} is monitored by the mesh but sidecar injection is not enabled"),
                    format!("kubectl annotate namespace {name} {SIDECAR_INJECTION}=enabled --overwrite"),
                ),
                (false, true, _) => (
                    format!("namespace {name} enables sidecar injection but is not monitored by the mesh"),
                    format!("kubectl label namespace {name} {MONITORED_BY}={MESH} --overwrite"),
                ),
            };
            let mut f = finding(
                self,
                Subject::new("Namespace", None, name),
                title,
                format!(
                    "label {MONITORED_BY}={}, annotation {SIDECAR_INJECTION}: {}; the injector adds Envoy sidecars only when both are set.",
                    label.unwrap_or("<none>"),
                    annotation.unwrap_or("<none>")
                ),
            );
            let oref = object_ref("Namespace", None, name);
            f.evidence.push(obj_evidence(
                &ns.src,
                oref.clone(),
                &format!("metadata.labels[{MONITORED_BY}]"),
                label.unwrap_or("<none>"),
            ));
            f.evidence.push(obj_evidence(
                &ns.src,
                oref,
                &format!("metadata.annotations[{SIDECAR_INJECTION}]"),
                annotation.unwrap_or("<none>"),
            ));
            f.fix.push(format!("osm namespace add {name}"));
            f.fix.push(fix);
            f.fix.push(format!(
                "kubectl rollout restart deployment -n {name}   # only new pods get the sidecar"
            ));
            out.push(f);
        }
        out
    }
}
