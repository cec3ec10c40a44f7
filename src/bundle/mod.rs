//! Bundles: reading (`read`), log scanning (`logscan`) and the layout mapping (`layout`), the only
//! code that knows where a file sits in a bundle. The result is a [`Bundle`]: logical inputs
//! (`kubectl/namespaces/<ns>/<resource>`, `az/<slug>`, `logs/<ns>/<pod>/<container>`), each
//! present, absent or failed, plus every object and log scan with its original path. It knows
//! nothing of the analysis (`model`, `facts`, `rules`, `engine`, `finding`, `report`); the one
//! thing it borrows is the signature set's log matcher, to scan logs while reading.

/// In a serde `Visitor`, accept the listed other kinds of JSON value as `$v` (containers are
/// read through and ignored): the lenient readers of `manifest` and `typed` take any value.
macro_rules! others_as {
    ($de:lifetime, $v:expr => $($k:ident),*) => { $( others_as!(@$k $de, $v); )* };
    (@bool $de:lifetime, $v:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> { Ok($v) }
    };
    (@i64 $de:lifetime, $v:expr) => {
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> { Ok($v) }
    };
    (@u64 $de:lifetime, $v:expr) => {
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> { Ok($v) }
    };
    (@f64 $de:lifetime, $v:expr) => {
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> { Ok($v) }
    };
    (@str $de:lifetime, $v:expr) => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> { Ok($v) }
    };
    (@unit $de:lifetime, $v:expr) => {
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> { Ok($v) }
    };
    (@seq $de:lifetime, $v:expr) => {
        fn visit_seq<A: serde::de::SeqAccess<$de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok($v)
        }
    };
    (@map $de:lifetime, $v:expr) => {
        fn visit_map<A: serde::de::MapAccess<$de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
            Ok($v)
        }
    };
}

/// A hash map keyed by member paths and other strings of a bundle: foldhash, randomly seeded per
/// process (minimally DoS-resistant: a bundle is one input read once, nobody watches the process to
/// learn its seed), several times faster than SipHash on the short keys of a bundle.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The set of [`FastMap`].
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

pub mod budget;
pub mod digest;
pub mod gzblocks;
pub mod jsonde;
pub mod jsonscan;
pub mod layout;
pub mod logscan;
pub mod manifest;
pub mod read;
pub mod typed;

use crate::k8s::{Event, Node, Obj, Pod};
use crate::signatures::LogMatcher;
use logscan::LogScan;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Bounds on what the reader holds; each has a flag on `analyze` and `serve`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_member_bytes: u64,
    /// Largest member parsed whole (JSON, YAML, error text); logs stream past it.
    pub max_parsed_bytes: u64,
    pub max_total_bytes: u64,
    pub max_members: u64,
    /// Uncompressed/compressed ratio past which a gzip stream is treated as a bomb.
    pub max_ratio: u64,
    /// When set, the compressed bytes of an archive read so far are added here as they are read
    /// (what a progress bar shows); reading never looks at it.
    pub progress: Option<&'static std::sync::atomic::AtomicU64>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_member_bytes: 512 << 20,
            max_parsed_bytes: 128 << 20,
            max_total_bytes: 64 << 30,
            max_members: 250_000,
            max_ratio: 200,
            progress: None,
        }
    }
}

/// A problem reading part of a bundle: which file or member, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BundleError {
    pub member: String,
    pub message: String,
}

impl BundleError {
    pub fn new(member: String, message: String) -> BundleError {
        BundleError { member, message }
    }
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.member, self.message)
    }
}

impl std::error::Error for BundleError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layout {
    #[serde(rename = "arcdiag-v1")]
    ArcdiagV1,
    #[serde(rename = "troubleshoot-sh")]
    Troubleshoot,
    #[serde(rename = "cluster-info-dump")]
    ClusterInfoDump,
    #[serde(rename = "unknown")]
    Unknown,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::ArcdiagV1 => "arcdiag-v1",
            Layout::Troubleshoot => "troubleshoot-sh",
            Layout::ClusterInfoDump => "cluster-info-dump",
            Layout::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputState {
    Present,
    Absent,
    Failed,
}

/// One logical input and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    pub id: String,
    pub state: InputState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where an object came from (defined with the object types, in the leaf [`crate::k8s`]).
pub use crate::k8s::Src;

/// A Kubernetes object as read, with its logical resource (`pods`, `kustomizations.kustomize.toolkit.fluxcd.io`).
#[derive(Debug, Clone)]
pub struct RawObject {
    pub resource: String,
    pub value: Value,
    pub src: Src,
}

impl RawObject {
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    pub fn namespace(&self) -> Option<&str> {
        self.value.pointer("/metadata/namespace").and_then(Value::as_str)
    }
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }
}

/// One container log (current or previous) and its scan.
#[derive(Debug, Clone)]
pub struct Log {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub path: String,
    pub scan: LogScan,
}

impl Log {
    pub fn id(&self) -> String {
        format!(
            "logs/{}/{}/{}{}",
            self.namespace,
            self.pod,
            self.container,
            if self.previous { ".previous" } else { "" }
        )
    }
}

/// Cluster identity as the bundle states it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub cluster_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
}

/// Objects read straight into their typed models, each with its source: one list per file, as
/// parsed (see `model::Objs`).
#[derive(Debug, Clone, Default)]
pub struct TypedObjects {
    pub pods: Vec<Vec<Obj<Pod>>>,
    pub events: Vec<Vec<Obj<Event>>>,
    pub nodes: Vec<Vec<Obj<Node>>>,
}

impl TypedObjects {
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty() && self.events.is_empty() && self.nodes.is_empty()
    }
}

/// A bundle, read and mapped onto logical inputs.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The name the user gave (file name only, so reports carry no absolute paths).
    pub source: String,
    pub container: &'static str,
    pub layout: Layout,
    pub collected_at: Option<String>,
    pub cluster: ClusterMeta,
    /// False when collection was interrupted (manifest `complete: false`).
    pub complete: bool,
    /// Problems met while reading; any of them makes the report partial.
    pub errors: Vec<BundleError>,
    pub inputs: BTreeMap<String, Input>,
    pub objects: Vec<RawObject>,
    /// Pods, events and nodes read straight into their typed models (see `typed`).
    pub typed: TypedObjects,
    /// Parsed `az` outputs by slug (`cluster-show`, `k8s-extension-list`, ...).
    pub az: BTreeMap<String, (Value, Src)>,
    pub logs: Vec<Log>,
    /// Whether every input was read without error.
    pub read_stopped_early: bool,
    /// Whether the members are the ones the bundle recorded (see `digest`).
    pub integrity: digest::Integrity,
    /// What the layout read and no longer needs (members by name, the digests, members it did
    /// not map): freed with the bundle, by whoever frees the bundle (`analyze` on a thread beside
    /// the report, a fleet worker before its next bundle).
    pub spent: Spent,
}

/// See [`Bundle::spent`].
#[derive(Clone)]
pub struct Spent {
    /// Held only to be dropped.
    _held: std::sync::Arc<dyn std::any::Any + Send + Sync>,
}

impl Spent {
    pub(crate) fn new<T: std::any::Any + Send + Sync>(t: T) -> Spent {
        Spent {
            _held: std::sync::Arc::new(t),
        }
    }
}

impl std::fmt::Debug for Spent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spent")
    }
}

impl Bundle {
    pub fn partial(&self) -> bool {
        !self.errors.is_empty() || self.read_stopped_early
    }

    /// True when the bundle holds nothing a rule could read.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.typed.is_empty()
            && self.az.is_empty()
            && self.logs.is_empty()
            && self.inputs.is_empty()
    }

    pub fn objects_of<'a>(&'a self, resource: &'a str) -> impl Iterator<Item = &'a RawObject> + 'a {
        self.objects.iter().filter(move |o| o.resource == resource)
    }
}

/// Open and map a bundle. `Err` only when nothing at all could be read.
///
/// `typed`: pods, events and nodes are read straight into [`Bundle::typed`] (what `analyze`
/// wants) rather than kept as [`RawObject`]s (what `serve` wants).
pub fn open(path: &Path, limits: &Limits, matcher: &LogMatcher, typed: bool) -> Result<Bundle, BundleError> {
    let raw = read::read_path(path, limits, matcher, typed)?;
    let source = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| read::path_display(path));
    let bundle = layout::map(raw, source);
    if bundle.is_empty() {
        let mut why = match bundle.layout {
            Layout::Unknown => "no known bundle layout: found no arcdiag manifest.json, no troubleshoot.sh version.yaml or cluster-resources/ folder, and no cluster-info dump nodes.json".to_string(),
            _ => "the bundle holds no readable input".to_string(),
        };
        if let Some(e) = bundle.errors.first() {
            why = format!("{why}; first problem: {e}");
        }
        return Err(BundleError::new(bundle.source.clone(), why));
    }
    Ok(bundle)
}
