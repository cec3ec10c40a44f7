//! The object types: every field defaults, so objects with missing or unexpected fields still
//! deserialize; values of the wrong type fail only that object. They know nothing of where an
//! object was read from (that is [`super::Src`]) or of what rules make of it.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// A string field of an object: up to 24 bytes (a condition's type and status, a timestamp, most
/// names, label keys) stored inline in the 24 bytes a `String` takes anyway, longer ones on the
/// heap. 50,000 pods hold about 3 million such fields; inline they cost no allocation each
/// (BENCHMARKS.md, issue 22). Reads as a `&str`; `.to_string()` or `String::from` makes a `String`.
pub type Str = compact_str::CompactString;

/// A list field, its spare capacity let go once read. serde grows a list of unknown length to 4
/// items at least, so the single container of a pod held room for 4 statuses of ~500 bytes each:
/// 50,000 pods kept ~100 MB they never used (BENCHMARKS.md, issue 22).
fn tight<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct Vis<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Vis<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Vec<T>, A::Error> {
            let mut v = Vec::with_capacity(a.size_hint().unwrap_or(0).min(16));
            while v.len() < MAX_ENTRIES {
                match a.next_element::<T>()? {
                    Some(x) => v.push(x),
                    None => {
                        v.shrink_to_fit();
                        return Ok(v);
                    }
                }
            }
            while a.next_element::<de::IgnoredAny>()?.is_some() {}
            v.shrink_to_fit();
            Ok(v)
        }
    }
    d.deserialize_seq(Vis(PhantomData))
}

/// Entries kept of one list or map field of an object (containers, conditions, labels,
/// annotations); the rest are read past. Real objects hold a few dozen at most (the API server
/// bounds annotations to 256 KiB in all), while one pod of 6 million labels (89 MB) took 585 MB.
pub const MAX_ENTRIES: usize = 1024;

/// A string-keyed map of a few entries (labels, annotations, resource quantities), kept as a list
/// sorted by key. Every pod has several; a `BTreeMap` allocates a whole node (~600 bytes) for
/// its first entry, which made them most of a parsed pod's memory. Duplicate keys: the last wins,
/// as in a `BTreeMap`; `null` reads as empty.
#[derive(Debug, Clone, PartialEq)]
pub struct SmallMap<V>(Vec<(Str, V)>);

impl<V> Default for SmallMap<V> {
    fn default() -> Self {
        SmallMap(Vec::new())
    }
}

impl<V> SmallMap<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    pub fn keys(&self) -> impl Iterator<Item = &Str> {
        self.0.iter().map(|(k, _)| k)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&Str, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V> SmallMap<V> {
    fn from_entries(mut entries: Vec<(Str, V)>) -> Self {
        entries.shrink_to_fit();
        if !entries.is_sorted_by(|a, b| a.0 < b.0) {
            // Stable, so among equal keys the last read stays last; keep that one.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.reverse();
            entries.dedup_by(|a, b| a.0 == b.0);
            entries.reverse();
        }
        SmallMap(entries)
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SmallMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = SmallMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E: de::Error>(self) -> Result<SmallMap<V>, E> {
                Ok(SmallMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<SmallMap<V>, A::Error> {
                let mut entries = Vec::with_capacity(m.size_hint().unwrap_or(0).min(64));
                while entries.len() < MAX_ENTRIES {
                    match m.next_entry::<Str, V>()? {
                        Some(e) => entries.push(e),
                        None => return Ok(SmallMap::from_entries(entries)),
                    }
                }
                while m.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(SmallMap::from_entries(entries))
            }
        }
        d.deserialize_any(Vis(PhantomData))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: Str,
    pub namespace: Option<Str>,
    pub uid: Str,
    pub labels: SmallMap<Str>,
    pub annotations: SmallMap<Str>,
    pub creation_timestamp: Option<Str>,
    #[serde(deserialize_with = "tight")]
    pub owner_references: Vec<OwnerReference>,
    pub deletion_timestamp: Option<Str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OwnerReference {
    pub kind: Str,
    pub name: Str,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: Str,
    pub status: Str,
    pub reason: Option<Str>,
    pub message: Option<Str>,
    pub last_transition_time: Option<Str>,
}

/// A resource quantity as written (`"512Mi"`, `2`): a string, number, boolean or `null`. A list
/// or map in its place reads as `null`, read past rather than kept, so a pod cannot hold millions
/// of values in its 1,024 containers' 1,024 quantities.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scalar(pub Value);

impl Scalar {
    pub fn value(&self) -> &Value {
        &self.0
    }
}

impl std::ops::Deref for Scalar {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(Value::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.into()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(Value::Null))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Scalar(Value::Null))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Scalar, A::Error> {
                while m.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(Scalar(Value::Null))
            }
        }
        d.deserialize_any(Vis)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceRequirements {
    pub limits: SmallMap<Scalar>,
    pub requests: SmallMap<Scalar>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    pub name: Str,
    pub image: Str,
    pub resources: ResourceRequirements,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSpec {
    pub node_name: Option<Str>,
    #[serde(deserialize_with = "tight")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "tight")]
    pub init_containers: Vec<Container>,
    pub host_network: bool,
    #[serde(deserialize_with = "tight")]
    pub tolerations: Vec<Toleration>,
}

/// One of a pod's `spec.tolerations`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Toleration {
    pub key: Option<Str>,
    /// `Exists` or `Equal` (the default when empty).
    pub operator: Option<Str>,
    pub value: Option<Str>,
    /// Empty: every effect.
    pub effect: Option<Str>,
}

impl Toleration {
    /// Whether this toleration tolerates `taint`, as the scheduler decides it: the effect matches
    /// (an empty effect matches all), the key matches (an empty key with `Exists` matches every
    /// key), and `Exists` takes any value while `Equal` wants the same one.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        let effect = self.effect.as_deref().unwrap_or("");
        if !effect.is_empty() && effect != taint.effect {
            return false;
        }
        let key = self.key.as_deref().unwrap_or("");
        let exists = self.operator.as_deref() == Some("Exists");
        if key.is_empty() {
            return exists;
        }
        if key != taint.key {
            return false;
        }
        exists || self.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StateWaiting {
    pub reason: Option<Str>,
    pub message: Option<Str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StateRunning {
    pub started_at: Option<Str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StateTerminated {
    pub reason: Option<Str>,
    pub message: Option<Str>,
    pub exit_code: i64,
    pub signal: Option<i64>,
    pub started_at: Option<Str>,
    pub finished_at: Option<Str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerState {
    // Boxed: a state holds one of the three at most (a last state usually none), so a
    // container status is 100 bytes rather than 450 (50,000 pods' statuses: 15 MB less).
    pub waiting: Option<Box<StateWaiting>>,
    pub running: Option<Box<StateRunning>>,
    pub terminated: Option<Box<StateTerminated>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: Str,
    pub ready: bool,
    pub restart_count: i64,
    pub state: ContainerState,
    pub last_state: ContainerState,
    pub image: Str,
    pub started: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: Str,
    pub reason: Option<Str>,
    pub message: Option<Str>,
    #[serde(deserialize_with = "tight")]
    pub conditions: Vec<Condition>,
    #[serde(deserialize_with = "tight")]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "tight")]
    pub init_container_statuses: Vec<ContainerStatus>,
    pub host_ip: Option<Str>,
    pub pod_ip: Option<Str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Pod {
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

/// The field path of a container status: `status.containerStatuses[i]` or
/// `status.initContainerStatuses[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusField {
    init: bool,
    index: usize,
}

impl std::fmt::Display for StatusField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = if self.init {
            "initContainerStatuses"
        } else {
            "containerStatuses"
        };
        write!(f, "status.{list}[{}]", self.index)
    }
}

impl Pod {
    /// Ready containers / all containers, as `kubectl get pods` prints READY.
    pub fn ready_count(&self) -> (usize, usize) {
        let total = self.spec.containers.len().max(self.status.container_statuses.len());
        let ready = self.status.container_statuses.iter().filter(|c| c.ready).count();
        (ready, total)
    }
    pub fn is_evicted(&self) -> bool {
        self.status.phase == "Failed" && self.status.reason.as_deref() == Some("Evicted")
    }
    pub fn is_succeeded(&self) -> bool {
        self.status.phase == "Succeeded"
    }
    pub fn all_ready(&self) -> bool {
        let (r, t) = self.ready_count();
        self.status.phase == "Running" && t > 0 && r == t
    }
    pub fn restarts(&self) -> i64 {
        self.status.container_statuses.iter().map(|c| c.restart_count).sum()
    }
    pub fn node(&self) -> Option<&str> {
        self.spec.node_name.as_deref()
    }
    /// Every container status (init containers first) with its field path. Rules walk every pod's
    /// statuses; the path is only written out for the few they cite.
    pub fn statuses(&self) -> impl Iterator<Item = (StatusField, &ContainerStatus)> {
        let init = self.status.init_container_statuses.iter().enumerate();
        let main = self.status.container_statuses.iter().enumerate();
        init.map(|(index, c)| (StatusField { init: true, index }, c))
            .chain(main.map(|(index, c)| (StatusField { init: false, index }, c)))
    }
    pub fn container(&self, name: &str) -> Option<&Container> {
        self.spec
            .containers
            .iter()
            .chain(self.spec.init_containers.iter())
            .find(|c| c.name == name)
    }
    pub fn ns(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }
    /// The owning workload for fix commands: `deployment/x` for a ReplicaSet-owned pod, else `kind/name`.
    pub fn owner_ref(&self) -> Option<String> {
        let o = self.metadata.owner_references.first()?;
        match o.kind.as_str() {
            "ReplicaSet" => match o.name.rsplit_once('-') {
                Some((dep, hash)) if !hash.is_empty() && hash.chars().all(|c| c.is_ascii_alphanumeric()) => {
                    Some(format!("deployment/{dep}"))
                }
                _ => Some(format!("replicaset/{}", o.name)),
            },
            k => Some(format!("{}/{}", k.to_ascii_lowercase(), o.name)),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Taint {
    pub key: Str,
    pub value: Option<Str>,
    pub effect: Str,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeSpec {
    pub unschedulable: bool,
    #[serde(deserialize_with = "tight")]
    pub taints: Vec<Taint>,
    #[serde(rename = "providerID")]
    pub provider_id: Option<Str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeInfo {
    pub os_image: Str,
    pub kernel_version: Str,
    pub kubelet_version: Str,
    pub container_runtime_version: Str,
    pub operating_system: Str,
    pub architecture: Str,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeStatus {
    #[serde(deserialize_with = "tight")]
    pub conditions: Vec<Condition>,
    pub node_info: NodeInfo,
    pub allocatable: SmallMap<Scalar>,
    pub capacity: SmallMap<Scalar>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Node {
    pub metadata: ObjectMeta,
    pub spec: NodeSpec,
    pub status: NodeStatus,
}

impl Node {
    pub fn condition(&self, t: &str) -> Option<&Condition> {
        self.status.conditions.iter().find(|c| c.type_ == t)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectReference {
    pub kind: Str,
    pub namespace: Option<Str>,
    pub name: Str,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventSeries {
    pub count: i64,
    pub last_observed_time: Option<Str>,
}

/// The metadata of an event: what rules read of it (an event's labels, annotations and owners
/// are never read, and a bundle of 200,000 events holds 200,000 of these). Likewise an
/// [`Event`] keeps only the fields read (its `source`, `reportingComponent`, and its involved
/// object's `uid` and `fieldPath` are not): 576 bytes an event before, 312 now.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventMeta {
    pub name: Str,
    pub namespace: Option<Str>,
    pub creation_timestamp: Option<Str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Event {
    pub metadata: EventMeta,
    pub involved_object: ObjectReference,
    pub reason: Str,
    pub message: Str,
    #[serde(rename = "type")]
    pub type_: Str,
    pub count: Option<i64>,
    pub first_timestamp: Option<Str>,
    pub last_timestamp: Option<Str>,
    pub event_time: Option<Str>,
    /// Boxed: rare in core/v1 events.
    pub series: Option<Box<EventSeries>>,
}

impl Event {
    /// The latest time the event was seen, whichever field carries it.
    pub fn last_seen(&self) -> Option<&str> {
        self.series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_deref())
            .or(self.last_timestamp.as_deref())
            .or(self.event_time.as_deref())
            .or(self.first_timestamp.as_deref())
            .or(self.metadata.creation_timestamp.as_deref())
    }
    /// [`last_seen`](Self::last_seen) as an instant; `None` when absent or not a time.
    pub fn last_seen_at(&self) -> Option<::time::OffsetDateTime> {
        self.last_seen().and_then(super::time::parse)
    }
    pub fn times(&self) -> i64 {
        self.series.as_ref().map(|s| s.count).or(self.count).unwrap_or(1)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WorkloadSpec {
    pub replicas: Option<i64>,
    pub selector: Option<Value>,
    pub template: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeploymentStatus {
    pub replicas: i64,
    pub ready_replicas: i64,
    pub available_replicas: i64,
    pub updated_replicas: i64,
    pub unavailable_replicas: i64,
    #[serde(deserialize_with = "tight")]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Deployment {
    pub metadata: ObjectMeta,
    pub spec: WorkloadSpec,
    pub status: DeploymentStatus,
}

impl Deployment {
    pub fn desired(&self) -> i64 {
        self.spec.replicas.unwrap_or(1)
    }
}

/// ReplicaSets share the Deployment shapes.
pub type ReplicaSet = Deployment;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DaemonSetStatus {
    pub desired_number_scheduled: i64,
    pub current_number_scheduled: i64,
    pub number_ready: i64,
    pub number_available: i64,
    pub number_unavailable: i64,
    pub number_misscheduled: i64,
    pub updated_number_scheduled: i64,
    #[serde(deserialize_with = "tight")]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DaemonSet {
    pub metadata: ObjectMeta,
    pub spec: WorkloadSpec,
    pub status: DaemonSetStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i64,
    pub protocol: Option<String>,
    pub target_port: Option<Value>,
    pub node_port: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    #[serde(rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    #[serde(rename = "externalIPs")]
    #[serde(deserialize_with = "tight")]
    pub external_ips: Vec<String>,
    #[serde(deserialize_with = "tight")]
    pub ports: Vec<ServicePort>,
    pub selector: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    pub metadata: ObjectMeta,
    pub spec: ServiceSpec,
    pub status: Value,
}

impl Service {
    /// External IPs from `spec.externalIPs` and a load balancer's ingress.
    pub fn external_addresses(&self) -> Vec<String> {
        let mut out = self.spec.external_ips.clone();
        if let Some(ing) = self.status.pointer("/loadBalancer/ingress").and_then(Value::as_array) {
            for i in ing {
                if let Some(ip) = i.get("ip").or_else(|| i.get("hostname")).and_then(Value::as_str) {
                    out.push(ip.to_string());
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointAddress {
    pub ip: String,
    pub node_name: Option<String>,
    pub target_ref: Option<ObjectReference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointPort {
    pub name: Option<String>,
    pub port: i64,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointSubset {
    #[serde(deserialize_with = "tight")]
    pub addresses: Vec<EndpointAddress>,
    #[serde(deserialize_with = "tight")]
    pub not_ready_addresses: Vec<EndpointAddress>,
    #[serde(deserialize_with = "tight")]
    pub ports: Vec<EndpointPort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Endpoints {
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "tight")]
    pub subsets: Vec<EndpointSubset>,
}

impl Endpoints {
    pub fn ready_addresses(&self) -> usize {
        self.subsets.iter().map(|s| s.addresses.len()).sum()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceReference {
    pub name: String,
    pub namespace: String,
    pub path: Option<String>,
    pub port: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientConfig {
    pub service: Option<ServiceReference>,
    pub url: Option<String>,
    pub ca_bundle: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Webhook {
    pub name: String,
    pub client_config: ClientConfig,
    pub side_effects: Option<String>,
    pub failure_policy: Option<String>,
    pub namespace_selector: Option<Value>,
    pub object_selector: Option<Value>,
    #[serde(deserialize_with = "tight")]
    pub rules: Vec<Value>,
    #[serde(deserialize_with = "tight")]
    pub admission_review_versions: Vec<String>,
}

/// A ValidatingWebhookConfiguration or MutatingWebhookConfiguration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WebhookConfiguration {
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "tight")]
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CrdNames {
    pub plural: String,
    pub singular: Option<String>,
    pub kind: String,
    #[serde(deserialize_with = "tight")]
    pub short_names: Vec<String>,
    #[serde(deserialize_with = "tight")]
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CrdVersion {
    pub name: String,
    pub served: bool,
    pub storage: bool,
    #[serde(deserialize_with = "tight")]
    pub additional_printer_columns: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CrdSpec {
    pub group: String,
    pub names: CrdNames,
    pub scope: String,
    #[serde(deserialize_with = "tight")]
    pub versions: Vec<CrdVersion>,
    /// apiextensions v1beta1 single version.
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Crd {
    pub metadata: ObjectMeta,
    pub spec: CrdSpec,
}

impl Crd {
    pub fn served_versions(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .spec
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name.as_str())
            .collect();
        if v.is_empty() {
            if let Some(x) = &self.spec.version {
                v.push(x.as_str());
            }
        }
        v
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Namespace {
    pub metadata: ObjectMeta,
    pub status: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConfigMap {
    pub metadata: ObjectMeta,
    pub data: BTreeMap<String, String>,
}
