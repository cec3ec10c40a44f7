//! The issue-16 check, end to end: a bundle with the planted corpus (tests/common/planted.rs)
//! in arcdiag's own layout is served by `arcdiag serve`, collected from with the real `kubectl`
//! by `arcdiag collect` (the Azure side from a fake `az` answering with the planted `az`
//! output), and the bundle collect wrote is searched: every planted value (and its last 16
//! and last 8 characters) absent from every member, raw and with every JSON string decoded; every ordinary
//! value present; every `.json` member valid JSON. All failures are reported together.

use std::path::Path;
use std::process::Command;

mod common;

use common::planted::{self, find_needle, texts_of, Place, LOGGER};
use common::serve::{self, kubectl};

const BIN: &str = env!("CARGO_BIN_EXE_arcdiag");

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// The planted bundle: the corpus' members, a manifest, the version and the namespaces.
fn planted_bundle(dir: &Path) {
    for (rel, bytes) in planted::bundle_files(&planted::corpus(), &planted::ordinary()) {
        write(&dir.join(rel), &bytes);
    }
    let manifest = serde_json::json!({
        "format": "arcdiag-bundle/v1",
        "tool": {"name": "arcdiag", "version": "0.1.0"},
        "collected_at": "2026-11-25T17:00:00Z",
        "complete": true,
        "cluster": {"name": "contoso-arc-01", "resource_group": "contoso-platform-rg", "type": "connectedClusters", "kube_context": "contoso-arc-01-admin"},
        "limits": {"log_tail_lines": 10000, "log_max_bytes": 10485760, "since": "24h", "step_timeout_s": 60},
        "redaction": {"enabled": false, "replacements": {}},
        "steps": []
    });
    write(
        &dir.join("manifest.json"),
        &serde_json::to_vec_pretty(&manifest).expect("JSON"),
    );
    let version = std::fs::read(common::root().join(common::SAMPLE).join("kubectl/version.json")).expect("version");
    write(&dir.join("kubectl/version.json"), &version);
    let ns: Vec<serde_json::Value> = ["azure-arc", "flux-system", "kube-system", "payments"]
        .iter()
        .map(|n| serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "uid": planted::UID}, "status": {"phase": "Active"}}))
        .collect();
    let list =
        serde_json::json!({"apiVersion": "v1", "items": ns, "kind": "List", "metadata": {"resourceVersion": ""}});
    write(
        &dir.join("kubectl/cluster/namespaces.json"),
        &serde_json::to_vec_pretty(&list).expect("JSON"),
    );
}

#[test]
fn planted_secrets_do_not_survive_serve_then_collect() {
    let kubectl = kubectl().expect("kubectl is installed (.ci/run installs it)");
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("arcdiag-contoso-arc-01-20261125T170000Z");
    planted_bundle(&src);
    let az = serve::fake_az(&tmp.path().join("bin"), &src);
    let (guard, kubeconfig) = serve::start(&src, &tmp.path().join("kubeconfig"));
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let out = Command::new(BIN)
        .args(["collect", "--plain", "--step-timeout", "20", "--jobs", "4", "--output"])
        .arg(&out_dir)
        .arg("--kubectl")
        .arg(&kubectl)
        .arg("--az")
        .arg(&az)
        .args([
            "-g",
            "contoso-platform-rg",
            "-c",
            "contoso-arc-01",
            "-t",
            "connectedClusters",
        ])
        .args(["--namespace", "payments"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("run collect");
    drop(guard);
    assert!(
        out.status.success(),
        "collect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = common::written_bundle(&out_dir);
    let members = common::bundle_members(&bundle);
    // Member paths without the bundle's root folder.
    let members: Vec<(String, Vec<u8>)> = members
        .into_iter()
        .map(|(p, b)| (p.split_once('/').map_or(p.clone(), |(_, r)| r.to_string()), b))
        .collect();
    let texts: Vec<(String, Vec<String>)> = members.iter().map(|(p, b)| (p.clone(), texts_of(p, b))).collect();
    let all: Vec<String> = texts.iter().flat_map(|(_, t)| t.iter().cloned()).collect();

    let mut fails = Vec::new();
    // The plants reached the bundle: each item's object, log and az answer was collected.
    let planted = planted::corpus();
    let ordinary = planted::ordinary();
    for want in [
        "kubectl/namespaces/payments/configmaps.json".to_string(),
        "kubectl/namespaces/payments/pods.json".to_string(),
        format!("logs/payments/{LOGGER}/app.log"),
        "az/k8s-extension-list.json".to_string(),
    ] {
        if !members.iter().any(|(p, _)| *p == want) {
            fails.push(format!("MISSING member {want}: the plants did not reach the bundle"));
        }
    }
    for p in &planted {
        let name = format!("s-{}", planted::short(&p.id));
        let reached = p.place.is_log() || p.place == Place::AzJson || all.iter().any(|t| t.contains(&name));
        if !reached {
            fails.push(format!("MISSING {}: its object {name} was not collected", p.id));
        }
    }
    let shows = members
        .iter()
        .filter(|(p, _)| p.starts_with("az/k8s-extension-show-"))
        .count();
    let az_items = planted.iter().filter(|p| p.place == Place::AzJson).count()
        + ordinary.iter().filter(|o| o.place == Place::AzJson).count();
    if shows != az_items {
        fails.push(format!(
            "MISSING az answers: {shows} extension shows collected, {az_items} planted"
        ));
    }
    for (path, bytes) in &members {
        if path.ends_with(".json") {
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(bytes) {
                fails.push(format!("INVALID {path}: not JSON: {e}"));
            }
        }
    }
    for p in &planted {
        for (path, t) in &texts {
            if let Some(ex) = p.needles.iter().find_map(|n| find_needle(t, n)) {
                fails.push(format!("LEAK {} [{:?}/{}] {path}: {ex}", p.id, p.place, p.kind));
            }
        }
    }
    for o in &ordinary {
        if !all.iter().any(|t| t.contains(o.value.as_str())) {
            fails.push(format!(
                "MANGLED {} [{:?}]: {:?} is nowhere in the bundle",
                o.id, o.place, o.value
            ));
        }
    }
    assert!(
        fails.is_empty(),
        "{} failures in {}:\n{}",
        fails.len(),
        bundle.display(),
        fails.join("\n")
    );
}
