//! FLX010 flux-object-not-ready (warning)
//!
//! What it detects: a Flux object (GitRepository, OCIRepository, HelmRepository, HelmChart,
//! Bucket, Kustomization, HelmRelease) with `Ready=False`, or a flux configuration that `az`
//! reports `Non-Compliant`, that no more specific rule explains. An object explained by FLX001,
//! FLX003, FLX005, FLX006 or FLX008 (and the flux configuration status repeating its message) is
//! left to that rule; a Kustomization waiting on a dependency that is itself not ready
//! (`DependencyNotReady`) is left to the dependency.
//!
//! Why it matters: the cluster does not match its Git source: changes are not applied, or a
//! release is not installed.
//!
//! Evidence: the `Ready` condition's reason and message, and the flux configuration status that
//! repeats it (one finding per object, whichever places report it).
//!
//! Fix: the condition's reason and message say what failed; for the Azure side, the guide advises
//! `az k8s-configuration flux create ... --debug` and `az provider show -n
//! Microsoft.KubernetesConfiguration --debug`. Guide: "GitOps (Flux v2)".

use super::{flux_applies, FLUX_OBJECT_RESOURCES};
use crate::finding::{Evidence, Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub struct FluxObjectNotReady;

const SPECIFIC: &[&str] = &["FLX001", "FLX003", "FLX005", "FLX006", "FLX008"];

#[derive(Default)]
struct Failing {
    reason: String,
    message: String,
    evidence: Vec<Evidence>,
    config: Option<String>,
}

/// Objects the specific rules explain: the objects their evidence points at, and the Flux
/// objects behind the signature hits they cite (a condition, an event's involved object, the
/// object of a flux configuration status).
fn explained(cx: &Context) -> BTreeSet<String> {
    let mut objects = BTreeSet::new();
    let mut cited: BTreeSet<&Evidence> = BTreeSet::new();
    for code in SPECIFIC {
        for f in cx.prior_of(code) {
            for e in &f.evidence {
                cited.insert(e);
                if let Some(o) = &e.object {
                    objects.insert(o.clone());
                }
            }
        }
    }
    for h in cx.hits.iter().filter(|h| cited.contains(&h.evidence)) {
        if let Some(o) = super::hit_object(cx, h) {
            objects.insert(o);
        }
    }
    objects
}

/// `dependency 'ns/name' is not ready` → `ns/name`.
fn dependency_of(msg: &str) -> Option<String> {
    let i = msg.find("dependency '")?;
    let rest = &msg[i + "dependency '".len()..];
    Some(rest[..rest.find('\'')?].to_string())
}

impl Rule for FluxObjectNotReady {
    crate::rule_meta!("FLX010", "flux-object-not-ready", Warning);

    fn inputs(&self) -> Inputs {
        let mut any_of: Vec<Need> = FLUX_OBJECT_RESOURCES.iter().map(|(r, _)| Need::Resource(r)).collect();
        any_of.push(Need::Az("k8s-configuration-flux-*"));
        Inputs {
            any_of,
            ..Inputs::default()
        }
    }

    fn after(&self) -> &[&str] {
        SPECIFIC
    }

    fn applies(&self, cx: &Context) -> Applies {
        flux_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let explained = explained(cx);
        let mut failing: BTreeMap<String, Failing> = BTreeMap::new();
        let mut not_ready_refs: BTreeSet<String> = BTreeSet::new();
        for (resource, kind) in FLUX_OBJECT_RESOURCES {
            for o in cx.snap.resources(resource) {
                let Some(conds) = o.value.pointer("/status/conditions").and_then(Value::as_array) else {
                    continue;
                };
                for (i, c) in conds.iter().enumerate() {
                    let t = c.get("type").and_then(Value::as_str).unwrap_or("");
                    let s = c.get("status").and_then(Value::as_str).unwrap_or("");
                    if t != "Ready" || s != "False" {
                        continue;
                    }
                    let key = object_ref(kind, o.namespace(), o.name());
                    let message = c.get("message").and_then(Value::as_str).unwrap_or("").to_string();
                    not_ready_refs.insert(format!("{}/{}", o.namespace().unwrap_or(""), o.name()));
                    let entry = failing.entry(key.clone()).or_default();
                    entry.reason = c.get("reason").and_then(Value::as_str).unwrap_or("").to_string();
                    entry.evidence.push(obj_evidence(
                        &o.src,
                        key,
                        &format!("status.conditions[{i}]"),
                        &format!("Ready=False {}: {message}", entry.reason),
                    ));
                    entry.message = message;
                }
            }
        }
        // Flux configurations in az: per-object statuses, then the configuration itself.
        let mut config_level: Vec<(String, Evidence, String)> = Vec::new();
        for cfg in &cx.snap.flux_configs {
            let cfg_name = format!("{}/{}", cfg.namespace.as_deref().unwrap_or(""), cfg.name);
            let mut any_status = false;
            for (i, st) in cfg.statuses.iter().enumerate() {
                if st.compliance_state.as_deref() != Some("Non-Compliant") {
                    continue;
                }
                any_status = true;
                let key = object_ref(&st.kind, st.namespace.as_deref().or(cfg.namespace.as_deref()), &st.name);
                let cond = st
                    .status_conditions
                    .iter()
                    .enumerate()
                    .find(|(_, c)| c.type_.as_deref() == Some("Ready"))
                    .or_else(|| st.status_conditions.iter().enumerate().next());
                let (field, reason, message) = match cond {
                    Some((j, c)) => (
                        format!("statuses[{i}].statusConditions[{j}]"),
                        c.reason.clone().unwrap_or_default(),
                        c.message.clone().unwrap_or_default(),
                    ),
                    None => (format!("statuses[{i}].complianceState"), String::new(), String::new()),
                };
                if st.namespace.is_some() || cfg.namespace.is_some() {
                    not_ready_refs.insert(format!(
                        "{}/{}",
                        st.namespace.as_deref().or(cfg.namespace.as_deref()).unwrap_or(""),
                        st.name
                    ));
                }
                let entry = failing.entry(key).or_default();
                if entry.message.is_empty() {
                    entry.message = message.clone();
                    entry.reason = reason.clone();
                }
                entry.config = Some(cfg_name.clone());
                entry.evidence.push(obj_evidence(
                    &cfg.src,
                    format!("fluxConfiguration {}", cfg.name),
                    &field,
                    &format!("{} Non-Compliant: {reason}: {message}", st.kind),
                ));
            }
            if !any_status && cfg.compliance_state.as_deref() == Some("Non-Compliant") {
                let msg = cfg.error_message.clone().unwrap_or_default();
                config_level.push((
                    cfg_name,
                    obj_evidence(
                        &cfg.src,
                        format!("fluxConfiguration {}", cfg.name),
                        "complianceState",
                        &format!(
                            "Non-Compliant{}",
                            if msg.is_empty() {
                                String::new()
                            } else {
                                format!(": {msg}")
                            }
                        ),
                    ),
                    msg,
                ));
            }
        }
        let mut out = Vec::new();
        for (key, fl) in failing {
            if explained.contains(&key) {
                continue;
            }
            if fl.reason == "DependencyNotReady" {
                if let Some(dep) = dependency_of(&fl.message) {
                    if not_ready_refs.contains(&dep) {
                        continue;
                    }
                }
            }
            let mut parts = key.splitn(3, '/');
            let (kind, ns, name) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            let mut f = finding(
                self,
                Subject::new(kind, Some(ns).filter(|n| !n.is_empty()), name),
                format!(
                    "{key} is not ready ({})",
                    if fl.reason.is_empty() {
                        "no reason given"
                    } else {
                        &fl.reason
                    }
                ),
                fl.message.clone(),
            );
            f.evidence = fl.evidence;
            let lower = kind.to_ascii_lowercase();
            if matches!(
                kind,
                "Kustomization"
                    | "HelmRelease"
                    | "GitRepository"
                    | "OCIRepository"
                    | "HelmRepository"
                    | "Bucket"
                    | "HelmChart"
            ) {
                let cmd = match kind {
                    "GitRepository" => "source git".to_string(),
                    "OCIRepository" => "source oci".to_string(),
                    "HelmRepository" => "source helm".to_string(),
                    "Bucket" => "source bucket".to_string(),
                    "HelmChart" => "source chart".to_string(),
                    _ => lower.clone(),
                };
                f.fix.push(format!(
                    "kubectl describe {lower} {name} -n {ns}   (read the Ready condition and the events)"
                ));
                f.fix
                    .push(format!("after fixing the cause: flux reconcile {cmd} {name} -n {ns}"));
            }
            if fl.config.is_some() {
                f.fix.push(format!(
                    "az k8s-configuration flux show -g {} -c {} -t {} -n {}",
                    cx.facts.rg(),
                    cx.facts.cluster(),
                    cx.facts.cluster_type.az_type(),
                    fl.config
                        .as_deref()
                        .and_then(|c| c.rsplit('/').next())
                        .unwrap_or("<NAME>")
                ));
            }
            f.fix.push("az k8s-configuration flux create <parameters> --debug   and   az provider show -n Microsoft.KubernetesConfiguration --debug".into());
            out.push(f);
        }
        for (cfg, ev, msg) in config_level {
            if explained.contains(&format!("fluxConfiguration {}", cfg.rsplit('/').next().unwrap_or(""))) {
                continue;
            }
            let (ns, name) = cfg.split_once('/').unwrap_or(("", cfg.as_str()));
            let mut f = finding(
                self,
                Subject::new("FluxConfiguration", Some(ns).filter(|n| !n.is_empty()), name),
                format!("flux configuration {name} is Non-Compliant"),
                if msg.is_empty() {
                    "complianceState Non-Compliant; no object status says why".to_string()
                } else {
                    msg.clone()
                },
            );
            f.evidence.push(ev);
            f.fix.push(format!(
                "az k8s-configuration flux show -g {} -c {} -t {} -n {name}",
                cx.facts.rg(),
                cx.facts.cluster(),
                cx.facts.cluster_type.az_type()
            ));
            f.fix.push("az k8s-configuration flux create <parameters> --debug   and   az provider show -n Microsoft.KubernetesConfiguration --debug".into());
            out.push(f);
        }
        out
    }
}
