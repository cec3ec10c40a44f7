//! FLX004 aks-extension-manager-not-registered (error)
//!
//! What it detects: an AKS cluster (`managedClusters`) whose subscription does not have the
//! `Microsoft.ContainerService/AKS-ExtensionManager` feature `Registered`, as `az feature show
//! --namespace Microsoft.ContainerService --name AKS-ExtensionManager` reports it
//! (`properties.state`: `NotRegistered`, `Registering`, `Unregistered`, ...), while no extension on
//! the cluster has `provisioningState` `Succeeded`. It applies to every AKS cluster, Flux or not:
//! it matters most when no extension was ever installed, since the install fails before Flux
//! exists.
//!
//! Why it matters: on AKS, cluster extensions (and so `microsoft.flux`) are installed by the
//! extension manager; without it the extension cannot be installed. A working extension proves
//! the manager works: extensions went GA on AKS and current clusters no longer need the preview
//! flag, so one extension `Succeeded` keeps the rule quiet whatever the feature says.
//!
//! Evidence: the feature's state from `az feature show`, and the extension list
//! (`az k8s-extension list`) with each extension's provisioning state, or that the list was not
//! collected.
//!
//! Fix: `az feature register --namespace Microsoft.ContainerService --name AKS-ExtensionManager`,
//! wait until `az feature show` says `Registered`, then `az provider register -n
//! Microsoft.ContainerService`. Guide: "Errors installing the microsoft.flux extension".

use crate::facts::ClusterType;
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};
use serde_json::Value;

pub struct AksExtensionManagerNotRegistered;

const SLUG: &str = "feature-show-AKS-ExtensionManager";

impl Rule for AksExtensionManagerNotRegistered {
    crate::rule_meta!("FLX004", "aks-extension-manager-not-registered", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Az(SLUG)],
            optional: vec![Need::Az("k8s-extension-list")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        if cx.facts.cluster_type == ClusterType::ArcConnected {
            return Applies::No("an Arc-enabled cluster: the AKS-ExtensionManager feature concerns AKS only".into());
        }
        // Every AKS cluster, Flux or not (the collector runs `az feature show` for managedClusters
        // only, so with an unknown cluster type its output still points at AKS).
        if cx.facts.cluster_type == ClusterType::Aks || cx.snap.az(SLUG).is_some() {
            Applies::Yes
        } else {
            Applies::Unknown(
                "cannot tell whether this is an AKS cluster: the bundle names no cluster type and holds no az feature show output".into(),
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let Some((v, src)) = cx.snap.az(SLUG) else {
            return Vec::new();
        };
        // The collector runs `az feature show` for managedClusters only, so its presence with an
        // unknown cluster type still points at AKS.
        if cx.facts.cluster_type != ClusterType::Aks && cx.facts.cluster_type != ClusterType::Unknown {
            return Vec::new();
        }
        let state = v
            .pointer("/properties/state")
            .or_else(|| v.get("state"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if state.eq_ignore_ascii_case("Registered") || state.is_empty() {
            return Vec::new();
        }
        // A Succeeded extension proves the extension manager works.
        let list = cx.snap.az("k8s-extension-list");
        let installed: Vec<(&str, &str)> = cx
            .snap
            .extensions
            .iter()
            .map(|e| {
                (
                    e.item.name.as_str(),
                    e.item.provisioning_state.as_deref().unwrap_or("unknown"),
                )
            })
            .collect();
        if installed.iter().any(|(_, s)| s.eq_ignore_ascii_case("Succeeded")) {
            return Vec::new();
        }
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Microsoft.ContainerService/AKS-ExtensionManager");
        let mut f = finding(
            self,
            Subject::new("Feature", None, name),
            format!("the AKS-ExtensionManager feature is {state}, not Registered"),
            format!(
                "cluster {} is an AKS cluster{} and its subscription's {name} feature state is {state}{}: extensions such as microsoft.flux cannot be installed",
                cx.facts.cluster(),
                cx.facts
                    .cluster_type_evidence
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
                match (list.is_some(), installed.is_empty()) {
                    (true, true) => ", and no extension is installed on the cluster",
                    (true, false) => ", and no extension on the cluster has provisioningState Succeeded",
                    (false, _) => "",
                }
            ),
        );
        f.evidence
            .push(obj_evidence(src, format!("feature {name}"), "properties.state", state));
        match list {
            Some((_, lsrc)) if installed.is_empty() => f.evidence.push(obj_evidence(
                lsrc,
                "az k8s-extension list".into(),
                "",
                "no extension installed",
            )),
            Some((_, lsrc)) => f.evidence.push(obj_evidence(
                lsrc,
                "az k8s-extension list".into(),
                "[].provisioningState",
                &format!(
                    "none Succeeded: {}",
                    installed
                        .iter()
                        .map(|(n, s)| format!("{n} {s}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            None => {}
        }
        f.fix
            .push("az feature register --namespace Microsoft.ContainerService --name AKS-ExtensionManager".into());
        f.fix.push("az feature show --namespace Microsoft.ContainerService --name AKS-ExtensionManager --query properties.state   (wait for Registered)".into());
        f.fix.push("az provider register -n Microsoft.ContainerService".into());
        vec![f]
    }
}
