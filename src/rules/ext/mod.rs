//! Rules about any cluster extension (`EXT`), one per file. They apply when the bundle holds
//! `az k8s-extension list/show` output. Rules read the typed views and facts: they know no bundle
//! layout (inputs are logical ids) and never format output.

mod extension_failed;
mod extension_pods_unhealthy;

use super::{Applies, Context, Rule};
use crate::k8s::Pod;
use crate::model::{Need, Obj};

pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(extension_failed::ExtensionFailed),
        Box::new(extension_pods_unhealthy::ExtensionPodsUnhealthy),
    ]
}

/// EXT rules apply when `az k8s-extension list/show` output is in the bundle. When it was
/// attempted but failed, the rule runs and its required input makes it `skipped`; when it was
/// not collected at all, whether any extension is installed cannot be told (`skipped` too).
pub fn ext_applies(cx: &Context) -> Applies {
    if !cx.snap.extensions.is_empty() {
        return Applies::Yes;
    }
    match cx.snap.need_state(&Need::Az("k8s-extension-*")) {
        crate::model::NeedState::Present => {
            Applies::No("no cluster extension is installed (az k8s-extension list is empty)".into())
        }
        crate::model::NeedState::Failed(_) => Applies::Yes,
        crate::model::NeedState::Absent(why) => {
            Applies::Unknown(format!("cannot tell whether any cluster extension is installed: {why}"))
        }
    }
}

/// Whether extension `e` manages pod `p`. An extension's pods are those in its release namespace
/// (`scope.cluster.releaseNamespace` or `scope.namespace.targetNamespace`, else the well-known
/// one of its type), plus where a known extension runs elsewhere (Container Insights: `ama-logs*`
/// in `kube-system`). In a shared namespace (`kube-system`, `default`, or one holding another
/// extension's release) only pods of the extension's Helm release count: labeled
/// `app.kubernetes.io/instance` or `release` with the extension's name, or owned by a workload
/// with `app.kubernetes.io/managed-by: Helm` and `meta.helm.sh/release-name` naming it.
pub fn manages(cx: &Context, e: &crate::model::Obj<crate::model::az::Extension>, p: &Obj<Pod>) -> bool {
    let ns = e.release_namespace().or_else(|| default_namespace(&e.extension_type));
    let ama = e.is_type("microsoft.azuremonitor.containers");
    if ama && p.ns() == "kube-system" && p.metadata.name.starts_with("ama-logs") {
        return true;
    }
    if Some(p.ns()) != ns {
        return false;
    }
    let shared = SHARED.contains(&p.ns())
        || cx
            .snap
            .extensions
            .iter()
            .any(|o| o.name != e.name && o.release_namespace() == Some(p.ns()));
    !shared || pod_of_release(cx, p, &e.name)
}

/// The namespace an extension type installs into when its scope is not in the output.
pub fn default_namespace(extension_type: &str) -> Option<&'static str> {
    match extension_type.to_ascii_lowercase().as_str() {
        "microsoft.flux" => Some("flux-system"),
        "microsoft.openservicemesh" => Some("arc-osm-system"),
        _ => None,
    }
}

/// Namespaces other workloads share, where a pod is the release's only when it says so.
const SHARED: &[&str] = &["kube-system", "default"];

/// Whether an object's metadata marks it as part of Helm release `release`.
fn helm_owned(meta: &serde_json::Value, release: &str) -> bool {
    let label = |k: &str| {
        meta.pointer(&format!("/labels/{}", k.replace('/', "~1")))
            .and_then(serde_json::Value::as_str)
    };
    let annotation = meta
        .pointer("/annotations/meta.helm.sh~1release-name")
        .and_then(serde_json::Value::as_str);
    label("app.kubernetes.io/managed-by") == Some("Helm") && annotation == Some(release)
}

/// Whether a pod belongs to Helm release `release`: by its own labels, or by the Helm marks of
/// its owner or its owner's owner (Pod -> ReplicaSet -> Deployment).
fn pod_of_release(cx: &Context, p: &Obj<Pod>, release: &str) -> bool {
    let labels = &p.metadata.labels;
    if labels.get("app.kubernetes.io/instance").map(crate::k8s::Str::as_str) == Some(release)
        || labels.get("release").map(crate::k8s::Str::as_str) == Some(release)
    {
        return true;
    }
    let mut owners: Vec<(String, String)> = p
        .metadata
        .owner_references
        .iter()
        .map(|o| (o.kind.to_string(), o.name.to_string()))
        .collect();
    for _ in 0..2 {
        let mut next = Vec::new();
        for (kind, name) in &owners {
            let Some(o) = cx
                .snap
                .bundle
                .objects
                .iter()
                .find(|o| o.kind() == kind && o.name() == name && o.namespace() == Some(p.ns()))
            else {
                continue;
            };
            let meta = o.value.get("metadata").cloned().unwrap_or_default();
            if helm_owned(&meta, release) {
                return true;
            }
            if let Some(refs) = meta.get("ownerReferences").and_then(serde_json::Value::as_array) {
                for r in refs {
                    let f = |k: &str| r.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_string();
                    next.push((f("kind"), f("name")));
                }
            }
        }
        owners = next;
    }
    false
}

/// The extension that manages pod `p`, as `(name, extension type)`: one in the bundle's
/// extension list that [`manages`] it, else (when no list was collected) the well-known release
/// of its namespace when the pod is that Helm release's (`flux` in `flux-system`, `osm` in
/// `arc-osm-system`, `azuremonitor-containers` for `ama-logs*` in `kube-system`). Such pods are
/// reconciled by the extension: a change made with kubectl is reverted.
pub fn managing_extension(cx: &Context, p: &Obj<Pod>) -> Option<(String, String)> {
    if let Some(e) = cx.snap.extensions.iter().find(|e| manages(cx, e, p)) {
        return Some((e.name.clone(), e.extension_type.clone()));
    }
    if cx.snap.has(&Need::Az("k8s-extension-*")) {
        return None;
    }
    let (name, ty) = match p.ns() {
        "flux-system" => ("flux", "microsoft.flux"),
        "arc-osm-system" => ("osm", "microsoft.openservicemesh"),
        // On AKS, ama-logs without an extension is the monitoring add-on.
        "kube-system"
            if p.metadata.name.starts_with("ama-logs")
                && cx.facts.cluster_type == crate::facts::ClusterType::ArcConnected =>
        {
            ("azuremonitor-containers", "microsoft.azuremonitor.containers")
        }
        _ => return None,
    };
    (pod_of_release(cx, p, name) || p.ns() == "kube-system").then(|| (name.to_string(), ty.to_string()))
}
