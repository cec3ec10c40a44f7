//! FLX004 aks-extension-manager-not-registered (error)
//!
//! What it detects: an AKS cluster (`managedClusters`) whose subscription does not have the
//! `Microsoft.ContainerService/AKS-ExtensionManager` feature `Registered`, as `az feature show
//! --namespace Microsoft.ContainerService --name AKS-ExtensionManager` reports it
//! (`properties.state`: `NotRegistered`, `Registering`, `Unregistered`, ...).
//!
//! Why it matters: on AKS, cluster extensions (and so `microsoft.flux`) are installed by the
//! extension manager; without the feature the extension cannot be installed.
//!
//! Evidence: the feature's state from `az feature show`, and how the cluster type was known.
//!
//! Fix: `az feature register --namespace Microsoft.ContainerService --name AKS-ExtensionManager`,
//! wait until `az feature show` says `Registered`, then `az provider register -n
//! Microsoft.ContainerService`. Guide: "Errors installing the microsoft.flux extension".

use super::flux_applies;
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
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        if cx.facts.cluster_type == ClusterType::ArcConnected {
            return Applies::No("an Arc-enabled cluster: the AKS-ExtensionManager feature concerns AKS only".into());
        }
        flux_applies(cx)
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
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Microsoft.ContainerService/AKS-ExtensionManager");
        let mut f = finding(
            self,
            Subject::new("Feature", None, name),
            format!("the AKS-ExtensionManager feature is {state}, not Registered"),
            format!(
                "cluster {} is an AKS cluster{} and its subscription's {name} feature state is {state}: extensions such as microsoft.flux cannot be installed",
                cx.facts.cluster(),
                cx.facts
                    .cluster_type_evidence
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ),
        );
        f.evidence
            .push(obj_evidence(src, format!("feature {name}"), "properties.state", state));
        f.fix
            .push("az feature register --namespace Microsoft.ContainerService --name AKS-ExtensionManager".into());
        f.fix.push("az feature show --namespace Microsoft.ContainerService --name AKS-ExtensionManager --query properties.state   (wait for Registered)".into());
        f.fix.push("az provider register -n Microsoft.ContainerService".into());
        vec![f]
    }
}
