//! The collection plan as data: every step is `{id, tool, args, output}`, derived from the
//! troubleshooting guide's commands and from what the rules read. The plan comes in three
//! phases because later steps depend on what earlier ones found: (1) cluster-scoped lists,
//! discovery and the Azure lists; (2) per-namespace lists and `az ... show` for each extension and
//! flux configuration; (3) container logs for the pods found in phase 2. Nothing here runs a
//! process; `--dry-run` prints these steps, the runner executes them.

use serde_json::Value;
use std::collections::BTreeSet;

/// The namespaces always collected (architecture.md).
pub const BASE_NAMESPACES: [&str; 5] = [
    "azure-arc",
    "flux-system",
    "kube-system",
    "arc-osm-system",
    "gatekeeper-system",
];

/// Cluster-scoped lists: `(file stem, kubectl resource argument)`.
pub const CLUSTER_RESOURCES: [(&str, &str); 8] = [
    ("nodes", "nodes"),
    ("namespaces", "namespaces"),
    ("customresourcedefinitions", "customresourcedefinitions"),
    ("validatingwebhookconfigurations", "validatingwebhookconfigurations"),
    ("mutatingwebhookconfigurations", "mutatingwebhookconfigurations"),
    // bundle-format.md names these two files without a group.
    ("constrainttemplates", "constrainttemplates.templates.gatekeeper.sh"),
    ("constraints", "constraints"),
    ("connectedclusters.arc.azure.com", "connectedclusters.arc.azure.com"),
];

/// Namespaced built-in resources, collected in every namespace of the plan.
pub const NAMESPACED_RESOURCES: [&str; 8] = [
    "pods",
    "deployments",
    "daemonsets",
    "replicasets",
    "services",
    "endpoints",
    "events",
    "configmaps",
];

/// Namespaced custom resources (full names), collected in every namespace of the plan; a cluster
/// that does not serve one records the step as `not-found`.
pub const CUSTOM_RESOURCES: [&str; 18] = [
    "gitrepositories.source.toolkit.fluxcd.io",
    "ocirepositories.source.toolkit.fluxcd.io",
    "helmrepositories.source.toolkit.fluxcd.io",
    "helmcharts.source.toolkit.fluxcd.io",
    "buckets.source.toolkit.fluxcd.io",
    "kustomizations.kustomize.toolkit.fluxcd.io",
    "helmreleases.helm.toolkit.fluxcd.io",
    "meshconfigs.config.openservicemesh.io",
    "fluxconfigs.clusterconfig.azure.com",
    "extensionconfigs.clusterconfig.azure.com",
    "gitconfigs.clusterconfig.azure.com",
    "customlocationsettings.clusterconfig.azure.com",
    "azureextensionidentities.clusterconfig.azure.com",
    "azureclusteridentityrequests.clusterconfig.azure.com",
    "azureidentities.aadpodidentity.k8s.io",
    "azureidentitybindings.aadpodidentity.k8s.io",
    "azurepodidentityexceptions.aadpodidentity.k8s.io",
    "azureassignedidentities.aadpodidentity.k8s.io",
];

/// The troubleshooting guide's diagnostic commands, and the bundle file that holds their answer
/// (the collector lists whole resource types, so a selector or a name in the guide's command is a
/// subset of that file). Printed by `--dry-run` so the plan can be read against the guide.
pub const GUIDE_COMMANDS: [(&str, &str); 17] = [
    (
        "az k8s-extension show -g <RESOURCE_GROUP> -c <CLUSTER_NAME> -n flux -t <TYPE>",
        "az/k8s-extension-show-flux.json",
    ),
    (
        "az provider show -n Microsoft.KubernetesConfiguration --debug",
        "az/provider-show-Microsoft.KubernetesConfiguration.json",
    ),
    (
        "az feature register --namespace Microsoft.ContainerService --name AKS-ExtensionManager (its state)",
        "az/feature-show-AKS-ExtensionManager.json",
    ),
    (
        "kubectl -n kube-system logs ama-logs-rs-xxxxxxxxxx-xxxxx -c addon-token-adapter",
        "logs/kube-system/<ama-logs pod>/addon-token-adapter.log",
    ),
    (
        "kubectl get deployment -n arc-osm-system --selector app=osm-controller",
        "kubectl/namespaces/arc-osm-system/deployments.json",
    ),
    (
        "kubectl get pods -n arc-osm-system --selector app=osm-controller",
        "kubectl/namespaces/arc-osm-system/pods.json",
    ),
    (
        "kubectl logs -n arc-osm-system -l app=osm-controller",
        "logs/arc-osm-system/<osm-controller pod>/<container>.log",
    ),
    (
        "kubectl get service -n arc-osm-system osm-controller",
        "kubectl/namespaces/arc-osm-system/services.json",
    ),
    (
        "kubectl get endpoints -n arc-osm-system osm-controller",
        "kubectl/namespaces/arc-osm-system/endpoints.json",
    ),
    (
        "kubectl get deployments -n arc-osm-system osm-injector",
        "kubectl/namespaces/arc-osm-system/deployments.json",
    ),
    (
        "kubectl get pod -n arc-osm-system --selector app=osm-injector",
        "kubectl/namespaces/arc-osm-system/pods.json",
    ),
    (
        "kubectl get service / endpoints -n arc-osm-system osm-injector",
        "kubectl/namespaces/arc-osm-system/{services,endpoints}.json",
    ),
    (
        "kubectl get ValidatingWebhookConfiguration osm-validator-mesh-osm -o json (service, caBundle)",
        "kubectl/cluster/validatingwebhookconfigurations.json",
    ),
    (
        "kubectl get MutatingWebhookConfiguration arc-osm-webhook-osm -o json (service, caBundle)",
        "kubectl/cluster/mutatingwebhookconfigurations.json",
    ),
    (
        "kubectl get meshconfig osm-mesh-config -n arc-osm-system -o yaml",
        "kubectl/namespaces/arc-osm-system/meshconfigs.config.openservicemesh.io.json",
    ),
    (
        "kubectl get namespace <ns> -o json | jq '.metadata.annotations', '.metadata.labels'",
        "kubectl/cluster/namespaces.json",
    ),
    (
        "kubectl get crds; kubectl get crd <smi crd> -o json (served versions)",
        "kubectl/cluster/customresourcedefinitions.json",
    ),
];

/// The label that marks a namespace as part of the mesh.
pub const MESH_LABEL: &str = "openservicemesh.io/monitored-by";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Kubectl,
    Az,
    Helm,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kubectl => "kubectl",
            Tool::Az => "az",
            Tool::Helm => "helm",
        }
    }
}

/// What a step's output is, which decides how its result is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// `kubectl get ... -o json`: JSON; "doesn't have a resource type" is `not-found`.
    List,
    /// A JSON document (`kubectl version`, `az`, `helm`).
    Json,
    /// A container log; text, bounded, may be cut short.
    Log,
    /// Read to plan later steps; its output is not stored.
    Discovery,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The logical input id the analyzer maps this step to (`kubectl/namespaces/<ns>/<res>`).
    pub id: String,
    pub tool: Tool,
    pub args: Vec<String>,
    /// Bundle-relative file the output goes to; `None` for discovery.
    pub output: Option<String>,
    pub kind: StepKind,
}

impl Step {
    /// The command as the manifest records it: the tool's name, never a local path.
    pub fn argv(&self) -> Vec<String> {
        let mut v = vec![self.tool.name().to_string()];
        v.extend(self.args.iter().cloned());
        v
    }

    /// One shell-quoted line, for `--dry-run` and progress output.
    pub fn command_line(&self) -> String {
        self.argv().iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%<>".contains(&b))
        && !s.contains('<')
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterType {
    ConnectedClusters,
    ManagedClusters,
}

impl ClusterType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterType::ConnectedClusters => "connectedClusters",
            ClusterType::ManagedClusters => "managedClusters",
        }
    }
}

/// The Azure resource the cluster is, when the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureTarget {
    pub resource_group: String,
    pub cluster_name: String,
    pub cluster_type: ClusterType,
}

/// Everything the plan depends on besides what discovery finds.
#[derive(Debug, Clone)]
pub struct PlanConfig {
    /// Passed to every kubectl as `--context`.
    pub context: Option<String>,
    /// Namespaces the user added.
    pub extra_namespaces: Vec<String>,
    pub azure: Option<AzureTarget>,
    pub since: String,
    pub tail: u64,
    pub max_log_bytes: u64,
}

fn kubectl(cfg: &PlanConfig, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if let Some(c) = &cfg.context {
        v.push("--context".into());
        v.push(c.clone());
    }
    v
}

fn az_args(t: &AzureTarget, cmd: &[&str], name: Option<&str>) -> Vec<String> {
    let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
    v.extend(
        [
            "-g",
            &t.resource_group,
            "-c",
            &t.cluster_name,
            "-t",
            t.cluster_type.as_str(),
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    if let Some(n) = name {
        v.push("-n".into());
        v.push(n.to_string());
    }
    v.extend(["-o".to_string(), "json".to_string()]);
    v
}

fn az_step(slug: String, args: Vec<String>) -> Step {
    Step {
        id: format!("az/{slug}"),
        tool: Tool::Az,
        args,
        output: Some(format!("az/{slug}.json")),
        kind: StepKind::Json,
    }
}

/// Phase 1: version, cluster-scoped lists, discovery, helm, and the Azure lists.
pub fn phase1(cfg: &PlanConfig) -> Vec<Step> {
    let mut steps = vec![Step {
        id: "kubectl/version".into(),
        tool: Tool::Kubectl,
        args: kubectl(cfg, &["version", "-o", "json"]),
        output: Some("kubectl/version.json".into()),
        kind: StepKind::Json,
    }];
    for (stem, res) in CLUSTER_RESOURCES {
        steps.push(Step {
            id: format!("kubectl/cluster/{stem}"),
            tool: Tool::Kubectl,
            args: kubectl(cfg, &["get", res, "-o", "json"]),
            output: Some(format!("kubectl/cluster/{stem}.json")),
            kind: StepKind::List,
        });
    }
    // The namespaces of in-cluster flux configurations (the namespaces list above gives the
    // meshed ones).
    steps.push(Step {
        id: "discovery/fluxconfigs".into(),
        tool: Tool::Kubectl,
        args: kubectl(
            cfg,
            &[
                "get",
                "fluxconfigs.clusterconfig.azure.com",
                "--all-namespaces",
                "-o",
                "json",
            ],
        ),
        output: None,
        kind: StepKind::Discovery,
    });
    // Skipped with the reason when helm is not installed.
    steps.push(Step {
        id: "helm/list".into(),
        tool: Tool::Helm,
        args: vec!["list".into(), "--all-namespaces".into(), "-o".into(), "json".into()],
        output: Some("helm/list.json".into()),
        kind: StepKind::Json,
    });
    if let Some(t) = &cfg.azure {
        let show = match t.cluster_type {
            ClusterType::ConnectedClusters => vec!["connectedk8s", "show"],
            ClusterType::ManagedClusters => vec!["aks", "show"],
        };
        let mut args: Vec<String> = show.iter().map(|s| s.to_string()).collect();
        args.extend(
            ["-g", &t.resource_group, "-n", &t.cluster_name, "-o", "json"]
                .iter()
                .map(|s| s.to_string()),
        );
        steps.push(az_step("cluster-show".into(), args));
        steps.push(az_step(
            "k8s-extension-list".into(),
            az_args(t, &["k8s-extension", "list"], None),
        ));
        steps.push(az_step(
            "k8s-configuration-flux-list".into(),
            az_args(t, &["k8s-configuration", "flux", "list"], None),
        ));
        steps.push(az_step(
            "k8s-configuration-list".into(),
            az_args(t, &["k8s-configuration", "list"], None),
        ));
        if t.cluster_type == ClusterType::ManagedClusters {
            steps.push(az_step(
                "feature-show-AKS-ExtensionManager".into(),
                [
                    "feature",
                    "show",
                    "--namespace",
                    "Microsoft.ContainerService",
                    "--name",
                    "AKS-ExtensionManager",
                    "-o",
                    "json",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ));
        }
        steps.push(az_step(
            "provider-show-Microsoft.KubernetesConfiguration".into(),
            [
                "provider",
                "show",
                "-n",
                "Microsoft.KubernetesConfiguration",
                "-o",
                "json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ));
    }
    steps
}

/// What phase 1 found, which phase 2 and 3 are planned from.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// Namespaces to collect whole, besides the base ones and the user's, each with why.
    pub namespaces: BTreeSet<String>,
    pub why: std::collections::BTreeMap<String, BTreeSet<&'static str>>,
    /// Every namespace of the cluster (`kubectl get namespaces`): pods and events are listed in
    /// each, since every generic rule needs them and the lists are cheap.
    pub cluster_namespaces: BTreeSet<String>,
    pub extensions: BTreeSet<String>,
    pub flux_configs: BTreeSet<String>,
    /// Gatekeeper constraint resources (`<kind>.constraints.gatekeeper.sh`) to list one by one,
    /// when the `constraints` category did not answer.
    pub constraint_resources: BTreeSet<String>,
}

impl Discovered {
    /// Add a namespace to collect whole, and why.
    pub fn add(&mut self, ns: String, why: &'static str) {
        self.why.entry(ns.clone()).or_default().insert(why);
        self.namespaces.insert(ns);
    }
}

/// The resources listed in every namespace of the cluster.
pub const EVERY_NAMESPACE: [&str; 2] = ["pods", "events"];

/// All namespaces collected whole, sorted, without duplicates.
pub fn namespaces(cfg: &PlanConfig, found: &Discovered) -> Vec<String> {
    let mut all: BTreeSet<String> = BASE_NAMESPACES.iter().map(|s| s.to_string()).collect();
    all.extend(cfg.extra_namespaces.iter().cloned());
    all.extend(found.namespaces.iter().cloned());
    all.into_iter().collect()
}

/// Why each namespace is collected whole, for `--dry-run` and the manifest's reader.
pub fn namespace_reasons(cfg: &PlanConfig, found: &Discovered) -> Vec<(String, Vec<&'static str>)> {
    namespaces(cfg, found)
        .into_iter()
        .map(|ns| {
            let mut why: Vec<&'static str> = Vec::new();
            if BASE_NAMESPACES.contains(&ns.as_str()) {
                why.push("always collected");
            }
            if cfg.extra_namespaces.contains(&ns) {
                why.push("--namespace");
            }
            why.extend(found.why.get(&ns).into_iter().flatten().copied());
            (ns, why)
        })
        .collect()
}

/// One list step of resource `res` in namespace `ns`.
fn ns_list(cfg: &PlanConfig, ns: &str, res: &str) -> Step {
    Step {
        id: format!("kubectl/namespaces/{ns}/{res}"),
        tool: Tool::Kubectl,
        args: kubectl(cfg, &["get", res, "-n", ns, "-o", "json"]),
        output: Some(format!("kubectl/namespaces/{ns}/{res}.json")),
        kind: StepKind::List,
    }
}

/// The lists of a namespace collected whole, but for `skip` (already listed).
pub fn whole_namespace(cfg: &PlanConfig, ns: &str, skip: &[&str]) -> Vec<Step> {
    NAMESPACED_RESOURCES
        .iter()
        .chain(CUSTOM_RESOURCES.iter())
        .filter(|r| !skip.contains(r))
        .map(|res| ns_list(cfg, ns, res))
        .collect()
}

/// Phase 2: every list in each namespace collected whole, pods and events in every other
/// namespace of the cluster, and `az ... show` for each extension and flux configuration the
/// lists named.
pub fn phase2(cfg: &PlanConfig, found: &Discovered) -> Vec<Step> {
    let mut steps = Vec::new();
    let whole = namespaces(cfg, found);
    for ns in &whole {
        steps.extend(whole_namespace(cfg, ns, &[]));
    }
    for res in &found.constraint_resources {
        steps.push(Step {
            id: format!("kubectl/cluster/{res}"),
            tool: Tool::Kubectl,
            args: kubectl(cfg, &["get", res, "-o", "json"]),
            output: Some(format!("kubectl/cluster/{res}.json")),
            kind: StepKind::List,
        });
    }
    for ns in found.cluster_namespaces.iter().filter(|n| !whole.contains(n)) {
        for res in EVERY_NAMESPACE {
            steps.push(ns_list(cfg, ns, res));
        }
    }
    if let Some(t) = &cfg.azure {
        for name in &found.extensions {
            steps.push(az_step(
                format!("k8s-extension-show-{name}"),
                az_args(t, &["k8s-extension", "show"], Some(name)),
            ));
        }
        for name in &found.flux_configs {
            steps.push(az_step(
                format!("k8s-configuration-flux-show-{name}"),
                az_args(t, &["k8s-configuration", "flux", "show"], Some(name)),
            ));
        }
    }
    steps
}

/// A container found in a pods list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub restarted: bool,
}

/// Phase 3: logs of every container, and the previous instance of those that restarted.
pub fn phase3(cfg: &PlanConfig, containers: &[Container]) -> Vec<Step> {
    let mut steps = Vec::new();
    for c in containers {
        for previous in [false, true] {
            if previous && !c.restarted {
                continue;
            }
            let since = format!("--since={}", cfg.since);
            let tail = format!("--tail={}", cfg.tail);
            let limit = format!("--limit-bytes={}", cfg.max_log_bytes);
            let mut a = vec!["logs", "-n", &c.namespace, &c.pod, "-c", &c.container];
            if previous {
                a.push("--previous");
            }
            a.extend([since.as_str(), tail.as_str(), limit.as_str()]);
            let suffix = if previous { ".previous" } else { "" };
            steps.push(Step {
                id: format!("logs/{}/{}/{}{suffix}", c.namespace, c.pod, c.container),
                tool: Tool::Kubectl,
                args: kubectl(cfg, &a),
                output: Some(format!("logs/{}/{}/{}{suffix}.log", c.namespace, c.pod, c.container)),
                kind: StepKind::Log,
            });
        }
    }
    steps
}

/// A name that is safe as one path segment of the bundle (Kubernetes and Azure names are; this
/// guards against a hostile or broken output).
pub fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 253
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("items") {
            Some(Value::Array(a)) => a,
            _ => &[],
        },
        _ => &[],
    }
}

/// The constraint resources of a `constrainttemplates` list: Gatekeeper names a template's
/// constraint CRD after `spec.crd.spec.names.kind`, its plural the kind in lower case
/// (`K8sAzureV3ContainerLimits` is `k8sazurev3containerlimits.constraints.gatekeeper.sh`).
pub fn constraint_resources(v: &Value) -> Vec<String> {
    items(v)
        .iter()
        .filter_map(|t| t.pointer("/spec/crd/spec/names/kind").and_then(Value::as_str))
        .map(|k| format!("{}.constraints.gatekeeper.sh", k.to_ascii_lowercase()))
        .filter(|r| safe_segment(r))
        .collect()
}

/// Every namespace of a `kubectl get namespaces -o json` list.
pub fn all_namespaces(v: &Value) -> Vec<String> {
    items(v)
        .iter()
        .filter_map(|ns| ns.pointer("/metadata/name").and_then(Value::as_str))
        .filter(|n| safe_segment(n))
        .map(str::to_string)
        .collect()
}

/// Whether a pod of a pods list is failing: not completed, and not Running with every container
/// ready, or a container restarted. Their namespaces are collected whole and their logs kept.
pub fn pod_failing(pod: &Value) -> bool {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    if phase == "Succeeded" {
        return false;
    }
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    phase != "Running"
        || statuses.is_empty()
        || statuses.iter().any(|c| {
            c.get("ready").and_then(Value::as_bool) != Some(true)
                || c.get("restartCount").and_then(Value::as_u64).unwrap_or(0) > 0
        })
}

/// Names of the failing pods of a pods list ([`pod_failing`]).
pub fn failing_pods(v: &Value) -> BTreeSet<String> {
    items(v)
        .iter()
        .filter(|p| pod_failing(p))
        .filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// The namespaces Flux applies to, from a Kustomization or HelmRelease list:
/// `spec.targetNamespace`, `spec.storageNamespace` and the namespaces of a Kustomization's
/// inventory (`status.inventory.entries[].id` is `<namespace>_<name>_<group>_<kind>`).
pub fn flux_target_namespaces(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for o in items(v) {
        for key in ["/spec/targetNamespace", "/spec/storageNamespace"] {
            if let Some(n) = o.pointer(key).and_then(Value::as_str) {
                out.insert(n.to_string());
            }
        }
        for e in o
            .pointer("/status/inventory/entries")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            if let Some((ns, _)) = e.get("id").and_then(Value::as_str).and_then(|id| id.split_once('_')) {
                if !ns.is_empty() {
                    out.insert(ns.to_string());
                }
            }
        }
    }
    out.retain(|n| safe_segment(n));
    out
}

/// Namespaces labeled for the mesh, from `kubectl get namespaces -o json`.
pub fn meshed_namespaces(v: &Value) -> Vec<String> {
    items(v)
        .iter()
        .filter(|ns| ns.pointer("/metadata/labels").and_then(|l| l.get(MESH_LABEL)).is_some())
        .filter_map(|ns| ns.pointer("/metadata/name").and_then(Value::as_str))
        .filter(|n| safe_segment(n))
        .map(str::to_string)
        .collect()
}

/// Namespaces of in-cluster flux configurations (`fluxconfigs.clusterconfig.azure.com -A`).
pub fn fluxconfig_namespaces(v: &Value) -> Vec<String> {
    items(v)
        .iter()
        .filter_map(|o| o.pointer("/metadata/namespace").and_then(Value::as_str))
        .filter(|n| safe_segment(n))
        .map(str::to_string)
        .collect()
}

/// `(name, namespace)` of each entry of an `az ... list` array; the namespace is a flux
/// configuration's `namespace` or an extension's release/target namespace.
pub fn az_entries(v: &Value) -> Vec<(String, Option<String>)> {
    items(v)
        .iter()
        .filter_map(|e| {
            let name = e.get("name").and_then(Value::as_str)?;
            if !safe_segment(name) {
                return None;
            }
            let ns = e
                .get("namespace")
                .and_then(Value::as_str)
                .or_else(|| e.pointer("/scope/cluster/releaseNamespace").and_then(Value::as_str))
                .or_else(|| e.pointer("/scope/namespace/targetNamespace").and_then(Value::as_str))
                .filter(|n| safe_segment(n))
                .map(str::to_string);
            Some((name.to_string(), ns))
        })
        .collect()
}

/// Containers (init, regular, ephemeral) of every pod in a pods list, with whether each restarted.
pub fn pod_containers(namespace: &str, v: &Value) -> Vec<Container> {
    let mut out = Vec::new();
    for pod in items(v) {
        let Some(name) = pod.pointer("/metadata/name").and_then(Value::as_str) else {
            continue;
        };
        if !safe_segment(name) {
            continue;
        }
        for (spec_key, status_key) in [
            ("initContainers", "initContainerStatuses"),
            ("containers", "containerStatuses"),
            ("ephemeralContainers", "ephemeralContainerStatuses"),
        ] {
            let statuses = pod
                .pointer(&format!("/status/{status_key}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let specs = pod
                .pointer(&format!("/spec/{spec_key}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for c in specs {
                let Some(cname) = c.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if !safe_segment(cname) {
                    continue;
                }
                let restarted = statuses
                    .iter()
                    .find(|s| s.get("name").and_then(Value::as_str) == Some(cname))
                    .and_then(|s| s.get("restartCount").and_then(Value::as_u64))
                    .unwrap_or(0)
                    > 0;
                out.push(Container {
                    namespace: namespace.to_string(),
                    pod: name.to_string(),
                    container: cname.to_string(),
                    restarted,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PlanConfig {
        PlanConfig {
            context: None,
            extra_namespaces: vec!["apps".into()],
            azure: Some(AzureTarget {
                resource_group: "rg1".into(),
                cluster_name: "c1".into(),
                cluster_type: ClusterType::ManagedClusters,
            }),
            since: "24h".into(),
            tail: 100,
            max_log_bytes: 1000,
        }
    }

    #[test]
    fn phase_ids_match_outputs() {
        let c = cfg();
        let mut found = Discovered::default();
        found.extensions.insert("flux".into());
        let all: Vec<Step> = phase1(&c).into_iter().chain(phase2(&c, &found)).collect();
        for s in &all {
            if let Some(o) = &s.output {
                let stem = o.rsplit_once('.').map(|(a, _)| a).unwrap_or(o);
                assert_eq!(stem, s.id, "{s:?}");
            }
        }
        assert!(all.iter().any(|s| s.id == "az/feature-show-AKS-ExtensionManager"));
        assert!(all.iter().any(|s| s.id == "az/k8s-extension-show-flux"));
        assert!(all.iter().any(|s| s.id == "kubectl/namespaces/apps/pods"));
    }

    #[test]
    fn previous_log_only_after_a_restart() {
        let pods = serde_json::json!({"items": [{"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"containerStatuses": [{"name": "a", "restartCount": 3}, {"name": "b", "restartCount": 0}]}}]});
        let steps = phase3(&cfg(), &pod_containers("ns", &pods));
        let outs: Vec<&str> = steps.iter().filter_map(|s| s.output.as_deref()).collect();
        assert_eq!(outs, ["logs/ns/p/a.log", "logs/ns/p/a.previous.log", "logs/ns/p/b.log"]);
    }
}
