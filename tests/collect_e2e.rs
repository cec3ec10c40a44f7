//! End to end with the real `kubectl`: `arcdiag serve` answers the Kubernetes API from a fixture
//! bundle, `arcdiag collect` gathers a new bundle from it through serve's kubeconfig, and both
//! bundles must analyze to the same findings (code and subject).
//!
//! Serve is driven by `common::serve` (shared with tests/trust.rs).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

mod common;

use common::serve::{self, kubectl};

const BIN: &str = env!("CARGO_BIN_EXE_arcdiag");

fn findings(bundle: &Path) -> Vec<(String, String)> {
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .arg(bundle)
        .output()
        .expect("run analyze");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    v["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| (f["code"].as_str().unwrap_or("").to_string(), f["subject"].to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn namespaces_of(dir: &Path) -> String {
    let mut v = Vec::new();
    for sub in ["kubectl/namespaces", "logs"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            v.extend(rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()));
        }
    }
    v.sort();
    v.dedup();
    v.join(",")
}

/// Rules that read `az` output: serve is a Kubernetes API only, so a bundle collected through it
/// has no Azure side and these are left out of the comparison.
const AZ_ONLY: &[&str] = &["EXT001", "EXT002", "FLX002", "FLX004", "FLX006", "FLX009"];

fn kube_findings(bundle: &Path) -> Vec<(String, String)> {
    findings(bundle)
        .into_iter()
        .filter(|(c, _)| !AZ_ONLY.contains(&c.as_str()))
        .collect()
}

/// Serve `fixture`, collect from it (with `--namespace` for the fixture's own namespaces when
/// `name_namespaces`, else with the collector's default scope), and compare the findings.
fn round_trip(fixture: &Path) {
    round_trip_scoped(fixture, true)
}

fn round_trip_scoped(fixture: &Path, name_namespaces: bool) {
    let kubectl = kubectl().expect("kubectl is installed (.ci/run installs it)");
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = tmp.path().join("kubeconfig");
    let (guard, path) = serve::start(fixture, &kubeconfig);
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let mut cmd = Command::new(BIN);
    cmd.args(["collect", "--plain", "--step-timeout", "20", "--output"])
        .arg(&out_dir)
        .arg("--kubectl")
        .arg(&kubectl)
        .env("KUBECONFIG", &path);
    let ns = namespaces_of(fixture);
    if name_namespaces && !ns.is_empty() {
        cmd.args(["--namespace", &ns]);
    }
    let out = cmd.output().expect("run collect");
    drop(guard);
    assert!(
        out.status.success(),
        "{}: collect failed: {}",
        fixture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = common::written_bundle(&out_dir);
    assert_eq!(
        kube_findings(fixture),
        kube_findings(&bundle),
        "{}: findings differ after serve → collect",
        fixture.display()
    );
}

#[test]
fn serve_collect_analyze_gives_the_same_findings() {
    // The sample bundle is a whole cluster: every collected list is in it, so serve answers
    // exactly what the cluster would have. Rule fixtures hold only what their rule reads (a
    // missing list is absent there but an empty list through serve), so they are compared
    // when their namespaced lists are complete; the fake-kubectl round trip covers the rest.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sample = root.join("fixtures/sample/arcdiag-contoso-arc-01-20261125T170000Z");
    let before = kube_findings(&sample);
    assert!(before.len() >= 8, "the sample should show its troubles: {before:?}");
    // Without --namespace: the default scope lists pods and events everywhere and collects the
    // namespaces of failing pods whole, so the application pods' findings survive.
    round_trip_scoped(&sample, false);
    // Gatekeeper constraints survive the round trip: the collector lists each kind of the
    // constraint templates (and `constraints`), which serve answers with the CRD's plurals.
    round_trip_scoped(&common::fixture::rule_case("FLX008/fires"), false);
    let mut n = 0;
    for code in ["K8S001", "K8S002", "K8S003", "K8S005", "K8S006"] {
        for kind in ["fires", "quiet"] {
            round_trip(&common::fixture::rule_case(&format!("{code}/{kind}")));
            n += 1;
        }
    }
    assert_eq!(n, 10);
}
