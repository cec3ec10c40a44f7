//! A small synthetic bundle from `examples/gen_bundle.rs`: `arcdiag analyze` must report exactly
//! the planted findings, with the planted log lines as evidence (`path:line`).

#[path = "../examples/gen_bundle.rs"]
#[allow(dead_code)]
mod gen_bundle;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

fn subject(s: &Value) -> String {
    ["kind", "namespace", "name"]
        .iter()
        .filter_map(|k| s.get(*k).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("/")
}

fn location(e: &Value) -> String {
    let path = e["path"].as_str().unwrap_or("");
    match e.get("line").and_then(Value::as_u64) {
        Some(l) => format!("{path}:{l}"),
        None => format!(
            "{path} ({} {})",
            e["object"].as_str().unwrap_or(""),
            e["field"].as_str().unwrap_or("")
        ),
    }
}

#[test]
fn analyze_reports_exactly_the_planted_findings() {
    let dir = tempfile::tempdir().unwrap();
    let opts = gen_bundle::Options {
        size: 7 << 20,
        pods: 200,
        events: 300,
        seed: 7,
        level: 1,
        // one 5.8 MB log, which the reader cuts into regions (of 1 MiB), with planted lines in it
        long_logs: 1,
        long_log_size: 5_800_000,
        single_stream: false,
        // as collect's bundles: every member's digest recorded, and verified
        digests: true,
    };
    let g = gen_bundle::generate(&opts, dir.path()).unwrap();
    assert!(g.uncompressed_bytes > 6 << 20, "{} bytes", g.uncompressed_bytes);
    let out = Command::new(env!("CARGO_BIN_EXE_arcdiag"))
        .args(["analyze", "--format", "json"])
        .arg(&g.bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["bundle"]["partial"], Value::Bool(false), "{}", report["bundle"]);
    assert_eq!(
        report["bundle"]["integrity"]["state"], "verified",
        "{}",
        report["bundle"]["integrity"]
    );

    let mut got: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        let key = (f["code"].as_str().unwrap().to_string(), subject(&f["subject"]));
        let locs = f["evidence"].as_array().unwrap().iter().map(location).collect();
        assert!(got.insert(key.clone(), locs).is_none(), "two findings for {key:?}");
    }
    let want: BTreeSet<&(String, String)> = g.expected.keys().collect();
    assert_eq!(
        got.keys().collect::<BTreeSet<_>>(),
        want,
        "findings differ from the planted ones"
    );
    for (key, expected) in &g.expected {
        let actual = &got[key];
        // Every planted piece of evidence is cited...
        for e in expected {
            assert!(actual.contains(e), "{key:?}: missing evidence {e}; got {actual:#?}");
        }
        // ...and no log line other than the planted ones.
        let lines =
            |s: &BTreeSet<String>| -> BTreeSet<String> { s.iter().filter(|l| !l.ends_with(')')).cloned().collect() };
        let expected: BTreeSet<String> = expected.iter().cloned().collect();
        assert_eq!(lines(actual), lines(&expected), "{key:?}: log evidence");
    }
    // The planted log signatures are all there: two webhooks, and K8S008's two certificates (one
    // logged by two pods, one in an event).
    assert_eq!(g.expected.keys().filter(|k| k.0 == "K8S007").count(), 2);
    assert_eq!(g.expected.keys().filter(|k| k.0 == "K8S008").count(), 2);

    // The bundle is block gzip (7 members or more): read with one thread (the reader then
    // decompresses every member itself) the report is byte for byte the same.
    let bytes = std::fs::read(&g.bundle).unwrap();
    assert!(arcdiag::bundle::gzblocks::is_block_gzip(&bytes));
    let one = Command::new(env!("CARGO_BIN_EXE_arcdiag"))
        .args(["analyze", "--format", "json"])
        .arg(&g.bundle)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert_eq!(one.stdout, out.stdout);

    // The same tar as one ordinary gzip stream (as `tar czf` writes it): the same report.
    let stream_dir = dir.path().join("stream");
    let g2 = gen_bundle::generate(
        &gen_bundle::Options {
            single_stream: true,
            ..opts
        },
        &stream_dir,
    )
    .unwrap();
    assert!(!arcdiag::bundle::gzblocks::is_block_gzip(
        &std::fs::read(&g2.bundle).unwrap()
    ));
    // Same name, so that the report's `source` is the same too.
    let same = dir.path().join("same");
    std::fs::create_dir_all(&same).unwrap();
    for (from, name) in [(&g.bundle, "a"), (&g2.bundle, "b")] {
        std::fs::create_dir_all(same.join(name)).unwrap();
        std::fs::copy(from, same.join(name).join("bundle.tar.gz")).unwrap();
    }
    let run = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_arcdiag"))
            .args(["analyze", "--format", "json", "bundle.tar.gz"])
            .current_dir(same.join(name))
            .output()
            .unwrap()
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout));

    // Without digests (the benchmarks' bundles): unverifiable, and the same findings.
    let plain_dir = dir.path().join("plain");
    let g3 = gen_bundle::generate(&gen_bundle::Options { digests: false, ..opts }, &plain_dir).unwrap();
    assert_eq!(g3.expected, g.expected);
    let plain = Command::new(env!("CARGO_BIN_EXE_arcdiag"))
        .args(["analyze", "--format", "json"])
        .arg(&g3.bundle)
        .output()
        .unwrap();
    assert_eq!(
        plain.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(plain["bundle"]["integrity"]["state"], "unverifiable");
    assert_eq!(plain["findings"], report["findings"], "findings differ without digests");
}

#[test]
fn the_generator_is_deterministic() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let opts = gen_bundle::Options {
        size: 1 << 20,
        pods: 60,
        events: 50,
        seed: 3,
        level: 1,
        long_logs: 0,
        long_log_size: 0,
        single_stream: false,
        digests: false,
    };
    let ga = gen_bundle::generate(&opts, a.path()).unwrap();
    let gb = gen_bundle::generate(&opts, b.path()).unwrap();
    assert_eq!(std::fs::read(&ga.bundle).unwrap(), std::fs::read(&gb.bundle).unwrap());
    assert_eq!(ga.expected, gb.expected);
}

/// A manifest longer than a region of the reader (1 MiB; here ~2,600 steps with their digests)
/// is read region by region as it arrives (`manifest::Stream`), never held whole: every step is
/// still read (each output's digest verified, no input unlisted) and the findings are the planted
/// ones.
#[test]
fn a_manifest_longer_than_a_region_is_read_as_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let opts = gen_bundle::Options {
        size: 6 << 20,
        pods: 2500,
        events: 100,
        seed: 11,
        level: 1,
        long_logs: 0,
        long_log_size: 0,
        single_stream: false,
        digests: true,
    };
    let g = gen_bundle::generate(&opts, dir.path()).unwrap();
    let file = std::fs::File::open(&g.bundle).unwrap();
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(file));
    let manifest = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().ends_with("manifest.json"))
        .map(|e| e.size())
        .unwrap();
    assert!(manifest > 1 << 20, "manifest of {manifest} bytes");
    let out = Command::new(env!("CARGO_BIN_EXE_arcdiag"))
        .args(["analyze", "--format", "json"])
        .arg(&g.bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["bundle"]["errors"],
        serde_json::json!([]),
        "{}",
        report["bundle"]
    );
    assert_eq!(
        report["bundle"]["integrity"]["state"], "verified",
        "{}",
        report["bundle"]["integrity"]
    );
    let inputs = report["inputs"].as_array().unwrap();
    assert!(inputs.len() > 2500, "{} inputs", inputs.len());
    let got: BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap().to_string(), subject(&f["subject"])))
        .collect();
    assert_eq!(got, g.expected.keys().cloned().collect::<BTreeSet<_>>());
}
