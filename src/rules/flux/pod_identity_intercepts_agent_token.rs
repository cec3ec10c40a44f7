//! FLX005 pod-identity-intercepts-agent-token (error)
//!
//! What it detects: AAD Pod Identity intercepts the token requests of the extension agents:
//! (a) an Arc/extension agent log (kube-system `extension-agent`/`extension-operator`, the
//! `azure-arc` agents, flux-system `fluxconfig-agent`) holds `no azure identity found for request
//! clientID` or `adal: Refresh request failed. Status Code = '404'`; or (b) the flux extension's
//! status holds `Unable to get the status from the local CRD ... status not populated` while AAD
//! Pod Identity is present (a `*.aadpodidentity.k8s.io` CRD, an NMI DaemonSet, the
//! `aks-addon-exception` AzurePodIdentityException, or `podIdentityProfile.enabled`). The same
//! 404 from an application's own pod is not this rule. On current AKS the extension agent runs
//! outside the cluster, so (b) is often the only path.
//!
//! Why it matters: the agent asks IMDS for its token; NMI answers 404 because no AzureIdentity
//! is bound to the agent, so the extension never reports its status and stays failed.
//!
//! Evidence: the log lines (with the agent name and version from a JSON line's `AgentName` and
//! `AgentVersion`), the extension status, and which pod-identity evidence was found.
//!
//! Fix: upgrade the `microsoft.flux` extension to the latest version (`az k8s-extension update
//! ... --version <latest>`, or enable auto-upgrade). Guide: "Errors installing the
//! microsoft.flux extension in a cluster with Microsoft Entra Pod Identity enabled".

use super::flux_applies;
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, Applies, Context, Hit, Inputs, Origin, Rule};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

pub struct PodIdentityInterceptsAgentToken;

/// `AgentName` and `AgentVersion` of a JSON agent log line.
fn agent_of(raw: &str) -> Option<String> {
    static RE: OnceLock<Option<(Regex, Regex)>> = OnceLock::new();
    let (n, v) = RE
        .get_or_init(|| {
            Some((
                Regex::new(r#""AgentName"\s*:\s*"([^"]*)""#).ok()?,
                Regex::new(r#""AgentVersion"\s*:\s*"([^"]*)""#).ok()?,
            ))
        })
        .as_ref()?;
    let name = n.captures(raw)?.get(1)?.as_str().to_string();
    let version = v.captures(raw).and_then(|c| c.get(1)).map(|m| m.as_str().to_string());
    Some(match version {
        Some(v) => format!("{name} {v}"),
        None => name,
    })
}

/// The full stored text of a log hit's line (evidence excerpts are shorter).
fn raw_line<'a>(cx: &'a Context, h: &Hit) -> Option<&'a str> {
    let line = h.evidence.line?;
    let log = cx.snap.logs().iter().find(|l| l.path == h.evidence.path)?;
    log.scan.hits.iter().find(|x| x.line == line).map(|x| x.text.as_str())
}

/// Whether a hit is about Flux's extension: its status in `az`, or a `clusterconfig.azure.com`
/// object that is Flux's: a FluxConfig, an ExtensionConfig of type `microsoft.flux` (or named
/// like a `microsoft.flux` extension), or any such object in `flux-system`.
fn is_flux_extension_hit(cx: &Context, h: &Hit) -> bool {
    match &h.origin {
        Origin::Az { .. } => super::is_flux_extension_status(cx, h),
        Origin::Object {
            resource,
            namespace,
            name,
            ..
        } if resource.ends_with(".clusterconfig.azure.com") => {
            if namespace.as_deref() == Some("flux-system") || resource.starts_with("fluxconfigs.") {
                return true;
            }
            let flux_named = |n: &str| {
                n.eq_ignore_ascii_case("flux")
                    || n.eq_ignore_ascii_case("microsoft.flux")
                    || cx
                        .snap
                        .extensions
                        .iter()
                        .any(|e| e.name == n && e.is_type("microsoft.flux"))
            };
            let ext_type = cx
                .snap
                .resources(resource)
                .find(|o| o.name() == name && o.namespace() == namespace.as_deref())
                .and_then(|o| {
                    o.value
                        .pointer("/spec/extensionType")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
            match ext_type {
                Some(t) => t.eq_ignore_ascii_case("microsoft.flux"),
                None => flux_named(name),
            }
        }
        _ => false,
    }
}

impl Rule for PodIdentityInterceptsAgentToken {
    crate::rule_meta!("FLX005", "pod-identity-intercepts-agent-token", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            any_of: vec![
                Need::Logs("kube-system"),
                Need::Logs("azure-arc"),
                Need::Logs("flux-system"),
                Need::Az("k8s-extension-*"),
                Need::Resource("extensionconfigs.clusterconfig.azure.com"),
            ],
            optional: vec![
                Need::Resource("customresourcedefinitions"),
                Need::Resource("daemonsets"),
                Need::Az("cluster-show"),
            ],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        flux_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let pid = &cx.facts.pod_identity;
        let mut log_hits: Vec<&Hit> = Vec::new();
        let mut status_hits: Vec<&Hit> = Vec::new();
        for h in cx.hits_for("FLX005") {
            match &h.origin {
                Origin::Log { .. } => log_hits.push(h),
                _ if h.sig_id == "flux-agent-token-404-status" && is_flux_extension_hit(cx, h) => log_hits.push(h),
                _ if is_flux_extension_hit(cx, h) && pid.installed => status_hits.push(h),
                _ => {}
            }
        }
        if log_hits.is_empty() && status_hits.is_empty() {
            return Vec::new();
        }
        let mut agents: BTreeSet<String> = BTreeSet::new();
        for h in &log_hits {
            let named = raw_line(cx, h)
                .and_then(agent_of)
                .or_else(|| agent_of(&h.evidence.excerpt));
            match (&h.origin, named) {
                (Origin::Log { namespace, pod, .. }, Some(a)) => agents.insert(format!("{a} in pod {namespace}/{pod}")),
                (
                    Origin::Log {
                        namespace,
                        pod,
                        container,
                        ..
                    },
                    None,
                ) => agents.insert(format!("container {container} of pod {namespace}/{pod}")),
                (_, Some(a)) => agents.insert(a),
                (_, None) => false,
            };
        }
        let ext = super::flux_extension(cx);
        let ext_name = ext.map(|e| e.name.as_str()).unwrap_or("flux");
        let version = ext
            .and_then(|e| e.current_version.as_deref().or(e.version.as_deref()))
            .unwrap_or("<unknown>");
        let mut parts = Vec::new();
        if !log_hits.is_empty() {
            parts.push(format!(
                "the agent's token request got 404 from pod identity ({})",
                if agents.is_empty() {
                    "agent not named in the log".to_string()
                } else {
                    agents.iter().cloned().collect::<Vec<_>>().join(", ")
                }
            ));
        }
        if !status_hits.is_empty() {
            parts.push(format!(
                "the {ext_name} extension reports 'Unable to get the status from the local CRD ... status not populated'"
            ));
        }
        parts.push(if pid.installed {
            format!("AAD Pod Identity is present: {}", pid.evidence.join("; "))
        } else {
            "no AAD Pod Identity object was found in the bundle (the 404 itself comes from its NMI)".to_string()
        });
        let mut f = finding(
            self,
            Subject::new("Extension", None, ext_name),
            "AAD Pod Identity intercepts the extension agent's token requests".to_string(),
            if version == "<unknown>" {
                parts.join("; ")
            } else {
                format!("{}; microsoft.flux version {version}", parts.join("; "))
            },
        );
        f.evidence
            .extend(log_hits.iter().chain(status_hits.iter()).map(|h| h.evidence.clone()));
        let (rg, cl, ty) = (cx.facts.rg(), cx.facts.cluster(), cx.facts.cluster_type.az_type());
        f.fix.push(format!(
            "upgrade the microsoft.flux extension to the latest version: az k8s-extension update -g {rg} -c {cl} -n {ext_name} -t {ty} --version <LATEST_VERSION>"
        ));
        f.fix.push(format!(
            "or let it upgrade itself: az k8s-extension update -g {rg} -c {cl} -n {ext_name} -t {ty} --auto-upgrade-minor-version true"
        ));
        vec![f]
    }
}
