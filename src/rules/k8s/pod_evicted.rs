//! K8S005 pod-evicted (info)
//!
//! What it detects: pods in phase `Failed` with reason `Evicted`.
//!
//! Why it matters: the kubelet evicted them under node pressure (memory, disk). A replacement
//! usually runs, so this is worth knowing rather than broken; many evictions point at a node
//! that is short of resources.
//!
//! Evidence: the pod's `status.reason` and `status.message` (the eviction message names the
//! resource that ran low).
//!
//! Fix: check the node's pressure conditions; delete evicted pods once understood
//! (`kubectl delete pod -n <ns> <pod>`).

use super::pod_ref;
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, obj_evidence, Context, Inputs, Rule};

pub struct PodEvicted;

impl Rule for PodEvicted {
    crate::rule_meta!("K8S005", "pod-evicted", Info);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("pods")],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in cx.snap.pods.iter().filter(|p| p.is_evicted()) {
            let msg = p.status.message.clone().unwrap_or_default();
            let mut f = finding(
                self,
                Subject::new("Pod", Some(p.ns()), &p.metadata.name),
                format!("pod {}/{} was evicted", p.ns(), p.metadata.name),
                msg.clone(),
            );
            f.evidence.push(obj_evidence(
                &p.src,
                pod_ref(p),
                "status.message",
                &format!("Evicted: {msg}"),
            ));
            if let Some(node) = p.node() {
                f.fix.push(format!("kubectl describe node {node}"));
            }
            f.fix
                .push(format!("kubectl delete pod -n {} {}", p.ns(), p.metadata.name));
            out.push(f);
        }
        out
    }
}
