//! The fields of an arcdiag `manifest.json` the layout reads, parsed straight from its text.
//!
//! It keeps four strings per collection step and skips the rest (no `serde_json::Value` tree; why,
//! in BENCHMARKS.md). It is as lenient as reading a `Value` would be: a field of an unexpected
//! type reads as absent, a step that is not an object has no id, `steps` that is not a list is no
//! list. A long one is read region by region as it arrives, with the same result ([`Stream`]).
//! At most [`MAX_STEPS`] steps are kept. Knows nothing of what a step's output holds.

use super::digest::Sum;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

mod stream;
pub use stream::Stream;

#[derive(Debug, Default, Clone)]
pub struct Manifest {
    pub format: Str,
    pub collected_at: Str,
    pub complete: Bool,
    pub cluster: Cluster,
    pub steps: Steps,
}

#[derive(Debug, Default, Clone)]
pub struct Cluster {
    pub name: Str,
    pub resource_group: Str,
    pub cluster_type: Str,
    pub kube_context: Str,
}

#[derive(Debug, Default, Clone)]
pub struct Step {
    pub id: Str,
    pub status: Str,
    pub output: Str,
    pub stderr: Str,
    pub sha256: Digest,
}

/// `steps`, when it is a list: its first [`MAX_STEPS`] items, and how many more it holds (read
/// past).
#[derive(Debug, Default, Clone)]
pub struct Steps(pub Option<Vec<Step>>, pub usize);

/// Steps read of a manifest, at most: four times the 60,600 of a bundle of 50,000 pods. A step
/// keeps 136 bytes and its strings, so a manifest of millions of `{}` (7 MB for 2.4 million)
/// took 550 MiB; past the bound, steps are read past and counted (the layout says so).
pub const MAX_STEPS: usize = 250_000;

thread_local! {
    /// [`MAX_STEPS`], or less on this thread ([`set_max_steps`]).
    static BOUND: std::cell::Cell<usize> = const { std::cell::Cell::new(MAX_STEPS) };
    /// Steps of the list before the next one read, for the kept text of a [`Stream`] (whose list
    /// goes on from a stand-in for the steps it read alone): taken by the first list that has an
    /// item.
    static BEFORE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The bound on steps read on this thread: [`MAX_STEPS`] unless [`set_max_steps`] lowered it.
pub fn max_steps() -> usize {
    BOUND.with(|b| b.get())
}

/// Lower the bound on steps on this thread (tests and fuzzing reach the bound with a few steps).
#[doc(hidden)]
pub fn set_max_steps(n: usize) {
    BOUND.with(|b| b.set(n.min(MAX_STEPS)));
}

/// [`read_text`] of a text whose first `steps` list with an item holds it at position `before`.
fn read_text_after(data: &[u8], before: usize) -> Result<Manifest, Unread> {
    BEFORE.with(|b| b.set(before));
    let r = read_text(data);
    BEFORE.with(|b| b.set(0));
    r
}

/// A string field: `None` when absent or not a string.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Str(pub Option<String>);

/// A digest field: `None` when absent or not a string, `Some(None)` when a string that is not a
/// sha256 (64 hex digits), which matches no member. Kept as its 32 bytes: a large bundle's
/// manifest records 60,000 of them, and it is parsed while everything else the read keeps is held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Digest(pub Option<Option<Sum>>);

/// A boolean field: `None` when absent or not a boolean.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Bool(pub Option<bool>);

impl Manifest {
    pub fn is_arcdiag(&self) -> bool {
        is_arcdiag_format(self.format.0.as_deref())
    }
}

/// Whether a manifest's `format` names an arcdiag bundle.
pub fn is_arcdiag_format(format: Option<&str>) -> bool {
    format.is_some_and(|f| f.starts_with("arcdiag-bundle/"))
}

/// Parse a manifest's text; errors worded as for any JSON member. [`Stream`] reads one region by
/// region, with the same result.
pub fn parse(data: &[u8]) -> Result<Manifest, String> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    read_text(data).map_err(|e| match e {
        Unread::Empty => EMPTY.to_string(),
        Unread::Json(e) => format!("invalid JSON: {e}"),
    })
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
const EMPTY: &str = "the file is empty";

/// Why a text is not a manifest.
enum Unread {
    Empty,
    Json(serde_json::Error),
}

/// [`parse`] of a text whose byte order mark is already taken off.
fn read_text(data: &[u8]) -> Result<Manifest, Unread> {
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Unread::Empty);
    }
    super::jsonde::from_bytes(data).map_err(Unread::Json)
}

/// Read a manifest from a parsed `Value` (bundles opened for `serve` parse every JSON member).
pub fn from_value(v: &serde_json::Value) -> Manifest {
    // Every field is lenient: only a document that is not an object reads as an empty manifest.
    Manifest::deserialize(v).unwrap_or_default()
}

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Str, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Str, E> {
                Ok(Str(Some(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Str, E> {
                Ok(Str(Some(s)))
            }
            others_as!('de, Str(None) => bool, i64, u64, f64, unit, seq, map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Digest {
    /// As a [`Str`] (as lenient), then to its bytes.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        Str::deserialize(d).map(|s| Digest(s.0.map(|hex| Sum::parse_hex(&hex))))
    }
}

impl<'de> Deserialize<'de> for Bool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bool, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Bool, E> {
                Ok(Bool(Some(b)))
            }
            others_as!('de, Bool(None) => str, i64, u64, f64, unit, seq, map);
        }
        d.deserialize_any(V)
    }
}

macro_rules! lenient_object {
    ($ty:ident { $($key:literal => $field:ident),* $(,)? }) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("any value")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<$ty, A::Error> {
                        let mut out = $ty::default();
                        while let Some(k) = a.next_key::<std::borrow::Cow<'de, str>>()? {
                            match k.as_ref() {
                                $($key => out.$field = a.next_value()?,)*
                                _ => {
                                    a.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                    others_as!('de, $ty::default() => seq, str, bool, i64, u64, f64, unit);
                }
                d.deserialize_any(V)
            }
        }
    };
}

lenient_object!(Manifest {
    "format" => format,
    "collected_at" => collected_at,
    "complete" => complete,
    "cluster" => cluster,
    "steps" => steps,
});

lenient_object!(Cluster {
    "name" => name,
    "resource_group" => resource_group,
    "type" => cluster_type,
    "kube_context" => kube_context,
});

lenient_object!(Step {
    "id" => id,
    "status" => status,
    "output" => output,
    "stderr" => stderr,
    "sha256" => sha256,
});

impl<'de> Deserialize<'de> for Steps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Steps, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Steps;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Steps, A::Error> {
                // Where the list starts: a stream's kept text may go on with one (`BEFORE`).
                let before = BEFORE.with(|b| b.get());
                let keep = max_steps().saturating_sub(before);
                let (mut out, mut past, mut end) = (Vec::new(), 0, false);
                while out.len() < keep {
                    match a.next_element::<Step>()? {
                        Some(s) => out.push(s),
                        None => {
                            end = true;
                            break;
                        }
                    }
                }
                if !end {
                    while a.next_element::<IgnoredAny>()?.is_some() {
                        past += 1;
                    }
                }
                // An empty list takes no place; the first with an item takes it.
                if !out.is_empty() || past > 0 {
                    BEFORE.with(|b| b.set(0));
                }
                Ok(Steps(Some(out), past))
            }
            others_as!('de, Steps(None, 0) => map, str, bool, i64, u64, f64, unit);
        }
        d.deserialize_any(V)
    }
}

/// The first line of a tool's error text that says something, bounded: what a step's reason and
/// a report show (the whole text stays in the manifest).
pub fn first_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return String::new();
    };
    let mut out: String = first.chars().take(300).collect();
    if out.len() < first.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_layout_needs_and_tolerates_odd_types() {
        let m = parse(
            br#"{"format":"arcdiag-bundle/v1","collected_at":"2026-11-25T17:00:00Z","complete":false,
                "cluster":{"name":"c1","type":"connectedClusters","extra":[1,2]},
                "steps":[{"id":"kubectl/cluster/nodes","argv":["kubectl"],"status":"ok","output":"kubectl/cluster/nodes.json","stderr":""},
                         7, {"id":5,"status":["x"]}]}"#,
        )
        .unwrap();
        assert!(m.is_arcdiag());
        assert_eq!(m.collected_at.0.as_deref(), Some("2026-11-25T17:00:00Z"));
        assert_eq!(m.complete.0, Some(false));
        assert_eq!(m.cluster.name.0.as_deref(), Some("c1"));
        assert_eq!(m.cluster.cluster_type.0.as_deref(), Some("connectedClusters"));
        let steps = m.steps.0.unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].output.0.as_deref(), Some("kubectl/cluster/nodes.json"));
        assert_eq!(steps[1].id.0, None);
        assert_eq!((steps[2].id.0.clone(), steps[2].status.0.clone()), (None, None));
        let odd = parse(br#"{"format":1,"complete":"yes","cluster":"x","steps":{"a":1}}"#).unwrap();
        assert!(!odd.is_arcdiag());
        assert_eq!(odd.complete.0, None);
        assert!(odd.steps.0.is_none());
        assert!(parse(b"{").unwrap_err().starts_with("invalid JSON"));
        assert_eq!(parse(b" ").unwrap_err(), "the file is empty");
        // A document that is not an object reads as an empty manifest, as a `Value` did.
        assert!(!parse(b"[1]").unwrap().is_arcdiag());
        assert!(!from_value(&serde_json::json!("x")).is_arcdiag());
    }
}
