//! FLX009 flux-v1-configuration-present (error)
//!
//! What it detects: a Flux v1 configuration: entries of `az k8s-configuration list`
//! (`sourceControlConfigurations`), an in-cluster Flux v1 operator (a Deployment running the
//! image `fluxcd/flux`, usually with a `memcached` beside it), or `gitconfigs.clusterconfig.azure.com`
//! objects. Flux v2 images (`fluxcd/source-controller`, `fluxcd/flux-cli`, ...) are not Flux v1.
//!
//! Why it matters: support for Flux v1 configurations ended on 2025-05-24 and new ones cannot be
//! created since 2024-01-01; they no longer receive fixes and must be migrated.
//!
//! Evidence: each configuration (name, namespace, repository, compliance state), the operator
//! Deployments and their images, the GitConfig objects.
//!
//! Fix: migrate to Flux v2: `az k8s-configuration flux create ...` for the same repository, then
//! `az k8s-configuration delete` the v1 configuration. Guide: "Flux v1".

use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Context, Inputs, Rule};
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

pub struct FluxV1ConfigurationPresent;

/// `fluxcd/flux` as an image repository (any registry, any tag or digest).
fn is_flux_v1_image(image: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(^|/)fluxcd/flux(:|@|$)").ok())
        .as_ref()
        .map(|r| r.is_match(image))
        .unwrap_or(false)
}

fn images_of(template: Option<&Value>) -> Vec<String> {
    template
        .and_then(|t| t.pointer("/spec/containers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("image").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Rule for FluxV1ConfigurationPresent {
    crate::rule_meta!("FLX009", "flux-v1-configuration-present", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            any_of: vec![
                Need::Az("k8s-configuration-list"),
                Need::Resource("deployments"),
                Need::Resource("customresourcedefinitions"),
            ],
            optional: vec![Need::Resource("gitconfigs.clusterconfig.azure.com")],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut names: Vec<String> = Vec::new();
        let mut evidence = Vec::new();
        let mut az_configs: Vec<(String, String)> = Vec::new();
        if let Some((v, src)) = cx.snap.az("k8s-configuration-list") {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(_) => vec![v],
                _ => Vec::new(),
            };
            for it in items {
                let name = it.get("name").and_then(Value::as_str).unwrap_or("<unnamed>");
                let ns = it.get("operatorNamespace").and_then(Value::as_str).unwrap_or("default");
                let repo = it
                    .get("repositoryUrl")
                    .and_then(Value::as_str)
                    .unwrap_or("<unknown repository>");
                let state = it
                    .pointer("/complianceStatus/complianceState")
                    .and_then(Value::as_str)
                    .unwrap_or("<unknown>");
                names.push(format!("{name} (az)"));
                az_configs.push((name.to_string(), ns.to_string()));
                evidence.push(obj_evidence(
                    src,
                    format!("sourceControlConfiguration {name}"),
                    "",
                    &format!(
                        "operator {} in {ns}, repository {repo}, complianceState {state}",
                        it.get("operatorType").and_then(Value::as_str).unwrap_or("Flux")
                    ),
                ));
            }
        }
        for d in &cx.snap.deployments {
            let images = images_of(d.spec.template.as_ref());
            if let Some(img) = images.iter().find(|i| is_flux_v1_image(i)) {
                let ns = d.metadata.namespace.as_deref().unwrap_or("default");
                let memcached = cx.snap.deployments.iter().any(|m| {
                    m.metadata.namespace.as_deref() == Some(ns)
                        && images_of(m.spec.template.as_ref())
                            .iter()
                            .any(|i| i.contains("memcached"))
                });
                names.push(format!("deployment {ns}/{}", d.metadata.name));
                evidence.push(obj_evidence(
                    &d.src,
                    object_ref("Deployment", Some(ns), &d.metadata.name),
                    "spec.template.spec.containers[].image",
                    &format!(
                        "Flux v1 operator image {img}{}",
                        if memcached { ", with memcached beside it" } else { "" }
                    ),
                ));
            }
        }
        for g in cx.snap.resources("gitconfigs.clusterconfig.azure.com") {
            names.push(format!("GitConfig {}/{}", g.namespace().unwrap_or(""), g.name()));
            let msg = g.value.pointer("/status/message").and_then(Value::as_str).unwrap_or("");
            evidence.push(obj_evidence(
                &g.src,
                object_ref("GitConfig", g.namespace(), g.name()),
                "status.message",
                msg,
            ));
        }
        if names.is_empty() {
            return Vec::new();
        }
        let mut f = finding(
            self,
            Subject::cluster(),
            format!(
                "{} Flux v1 configuration object(s) present; Flux v1 support ended 2025-05-24",
                names.len()
            ),
            format!("Flux v1: {}", names.join(", ")),
        );
        f.evidence = evidence;
        let (rg, cl, ty) = (cx.facts.rg(), cx.facts.cluster(), cx.facts.cluster_type.az_type());
        f.fix.push(format!(
            "create a Flux v2 configuration for the same repository: az k8s-configuration flux create -g {rg} -c {cl} -t {ty} -n <NAME> --namespace <NAMESPACE> --scope cluster -u <REPOSITORY_URL> --branch <BRANCH> --kustomization name=<KUSTOMIZATION> path=<PATH> prune=true"
        ));
        if az_configs.is_empty() {
            f.fix.push(format!(
                "then delete the Flux v1 configuration: az k8s-configuration delete -g {rg} -c {cl} -t {ty} -n <NAME>"
            ));
        }
        for (name, _) in &az_configs {
            f.fix.push(format!(
                "then delete the Flux v1 configuration: az k8s-configuration delete -g {rg} -c {cl} -t {ty} -n {name}"
            ));
        }
        vec![f]
    }
}
