//! Facts derived once per bundle and shared by rules: cluster type, distribution, node OS images,
//! which extensions are installed, AAD pod identity, meshed namespaces. No findings here. They are
//! read from the typed views (`model`): facts know no bundle path and no rule.

use crate::model::Snapshot;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClusterType {
    #[serde(rename = "managedClusters")]
    Aks,
    #[serde(rename = "connectedClusters")]
    ArcConnected,
    #[serde(rename = "unknown")]
    Unknown,
}

impl ClusterType {
    /// The value `az k8s-extension ... -t` takes.
    pub fn az_type(self) -> &'static str {
        match self {
            ClusterType::Aks => "managedClusters",
            ClusterType::ArcConnected => "connectedClusters",
            ClusterType::Unknown => "<CLUSTER_TYPE>",
        }
    }
}

/// Whether a component is installed, with the evidence that says so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub installed: bool,
    pub evidence: Vec<String>,
}

impl Presence {
    fn add(&mut self, why: String) {
        self.installed = true;
        self.evidence.push(why);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub cluster_type: ClusterType,
    pub cluster_type_evidence: Option<String>,
    /// Distribution hint (`aks`, `charmed-kubernetes`, `openshift`, `k3s`, ...).
    pub distribution: Option<String>,
    /// node name → `status.nodeInfo.osImage`
    pub node_os: BTreeMap<String, String>,
    pub flux: Presence,
    pub osm: Presence,
    pub ama: Presence,
    pub pod_identity: Presence,
    /// Namespaces labeled `openservicemesh.io/monitored-by`.
    pub meshed_namespaces: Vec<String>,
    /// Resource group and cluster name for fix commands, when known.
    pub resource_group: Option<String>,
    pub cluster_name: Option<String>,
}

impl Facts {
    pub fn derive(s: &Snapshot) -> Facts {
        let meta = &s.bundle.cluster;
        let mut cluster_type = ClusterType::Unknown;
        let mut cluster_type_evidence = None;
        if let Some(t) = &meta.cluster_type {
            if t.eq_ignore_ascii_case("managedClusters") {
                cluster_type = ClusterType::Aks;
                cluster_type_evidence = Some("manifest.json cluster.type".into());
            } else if t.eq_ignore_ascii_case("connectedClusters") {
                cluster_type = ClusterType::ArcConnected;
                cluster_type_evidence = Some("manifest.json cluster.type".into());
            }
        }
        if cluster_type == ClusterType::Unknown {
            if let Some((v, src)) = s.az("cluster-show") {
                let id = v.get("id").and_then(Value::as_str).unwrap_or("");
                let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
                if id.contains("/managedClusters/")
                    || ty.eq_ignore_ascii_case("Microsoft.ContainerService/ManagedClusters")
                {
                    cluster_type = ClusterType::Aks;
                    cluster_type_evidence = Some(format!("{} id", src.path));
                } else if id.contains("Microsoft.Kubernetes/connectedClusters")
                    || ty.eq_ignore_ascii_case("Microsoft.Kubernetes/connectedClusters")
                {
                    cluster_type = ClusterType::ArcConnected;
                    cluster_type_evidence = Some(format!("{} id", src.path));
                }
            }
        }
        if cluster_type == ClusterType::Unknown {
            for e in &s.extensions {
                if let Some(id) = &e.id {
                    if id.contains("/managedClusters/") || id.contains("/managedclusters/") {
                        cluster_type = ClusterType::Aks;
                        cluster_type_evidence = Some(format!("{} extension id", e.src.path));
                        break;
                    }
                    if id.to_ascii_lowercase().contains("/connectedclusters/") {
                        cluster_type = ClusterType::ArcConnected;
                        cluster_type_evidence = Some(format!("{} extension id", e.src.path));
                        break;
                    }
                }
            }
        }
        if cluster_type == ClusterType::Unknown {
            if let Some(n) = s.nodes.iter().find(|n| {
                n.metadata
                    .labels
                    .contains_key("kubernetes.azure.com/node-image-version")
                    || n.metadata.labels.contains_key("kubernetes.azure.com/cluster")
            }) {
                cluster_type = ClusterType::Aks;
                cluster_type_evidence = Some(format!("node {} has kubernetes.azure.com labels", n.metadata.name));
            } else if s.namespaces.iter().any(|n| n.metadata.name == "azure-arc")
                || s.crds
                    .iter()
                    .any(|c| c.metadata.name == "connectedclusters.arc.azure.com")
            {
                cluster_type = ClusterType::ArcConnected;
                cluster_type_evidence = Some("namespace azure-arc / CRD connectedclusters.arc.azure.com".into());
            }
        }

        let distribution = distribution(s);
        let node_os = s
            .nodes
            .iter()
            .map(|n| (n.metadata.name.to_string(), n.status.node_info.os_image.to_string()))
            .collect();

        let mut flux = Presence::default();
        for e in &s.extensions {
            if e.is_type("microsoft.flux") {
                flux.add(format!("extension {} ({})", e.name, e.extension_type));
            }
        }
        if s.namespaces.iter().any(|n| n.metadata.name == "flux-system") {
            flux.add("namespace flux-system".into());
        }
        if let Some(c) = s.crds.iter().find(|c| c.metadata.name.ends_with(".toolkit.fluxcd.io")) {
            flux.add(format!("CRD {}", c.metadata.name));
        }
        if !s.flux_configs.is_empty() {
            flux.add(format!("{} flux configuration(s)", s.flux_configs.len()));
        }
        if s.pods
            .iter()
            .any(|p| p.metadata.namespace.as_deref() == Some("flux-system"))
        {
            flux.add("pods in flux-system".into());
        }

        let mut osm = Presence::default();
        for e in &s.extensions {
            if e.is_type("microsoft.openservicemesh") {
                osm.add(format!("extension {} ({})", e.name, e.extension_type));
            }
        }
        if let Some(d) = s
            .deployments
            .iter()
            .find(|d| d.metadata.namespace.as_deref() == Some("arc-osm-system") && d.metadata.name.starts_with("osm-"))
        {
            osm.add(format!("deployment arc-osm-system/{}", d.metadata.name));
        }
        if s.logs_in("arc-osm-system").any(|l| l.pod.starts_with("osm-")) {
            osm.add("osm-* container logs in arc-osm-system".into());
        }
        if s.resources("meshconfigs.config.openservicemesh.io").next().is_some() {
            osm.add("a MeshConfig".into());
        }
        // The MeshConfig CRD alone does not count: uninstalling the extension leaves CRDs behind,
        // and a removed mesh must not read as a broken one (the OSM rules are then not-applicable).

        let mut ama = Presence::default();
        for e in &s.extensions {
            if e.is_type("microsoft.azuremonitor.containers") {
                ama.add(format!("extension {} ({})", e.name, e.extension_type));
            }
        }
        if let Some((v, _)) = s.az("cluster-show") {
            if v.pointer("/addonProfiles/omsagent/enabled").and_then(Value::as_bool) == Some(true) {
                ama.add("AKS monitoring add-on (omsagent) enabled".into());
            }
        }
        let in_kube_system = |ns: &Option<crate::k8s::Str>| ns.as_deref() == Some("kube-system");
        if s.daemonsets
            .iter()
            .any(|d| in_kube_system(&d.metadata.namespace) && d.metadata.name.starts_with("ama-logs"))
        {
            ama.add("DaemonSet kube-system/ama-logs".into());
        }
        if s.deployments
            .iter()
            .any(|d| in_kube_system(&d.metadata.namespace) && d.metadata.name.starts_with("ama-logs"))
        {
            ama.add("Deployment kube-system/ama-logs-rs".into());
        }
        if s.pods
            .iter()
            .any(|p| in_kube_system(&p.metadata.namespace) && p.metadata.name.starts_with("ama-logs"))
        {
            ama.add("ama-logs pods in kube-system".into());
        }

        let mut pod_identity = Presence::default();
        for c in &s.crds {
            if c.metadata.name.ends_with(".aadpodidentity.k8s.io") {
                pod_identity.add(format!("CRD {}", c.metadata.name));
                break;
            }
        }
        for d in &s.daemonsets {
            let l = &d.metadata.labels;
            if d.metadata.name == "nmi"
                || d.metadata.name.ends_with("-nmi")
                || l.get("component").map(crate::k8s::Str::as_str) == Some("nmi")
                || l.get("app.kubernetes.io/component").map(crate::k8s::Str::as_str) == Some("nmi")
            {
                pod_identity.add(format!(
                    "NMI DaemonSet {}/{}",
                    d.metadata.namespace.as_deref().unwrap_or(""),
                    d.metadata.name
                ));
            }
        }
        for r in s.resources("azurepodidentityexceptions.aadpodidentity.k8s.io") {
            if r.name() == "aks-addon-exception" {
                pod_identity.add("AzurePodIdentityException aks-addon-exception".into());
            }
        }
        if let Some((v, src)) = s.az("cluster-show") {
            if v.pointer("/podIdentityProfile/enabled").and_then(Value::as_bool) == Some(true) {
                pod_identity.add(format!("{} podIdentityProfile.enabled", src.path));
            }
        }

        let mut meshed_namespaces: Vec<String> = s
            .namespaces
            .iter()
            .filter(|n| n.metadata.labels.contains_key("openservicemesh.io/monitored-by"))
            .map(|n| n.metadata.name.to_string())
            .collect();
        meshed_namespaces.sort();

        let az_show = s.az("cluster-show").map(|(v, _)| v);
        let resource_group = meta.resource_group.clone().or_else(|| {
            az_show
                .and_then(|v| v.get("resourceGroup"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let cluster_name = meta.name.clone().or_else(|| {
            az_show
                .and_then(|v| v.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });

        Facts {
            cluster_type,
            cluster_type_evidence,
            distribution,
            node_os,
            flux,
            osm,
            ama,
            pod_identity,
            meshed_namespaces,
            resource_group,
            cluster_name,
        }
    }

    pub fn rg(&self) -> &str {
        self.resource_group.as_deref().unwrap_or("<RESOURCE_GROUP>")
    }
    pub fn cluster(&self) -> &str {
        self.cluster_name.as_deref().unwrap_or("<CLUSTER_NAME>")
    }
}

/// A distribution hint from node labels, annotations and provider IDs (first match wins).
fn distribution(s: &Snapshot) -> Option<String> {
    let nodes = &s.nodes;
    let any_label = |k: &str| nodes.iter().any(|n| n.metadata.labels.contains_key(k));
    let any_label_prefix = |p: &str| nodes.iter().any(|n| n.metadata.labels.keys().any(|k| k.starts_with(p)));
    let provider = |p: &str| {
        nodes
            .iter()
            .any(|n| n.spec.provider_id.as_deref().map(|x| x.starts_with(p)).unwrap_or(false))
    };
    if any_label("juju-application") || any_label("juju-charm") || any_label("juju.io/cloud") {
        return Some("charmed-kubernetes".into());
    }
    if any_label("node.openshift.io/os_id") {
        return Some("openshift".into());
    }
    if any_label("kubernetes.azure.com/node-image-version") || any_label("kubernetes.azure.com/cluster") {
        return Some("aks".into());
    }
    if any_label("cloud.google.com/gke-nodepool") {
        return Some("gke".into());
    }
    if any_label("eks.amazonaws.com/nodegroup") {
        return Some("eks".into());
    }
    if any_label("minikube.k8s.io/name") {
        return Some("minikube".into());
    }
    if nodes
        .iter()
        .any(|n| n.metadata.annotations.contains_key("node.aksedge.io/distro"))
    {
        return Some("aks-edge".into());
    }
    if provider("kind://") {
        return Some("kind".into());
    }
    if provider("k3s://")
        || nodes
            .iter()
            .any(|n| n.status.node_info.kubelet_version.contains("+k3s"))
    {
        return Some("k3s".into());
    }
    if any_label("microk8s.io/cluster") {
        return Some("microk8s".into());
    }
    if nodes
        .iter()
        .any(|n| n.status.node_info.kubelet_version.contains("+rke2"))
    {
        return Some("rke2".into());
    }
    if any_label_prefix("node-role.kubernetes.io")
        || nodes.iter().any(|n| {
            n.metadata
                .annotations
                .keys()
                .any(|k| k.starts_with("kubeadm.alpha.kubernetes.io"))
        })
    {
        return Some("kubeadm".into());
    }
    if nodes.is_empty() {
        None
    } else {
        Some("generic".into())
    }
}
