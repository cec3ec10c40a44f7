//! K8S006 node-not-ready (error)
//!
//! What it detects: a node whose `Ready` condition is not `True`, or whose `MemoryPressure`,
//! `DiskPressure` or `PIDPressure` condition is `True`.
//!
//! Why it matters: pods on a NotReady node stop being served and are rescheduled; pressure makes
//! the kubelet evict pods and refuse new ones. Extension agents on that node fail with it.
//!
//! Evidence: the condition (type, status, reason, message, last transition).
//!
//! Fix: `kubectl describe node <node>`; check the kubelet and container runtime on the node,
//! and free or add memory, disk or PIDs.

use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Context, Inputs, Rule};

pub struct NodeNotReady;

const PRESSURES: &[&str] = &["MemoryPressure", "DiskPressure", "PIDPressure"];

impl Rule for NodeNotReady {
    crate::rule_meta!("K8S006", "node-not-ready", Error);

    /// The pods on an unhealthy node fail with it, and so does an extension whose pods they are.
    fn explains(&self) -> &[&str] {
        &["K8S001", "K8S002", "K8S003", "K8S004", "K8S005", "EXT002"]
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("nodes")],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for n in &cx.snap.nodes {
            let mut bad = Vec::new();
            for (i, c) in n.status.conditions.iter().enumerate() {
                let is_bad = (c.type_ == "Ready" && c.status != "True")
                    || (PRESSURES.contains(&c.type_.as_str()) && c.status == "True");
                if is_bad {
                    bad.push((i, c));
                }
            }
            if bad.is_empty() {
                continue;
            }
            let what: Vec<String> = bad.iter().map(|(_, c)| format!("{}={}", c.type_, c.status)).collect();
            let mut f = finding(
                self,
                Subject::new("Node", None, &n.metadata.name),
                format!("node {} is unhealthy: {}", n.metadata.name, what.join(", ")),
                bad.iter()
                    .map(|(_, c)| format!("{}: {}", c.type_, c.message.as_deref().unwrap_or("no message")))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            for (i, c) in bad {
                f.evidence.push(obj_evidence(
                    &n.src,
                    object_ref("Node", None, &n.metadata.name),
                    &format!("status.conditions[{i}]"),
                    &format!(
                        "{}={} reason {} since {}: {}",
                        c.type_,
                        c.status,
                        c.reason.as_deref().unwrap_or("?"),
                        c.last_transition_time.as_deref().unwrap_or("?"),
                        c.message.as_deref().unwrap_or("")
                    ),
                ));
            }
            f.fix.push(format!("kubectl describe node {}", n.metadata.name));
            f.fix
                .push("check the kubelet and the container runtime on that node (journalctl -u kubelet)".into());
            out.push(f);
        }
        out
    }
}
