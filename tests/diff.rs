//! `arcdiag diff BEFORE AFTER`, run as a user runs it: against the sample itself, against rule
//! fixture cases (compared with the set differences of the two bundles' own reports), and
//! against a copy of the sample "collected a week later" after a rollout renamed a failing pod,
//! a node was replaced, an evicted pod was cleaned up and an input went missing.

mod common;

use common::later::week_later;
use common::{analyze_json, arcdiag, fixture, root, SAMPLE};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn diff_json(before: &Path, after: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args: Vec<std::ffi::OsString> = vec!["diff".into(), "--format".into(), "json".into()];
    args.extend(extra.iter().map(std::ffi::OsString::from));
    args.push(before.into());
    args.push(after.into());
    let o = arcdiag(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "diff is not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&o.stdout)
        )
    });
    (o.status.code(), v, stderr)
}

fn key(f: &Value) -> String {
    let s = &f["subject"];
    let subject = match s["namespace"].as_str() {
        Some(ns) => format!(
            "{}/{ns}/{}",
            s["kind"].as_str().unwrap_or(""),
            s["name"].as_str().unwrap_or("")
        ),
        None => format!(
            "{}/{}",
            s["kind"].as_str().unwrap_or(""),
            s["name"].as_str().unwrap_or("")
        ),
    };
    format!("{} {subject}", f["code"].as_str().unwrap_or(""))
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_array().expect("array").iter().map(key).collect();
    k.sort();
    k
}

fn minus(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

#[test]
fn a_bundle_against_itself_persists_everything_and_changes_nothing() {
    let s = root().join(SAMPLE);
    let (code, d, stderr) = diff_json(&s, &s, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, report, _) = analyze_json(&s, &[]);
    assert_eq!(d["schema"], "arcdiag-diff/v1");
    assert_eq!(d["resolved"], serde_json::json!([]));
    assert_eq!(d["new"], serde_json::json!([]));
    let p = d["persisting"].as_array().expect("persisting");
    assert_eq!(p.len(), report["findings"].as_array().expect("findings").len());
    for x in p {
        assert_eq!(x["changes"], serde_json::json!([]), "{x}");
        assert_eq!(x["before"], x["after"]);
    }
    // Persisting entries carry each finding exactly as the report has it.
    let afters: Vec<&Value> = p.iter().map(|x| &x["after"]).collect();
    let findings: Vec<&Value> = report["findings"].as_array().expect("findings").iter().collect();
    assert_eq!(afters, findings);
    assert_eq!(d["same_cluster"], true);
    assert_eq!(d["warnings"], serde_json::json!([]));
    assert_eq!(d["inputs"], serde_json::json!([]));
    assert_eq!(d["facts"], serde_json::json!([]));
    let o = arcdiag(&["diff", SAMPLE, SAMPLE]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("0 resolved, 0 new, 11 persisting (0 changed)"), "{text}");
}

#[test]
fn against_fixture_cases_it_is_the_set_difference_of_the_two_reports() {
    let s = root().join(SAMPLE);
    let (_, rs, _) = analyze_json(&s, &[]);
    for case in [
        "K8S001/fires",
        "K8S002/fires",
        "FLX001/fires",
        "AMA002/fires",
        "K8S001/quiet",
    ] {
        let c = fixture::rule_case(case);
        let (_, rc, _) = analyze_json(&c, &[]);
        for (before, after, rb, ra) in [(&s, &c, &rs, &rc), (&c, &s, &rc, &rs)] {
            let (code, d, stderr) = diff_json(before, after, &[]);
            let (kb, ka) = (keys(&rb["findings"]), keys(&ra["findings"]));
            assert_eq!(keys(&d["resolved"]), minus(&kb, &ka), "{case}: resolved");
            assert_eq!(keys(&d["new"]), minus(&ka, &kb), "{case}: new");
            let mut persisting: Vec<String> = d["persisting"]
                .as_array()
                .expect("persisting")
                .iter()
                .map(|p| key(&p["after"]))
                .collect();
            persisting.sort();
            assert_eq!(persisting, minus(&ka, &minus(&ka, &kb)), "{case}: persisting");
            // Resolved and new findings are the reports' own finding objects.
            for f in d["new"].as_array().expect("new") {
                assert!(ra["findings"].as_array().expect("f").contains(f), "{case}: {f}");
            }
            for f in d["resolved"].as_array().expect("resolved") {
                assert!(rb["findings"].as_array().expect("f").contains(f), "{case}: {f}");
            }
            // The fixtures' cluster is contoso-arc, the sample's contoso-arc-01.
            assert_eq!(d["same_cluster"], false, "{case}");
            let warnings = d["warnings"].to_string();
            assert!(warnings.contains("not of the same cluster"), "{case}: {warnings}");
            assert!(
                stderr.contains("warning: the bundles are not of the same cluster"),
                "{stderr}"
            );
            let new_error = d["new"]
                .as_array()
                .expect("new")
                .iter()
                .any(|f| f["severity"] == "error");
            assert_eq!(code, Some(if new_error { 1 } else { 0 }), "{case}: {stderr}");
        }
    }
}

#[test]
fn a_rollout_keeps_the_workloads_findings_a_replaced_node_is_resolved_and_new() {
    let tmp = tempfile::tempdir().expect("tmp");
    let after = week_later(tmp.path());
    let before = root().join(SAMPLE);
    let (code, d, stderr) = diff_json(&before, &after, &[]);
    // K8S006 on the new node is a new error.
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(d["same_cluster"], true);
    assert_eq!(d["warnings"], serde_json::json!([]), "{stderr}");
    assert_eq!(
        keys(&d["resolved"]),
        [
            "K8S005 Pod/arc-osm-system/osm-controller-94cbb42c8-b7fx5",
            "K8S006 Node/k8s-worker-03"
        ]
    );
    assert_eq!(keys(&d["new"]), ["K8S006 Node/k8s-worker-09"]);
    let p = d["persisting"].as_array().expect("persisting");
    assert_eq!(p.len(), 9);
    let ledger = p
        .iter()
        .find(|x| x["identity"] == "K8S001 Deployment/payments/ledger-worker")
        .expect("the ledger-worker finding persists by its Deployment");
    let changes: BTreeMap<String, (Value, Value)> = ledger["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["field"].as_str().expect("field").to_string(),
                (c["before"].clone(), c["after"].clone()),
            )
        })
        .collect();
    assert_eq!(
        changes["subject"],
        (
            "Pod/payments/ledger-worker-feffd96ba-1d4e1".into(),
            "Pod/payments/ledger-worker-5c7d9f8b4-q9w2x".into()
        )
    );
    let (tb, ta) = &changes["title"];
    assert!(
        tb.as_str().is_some_and(|t| t.contains("(37 restarts)"))
            && ta.as_str().is_some_and(|t| t.contains("(41 restarts)")),
        "{tb} {ta}"
    );
    assert!(!changes.contains_key("severity"));
    // The others persist unchanged (K8S002's two payments-api pods pair by their names).
    let changed: Vec<&str> = p
        .iter()
        .filter(|x| x["changes"] != serde_json::json!([]))
        .map(|x| x["identity"].as_str().unwrap_or(""))
        .collect();
    assert!(
        changed.contains(&"K8S001 Deployment/payments/ledger-worker"),
        "{changed:?}"
    );
    let events = d["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|i| i["id"] == "kubectl/namespaces/bookstore/events")
        .expect("bookstore's events changed state");
    assert_eq!(
        (&events["before"], &events["after"]),
        (&"present".into(), &"failed".into())
    );
    assert!(
        events["reason"]
            .as_str()
            .is_some_and(|r| r.contains("events is forbidden")),
        "{events}"
    );
    let facts: Vec<&str> = d["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .map(|c| c["field"].as_str().unwrap_or(""))
        .collect();
    assert!(
        facts.contains(&"node_os.k8s-worker-03") && facts.contains(&"node_os.k8s-worker-09"),
        "{facts:?}"
    );
    assert!(
        facts.contains(&"integrity"),
        "the copy's members no longer match their digests: {facts:?}"
    );
    // Only new findings count for --fail-on.
    let (code, _, _) = diff_json(&before, &after, &["--fail-on", "never"]);
    assert_eq!(code, Some(0));
    // Swapped, the new node is resolved and the bundles are said to be in the wrong order.
    let (code, d, _) = diff_json(&after, &before, &[]);
    assert_eq!(
        code,
        Some(1),
        "the evicted pod's K8S005 is new but info; K8S006 worker-03 is an error"
    );
    assert!(d["warnings"].to_string().contains("before BEFORE"), "{}", d["warnings"]);

    // Text and Markdown say the same, byte-identical across runs.
    let args = |f: &str| -> Vec<std::ffi::OsString> {
        vec![
            "diff".into(),
            "--format".into(),
            f.into(),
            before.clone().into(),
            after.clone().into(),
        ]
    };
    let text = arcdiag(&args("text"));
    let text_s = String::from_utf8_lossy(&text.stdout);
    assert!(text_s.contains("  + K8S006 error   Node/k8s-worker-09"), "{text_s}");
    assert!(text_s.contains("  - K8S006 error   Node/k8s-worker-03"), "{text_s}");
    assert!(
        text_s.contains(
            "      subject: Pod/payments/ledger-worker-feffd96ba-1d4e1 -> Pod/payments/ledger-worker-5c7d9f8b4-q9w2x"
        ),
        "{text_s}"
    );
    assert!(
        text_s.contains("  kubectl/namespaces/bookstore/events: present -> failed ("),
        "{text_s}"
    );
    assert!(text_s.contains("2 resolved, 1 new, 9 persisting"), "{text_s}");
    assert_eq!(arcdiag(&args("text")).stdout, text.stdout);
    let md = arcdiag(&args("markdown"));
    let md_s = String::from_utf8_lossy(&md.stdout);
    assert!(
        md_s.contains("## New (1)") && md_s.contains("| error | K8S006 | `Node/k8s-worker-09` |"),
        "{md_s}"
    );
    assert!(md_s.contains("## Inputs (3 changed)"), "{md_s}");
    assert_eq!(arcdiag(&args("markdown")).stdout, md.stdout);
}

#[test]
fn an_unreadable_side_is_exit_2_with_its_name() {
    let o = arcdiag(&["diff", SAMPLE, "no/such/bundle.tar.gz"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot analyze no/such/bundle.tar.gz"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn nothing_from_a_bundle_reaches_the_terminal_unescaped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let evil = tmp.path().join("evil\x1b]0;title\x07");
    common::copy_dir(&fixture::rule_case("K8S001/fires"), &evil);
    let pods = evil.join("kubectl/namespaces/flux-system/pods.json");
    let text = std::fs::read_to_string(&pods).expect("pods.json");
    std::fs::write(
        &pods,
        text.replace(
            "kustomize-controller-7cc9d5b6f4-x2kqj",
            "kc-\\u001b[2J\\u001b[31m-x2kqj",
        ),
    )
    .expect("write");
    let s = root().join(SAMPLE);
    for format in ["text", "markdown", "json"] {
        for args in [
            vec![
                "diff".as_ref(),
                "--format".as_ref(),
                format.as_ref(),
                s.as_os_str(),
                evil.as_os_str(),
            ],
            vec![
                "fleet".as_ref(),
                "--format".as_ref(),
                format.as_ref(),
                s.as_os_str(),
                evil.as_os_str(),
            ],
        ] {
            let o = arcdiag(&args);
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                !o.stdout.contains(&0x1b) && !o.stdout.contains(&0x07),
                "{format}: {}",
                String::from_utf8_lossy(&o.stdout)
            );
            assert!(
                !o.stderr.contains(&0x1b) && !o.stderr.contains(&0x07),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    // The pod's name did reach the diff, escaped.
    let o = arcdiag(&["diff".as_ref(), s.as_os_str(), evil.as_os_str()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("kc-\\x1b[2J\\x1b[31m-x2kqj"), "{out}");
    let o = arcdiag(&[
        "analyze".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        evil.as_os_str(),
    ]);
    assert!(!o.stdout.contains(&0x1b) && !o.stderr.contains(&0x1b));
}
