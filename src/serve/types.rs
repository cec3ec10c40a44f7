//! The API resource types `serve` shows in discovery: the built-in types of a current API server,
//! a CRD's type (its served versions, scope, names and printer columns), and a naive plural for a
//! custom resource seen without its CRD. Knows nothing of objects, logs or HTTP (the index holds
//! those).

use serde_json::Value;

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
    /// Field selectors a CRD declares (`selectableFields`), as `spec.x` paths.
    pub selectable_fields: Vec<String>,
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
pub(super) type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
);

/// Built-in types of a current Kubernetes API server (the last field: in category `all`).
pub(super) const BUILTINS: &[Builtin] = &[
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
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
        &[],
        false,
    ),
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

/// A naive plural of a kind, for custom resources seen without a CRD or a file name.
pub(super) fn plural_of(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        format!("{k}es")
    } else if k.ends_with('y') && !k.ends_with("ay") && !k.ends_with("ey") && !k.ends_with("oy") {
        format!("{}ies", &k[..k.len() - 1])
    } else {
        format!("{k}s")
    }
}

pub(super) fn builtin_type(b: &Builtin) -> ResourceType {
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
        selectable_fields: Vec::new(),
    }
}

/// A CRD's resource type (v1 or v1beta1 shapes).
pub(super) fn crd_type(crd: &Value) -> Option<ResourceType> {
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
    let mut selectable_fields = Vec::new();
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
                if let Some(fs) = v.get("selectableFields").and_then(Value::as_array) {
                    selectable_fields = fs
                        .iter()
                        .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                        .map(|p| p.trim_start_matches('.').to_string())
                        .collect();
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
        selectable_fields,
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
