//! OSM001 osm-controller-unavailable (error)
//!
//! What it detects: the deployment `osm-controller` in `arc-osm-system` is missing, or has fewer
//! ready replicas than it wants (the guide's healthy output is READY `1/1`).
//!
//! Why it matters: osm-controller is the mesh's control plane. Without it no Envoy sidecar gets
//! configuration or certificates, and the validating webhook it serves refuses OSM objects.
//!
//! Evidence: the deployment's `spec.replicas` and `status.readyReplicas`, the READY state and
//! restart count of each controller pod, and the last lines of a controller log when the
//! bundle has one.
//!
//! Fix: read the controller's log (`kubectl logs -n arc-osm-system -l app=osm-controller`,
//! with `--previous` after a crash); a missing deployment means the extension must be repaired
//! or reinstalled. OSM002 says why a controller pod is not running.

use super::{
    absent_evidence, applies, cite_container, collected, component_pods, extension_show, main_container, ready_text, NS,
};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmControllerUnavailable;

impl Rule for OsmControllerUnavailable {
    crate::rule_meta!("OSM001", "osm-controller-unavailable", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, "deployments")],
            optional: vec![Need::NsResource(NS, "pods"), Need::Logs(NS)],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let subject = Subject::new("Deployment", Some(NS), "osm-controller");
        let dep = cx
            .snap
            .deployments
            .iter()
            .find(|d| d.metadata.namespace.as_deref() == Some(NS) && d.metadata.name == "osm-controller");
        let mut f = match dep {
            None if collected(cx, "deployments") => finding(
                self,
                subject,
                "deployment arc-osm-system/osm-controller is missing",
                "The deployments of arc-osm-system were collected and osm-controller is not among them: the mesh has no control plane.",
            ),
            None => return Vec::new(),
            Some(d) => {
                let desired = d.desired();
                let ready = d.status.ready_replicas;
                if desired > 0 && ready >= desired {
                    return Vec::new();
                }
                let title = if desired == 0 {
                    "deployment arc-osm-system/osm-controller is scaled to 0 replicas".to_string()
                } else {
                    format!("deployment arc-osm-system/osm-controller has {ready}/{desired} ready replicas")
                };
                let mut f = finding(
                    self,
                    subject,
                    title,
                    format!(
                        "READY {ready}/{desired} (available {}, unavailable {}); the guide's healthy output is READY 1/1.",
                        d.status.available_replicas, d.status.unavailable_replicas
                    ),
                );
                f.evidence.push(obj_evidence(
                    &d.src,
                    object_ref("Deployment", Some(NS), "osm-controller"),
                    "status.readyReplicas",
                    &format!("spec.replicas {desired} status.readyReplicas {ready}"),
                ));
                for c in d.status.conditions.iter().filter(|c| c.status != "True") {
                    f.evidence.push(obj_evidence(
                        &d.src,
                        object_ref("Deployment", Some(NS), "osm-controller"),
                        &format!("status.conditions[type={}]", c.type_),
                        &format!(
                            "{} {}: {}",
                            c.type_,
                            c.reason.as_deref().unwrap_or(""),
                            c.message.as_deref().unwrap_or("")
                        ),
                    ));
                }
                f
            }
        };
        for p in component_pods(cx, "osm-controller") {
            f.evidence.push(obj_evidence(
                &p.src,
                object_ref("Pod", Some(NS), &p.metadata.name),
                "status",
                &ready_text(p),
            ));
            if !p.is_evicted() && !p.all_ready() {
                if let Some(c) = main_container(p, "osm-controller") {
                    cite_container(cx, p, c, &mut f);
                }
            }
        }
        if dep.is_none() {
            let names: Vec<String> = cx
                .snap
                .deployments
                .iter()
                .filter(|d| d.metadata.namespace.as_deref() == Some(NS))
                .map(|d| d.metadata.name.clone())
                .collect();
            f.evidence.push(absent_evidence(
                cx,
                &format!("kubectl/namespaces/{NS}/deployments"),
                "deployments in arc-osm-system",
                &names,
            ));
        }
        f.fix
            .push("kubectl logs -n arc-osm-system -l app=osm-controller --previous".into());
        f.fix
            .push("kubectl get pods -n arc-osm-system --selector app=osm-controller".into());
        if dep.is_none() {
            f.fix.push(format!(
                "the extension lost its control plane: {}; repair or reinstall the extension",
                extension_show(cx)
            ));
        }
        vec![f]
    }
}
