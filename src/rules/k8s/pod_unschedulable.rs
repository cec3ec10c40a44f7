//! K8S004 pod-unschedulable (error)
//!
//! What it detects: a `Pending` pod the scheduler cannot place: its `PodScheduled` condition is
//! `False` with reason `Unschedulable`, or a `FailedScheduling` event names it. Events may carry
//! `eventTime` and `series` instead of `firstTimestamp`/`lastTimestamp`; both are read.
//!
//! Why it matters: the workload never starts. For extension controllers this usually means the
//! nodes lack CPU or memory, or taints and node selectors exclude every node.
//!
//! Evidence: the condition and the latest `FailedScheduling` event message, quoted.
//!
//! Fix: per the scheduler's message: add or enlarge nodes (`Insufficient cpu/memory`), add
//! tolerations or remove taints, or relax node selectors and affinity.

use super::{pod_events, pod_ref};
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, obj_evidence, Context, Inputs, Rule};

pub struct PodUnschedulable;

impl Rule for PodUnschedulable {
    crate::rule_meta!("K8S004", "pod-unschedulable", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("pods")],
            optional: vec![Need::Resource("events")],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in &cx.snap.pods {
            if p.status.phase != "Pending" {
                continue;
            }
            let cond = p
                .status
                .conditions
                .iter()
                .enumerate()
                .find(|(_, c)| c.type_ == "PodScheduled" && c.status == "False");
            let events: Vec<_> = pod_events(cx.snap, p)
                .into_iter()
                .filter(|e| e.reason == "FailedScheduling")
                .collect();
            if cond.is_none() && events.is_empty() {
                continue;
            }
            let latest = events
                .last()
                .map(|e| e.message.clone())
                .or_else(|| cond.and_then(|(_, c)| c.message.clone()))
                .unwrap_or_default();
            let mut f = finding(
                self,
                Subject::new("Pod", Some(p.ns()), &p.metadata.name),
                format!("pod {}/{} cannot be scheduled", p.ns(), p.metadata.name),
                latest.clone(),
            );
            if let Some((i, c)) = cond {
                f.evidence.push(obj_evidence(
                    &p.src,
                    pod_ref(p),
                    &format!("status.conditions[{i}]"),
                    &format!(
                        "PodScheduled=False {}: {}",
                        c.reason.as_deref().unwrap_or(""),
                        c.message.as_deref().unwrap_or("")
                    ),
                ));
            }
            if let Some(e) = events.last() {
                f.evidence.push(obj_evidence(
                    &e.src,
                    crate::model::object_ref("Event", e.metadata.namespace.as_deref(), &e.metadata.name),
                    "message",
                    &format!("FailedScheduling (x{}): {}", e.times(), e.message),
                ));
            }
            if latest.contains("Insufficient cpu") || latest.contains("Insufficient memory") {
                f.fix.push(
                    "add nodes or use larger nodes: the cluster lacks the CPU or memory this pod requests".into(),
                );
            }
            if latest.contains("taint") {
                f.fix
                    .push("add a toleration for the nodes' taints, or remove the taints".into());
            }
            if latest.contains("affinity") || latest.contains("selector") {
                f.fix
                    .push("relax the pod's nodeSelector or affinity so that some node matches".into());
            }
            f.fix
                .push(format!("kubectl describe pod -n {} {}", p.ns(), p.metadata.name));
            out.push(f);
        }
        out
    }
}
