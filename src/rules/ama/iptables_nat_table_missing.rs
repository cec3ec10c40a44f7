//! AMA002 iptables-nat-table-missing (error)
//!
//! What it detects: the `addon-token-adapter` container of an `ama-logs` or `ama-logs-rs` pod
//! logs `can't initialize iptables table `nat'` or `error modifying iptable rules`: the node's
//! kernel has no `iptable_nat` module loaded, which Oracle Linux 9.x and RHEL 9.x do not load by
//! default.
//!
//! Why it matters: the adapter redirects the agent's token requests with an iptables nat rule;
//! without the nat table it fails, and the AMA pods never become ready, so no monitoring data
//! reaches Azure Monitor.
//!
//! Evidence: the log lines, and every affected pod with its node and that node's `osImage`.
//!
//! Fix: on each listed node `sudo modprobe iptable_nat`; to keep it after a reboot
//! `echo iptable_nat | sudo tee /etc/modules-load.d/iptable_nat.conf`; then retry the AMA
//! install. (The guide writes `iptables_nat`; the kernel module is `iptable_nat`.)

use super::{applies, iptable_nat_fix, is_el9, node_text, NS, TOKEN_ADAPTER};
use crate::finding::{Evidence, Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Hit, Inputs, Origin, Rule};
use std::collections::BTreeMap;

pub struct IptablesNatTableMissing;

impl Rule for IptablesNatTableMissing {
    crate::rule_meta!("AMA002", "iptables-nat-table-missing", Error);

    /// Its pods crash-loop (K8S001), so the extension's pods are not ready (EXT002) and its
    /// install or upgrade fails (EXT001).
    fn explains(&self) -> &[&str] {
        &["K8S001", "EXT002", "EXT001"]
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Logs(NS)],
            optional: vec![Need::NsResource(NS, "pods"), Need::Resource("nodes")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut by_pod: BTreeMap<&str, Vec<&Hit>> = BTreeMap::new();
        for h in cx.hits_for("AMA002") {
            if let Origin::Log {
                namespace,
                pod,
                container,
                ..
            } = &h.origin
            {
                if namespace == NS && container == TOKEN_ADAPTER && pod.starts_with("ama-logs") {
                    by_pod.entry(pod.as_str()).or_default().push(h);
                }
            }
        }
        if by_pod.is_empty() {
            return Vec::new();
        }
        let mut nodes: Vec<String> = Vec::new();
        let mut pod_lines: Vec<String> = Vec::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        for (pod, hits) in &by_pod {
            let p = cx
                .snap
                .pods
                .iter()
                .find(|p| p.metadata.namespace.as_deref() == Some(NS) && p.metadata.name == *pod);
            let node = p.and_then(|p| p.node()).map(str::to_string);
            let where_ = match &node {
                Some(n) => format!("node {}", node_text(cx, n)),
                None => "node unknown (the pod is not in the bundle)".to_string(),
            };
            pod_lines.push(format!("{pod} on {where_}"));
            match p {
                Some(p) => evidence.push(obj_evidence(
                    &p.src,
                    object_ref("Pod", Some(NS), pod),
                    "spec.nodeName",
                    &format!("{pod} on {where_}"),
                )),
                None => evidence.push(Evidence {
                    path: hits[0].evidence.path.clone(),
                    line: None,
                    object: Some(object_ref("Pod", Some(NS), pod)),
                    field: None,
                    excerpt: format!("{pod} on {where_}"),
                }),
            }
            if let Some(n) = node {
                let t = node_text(cx, &n);
                if !nodes.contains(&t) {
                    nodes.push(t);
                }
            }
            evidence.extend(hits.iter().take(3).map(|h| h.evidence.clone()));
        }
        nodes.sort();
        let mut f = finding(
            self,
            Subject::new("DaemonSet", Some(NS), "ama-logs"),
            format!(
                "AMA's addon-token-adapter cannot set iptables nat rules in {} pod(s): the iptable_nat module is not loaded",
                by_pod.len()
            ),
            format!(
                "{}. The node kernel has no nat table (Oracle Linux / RHEL 9.x do not load iptable_nat by default), so the AMA pods cannot work.",
                pod_lines.join("; ")
            ),
        );
        f.evidence = evidence;
        f.fix = iptable_nat_fix(&nodes);
        let others: Vec<String> = cx
            .facts
            .node_os
            .iter()
            .filter(|(n, os)| is_el9(os) && !nodes.iter().any(|x| x.starts_with(&format!("{n} ("))))
            .map(|(n, _)| node_text(cx, n))
            .collect();
        if !others.is_empty() {
            f.fix.push(format!(
                "the same OS runs on {}: load the module there too before AMA schedules onto them",
                others.join(", ")
            ));
        }
        f.fix.push("then retry the AMA install, or restart its pods: kubectl -n kube-system rollout restart daemonset ama-logs && kubectl -n kube-system rollout restart deployment ama-logs-rs".into());
        vec![f]
    }
}
