//! The in-memory index `serve` answers from: every resource type (built-in, from CRDs, or inferred
//! from the bundle's names), every object by type, every log by container, and the bundle's clock.
//! Built once at start; requests only read it. Knows nothing of HTTP or of how a response is shaped
//! (`api`, `table`).

use crate::bundle::Bundle;
use crate::k8s::time::unix_seconds;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A printer column of a CRD (`additionalPrinterColumns`).
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    pub name: String,
    pub typ: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// One API resource type as discovery shows it.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// "" for the core group.
    pub group: String,
    /// Served versions, the preferred one first.
    pub versions: Vec<String>,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Columns from the CRD, when the type is a custom resource with a CRD in the bundle.
    pub columns: Option<Vec<PrinterColumn>>,
    /// True for types that are not built into Kubernetes.
    pub custom: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        let v = self.versions.first().map(String::as_str).unwrap_or("v1");
        if self.group.is_empty() {
            v.to_string()
        } else {
            format!("{}/{v}", self.group)
        }
    }
}

/// (group, version, kind, plural, namespaced, short names, categories)
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
);

/// Built-in types of a current Kubernetes API server (the last field: in category `all`).
const BUILTINS: &[Builtin] = &[
    ("", "v1", "ComponentStatus", "componentstatuses", false, &["cs"], false),
    ("", "v1", "ConfigMap", "configmaps", true, &["cm"], false),
    ("", "v1", "Endpoints", "endpoints", true, &["ep"], false),
    ("", "v1", "Event", "events", true, &["ev"], false),
    ("", "v1", "LimitRange", "limitranges", true, &["limits"], false),
    ("", "v1", "Namespace", "namespaces", false, &["ns"], false),
    ("", "v1", "Node", "nodes", false, &["no"], false),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
        false,
    ),
    ("", "v1", "PersistentVolume", "persistentvolumes", false, &["pv"], false),
    ("", "v1", "Pod", "pods", true, &["po"], true),
    ("", "v1", "PodTemplate", "podtemplates", true, &[], false),
    (
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
        &["rc"],
        true,
    ),
    ("", "v1", "ResourceQuota", "resourcequotas", true, &["quota"], false),
    ("", "v1", "Secret", "secrets", true, &[], false),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"], false),
    ("", "v1", "Service", "services", true, &["svc"], true),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        &[],
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
        &[],
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
        &[],
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        &[],
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        false,
    ),
    (
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        false,
        &[],
        false,
    ),
    (
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        &[],
        false,
    ),
    ("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"], true),
    ("apps", "v1", "Deployment", "deployments", true, &["deploy"], true),
    ("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"], true),
    ("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"], true),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
        true,
    ),
    ("batch", "v1", "CronJob", "cronjobs", true, &["cj"], true),
    ("batch", "v1", "Job", "jobs", true, &[], true),
    (
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        false,
        &["csr"],
        false,
    ),
    ("coordination.k8s.io", "v1", "Lease", "leases", true, &[], false),
    (
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        &[],
        false,
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "FlowSchema",
        "flowschemas",
        false,
        &[],
        false,
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
        "prioritylevelconfigurations",
        false,
        &[],
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        &[],
        false,
    ),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", true, &["ing"], false),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
        false,
    ),
    ("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", false, &[], false),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
        false,
    ),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", true, &[], false),
    (
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
        &["pc"],
        false,
    ),
    ("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false, &[], false),
    ("storage.k8s.io", "v1", "CSINode", "csinodes", false, &[], false),
    (
        "storage.k8s.io",
        "v1",
        "CSIStorageCapacity",
        "csistoragecapacities",
        true,
        &[],
        false,
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
        false,
    ),
    (
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        "volumeattachments",
        false,
        &[],
        false,
    ),
];

/// Key of a type: (group, plural).
pub type TypeKey = (String, String);

/// A container log: (namespace, pod, container, previous).
pub type LogKey = (String, String, String, bool);

#[derive(Debug, Default)]
pub struct Index {
    pub types: BTreeMap<TypeKey, ResourceType>,
    /// Objects by type, sorted by (namespace, name).
    pub objects: BTreeMap<TypeKey, Vec<Value>>,
    pub logs: BTreeMap<LogKey, Vec<u8>>,
    /// The bundle's collection time (Unix seconds): "now" for every age.
    pub now: Option<i64>,
    /// `/version` answer.
    pub version: Value,
}

fn split_api_version(av: &str) -> (String, String) {
    match av.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), av.to_string()),
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// A naive plural of a kind, for custom resources seen without a CRD or a file name.
fn plural_of(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        format!("{k}es")
    } else if k.ends_with('y') && !k.ends_with("ay") && !k.ends_with("ey") && !k.ends_with("oy") {
        format!("{}ies", &k[..k.len() - 1])
    } else {
        format!("{k}s")
    }
}

fn builtin_type(b: &Builtin) -> ResourceType {
    ResourceType {
        group: b.0.to_string(),
        versions: vec![b.1.to_string()],
        plural: b.3.to_string(),
        singular: b.2.to_ascii_lowercase(),
        kind: b.2.to_string(),
        namespaced: b.4,
        short_names: b.5.iter().map(|s| s.to_string()).collect(),
        categories: if b.6 { vec!["all".to_string()] } else { Vec::new() },
        columns: None,
        custom: false,
    }
}

/// A CRD's resource type (v1 or v1beta1 shapes).
fn crd_type(crd: &Value) -> Option<ResourceType> {
    let spec = crd.get("spec")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let names = spec.get("names")?;
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    let singular = names
        .get("singular")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_ascii_lowercase());
    let list_of = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let short_names = list_of(names.get("shortNames"));
    let categories = list_of(names.get("categories"));
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let mut versions = Vec::new();
    let mut storage = None;
    let mut columns = None;
    if let Some(vs) = spec.get("versions").and_then(Value::as_array) {
        for v in vs {
            let Some(name) = v.get("name").and_then(Value::as_str) else {
                continue;
            };
            if v.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            if v.get("storage").and_then(Value::as_bool) == Some(true) {
                storage = Some(name.to_string());
                if let Some(cols) = v.get("additionalPrinterColumns").and_then(Value::as_array) {
                    columns = Some(cols.iter().filter_map(printer_column).collect());
                }
            }
            versions.push(name.to_string());
        }
    }
    if let Some(v) = spec.get("version").and_then(Value::as_str) {
        if !versions.iter().any(|x| x == v) {
            versions.push(v.to_string());
        }
    }
    if columns.is_none() {
        if let Some(cols) = spec.get("additionalPrinterColumns").and_then(Value::as_array) {
            columns = Some(cols.iter().filter_map(printer_column).collect());
        }
    }
    if versions.is_empty() {
        return None;
    }
    if let Some(s) = storage {
        versions.retain(|v| *v != s);
        versions.insert(0, s);
    }
    Some(ResourceType {
        group,
        versions,
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        categories,
        columns,
        custom: true,
    })
}

fn printer_column(c: &Value) -> Option<PrinterColumn> {
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let json_path = c
        .get("jsonPath")
        .or_else(|| c.get("JSONPath"))
        .and_then(Value::as_str)?
        .to_string();
    Some(PrinterColumn {
        name: s("name"),
        typ: if s("type").is_empty() {
            "string".into()
        } else {
            s("type")
        },
        format: s("format"),
        description: s("description"),
        priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
        json_path,
    })
}

/// Timestamp fields that say when something happened (never expiry dates, which lie ahead).
/// `creationTimestamp` is only a fallback: objects added to a bundle after the fact (as in some
/// published test bundles) would otherwise move the clock years ahead of every event.
const CLOCK_FIELDS: &[&str] = &[
    "lastObservedTime",
    "lastTimestamp",
    "firstTimestamp",
    "eventTime",
    "lastTransitionTime",
    "lastHeartbeatTime",
    "lastProbeTime",
    "lastUpdateTime",
    "startedAt",
    "finishedAt",
    "startTime",
];

/// The latest time an object says something happened, and its latest creation time.
fn latest_time(v: &Value, best: &mut (Option<i64>, Option<i64>)) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if let Value::String(s) = x {
                    let slot = if CLOCK_FIELDS.contains(&k.as_str()) {
                        &mut best.0
                    } else if k == "creationTimestamp" {
                        &mut best.1
                    } else {
                        continue;
                    };
                    if let Some(t) = unix_seconds(s) {
                        *slot = Some(slot.map_or(t, |b| b.max(t)));
                    }
                } else {
                    latest_time(x, best);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| latest_time(x, best)),
        _ => {}
    }
}

fn version_info(git_version: &str) -> Value {
    let core = git_version.trim_start_matches('v');
    let mut parts = core.split(['.', '-', '+']);
    let major = parts.next().unwrap_or("").to_string();
    let minor = parts.next().unwrap_or("").to_string();
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": "",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

impl Index {
    pub fn build(mut bundle: Bundle) -> Index {
        let mut ix = Index::default();
        for b in BUILTINS {
            let t = builtin_type(b);
            ix.types.insert((t.group.clone(), t.plural.clone()), t);
        }
        // Types from CRDs.
        for o in bundle.objects.iter() {
            let is_crd = o.resource == "customresourcedefinitions" || o.kind() == "CustomResourceDefinition";
            if is_crd {
                if let Some(t) = crd_type(&o.value) {
                    let key = (t.group.clone(), t.plural.clone());
                    ix.types.entry(key).or_insert(t);
                }
            }
        }
        let by_kind: BTreeMap<(String, String), TypeKey> = ix
            .types
            .iter()
            .map(|(k, t)| ((t.group.clone(), t.kind.clone()), k.clone()))
            .collect();
        let mut seen: BTreeSet<(TypeKey, String, String)> = BTreeSet::new();
        let mut inferred_versions: BTreeMap<TypeKey, BTreeSet<String>> = BTreeMap::new();
        let mut clock = (None, None);
        for o in std::mem::take(&mut bundle.objects) {
            let mut v = o.value;
            if !v.is_object() || str_at(&v, "/metadata/name").is_empty() {
                continue;
            }
            latest_time(&v, &mut clock);
            let kind = str_at(&v, "/kind").to_string();
            let (group, version) = split_api_version(str_at(&v, "/apiVersion"));
            let res = o.resource.as_str();
            let (res_plural, res_group) = match res.split_once('.') {
                Some((p, g)) => (p.to_string(), g.to_string()),
                None => (res.to_string(), String::new()),
            };
            // Which type: by the object's own group+kind, else by kind in any group when the
            // file's name agrees (old group versions), else by the file's name, else inferred.
            let key = if kind == "Event" {
                Some((String::new(), "events".to_string()))
            } else if let Some(k) = by_kind.get(&(group.clone(), kind.clone())) {
                Some(k.clone())
            } else if !kind.is_empty() {
                ix.types
                    .iter()
                    .find(|(_, t)| t.kind == kind && !t.custom && t.plural == res_plural)
                    .map(|(k, _)| k.clone())
            } else if res_group.is_empty() {
                // No kind: a built-in type named by its plural (`customresourcedefinitions`).
                ix.types
                    .iter()
                    .find(|(_, t)| !t.custom && t.plural == res_plural)
                    .map(|(k, _)| k.clone())
            } else {
                ix.types
                    .get(&(res_group.clone(), res_plural.clone()))
                    .map(|t| (t.group.clone(), t.plural.clone()))
            };
            let key = match key {
                Some(k) => k,
                None => {
                    if kind.is_empty() {
                        continue;
                    }
                    let plural = if !res_group.is_empty() && res_group == group {
                        res_plural.clone()
                    } else {
                        plural_of(&kind)
                    };
                    let key = (group.clone(), plural.clone());
                    let ns = !str_at(&v, "/metadata/namespace").is_empty();
                    let t = ix.types.entry(key.clone()).or_insert_with(|| ResourceType {
                        group: group.clone(),
                        versions: Vec::new(),
                        plural,
                        singular: kind.to_ascii_lowercase(),
                        kind: kind.clone(),
                        namespaced: ns,
                        short_names: Vec::new(),
                        categories: Vec::new(),
                        columns: None,
                        custom: true,
                    });
                    t.namespaced |= ns;
                    inferred_versions
                        .entry(key.clone())
                        .or_default()
                        .insert(if version.is_empty() {
                            "v1".to_string()
                        } else {
                            version.clone()
                        });
                    key
                }
            };
            let Some(t) = ix.types.get(&key) else { continue };
            // Fill kind/apiVersion when the bundle dropped them (as list items often do).
            if let Some(m) = v.as_object_mut() {
                if !m.contains_key("kind") {
                    m.insert("kind".into(), Value::String(t.kind.clone()));
                }
                if !m.contains_key("apiVersion") {
                    m.insert("apiVersion".into(), Value::String(t.api_version()));
                }
            }
            let ns = str_at(&v, "/metadata/namespace").to_string();
            let name = str_at(&v, "/metadata/name").to_string();
            if seen.insert((key.clone(), ns, name)) {
                ix.objects.entry(key).or_default().push(v);
            }
        }
        for (key, vs) in inferred_versions {
            if let Some(t) = ix.types.get_mut(&key) {
                for v in vs.into_iter().rev() {
                    if !t.versions.contains(&v) {
                        t.versions.push(v);
                    }
                }
            }
        }
        // Namespaces that hold objects but have no Namespace object: add one, Active.
        let ns_key = (String::new(), "namespaces".to_string());
        let mut have: BTreeSet<String> = ix
            .objects
            .get(&ns_key)
            .map(|l| l.iter().map(|n| str_at(n, "/metadata/name").to_string()).collect())
            .unwrap_or_default();
        let mut used: BTreeSet<String> = BTreeSet::new();
        for list in ix.objects.values() {
            for o in list {
                let ns = str_at(o, "/metadata/namespace");
                if !ns.is_empty() && !have.contains(ns) {
                    used.insert(ns.to_string());
                }
            }
        }
        for log in &bundle.logs {
            if !have.contains(&log.namespace) && !log.namespace.is_empty() {
                used.insert(log.namespace.clone());
            }
        }
        for ns in used {
            have.insert(ns.clone());
            ix.objects.entry(ns_key.clone()).or_default().push(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }));
        }
        for list in ix.objects.values_mut() {
            list.sort_by(|a, b| {
                (str_at(a, "/metadata/namespace"), str_at(a, "/metadata/name"))
                    .cmp(&(str_at(b, "/metadata/namespace"), str_at(b, "/metadata/name")))
            });
        }
        for log in &mut bundle.logs {
            if let Some(text) = log.scan.text.take() {
                let key = (
                    log.namespace.clone(),
                    log.pod.clone(),
                    log.container.clone(),
                    log.previous,
                );
                ix.logs.entry(key).or_insert(text);
            }
        }
        ix.now = bundle
            .collected_at
            .as_deref()
            .and_then(unix_seconds)
            .or(clock.0)
            .or(clock.1);
        let git_version = bundle.cluster.kubernetes_version.clone().or_else(|| {
            ix.objects
                .get(&(String::new(), "nodes".to_string()))
                .and_then(|l| l.first())
                .map(|n| str_at(n, "/status/nodeInfo/kubeletVersion").to_string())
                .filter(|s| !s.is_empty())
        });
        ix.version = version_info(git_version.as_deref().unwrap_or("v0.0.0-arcdiag-bundle"));
        ix
    }

    /// Find a type by group, version and plural; the version must be served.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_string(), plural.to_string()))
            .filter(|t| t.versions.iter().any(|v| v == version))
    }

    pub fn objects_of(&self, t: &ResourceType) -> &[Value] {
        self.objects
            .get(&(t.group.clone(), t.plural.clone()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Groups with their versions, the core group excluded, sorted by name.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in self.types.values() {
            if t.group.is_empty() {
                continue;
            }
            let e = out.entry(t.group.clone()).or_default();
            for v in &t.versions {
                if !e.contains(v) {
                    e.push(v.clone());
                }
            }
        }
        out
    }
}

/// The object's metadata only, as a `PartialObjectMetadata`.
pub fn partial_metadata(o: &Value) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("PartialObjectMetadata"));
    m.insert("apiVersion".into(), json!("meta.k8s.io/v1"));
    m.insert(
        "metadata".into(),
        o.get("metadata").cloned().unwrap_or_else(|| json!({})),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural_of("Kustomization"), "kustomizations");
        assert_eq!(plural_of("Policy"), "policies");
        assert_eq!(plural_of("Gateway"), "gateways");
        assert_eq!(plural_of("Ingress"), "ingresses");
    }
}
