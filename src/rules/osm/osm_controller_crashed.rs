//! OSM002 osm-controller-crashed (error)
//!
//! What it detects: no `osm-controller` pod in `arc-osm-system` is `Running` with all its
//! containers ready. A pod at READY `0/1` means the control-plane container crashed. An
//! `Evicted` controller pod beside a healthy one is not an outage (the guide's own healthy
//! output shows one) and does not fire. A `Pending` controller pod (the replacement of an
//! evicted one the scheduler cannot place) did not crash: the report says it is Pending and why.
//!
//! Why it matters: with no running controller the mesh has no control plane: sidecars get no
//! configuration or certificates and OSM's validating webhook cannot answer.
//!
//! Evidence: each controller pod's READY state and phase; for a pod that is not ready, the
//! control-plane container's waiting reason, last termination reason, exit code and restart
//! count, and the last lines of its previous log when the bundle has it.
//!
//! Fix: read the previous log (`kubectl logs -n arc-osm-system <pod> -c osm-controller
//! --previous`) and the pod's events; the exit code and log say why it died (137: killed, often
//! out of memory).

use super::{applies, cite_container, collected, component_pods, main_container, ready_text, NS};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmControllerCrashed;

impl Rule for OsmControllerCrashed {
    crate::rule_meta!("OSM002", "osm-controller-crashed", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, "pods")],
            optional: vec![Need::Logs(NS)],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        if !collected(cx, "pods") {
            return Vec::new();
        }
        let pods = component_pods(cx, "osm-controller");
        if pods.iter().any(|p| p.all_ready()) {
            return Vec::new();
        }
        let live: Vec<_> = pods.iter().filter(|p| !p.is_evicted() && !p.is_succeeded()).collect();
        let (title, message) = if pods.is_empty() {
            (
                "no osm-controller pod exists in arc-osm-system".to_string(),
                "The pods of arc-osm-system were collected and none is an osm-controller pod: the control plane is not running (see OSM001 for the deployment).".to_string(),
            )
        } else if live.is_empty() {
            (
                "every osm-controller pod was evicted and none replaced it".to_string(),
                format!(
                    "{} controller pod(s), all Evicted; no controller is Running.",
                    pods.len()
                ),
            )
        } else {
            // A Pending pod (the replacement of an evicted one, say) never started: it did not
            // crash, the scheduler has not placed it.
            fn pending(p: &crate::k8s::Pod) -> bool {
                p.status.phase == "Pending"
            }
            let scheduling = |p: &crate::k8s::Pod| {
                p.status
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "PodScheduled" && c.status == "False")
                    .and_then(|c| c.message.clone())
                    .unwrap_or_else(|| "not scheduled yet".into())
            };
            let mut parts = Vec::new();
            let crashed: Vec<String> = live
                .iter()
                .filter(|p| !pending(p))
                .map(|p| format!("{} ({})", p.metadata.name, ready_text(p)))
                .collect();
            if !crashed.is_empty() {
                parts.push(format!(
                    "No controller pod is Running with all containers ready; READY 0/1 means the control-plane container crashed. {}.",
                    crashed.join("; ")
                ));
            }
            for p in live.iter().filter(|p| pending(p)) {
                parts.push(format!("{} is Pending: {}", p.metadata.name, scheduling(p)));
            }
            let evicted = pods.iter().filter(|p| p.is_evicted()).count();
            if evicted > 0 {
                parts.push(format!("{evicted} controller pod(s) Evicted."));
            }
            (
                format!(
                    "osm-controller is not running: {}",
                    live.iter()
                        .map(|p| {
                            if pending(p) {
                                format!("{} Pending", p.metadata.name)
                            } else {
                                let (r, t) = p.ready_count();
                                format!("{} READY {r}/{t}", p.metadata.name)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                parts.join(" "),
            )
        };
        let subject = match live.first() {
            Some(p) => Subject::new("Pod", Some(NS), &p.metadata.name),
            None => Subject::new("Deployment", Some(NS), "osm-controller"),
        };
        let mut f = finding(self, subject, title, message);
        for p in &pods {
            f.evidence.push(obj_evidence(
                &p.src,
                object_ref("Pod", Some(NS), &p.metadata.name),
                "status",
                &match (&p.status.reason, &p.status.message) {
                    (Some(r), Some(m)) => format!("{}: {r}: {m}", ready_text(p)),
                    _ => ready_text(p),
                },
            ));
        }
        for p in &live {
            if p.status.phase == "Pending" {
                if let Some((i, c)) = p
                    .status
                    .conditions
                    .iter()
                    .enumerate()
                    .find(|(_, c)| c.type_ == "PodScheduled" && c.status == "False")
                {
                    f.evidence.push(obj_evidence(
                        &p.src,
                        object_ref("Pod", Some(NS), &p.metadata.name),
                        &format!("status.conditions[{i}].message"),
                        c.message.as_deref().unwrap_or(""),
                    ));
                }
                f.fix.push(format!("kubectl describe pod -n {NS} {}", p.metadata.name));
                continue;
            }
            if let Some(c) = main_container(p, "osm-controller") {
                cite_container(cx, p, c, &mut f);
                f.fix
                    .push(format!("kubectl logs -n {NS} {} -c {c} --previous", p.metadata.name));
            }
            f.fix.push(format!("kubectl describe pod -n {NS} {}", p.metadata.name));
        }
        if live.is_empty() {
            f.fix
                .push("kubectl describe deployment -n arc-osm-system osm-controller".into());
            f.fix
                .push("kubectl get events -n arc-osm-system --field-selector involvedObject.kind=Pod".into());
        }
        vec![f]
    }
}
