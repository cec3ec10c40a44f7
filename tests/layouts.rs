//! Other tools' bundles: every troubleshoot.sh bundle vendored in `fixtures/thirdparty/` is analyzed by the
//! real binary and a compact view of its report is snapshotted (layout, read problems, inputs by
//! state, findings with their evidence paths, rules that could not vouch). Real-world drift is
//! asserted explicitly: `items: null`, YAML-and-JSON custom resources read once, `***HIDDEN***`
//! values, symlinks and long names, `*-errors.json` files read as failed inputs.

use std::path::{Path, PathBuf};

/// A vendored third-party bundle; a missing one fails the test (never a silent skip).
fn thirdparty(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/thirdparty")
        .join(rel);
    assert!(p.is_file(), "vendored fixture missing: {}", p.display());
    p
}

mod common;

fn analyze(path: &Path) -> (Option<i32>, serde_json::Value, String) {
    common::analyze_json(path, &[])
}

fn compact(code: Option<i32>, r: &serde_json::Value) -> serde_json::Value {
    let inputs = r["inputs"].as_array().cloned().unwrap_or_default();
    let mut by_state = std::collections::BTreeMap::new();
    for i in &inputs {
        *by_state
            .entry(i["state"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    let failed: Vec<_> = inputs
        .iter()
        .filter(|i| i["state"] == "failed")
        .map(|i| serde_json::json!({"id": i["id"], "reason": i["reason"]}))
        .collect();
    let findings: Vec<_> = r["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            serde_json::json!({
                "code": f["code"], "subject": f["subject"], "title": f["title"],
                "evidence": f["evidence"].as_array().map(|e| e.iter().map(|x| {
                    match x["line"].as_u64() { Some(l) => format!("{}:{l}", x["path"].as_str().unwrap_or("")), None => x["path"].as_str().unwrap_or("").to_string() }
                }).collect::<Vec<_>>()),
            })
        })
        .collect();
    let not_clean: Vec<_> = r["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|x| x["outcome"] == "skipped" || x["outcome"] == "failed")
        .map(|x| serde_json::json!({"code": x["code"], "outcome": x["outcome"], "reason": x["reason"]}))
        .collect();
    serde_json::json!({
        "exit": code,
        "layout": r["bundle"]["layout"],
        "kubernetes_version": r["bundle"]["cluster"]["kubernetes_version"],
        "partial": r["bundle"]["partial"],
        "errors": r["bundle"]["errors"],
        "facts": r["facts"],
        "inputs_by_state": by_state,
        "failed_inputs": failed,
        "findings": findings,
        "rules_not_clean": not_clean,
    })
}

#[test]
fn thirdparty_bundles() {
    for (name, rel) in [
        (
            "troubleshoot-support-bundle",
            "replicatedhq-troubleshoot/support-bundle.tar.gz",
        ),
        ("troubleshoot-baseline", "replicatedhq-troubleshoot/baseline.tar.gz"),
        (
            "mcp-server-support-bundle",
            "chris-sanders-troubleshoot-mcp-server/support-bundle-2025-04-11T14_05_31.tar.gz",
        ),
        ("sbctl-support-bundle", "replicatedhq-sbctl/sbctl-support-bundle.tar.gz"),
    ] {
        let (code, r, stderr) = analyze(&thirdparty(rel));
        assert_eq!(r["bundle"]["layout"], "troubleshoot-sh", "{name}: {stderr}");
        insta::with_settings!({snapshot_path => "snapshots/layouts", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_json_snapshot!(name, compact(code, &r));
        });
    }
}

#[test]
fn sbctl_bundle_crash_loop_is_found_with_its_previous_log() {
    let p = thirdparty("replicatedhq-sbctl/sbctl-support-bundle.tar.gz");
    let (code, r, _) = analyze(&p);
    assert_eq!(code, Some(1));
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "K8S001")
        .expect("K8S001");
    assert_eq!(f["subject"]["name"], "velero-6996dd565b-xl44t");
    let paths: Vec<&str> = f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(
        paths.contains(&"cluster-resources/pods/logs/velero/velero-6996dd565b-xl44t/velero-previous.log"),
        "{paths:?}"
    );
    assert!(
        f["evidence"]
            .to_string()
            .contains("unknown command \\\"server-junk\\\""),
        "{}",
        f["evidence"]
    );
    // `***HIDDEN***` values in Longhorn YAML do not break reading
    assert_eq!(r["bundle"]["partial"], false, "{}", r["bundle"]["errors"]);
}

#[test]
fn custom_resources_in_yaml_and_json_are_read_once() {
    let p = thirdparty("replicatedhq-troubleshoot/baseline.tar.gz");
    let (_, r, _) = analyze(&p);
    let ids: Vec<&str> = r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["path"].as_str())
        .filter(|p| p.contains("custom-resources"))
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|p| p.ends_with(".json")), "{ids:?}");
    // `items: null` lists are present with zero items, not failures
    assert!(r["inputs"].as_array().unwrap().iter().all(|i| i["state"] != "failed"));
}

#[test]
fn errors_files_are_failed_inputs_and_cluster_scoped_custom_resources_are_read() {
    let p = thirdparty("chris-sanders-troubleshoot-mcp-server/support-bundle-2025-04-11T14_05_31.tar.gz");
    let (_, r, _) = analyze(&p);
    let inputs = r["inputs"].as_array().unwrap();
    let pdb = inputs
        .iter()
        .find(|i| i["id"] == "kubectl/namespaces/default/poddisruptionbudgets")
        .expect("pdb input");
    assert_eq!(pdb["state"], "failed");
    assert!(pdb["reason"]
        .as_str()
        .unwrap()
        .contains("pod-disruption-budgets-errors.json"));
    assert!(inputs
        .iter()
        .any(|i| i["id"] == "kubectl/cluster/clusterissuers.cert-manager.io" && i["state"] == "present"));
    // member names longer than 100 characters (ustar prefix field) are read
    let top = "support-bundle-2025-04-11T14_05_31/";
    assert!(inputs
        .iter()
        .any(|i| i["path"].as_str().map(|p| top.len() + p.len() > 100).unwrap_or(false)));
}

#[test]
fn troubleshoot_layout_in_a_plain_directory_with_symlinks() {
    let p = thirdparty("replicatedhq-troubleshoot/support-bundle.tar.gz");
    let tmp = tempfile::tempdir().expect("tmp");
    let f = std::fs::File::open(&p).expect("open");
    tar::Archive::new(flate2::read::MultiGzDecoder::new(f))
        .unpack(tmp.path())
        .expect("unpack");
    let (code_dir, dir, _) = analyze(tmp.path());
    let (code_tgz, tgz, _) = analyze(&p);
    assert_eq!(code_dir, code_tgz);
    assert_eq!(dir["findings"], tgz["findings"]);
    assert_eq!(dir["inputs"], tgz["inputs"]);
}

#[test]
fn pods_typed_while_reading_and_pods_typed_later_are_one_list_in_source_order() {
    // `analyze` types pods while reading by the file's name; a troubleshoot.sh file of the pods
    // of a namespace called `events` (`cluster-resources/pods/events.json`) names two kinds, so
    // it is read as a `Value` and typed afterwards. Both must be analyzed, each with its path.
    let list: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("fixtures/rules/K8S001/fires/kubectl/namespaces/flux-system/pods.json")
            .expect("fixture"),
    )
    .expect("json");
    let renamed = |ns: &str| {
        let mut l = list.clone();
        for p in l["items"].as_array_mut().expect("items") {
            p["metadata"]["namespace"] = ns.into();
        }
        serde_json::to_vec_pretty(&l).expect("json")
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("cluster-resources/pods")).expect("mkdir");
    std::fs::write(
        root.join("version.yaml"),
        "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: 0.100.0\n",
    )
    .expect("write");
    std::fs::write(root.join("cluster-resources/pods/events.json"), renamed("events")).expect("write");
    std::fs::write(root.join("cluster-resources/pods/apps.json"), renamed("apps")).expect("write");
    let (_, r, stderr) = analyze(root);
    let crash: Vec<(String, String)> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "K8S001")
        .map(|f| {
            (
                f["subject"]["namespace"].as_str().unwrap_or("").to_string(),
                f["evidence"][0]["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        crash,
        vec![
            ("apps".to_string(), "cluster-resources/pods/apps.json".to_string()),
            ("events".to_string(), "cluster-resources/pods/events.json".to_string()),
        ],
        "{stderr}"
    );
}
