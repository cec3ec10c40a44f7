//! What OSM's MeshConfig may hold: the schema of `config.openservicemesh.io` MeshConfig
//! (`v1alpha1`/`v1alpha2`, from OSM's `cmd/osm-bootstrap/crds/config_meshconfig.yaml`), the value
//! sets OSM accepts, the guide's table of defaults with typed values, and the `kubectl patch
//! --type=merge` line that sets keys; and [`MeshConfigRule`], the one implementation of
//! OSM012-OSM014 (their inputs, applicability and finding `osm-mesh-config`), each code's
//! judgement in its rule file. Holds no rule doc of its own.

use super::{applies, Meta, MESHCONFIG, MESHCONFIG_RESOURCE, NS};
use crate::bundle::RawObject;
use crate::finding::Finding;
use crate::model::Need;
use crate::rules::{Applies, Context, Inputs, Rule};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// One of OSM012-OSM014: reads the MeshConfigs of arc-osm-system and judges `osm-mesh-config`.
pub struct MeshConfigRule {
    pub meta: Meta,
    /// The code's judgement, given `osm-mesh-config` when the bundle has it.
    pub check: for<'a> fn(&dyn Rule, &Context<'a>, Option<&'a RawObject>) -> Vec<Finding>,
}

impl Rule for MeshConfigRule {
    super::meta_rule!();

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, MESHCONFIG_RESOURCE)],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        (self.check)(self, cx, find(cx))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Str,
    Int,
    IntList,
    StrList,
    Object,
    /// Any content (Kubernetes resource lists).
    Free,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Bool => "boolean",
            Ty::Str => "string",
            Ty::Int => "integer",
            Ty::IntList => "array of integers",
            Ty::StrList => "array of strings",
            Ty::Object => "object",
            Ty::Free => "object",
        }
    }
    pub fn accepts(self, v: &Value) -> bool {
        match self {
            Ty::Bool => v.is_boolean(),
            Ty::Str => v.is_string(),
            Ty::Int => v.is_i64() || v.is_u64(),
            Ty::IntList => v
                .as_array()
                .map(|a| a.iter().all(|x| x.is_i64() || x.is_u64()))
                .unwrap_or(false),
            Ty::StrList => v.as_array().map(|a| a.iter().all(Value::is_string)).unwrap_or(false),
            Ty::Object | Ty::Free => v.is_object(),
        }
    }
}

/// Every field of `spec`, as a dotted path, with its type.
pub const SCHEMA: &[(&str, Ty)] = &[
    ("sidecar", Ty::Object),
    ("sidecar.enablePrivilegedInitContainer", Ty::Bool),
    ("sidecar.logLevel", Ty::Str),
    ("sidecar.maxDataPlaneConnections", Ty::Int),
    ("sidecar.envoyImage", Ty::Str),
    ("sidecar.envoyWindowsImage", Ty::Str),
    ("sidecar.initContainerImage", Ty::Str),
    ("sidecar.resources", Ty::Object),
    ("sidecar.resources.limits", Ty::Free),
    ("sidecar.resources.requests", Ty::Free),
    ("sidecar.configResyncInterval", Ty::Str),
    ("sidecar.tlsMinProtocolVersion", Ty::Str),
    ("sidecar.tlsMaxProtocolVersion", Ty::Str),
    ("sidecar.cipherSuites", Ty::StrList),
    ("sidecar.ecdhCurves", Ty::StrList),
    ("sidecar.localProxyMode", Ty::Str),
    ("traffic", Ty::Object),
    ("traffic.enableEgress", Ty::Bool),
    ("traffic.outboundIPRangeExclusionList", Ty::StrList),
    ("traffic.outboundIPRangeInclusionList", Ty::StrList),
    ("traffic.outboundPortExclusionList", Ty::IntList),
    ("traffic.inboundPortExclusionList", Ty::IntList),
    ("traffic.networkInterfaceExclusionList", Ty::StrList),
    ("traffic.enablePermissiveTrafficPolicyMode", Ty::Bool),
    ("traffic.inboundExternalAuthorization", Ty::Object),
    ("traffic.inboundExternalAuthorization.enable", Ty::Bool),
    ("traffic.inboundExternalAuthorization.address", Ty::Str),
    ("traffic.inboundExternalAuthorization.port", Ty::Int),
    ("traffic.inboundExternalAuthorization.statPrefix", Ty::Str),
    ("traffic.inboundExternalAuthorization.timeout", Ty::Str),
    ("traffic.inboundExternalAuthorization.failureModeAllow", Ty::Bool),
    ("observability", Ty::Object),
    ("observability.osmLogLevel", Ty::Str),
    ("observability.enableDebugServer", Ty::Bool),
    ("observability.tracing", Ty::Object),
    ("observability.tracing.enable", Ty::Bool),
    ("observability.tracing.port", Ty::Int),
    ("observability.tracing.address", Ty::Str),
    ("observability.tracing.endpoint", Ty::Str),
    ("certificate", Ty::Object),
    ("certificate.serviceCertValidityDuration", Ty::Str),
    ("certificate.certKeyBitSize", Ty::Int),
    ("certificate.ingressGateway", Ty::Object),
    ("certificate.ingressGateway.subjectAltNames", Ty::StrList),
    ("certificate.ingressGateway.validityDuration", Ty::Str),
    ("certificate.ingressGateway.secret", Ty::Object),
    ("certificate.ingressGateway.secret.name", Ty::Str),
    ("certificate.ingressGateway.secret.namespace", Ty::Str),
    ("featureFlags", Ty::Object),
    ("featureFlags.enableWASMStats", Ty::Bool),
    ("featureFlags.enableEgressPolicy", Ty::Bool),
    ("featureFlags.enableMulticlusterMode", Ty::Bool),
    ("featureFlags.enableSnapshotCacheMode", Ty::Bool),
    ("featureFlags.enableAsyncProxyServiceMapping", Ty::Bool),
    ("featureFlags.enableIngressBackendPolicy", Ty::Bool),
    ("featureFlags.enableEnvoyActiveHealthChecks", Ty::Bool),
    ("featureFlags.enableRetryPolicy", Ty::Bool),
    ("featureFlags.enableMeshRootCertificate", Ty::Bool),
];

pub fn ty_of(path: &str) -> Option<Ty> {
    SCHEMA.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// The guide's table of keys and defaults, typed (the guide quotes the feature flags'
/// booleans as strings; the schema has booleans).
pub fn defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("traffic.enableEgress", json!(false)),
        ("traffic.enablePermissiveTrafficPolicyMode", json!(true)),
        ("traffic.outboundPortExclusionList", json!([])),
        ("traffic.outboundIPRangeExclusionList", json!([])),
        ("traffic.inboundPortExclusionList", json!([])),
        ("certificate.serviceCertValidityDuration", json!("24h")),
        ("observability.enableDebugServer", json!(false)),
        ("observability.osmLogLevel", json!("info")),
        ("observability.tracing.enable", json!(false)),
        ("sidecar.enablePrivilegedInitContainer", json!(false)),
        ("sidecar.logLevel", json!("error")),
        ("featureFlags.enableWASMStats", json!(true)),
        ("featureFlags.enableEgressPolicy", json!(true)),
        ("featureFlags.enableMulticlusterMode", json!(false)),
        ("featureFlags.enableSnapshotCacheMode", json!(false)),
        ("featureFlags.enableAsyncProxyServiceMapping", json!(false)),
        ("featureFlags.enableIngressBackendPolicy", json!(true)),
        ("featureFlags.enableEnvoyActiveHealthChecks", json!(false)),
    ]
}

pub fn default_of(path: &str) -> Option<Value> {
    defaults().into_iter().find(|(p, _)| *p == path).map(|(_, v)| v)
}

/// Levels OSM's control plane accepts (zerolog).
pub const OSM_LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"];
/// Levels the sidecar (Envoy) accepts, as the CRD's enum has them.
pub const ENVOY_LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warning", "warn", "error", "critical", "off"];
pub const KEY_BIT_SIZES: &[i64] = &[2048, 4096, 8192];
pub const DURATIONS: &[&str] = &[
    "certificate.serviceCertValidityDuration",
    "certificate.ingressGateway.validityDuration",
    "sidecar.configResyncInterval",
    "traffic.inboundExternalAuthorization.timeout",
];

/// A Go `time.ParseDuration` string (`24h`, `1h30m`, `0.5s`, `0`).
pub fn is_duration(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$").ok())
        .as_ref()
        .map(|r| r.is_match(s))
        .unwrap_or(false)
}

/// The MeshConfig `osm-mesh-config` in `arc-osm-system`.
pub fn find<'a>(cx: &Context<'a>) -> Option<&'a RawObject> {
    cx.snap
        .resources(MESHCONFIG_RESOURCE)
        .find(|o| o.name() == MESHCONFIG && o.namespace().unwrap_or(NS) == NS)
}

/// The value at a dotted path under `spec`.
pub fn get<'a>(spec: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(spec, |v, k| v.get(k))
}

/// `{"spec":{...}}` setting each dotted path to its value (`null` removes a key in a merge patch).
pub fn merge_patch(sets: &[(String, Value)]) -> Value {
    let mut spec = Map::new();
    for (path, v) in sets {
        let keys: Vec<&str> = path.split('.').collect();
        let mut cur = &mut spec;
        for (i, k) in keys.iter().enumerate() {
            if i == keys.len() - 1 {
                cur.insert(k.to_string(), v.clone());
            } else {
                let next = cur.entry(k.to_string()).or_insert_with(|| Value::Object(Map::new()));
                if !next.is_object() {
                    *next = Value::Object(Map::new());
                }
                let Value::Object(m) = next else {
                    break;
                };
                cur = m;
            }
        }
    }
    json!({ "spec": Value::Object(spec) })
}

/// The `kubectl patch` line for a merge patch, quoted for a POSIX shell.
pub fn patch_line(sets: &[(String, Value)]) -> String {
    let body = serde_json::to_string(&merge_patch(sets)).unwrap_or_default();
    format!(
        "kubectl patch meshconfig {MESHCONFIG} -n {NS} -p '{}' --type=merge",
        body.replace('\'', r"'\''")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_go() {
        for ok in ["24h", "1h30m", "0.5s", "0", "300ms", "1.5h"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["24", "1 day", "h", "24hours", ""] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn patch_is_typed_json_under_the_right_keys() {
        let line = patch_line(&[
            ("featureFlags.enableWASMStats".into(), json!(true)),
            ("observability.osmLogLevel".into(), json!("debug")),
            ("observability.tracing.osmLogLevel".into(), Value::Null),
        ]);
        assert_eq!(
            line,
            r#"kubectl patch meshconfig osm-mesh-config -n arc-osm-system -p '{"spec":{"featureFlags":{"enableWASMStats":true},"observability":{"osmLogLevel":"debug","tracing":{"osmLogLevel":null}}}}' --type=merge"#
        );
    }
}
