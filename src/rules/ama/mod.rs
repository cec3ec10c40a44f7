//! Rules of the Azure Monitor Container Insights family (`AMA`), one per file, plus what they
//! share: applicability, which pods are the agent's, and the node OS they run on. Rules read the
//! typed views and facts: they know no bundle layout (inputs are logical ids) and never format
//! output.

mod iptables_nat_table_missing;
mod nodes_at_risk_iptables_nat;
mod privileged_pods_disallowed;

use super::{Applies, Context, Rule};
use crate::k8s::Pod;
use crate::model::{Need, Obj};

pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(privileged_pods_disallowed::PrivilegedPodsDisallowed),
        Box::new(iptables_nat_table_missing::IptablesNatTableMissing),
        Box::new(nodes_at_risk_iptables_nat::NodesAtRiskIptablesNat),
    ]
}

/// Where the agent runs, whatever the extension's release namespace says.
pub const NS: &str = "kube-system";
/// The container that sets the iptables nat rules (only with `useAADAuth`).
pub const TOKEN_ADAPTER: &str = "addon-token-adapter";

/// AMA rules apply when Container Insights is installed; when nothing that could show it was
/// collected the question is open, so the rule runs and, finding nothing, is skipped.
pub fn applies(cx: &Context) -> Applies {
    if cx.facts.ama.installed {
        return Applies::Yes;
    }
    let deciders = [
        Need::Az("k8s-extension-*"),
        Need::Az("cluster-show"),
        Need::NsResource(NS, "daemonsets"),
        Need::NsResource(NS, "deployments"),
        Need::NsResource(NS, "pods"),
    ];
    if deciders.iter().any(|n| cx.snap.has(n)) {
        Applies::No(
            "Container Insights is not installed (no microsoft.azuremonitor.containers extension, no omsagent add-on, no ama-logs DaemonSet, Deployment or pods in kube-system)"
                .into(),
        )
    } else {
        Applies::Unknown(format!(
            "cannot tell whether Container Insights is installed: none of {} was collected",
            deciders.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
        ))
    }
}

/// The agent's pods (`ama-logs-*`, `ama-logs-rs-*`) in kube-system, by name.
pub fn ama_pods<'a>(cx: &'a Context) -> Vec<&'a Obj<Pod>> {
    let mut v: Vec<&Obj<Pod>> = cx
        .snap
        .pods
        .iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(NS) && p.metadata.name.starts_with("ama-logs"))
        .collect();
    v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    v
}

/// Whether an `osImage` is Oracle Linux 9.x or RHEL 9.x, where `iptable_nat` is not loaded by
/// default.
pub fn is_el9(os_image: &str) -> bool {
    let os = os_image.trim();
    [
        "Oracle Linux Server 9",
        "Red Hat Enterprise Linux 9",
        "Red Hat Enterprise Linux Server 9",
    ]
    .iter()
    .any(|p| {
        os.strip_prefix(p)
            .map(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with(' '))
            .unwrap_or(false)
    })
}

/// `name (osImage)` for a node, as fixes and evidence print it.
pub fn node_text(cx: &Context, node: &str) -> String {
    match cx.facts.node_os.get(node) {
        Some(os) if !os.is_empty() => format!("{node} ({os})"),
        _ => format!("{node} (osImage unknown)"),
    }
}

/// The fix lines for a missing `iptable_nat` module on `nodes`.
pub fn iptable_nat_fix(nodes: &[String]) -> Vec<String> {
    vec![
        format!(
            "on each of these nodes: {}",
            if nodes.is_empty() {
                "<NODE>".to_string()
            } else {
                nodes.join(", ")
            }
        ),
        "sudo modprobe iptable_nat".into(),
        "echo iptable_nat | sudo tee /etc/modules-load.d/iptable_nat.conf   # loads it again after a reboot".into(),
        "(the guide writes `iptables_nat`; the kernel module is `iptable_nat`)".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::is_el9;

    #[test]
    fn el9_images() {
        assert!(is_el9("Oracle Linux Server 9.3"));
        assert!(is_el9("Oracle Linux Server 9"));
        assert!(is_el9("Red Hat Enterprise Linux 9.2 (Plow)"));
        assert!(!is_el9("Oracle Linux Server 8.9"));
        assert!(!is_el9("Oracle Linux Server 90"));
        assert!(!is_el9("Red Hat Enterprise Linux CoreOS 414.92.202402201450-0 (Plow)"));
        assert!(!is_el9("Ubuntu 22.04.4 LTS"));
    }
}
