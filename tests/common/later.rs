//! The sample "collected a week later" (2026-12-02), for `diff` and the fleet queries: a copy of
//! the sample with the changes a week of operations brings, made in a temporary folder.

use super::{root, SAMPLE};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The sample a week later: the ledger-worker Deployment rolled out (new ReplicaSet, new pod
/// name, still crash-looping, with more restarts), node k8s-worker-03 replaced by k8s-worker-09
/// (still NotReady), the evicted osm-controller pod gone, bookstore's events refused (a failed
/// step in the manifest).
pub fn week_later(dir: &Path) -> PathBuf {
    let from = root().join(SAMPLE);
    let to = dir.join("arcdiag-contoso-arc-01-20261202T170000Z");
    let renames = [
        ("ledger-worker-feffd96ba-1d4e1", "ledger-worker-5c7d9f8b4-q9w2x"),
        ("ledger-worker-feffd96ba", "ledger-worker-5c7d9f8b4"),
        ("k8s-worker-03", "k8s-worker-09"),
        ("2026-11-25T17:00:00Z", "2026-12-02T17:00:00Z"),
    ];
    let rename = |s: &str| renames.iter().fold(s.to_string(), |s, (a, b)| s.replace(a, b));
    for (rel, bytes) in super::files_under(&from) {
        if rel == "kubectl/namespaces/bookstore/events.json" {
            continue;
        }
        let mut text = rename(&String::from_utf8(bytes).expect("utf-8 fixture"));
        if rel == "manifest.json" {
            let mut v: Value = serde_json::from_str(&text).expect("manifest.json");
            for st in v["steps"].as_array_mut().expect("steps") {
                if st["id"] == "kubectl/namespaces/bookstore/events" {
                    st["status"] = "failed".into();
                    st["exit_code"] = 1.into();
                    st["output"] = Value::Null;
                    st["sha256"] = Value::Null;
                    st["stderr"] = "Error from server (Forbidden): events is forbidden".into();
                }
            }
            text = serde_json::to_string_pretty(&v).expect("json");
        }
        if rel == "kubectl/namespaces/arc-osm-system/pods.json" {
            let mut v: Value = serde_json::from_str(&text).expect("pods.json");
            let items = v["items"].as_array_mut().expect("items");
            let n = items.len();
            items.retain(|p| p["metadata"]["name"] != "osm-controller-94cbb42c8-b7fx5");
            assert_eq!(items.len(), n - 1, "the evicted pod is in the sample");
            text = serde_json::to_string_pretty(&v).expect("json");
        }
        if rel == "kubectl/namespaces/payments/pods.json" {
            let mut v: Value = serde_json::from_str(&text).expect("pods.json");
            for p in v["items"].as_array_mut().expect("items") {
                if p["metadata"]["name"] == "ledger-worker-5c7d9f8b4-q9w2x" {
                    p["status"]["containerStatuses"][0]["restartCount"] = 41.into();
                }
            }
            text = serde_json::to_string_pretty(&v).expect("json");
        }
        let dest = to.join(rename(&rel));
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::write(&dest, text).expect("write");
    }
    to
}
