//! The issue-16 check through `arcdiag redact`: a bundle as `collect --no-redact` writes it
//! (the sample's members and manifest, with the three planted corpora, tests/common/planted.rs,
//! tests/common/planted2.rs and tests/common/planted3.rs, merged into its ConfigMap, pod, event and `az` lists and written as
//! members of their own: Flux objects, `helm` output, a log; the manifest records the sha256 of
//! every member and `redaction.enabled: false`) is re-redacted with `arcdiag redact BUNDLE -o
//! OUT.tar.gz`, and OUT is searched: every planted value (and its last 16 and last 8
//! characters) absent from every member, raw and with every JSON string decoded; every ordinary
//! value present; no member of the input dropped; every `.json` member valid JSON; `arcdiag
//! verify OUT` exits 0; `arcdiag analyze` of OUT gives the same findings (code and subject) as of
//! the input. All failures are reported together.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod common;

use common::planted::{self, find_needle, texts_of};
use common::{analyze_json, arcdiag, bundle_members, files_under, root, SAMPLE};

const NAME: &str = "arcdiag-contoso-arc-01-20261125T170000Z";

fn hex(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// Merge a planted member into the sample's member of the same path: list items appended to
/// `items`, arrays concatenated, text appended; otherwise a new member.
fn merge(old: Option<&Vec<u8>>, new: &[u8]) -> Vec<u8> {
    let Some(old) = old else { return new.to_vec() };
    let (a, b) = (
        serde_json::from_slice::<Value>(old),
        serde_json::from_slice::<Value>(new),
    );
    match (a, b) {
        (Ok(mut a), Ok(b)) => {
            if let (Some(ai), Some(bi)) = (a.get_mut("items").and_then(Value::as_array_mut), b.get("items")) {
                ai.extend(bi.as_array().expect("items").iter().cloned());
            } else if let (Some(aa), Some(ba)) = (a.as_array_mut(), b.as_array()) {
                aa.extend(ba.iter().cloned());
            } else {
                panic!("cannot merge a planted JSON member into the sample's");
            }
            planted::go_escape(&serde_json::to_string_pretty(&a).expect("JSON")).into_bytes()
        }
        _ => {
            let mut v = old.clone();
            if !v.ends_with(b"\n") {
                v.push(b'\n');
            }
            v.extend_from_slice(new);
            v
        }
    }
}

/// The unredacted bundle: the sample with every planted item of the three corpora.
fn planted_bundle(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = files_under(&root().join(SAMPLE));
    let mut p = planted::corpus();
    p.extend(common::planted2::corpus());
    p.extend(common::planted3::corpus());
    let mut o = planted::ordinary();
    o.extend(common::planted2::ordinary());
    o.extend(common::planted3::ordinary());
    for (rel, bytes) in planted::bundle_files(&p, &o) {
        let merged = merge(files.get(&rel), &bytes);
        files.insert(rel, merged);
    }
    // The manifest as `collect --no-redact` writes it: every member's digest, no redaction.
    let mut m: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    m["redaction"] = serde_json::json!({"enabled": false, "replacements": {}, "files": {}, "as_text": []});
    let steps = m["steps"].as_array_mut().expect("steps");
    let mut listed = BTreeSet::new();
    for s in steps.iter_mut() {
        if let Some(out) = s["output"].as_str().map(str::to_string) {
            if let Some(b) = files.get(&out) {
                s["sha256"] = Value::String(hex(b));
                s["bytes"] = Value::from(b.len());
            }
            listed.insert(out);
        }
    }
    for (rel, b) in &files {
        if rel == "manifest.json" || listed.contains(rel) {
            continue;
        }
        let id = rel.rsplit_once('.').map_or(rel.as_str(), |(a, _)| a).to_string();
        steps.push(serde_json::json!({
            "id": id, "argv": ["kubectl", "get", "planted"], "output": rel, "status": "ok", "exit_code": 0,
            "duration_ms": 1, "bytes": b.len(), "truncated": false, "stderr": "", "sha256": hex(b)
        }));
    }
    files.insert("manifest.json".into(), serde_json::to_vec_pretty(&m).expect("JSON"));
    for (rel, b) in &files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, b).expect("write");
    }
    files
}

/// Each finding's code and subject.
fn findings(r: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| (f["code"].to_string(), f["subject"].to_string()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn planted_secrets_do_not_survive_arcdiag_redact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join(NAME);
    let input = planted_bundle(&src);
    let out_path = tmp.path().join("shared.tar.gz");

    let mut fails = Vec::new();
    let (_, before, _) = analyze_json(&src, &["--fail-on", "never"]);
    let state = before["bundle"]["integrity"]["state"].clone();
    assert_eq!(
        state,
        Value::from("verified"),
        "the planted input should verify as collect --no-redact writes it: {}",
        before["bundle"]["integrity"]
    );

    let o = arcdiag(&["redact".as_ref(), src.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    assert!(
        o.status.success(),
        "redact failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    let members: Vec<(String, Vec<u8>)> = bundle_members(&out_path)
        .into_iter()
        .map(|(p, b)| (p.split_once('/').map_or(p.clone(), |(_, r)| r.to_string()), b))
        .collect();
    let names: BTreeSet<&str> = members.iter().map(|(p, _)| p.as_str()).collect();
    for rel in input.keys() {
        if !names.contains(rel.as_str()) {
            fails.push(format!("DROPPED {rel}: in the input, not in the redacted bundle"));
        }
    }
    for (path, bytes) in &members {
        if path.ends_with(".json") {
            if let Err(e) = serde_json::from_slice::<Value>(bytes) {
                fails.push(format!("INVALID {path}: not JSON: {e}"));
            }
        }
    }
    let texts: Vec<(String, Vec<String>)> = members.iter().map(|(p, b)| (p.clone(), texts_of(p, b))).collect();
    let all: Vec<&String> = texts.iter().flat_map(|(_, t)| t.iter()).collect();
    for (corpus, planted) in [
        ("1", planted::corpus()),
        ("2", common::planted2::corpus()),
        ("3", common::planted3::corpus()),
    ] {
        for p in &planted {
            for (path, t) in &texts {
                if let Some(ex) = p.needles.iter().find_map(|n| find_needle(t, n)) {
                    fails.push(format!(
                        "LEAK corpus{corpus} {} [{:?}/{}] {path}: {ex}",
                        p.id, p.place, p.kind
                    ));
                }
            }
        }
    }
    for (corpus, ordinary) in [
        ("1", planted::ordinary()),
        ("2", common::planted2::ordinary()),
        ("3", common::planted3::ordinary()),
    ] {
        for o in &ordinary {
            if !all.iter().any(|t| t.contains(o.value.as_str())) {
                fails.push(format!(
                    "MANGLED corpus{corpus} {} [{:?}]: {:?} is nowhere in the redacted bundle",
                    o.id, o.place, o.value
                ));
            }
        }
    }

    let v = arcdiag(&["verify".as_ref(), out_path.as_os_str()]);
    if v.status.code() != Some(0) {
        fails.push(format!(
            "VERIFY exited {:?}: {}{}",
            v.status.code(),
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        ));
    }
    let (_, after, _) = analyze_json(&out_path, &["--fail-on", "never"]);
    let (fb, fa) = (findings(&before), findings(&after));
    if fb != fa {
        let b: BTreeSet<_> = fb.iter().collect();
        let a: BTreeSet<_> = fa.iter().collect();
        for x in b.difference(&a) {
            fails.push(format!("FINDING lost by redaction: {} {}", x.0, x.1));
        }
        for x in a.difference(&b) {
            fails.push(format!("FINDING new after redaction: {} {}", x.0, x.1));
        }
        if a == b {
            fails.push("FINDINGS differ in number".into());
        }
    }
    if fb.is_empty() {
        fails.push("FINDINGS: the input analyzes to none; the comparison says nothing".into());
    }
    assert!(
        fails.is_empty(),
        "{} failures in {}:\n{}",
        fails.len(),
        out_path.display(),
        fails.join("\n")
    );
}
