//! The in-memory index `serve` answers from: every resource type (built-in, from CRDs, or inferred
//! from the bundle's names; what a type is, is `types`), every object by type (as its compact JSON
//! and its `Table` cells, an [`Obj`], sorted by namespace and name for paging), every log by
//! container, and the bundle's clock. Built once at start; requests only read it. Knows nothing of
//! HTTP or of how a response is put together (`api`; the cells come from `table`).

use super::table;
use super::types::{builtin_type, crd_type, plural_of, BUILTINS};
pub use super::types::{PrinterColumn, ResourceType};
use crate::bundle::Bundle;
use crate::k8s::time::unix_seconds;
use rayon::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The group of Gatekeeper's constraint kinds (one CRD per `ConstraintTemplate`).
const GATEKEEPER_CONSTRAINTS: &str = "constraints.gatekeeper.sh";

/// Key of a type: (group, plural).
pub type TypeKey = (String, String);

/// A container log: (namespace, pod, container, previous).
pub type LogKey = (String, String, String, bool);

/// One object as it is served: its compact JSON (what a GET or a list writes, byte for byte),
/// where its `metadata` lies in it (for `PartialObjectMetadata` rows), its `Table` cells, and what
/// selectors and paging look at. The parsed form is dropped once these are made: a parsed
/// object takes several times its JSON's size.
#[derive(Debug)]
pub struct Obj {
    pub namespace: Box<str>,
    pub name: Box<str>,
    /// `metadata.labels` (`Null` when none).
    pub labels: Value,
    pub json: Box<[u8]>,
    /// Byte range of the `metadata` value in `json`.
    meta: (u32, u32),
    /// The `Table` row's cells (a JSON array) for its type's columns.
    pub cells: Box<[u8]>,
}

impl Obj {
    /// Serialize `v` (keys in order, as `serde_json` writes a `Value`), noting where its metadata is.
    pub fn new(v: &Value, cells: &[Value]) -> Obj {
        let mut json = Vec::with_capacity(1024);
        let mut meta = (0u32, 0u32);
        match v.as_object() {
            Some(m) => {
                json.push(b'{');
                for (k, (key, x)) in m.iter().enumerate() {
                    if k > 0 {
                        json.push(b',');
                    }
                    let _ = serde_json::to_writer(&mut json, key);
                    json.push(b':');
                    let start = json.len();
                    let _ = serde_json::to_writer(&mut json, x);
                    if key == "metadata" {
                        meta = (start as u32, json.len() as u32);
                    }
                }
                json.push(b'}');
            }
            None => {
                let _ = serde_json::to_writer(&mut json, v);
            }
        }
        Obj {
            namespace: str_at(v, "/metadata/namespace").into(),
            name: str_at(v, "/metadata/name").into(),
            labels: v.pointer("/metadata/labels").cloned().unwrap_or(Value::Null),
            json: json.into_boxed_slice(),
            meta,
            cells: serde_json::to_vec(cells)
                .unwrap_or_else(|_| b"[]".to_vec())
                .into_boxed_slice(),
        }
    }

    /// The object's `metadata` value, serialized (`{}` when it has none).
    pub fn metadata(&self) -> &[u8] {
        match self.json.get(self.meta.0 as usize..self.meta.1 as usize) {
            Some(m) if !m.is_empty() => m,
            _ => b"{}",
        }
    }

    /// The object parsed again (for field selectors and the like).
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Default)]
pub struct Index {
    pub types: BTreeMap<TypeKey, ResourceType>,
    /// Objects by type, sorted by (namespace, name).
    pub objects: BTreeMap<TypeKey, Vec<Obj>>,
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
        let mut parsed: BTreeMap<TypeKey, Vec<Value>> = BTreeMap::new();
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
                    // The plural: the list file's name when it names the group, else Gatekeeper's
                    // rule for its constraint kinds (the lowercased kind), else a guess.
                    let plural = if !res_group.is_empty() && res_group == group {
                        res_plural.clone()
                    } else if group == GATEKEEPER_CONSTRAINTS {
                        kind.to_ascii_lowercase()
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
                        selectable_fields: Vec::new(),
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
                parsed.entry(key).or_default().push(v);
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
        // Gatekeeper's constraint kinds are in its `constraint` and `constraints` categories (its
        // CRDs say so; bundles often hold the constraints without them): `kubectl get
        // constraints` lists every kind.
        for t in ix.types.values_mut() {
            if t.group == GATEKEEPER_CONSTRAINTS && t.categories.is_empty() {
                t.categories = vec!["constraint".into(), "constraints".into()];
            }
        }
        // Namespaces that hold objects but have no Namespace object: add one, Active.
        let ns_key = (String::new(), "namespaces".to_string());
        let mut have: BTreeSet<String> = parsed
            .get(&ns_key)
            .map(|l| l.iter().map(|n| str_at(n, "/metadata/name").to_string()).collect())
            .unwrap_or_default();
        let mut used: BTreeSet<String> = BTreeSet::new();
        for list in parsed.values() {
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
            parsed.entry(ns_key.clone()).or_default().push(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }));
        }
        for list in parsed.values_mut() {
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
            parsed
                .get(&(String::new(), "nodes".to_string()))
                .and_then(|l| l.first())
                .map(|n| str_at(n, "/status/nodeInfo/kubeletVersion").to_string())
                .filter(|s| !s.is_empty())
        });
        let now = ix.now;
        for (key, list) in parsed {
            let Some(t) = ix.types.get(&key) else { continue };
            let objs: Vec<Obj> = list
                .into_par_iter()
                .map(|v| Obj::new(&v, &table::cells(t, &v, now)))
                .collect();
            ix.objects.insert(key, objs);
        }
        ix.version = version_info(git_version.as_deref().unwrap_or("v0.0.0-arcdiag-bundle"));
        ix
    }

    /// Find a type by group, version and plural; the version must be served.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_string(), plural.to_string()))
            .filter(|t| t.versions.iter().any(|v| v == version))
    }

    pub fn objects_of(&self, t: &ResourceType) -> &[Obj] {
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
