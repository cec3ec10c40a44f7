//! A healthy Open Service Mesh cluster, reproducing every healthy output of the guide's OSM
//! section (deployments, pods with one evicted-but-replaced controller, services and ports,
//! endpoints, both webhook configurations with their service blocks and a real CA certificate,
//! the default MeshConfig, the SMI CRDs, a meshed namespace with sidecars), analyzed by the real
//! binary: no OSM rule may fire, and every one must be able to vouch for it (clean, not skipped).

mod common;

fn analyze(select: &str) -> (i32, serde_json::Value) {
    let dir = common::root().join("fixtures/healthy/osm");
    let (code, report, _) = common::analyze_json(&dir, &["--select", select]);
    (code.unwrap_or(-1), report)
}

#[test]
fn no_osm_rule_fires_on_a_healthy_mesh() {
    let (code, report) = analyze("OSM");
    let findings = report["findings"].as_array().expect("findings");
    assert!(findings.is_empty(), "findings on a healthy mesh: {findings:#?}");
    assert_eq!(code, 0, "exit code on a healthy mesh");
    let rules = report["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 18, "OSM001-OSM018 all ran: {rules:#?}");
    for r in rules {
        assert_eq!(
            r["outcome"], "clean",
            "{} did not vouch for the healthy mesh: {r}",
            r["code"]
        );
    }
    assert_eq!(report["bundle"]["errors"].as_array().map(Vec::len), Some(0));
}

#[test]
fn the_healthy_mesh_keeps_the_guides_evicted_controller() {
    // The guide's healthy `kubectl get pods` shows an Evicted controller beside a Running one;
    // the fixture must keep that pod, or the test above proves less than it claims.
    let pods = std::fs::read_to_string(
        common::root().join("fixtures/healthy/osm/kubectl/namespaces/arc-osm-system/pods.json"),
    )
    .expect("pods.json");
    let v: serde_json::Value = serde_json::from_str(&pods).expect("pods.json parses");
    let evicted = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["labels"]["app"] == "osm-controller" && p["status"]["reason"] == "Evicted")
        .count();
    assert_eq!(evicted, 1);
}

#[test]
fn ama_rules_do_not_apply_to_a_cluster_without_container_insights() {
    let (_, report) = analyze("AMA");
    for r in report["rules"].as_array().expect("rules") {
        assert_eq!(r["outcome"], "not-applicable", "{r}");
    }
}
