//! Flux v2 GitOps rules (`FLX`), one per file. They apply when Flux v2 is installed or its
//! installation was attempted (FLX009 applies to every cluster). This module holds what several
//! of them share: applicability, the guide's per-container resource table, Flux object lookup.
//! Rules read the typed views and facts: they know no bundle layout (inputs are logical ids) and
//! never format output.

mod aks_extension_manager_not_registered;
mod container_limits_policy_blocks_flux;
mod flux_controllers_unschedulable;
mod flux_extension_failed;
mod flux_namespace_denied_by_policy;
mod flux_needs_kubelet_identity;
mod flux_object_not_ready;
mod flux_v1_configuration_present;
mod pod_identity_intercepts_agent_token;
mod webhook_rejects_dry_run;

use super::{Applies, Context, Rule};
use crate::model::quantity::Quantity;
use crate::model::Need;
use crate::rules::Hit;

pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(webhook_rejects_dry_run::WebhookRejectsDryRun),
        Box::new(flux_extension_failed::FluxExtensionFailed),
        Box::new(flux_namespace_denied_by_policy::FluxNamespaceDeniedByPolicy),
        Box::new(aks_extension_manager_not_registered::AksExtensionManagerNotRegistered),
        Box::new(pod_identity_intercepts_agent_token::PodIdentityInterceptsAgentToken),
        Box::new(flux_needs_kubelet_identity::FluxNeedsKubeletIdentity),
        Box::new(flux_controllers_unschedulable::FluxControllersUnschedulable),
        Box::new(container_limits_policy_blocks_flux::ContainerLimitsPolicyBlocksFlux),
        Box::new(flux_v1_configuration_present::FluxV1ConfigurationPresent),
        Box::new(flux_object_not_ready::FluxObjectNotReady),
    ]
}

/// FLX rules (but FLX009) apply when Flux v2 is installed or its installation was attempted.
/// When none of the inputs that would tell is present, the rule runs and its inputs decide
/// (`skipped`), since "not installed" cannot be claimed.
pub fn flux_applies(cx: &Context) -> Applies {
    if cx.facts.flux.installed {
        return Applies::Yes;
    }
    let deciding = [
        Need::Resource("namespaces"),
        Need::Resource("customresourcedefinitions"),
        Need::Az("k8s-extension-*"),
        Need::Az("k8s-configuration-flux-*"),
        Need::NsResource("flux-system", "pods"),
    ];
    if deciding.iter().any(|n| cx.snap.has(n)) {
        Applies::No(
            "Flux v2 is not installed: no microsoft.flux extension, flux-system namespace, Flux CRDs or flux configurations".into(),
        )
    } else {
        Applies::Unknown(format!(
            "cannot tell whether Flux v2 is installed: none of {} was collected",
            deciding.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
        ))
    }
}

/// One row of the guide's table of Flux container resources.
pub struct FluxContainer {
    pub name: &'static str,
    pub min_cpu: &'static str,
    pub min_mem: &'static str,
    pub max_cpu: &'static str,
    pub max_mem: &'static str,
    /// Installed by default by `microsoft.flux` (the image-* controllers are opt-in).
    pub default: bool,
}

/// The guide's table ("memory and CPU requirements of the microsoft.flux extension").
pub const FLUX_CONTAINERS: &[FluxContainer] = &[
    FluxContainer {
        name: "fluxconfig-agent",
        min_cpu: "5m",
        min_mem: "30Mi",
        max_cpu: "50m",
        max_mem: "150Mi",
        default: true,
    },
    FluxContainer {
        name: "fluxconfig-controller",
        min_cpu: "5m",
        min_mem: "30Mi",
        max_cpu: "100m",
        max_mem: "150Mi",
        default: true,
    },
    FluxContainer {
        name: "fluent-bit",
        min_cpu: "5m",
        min_mem: "30Mi",
        max_cpu: "20m",
        max_mem: "150Mi",
        default: true,
    },
    FluxContainer {
        name: "helm-controller",
        min_cpu: "100m",
        min_mem: "64Mi",
        max_cpu: "1000m",
        max_mem: "1Gi",
        default: true,
    },
    FluxContainer {
        name: "source-controller",
        min_cpu: "50m",
        min_mem: "64Mi",
        max_cpu: "1000m",
        max_mem: "1Gi",
        default: true,
    },
    FluxContainer {
        name: "kustomize-controller",
        min_cpu: "100m",
        min_mem: "64Mi",
        max_cpu: "1000m",
        max_mem: "1Gi",
        default: true,
    },
    FluxContainer {
        name: "notification-controller",
        min_cpu: "100m",
        min_mem: "64Mi",
        max_cpu: "1000m",
        max_mem: "1Gi",
        default: true,
    },
    FluxContainer {
        name: "image-automation-controller",
        min_cpu: "100m",
        min_mem: "64Mi",
        max_cpu: "1000m",
        max_mem: "1Gi",
        default: false,
    },
    FluxContainer {
        name: "image-reflector-controller",
        min_cpu: "100m",
        min_mem: "64Mi",
        max_cpu: "1000m",
        max_mem: "1Gi",
        default: false,
    },
];

impl FluxContainer {
    /// The table's figures as quantities (the literals above always parse).
    pub fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or(Quantity(0))
    }
    pub fn row(&self) -> String {
        format!(
            "{:<28} min {:>5} cpu {:>5} memory   max {:>5} cpu {:>5} memory",
            self.name, self.min_cpu, self.min_mem, self.max_cpu, self.max_mem
        )
    }
}

/// The name of the container that runs a row of the table: the agents' containers carry the
/// row's name, the controllers' (fluxconfig-controller included) are called `manager`.
pub fn container_name(c: &FluxContainer) -> &'static str {
    match c.name {
        "fluxconfig-agent" | "fluent-bit" => c.name,
        _ => "manager",
    }
}

/// The table's rows a flux-system pod runs: by container name (`fluxconfig-agent`, `fluent-bit`)
/// or by the pod's name (the controllers' container is called `manager`).
pub fn containers_of_pod(p: &crate::k8s::Pod) -> Vec<&'static FluxContainer> {
    FLUX_CONTAINERS
        .iter()
        .filter(|c| {
            (p.metadata.name.starts_with(&format!("{}-", c.name)) && c.name != "fluent-bit")
                || p.spec.containers.iter().any(|k| k.name == c.name)
        })
        .collect()
}

/// The table's containers deployed in flux-system (pods or deployments), and whether any was
/// found; when none is, the extension's default set.
pub fn flux_containers_in_use(cx: &Context) -> (Vec<&'static FluxContainer>, bool) {
    let mut found: Vec<&'static FluxContainer> = Vec::new();
    for p in cx.snap.pods.iter().filter(|p| p.ns() == "flux-system") {
        found.extend(containers_of_pod(p));
    }
    for d in cx
        .snap
        .deployments
        .iter()
        .filter(|d| d.metadata.namespace.as_deref() == Some("flux-system"))
    {
        found.extend(FLUX_CONTAINERS.iter().filter(|c| c.name == d.metadata.name));
        if d.metadata.name == "fluxconfig-agent" {
            found.extend(FLUX_CONTAINERS.iter().filter(|c| c.name == "fluent-bit"));
        }
    }
    let v: Vec<&'static FluxContainer> = FLUX_CONTAINERS
        .iter()
        .filter(|c| found.iter().any(|f| f.name == c.name))
        .collect();
    if v.is_empty() {
        (FLUX_CONTAINERS.iter().filter(|c| c.default).collect(), false)
    } else {
        (v, true)
    }
}

/// Flux v2 kinds whose `Ready` condition FLX010 reads, by resource name.
pub const FLUX_OBJECT_RESOURCES: &[(&str, &str)] = &[
    ("gitrepositories.source.toolkit.fluxcd.io", "GitRepository"),
    ("ocirepositories.source.toolkit.fluxcd.io", "OCIRepository"),
    ("helmrepositories.source.toolkit.fluxcd.io", "HelmRepository"),
    ("helmcharts.source.toolkit.fluxcd.io", "HelmChart"),
    ("buckets.source.toolkit.fluxcd.io", "Bucket"),
    ("kustomizations.kustomize.toolkit.fluxcd.io", "Kustomization"),
    ("helmreleases.helm.toolkit.fluxcd.io", "HelmRelease"),
];

/// `Kind/ns/name` of the Flux object a hit is about, when it can be told: the object of a
/// condition, the involved object of an event, or the object of a flux configuration status.
pub fn hit_object(cx: &Context, h: &Hit) -> Option<String> {
    use crate::rules::Origin;
    match &h.origin {
        Origin::Object {
            kind, namespace, name, ..
        } => Some(crate::model::object_ref(kind, namespace.as_deref(), name)),
        Origin::Event {
            namespace,
            involved_kind,
            involved_name,
            ..
        } => Some(crate::model::object_ref(involved_kind, Some(namespace), involved_name)),
        Origin::Az { slug, name } if slug.starts_with("k8s-configuration-flux") => {
            let field = h.evidence.field.as_deref()?;
            let i: usize = field.strip_prefix("statuses[")?.split(']').next()?.parse().ok()?;
            // The hit names the configuration only; two configurations may share a name in
            // different namespaces. Take those read from the hit's file whose field holds the
            // hit's text; when they point at different objects, the hit's object is unknown.
            let mut objects: Vec<String> = cx
                .snap
                .flux_configs
                .iter()
                .filter(|c| &c.name == name && *c.src.path == h.evidence.path)
                .filter(|c| config_text_at(c, field) == Some(h.text.as_str()))
                .filter_map(|cfg| {
                    let st = cfg.statuses.get(i)?;
                    Some(crate::model::object_ref(
                        &st.kind,
                        st.namespace.as_deref().or(cfg.namespace.as_deref()),
                        &st.name,
                    ))
                })
                .collect();
            objects.sort();
            objects.dedup();
            match objects.len() {
                1 => objects.pop(),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The text of a flux configuration at a hit's field (`statuses[i].statusConditions[j].message`).
fn config_text_at<'a>(c: &'a crate::model::az::FluxConfiguration, field: &str) -> Option<&'a str> {
    let rest = field.strip_prefix("statuses[")?;
    let (i, rest) = rest.split_once(']')?;
    let rest = rest.strip_prefix(".statusConditions[")?;
    let (j, rest) = rest.split_once(']')?;
    if rest != ".message" {
        return None;
    }
    let st = c.statuses.get(i.parse::<usize>().ok()?)?;
    st.status_conditions.get(j.parse::<usize>().ok()?)?.message.as_deref()
}

/// Whether a hit is a status message of the `microsoft.flux` extension in `az k8s-extension`
/// output.
pub fn is_flux_extension_status(cx: &Context, h: &Hit) -> bool {
    match &h.origin {
        crate::rules::Origin::Az { slug, name } => {
            slug.starts_with("k8s-extension")
                && cx
                    .snap
                    .extensions
                    .iter()
                    .any(|e| &e.name == name && e.is_type("microsoft.flux"))
        }
        _ => false,
    }
}

/// The Gatekeeper constraint a denial names: `[name]` right after `denied the request:`
/// (`admission webhook "validation.gatekeeper.sh" denied the request: [azurepolicy-...] ...`).
pub fn denying_constraint(text: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"denied the request:\s*\[([A-Za-z0-9][A-Za-z0-9.\-]*)\]").ok())
        .as_ref()
        .and_then(|r| r.captures(text))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

/// The `microsoft.flux` extension's `useKubeletIdentity` etc. live in its settings; this finds it.
pub fn flux_extension<'a>(cx: &'a Context) -> Option<&'a crate::model::Obj<crate::model::az::Extension>> {
    cx.snap.extensions.iter().find(|e| e.is_type("microsoft.flux"))
}

/// A Gatekeeper constraint, whichever way the bundle holds it.
pub(super) fn is_constraint(o: &crate::bundle::RawObject) -> bool {
    o.resource == "constraints"
        || o.resource.ends_with(".constraints.gatekeeper.sh")
        || o.value
            .get("apiVersion")
            .and_then(serde_json::Value::as_str)
            .map(|a| a.starts_with("constraints.gatekeeper.sh/"))
            .unwrap_or(false)
}

/// Denials about container limits belong to FLX008 (FLX007 leaves them; FLX008 cites them).
pub(super) fn is_limits_denial(text: &str) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(cpu|memory) limit\b|resource limits|containerlimits|container-limits|container-resource-limits",
        )
        .ok()
    })
    .as_ref()
    .map(|r| r.is_match(text))
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::denying_constraint;

    #[test]
    fn constraint_of_a_denial() {
        let gk = "admission webhook \"validation.gatekeeper.sh\" denied the request: [azurepolicy-k8sazurev3containerlimits-8d3f] container <manager> cpu limit <1> is higher than the maximum allowed of <500m>";
        assert_eq!(
            denying_constraint(gk).as_deref(),
            Some("azurepolicy-k8sazurev3containerlimits-8d3f")
        );
        assert_eq!(
            denying_constraint("denied the request:[ns-must-have-owner.v2] x").as_deref(),
            Some("ns-must-have-owner.v2")
        );
        // Kyverno and PodSecurity messages name no constraint.
        assert_eq!(
            denying_constraint("admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource Pod/flux-system/x was blocked"),
            None
        );
        assert_eq!(denying_constraint("denied the request: [] empty"), None);
    }
}
