//! Lists of the most numerous kinds (pods, events, nodes) parsed straight into their typed
//! models while the archive streams, instead of into `serde_json::Value` first.
//!
//! The typed models keep only the fields rules read, in one pass (why, with figures, in
//! BENCHMARKS.md).
//!
//! Which members: a JSON file whose name (`pods.json`) or folder (`pods/<ns>.json`) names one of
//! the kinds, and only when `analyze` asks for it (`serve` answers `kubectl` with whole objects and
//! reads `Value`s). The reader cannot know the layout yet, so the name is the whole test: when the
//! file name and its folder name different kinds (`cluster-resources/pods/events.json`, the pods of
//! a namespace called `events`), the member is parsed as a `Value` as before and typed later by
//! the typed views (`model`).
//!
//! How: one pass deserializes a List (`{"items": [...]}`), a bare array, `items: null` or a
//! single object, each item straight into its type. An item of the wrong shape aborts that pass;
//! the member is then parsed again item by item (each item borrowed as raw JSON text, then typed),
//! so one bad object is left out with an error naming it, and the rest is kept.
//!
//! Bounds: each typed member is charged, in archive order on the reading thread (so refusals are
//! deterministic), an upper bound on its items: the objects where items sit, no more than the
//! occurrences of `"metadata"` plus a small slack ([`charge`]; an empty list costs one). A pass that
//! meets more items than the member was charged stops with an error. The bundle
//! holds at most [`MAX_TYPED_OBJECTS`] typed objects: a list of millions of `{}` costs nothing,
//! and lists of millions of `{"metadata":{}}` (each an empty model of ~500 bytes, ~1 KB with its
//! source while it is mapped) stop at 1,000,000 objects (tests/hostile.rs). A real pod costs 2-3
//! KB parsed; 50,000 pods and 200,000 events, 250,000 objects, fit with room.
//!
//! The count does not bound the memory: a pod of 1,000 labels keeps 48 KB. So the items are also
//! charged what they keep, measured by the allocator as each one is parsed (`memory::held`), and
//! the bundle's typed objects keep at most [`MAX_TYPED_BYTES`] ([`Held`]: on the pool as they are
//! parsed, then strictly in archive order, where a member keeps its first items that fit).

use super::Src;
use crate::k8s::{Event, Node, Obj, Pod};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;
use std::marker::PhantomData;

/// Typed objects a bundle may hold; charged per member before parsing.
pub const MAX_TYPED_OBJECTS: u64 = 1_000_000;

/// Items a member may hold beyond its `"metadata"` count (objects without metadata are legal).
const SLACK: u64 = 1_000;

/// Bad items reported per member; the rest are counted in one more error.
const MAX_BAD_REPORTED: usize = 20;

/// Bytes the typed objects of one bundle may keep, measured as they are parsed (see [`Held`]).
/// The generated bundle of 50,000 pods and 200,000 events keeps 188 MiB (pods 2.1 KB each, events
/// 450 bytes); 9,000 pods of 1,000 labels each (a 99 MB `pods.json`) kept 541 MiB before this
/// bound, when objects were bounded by their count only.
pub const MAX_TYPED_BYTES: u64 = 256 << 20;

/// What the typed objects of one bundle keep, in bytes, measured by the allocator
/// (`memory::held`: what a parse allocated and did not free, item by item).
///
/// On the pool, a parse stops keeping items once its member alone would pass the bound, or once
/// what the bundle keeps in all would pass its bound (`budget::Total`, which every member
/// charges: memory, whatever the order the pool takes them in); then the reader applies both
/// strictly in archive order ([`Parsed::keep_within`], `read::kept`). Under the bounds
/// nothing is cut anywhere, so what is kept does not depend on the pool's order; past it, the
/// pool parses members about in archive order, and which items it cut can differ from the strict
/// cut only by the members in flight. A member cut is named with how many of its items were kept.
pub struct Held {
    bound: u64,
    /// What the bundle keeps in all, shared with its other members (`budget`).
    total: std::sync::Arc<crate::bundle::budget::Total>,
}

impl Default for Held {
    fn default() -> Held {
        Held::new(MAX_TYPED_BYTES)
    }
}

impl Held {
    pub fn new(bound: u64) -> Held {
        Held::sharing(bound, std::sync::Arc::new(crate::bundle::budget::Total::unbounded()))
    }

    /// A `Held` of `bound` whose parses also charge `total`, the bundle's bound in all.
    pub fn sharing(bound: u64, total: std::sync::Arc<crate::bundle::budget::Total>) -> Held {
        Held { bound, total }
    }
    pub fn bound(&self) -> u64 {
        self.bound
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypedKind {
    Pods,
    Events,
    Nodes,
}

impl TypedKind {
    pub fn resource(self) -> &'static str {
        match self {
            TypedKind::Pods => "pods",
            TypedKind::Events => "events",
            TypedKind::Nodes => "nodes",
        }
    }

    fn from_name(n: &str) -> Option<TypedKind> {
        match n {
            "pods" => Some(TypedKind::Pods),
            "events" => Some(TypedKind::Events),
            "nodes" => Some(TypedKind::Nodes),
            _ => None,
        }
    }

    /// The kind a JSON member's path names, when it names exactly one.
    pub fn of_path(path: &str) -> Option<TypedKind> {
        let lower = path.to_ascii_lowercase();
        let stem = lower.strip_suffix(".json")?;
        let mut parts = stem.rsplit('/');
        let file = parts.next().and_then(TypedKind::from_name);
        let dir = parts.next().and_then(TypedKind::from_name);
        match (file, dir) {
            (Some(f), Some(d)) if f != d => None,
            (Some(f), _) => Some(f),
            (None, d) => d,
        }
    }
}

/// One bad item: its index (None for a single-object document), its name if readable, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadItem {
    pub index: Option<usize>,
    pub name: String,
    pub why: String,
}

/// The parsed items of one member, each with its index in the list (None: a single object).
/// The source path is left empty for the layout to fill in (it knows the path relative to the
/// bundle's root); the objects are already in the list the snapshot will keep (`model::Objs`).
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub items: Vec<Obj<T>>,
    pub bad: Vec<BadItem>,
    /// Bad items beyond those reported.
    pub more_bad: usize,
    /// Bytes each item keeps (its place in the list and what it allocated), measured while parsing.
    sizes: Vec<u32>,
    /// Their sum.
    bytes: u64,
    /// What the parse had allocated at the last item, the list's own room left out.
    measured: u64,
    /// Items read past, not kept: the member passed the bound on kept bytes ([`Held`]).
    pub cut: usize,
    /// Whether the member alone passed the bound (rather than the pool's count of all).
    alone: bool,
}

impl<T> Parsed<T> {
    fn new(capacity: usize) -> Parsed<T> {
        Parsed {
            items: Vec::with_capacity(capacity),
            bad: Vec::new(),
            more_bad: 0,
            sizes: Vec::new(),
            bytes: 0,
            measured: 0,
            cut: 0,
            alone: false,
        }
    }

    /// Bytes the items keep, as measured.
    pub fn held(&self) -> u64 {
        self.bytes
    }

    /// Keep the first items that fit in `room` bytes, counting the others in `cut`; the bytes
    /// kept.
    pub fn keep_within(&mut self, room: u64) -> u64 {
        let (mut kept, mut n) = (0u64, 0usize);
        for &s in &self.sizes {
            if kept + u64::from(s) > room {
                break;
            }
            kept += u64::from(s);
            n += 1;
        }
        if n < self.items.len() {
            self.cut += self.items.len() - n;
            self.items.truncate(n);
            self.items.shrink_to_fit();
            self.sizes.truncate(n);
        }
        self.bytes = kept;
        kept
    }
}

#[derive(Debug, Clone)]
pub enum TypedDoc {
    Pods(Parsed<Pod>),
    Events(Parsed<Event>),
    Nodes(Parsed<Node>),
}

impl TypedDoc {
    pub fn len(&self) -> usize {
        match self {
            TypedDoc::Pods(p) => p.items.len(),
            TypedDoc::Events(p) => p.items.len(),
            TypedDoc::Nodes(p) => p.items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn kind(&self) -> TypedKind {
        match self {
            TypedDoc::Pods(_) => TypedKind::Pods,
            TypedDoc::Events(_) => TypedKind::Events,
            TypedDoc::Nodes(_) => TypedKind::Nodes,
        }
    }

    pub fn bad(&self) -> (&[BadItem], usize) {
        match self {
            TypedDoc::Pods(p) => (&p.bad, p.more_bad),
            TypedDoc::Events(p) => (&p.bad, p.more_bad),
            TypedDoc::Nodes(p) => (&p.bad, p.more_bad),
        }
    }

    /// Bytes the objects keep, as measured while parsing.
    pub fn held(&self) -> u64 {
        match self {
            TypedDoc::Pods(p) => p.held(),
            TypedDoc::Events(p) => p.held(),
            TypedDoc::Nodes(p) => p.held(),
        }
    }

    /// [`Parsed::keep_within`].
    pub fn keep_within(&mut self, room: u64) -> u64 {
        match self {
            TypedDoc::Pods(p) => p.keep_within(room),
            TypedDoc::Events(p) => p.keep_within(room),
            TypedDoc::Nodes(p) => p.keep_within(room),
        }
    }

    /// Whether the items read past were cut on the pool because the member alone passed the
    /// bound (the same whatever the order), rather than for what all members held then.
    pub fn cut_alone(&self) -> bool {
        match self {
            TypedDoc::Pods(p) => p.alone,
            TypedDoc::Events(p) => p.alone,
            TypedDoc::Nodes(p) => p.alone,
        }
    }

    /// Items read past, not kept, for the bound on kept bytes.
    pub fn cut(&self) -> usize {
        match self {
            TypedDoc::Pods(p) => p.cut,
            TypedDoc::Events(p) => p.cut,
            TypedDoc::Nodes(p) => p.cut,
        }
    }
}

/// The items a member is charged: an upper bound on the objects a parse of it may keep. The
/// objects where items sit (in a top-level array, or in an array that is the value of a
/// top-level key, plus one for a document that is one object), and no more than its `metadata`
/// keys and a slack: an empty list costs one, a list of three pods four, whatever the file's size
/// (40,000 namespace folders of a cluster-info dump charge what they hold, not a slack each).
pub fn charge(data: &[u8]) -> u64 {
    let metadata = memchr::memmem::find_iter(data, b"\"metadata\"").count() as u64;
    item_objects(data).min(metadata + SLACK)
}

/// `{` that open an item (see [`charge`]), strings skipped. Linear, allocation-free
/// (`jsonscan`: only brackets and quotes are visited).
fn item_objects(data: &[u8]) -> u64 {
    // The containers open at depths 0 and 1 (b'{' or b'['), and the depth.
    let (mut open, mut depth, mut n) = ([0u8; 2], 0usize, 0u64);
    super::jsonscan::outside_strings(data, *b"{[}]", |c| match c {
        b'{' | b'[' => {
            let item = match depth {
                0 => true,
                1 => open[0] == b'[',
                2 => open == [b'{', b'['],
                _ => false,
            };
            if c == b'{' && item {
                n += 1;
            }
            if depth < 2 {
                open[depth] = c;
            }
            depth += 1;
        }
        _ => depth = depth.saturating_sub(1),
    });
    n
}

/// The items a list charged `limit` may hold, to size it once.
fn expected_items(limit: u64) -> usize {
    limit as usize
}

/// Parse a member of `kind` into typed items, keeping at most `limit` of them and no more than
/// `held` has room for.
pub fn parse(kind: TypedKind, data: &[u8], limit: u64, held: &Held) -> Result<TypedDoc, String> {
    Ok(match kind {
        TypedKind::Pods => TypedDoc::Pods(parse_as(data, limit, held)?),
        TypedKind::Events => TypedDoc::Events(parse_as(data, limit, held)?),
        TypedKind::Nodes => TypedDoc::Nodes(parse_as(data, limit, held)?),
    })
}

fn parse_as<T: DeserializeOwned>(data: &[u8], limit: u64, held: &Held) -> Result<Parsed<T>, String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("the file is empty".into());
    }
    // Made before any item is measured, so that no item is charged it.
    std::sync::LazyLock::force(&NO_PATH);
    // Fast path: every item straight into T.
    let meter = Meter::new(held);
    let fast = super::jsonde::seed(
        data,
        DocSeed::<T> {
            limit,
            per_item: false,
            meter: &meter,
            _t: PhantomData,
        },
    );
    let top = match fast {
        Ok(t) => t,
        Err(_) => {
            // Item by item, so one bad object does not cost the others.
            meter.give_back();
            super::jsonde::seed(
                data,
                DocSeed::<T> {
                    limit,
                    per_item: true,
                    meter: &meter,
                    _t: PhantomData,
                },
            )
            .map_err(|e| {
                meter.give_back();
                bound_or_invalid(&e.to_string())
            })?
        }
    };
    match top {
        Top::List(p) => Ok(p),
        Top::Single => {
            let start = crate::memory::held();
            let mut out = Parsed::new(1);
            match super::jsonde::from_bytes::<T>(data) {
                Ok(item) => {
                    out.items.push(obj(None, item));
                    // One object is bounded by its fields' entries (`k8s::MAX_ENTRIES`) and the
                    // member's size; it is charged, and cut in archive order, as any item is.
                    if !meter.took(&mut out, start) {
                        meter.drop_last(&mut out);
                        out.cut += 1;
                    }
                }
                Err(e) => out.bad.push(BadItem {
                    index: None,
                    name: name_of(std::str::from_utf8(data).unwrap_or("")),
                    why: e.to_string(),
                }),
            }
            Ok(out)
        }
        Top::NotList => Err(NOT_A_LIST.into()),
    }
}

/// One pass over a member, charging [`Held`] as it keeps items.
struct Meter<'h> {
    held: &'h Held,
    /// What this pass charged `held`, to take back if the pass is given up.
    charged: std::cell::Cell<u64>,
}

impl<'h> Meter<'h> {
    fn new(held: &'h Held) -> Meter<'h> {
        Meter {
            held,
            charged: std::cell::Cell::new(0),
        }
    }

    /// Charge the item just pushed onto `out` (a list whose parse started at `start`, a
    /// `memory::held` reading) its place in the list and what it allocated: `false` when it
    /// passes the member's bound or the pool's. The list's room is not charged as it grows (so
    /// the first item is not charged the room of all), only the items in it.
    fn took<T>(&self, out: &mut Parsed<T>, start: isize) -> bool {
        let all = u64::try_from(crate::memory::held().wrapping_sub(start)).unwrap_or(0);
        let room = (out.items.capacity() * std::mem::size_of::<Obj<T>>()) as u64;
        let mine = all.saturating_sub(room);
        let own = mine.saturating_sub(out.measured) + std::mem::size_of::<Obj<T>>() as u64;
        out.measured = mine;
        let before = out.bytes;
        let size = u32::try_from(own).unwrap_or(u32::MAX);
        out.sizes.push(size);
        let size = u64::from(size);
        out.bytes += size;
        self.charged.set(self.charged.get() + size);
        let in_total = self.held.total.add(size);
        out.alone = before + size > self.held.bound;
        !out.alone && in_total
    }

    /// Take back the last item [`took`](Self::took) charged, and drop it.
    fn drop_last<T>(&self, out: &mut Parsed<T>) {
        if let Some(s) = out.sizes.pop() {
            out.bytes -= u64::from(s);
            self.charged.set(self.charged.get() - u64::from(s));
            self.held.total.refund(u64::from(s));
        }
        out.items.pop();
    }

    /// Take back all this pass charged (its items were dropped).
    fn give_back(&self) {
        self.held.total.refund(self.charged.replace(0));
    }
}

/// The path of an object until the layout fills it in (one shared copy per file); one empty one.
static NO_PATH: std::sync::LazyLock<std::sync::Arc<str>> = std::sync::LazyLock::new(|| "".into());

fn obj<T>(index: Option<usize>, item: T) -> Obj<T> {
    Obj {
        item,
        src: Src {
            path: NO_PATH.clone(),
            index,
        },
    }
}

pub const NOT_A_LIST: &str = "not a Kubernetes list, array or object";
const OVER_BOUND: &str = "x-arcdiag-over-item-bound";

fn bound_or_invalid(e: &str) -> String {
    if e.contains(OVER_BOUND) {
        "holds more items than its `metadata` keys allow for (bound on parsed objects per bundle); not parsed".into()
    } else if e.contains(NOT_A_LIST) {
        NOT_A_LIST.into()
    } else {
        format!("invalid JSON: {e}")
    }
}

/// The name of a raw item, for an error about it.
fn name_of(raw: &str) -> String {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Meta {
        name: String,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Named {
        metadata: Meta,
    }
    serde_json::from_str::<Named>(raw)
        .map(|n| n.metadata.name)
        .unwrap_or_default()
}

enum Top<T> {
    List(Parsed<T>),
    /// An object without `items` but with `metadata` or `kind`: the document is one object.
    Single,
    NotList,
}

struct DocSeed<'h, T> {
    limit: u64,
    per_item: bool,
    meter: &'h Meter<'h>,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for DocSeed<'_, T> {
    type Value = Top<T>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Top<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for DocSeed<'_, T> {
    type Value = Top<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes list, an array of objects, or one object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Top<T>, E> {
        Ok(Top::List(Parsed::new(0)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top<T>, A::Error> {
        ItemsSeed::<T> {
            limit: self.limit,
            per_item: self.per_item,
            meter: self.meter,
            _t: PhantomData,
        }
        .visit_seq(seq)
        .map(Top::List)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<T>, A::Error> {
        let mut items = None;
        let mut object_like = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "items" && items.is_none() {
                items = Some(map.next_value_seed(OptItems::<T> {
                    limit: self.limit,
                    per_item: self.per_item,
                    meter: self.meter,
                    _t: PhantomData,
                })?);
            } else {
                object_like |= key == "metadata" || key == "kind";
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(match items {
            Some(p) => Top::List(p),
            None if object_like => Top::Single,
            None => Top::NotList,
        })
    }

    others_as!('de, Top::NotList => bool, i64, u64, f64, str);
}

/// `items`: an array, or null.
struct OptItems<'h, T> {
    limit: u64,
    per_item: bool,
    meter: &'h Meter<'h>,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for OptItems<'_, T> {
    type Value = Parsed<T>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Parsed<T>, D::Error> {
        d.deserialize_any(ItemsSeed::<T> {
            limit: self.limit,
            per_item: self.per_item,
            meter: self.meter,
            _t: PhantomData,
        })
    }
}

struct ItemsSeed<'h, T> {
    limit: u64,
    per_item: bool,
    meter: &'h Meter<'h>,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for ItemsSeed<'_, T> {
    type Value = Parsed<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{NOT_A_LIST}")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Parsed<T>, E> {
        Ok(Parsed::new(0))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed<T>, A::Error> {
        let start = crate::memory::held();
        // Sized once (growing a list of 500-byte models by doubling faulted in fresh pages at
        // every step), but never more than 65,536 up front: the charge is only an upper bound,
        // and a hostile file could make it a reservation of hundreds of MB. Its room is charged
        // with the first item.
        let mut out = Parsed::new(expected_items(self.limit).min(1 << 16));
        self.items(&mut seq, &mut out, start).map(|()| out)
    }
}

impl<'de, T: DeserializeOwned> ItemsSeed<'_, T> {
    fn items<A: SeqAccess<'de>>(&self, seq: &mut A, out: &mut Parsed<T>, start: isize) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            if !self.per_item && i as u64 >= self.limit {
                // One more item would pass the charge: stop unless the list ends here.
                return match seq.next_element::<IgnoredAny>()? {
                    None => Ok(()),
                    Some(_) => Err(de::Error::custom(OVER_BOUND)),
                };
            }
            if self.per_item {
                let Some(raw) = seq.next_element::<&'de RawValue>()? else {
                    break;
                };
                let text = raw.get();
                // Only objects are kept, and only objects are charged (items that are not
                // objects cost a counter).
                if text.starts_with('{') && out.items.len() as u64 >= self.limit {
                    return Err(de::Error::custom(OVER_BOUND));
                }
                let parsed = if text.starts_with('{') {
                    serde_json::from_str::<T>(text).map_err(|e| e.to_string())
                } else {
                    Err("not an object".to_string())
                };
                match parsed {
                    Ok(item) => {
                        out.items.push(obj(Some(i), item));
                        if !self.meter.took(out, start) {
                            self.meter.drop_last(out);
                            return self.read_past(seq, out);
                        }
                    }
                    Err(why) if out.bad.len() < MAX_BAD_REPORTED => out.bad.push(BadItem {
                        index: Some(i),
                        name: name_of(text),
                        why,
                    }),
                    Err(_) => out.more_bad += 1,
                }
            } else {
                let Some(item) = seq.next_element::<T>()? else {
                    break;
                };
                out.items.push(obj(Some(i), item));
                if !self.meter.took(out, start) {
                    self.meter.drop_last(out);
                    return self.read_past(seq, out);
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// The rest of a list past the bound on kept bytes: read past, counted in `cut` (the item
    /// that passed the bound included).
    fn read_past<A: SeqAccess<'de>>(&self, seq: &mut A, out: &mut Parsed<T>) -> Result<(), A::Error> {
        out.cut += 1;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            out.cut += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods(json: &str) -> Result<Parsed<Pod>, String> {
        parse_as::<Pod>(json.as_bytes(), charge(json.as_bytes()), &Held::default())
    }

    #[test]
    fn kind_from_path() {
        assert_eq!(
            TypedKind::of_path("kubectl/namespaces/x/pods.json"),
            Some(TypedKind::Pods)
        );
        assert_eq!(
            TypedKind::of_path("cluster-resources/events/x.json"),
            Some(TypedKind::Events)
        );
        assert_eq!(
            TypedKind::of_path("cluster-resources/nodes.json"),
            Some(TypedKind::Nodes)
        );
        assert_eq!(TypedKind::of_path("cluster-resources/pods/events.json"), None);
        assert_eq!(
            TypedKind::of_path("kubectl/namespaces/pods/pods.json"),
            Some(TypedKind::Pods)
        );
        assert_eq!(TypedKind::of_path("kubectl/namespaces/x/pods.yaml"), None);
        assert_eq!(TypedKind::of_path("kubectl/namespaces/x/deployments.json"), None);
    }

    #[test]
    fn shapes() {
        let l = pods(r#"{"kind":"List","items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}"#).unwrap();
        let names: Vec<_> = l.items.iter().map(|p| (p.src.index, p.metadata.name.clone())).collect();
        assert_eq!(names, vec![(Some(0), "a".into()), (Some(1), "b".into())]);
        assert_eq!(pods(r#"[{"metadata":{"name":"a"}}]"#).unwrap().items.len(), 1);
        assert_eq!(pods(r#"{"items":null}"#).unwrap().items.len(), 0);
        assert_eq!(pods("null").unwrap().items.len(), 0);
        let one = pods(r#"{"kind":"Pod","metadata":{"name":"solo"}}"#).unwrap();
        assert_eq!(one.items[0].src.index, None);
        assert_eq!(one.items[0].metadata.name, "solo");
        assert_eq!(pods(r#"{"a":1}"#).unwrap_err(), NOT_A_LIST);
        assert_eq!(pods(r#"{"items":"x"}"#).unwrap_err(), NOT_A_LIST);
        assert_eq!(pods("3").unwrap_err(), NOT_A_LIST);
        assert!(pods(r#"{"items":[{"metadata":"#)
            .unwrap_err()
            .starts_with("invalid JSON"));
        assert_eq!(pods("  ").unwrap_err(), "the file is empty");
    }

    #[test]
    fn a_bad_item_costs_only_itself() {
        let l = pods(
            r#"{"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"bad"},"spec":{"containers":7}},7,{"metadata":{"name":"c"}}]}"#,
        )
        .unwrap();
        let names: Vec<_> = l
            .items
            .iter()
            .map(|p| (p.src.index, p.metadata.name.as_str()))
            .collect();
        assert_eq!(names, vec![(Some(0), "a"), (Some(3), "c")]);
        assert_eq!(l.bad.len(), 2);
        assert_eq!(l.bad[0].index, Some(1));
        assert_eq!(l.bad[0].name, "bad");
        assert!(l.bad[0].why.contains("invalid type"), "{}", l.bad[0].why);
        assert_eq!((l.bad[1].index, l.bad[1].why.as_str()), (Some(2), "not an object"));
    }

    #[test]
    fn a_list_keeps_the_items_that_fit_in_the_bound_on_kept_bytes() {
        // The crate's tests count allocations as the binary does (lib.rs).
        let json = |n: usize| {
            let items: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"metadata":{{"name":"pod-with-a-name-longer-than-inline-{i}"}}}}"#))
                .collect();
            format!(r#"{{"items":[{}]}}"#, items.join(","))
        };
        let all = json(100);
        let whole = parse_as::<Pod>(all.as_bytes(), charge(all.as_bytes()), &Held::default()).unwrap();
        assert_eq!((whole.items.len(), whole.cut), (100, 0));
        let per_item = whole.held() / 100;
        // More than its place in the list: its name, over 24 bytes, was allocated and counted.
        assert!(per_item > std::mem::size_of::<Obj<Pod>>() as u64 + 24, "{per_item}");
        // A bound of about 40 items: the first items that fit are kept, the rest counted.
        let total = std::sync::Arc::new(crate::bundle::budget::Total::unbounded());
        let held = Held::sharing(per_item * 40, total.clone());
        let cut = parse_as::<Pod>(all.as_bytes(), charge(all.as_bytes()), &held).unwrap();
        assert!((35..=40).contains(&cut.items.len()), "{}", cut.items.len());
        assert_eq!(cut.items.len() + cut.cut, 100);
        assert_eq!(cut.items.last().map(|p| p.src.index), Some(Some(cut.items.len() - 1)));
        assert!(cut.held() <= held.bound());
        // The pool's count holds what was kept; a bad item's first pass is given back.
        assert_eq!(total.charged(), cut.held());
        let bad = r#"{"items":[{"metadata":{"name":"a"}},{"spec":{"containers":7}}]}"#;
        let fresh = std::sync::Arc::new(crate::bundle::budget::Total::unbounded());
        let one = parse_as::<Pod>(
            bad.as_bytes(),
            charge(bad.as_bytes()),
            &Held::sharing(MAX_TYPED_BYTES, fresh.clone()),
        )
        .unwrap();
        assert_eq!((one.items.len(), one.bad.len()), (1, 1));
        assert_eq!(fresh.charged(), one.held());
        // In archive order: a member keeps what fits in the room left.
        let mut again = parse_as::<Pod>(all.as_bytes(), charge(all.as_bytes()), &Held::default()).unwrap();
        let kept = again.keep_within(per_item * 10);
        assert!(kept <= per_item * 10 && again.items.len() + again.cut == 100 && again.items.len() < 11);
    }

    #[test]
    fn items_beyond_the_charge_stop_the_member() {
        let many = format!("[{}{{}}]", "{},".repeat(5000));
        let e = parse_as::<Pod>(many.as_bytes(), charge(many.as_bytes()), &Held::default()).unwrap_err();
        assert!(e.contains("bound on parsed objects"), "{e}");
        // exactly at the charge is fine
        let ok = format!("[{}{{}}]", "{},".repeat(999));
        assert_eq!(pods(&ok).unwrap().items.len(), 1000);
    }

    #[test]
    fn a_file_is_charged_what_it_holds() {
        // An empty list costs one, however long its header; no slack per file.
        let empty = br#"{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":"\"{[x"}}"#;
        assert_eq!(charge(empty), 1);
        assert_eq!(charge(b""), 0);
        let three = r#"{"kind":"PodList","items":[{"metadata":{"name":"a","labels":{"x":"{"}},"spec":{"containers":[{"name":"c"}]}},{"metadata":{}},{"metadata":{}}]}"#;
        assert_eq!(charge(three.as_bytes()), 4);
        assert_eq!(pods(three).unwrap().items.len(), 3);
        assert_eq!(charge(br#"[{"metadata":{"a":{}}},{"spec":{}}]"#), 2);
        assert_eq!(charge(br#"{"kind":"Pod","metadata":{"name":"solo"}}"#), 1);
    }
}
