//! Typed views of what rules read, built once per bundle from the mapped objects.
//!
//! [`Snapshot`] holds every core kind as a typed list (each item with its [`Src`]), custom
//! resources as JSON, `az` outputs, logs, and the input states rules declare. An object whose
//! fields have the wrong type is left out with an error naming its file and index. The views know
//! no bundle path (that is the layout's) and no rule, finding or output format.

pub mod az;
pub mod quantity;

/// The object types live in the leaf [`crate::k8s`], which the reader imports too.
pub use crate::k8s::{self, Obj};

use crate::bundle::{Bundle, BundleError, InputState, Log, RawObject, Src};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Typed objects of one kind in `Src` order, kept in the lists they were parsed in (one per
/// file): joining them into one list would copy every object into fresh memory (144 MB for
/// 50,000 pods and 200,000 events). Iterate with `iter()`, `par_iter()` or `for o in &objs`.
#[derive(Debug, Clone)]
pub struct Objs<T> {
    segs: Vec<Vec<Obj<T>>>,
    len: usize,
}

impl<T> Default for Objs<T> {
    fn default() -> Self {
        Objs {
            segs: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Objs<T> {
    /// From lists each in `Src` order and each from one file (or from files no other list holds).
    pub fn from_lists(lists: Vec<Vec<Obj<T>>>) -> Objs<T> {
        let mut segs: Vec<Vec<Obj<T>>> = lists.into_iter().filter(|l| !l.is_empty()).collect();
        if !segs.is_sorted_by(|a, b| a[0].src <= b[0].src) {
            segs.sort_by(|a, b| a[0].src.cmp(&b[0].src));
        }
        let len = segs.iter().map(Vec::len).sum();
        Objs { segs, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> std::iter::Flatten<std::slice::Iter<'_, Vec<Obj<T>>>> {
        self.segs.iter().flatten()
    }

    /// Every item with its position (for [`Objs::at`]).
    fn positions(&self) -> impl Iterator<Item = ((u32, u32), &Obj<T>)> {
        self.segs
            .iter()
            .enumerate()
            .flat_map(|(s, seg)| seg.iter().enumerate().map(move |(i, o)| ((s as u32, i as u32), o)))
    }

    fn at(&self, (s, i): (u32, u32)) -> Option<&Obj<T>> {
        self.segs.get(s as usize)?.get(i as usize)
    }
}

impl<T: Sync> Objs<T> {
    pub fn par_iter(&self) -> impl rayon::iter::ParallelIterator<Item = &Obj<T>> {
        use rayon::prelude::*;
        self.segs.par_iter().flat_map_iter(|s| s.iter())
    }
}

impl<'a, T> IntoIterator for &'a Objs<T> {
    type Item = &'a Obj<T>;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<Obj<T>>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// An input a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// A resource type in any namespace, or cluster-scoped (`pods`, `nodes`, `meshconfigs.config.openservicemesh.io`).
    Resource(&'static str),
    /// A resource type in one namespace.
    NsResource(&'static str, &'static str),
    /// An `az` output by slug (`k8s-extension-list`); `*` at the end matches a prefix.
    Az(&'static str),
    /// Logs of containers in a namespace (`*`: any namespace).
    Logs(&'static str),
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Need::Resource(r) => write!(f, "{r}"),
            Need::NsResource(ns, r) => write!(f, "{r} in {ns}"),
            Need::Az(s) => write!(f, "az {s}"),
            Need::Logs("*") => write!(f, "container logs"),
            Need::Logs(ns) => write!(f, "logs of {ns}"),
        }
    }
}

/// The state of a need: present, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeedState {
    Present,
    Absent(String),
    Failed(String),
}

pub struct Snapshot {
    pub bundle: Bundle,
    pub pods: Objs<k8s::Pod>,
    pub nodes: Objs<k8s::Node>,
    pub events: Objs<k8s::Event>,
    pub deployments: Vec<Obj<k8s::Deployment>>,
    pub daemonsets: Vec<Obj<k8s::DaemonSet>>,
    pub replicasets: Vec<Obj<k8s::ReplicaSet>>,
    pub services: Vec<Obj<k8s::Service>>,
    pub endpoints: Vec<Obj<k8s::Endpoints>>,
    pub webhooks: Vec<Obj<k8s::WebhookConfiguration>>,
    pub crds: Vec<Obj<k8s::Crd>>,
    pub namespaces: Vec<Obj<k8s::Namespace>>,
    pub configmaps: Vec<Obj<k8s::ConfigMap>>,
    /// Extensions from `az k8s-extension list` and `show` (deduplicated by name; `show` wins).
    pub extensions: Vec<Obj<az::Extension>>,
    pub flux_configs: Vec<Obj<az::FluxConfiguration>>,
    /// Errors met while building typed views (added to the bundle's errors).
    pub model_errors: Vec<BundleError>,
    /// Positions in `events` of the events about each pod: namespace → pod name → positions,
    /// built the first time a rule asks ([`Snapshot::events_of_pod`]).
    pod_events: std::sync::OnceLock<PodEvents>,
    event_scans: std::sync::atomic::AtomicUsize,
}

/// Namespace → pod name → positions of its events in `Snapshot::events`.
type PodEvents = HashMap<String, HashMap<String, Vec<(u32, u32)>>>;

/// Calls of [`Snapshot::events_of_pod`] answered by a scan before the index is built.
const EVENT_SCANS: usize = 32;

fn typed<T: DeserializeOwned>(objs: &[&RawObject], errors: &mut Vec<BundleError>) -> Vec<Obj<T>> {
    let mut out = Vec::new();
    for o in objs {
        match T::deserialize(&o.value) {
            Ok(item) => out.push(Obj {
                item,
                src: o.src.clone(),
            }),
            Err(e) => errors.push(BundleError::new(
                match o.src.index {
                    Some(i) => format!("{}[{i}]", o.src.path),
                    None => o.src.path.to_string(),
                },
                format!("{} '{}' has an unexpected shape ({e}); left out", o.resource, o.name()),
            )),
        }
    }
    out
}

/// Like [`typed`], consuming the raw objects.
fn typed_owned<T: DeserializeOwned>(objs: Vec<RawObject>, errors: &mut Vec<BundleError>) -> Vec<Obj<T>> {
    let mut out = Vec::with_capacity(objs.len());
    for o in objs {
        let RawObject { resource, value, src } = o;
        // The name is needed only to report a bad shape, after the value is gone.
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_string);
        match serde_json::from_value::<T>(value) {
            Ok(item) => out.push(Obj { item, src }),
            Err(e) => errors.push(BundleError::new(
                match src.index {
                    Some(i) => format!("{}[{i}]", src.path),
                    None => src.path.to_string(),
                },
                format!(
                    "{resource} '{}' has an unexpected shape ({e}); left out",
                    name.unwrap_or_default()
                ),
            )),
        }
    }
    out
}

/// Typed objects from both sources: the reader's lists (one per file) and objects typed here
/// (in `Src` order, cut into one list per file so the lists can be put in order).
fn merge<T>(mut lists: Vec<Vec<Obj<T>>>, typed_here: Vec<Obj<T>>) -> Objs<T> {
    let mut cur: Vec<Obj<T>> = Vec::new();
    for o in typed_here {
        if cur.last().is_some_and(|l| l.src.path != o.src.path) {
            lists.push(std::mem::take(&mut cur));
        }
        cur.push(o);
    }
    lists.push(cur);
    Objs::from_lists(lists)
}

fn az_items(v: &Value) -> Vec<(Option<usize>, &Value)> {
    match v {
        Value::Array(a) => a.iter().enumerate().map(|(i, x)| (Some(i), x)).collect(),
        Value::Object(_) => vec![(None, v)],
        _ => Vec::new(),
    }
}

impl Snapshot {
    pub fn build(mut bundle: Bundle) -> Snapshot {
        let mut errors = Vec::new();
        // Pods, events and nodes are read only through their typed views (the most numerous
        // objects of a large bundle). `analyze` reads them typed already (`Bundle::typed`);
        // any still raw (read as `Value`s: YAML, or a bundle opened for `serve`) move out of the
        // raw list and are deserialized from the owned values, so their strings move instead of
        // being copied and the raw trees are freed as they go.
        let (mut raw_pods, mut raw_events, mut raw_nodes, mut rest) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for o in std::mem::take(&mut bundle.objects) {
            match o.resource.as_str() {
                "pods" => raw_pods.push(o),
                "events" => raw_events.push(o),
                "nodes" => raw_nodes.push(o),
                _ => rest.push(o),
            }
        }
        bundle.objects = rest;
        let pre = std::mem::take(&mut bundle.typed);
        let events = merge(pre.events, typed_owned(raw_events, &mut errors));
        let pods = merge(pre.pods, typed_owned(raw_pods, &mut errors));
        let nodes = merge(pre.nodes, typed_owned(raw_nodes, &mut errors));
        let of = |r: &str| -> Vec<&RawObject> { bundle.objects.iter().filter(|o| o.resource == r).collect() };
        let mut webhooks: Vec<Obj<k8s::WebhookConfiguration>> = Vec::new();
        for (res, kind) in [
            ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration"),
            ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration"),
        ] {
            let mut list: Vec<Obj<k8s::WebhookConfiguration>> = typed(&of(res), &mut errors);
            for w in &mut list {
                w.item.kind = kind.to_string();
            }
            webhooks.extend(list);
        }
        let deployments = typed(&of("deployments"), &mut errors);
        let daemonsets = typed(&of("daemonsets"), &mut errors);
        let replicasets = typed(&of("replicasets"), &mut errors);
        let services = typed(&of("services"), &mut errors);
        let endpoints = typed(&of("endpoints"), &mut errors);
        let crds = typed(&of("customresourcedefinitions"), &mut errors);
        let namespaces = typed(&of("namespaces"), &mut errors);
        let configmaps = typed(&of("configmaps"), &mut errors);

        let mut extensions: BTreeMap<String, Obj<az::Extension>> = BTreeMap::new();
        // list first, then show-* (which wins)
        let mut slugs: Vec<&String> = bundle.az.keys().filter(|k| k.starts_with("k8s-extension-")).collect();
        slugs.sort_by_key(|s| (s.as_str() != "k8s-extension-list", s.to_string()));
        for slug in slugs {
            let (v, src) = &bundle.az[slug];
            for (i, item) in az_items(v) {
                match az::Extension::deserialize(item) {
                    Ok(e) => {
                        extensions.insert(
                            e.name.clone(),
                            Obj {
                                item: e,
                                src: Src {
                                    path: src.path.clone(),
                                    index: i,
                                },
                            },
                        );
                    }
                    Err(e) => errors.push(BundleError::new(
                        src.path.to_string(),
                        format!("extension has an unexpected shape ({e}); left out"),
                    )),
                }
            }
        }
        let mut flux: BTreeMap<String, Obj<az::FluxConfiguration>> = BTreeMap::new();
        let mut fslugs: Vec<&String> = bundle
            .az
            .keys()
            .filter(|k| k.starts_with("k8s-configuration-flux-"))
            .collect();
        fslugs.sort_by_key(|s| (s.as_str() != "k8s-configuration-flux-list", s.to_string()));
        for slug in fslugs {
            let (v, src) = &bundle.az[slug];
            for (i, item) in az_items(v) {
                match az::FluxConfiguration::deserialize(item) {
                    Ok(c) => {
                        let key = format!("{}/{}", c.namespace.clone().unwrap_or_default(), c.name);
                        flux.insert(
                            key,
                            Obj {
                                item: c,
                                src: Src {
                                    path: src.path.clone(),
                                    index: i,
                                },
                            },
                        );
                    }
                    Err(e) => errors.push(BundleError::new(
                        src.path.to_string(),
                        format!("flux configuration has an unexpected shape ({e}); left out"),
                    )),
                }
            }
        }
        Snapshot {
            pods,
            nodes,
            events,
            deployments,
            daemonsets,
            replicasets,
            services,
            endpoints,
            webhooks,
            crds,
            namespaces,
            configmaps,
            extensions: extensions.into_values().collect(),
            flux_configs: flux.into_values().collect(),
            model_errors: errors,
            bundle,
            pod_events: std::sync::OnceLock::new(),
            event_scans: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The events whose involved object is the pod `ns/name`, in `Src` order. The first few
    /// calls scan the events; past [`EVENT_SCANS`] calls one pass builds an index (rules ask for
    /// every troubled pod's events: a scan of 200,000 events per pod would make a cluster with
    /// thousands of pending pods quadratic, and an index costs more than a few scans).
    pub fn events_of_pod(&self, ns: &str, name: &str) -> Vec<&Obj<k8s::Event>> {
        use std::sync::atomic::Ordering;
        if self.pod_events.get().is_none() && self.event_scans.fetch_add(1, Ordering::Relaxed) < EVENT_SCANS {
            return self
                .events
                .iter()
                .filter(|e| {
                    let io = &e.involved_object;
                    io.kind == "Pod"
                        && io.name == name
                        && io.namespace.as_deref().or(e.metadata.namespace.as_deref()) == Some(ns)
                })
                .collect();
        }
        let index = self.pod_events.get_or_init(|| {
            let mut m = PodEvents::new();
            for (at, e) in self.events.positions() {
                let io = &e.involved_object;
                if io.kind != "Pod" {
                    continue;
                }
                let Some(ens) = io.namespace.as_deref().or(e.metadata.namespace.as_deref()) else {
                    continue;
                };
                let by_name = match m.get_mut(ens) {
                    Some(b) => b,
                    None => m.entry(ens.to_string()).or_default(),
                };
                match by_name.get_mut(io.name.as_str()) {
                    Some(v) => v.push(at),
                    None => {
                        by_name.insert(io.name.to_string(), vec![at]);
                    }
                }
            }
            m
        });
        index
            .get(ns)
            .and_then(|b| b.get(name))
            .into_iter()
            .flatten()
            .filter_map(|&at| self.events.at(at))
            .collect()
    }

    /// Custom (or any) resources by full resource name.
    pub fn resources<'a>(&'a self, resource: &'a str) -> impl Iterator<Item = &'a RawObject> + 'a {
        self.bundle.objects_of(resource)
    }

    /// Every object whose resource name ends with `.group` (e.g. `.toolkit.fluxcd.io`).
    pub fn resources_in_group<'a>(&'a self, group_suffix: &'a str) -> impl Iterator<Item = &'a RawObject> + 'a {
        self.bundle
            .objects
            .iter()
            .filter(move |o| o.resource.ends_with(group_suffix))
    }

    pub fn az(&self, slug: &str) -> Option<&(Value, Src)> {
        self.bundle.az.get(slug)
    }

    pub fn logs(&self) -> &[Log] {
        &self.bundle.logs
    }

    pub fn logs_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a Log> + 'a {
        self.bundle.logs.iter().filter(move |l| l.namespace == ns)
    }

    /// The current (`previous: false`) or previous log of a container.
    pub fn log_of(&self, ns: &str, pod: &str, container: &str, previous: bool) -> Option<&Log> {
        self.bundle
            .logs
            .iter()
            .find(|l| l.namespace == ns && l.pod == pod && l.container == container && l.previous == previous)
    }

    /// The previous log of a container, or failing that its current log.
    pub fn last_log_of(&self, ns: &str, pod: &str, container: &str) -> Option<&Log> {
        self.log_of(ns, pod, container, true)
            .or_else(|| self.log_of(ns, pod, container, false))
    }

    pub fn node(&self, name: &str) -> Option<&Obj<k8s::Node>> {
        self.nodes.iter().find(|n| n.metadata.name == name)
    }

    /// The state of an input a rule declares.
    pub fn need_state(&self, need: &Need) -> NeedState {
        let inputs = &self.bundle.inputs;
        // Inputs are keyed by id: look at the ids under one prefix, not at every input (a bundle
        // of 24,000 logs has 24,000 log inputs, and rules ask for their needs often).
        let under = |prefix: String| {
            inputs
                .range(prefix.clone()..)
                .take_while(move |(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| v)
        };
        let matching: Vec<&crate::bundle::Input> = match need {
            Need::Resource(r) => inputs
                .get(&format!("kubectl/cluster/{r}"))
                .into_iter()
                .chain(under("kubectl/namespaces/".into()).filter(|i| i.id.rsplit('/').next() == Some(r)))
                .collect(),
            Need::NsResource(ns, r) => [format!("kubectl/cluster/{r}"), format!("kubectl/namespaces/{ns}/{r}")]
                .iter()
                .filter_map(|k| inputs.get(k))
                .collect(),
            Need::Az(slug) => match slug.strip_suffix('*') {
                Some(prefix) => under(format!("az/{prefix}")).collect(),
                None => inputs.get(&format!("az/{slug}")).into_iter().collect(),
            },
            Need::Logs("*") => under("logs/".into()).collect(),
            Need::Logs(ns) => under(format!("logs/{ns}/")).collect(),
        };
        let failed: Vec<String> = matching
            .iter()
            .filter(|i| i.state == InputState::Failed)
            .map(|i| match &i.reason {
                Some(r) => format!("{}: {}", i.id, r),
                None => i.id.clone(),
            })
            .collect();
        if !failed.is_empty() {
            return NeedState::Failed(failed.join("; "));
        }
        if matching.iter().any(|i| i.state == InputState::Present) {
            return NeedState::Present;
        }
        let reasons: Vec<String> = matching.iter().filter_map(|i| i.reason.clone()).collect();
        if reasons.is_empty() {
            NeedState::Absent(format!("{need} not in the bundle"))
        } else {
            NeedState::Absent(format!("{need} not collected: {}", reasons.join("; ")))
        }
    }

    pub fn has(&self, need: &Need) -> bool {
        self.need_state(need) == NeedState::Present
    }
}

/// `kind/namespace/name` for evidence.
pub fn object_ref(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{kind}/{ns}/{name}"),
        _ => format!("{kind}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_of_pod_by_scan_and_by_index_agree() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/sample/arcdiag-contoso-arc-01-20261125T170000Z");
        let none = crate::signatures::LogMatcher::empty();
        let b = crate::bundle::open(&dir, &crate::bundle::Limits::default(), &none, true).expect("sample");
        let snap = Snapshot::build(b);
        let names = |v: Vec<&Obj<k8s::Event>>| v.iter().map(|e| e.metadata.name.to_string()).collect::<Vec<_>>();
        let pods: Vec<(String, String)> = snap
            .pods
            .iter()
            .map(|p| (p.ns().to_string(), p.metadata.name.to_string()))
            .collect();
        let scanned: Vec<Vec<String>> = pods.iter().map(|(ns, n)| names(snap.events_of_pod(ns, n))).collect();
        assert!(scanned.iter().any(|v| !v.is_empty()), "the sample has pod events");
        // past EVENT_SCANS calls the index answers; the answers are the same
        for _ in 0..EVENT_SCANS {
            let _ = snap.events_of_pod("none", "none");
        }
        let indexed: Vec<Vec<String>> = pods.iter().map(|(ns, n)| names(snap.events_of_pod(ns, n))).collect();
        assert!(snap.pod_events.get().is_some());
        assert_eq!(scanned, indexed);
    }
}
