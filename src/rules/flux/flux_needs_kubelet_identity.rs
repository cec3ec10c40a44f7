//! FLX006 flux-needs-kubelet-identity (warning)
//!
//! What it detects: an AKS cluster with a kubelet identity (`identityProfile.kubeletidentity` in
//! `az aks show`) whose Flux registry sources fail to authenticate (`401`, `unauthorized`,
//! `authentication required`, `failed to get credential`) in an OCIRepository, HelmRepository or
//! HelmChart on an Azure Container Registry (`*.azurecr.io`, `.cn`, `.us`, or `provider: azure`),
//! or a source-controller log line about such a registry, while the `microsoft.flux` extension's
//! `useKubeletIdentity` setting is not `"true"`. A source that authenticates with its own secret
//! (`secretRef`, no `provider: azure`) is not this rule: its credentials are at fault. A registry
//! that is not ACR (`oci://ghcr.io/...`) is not this rule, and neither is a Git repository's
//! `authentication required` (a GitRepository condition or log line): kubelet identity never
//! signs in to Git.
//! Flux installed without the extension (`flux bootstrap`) is not this rule: there is no
//! `useKubeletIdentity` setting to change.
//!
//! Why it matters: without `useKubeletIdentity=true` Flux does not use the cluster's kubelet
//! identity to pull from Azure Container Registry, so OCI and Helm sources stay unauthorized.
//!
//! Evidence: the kubelet identity's client ID, the extension's settings, the failing sources'
//! messages and the source-controller log lines.
//!
//! Fix: recreate the extension with `--config useKubeletIdentity=true` (the full
//! `az k8s-extension create` line). Guide: "Kubelet identity when installing the
//! microsoft.flux extension in an AKS cluster".

use super::{flux_applies, flux_extension};
use crate::facts::ClusterType;
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Hit, Inputs, Origin, Rule};
use serde_json::Value;

pub struct FluxNeedsKubeletIdentity;

const REGISTRY_KINDS: &[&str] = &["OCIRepository", "HelmRepository", "HelmChart"];

/// Whether `t` names an Azure Container Registry host (public, China and US Government clouds):
/// kubelet identity signs in to ACR only, so an OCI registry elsewhere (`oci://ghcr.io/...`) is
/// not this rule.
fn acr_text(t: &str) -> bool {
    t.contains(".azurecr.io") || t.contains(".azurecr.cn") || t.contains(".azurecr.us")
}

/// A source-controller log line about a Git repository (`"controllerKind":"GitRepository"`,
/// klog's `gitrepository`): kubelet identity never signs in to Git.
fn git_line(t: &str) -> bool {
    t.contains("GitRepository") || t.contains("gitrepository")
}

impl FluxNeedsKubeletIdentity {
    /// Whether a hit is a registry authentication failure of a Flux source that kubelet identity
    /// would fix.
    fn relevant(&self, cx: &Context, h: &Hit) -> bool {
        match &h.origin {
            Origin::Log { .. } => acr_text(&h.text) && !git_line(&h.text),
            Origin::Object {
                resource,
                kind,
                namespace,
                name,
            } => {
                if !resource.ends_with("source.toolkit.fluxcd.io") || !REGISTRY_KINDS.contains(&kind.as_str()) {
                    return false;
                }
                let Some(o) = cx
                    .snap
                    .resources(resource)
                    .find(|o| o.name() == name && o.namespace() == namespace.as_deref())
                else {
                    return false;
                };
                let spec = o.value.get("spec").cloned().unwrap_or(Value::Null);
                let provider = spec.get("provider").and_then(Value::as_str).unwrap_or("generic");
                let has_secret = spec.get("secretRef").map(|s| !s.is_null()).unwrap_or(false);
                if has_secret && provider != "azure" {
                    return false;
                }
                // Only a source on an Azure Container Registry (`provider: azure` works with ACR
                // only) is one kubelet identity can sign in to.
                let url = spec.get("url").and_then(Value::as_str).unwrap_or("");
                provider == "azure" || acr_text(url) || acr_text(&h.text)
            }
            _ => false,
        }
    }
}

impl Rule for FluxNeedsKubeletIdentity {
    crate::rule_meta!("FLX006", "flux-needs-kubelet-identity", Warning);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Az("cluster-show"), Need::Az("k8s-extension-*")],
            any_of: vec![
                Need::Resource("ocirepositories.source.toolkit.fluxcd.io"),
                Need::Resource("helmrepositories.source.toolkit.fluxcd.io"),
                Need::Resource("helmcharts.source.toolkit.fluxcd.io"),
                Need::Logs("flux-system"),
            ],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        if cx.facts.cluster_type == ClusterType::ArcConnected {
            return Applies::No("an Arc-enabled cluster: kubelet identity is an AKS setting".into());
        }
        flux_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let Some((show, show_src)) = cx.snap.az("cluster-show") else {
            return Vec::new();
        };
        let Some(client_id) = show
            .pointer("/identityProfile/kubeletidentity/clientId")
            .and_then(Value::as_str)
        else {
            return Vec::new();
        };
        // Flux installed by `flux bootstrap` has no extension, so no setting to recommend.
        let Some(ext) = flux_extension(cx) else {
            return Vec::new();
        };
        let setting = ext.setting("useKubeletIdentity");
        if setting
            .as_deref()
            .map(|s| s.eq_ignore_ascii_case("true"))
            .unwrap_or(false)
        {
            return Vec::new();
        }
        let hits: Vec<&Hit> = cx.hits_for("FLX006").filter(|h| self.relevant(cx, h)).collect();
        if hits.is_empty() {
            return Vec::new();
        }
        let ext_name = ext.name.as_str();
        let mut sources: Vec<String> = hits
            .iter()
            .filter_map(|h| match &h.origin {
                Origin::Object {
                    kind, namespace, name, ..
                } => Some(object_ref(kind, namespace.as_deref(), name)),
                _ => None,
            })
            .collect();
        sources.sort();
        sources.dedup();
        let mut f = finding(
            self,
            Subject::new("Extension", None, ext_name),
            "Flux registry sources fail to authenticate and the extension does not use the kubelet identity".to_string(),
            format!(
                "the AKS cluster has kubelet identity {client_id}, the {ext_name} extension's useKubeletIdentity is {}, and {} registry authentication failure(s) were seen{}",
                setting.as_deref().map(|s| format!("\"{s}\"")).unwrap_or_else(|| "not set".into()),
                hits.len(),
                if sources.is_empty() { String::new() } else { format!(" ({})", sources.join(", ")) }
            ),
        );
        f.evidence.push(obj_evidence(
            show_src,
            format!("managedCluster {}", cx.facts.cluster()),
            "identityProfile.kubeletidentity.clientId",
            client_id,
        ));
        f.evidence.push(obj_evidence(
            &ext.src,
            format!("extension {}", ext.name),
            "configurationSettings.useKubeletIdentity",
            setting.as_deref().unwrap_or("<not set>"),
        ));
        f.evidence.extend(hits.iter().map(|h| h.evidence.clone()));
        let (rg, cl) = (cx.facts.rg(), cx.facts.cluster());
        f.fix.push(format!(
            "az k8s-extension delete -g {rg} -c {cl} -n {ext_name} -t managedClusters   (the setting is read at install time)"
        ));
        f.fix.push(format!(
            "az k8s-extension create --resource-group {rg} --cluster-name {cl} --cluster-type managedClusters --name {ext_name} --extension-type microsoft.flux --config useKubeletIdentity=true"
        ));
        f.fix.push("make sure the kubelet identity has AcrPull on the registry: az role assignment create --assignee <KUBELET_CLIENT_ID> --role AcrPull --scope <ACR_RESOURCE_ID>".replace("<KUBELET_CLIENT_ID>", client_id));
        vec![f]
    }
}
