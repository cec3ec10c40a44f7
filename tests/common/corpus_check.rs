//! The checks tests/redact_corpus.rs runs over each planted corpus (tests/common/planted.rs,
//! planted2.rs, planted3.rs): the redactor alone, each secret in its context, rendered as the
//! member it would be in a bundle (a kubectl JSON list and its YAML, a log, an `az` answer)
//! and redacted with the shape that member's name gives; then every item together in one
//! bundle's members through one `Redactor`. Every needle of a secret (and its last 16
//! characters) must be gone (by its last 8 too, which is what is left when a redaction stops
//! early), every ordinary value must come out byte-identical, JSON must stay JSON and YAML must
//! stay YAML. All failures of a check are reported together, with the corpus named.

use super::planted::{self, find_needle, texts_of, Doc, Ordinary, Place, Planted};
use super::{planted2, planted3};
use arcdiag::redact::{Redactor, Shape};
use std::collections::BTreeMap;

/// One corpus and what its soundness check asks of it.
pub struct Corpus {
    /// Named in every failure.
    pub name: &'static str,
    pub planted: Vec<Planted>,
    pub ordinary: Vec<Ordinary>,
    /// At least this many planted secrets and ordinary values.
    pub min_planted: usize,
    pub min_ordinary: usize,
    /// The corpora this one must be independent of (no id, needle or ordinary value of one in
    /// the other), merged.
    pub others_planted: Vec<Planted>,
    pub others_ordinary: Vec<Ordinary>,
}

/// The first corpus (tests/common/planted.rs).
pub fn first() -> Corpus {
    Corpus {
        name: "corpus 1 (planted.rs)",
        planted: planted::corpus(),
        ordinary: planted::ordinary(),
        min_planted: 70,
        min_ordinary: 30,
        others_planted: Vec::new(),
        others_ordinary: Vec::new(),
    }
}

/// The second corpus (tests/common/planted2.rs), independent of the first.
pub fn second() -> Corpus {
    Corpus {
        name: "corpus 2 (planted2.rs)",
        planted: planted2::corpus(),
        ordinary: planted2::ordinary(),
        min_planted: 60,
        min_ordinary: 20,
        others_planted: planted::corpus(),
        others_ordinary: planted::ordinary(),
    }
}

/// The third corpus (tests/common/planted3.rs), independent of both others.
pub fn third() -> Corpus {
    let mut others_planted = planted::corpus();
    others_planted.extend(planted2::corpus());
    let mut others_ordinary = planted::ordinary();
    others_ordinary.extend(planted2::ordinary());
    Corpus {
        name: "corpus 3 (planted3.rs)",
        planted: planted3::corpus(),
        ordinary: planted3::ordinary(),
        min_planted: 70,
        min_ordinary: 20,
        others_planted,
        others_ordinary,
    }
}

fn redact(r: &Redactor, doc: &Doc) -> (Vec<u8>, Shape) {
    let shape = Shape::of(&doc.path);
    (r.redact(&doc.bytes, shape).bytes.into_owned(), shape)
}

/// Whether the output still reads as what the input was (JSON, YAML); `None` when it does.
fn still_valid(path: &str, out: &[u8]) -> Option<String> {
    if path.ends_with(".json") {
        return serde_json::from_slice::<serde_json::Value>(out)
            .err()
            .map(|e| format!("not JSON any more: {e}"));
    }
    if path.ends_with(".yaml") {
        return serde_yaml::from_slice::<serde_yaml::Value>(out)
            .err()
            .map(|e| format!("not YAML any more: {e}"));
    }
    None
}

/// Where `a` and `b` first differ, as an excerpt of `b`.
fn first_diff(a: &[u8], b: &[u8]) -> String {
    let i = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let b = String::from_utf8_lossy(b);
    let mut i = i.min(b.len());
    while !b.is_char_boundary(i) {
        i -= 1;
    }
    planted::excerpt(&b, i, 0)
}

/// The corpus is as large as it says, independent of the other corpora, and no planted value
/// is part of an ordinary one by accident.
pub fn corpus_is_large_and_sound(c: &Corpus) {
    let (name, p, o) = (c.name, &c.planted, &c.ordinary);
    assert!(p.len() >= c.min_planted, "{name}: {} planted", p.len());
    assert!(o.len() >= c.min_ordinary, "{name}: {} ordinary", o.len());
    // Independent of the other corpora: no id, needle or ordinary value of one is in another.
    for s in p {
        assert!(
            !c.others_planted.iter().any(|x| x.id == s.id),
            "{name}: {} is in two corpora",
            s.id
        );
        for n in &s.needles {
            for x in &c.others_ordinary {
                assert!(
                    !x.context.contains(n.as_str()),
                    "{name}: {} is inside other-corpus ordinary {}",
                    s.id,
                    x.id
                );
            }
        }
    }
    for s in &c.others_planted {
        for n in &s.needles {
            for x in o {
                assert!(
                    !x.context.contains(n.as_str()),
                    "{name}: other-corpus {} is inside ordinary {}",
                    s.id,
                    x.id
                );
            }
        }
    }
    // No planted value is part of an ordinary one or of another item's context by accident.
    for s in p {
        for n in &s.needles {
            assert!(
                n.len() >= 8,
                "{name}: {}: needle too short to mean anything: {n:?}",
                s.id
            );
            for x in o {
                assert!(
                    !x.context.contains(n.as_str()),
                    "{name}: {} is inside ordinary {}",
                    s.id,
                    x.id
                );
            }
        }
    }
}

/// Each planted secret alone, in each rendering of its context, through a fresh `Redactor`.
pub fn every_planted_secret_is_redacted_in_its_context(c: &Corpus) {
    let name = c.name;
    let mut fails: Vec<String> = Vec::new();
    let mut leaked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &c.planted {
        for doc in planted::docs_for(&p.id, p.place, &p.key, &p.context) {
            let inp = texts_of(&doc.path, &doc.bytes);
            assert!(
                still_valid(&doc.path, &doc.bytes).is_none(),
                "{name}: {}: the rendering {} is not valid to begin with",
                p.id,
                doc.path
            );
            for n in &p.needles {
                assert!(
                    find_needle(&inp, n).is_some(),
                    "{name}: {}: the rendering {} does not hold the needle",
                    p.id,
                    doc.path
                );
            }
            let (out, shape) = redact(&Redactor::new(), &doc);
            if let Some(e) = still_valid(&doc.path, &out) {
                fails.push(format!(
                    "INVALID {} [{:?}] {} ({shape:?}): {e}",
                    p.id, p.place, doc.path
                ));
            }
            let texts = texts_of(&doc.path, &out);
            for n in &p.needles {
                if let Some(ex) = find_needle(&texts, n) {
                    fails.push(format!(
                        "LEAK {} [{:?}/{}] {} ({shape:?}): {ex}",
                        p.id, p.place, p.kind, doc.path
                    ));
                    leaked.entry(p.id.clone()).or_default().push(format!("{shape:?}"));
                    break;
                }
            }
        }
    }
    let mut summary = format!(
        "{name}: {} of {} planted secrets leak in at least one shape:\n",
        leaked.len(),
        c.planted.len()
    );
    for (id, shapes) in &leaked {
        summary.push_str(&format!("  {id}: {}\n", shapes.join(", ")));
    }
    assert!(fails.is_empty(), "{summary}\n{}", fails.join("\n"));
}

/// Each ordinary value alone, in each rendering of its context, through a fresh `Redactor`:
/// the output is the input.
pub fn every_ordinary_value_survives_byte_identical(c: &Corpus) {
    let mut fails = Vec::new();
    for o in &c.ordinary {
        for doc in planted::docs_for(&o.id, o.place, &o.key, &o.context) {
            let (out, shape) = redact(&Redactor::new(), &doc);
            if out != doc.bytes {
                let present = texts_of(&doc.path, &out).iter().any(|t| t.contains(o.value.as_str()));
                fails.push(format!(
                    "MANGLED {} [{:?}] {} ({shape:?}){}: first change at {}",
                    o.id,
                    o.place,
                    doc.path,
                    if present {
                        " (value itself kept)"
                    } else {
                        " (value gone)"
                    },
                    first_diff(&doc.bytes, &out)
                ));
            }
        }
    }
    assert!(
        fails.is_empty(),
        "{}: {} mangled:\n{}",
        c.name,
        fails.len(),
        fails.join("\n")
    );
}

/// The members of one bundle holding every item, and their YAML renderings (as another
/// tool's bundle or `kubectl get -o yaml` would hold them).
fn bundle_docs(c: &Corpus) -> Vec<Doc> {
    let files = planted::bundle_files(&c.planted, &c.ordinary);
    let mut docs = Vec::new();
    for (path, bytes) in files {
        if path.starts_with("kubectl/") {
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
            docs.push(Doc {
                path: path.replace(".json", ".yaml"),
                bytes: planted::to_yaml(&v).into_bytes(),
            });
        }
        docs.push(Doc { path, bytes });
    }
    docs
}

/// Every item of the corpus in one bundle's members, all through one `Redactor`.
pub fn one_bundle_of_everything_through_one_redactor(c: &Corpus) {
    let r = Redactor::new();
    let docs = bundle_docs(c);
    let outs: Vec<(String, Vec<u8>)> = docs.iter().map(|d| (d.path.clone(), redact(&r, d).0)).collect();
    let mut fails = Vec::new();
    for (path, out) in &outs {
        if let Some(e) = still_valid(path, out) {
            fails.push(format!("INVALID {path}: {e}"));
        }
    }
    for p in &c.planted {
        for (path, out) in &outs {
            let texts = texts_of(path, out);
            if let Some(ex) = p.needles.iter().find_map(|n| find_needle(&texts, n)) {
                fails.push(format!("LEAK {} [{:?}/{}] {path}: {ex}", p.id, p.place, p.kind));
            }
        }
    }
    for o in &c.ordinary {
        // Each ordinary value must still be in every member whose input held it.
        for (d, (path, out)) in docs.iter().zip(&outs) {
            let held = texts_of(&d.path, &d.bytes).iter().any(|t| t.contains(o.value.as_str()));
            let kept = texts_of(path, out).iter().any(|t| t.contains(o.value.as_str()));
            if held && !kept && o.place != Place::PodSpec {
                fails.push(format!(
                    "MANGLED {} [{:?}] {path}: {:?} is gone",
                    o.id, o.place, o.value
                ));
            } else if held && !kept {
                fails.push(format!("MANGLED {} [pod field] {path}: {:?} is gone", o.id, o.value));
            }
        }
    }
    assert!(
        fails.is_empty(),
        "{}: {} failures in one bundle:\n{}",
        c.name,
        fails.len(),
        fails.join("\n")
    );
}
