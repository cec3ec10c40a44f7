//! The `arcdiag` binary end to end: the sample bundle as a directory and as an archive, exit
//! codes, filters, output formats, determinism across runs and thread counts, damaged bundles,
//! failed collection steps, rules files, `rules` and `explain`.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{arcdiag, arcdiag_env, copy_dir, root, SAMPLE};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

/// Pack a directory as `<top>/...` into a .tar.gz.
fn pack(dir: &Path, top: &str, out: &Path) {
    let f = std::fs::File::create(out).expect("create archive");
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    b.append_dir_all(top, dir).expect("append");
    b.into_inner().expect("finish tar").finish().expect("finish gzip");
}

/// Pack a directory as `<top>/...` into a block gzip .tar.gz (what `arcdiag collect` writes).
fn pack_blocks(dir: &Path, top: &str, out: &Path) {
    let f = std::fs::File::create(out).expect("create archive");
    let gz = arcdiag::bundle::gzblocks::BlockGzWriter::new(f, flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    b.append_dir_all(top, dir).expect("append");
    b.into_inner().expect("finish tar").finish().expect("finish gzip");
}

#[test]
fn sample_directory_reports_the_troubles() {
    let o = arcdiag(&["analyze", SAMPLE, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["schema"], "arcdiag-report/v1");
    assert_eq!(r["bundle"]["layout"], "arcdiag-v1");
    assert_eq!(r["bundle"]["partial"], false);
    let c = codes(&r);
    for want in ["K8S001", "K8S002", "K8S005", "K8S006"] {
        assert!(c.contains(&want.to_string()), "{want} missing from {c:?}");
    }
    // Every step of the sample's plan succeeded (a failed step is reported as a failed input with
    // its stderr: see `a_forbidden_step_is_a_failed_input_with_its_stderr`).
    let failed: Vec<_> = r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["state"] == "failed")
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn a_forbidden_step_is_a_failed_input_with_its_stderr() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = tmp.path().join("arcdiag-contoso-arc-01-20261125T170000Z");
    copy_dir(&root().join(SAMPLE), &b);
    let mp = b.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&mp).expect("manifest")).expect("json");
    let forbidden = "Error from server (Forbidden): configmaps is forbidden: User \"support-reader\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"flux-system\"";
    for s in m["steps"].as_array_mut().expect("steps") {
        if s["id"] == "kubectl/namespaces/flux-system/configmaps" {
            s["status"] = "failed".into();
            s["exit_code"] = 1.into();
            s["output"] = serde_json::Value::Null;
            s["bytes"] = 0.into();
            s["stderr"] = forbidden.into();
        }
    }
    std::fs::write(&mp, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
    std::fs::remove_file(b.join("kubectl/namespaces/flux-system/configmaps.json")).expect("rm");
    let r = json(&arcdiag(&["analyze", b.to_str().expect("utf-8"), "--format", "json"]));
    let failed: Vec<_> = r["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter(|i| i["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["id"], "kubectl/namespaces/flux-system/configmaps");
    assert!(
        failed[0]["reason"].as_str().expect("reason").contains("Forbidden"),
        "{}",
        failed[0]
    );
}

#[test]
fn archive_and_directory_give_the_same_findings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let top = "arcdiag-contoso-arc-01-20261125T170000Z";
    let tgz = tmp.path().join("bundle.tgz");
    pack(&root().join(SAMPLE), top, &tgz);
    // recognized by content, not by extension
    let odd = tmp.path().join("bundle.data");
    std::fs::copy(&tgz, &odd).expect("copy");
    // block gzip, as `arcdiag collect` writes it
    let blocks = tmp.path().join("blocks.tar.gz");
    pack_blocks(&root().join(SAMPLE), top, &blocks);
    let dir = json(&arcdiag(&["analyze", SAMPLE, "--format", "json"]));
    for p in [&tgz, &odd, &blocks] {
        let o = arcdiag(&["analyze", p.to_str().unwrap(), "--format", "json"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let a = json(&o);
        assert_eq!(a["findings"], dir["findings"]);
        assert_eq!(a["rules"], dir["rules"]);
        assert_eq!(a["inputs"], dir["inputs"]);
    }
    // a folder that holds exactly one top folder works too
    let parent = tmp.path().join("unpacked");
    copy_dir(&root().join(SAMPLE), &parent.join(top));
    let a = json(&arcdiag(&["analyze", parent.to_str().unwrap(), "--format", "json"]));
    assert_eq!(a["findings"], dir["findings"]);
}

#[test]
fn json_is_byte_identical_across_runs_and_thread_counts() {
    let a = arcdiag(&["analyze", SAMPLE, "--format", "json"]);
    let b = arcdiag(&["analyze", SAMPLE, "--format", "json"]);
    let one = arcdiag_env(&["analyze", SAMPLE, "--format", "json"], &[("RAYON_NUM_THREADS", "1")]);
    let many = arcdiag_env(&["analyze", SAMPLE, "--format", "json"], &[("RAYON_NUM_THREADS", "8")]);
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stdout, one.stdout);
    assert_eq!(a.stdout, many.stdout);
    // no absolute paths leak into the report
    let text = stdout(&a);
    assert!(!text.contains(root().to_str().unwrap()));
}

#[test]
fn filters_and_exit_codes() {
    let o = arcdiag(&["analyze", SAMPLE, "--format", "json", "--select", "K8S005"]);
    assert_eq!(o.status.code(), Some(0), "info never fails the run");
    let r = json(&o);
    assert_eq!(codes(&r), vec!["K8S005"]);
    assert_eq!(r["rules"].as_array().unwrap().len(), 1);

    let o = arcdiag(&["analyze", SAMPLE, "--format", "json", "--ignore", "K8S00"]);
    assert!(codes(&json(&o)).iter().all(|c| !c.starts_with("K8S00")));

    let o = arcdiag(&["analyze", SAMPLE, "--format", "json", "--min-severity", "error"]);
    let r = json(&o);
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "error"));

    let o = arcdiag(&["analyze", SAMPLE, "--fail-on", "never"]);
    assert_eq!(o.status.code(), Some(0));
    let o = arcdiag(&["analyze", SAMPLE, "--select", "K8S005", "--fail-on", "warning"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn text_and_markdown_reports() {
    let o = arcdiag(&["analyze", SAMPLE]);
    let t = stdout(&o);
    assert!(t.contains("ERROR ("), "{t}");
    assert!(t.contains("logs/payments/ledger-worker-"), "evidence as path:line: {t}");
    assert!(t.contains("$ kubectl describe node k8s-worker-03"), "{t}");
    assert!(!t.contains("\x1b["), "no colour when not a terminal");
    let colored = stdout(&arcdiag(&["analyze", SAMPLE, "--color", "always"]));
    assert!(colored.contains("\x1b[1;31m"));

    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("report.md");
    let o = arcdiag(&[
        "analyze",
        SAMPLE,
        "--format",
        "markdown",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let md = std::fs::read_to_string(&out).expect("report written");
    assert!(md.starts_with("# arcdiag report: `arcdiag-contoso-arc-01-20261125T170000Z`"));
    assert!(md.contains("| error | K8S006 | `Node/k8s-worker-03` |"), "{md}");
    assert!(md.contains("```sh\nkubectl describe node k8s-worker-03"), "{md}");
}

#[test]
fn several_bundles_give_a_json_array_in_argument_order() {
    let other = common::fixture::rule_case("K8S005/fires");
    let o = arcdiag(&[
        "analyze".as_ref(),
        other.as_os_str(),
        SAMPLE.as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let r = json(&o);
    let a = r.as_array().expect("array");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["bundle"]["source"], "fires");
    assert_eq!(a[1]["bundle"]["source"], "arcdiag-contoso-arc-01-20261125T170000Z");
}

#[test]
fn truncated_archive_is_partial_not_fatal() {
    let tmp = tempfile::tempdir().expect("tmp");
    let tgz = tmp.path().join("full.tar.gz");
    pack(&root().join(SAMPLE), "arcdiag-x-20261125T170000Z", &tgz);
    let bytes = std::fs::read(&tgz).expect("read");
    let cut = tmp.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let o = arcdiag(&["analyze", cut.to_str().unwrap(), "--format", "json"]);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["bundle"]["partial"], true);
    let err = r["bundle"]["errors"].to_string();
    assert!(err.contains("truncated or corrupt"), "{err}");
    assert!(stderr(&o).contains("partial"), "{}", stderr(&o));
}

#[test]
fn unreadable_inputs_exit_2_with_a_message() {
    let tmp = tempfile::tempdir().expect("tmp");
    let not = tmp.path().join("notes.txt");
    std::fs::write(&not, "hello, this is not a bundle\n").expect("write");
    let empty = tmp.path().join("empty.tar.gz");
    std::fs::write(&empty, b"").expect("write");
    let garbage = tmp.path().join("garbage.tar.gz");
    std::fs::write(&garbage, [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).expect("write");
    for (p, want) in [
        (not, "not a bundle"),
        (empty, "empty"),
        (garbage, "corrupt"),
        (tmp.path().join("missing.tar.gz"), "cannot open"),
    ] {
        let o = arcdiag(&["analyze", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", p.display());
        let e = stderr(&o);
        assert!(
            e.contains(p.file_name().unwrap().to_str().unwrap()),
            "names the file: {e}"
        );
        assert!(e.contains(want), "{want}: {e}");
    }
    let o = arcdiag(&[
        "analyze",
        root()
            .join("fixtures/thirdparty/replicatedhq-troubleshoot/missing-version.tar.gz")
            .to_str()
            .expect("utf-8 path"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no known bundle layout"), "{}", stderr(&o));
}

#[test]
fn bad_manifest_and_bad_member_are_named_and_the_rest_is_analyzed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = tmp.path().join("arcdiag-broken-20261125T170000Z");
    copy_dir(&root().join(SAMPLE), &b);
    std::fs::write(
        b.join("kubectl/namespaces/payments/pods.json"),
        "{\"kind\": \"List\", \"items\": [",
    )
    .expect("write");
    let o = arcdiag(&["analyze", b.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let r = json(&o);
    assert_eq!(r["bundle"]["partial"], true);
    let errs = r["bundle"]["errors"].to_string();
    assert!(
        errs.contains("kubectl/namespaces/payments/pods.json") && errs.contains("invalid JSON"),
        "{errs}"
    );
    let input = r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "kubectl/namespaces/payments/pods")
        .cloned();
    assert_eq!(input.as_ref().map(|i| i["state"].clone()), Some("failed".into()));
    // the rest still fires
    assert!(codes(&r).contains(&"K8S006".to_string()));

    // a manifest that is not JSON: the files are still read and the report says why
    std::fs::write(b.join("manifest.json"), "{ not json").expect("write");
    let o = arcdiag(&["analyze", b.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["bundle"]["layout"], "arcdiag-v1");
    assert_eq!(r["bundle"]["partial"], true);
    let errs = r["bundle"]["errors"].to_string();
    assert!(
        errs.contains("manifest.json") && errs.contains("invalid JSON"),
        "{errs}"
    );
    assert!(codes(&r).contains(&"K8S006".to_string()));
}

#[test]
fn failed_step_makes_rules_skip_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = tmp.path().join("arcdiag-rbac-20261125T170000Z");
    std::fs::create_dir_all(b.join("kubectl/cluster")).expect("mkdir");
    let manifest = serde_json::json!({
    "format": "arcdiag-bundle/v1", "collected_at": "2026-11-25T17:00:00Z", "complete": true,
    "cluster": {"name": "c1"},
    "steps": [
        {"id": "kubectl/cluster/nodes", "argv": ["kubectl","get","nodes","-o","json"], "output": null, "status": "failed",
         "exit_code": 1, "stderr": "Error from server (Forbidden): nodes is forbidden: User \"u\" cannot list resource \"nodes\""},
        {"id": "kubectl/namespaces/default/pods", "argv": ["kubectl","get","pods","-n","default","-o","json"],
         "output": "kubectl/namespaces/default/pods.json", "status": "ok", "exit_code": 0, "stderr": ""}
    ]});
    std::fs::write(b.join("manifest.json"), manifest.to_string()).expect("write");
    std::fs::create_dir_all(b.join("kubectl/namespaces/default")).expect("mkdir");
    std::fs::write(
        b.join("kubectl/namespaces/default/pods.json"),
        r#"{"kind":"List","items":[]}"#,
    )
    .expect("write");
    let o = arcdiag(&["analyze", b.to_str().unwrap(), "--format", "json", "--select", "K8S"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    let rule = |c: &str| {
        r["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == c)
            .cloned()
            .unwrap()
    };
    assert_eq!(rule("K8S006")["outcome"], "skipped");
    assert!(rule("K8S006")["reason"].as_str().unwrap().contains("Forbidden"));
    assert_eq!(rule("K8S001")["outcome"], "clean");
    // logs were not collected at all: K8S008 cannot vouch
    assert_eq!(rule("K8S008")["outcome"], "skipped");
}

#[test]
fn rules_files_add_signatures_and_bad_ones_are_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let good = tmp.path().join("mine.yaml");
    std::fs::write(
        &good,
        "version: 1\nsignatures:\n  - id: db-refused\n    code: CUS001\n    name: database-unreachable\n    severity: warning\n    title: 'database refused a connection from {pod}'\n    pattern: 'cannot connect to database.*connection refused'\n    in: [logs]\n    fix: ['check the ledger-db service']\n",
    )
    .expect("write");
    let o = arcdiag(&[
        "analyze",
        SAMPLE,
        "--format",
        "json",
        "--rules",
        good.to_str().unwrap(),
        "--select",
        "CUS",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "warning is below --fail-on error: {}",
        stderr(&o)
    );
    let r = json(&o);
    assert_eq!(codes(&r), vec!["CUS001"]);
    assert!(r["findings"][0]["evidence"][0]["path"]
        .as_str()
        .unwrap()
        .starts_with("logs/payments/ledger-worker-"));

    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "signatures:\n  - id: one\n    code: CUS002\n    name: x\n    severity: loud\n    title: t\n    pattern: 'x'\n",
    )
    .expect("write");
    let o = arcdiag(&["analyze", SAMPLE, "--rules", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("bad.yaml") && e.contains("id 'one'") && e.contains("severity 'loud'"),
        "{e}"
    );
}

#[test]
fn rules_catalog_and_explain() {
    let o = arcdiag(&["rules", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let list = json(&o);
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
    assert!(codes.contains(&"K8S001"));
    let text = stdout(&arcdiag(&["rules"]));
    assert!(text.contains("K8S001  error    container-crash-looping"), "{text}");

    let o = arcdiag(&["explain", "k8s007"]);
    assert_eq!(o.status.code(), Some(0));
    let doc = stdout(&o);
    assert!(doc.starts_with("K8S007 webhook-unreachable (error)"), "{doc}");
    assert!(doc.contains("Fix:"));

    let o = arcdiag(&["explain", "K8S01"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("unknown rule code 'K8S01'") && e.contains("did you mean") && e.contains("K8S001"),
        "{e}"
    );
}

#[test]
fn healthy_cluster_has_no_findings() {
    // The sample cluster with every trouble fixed (fixtures/sample/generate.py --healthy).
    let healthy = "fixtures/healthy/arc-cluster/arcdiag-contoso-arc-02-20261125T170000Z";
    let tmp = tempfile::tempdir().expect("tmp");
    let tgz = tmp.path().join("healthy.tar.gz");
    pack(&root().join(healthy), "arcdiag-contoso-arc-02-20261125T170000Z", &tgz);
    for p in [root().join(healthy), tgz] {
        let o = arcdiag(&[
            "analyze",
            p.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "warning",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let r = json(&o);
        assert_eq!(r["findings"], serde_json::json!([]), "{}", r["findings"]);
        assert_eq!(r["bundle"]["partial"], false);
        let outcomes: Vec<&str> = r["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["outcome"].as_str().unwrap())
            .collect();
        assert!(
            outcomes.iter().all(|o| *o == "clean" || *o == "not-applicable"),
            "{outcomes:?}"
        );
        assert_eq!(r["facts"]["flux_installed"], true);
        assert_eq!(r["facts"]["osm_installed"], true);
        assert_eq!(r["facts"]["container_insights_installed"], true);
    }
}

#[test]
fn several_bundles_keep_their_place_when_one_is_unreadable() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bad = tmp.path().join("bad.tar.gz");
    std::fs::write(&bad, b"not a bundle at all").expect("write");
    let other = common::fixture::rule_case("K8S005/fires");
    let o = arcdiag(&[
        "analyze",
        bad.to_str().unwrap(),
        other.to_str().expect("UTF-8 path"),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2), "an unreadable input is exit 2");
    let r = json(&o);
    let a = r.as_array().expect("an array in argument order");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["bundle"]["source"], "bad.tar.gz");
    assert_eq!(a[0]["bundle"]["unreadable"], true);
    assert!(a[0]["bundle"]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not a bundle"));
    assert_eq!(a[1]["bundle"]["source"], "fires");
    // a single unreadable bundle in JSON still says why on stdout
    let o = arcdiag(&["analyze", bad.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["bundle"]["unreadable"], true);
}

#[test]
fn a_misspelled_code_is_refused_and_spaces_around_commas_are_trimmed() {
    let o = arcdiag(&["analyze", SAMPLE, "--select", "FLX001,K8S00l"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("'K8S00l' matches no rule code") && e.contains("did you mean"),
        "{e}"
    );
    assert!(
        o.stdout.is_empty(),
        "no report for a run that would not run what was asked"
    );
    let o = arcdiag(&["analyze", SAMPLE, "--ignore", "OSM99"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = arcdiag(&["analyze", SAMPLE, "--select", "FLX001, K8S001 ,", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = json(&o);
    let mut ran: Vec<&str> = r["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|x| x["code"].as_str())
        .collect();
    ran.dedup();
    assert_eq!(ran, ["FLX001", "K8S001"]);
}

#[test]
fn rules_as_markdown_is_a_table() {
    let o = arcdiag(&["rules", "--format", "markdown"]);
    assert!(o.status.success());
    let t = String::from_utf8_lossy(&o.stdout);
    let mut lines = t.lines();
    assert_eq!(lines.next(), Some("| code | severity | name | summary |"));
    assert_eq!(lines.next(), Some("| --- | --- | --- | --- |"));
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.len() >= 41 && rows.iter().all(|r| r.starts_with("| `") && r.ends_with(" |")),
        "{t}"
    );
}

#[test]
fn collect_since_is_checked_when_parsed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = Command::new(env!("CARGO_BIN_EXE_arcdiag"))
        .args(["collect", "--since", "2x", "--output"])
        .arg(tmp.path())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("'2x' is not a duration"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(tmp.path()).expect("dir").count(), 0);
}

#[test]
fn output_never_overwrites_an_input_bundle() {
    let tmp = tempfile::tempdir().expect("tmp");
    let tgz = tmp.path().join("bundle.tgz");
    pack(&root().join(SAMPLE), "arcdiag-contoso-arc-01-20261125T170000Z", &tgz);
    let before = std::fs::read(&tgz).expect("read");
    let t = tgz.to_str().expect("utf-8");
    for out in [t.to_string(), format!("{}/./bundle.tgz", tmp.path().display())] {
        let o = arcdiag(&["analyze", t, "-o", &out]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("is one of the bundles being analyzed"),
            "{}",
            stderr(&o)
        );
    }
    // Nor a file inside a directory bundle.
    let dir = tmp.path().join("b");
    copy_dir(&root().join(SAMPLE), &dir);
    let inside = dir.join("manifest.json");
    let o = arcdiag(&[
        "analyze",
        dir.to_str().expect("utf-8"),
        "-o",
        inside.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&tgz).expect("read"), before);
    let report = tmp.path().join("report.txt");
    let o = arcdiag(&["analyze", t, "-o", report.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(report.exists());
}

#[test]
fn the_root_entry_tar_writes_with_dash_c_is_not_a_problem() {
    let tmp = tempfile::tempdir().expect("tmp");
    let tgz = tmp.path().join("b.tgz");
    let st = Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .arg("-C")
        .arg(root().join(SAMPLE))
        .arg(".")
        .status()
        .expect("run tar");
    assert!(st.success());
    let o = arcdiag(&["analyze", tgz.to_str().expect("utf-8"), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["bundle"]["partial"], false, "{}", r["bundle"]["errors"]);
    assert_eq!(r["bundle"]["layout"], "arcdiag-v1");
}

/// The sample's reports as a user reads them (text without colour, and Markdown for a ticket).
#[test]
fn sample_reports_as_text_and_markdown() {
    for (format, name) in [("text", "sample_report_text"), ("markdown", "sample_report_markdown")] {
        let o = arcdiag(&["analyze", SAMPLE, "--format", format, "--color", "never"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        insta::with_settings!({prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, stdout(&o));
        });
    }
}

#[test]
fn filtered_findings_do_not_count_for_fail_on() {
    // EXT002/fires holds one warning finding.
    let case = common::fixture::rule_case("EXT002/fires");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "analyze",
            case.to_str().expect("UTF-8 path"),
            "--format",
            "json",
            "--fail-on",
            "warning",
        ];
        args.extend(extra);
        arcdiag(&args).status.code()
    };
    assert_eq!(run(&["--select", "EXT002"]), Some(1), "the warning counts");
    assert_eq!(
        run(&["--select", "EXT002", "--min-severity", "error"]),
        Some(0),
        "left out by --min-severity"
    );
    assert_eq!(
        run(&["--select", "EXT", "--ignore", "EXT002"]),
        Some(0),
        "left out by --ignore"
    );
}

#[test]
fn rules_files_cannot_restyle_built_in_rules_and_are_read_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let restyle = tmp.path().join("restyle.yaml");
    std::fs::write(
        &restyle,
        "version: 1\nsignatures:\n  - id: quieter\n    code: FLX001\n    severity: info\n    pattern: 'does not support dry run'\n",
    )
    .expect("write");
    let o = arcdiag(&["analyze", SAMPLE, "--rules", restyle.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("restyle.yaml") && err.contains("'quieter'") && err.contains("FLX001") && err.contains("severity"),
        "{err}"
    );

    let custom = tmp.path().join("custom.yaml");
    std::fs::write(
        &custom,
        "version: 1\nsignatures:\n  - id: db-refused\n    code: CUS001\n    name: database-unreachable\n    severity: warning\n    title: 'database refused a connection'\n    pattern: 'cannot connect to database.*connection refused'\n    in: [logs, events]\n    logs: {namespaces: [payments], pods: ['ledger-*']}\n    fix: ['check the ledger-db service']\n",
    )
    .expect("write");
    let again = tmp.path().join(".").join("custom.yaml");
    let c = custom.to_str().unwrap();
    let o = arcdiag(&[
        "analyze",
        SAMPLE,
        "--format",
        "json",
        "--rules",
        c,
        "--rules",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "read once, not a duplicate id: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = arcdiag(&["explain", "CUS001", "--rules", c]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    for want in [
        "CUS001 database-unreachable (warning)",
        "db-refused (",
        "custom.yaml)",
        "pattern:  cannot connect to database.*connection refused",
        "in:       logs, events",
        "logs:     namespaces payments; pods ledger-*",
        "fix:      check the ledger-db service",
    ] {
        assert!(text.contains(want), "explain lacks {want:?}:\n{text}");
    }
}

/// The sample's incidents: the missing nat table explains the AMA pods' crash loops, the unready
/// extension pods and the failed extension; the webhook stands over the failing Kustomization; the
/// application's crash loop stands alone; every finding is in exactly one incident.
#[test]
fn sample_incidents_group_what_explains_what() {
    let r = json(&arcdiag(&["analyze", SAMPLE, "--format", "json"]));
    let incidents = r["incidents"].as_array().expect("incidents");
    let findings = r["findings"].as_array().expect("findings");
    let mut seen = vec![0usize; findings.len()];
    for inc in incidents {
        for m in std::iter::once(&inc["root"]).chain(inc["members"].as_array().expect("members")) {
            let i = m["finding"].as_u64().expect("finding index") as usize;
            seen[i] += 1;
            assert_eq!(m["code"], findings[i]["code"]);
            let s = &findings[i]["subject"];
            let subject = match s["namespace"].as_str() {
                Some(ns) => format!("{}/{ns}/{}", s["kind"].as_str().unwrap(), s["name"].as_str().unwrap()),
                None => format!("{}/{}", s["kind"].as_str().unwrap(), s["name"].as_str().unwrap()),
            };
            assert_eq!(m["subject"], subject.as_str());
        }
        assert!(!inc["summary"].as_str().unwrap_or("").is_empty());
    }
    assert!(
        seen.iter().all(|n| *n == 1),
        "every finding in exactly one incident: {seen:?}"
    );
    let members = |inc: &serde_json::Value| -> Vec<String> {
        inc["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{} {}", m["code"].as_str().unwrap(), m["subject"].as_str().unwrap()))
            .collect()
    };
    let ama = &incidents[0];
    assert_eq!(ama["root"]["code"], "AMA002");
    assert_eq!(
        members(ama),
        [
            "K8S001 Pod/kube-system/ama-logs-51898",
            "K8S001 Pod/kube-system/ama-logs-rs-42b179b1c-bxce1",
            "EXT002 Extension/azuremonitor-containers",
            "EXT001 Extension/azuremonitor-containers",
        ]
    );
    let flx = &incidents[1];
    assert_eq!(flx["root"]["code"], "FLX001");
    assert!(members(flx).is_empty());
    assert!(flx["affected"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "Kustomization/cluster-config/cluster-config-payments"));
    let app = &incidents[2];
    assert_eq!(app["root"]["subject"], "Pod/payments/ledger-worker-feffd96ba-1d4e1");
    assert!(members(app).is_empty());

    // Text: incidents first, and the log lines AMA002 quoted are referred to under K8S001.
    let t = stdout(&arcdiag(&["analyze", SAMPLE]));
    let inc_at = t.find("INCIDENTS (").expect("incidents section");
    assert!(inc_at < t.find("ERROR (").expect("errors"), "{t}");
    assert!(
        t.contains("logs/kube-system/ama-logs-51898/addon-token-adapter.previous.log:4 (quoted above, under AMA002 DaemonSet/kube-system/ama-logs)"),
        "{t}"
    );
    let md = stdout(&arcdiag(&["analyze", SAMPLE, "--format", "markdown"]));
    assert!(md.find("## Incidents").expect("incidents") < md.find("## Findings").expect("findings"));
}
