//! The layout mapping: the only code that knows paths. It finds the bundle root and layout by
//! marker files (arcdiag `manifest.json`, troubleshoot.sh `version.yaml` / `cluster-resources/`,
//! cluster-info dump `nodes.json` beside `<ns>/pods.json`) and maps every member onto logical
//! inputs: `kubectl/cluster/<resource>`, `kubectl/namespaces/<ns>/<resource>`, `az/<slug>`,
//! `logs/<ns>/<pod>/<container>[.previous]`.

use super::manifest;
use super::read::{Content, Member, RawBundle};
use super::typed::TypedDoc;
use super::{Bundle, BundleError, ClusterMeta, Input, InputState, Layout, Log, RawObject, Src, TypedObjects};
use crate::k8s::Obj;
use serde_json::Value;
use std::collections::BTreeMap;
use std::collections::HashMap;

struct Members {
    list: Vec<Member>,
    by_path: HashMap<String, usize>,
}

impl Members {
    fn new(list: Vec<Member>, errors: &mut Vec<BundleError>) -> Members {
        let mut by_path = HashMap::new();
        by_path.reserve(list.len());
        let mut dups: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, m) in list.iter().enumerate() {
            // Duplicate names: the last one wins, as when extracting.
            if by_path.insert(m.path.clone(), i).is_some() && !matches!(m.content, Content::Dir) {
                *dups.entry(m.path.as_str()).or_insert(1) += 1;
            }
        }
        for (path, n) in dups {
            errors.push(BundleError::new(
                path.to_string(),
                format!("duplicate member name: {n} copies in the archive; only the last is read"),
            ));
        }
        Members { list, by_path }
    }

    /// Whether `idx` is the copy of its name that is read (the last one).
    fn is_current(&self, idx: usize) -> bool {
        self.by_path.get(&self.list[idx].path) == Some(&idx)
    }

    /// Follow symlinks and hard links inside the archive (at most 8 hops); `None` for links that
    /// leave the archive, loop or dangle.
    fn resolve(&self, idx: usize, errors: &mut Vec<BundleError>) -> Option<usize> {
        let mut cur = idx;
        for _ in 0..8 {
            let m = &self.list[cur];
            let target = match &m.content {
                Content::Symlink(t) => join_link(&m.path, t),
                Content::HardLink(t) => super::read::clean_member_name(t).ok(),
                _ => return Some(cur),
            };
            let Some(target) = target else {
                errors.push(BundleError::new(
                    self.list[idx].path.clone(),
                    "link points outside the archive; ignored".into(),
                ));
                return None;
            };
            match self.by_path.get(&target) {
                Some(&next) => cur = next,
                None => {
                    errors.push(BundleError::new(
                        self.list[idx].path.clone(),
                        format!("link target '{target}' is not in the archive; ignored"),
                    ));
                    return None;
                }
            }
        }
        errors.push(BundleError::new(
            self.list[idx].path.clone(),
            "link loop; ignored".into(),
        ));
        None
    }
}

/// Resolve a symlink target relative to the link's folder; `None` if it climbs out.
fn join_link(link_path: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link_path.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn strip_root<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    if root.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(root)?.strip_prefix('/')
    }
}

fn parent(path: &str) -> &str {
    path.rfind('/').map(|i| &path[..i]).unwrap_or("")
}

fn depth(path: &str) -> usize {
    path.matches('/').count()
}

/// Detect the layout and its root folder (archive-relative, "" for the top).
fn detect(ms: &Members) -> (Layout, String) {
    let mut best: Option<(usize, String)> = None;
    for m in &ms.list {
        if m.path.rsplit('/').next() == Some("manifest.json") {
            let arcdiag = match &m.content {
                Content::Manifest(Ok(man)) => man.is_arcdiag(),
                Content::Json(Ok(v)) => manifest::is_arcdiag_format(v.get("format").and_then(Value::as_str)),
                _ => false,
            };
            if arcdiag {
                let d = depth(&m.path);
                if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                    best = Some((d, parent(&m.path).to_string()));
                }
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::ArcdiagV1, root);
    }
    // An arcdiag tree whose manifest is unreadable or missing (damaged, or cut off: the collector
    // writes the manifest last): `kubectl/cluster/` or `kubectl/namespaces/` beside `az/` or `logs/`,
    // or beside a `manifest.json`.
    for m in &ms.list {
        let p = m.path.as_str();
        let at = if p.starts_with("kubectl/cluster/") || p.starts_with("kubectl/namespaces/") {
            Some(0)
        } else {
            p.find("/kubectl/cluster/")
                .or_else(|| p.find("/kubectl/namespaces/"))
                .map(|i| i + 1)
        };
        if let Some(i) = at {
            let root = if i == 0 { String::new() } else { p[..i - 1].to_string() };
            let d = if root.is_empty() { 0 } else { depth(&root) + 1 };
            if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                best = Some((d, root));
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::ArcdiagV1, root);
    }
    // troubleshoot.sh: version.yaml of kind SupportBundle, else the shortest cluster-resources/.
    for m in &ms.list {
        if m.path.rsplit('/').next() == Some("version.yaml") {
            if let Content::Yaml(Ok(v)) = &m.content {
                if v.get("kind").and_then(Value::as_str) == Some("SupportBundle") {
                    let d = depth(&m.path);
                    if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                        best = Some((d, parent(&m.path).to_string()));
                    }
                }
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::Troubleshoot, root);
    }
    for m in &ms.list {
        let p = m.path.as_str();
        let idx = if p.starts_with("cluster-resources/") || p == "cluster-resources" {
            Some(0)
        } else {
            p.find("/cluster-resources/")
                .map(|i| i + 1)
                .or_else(|| p.strip_suffix("/cluster-resources").map(|s| s.len() + 1))
        };
        if let Some(i) = idx {
            let root = if i == 0 { String::new() } else { p[..i - 1].to_string() };
            let d = if root.is_empty() { 0 } else { depth(&root) + 1 };
            if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                best = Some((d, root));
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::Troubleshoot, root);
    }
    // cluster-info dump: nodes.json beside <ns>/pods.json (roots gathered once: linear, not
    // members x members).
    let pod_roots: std::collections::HashSet<&str> = ms
        .list
        .iter()
        .filter(|o| o.path.ends_with("/pods.json"))
        .map(|o| parent(&o.path))
        .filter(|ns_dir| !ns_dir.is_empty())
        .map(parent)
        .collect();
    for m in &ms.list {
        if m.path.rsplit('/').next() == Some("nodes.json") {
            let root = parent(&m.path);
            if pod_roots.contains(root) {
                let d = depth(&m.path);
                if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                    best = Some((d, root.to_string()));
                }
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::ClusterInfoDump, root);
    }
    (Layout::Unknown, String::new())
}

/// Objects the mapper keeps for one bundle at most; each costs far more than its JSON text once
/// typed, so a list of a million `{}` must not reach the model whole.
pub const MAX_OBJECTS: usize = 1_000_000;

/// [`items_of`], by value: (items, whether the document was a single object).
fn into_items(v: Value) -> Result<(Vec<Value>, bool), Value> {
    match v {
        Value::Array(a) => Ok((a, false)),
        Value::Object(mut o) => match o.get("items") {
            Some(Value::Array(_)) => match o.remove("items") {
                Some(Value::Array(a)) => Ok((a, false)),
                _ => Ok((Vec::new(), false)),
            },
            Some(Value::Null) => Ok((Vec::new(), false)),
            Some(_) => Err(Value::Object(o)),
            None if o.contains_key("metadata") || o.contains_key("kind") => Ok((vec![Value::Object(o)], true)),
            None => Err(Value::Object(o)),
        },
        Value::Null => Ok((Vec::new(), false)),
        other => Err(other),
    }
}

/// The items of a `kubectl get -o json` style document: a List, a bare array, `items: null`, or
/// one object.
pub fn items_of(v: &Value) -> Option<Vec<&Value>> {
    match v {
        Value::Array(a) => Some(a.iter().collect()),
        Value::Object(o) => match o.get("items") {
            Some(Value::Array(a)) => Some(a.iter().collect()),
            Some(Value::Null) => Some(Vec::new()),
            Some(_) => None,
            None if o.contains_key("metadata") || o.contains_key("kind") => Some(vec![v]),
            None => None,
        },
        Value::Null => Some(Vec::new()),
        _ => None,
    }
}

struct Mapper {
    inputs: BTreeMap<String, Input>,
    objects: Vec<RawObject>,
    typed: TypedObjects,
    typed_count: usize,
    az: BTreeMap<String, (Value, Src)>,
    logs: Vec<Log>,
    errors: Vec<BundleError>,
}

impl Mapper {
    fn set_input(&mut self, id: String, state: InputState, path: Option<String>, reason: Option<String>) {
        use std::collections::btree_map::Entry;
        // One lookup per input (a bundle of 60,000 logs sets 60,000 of them).
        match self.inputs.entry(id) {
            // A failure recorded for an input is never overwritten by a later "present".
            Entry::Occupied(o) if o.get().state == InputState::Failed && state != InputState::Failed => {}
            Entry::Occupied(mut o) => {
                let id = o.key().clone();
                o.insert(Input {
                    id,
                    state,
                    path,
                    reason,
                });
            }
            Entry::Vacant(v) => {
                let id = v.key().clone();
                v.insert(Input {
                    id,
                    state,
                    path,
                    reason,
                });
            }
        }
    }

    /// A resource file that could not be read (or not all of it): an error, and its input failed.
    fn fail_file(&mut self, id: String, path: &str, why: String) {
        self.errors.push(BundleError::new(path.to_string(), why.clone()));
        self.set_input(
            id,
            InputState::Failed,
            Some(path.to_string()),
            Some(format!("{path}: {why}")),
        );
    }

    /// Add the objects of one resource file.
    fn add_resource_file(&mut self, id: String, resource: &str, path: &str, content: Content) {
        let value = match content {
            Content::Json(r) | Content::Yaml(r) => r,
            Content::Typed(r) => return self.add_typed_file(id, resource, path, r),
            _ => return,
        };
        match value {
            Err(e) => {
                self.fail_file(id, path, e);
            }
            Ok(v) => match into_items(v) {
                Ok((items, single)) => {
                    let total = items.len();
                    for (i, item) in items.into_iter().enumerate() {
                        if !item.is_object() {
                            continue;
                        }
                        if self.objects.len() + self.typed_count >= MAX_OBJECTS {
                            let why = format!(
                                "the bundle holds more than {MAX_OBJECTS} objects (bound on objects analyzed); items {i}..{total} of this file were not read"
                            );
                            self.fail_file(id, path, why);
                            return;
                        }
                        self.objects.push(RawObject {
                            resource: resource.to_string(),
                            value: item,
                            src: Src {
                                path: path.to_string(),
                                index: if single { None } else { Some(i) },
                            },
                        });
                    }
                    self.set_input(id, InputState::Present, Some(path.to_string()), None);
                }
                Err(_) => {
                    let why = format!("{path}: not a Kubernetes list, array or object");
                    self.errors.push(BundleError::new(
                        path.to_string(),
                        "not a Kubernetes list, array or object".into(),
                    ));
                    self.set_input(id, InputState::Failed, Some(path.to_string()), Some(why));
                }
            },
        }
    }

    /// Add a list the reader parsed straight into typed models.
    fn add_typed_file(&mut self, id: String, resource: &str, path: &str, doc: Result<TypedDoc, String>) {
        let doc = match doc {
            Ok(d) if d.kind().resource() == resource => d,
            Ok(d) => {
                // The reader types by file name; a layout that maps the name elsewhere is a bug.
                let why = format!(
                    "read as {} but this layout holds {resource} here; left out",
                    d.kind().resource()
                );
                self.fail_file(id, path, why);
                return;
            }
            Err(e) => {
                self.fail_file(id, path, e);
                return;
            }
        };
        let (bad, more_bad) = doc.bad();
        for b in bad {
            // The same words as `Snapshot::build` uses for an object typed later.
            self.errors.push(BundleError::new(
                match b.index {
                    Some(i) => format!("{path}[{i}]"),
                    None => path.to_string(),
                },
                format!("{resource} '{}' has an unexpected shape ({}); left out", b.name, b.why),
            ));
        }
        if more_bad > 0 {
            self.errors.push(BundleError::new(
                path.to_string(),
                format!("{more_bad} more {resource} have an unexpected shape; left out"),
            ));
        }
        let room = MAX_OBJECTS.saturating_sub(self.objects.len() + self.typed_count);
        let total = doc.len();
        // Each file's list is kept as parsed (no copy); only its path is filled in.
        fn keep<T>(out: &mut Vec<Vec<Obj<T>>>, mut items: Vec<Obj<T>>, room: usize, path: &str) {
            items.truncate(room);
            for o in &mut items {
                o.src.path = path.to_string();
            }
            if !items.is_empty() {
                out.push(items);
            }
        }
        match doc {
            TypedDoc::Pods(p) => keep(&mut self.typed.pods, p.items, room, path),
            TypedDoc::Events(p) => keep(&mut self.typed.events, p.items, room, path),
            TypedDoc::Nodes(p) => keep(&mut self.typed.nodes, p.items, room, path),
        }
        self.typed_count += total.min(room);
        if total > room {
            let why = format!(
                "the bundle holds more than {MAX_OBJECTS} objects (bound on objects analyzed); {} items of this file were not read",
                total - room
            );
            self.fail_file(id, path, why);
            return;
        }
        self.set_input(id, InputState::Present, Some(path.to_string()), None);
    }

    fn add_log(&mut self, ns: &str, pod: &str, container: &str, previous: bool, path: &str, content: Content) {
        if let Content::Log(scans) = content {
            for mut scan in scans {
                let (ns, pod, container) = match scan.segment.take() {
                    Some(seg) => seg,
                    None => (ns.to_string(), pod.to_string(), container.to_string()),
                };
                let log = Log {
                    namespace: ns,
                    pod,
                    container,
                    previous,
                    path: path.to_string(),
                    scan,
                };
                self.set_input(log.id(), InputState::Present, Some(path.to_string()), None);
                self.logs.push(log);
            }
        }
    }
}

fn take(members: &mut Members, idx: usize) -> Content {
    std::mem::replace(&mut members.list[idx].content, Content::Other)
}

/// Map a raw bundle onto logical inputs.
pub fn map(raw: RawBundle, source: String) -> Bundle {
    let RawBundle {
        members,
        errors,
        stopped_early,
        container,
    } = raw;
    let mut errors = errors;
    let mut ms = Members::new(members, &mut errors);
    let (layout, root) = detect(&ms);
    let mut mapper = Mapper {
        inputs: BTreeMap::new(),
        objects: Vec::new(),
        typed: TypedObjects::default(),
        typed_count: 0,
        az: BTreeMap::new(),
        logs: Vec::with_capacity(ms.list.iter().filter(|m| matches!(&m.content, Content::Log(_))).count()),
        errors,
    };
    let mut bundle_meta = (None, ClusterMeta::default(), true);
    match layout {
        Layout::ArcdiagV1 => bundle_meta = map_arcdiag(&mut ms, &root, &mut mapper),
        Layout::Troubleshoot => map_troubleshoot(&mut ms, &root, &mut mapper),
        Layout::ClusterInfoDump => map_cluster_info(&mut ms, &root, &mut mapper),
        Layout::Unknown => {}
    }
    // Cluster version from kubectl version output, when the layout gave one.
    let (collected_at, mut cluster, complete) = bundle_meta;
    if cluster.kubernetes_version.is_none() {
        if let Some((v, _)) = mapper.az.get("__kubectl-version") {
            cluster.kubernetes_version = v
                .pointer("/serverVersion/gitVersion")
                .or_else(|| v.get("gitVersion"))
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
    mapper.az.remove("__kubectl-version");
    // Usually in order already (files are mapped in archive order): check before sorting.
    fn by_src<T>(v: &mut [T], src: impl Fn(&T) -> &Src) {
        if !v.is_sorted_by(|a, b| src(a) <= src(b)) {
            v.sort_by(|a, b| src(a).cmp(src(b)));
        }
    }
    by_src(&mut mapper.objects, |o| &o.src);

    // Logs (~300-byte structs, tens of thousands) are usually in order already; when not, sort
    // their positions and move each log once.
    let log_key = |l: &Log| (l.path.clone(), l.scan.tail_first_line);
    if !mapper
        .logs
        .is_sorted_by(|a, b| (&a.path, a.scan.tail_first_line) <= (&b.path, b.scan.tail_first_line))
    {
        let mut order: Vec<(usize, (String, u64))> = mapper.logs.iter().map(log_key).enumerate().collect();
        order.sort_by(|a, b| a.1.cmp(&b.1));
        let mut slots: Vec<Option<Log>> = std::mem::take(&mut mapper.logs).into_iter().map(Some).collect();
        let mut sorted = Vec::with_capacity(slots.len());
        sorted.extend(order.into_iter().filter_map(|(i, _)| slots[i].take()));
        mapper.logs = sorted;
    }
    mapper.errors.sort();
    mapper.errors.dedup();
    Bundle {
        source,
        container,
        layout,
        collected_at,
        cluster,
        complete,
        errors: mapper.errors,
        inputs: mapper.inputs,
        objects: mapper.objects,
        typed: mapper.typed,
        az: mapper.az,
        logs: mapper.logs,
        read_stopped_early: stopped_early,
    }
}

/// The resolved (path relative to root, member index) of every file under the root.
fn files_under(ms: &Members, root: &str, errors: &mut Vec<BundleError>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for i in 0..ms.list.len() {
        let Some(rel) = strip_root(&ms.list[i].path, root) else {
            continue;
        };
        if matches!(ms.list[i].content, Content::Dir) || !ms.is_current(i) {
            continue;
        }
        let rel = rel.to_string();
        if let Some(target) = ms.resolve(i, errors) {
            out.push((rel, target));
        }
    }
    out
}

fn map_arcdiag(ms: &mut Members, root: &str, mp: &mut Mapper) -> (Option<String>, ClusterMeta, bool) {
    let manifest_path = if root.is_empty() {
        "manifest.json".to_string()
    } else {
        format!("{root}/manifest.json")
    };
    let manifest_idx = ms.by_path.get(&manifest_path).copied();
    // Taken (nothing reads it again); a bundle opened for `serve` holds it as a `Value`.
    let read = match manifest_idx.map(|i| take(ms, i)) {
        Some(Content::Json(Ok(v))) => Some(Ok(manifest::from_value(&v))),
        Some(Content::Manifest(r)) => Some(r.map(|m| *m)),
        Some(Content::Json(Err(e))) => Some(Err(e)),
        _ => None,
    };
    let (manifest, manifest_problem) = match read {
        Some(Ok(m)) if m.is_arcdiag() => (Some(m), String::new()),
        Some(Ok(_)) => (
            None,
            "not an arcdiag manifest (no `format: arcdiag-bundle/v1`)".to_string(),
        ),
        Some(Err(e)) => (None, e),
        None => (
            None,
            "missing (the archive may have been cut off before it)".to_string(),
        ),
    };
    let mut collected_at = None;
    let mut cluster = ClusterMeta::default();
    let mut complete = true;
    let mut step_outputs: HashMap<String, String> = HashMap::new();
    if let Some(m) = manifest {
        collected_at = m.collected_at.0;
        complete = m.complete.0.unwrap_or(true);
        cluster.name = m.cluster.name.0;
        cluster.resource_group = m.cluster.resource_group.0;
        cluster.cluster_type = m.cluster.cluster_type.0;
        cluster.kube_context = m.cluster.kube_context.0;
        match m.steps.0 {
            Some(steps) => {
                // The bundle path of a step's output (one buffer for all steps).
                let mut full = String::new();
                for (i, step) in steps.into_iter().enumerate() {
                    let Some(id) = step.id.0.as_deref() else {
                        mp.errors.push(BundleError::new(
                            "manifest.json".into(),
                            format!("step #{} has no id; ignored", i + 1),
                        ));
                        continue;
                    };
                    let status = step.status.0.as_deref().unwrap_or("");
                    let output = step.output.0;
                    let stderr = step.stderr.0.as_deref().unwrap_or("").trim();
                    let reason = |what: &str| {
                        if stderr.is_empty() {
                            format!("collection step {what}")
                        } else {
                            format!("collection step {what}: {stderr}")
                        }
                    };
                    // Logs map to their input by path (`Log::id`), so only other outputs need
                    // their step id looked up (a bundle holds tens of thousands of logs).
                    let keyed = |o: &str| !o.starts_with("logs/");
                    match status {
                        "ok" => {
                            if let Some(o) = &output {
                                if keyed(o) {
                                    step_outputs.insert(o.clone(), id.to_string());
                                }
                                full.clear();
                                if !root.is_empty() {
                                    full.push_str(root);
                                    full.push('/');
                                }
                                full.push_str(o);
                                let present = ms.by_path.contains_key(full.as_str());
                                if !present {
                                    mp.errors.push(BundleError::new(
                                        "manifest.json".into(),
                                        format!("step '{id}' lists output '{o}', which the bundle does not hold"),
                                    ));
                                    mp.set_input(
                                        id.to_string(),
                                        InputState::Failed,
                                        Some(o.clone()),
                                        Some(format!("the manifest lists '{o}' but the bundle does not hold it")),
                                    );
                                }
                            }
                        }
                        "not-found" => {
                            mp.set_input(
                                id.to_string(),
                                InputState::Present,
                                None,
                                Some("the cluster does not serve this resource type".into()),
                            );
                        }
                        "skipped" => mp.set_input(id.to_string(), InputState::Absent, None, Some(reason("skipped"))),
                        "timeout" => mp.set_input(
                            id.to_string(),
                            InputState::Failed,
                            output.clone(),
                            Some(reason("timed out")),
                        ),
                        // A container with no previous instance (restarted long ago, or
                        // garbage-collected) fails `logs --previous` routinely: nothing is lost.
                        "failed" if id.starts_with("logs/") && id.ends_with(".previous") => {
                            mp.set_input(id.to_string(), InputState::Absent, None, Some(reason("failed")))
                        }
                        "failed" => mp.set_input(
                            id.to_string(),
                            InputState::Failed,
                            output.clone(),
                            Some(reason("failed")),
                        ),
                        other => mp.set_input(
                            id.to_string(),
                            InputState::Failed,
                            output.clone(),
                            Some(format!("unknown step status '{other}'")),
                        ),
                    }
                    // An ok step's output was mapped above (the last such step wins); others only
                    // name an output no ok step claims.
                    if let Some(o) = output.filter(|o| status != "ok" && keyed(o)) {
                        step_outputs.entry(o).or_insert_with(|| id.to_string());
                    }
                }
            }
            _ => mp.errors.push(BundleError::new(
                "manifest.json".into(),
                "no `steps` list; files are read without it".into(),
            )),
        }
    } else {
        mp.errors.push(BundleError::new(
            "manifest.json".into(),
            format!(
                "manifest {manifest_problem}; the files are read without it, so failed steps cannot be told from absent ones"
            ),
        ));
    }
    let mut err = Vec::new();
    let files = files_under(ms, root, &mut err);
    mp.errors.extend(err);
    for (rel, idx) in files {
        if rel == "manifest.json" {
            continue;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        let step_id = if parts.first() == Some(&"logs") {
            None
        } else {
            step_outputs.remove(&rel)
        };
        // A failed step that still left partial output keeps its failed state.
        match parts.as_slice() {
            ["kubectl", "version.json"] => {
                if let Content::Json(Ok(v)) = take(ms, idx) {
                    mp.az.insert(
                        "__kubectl-version".into(),
                        (
                            v,
                            Src {
                                path: rel.clone(),
                                index: None,
                            },
                        ),
                    );
                    mp.set_input("kubectl/version".into(), InputState::Present, Some(rel.clone()), None);
                }
            }
            ["kubectl", "cluster", file] => {
                if let Some(res) = file.strip_suffix(".json") {
                    let id = step_id.unwrap_or_else(|| format!("kubectl/cluster/{res}"));
                    let c = take(ms, idx);
                    mp.add_resource_file(id, res, &rel, c);
                }
            }
            ["kubectl", "namespaces", _ns, file] => {
                if let Some(res) = file.strip_suffix(".json") {
                    let id = step_id.unwrap_or_else(|| rel.trim_end_matches(".json").to_string());
                    let c = take(ms, idx);
                    mp.add_resource_file(id, res, &rel, c);
                }
            }
            ["az", file] => {
                if let Some(slug) = file.strip_suffix(".json") {
                    let id = step_id.unwrap_or_else(|| format!("az/{slug}"));
                    match take(ms, idx) {
                        Content::Json(Ok(v)) => {
                            mp.az.insert(
                                slug.to_string(),
                                (
                                    v,
                                    Src {
                                        path: rel.clone(),
                                        index: None,
                                    },
                                ),
                            );
                            mp.set_input(id, InputState::Present, Some(rel.clone()), None);
                        }
                        Content::Json(Err(e)) => {
                            mp.errors.push(BundleError::new(rel.clone(), e.clone()));
                            mp.set_input(id, InputState::Failed, Some(rel.clone()), Some(format!("{rel}: {e}")));
                        }
                        _ => {}
                    }
                }
            }
            ["helm", file] => {
                if let Some(slug) = file.strip_suffix(".json") {
                    if let Content::Json(Ok(v)) = take(ms, idx) {
                        mp.az.insert(
                            format!("helm-{slug}"),
                            (
                                v,
                                Src {
                                    path: rel.clone(),
                                    index: None,
                                },
                            ),
                        );
                        mp.set_input(format!("helm/{slug}"), InputState::Present, Some(rel.clone()), None);
                    }
                }
            }
            ["logs", ns, pod, file] => {
                let (container, previous) = if let Some(c) = file.strip_suffix(".previous.log") {
                    (c, true)
                } else if let Some(c) = file.strip_suffix(".log") {
                    (c, false)
                } else {
                    continue;
                };
                let c = take(ms, idx);
                mp.add_log(ns, pod, container, previous, &rel, c);
            }
            _ => {}
        }
    }
    (collected_at, cluster, complete)
}

/// troubleshoot.sh folder names that differ from the API plural.
fn troubleshoot_resource(name: &str) -> &str {
    match name {
        "custom-resource-definitions" => "customresourcedefinitions",
        "storage-classes" => "storageclasses",
        "pvs" => "persistentvolumes",
        "pvcs" => "persistentvolumeclaims",
        "resource-quota" | "resource-quotas" => "resourcequotas",
        "limitranges" => "limitranges",
        "clusterRoles" | "clusterroles" => "clusterroles",
        "clusterRoleBindings" | "clusterrolebindings" => "clusterrolebindings",
        "roleBindings" | "rolebindings" => "rolebindings",
        "pod-disruption-budgets" => "poddisruptionbudgets",
        "image-pull-secrets" => "image-pull-secrets",
        "priorityclasses" => "priorityclasses",
        "volumeattachments" => "volumeattachments",
        "serviceaccounts" => "serviceaccounts",
        "ingress" => "ingresses",
        "network-policy" => "networkpolicies",
        other => other,
    }
}

/// Resource types whose data troubleshoot.sh collects but we never read (secrets stay unread).
fn troubleshoot_ignored(res: &str) -> bool {
    matches!(
        res,
        "secrets" | "image-pull-secrets" | "auth-cani-list" | "groups" | "resources"
    )
}

fn error_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(error_text).collect::<Vec<_>>().join("; "),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", error_text(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn map_troubleshoot(ms: &mut Members, root: &str, mp: &mut Mapper) {
    let mut err = Vec::new();
    let files = files_under(ms, root, &mut err);
    mp.errors.extend(err);
    // Newer troubleshoot.sh writes each custom resource list twice, as `.yaml` and `.json`: read one.
    let names: std::collections::HashSet<String> = files.iter().map(|(r, _)| r.clone()).collect();
    for (rel, idx) in files {
        if rel.starts_with("cluster-resources/custom-resources/") {
            if let Some(stem) = rel.strip_suffix(".yaml").or_else(|| rel.strip_suffix(".yml")) {
                if names.contains(&format!("{stem}.json")) {
                    continue;
                }
            }
        }
        let Some(rest) = rel.strip_prefix("cluster-resources/") else {
            if rel == "cluster-info/cluster_version.json" {
                if let Content::Json(Ok(v)) = take(ms, idx) {
                    let gv = v
                        .pointer("/info/gitVersion")
                        .or_else(|| v.get("string"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    if let Some(gv) = gv {
                        mp.az.insert(
                            "__kubectl-version".into(),
                            (
                                serde_json::json!({"serverVersion": {"gitVersion": gv}}),
                                Src {
                                    path: rel.clone(),
                                    index: None,
                                },
                            ),
                        );
                    }
                    mp.set_input("kubectl/version".into(), InputState::Present, Some(rel.clone()), None);
                }
            }
            continue;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            ["pods", "logs", ns, pod, file] => {
                let Some(stem) = file.strip_suffix(".log") else {
                    continue;
                };
                let (container, previous) = match stem.strip_suffix("-previous") {
                    Some(c) => (c, true),
                    None => (stem, false),
                };
                let c = take(ms, idx);
                mp.add_log(ns, pod, container, previous, &rel, c);
            }
            ["custom-resources", group_res, file] => {
                let Some((ns, _)) = split_ext(file) else { continue };
                let id = format!("kubectl/namespaces/{ns}/{group_res}");
                let (res, c) = (group_res.to_string(), take(ms, idx));
                mp.add_resource_file(id, &res, &rel, c);
            }
            ["custom-resources", file] => {
                // Cluster-scoped custom resources: `<plural.group>.json|yaml` directly here.
                let Some((res, _)) = split_ext(file) else { continue };
                let id = format!("kubectl/cluster/{res}");
                let (res, c) = (res.to_string(), take(ms, idx));
                mp.add_resource_file(id, &res, &rel, c);
            }
            [file] => {
                let Some((name, ext)) = split_ext(file) else { continue };
                if ext != "json" {
                    continue;
                }
                if let Some(base) = name.strip_suffix("-errors") {
                    let res = troubleshoot_resource(base).to_string();
                    if troubleshoot_ignored(&res) {
                        continue;
                    }
                    if let Content::Json(Ok(v)) = take(ms, idx) {
                        // Either a map namespace → error, or a list of errors for the whole type.
                        match &v {
                            Value::Object(o) if !o.is_empty() => {
                                for (ns, e) in o {
                                    let id = format!("kubectl/namespaces/{ns}/{res}");
                                    mp.set_input(
                                        id,
                                        InputState::Failed,
                                        Some(rel.clone()),
                                        Some(format!("{rel}: {}", error_text(e))),
                                    );
                                }
                            }
                            _ => {
                                let id = format!("kubectl/cluster/{res}");
                                mp.set_input(
                                    id,
                                    InputState::Failed,
                                    Some(rel.clone()),
                                    Some(format!("{rel}: {}", error_text(&v))),
                                );
                            }
                        }
                    }
                    continue;
                }
                let res = troubleshoot_resource(name).to_string();
                if troubleshoot_ignored(&res) {
                    continue;
                }
                let id = format!("kubectl/cluster/{res}");
                let c = take(ms, idx);
                mp.add_resource_file(id, &res, &rel, c);
            }
            [dir, file] => {
                let Some((ns, ext)) = split_ext(file) else { continue };
                if ext != "json" {
                    continue;
                }
                if let Some(base) = dir.strip_suffix("-errors") {
                    // `<type>-errors/<ns>.json`: a failed input for that namespace (an odd
                    // upstream bug also wrote ReplicaSet lists under `statefulsets-errors.json/`).
                    let base = base.trim_end_matches(".json");
                    let res = troubleshoot_resource(base).to_string();
                    if troubleshoot_ignored(&res) {
                        continue;
                    }
                    if let Content::Json(Ok(v)) = take(ms, idx) {
                        let id = format!("kubectl/namespaces/{ns}/{res}");
                        mp.set_input(
                            id,
                            InputState::Failed,
                            Some(rel.clone()),
                            Some(format!("{rel}: {}", error_text(&v))),
                        );
                    }
                    continue;
                }
                let res = if *dir == "statefulsets-errors.json" {
                    "replicasets".to_string()
                } else {
                    troubleshoot_resource(dir).to_string()
                };
                if troubleshoot_ignored(&res) {
                    continue;
                }
                let id = format!("kubectl/namespaces/{ns}/{res}");
                let c = take(ms, idx);
                mp.add_resource_file(id, &res, &rel, c);
            }
            _ => {}
        }
    }
}

fn split_ext(file: &str) -> Option<(&str, &str)> {
    for ext in ["json", "yaml", "yml"] {
        if let Some(stem) = file.strip_suffix(&format!(".{ext}")) {
            return Some((stem, ext));
        }
    }
    None
}

fn map_cluster_info(ms: &mut Members, root: &str, mp: &mut Mapper) {
    let mut err = Vec::new();
    let files = files_under(ms, root, &mut err);
    mp.errors.extend(err);
    for (rel, idx) in files {
        let parts: Vec<&str> = rel.split('/').collect();
        match parts.as_slice() {
            [file] => {
                if let Some(res) = file.strip_suffix(".json") {
                    let id = format!("kubectl/cluster/{res}");
                    let res = res.to_string();
                    let c = take(ms, idx);
                    mp.add_resource_file(id, &res, &rel, c);
                }
            }
            [ns, file] => {
                if let Some(res) = file.strip_suffix(".json") {
                    let id = format!("kubectl/namespaces/{ns}/{res}");
                    let res = res.to_string();
                    let c = take(ms, idx);
                    mp.add_resource_file(id, &res, &rel, c);
                }
            }
            [ns, pod, "logs.txt"] => {
                let (ns, pod) = (ns.to_string(), pod.to_string());
                let c = take(ms, idx);
                mp.add_log(&ns, &pod, "", false, &rel, c);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_inside() {
        assert_eq!(join_link("a/b/c.log", "../x/y.log").as_deref(), Some("a/x/y.log"));
        assert_eq!(join_link("a/c.log", "../../etc/passwd"), None);
        assert_eq!(join_link("a/c.log", "/etc/passwd"), None);
    }

    #[test]
    fn items_shapes() {
        let list = serde_json::json!({"kind": "List", "items": [{"metadata": {}}]});
        assert_eq!(items_of(&list).map(|v| v.len()), Some(1));
        let null = serde_json::json!({"kind": "PodList", "items": null});
        assert_eq!(items_of(&null).map(|v| v.len()), Some(0));
        let arr = serde_json::json!([{"a": 1}, {"b": 2}]);
        assert_eq!(items_of(&arr).map(|v| v.len()), Some(2));
        let one = serde_json::json!({"kind": "Pod", "metadata": {"name": "x"}});
        assert_eq!(items_of(&one).map(|v| v.len()), Some(1));
        assert!(items_of(&serde_json::json!({"foo": 1})).is_none());
    }
}
