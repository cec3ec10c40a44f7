//! The layout mapping: the only code that knows paths. It finds the bundle root and layout by
//! marker files (arcdiag `manifest.json`, troubleshoot.sh `version.yaml` / `cluster-resources/`,
//! cluster-info dump `nodes.json` beside `<ns>/pods.json`) and maps every member onto logical
//! inputs: `kubectl/cluster/<resource>`, `kubectl/namespaces/<ns>/<resource>`, `az/<slug>`,
//! `logs/<ns>/<pod>/<container>[.previous]`.
//!
//! `detect` finds the layout and root from marker files, `links` names members and follows links,
//! and one file per layout (`arcdiag`, `troubleshoot`, `cluster_info`) maps its paths through the
//! [`Mapper`] here, which records inputs, objects, `az` outputs and logs. Nothing here parses bytes
//! (the reader did) or knows what an object means (the model does), and nothing here knows a rule
//! or a finding.

mod arcdiag;
mod cluster_info;
mod detect;
mod links;
mod troubleshoot;

use super::read::{Content, RawBundle};
use super::typed::TypedDoc;
use super::{Bundle, BundleError, ClusterMeta, Input, InputState, Layout, Log, RawObject, Src, TypedObjects};
use crate::bundle::digest::{Integrity, SIDECAR};
use crate::k8s::Obj;
use indexmap::IndexMap;
use links::Members;
use serde_json::Value;
use std::collections::BTreeMap;

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

/// A file name's stem and extension, for the extensions objects are read from.
fn split_ext(file: &str) -> Option<(&str, &str)> {
    for ext in ["json", "yaml", "yml"] {
        if let Some(stem) = file.strip_suffix(&format!(".{ext}")) {
            return Some((stem, ext));
        }
    }
    None
}

fn depth(path: &str) -> usize {
    path.matches('/').count()
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

pub(super) struct Mapper {
    /// Inputs in the order first set; sorted into the bundle's `BTreeMap` once, at the end (a
    /// bundle of 60,000 logs sets 60,000 of them: a hash lookup each instead of a walk down a
    /// tree of long keys that share their first 30 bytes).
    pub(super) inputs: IndexMap<String, Input, foldhash::fast::RandomState>,
    pub(super) objects: Vec<RawObject>,
    pub(super) typed: TypedObjects,
    pub(super) typed_count: usize,
    pub(super) az: BTreeMap<String, (Value, Src)>,
    pub(super) logs: Vec<Log>,
    pub(super) errors: Vec<BundleError>,
    /// Digests the bundle records, by path relative to its root (`None`: what it records there is
    /// not a sha256, which matches nothing).
    pub(super) recorded: BTreeMap<String, Option<crate::bundle::digest::Sum>>,
}

impl Mapper {
    pub(super) fn set_input(&mut self, id: String, state: InputState, path: Option<String>, reason: Option<String>) {
        use indexmap::map::Entry;
        // One lookup per input.
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
    pub(super) fn fail_file(&mut self, id: String, path: &str, why: String) {
        self.errors.push(BundleError::new(path.to_string(), why.clone()));
        self.set_input(
            id,
            InputState::Failed,
            Some(path.to_string()),
            Some(format!("{path}: {why}")),
        );
    }

    /// Add the objects of one resource file.
    pub(super) fn add_resource_file(&mut self, id: String, resource: &str, path: &str, content: Content) {
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
                    let shared: std::sync::Arc<str> = path.into();
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
                                path: shared.clone(),
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
    pub(super) fn add_typed_file(&mut self, id: String, resource: &str, path: &str, doc: Result<TypedDoc, String>) {
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
            let shared: std::sync::Arc<str> = path.into();
            for o in &mut items {
                o.src.path = shared.clone();
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

    pub(super) fn add_log(
        &mut self,
        ns: &str,
        pod: &str,
        container: &str,
        previous: bool,
        path: &str,
        content: Content,
    ) {
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

/// The content of member `idx`, for the path the layout reads it as: the last of the paths that
/// read it (itself and links to it, see [`files_under`]) takes it, the others get a copy.
fn take(members: &mut Members, idx: usize) -> Content {
    if members.refs[idx] > 1 {
        members.refs[idx] -= 1;
        return members.list[idx].content.clone();
    }
    std::mem::replace(&mut members.list[idx].content, Content::Other)
}

/// Map a raw bundle onto logical inputs.
pub fn map(raw: RawBundle, source: String) -> Bundle {
    let RawBundle {
        members,
        errors,
        stopped_early,
        container,
        digests,
        charged_links,
    } = raw;
    let mut errors = errors;
    let mut ms = Members::new(members, charged_links, &mut errors);
    let (layout, root) = detect::detect(&ms);
    let mut mapper = Mapper {
        inputs: IndexMap::default(),
        objects: Vec::new(),
        typed: TypedObjects::default(),
        typed_count: 0,
        az: BTreeMap::new(),
        logs: Vec::with_capacity(ms.list.iter().filter(|m| matches!(&m.content, Content::Log(_))).count()),
        errors,
        recorded: BTreeMap::new(),
    };
    // Read before the layout maps (a layout may take every JSON file at its root).
    sidecar_digests(&ms, &root, &mut mapper);
    let mut bundle_meta = (None, ClusterMeta::default(), true);
    match layout {
        Layout::ArcdiagV1 => bundle_meta = arcdiag::map_arcdiag(&mut ms, &root, &mut mapper),
        Layout::Troubleshoot => troubleshoot::map_troubleshoot(&mut ms, &root, &mut mapper),
        Layout::ClusterInfoDump => cluster_info::map_cluster_info(&mut ms, &root, &mut mapper),
        Layout::Unknown => {}
    }
    if layout == Layout::Unknown {
        // A bundle wrapped in another archive (a .tar.gz holding only `bundle.tar.gz`).
        const NESTED: &[&str] = &[
            ".tar.gz", ".tgz", ".tar", ".zip", ".tar.zst", ".tar.xz", ".tar.bz2", ".7z",
        ];
        for m in &ms.list {
            let lower = m.path.to_ascii_lowercase();
            if NESTED.iter().any(|e| lower.ends_with(e)) && !matches!(m.content, Content::Dir) {
                mapper.errors.push(BundleError::new(
                    m.path.clone(),
                    "an archive inside the archive (a bundle wrapped in another?): extract this member and analyze it instead".into(),
                ));
            }
        }
    }
    let integrity = Integrity::judge(&mapper.recorded, &digests, &root, !stopped_early);
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
    // Logs (~300-byte structs, tens of thousands) are usually in order already; when not, sort
    // their positions and move each log once.
    fn log_key(l: &Log) -> (&str, u64) {
        (l.path.as_str(), l.scan.tail_first_line)
    }
    fn sort_logs(logs: &mut [Log]) {
        if logs.is_sorted_by(|a, b| log_key(a) <= log_key(b)) {
            return;
        }
        // Stable, as sorting the logs themselves would be; then each log is moved into its place
        // along the permutation's cycles, in place: a second list of logs (or the sort's scratch
        // half of one) would be ~18 MB more at the layout's peak for 60,000 logs.
        let mut order: Vec<usize> = (0..logs.len()).collect();
        order.sort_by(|&a, &b| log_key(&logs[a]).cmp(&log_key(&logs[b])));
        permute(logs, order);
    }
    // The inputs (one sort and a bulk build; sorting the IndexMap first rebuilt its hash table
    // too) beside the rest: these sorts are most of what is left of the layout, on one core.
    let unsorted = std::mem::take(&mut mapper.inputs);
    let (inputs, ()) = rayon::join(
        || unsorted.into_iter().collect::<BTreeMap<String, Input>>(),
        || {
            by_src(&mut mapper.objects, |o| &o.src);
            sort_logs(&mut mapper.logs);
            mapper.errors.sort();
            mapper.errors.dedup();
        },
    );
    // The members (by name, and what was not mapped) and the digests are not needed past here:
    // freed with the bundle rather than before the analysis.
    let spent = crate::bundle::Spent::new((ms, digests));
    Bundle {
        source,
        container,
        layout,
        collected_at,
        cluster,
        complete,
        errors: mapper.errors,
        inputs,
        objects: mapper.objects,
        typed: mapper.typed,
        az: mapper.az,
        logs: mapper.logs,
        read_stopped_early: stopped_early,
        integrity,
        spent,
    }
}

/// The digests in the sidecar `arcdiag redact` writes beside another tool's members.
fn sidecar_digests(ms: &Members, root: &str, mp: &mut Mapper) {
    let path = if root.is_empty() {
        SIDECAR.to_string()
    } else {
        format!("{root}/{SIDECAR}")
    };
    let Some(&i) = ms.by_path.get(&path) else { return };
    if let Content::Json(Ok(v)) = &ms.list[i].content {
        if let Some(m) = v.get("sha256").and_then(Value::as_object) {
            for (k, d) in m {
                if let Some(d) = d.as_str() {
                    mp.recorded.insert(k.clone(), crate::bundle::digest::Sum::parse_hex(d));
                }
            }
        }
    }
}

/// Put `v[order[i]]` at `i` for every `i`, in place (`order` a permutation of `0..v.len()`).
fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    for start in 0..v.len() {
        // Follow the cycle through `start`, marking each position done (`order[i] = i`).
        let mut i = start;
        while order[i] != start {
            let next = order[i];
            v.swap(i, next);
            order[i] = i;
            i = next;
        }
        order[i] = i;
    }
}

/// The resolved (path relative to root, member index) of every file under the root.
fn files_under(ms: &mut Members, root: &str, errors: &mut Vec<BundleError>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for i in 0..ms.list.len() {
        let Some(rel) = strip_root(&ms.list[i].path, root) else {
            continue;
        };
        if matches!(ms.list[i].content, Content::Dir) || !ms.is_current(i) || rel == SIDECAR {
            continue;
        }
        let rel = rel.to_string();
        let Some(target) = ms.resolve(i, errors) else { continue };
        // A link not charged as a copy (a directory bundle's, a chain's) shares its target's one
        // reading: only the first path that reads it gets its content.
        if target != i && !ms.charged.contains(&ms.list[i].path) && ms.refs[target] > 0 {
            out.push((rel, target));
            continue;
        }
        ms.refs[target] += 1;
        out.push((rel, target));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        // Permutations of every cycle shape of up to 6 items, and a long pseudo-random one.
        let mut orders: Vec<Vec<usize>> = Vec::new();
        fn all(prefix: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
            if prefix.len() == n {
                out.push(prefix.clone());
                return;
            }
            for x in 0..n {
                if !prefix.contains(&x) {
                    prefix.push(x);
                    all(prefix, n, out);
                    prefix.pop();
                }
            }
        }
        for n in 0..=6 {
            all(&mut Vec::new(), n, &mut orders);
        }
        let mut long: Vec<usize> = (0..10_000).collect();
        let mut x = 7u64;
        for i in (1..long.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            long.swap(i, (x >> 33) as usize % (i + 1));
        }
        orders.push(long);
        for order in orders {
            let mut v: Vec<String> = (0..order.len()).map(|i| format!("item{i}")).collect();
            let want: Vec<String> = order.iter().map(|&i| v[i].clone()).collect();
            permute(&mut v, order);
            assert_eq!(v, want);
        }
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
