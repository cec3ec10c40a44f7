//! AMA003 nodes-at-risk-iptables-nat (info)
//!
//! What it detects: nodes running Oracle Linux 9.x or RHEL 9.x (`status.nodeInfo.osImage`) for
//! which the bundle holds no `addon-token-adapter` log of an AMA pod on that node. On these
//! systems `iptable_nat` is not loaded by default, so AMA's token adapter may fail there
//! (AMA002). A node whose adapter log was collected is not listed: a clean log shows no risk,
//! and a failing one is AMA002's. Only the token adapter (deployed with `useAADAuth`) sets
//! iptables rules: a node whose AMA pods run no `addon-token-adapter` container is not listed,
//! nor is any node when the cluster's AMA pods run none (a node without AMA pods then gets one
//! without it too).
//!
//! Why it matters: the AMA install, or a pod rescheduled onto such a node later, fails with
//! `can't initialize iptables table `nat'` until the module is loaded.
//!
//! Evidence: one finding listing every such node with its `osImage` and kernel.
//!
//! Fix: load `iptable_nat` before installing: on each listed node `sudo modprobe iptable_nat`
//! and `echo iptable_nat | sudo tee /etc/modules-load.d/iptable_nat.conf` to keep it after a
//! reboot. (The guide writes `iptables_nat`; the kernel module is `iptable_nat`.)

use super::{ama_pods, applies, iptable_nat_fix, is_el9, node_text, NS, TOKEN_ADAPTER};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct NodesAtRiskIptablesNat;

impl Rule for NodesAtRiskIptablesNat {
    crate::rule_meta!("AMA003", "nodes-at-risk-iptables-nat", Info);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("nodes"), Need::NsResource(NS, "pods")],
            optional: vec![Need::Logs(NS)],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let pods = ama_pods(cx);
        let adapter = |p: &&crate::model::Obj<crate::k8s::Pod>| p.container(TOKEN_ADAPTER).is_some();
        // With AMA pods but no token adapter anywhere, useAADAuth is off: nothing uses iptables.
        if !pods.is_empty() && !pods.iter().any(adapter) {
            return Vec::new();
        }
        let mut at_risk = Vec::new();
        let mut nodes: Vec<_> = cx
            .snap
            .nodes
            .iter()
            .filter(|n| is_el9(&n.status.node_info.os_image))
            .collect();
        nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for n in nodes {
            let name = n.metadata.name.as_str();
            let here: Vec<_> = pods.iter().filter(|p| p.node() == Some(name)).collect();
            // The node's AMA pods run no token adapter: nothing there touches iptables.
            if !here.is_empty() && !here.iter().any(|p| adapter(p)) {
                continue;
            }
            let logged = here.iter().any(|p| {
                cx.snap.log_of(NS, &p.metadata.name, TOKEN_ADAPTER, false).is_some()
                    || cx.snap.log_of(NS, &p.metadata.name, TOKEN_ADAPTER, true).is_some()
            });
            if !logged {
                at_risk.push(n);
            }
        }
        if at_risk.is_empty() {
            return Vec::new();
        }
        let names: Vec<String> = at_risk.iter().map(|n| node_text(cx, &n.metadata.name)).collect();
        let mut f = finding(
            self,
            Subject::cluster(),
            format!(
                "{} node(s) run Oracle Linux / RHEL 9.x, where AMA needs the iptable_nat module loaded",
                at_risk.len()
            ),
            format!(
                "{}: iptable_nat is not loaded by default there, and no addon-token-adapter log from these nodes is in the bundle to show it works.",
                names.join(", ")
            ),
        );
        for n in &at_risk {
            f.evidence.push(obj_evidence(
                &n.src,
                object_ref("Node", None, &n.metadata.name),
                "status.nodeInfo.osImage",
                &format!(
                    "{} (kernel {})",
                    n.status.node_info.os_image, n.status.node_info.kernel_version
                ),
            ));
        }
        f.fix = iptable_nat_fix(&names);
        vec![f]
    }
}
