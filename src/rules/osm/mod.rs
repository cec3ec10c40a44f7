//! Rules of the Open Service Mesh family (`OSM`), one per file, plus what they share: which
//! objects are the OSM control plane in `arc-osm-system`, applicability, the installed OSM
//! release, and how a crashed control-plane container is cited.
//!
//! Rules that are one check applied to different objects have one implementation, in a file
//! the family owns: `component` (osm-controller and osm-injector: unavailable, service wrong,
//! no endpoints), `webhook` (the validating and mutating webhook configurations) and
//! `meshconfig` (the MeshConfig key table and the frame of the three MeshConfig rules). Each
//! code keeps its own rule file, which holds its `//!` doc (the `arcdiag explain` text) and its
//! identity ([`Meta`]). Helpers shared by rule files live here or in those files, never in a rule
//! file.

/// The identity of a rule whose implementation serves several codes: the code, name, severity
/// and `doc`, a function in the code's own rule file that returns its `//!` doc
/// (`crate::rule_doc!()` expanded there), so each code keeps its own `arcdiag explain` text.
pub struct Meta {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub doc: fn() -> String,
}

/// `code`, `name`, `severity` and `doc` of a `Rule` from its `meta` field.
macro_rules! meta_rule {
    () => {
        fn code(&self) -> &str {
            self.meta.code
        }
        fn name(&self) -> &str {
            self.meta.name
        }
        fn severity(&self) -> $crate::finding::Severity {
            self.meta.severity
        }
        fn doc(&self) -> String {
            (self.meta.doc)()
        }
    };
}
pub(crate) use meta_rule;

mod component;
mod meshconfig;
mod namespace_half_joined;
mod osm_controller_crashed;
mod osm_controller_has_sidecar;
mod osm_controller_no_endpoints;
mod osm_controller_service_wrong;
mod osm_controller_unavailable;
mod osm_injector_no_endpoints;
mod osm_injector_service_wrong;
mod osm_injector_unavailable;
mod osm_meshconfig_invalid;
mod osm_meshconfig_missing;
mod osm_meshconfig_non_default;
mod osm_mutating_webhook_wrong;
mod osm_system_namespace_in_mesh;
mod osm_validating_webhook_wrong;
mod osm_webhook_ca_bundle_missing;
mod pods_missing_sidecar;
mod smi_crds_missing;
mod webhook;

use super::{obj_evidence, Applies, Context, Rule};
use crate::finding::{Finding, Severity};
use crate::k8s::{Pod, WebhookConfiguration};
use crate::model::{object_ref, Need, Obj};

pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(osm_controller_unavailable::RULE),
        Box::new(osm_controller_crashed::OsmControllerCrashed),
        Box::new(osm_controller_has_sidecar::OsmControllerHasSidecar),
        Box::new(osm_controller_service_wrong::RULE),
        Box::new(osm_controller_no_endpoints::RULE),
        Box::new(osm_injector_unavailable::RULE),
        Box::new(osm_injector_service_wrong::RULE),
        Box::new(osm_injector_no_endpoints::RULE),
        Box::new(osm_validating_webhook_wrong::RULE),
        Box::new(osm_mutating_webhook_wrong::RULE),
        Box::new(osm_webhook_ca_bundle_missing::OsmWebhookCaBundleMissing),
        Box::new(osm_meshconfig_missing::RULE),
        Box::new(osm_meshconfig_invalid::RULE),
        Box::new(osm_meshconfig_non_default::RULE),
        Box::new(osm_system_namespace_in_mesh::OsmSystemNamespaceInMesh),
        Box::new(namespace_half_joined::NamespaceHalfJoined),
        Box::new(pods_missing_sidecar::PodsMissingSidecar),
        Box::new(smi_crds_missing::SmiCrdsMissing),
    ]
}

/// The namespace the Arc OSM extension installs into.
pub const NS: &str = "arc-osm-system";
/// The namespace label that joins a namespace to the mesh.
pub const MONITORED_BY: &str = "openservicemesh.io/monitored-by";
/// The namespace annotation that turns sidecar injection on.
pub const SIDECAR_INJECTION: &str = "openservicemesh.io/sidecar-injection";
/// The MeshConfig the extension creates.
pub const MESHCONFIG: &str = "osm-mesh-config";
pub const MESHCONFIG_RESOURCE: &str = "meshconfigs.config.openservicemesh.io";
/// The Arc names of the two webhook configurations (mesh name `osm`).
pub const VALIDATING_WEBHOOK: &str = "osm-validator-mesh-osm";
pub const MUTATING_WEBHOOK: &str = "arc-osm-webhook-osm";

/// OSM rules apply when OSM is installed; when nothing that could show it was collected the
/// question is open, so the rule runs and, finding nothing, is skipped for its missing inputs.
pub fn applies(cx: &Context) -> Applies {
    if cx.facts.osm.installed {
        return Applies::Yes;
    }
    let deciders = [
        Need::Az("k8s-extension-*"),
        Need::NsResource(NS, "deployments"),
        Need::Resource("customresourcedefinitions"),
        Need::NsResource(NS, MESHCONFIG_RESOURCE),
    ];
    if deciders.iter().any(|n| cx.snap.has(n)) {
        Applies::No(
            "Open Service Mesh is not installed (no microsoft.openservicemesh extension, no osm-* deployment in arc-osm-system, no MeshConfig; OSM CRDs alone are leftovers of an uninstall)"
                .into(),
        )
    } else {
        Applies::Unknown(format!(
            "cannot tell whether Open Service Mesh is installed: none of {} was collected",
            deciders.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
        ))
    }
}

/// Pods of one OSM component (`app=<app>` or named `<app>-...`) in `arc-osm-system`, by name.
pub fn component_pods<'a>(cx: &'a Context, app: &str) -> Vec<&'a Obj<Pod>> {
    let prefix = format!("{app}-");
    let mut v: Vec<&Obj<Pod>> = cx
        .snap
        .pods
        .iter()
        .filter(|p| {
            p.metadata.namespace.as_deref() == Some(NS)
                && (p.metadata.labels.get("app").map(crate::k8s::Str::as_str) == Some(app)
                    || p.metadata.name.starts_with(&prefix))
        })
        .collect();
    v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    v
}

/// Whether the namespaced input `resource` of `arc-osm-system` was collected.
pub fn collected(cx: &Context, resource: &'static str) -> bool {
    cx.snap.has(&Need::NsResource(NS, resource))
}

/// `READY r/t` and the phase of a pod, as `kubectl get pods` shows them.
pub fn ready_text(p: &Pod) -> String {
    let (r, t) = p.ready_count();
    let status = if p.is_evicted() {
        "Evicted".to_string()
    } else {
        p.status
            .container_statuses
            .iter()
            .find_map(|c| {
                c.state
                    .waiting
                    .as_ref()
                    .and_then(|w| w.reason.as_deref().map(str::to_string))
            })
            .unwrap_or_else(|| p.status.phase.to_string())
    };
    format!("READY {r}/{t} {status} restarts {}", p.restarts())
}

/// Cite why a control-plane container is not ready: its state, last termination (reason, exit
/// code, restart count) and the last lines of its previous log (or current log).
pub fn cite_container(cx: &Context, p: &Obj<Pod>, container: &str, f: &mut Finding) {
    let pref = object_ref("Pod", Some(p.ns()), &p.metadata.name);
    let Some((i, cs)) = p
        .status
        .container_statuses
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == container)
    else {
        f.evidence.push(obj_evidence(
            &p.src,
            pref,
            "status",
            &format!(
                "phase {}{}: no status for container {container}",
                p.status.phase,
                p.status
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        ));
        return;
    };
    crate::rules::cite_container_status(cx, p, &format!("status.containerStatuses[{i}]"), cs, f);
}

/// The OSM control-plane container of a pod: the one named like the component, else the first
/// that is not the Envoy sidecar.
pub fn main_container<'a>(p: &'a Pod, app: &str) -> Option<&'a str> {
    let names: Vec<&str> = p.spec.containers.iter().map(|c| c.name.as_str()).collect();
    let names = if names.is_empty() {
        p.status.container_statuses.iter().map(|c| c.name.as_str()).collect()
    } else {
        names
    };
    names
        .iter()
        .find(|n| **n == app)
        .or_else(|| names.iter().find(|n| **n != "envoy"))
        .copied()
}

/// An OSM webhook configuration: by its Arc name, else by the component label and name prefix.
pub fn webhook_config<'a>(cx: &'a Context, kind: &str, name: &str, app: &str) -> Option<&'a Obj<WebhookConfiguration>> {
    let of_kind = || cx.snap.webhooks.iter().filter(move |w| w.kind == kind);
    of_kind().find(|w| w.metadata.name == name).or_else(|| {
        of_kind().find(|w| {
            w.metadata.labels.get("app").map(crate::k8s::Str::as_str) == Some(app)
                && (w.metadata.name.starts_with("osm-validator-mesh-")
                    || w.metadata.name.starts_with("arc-osm-webhook-")
                    || w.metadata.name.starts_with("osm-webhook-"))
        })
    })
}

/// The installed OSM release `(major, minor)` and where it was read: the controller image tag
/// first (exact), then the extension version (the Arc extension's major.minor follow OSM's).
pub fn osm_release(cx: &Context) -> Option<(u32, u32, String)> {
    let parse = |s: &str| -> Option<(u32, u32)> {
        let s = s.trim().trim_start_matches('v');
        let mut it = s.split(['.', '-']);
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        Some((major, minor))
    };
    let tag_of = |image: &str| -> Option<String> {
        let last = image.rsplit('/').next()?;
        let (_, tag) = last.split_once(':')?;
        Some(tag.split('@').next().unwrap_or(tag).to_string())
    };
    for d in &cx.snap.deployments {
        if d.metadata.namespace.as_deref() != Some(NS) || d.metadata.name != "osm-controller" {
            continue;
        }
        let containers = d
            .spec
            .template
            .as_ref()
            .and_then(|t| t.pointer("/spec/containers"))
            .and_then(|c| c.as_array());
        for c in containers.into_iter().flatten() {
            let image = c.get("image").and_then(|i| i.as_str()).unwrap_or("");
            if !image.contains("osm-controller") {
                continue;
            }
            if let Some((ma, mi)) = tag_of(image).as_deref().and_then(parse) {
                return Some((ma, mi, format!("image {image} of deployment {NS}/osm-controller")));
            }
        }
    }
    for p in component_pods(cx, "osm-controller") {
        for c in &p.spec.containers {
            if !c.image.contains("osm-controller") {
                continue;
            }
            if let Some((ma, mi)) = tag_of(&c.image).as_deref().and_then(parse) {
                return Some((ma, mi, format!("image {} of pod {NS}/{}", c.image, p.metadata.name)));
            }
        }
    }
    for e in &cx.snap.extensions {
        if !e.is_type("microsoft.openservicemesh") {
            continue;
        }
        for v in [e.current_version.as_deref(), e.version.as_deref()]
            .into_iter()
            .flatten()
        {
            if let Some((ma, mi)) = parse(v) {
                return Some((ma, mi, format!("version {v} of extension {}", e.name)));
            }
        }
    }
    None
}

/// The name of the OSM extension in `az k8s-extension` output, for fix commands.
pub fn extension_name(cx: &Context) -> String {
    cx.snap
        .extensions
        .iter()
        .find(|e| e.is_type("microsoft.openservicemesh"))
        .map(|e| e.name.clone())
        .unwrap_or_else(|| "<OSM_EXTENSION_NAME>".into())
}

/// `az k8s-extension show` for the OSM extension with this cluster's names.
pub fn extension_show(cx: &Context) -> String {
    format!(
        "az k8s-extension show -g {} -c {} -t {} -n {}",
        cx.facts.rg(),
        cx.facts.cluster(),
        cx.facts.cluster_type.az_type(),
        extension_name(cx)
    )
}

/// Evidence that an object is absent from a collected list: the list's file and what it holds.
pub fn absent_evidence(cx: &Context, input_id: &str, what: &str, names: &[String]) -> crate::finding::Evidence {
    let path = cx
        .snap
        .bundle
        .inputs
        .get(input_id)
        .and_then(|i| i.path.clone())
        .unwrap_or_else(|| format!("{input_id}.json"));
    crate::finding::Evidence {
        path,
        line: None,
        object: None,
        field: None,
        excerpt: if names.is_empty() {
            format!("no {what}")
        } else {
            format!("{what}: {}", names.join(", "))
        },
    }
}
