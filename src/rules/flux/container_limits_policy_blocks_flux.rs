//! FLX008 container-limits-policy-blocks-flux (error)
//!
//! What it detects: a Gatekeeper container-limits constraint that refuses Flux's containers: a
//! constraint of kind `K8sAzureContainerLimits` / `K8sAzureV3ContainerLimits` (or any constraint
//! with `parameters.cpuLimit` / `memoryLimit`) in `deny` mode that matches Pods in `flux-system`
//! (`flux-system` not in `excludedNamespaces`; `namespaces` empty or holding it) and whose limit
//! is below the maximum the guide's table gives a Flux container (1000m / 1Gi for the
//! controllers; 20m-100m CPU / 150Mi for the agents and fluent-bit); or denials and audit
//! violations about CPU or memory limits that name `flux-system` pods. Quantities compare exactly
//! (`1000m` = `1`, `1Gi` = `1024Mi`, `1G` < `1Gi`). Audit-only constraints (`dryrun`, `warn`)
//! block nothing and are not reported. Containers the constraint exempts are left out:
//! `excludedContainers` by container name (the controllers' container is `manager`; the agents'
//! are `fluxconfig-agent` and `fluent-bit`) and `excludedImages` by image (exact, or a prefix
//! when the entry ends in `*`, as the Gatekeeper library matches).
//!
//! Why it matters: the extension's pods carry limits up to the table's maxima; a policy with a
//! lower ceiling refuses them, so the controllers are never created and the install fails.
//!
//! Evidence: the constraint's kind, name, enforcement action, match scope and limits; which Flux
//! containers exceed them; the denial events and audit violations in `flux-system`.
//!
//! Fix: raise the policy's limits above the table's maxima, or add `flux-system` to the
//! assignment's `excludedNamespaces`. Guide: "Make sure the memory and CPU requirements of the
//! microsoft.flux extension are met".

use super::{flux_applies, FluxContainer, FLUX_CONTAINERS};
use crate::bundle::RawObject;
use crate::finding::{Evidence, Finding, Subject};
use crate::model::quantity::Quantity;
use crate::model::{object_ref, Need};
use crate::rules::{finding, Applies, Context, Hit, Inputs, Origin, Rule};
use crate::signatures::glob_match;
use serde_json::Value;
use std::collections::BTreeMap;

pub struct ContainerLimitsPolicyBlocksFlux;

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Whether the constraint's match selects Pods in `flux-system` (selectors cannot be evaluated
/// from a bundle and are assumed to match).
fn matches_flux_system(c: &Value) -> bool {
    let m = c.pointer("/spec/match").cloned().unwrap_or(Value::Null);
    let excluded = strs(m.get("excludedNamespaces"));
    if excluded.iter().any(|g| glob_match(g, "flux-system")) {
        return false;
    }
    let namespaces = strs(m.get("namespaces"));
    if !namespaces.is_empty() && !namespaces.iter().any(|g| glob_match(g, "flux-system")) {
        return false;
    }
    if let Some(kinds) = m.get("kinds").and_then(Value::as_array) {
        let pods = kinds.iter().any(|k| {
            let ks = strs(k.get("kinds"));
            ks.is_empty() || ks.iter().any(|x| x == "Pod" || x == "*")
        });
        if !kinds.is_empty() && !pods {
            return false;
        }
    }
    true
}

fn limits_kind(c: &RawObject) -> bool {
    let k = c.kind();
    k == "K8sAzureContainerLimits"
        || k == "K8sAzureV3ContainerLimits"
        || c.value.pointer("/spec/parameters/cpuLimit").is_some()
        || c.value.pointer("/spec/parameters/memoryLimit").is_some()
}

fn enforcement(c: &RawObject) -> String {
    c.value
        .pointer("/spec/enforcementAction")
        .and_then(Value::as_str)
        .unwrap_or("deny")
        .to_ascii_lowercase()
}

#[derive(Default)]
struct Case {
    kind: String,
    reasons: Vec<String>,
    evidence: Vec<Evidence>,
    cpu: Option<String>,
    mem: Option<String>,
}

/// Whether an image is exempted by an `excludedImages` entry, as the Gatekeeper library does:
/// an entry ending in `*` is a prefix, any other entry must equal the image.
fn image_exempt(entry: &str, image: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => image.starts_with(prefix),
        None => entry == image,
    }
}

/// The container a pod spec runs for a table row: the one named like the row
/// (`fluxconfig-agent`, `fluent-bit`), else the controllers' `manager`, else the only one.
fn row_container<'a>(fc: &FluxContainer, containers: &'a [(String, String)]) -> Option<&'a (String, String)> {
    containers
        .iter()
        .find(|(n, _)| n == fc.name)
        .or_else(|| containers.iter().find(|(n, _)| n == "manager"))
        .or_else(|| {
            if containers.len() == 1 {
                containers.first()
            } else {
                None
            }
        })
}

/// The containers (name, image) that run a row of the table in flux-system: from the pods,
/// else from the deployments' templates, else the extension's container name with no image.
fn row_instances(cx: &Context, fc: &FluxContainer) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let image = |i: &str| if i.is_empty() { None } else { Some(i.to_string()) };
    for p in cx.snap.pods.iter().filter(|p| p.ns() == "flux-system") {
        if !super::containers_of_pod(p).iter().any(|c| c.name == fc.name) {
            continue;
        }
        let cs: Vec<(String, String)> = p
            .spec
            .containers
            .iter()
            .map(|c| (c.name.to_string(), c.image.to_string()))
            .collect();
        if let Some((n, i)) = row_container(fc, &cs) {
            out.push((n.clone(), image(i)));
        }
    }
    if out.is_empty() {
        for d in cx
            .snap
            .deployments
            .iter()
            .filter(|d| d.metadata.namespace.as_deref() == Some("flux-system"))
        {
            let runs = d.metadata.name == fc.name || (fc.name == "fluent-bit" && d.metadata.name == "fluxconfig-agent");
            if !runs {
                continue;
            }
            let cs: Vec<(String, String)> = d
                .spec
                .template
                .as_ref()
                .and_then(|t| t.pointer("/spec/containers"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|c| {
                            let f = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                            (f("name"), f("image"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some((n, i)) = row_container(fc, &cs) {
                out.push((n.clone(), image(i)));
            }
        }
    }
    if out.is_empty() {
        out.push((super::container_name(fc).to_string(), None));
    }
    out.sort();
    out.dedup();
    out
}

impl Rule for ContainerLimitsPolicyBlocksFlux {
    crate::rule_meta!("FLX008", "container-limits-policy-blocks-flux", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("constraints")],
            optional: vec![Need::Resource("events"), Need::Az("k8s-extension-*")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        flux_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut cases: BTreeMap<String, Case> = BTreeMap::new();
        let constraints: Vec<&RawObject> = cx
            .snap
            .bundle
            .objects
            .iter()
            .filter(|o| super::is_constraint(o) && limits_kind(o))
            .collect();
        for c in &constraints {
            let action = enforcement(c);
            if action != "deny" || !matches_flux_system(&c.value) {
                continue;
            }
            let raw = |k: &str| {
                c.value.pointer(&format!("/spec/parameters/{k}")).map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            };
            let (cpu_raw, mem_raw) = (raw("cpuLimit"), raw("memoryLimit"));
            let cpu = cpu_raw.as_deref().and_then(Quantity::parse);
            let mem = mem_raw.as_deref().and_then(Quantity::parse);
            let excluded = strs(c.value.pointer("/spec/parameters/excludedContainers"));
            let excluded_images = strs(c.value.pointer("/spec/parameters/excludedImages"));
            // A row is exempt when every container running it is: by name (the controllers'
            // container is `manager`) or by image.
            let exempt = |fc: &FluxContainer| {
                row_instances(cx, fc).iter().all(|(name, image)| {
                    excluded.iter().any(|e| e == name)
                        || image
                            .as_deref()
                            .map(|i| excluded_images.iter().any(|e| image_exempt(e, i)))
                            .unwrap_or(false)
                })
            };
            let mut over = Vec::new();
            let (in_use, _) = super::flux_containers_in_use(cx);
            for fc in in_use.into_iter().filter(|fc| !exempt(fc)) {
                let mut why = Vec::new();
                if let Some(cpu) = cpu {
                    if FluxContainer::q(fc.max_cpu) > cpu {
                        why.push(format!("cpu {} > {}", fc.max_cpu, cpu_raw.as_deref().unwrap_or("")));
                    }
                }
                if let Some(mem) = mem {
                    if FluxContainer::q(fc.max_mem) > mem {
                        why.push(format!("memory {} > {}", fc.max_mem, mem_raw.as_deref().unwrap_or("")));
                    }
                }
                if !why.is_empty() {
                    over.push(format!("{} ({})", fc.name, why.join(", ")));
                }
            }
            if over.is_empty() {
                continue;
            }
            let case = cases.entry(c.name().to_string()).or_default();
            case.kind = c.kind().to_string();
            case.cpu = cpu_raw.clone();
            case.mem = mem_raw.clone();
            case.reasons.push(format!(
                "it applies to flux-system (enforcementAction {action}) and its limits are below the maxima of {}",
                over.join(", ")
            ));
            let m = c.value.pointer("/spec/match").cloned().unwrap_or_default();
            let p = c.value.pointer("/spec/parameters").cloned().unwrap_or_default();
            case.evidence.push(Evidence {
                path: c.src.path.to_string(),
                line: None,
                object: Some(object_ref(c.kind(), None, c.name())),
                field: Some("spec.parameters".into()),
                excerpt: crate::text::excerpt(&format!("parameters {p}; match {m}"), 300),
            });
        }
        // Audit violations of enforcing constraints that name flux-system pods.
        for c in &constraints {
            if enforcement(c) != "deny" {
                continue;
            }
            let Some(vs) = c.value.pointer("/status/violations").and_then(Value::as_array) else {
                continue;
            };
            for (i, v) in vs.iter().enumerate() {
                let ns = v.get("namespace").and_then(Value::as_str).unwrap_or("");
                let msg = v.get("message").and_then(Value::as_str).unwrap_or("");
                if ns != "flux-system" || !super::is_limits_denial(msg) {
                    continue;
                }
                let case = cases.entry(c.name().to_string()).or_default();
                case.kind = c.kind().to_string();
                case.evidence.push(Evidence {
                    path: c.src.path.to_string(),
                    line: None,
                    object: Some(object_ref(c.kind(), None, c.name())),
                    field: Some(format!("status.violations[{i}]")),
                    excerpt: crate::text::excerpt(
                        &format!(
                            "{} {}: {msg}",
                            v.get("kind").and_then(Value::as_str).unwrap_or("Pod"),
                            v.get("name").and_then(Value::as_str).unwrap_or("")
                        ),
                        300,
                    ),
                });
                if case.reasons.iter().all(|r| !r.starts_with("audit")) {
                    case.reasons.push("audit violations name flux-system pods".into());
                }
            }
        }
        // Denials (events in flux-system, the flux extension's statuses).
        for h in cx.hits_for("FLX008") {
            let about_flux = match &h.origin {
                Origin::Event { namespace, .. } => namespace == "flux-system",
                Origin::Object {
                    namespace, resource, ..
                } => {
                    namespace.as_deref() == Some("flux-system")
                        && !resource.ends_with("constraints.gatekeeper.sh")
                        && resource != "constraints"
                }
                Origin::Az { .. } => super::is_flux_extension_status(cx, h),
                Origin::Log { .. } => false,
            };
            if !about_flux || !h.text.contains("denied") {
                continue;
            }
            let name = super::denying_constraint(&h.text).unwrap_or_else(|| "<unnamed container-limits policy>".into());
            let case = cases.entry(name).or_default();
            case.evidence.push(h.evidence.clone());
            if case.reasons.iter().all(|r| !r.starts_with("denials")) {
                case.reasons.push(denial_reason(h));
            }
        }
        let mut out = Vec::new();
        for (name, case) in cases {
            let kind = if case.kind.is_empty() {
                "Constraint".to_string()
            } else {
                case.kind.clone()
            };
            let mut f = finding(
                self,
                Subject::new(&kind, None, &name),
                format!("container-limits policy {name} blocks the Flux containers"),
                format!(
                    "{}{}",
                    case.reasons.join("; "),
                    match (&case.cpu, &case.mem) {
                        (Some(c), Some(m)) => format!("; policy limits: cpu {c}, memory {m}"),
                        (Some(c), None) => format!("; policy limit: cpu {c}"),
                        (None, Some(m)) => format!("; policy limit: memory {m}"),
                        (None, None) => String::new(),
                    }
                ),
            );
            f.evidence = case.evidence;
            f.fix.push("raise the policy's cpuLimit to at least 1000m and memoryLimit to at least 1Gi (the maxima of the Flux controllers), or".into());
            f.fix.push(format!(
                "add flux-system to the excludedNamespaces parameter of the policy assignment behind {name}{}",
                if name.starts_with("azurepolicy-") {
                    " (Azure Policy owns the constraint: edit the assignment, az policy assignment list --scope <CLUSTER_RESOURCE_ID> -o table)"
                } else {
                    ""
                }
            ));
            f.fix.push("the guide's maxima per container:".into());
            for c in FLUX_CONTAINERS {
                f.fix.push(format!("  {}", c.row()));
            }
            out.push(f);
        }
        out
    }
}

fn denial_reason(h: &Hit) -> String {
    match (
        h.captures.get("container"),
        h.captures.get("resource"),
        h.captures.get("value"),
        h.captures.get("max"),
    ) {
        (Some(c), Some(r), Some(v), Some(m)) => {
            format!("denials in flux-system: container {c} {r} limit {v} is above the policy's {m}")
        }
        (Some(c), _, _, _) => format!("denials in flux-system: container {c} refused for its resource limits"),
        _ => "denials in flux-system about container resource limits".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::matches_flux_system;
    use crate::model::quantity::Quantity as Q;
    use serde_json::json;

    #[test]
    fn excluded_images_as_gatekeeper() {
        use super::image_exempt;
        let img = "mcr.microsoft.com/oss/fluxcd/helm-controller:v1.0.1";
        assert!(image_exempt("mcr.microsoft.com/oss/fluxcd/*", img));
        assert!(image_exempt(img, img));
        assert!(!image_exempt("mcr.microsoft.com/oss/fluxcd/helm-controller", img));
        assert!(!image_exempt("docker.io/*", img));
        assert!(image_exempt("*", img));
    }

    #[test]
    fn match_scope() {
        let c = |m: serde_json::Value| json!({"spec": {"match": m}});
        assert!(matches_flux_system(&c(json!({"excludedNamespaces": ["kube-system"]}))));
        assert!(!matches_flux_system(&c(
            json!({"excludedNamespaces": ["kube-system", "flux-system"]})
        )));
        assert!(!matches_flux_system(&c(json!({"excludedNamespaces": ["flux-*"]}))));
        assert!(!matches_flux_system(&c(json!({"namespaces": ["apps"]}))));
        assert!(matches_flux_system(&c(json!({"namespaces": ["apps", "flux-system"]}))));
        assert!(!matches_flux_system(&c(
            json!({"kinds": [{"apiGroups": ["apps"], "kinds": ["Deployment"]}]})
        )));
        assert!(matches_flux_system(&json!({})));
    }

    #[test]
    fn limits_compare_as_quantities() {
        let max = |s: &str| Q::parse(s).unwrap_or(Q(0));
        // The controllers' 1000m / 1Gi maxima against typical policy values.
        assert!(max("1000m") <= max("1"));
        assert!(max("1Gi") > max("1G"));
        assert!(max("1Gi") <= max("1024Mi"));
        assert!(max("1Gi") > max("1000Mi"));
        assert!(max("150Mi") > max("128Mi"));
        assert!(max("50m") > max("0.04"));
        assert!(max("1Gi") <= max("1073741824"));
        assert!(max("1Gi") > max("1e9"));
    }
}
