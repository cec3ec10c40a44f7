//! Every rule's fixtures: `fixtures/rules/<CODE>/fires/` must make the rule fire and
//! `fixtures/rules/<CODE>/quiet/` (a near miss) must not. Each case runs only that rule and
//! snapshots its outcome and findings, so a reviewer reads exactly what a user would see.

use arcdiag::analyze::{analyze_path, load_signatures};
use arcdiag::bundle::Limits;
use arcdiag::engine::{Options, Outcome};
use arcdiag::rules::registry;
use std::path::{Path, PathBuf};

fn case(dir: &Path) -> (String, serde_json::Value) {
    let code = dir
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sigs = load_signatures(&[]).expect("built-in signatures");
    let rules = registry(&sigs);
    let opts = Options {
        select: vec![code.clone()],
        ..Options::default()
    };
    let report = analyze_path(dir, &Limits::default(), &sigs, &rules, &opts)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let rule = report
        .rules
        .iter()
        .find(|r| r.code == code)
        .unwrap_or_else(|| panic!("{}: rule {code} did not run", dir.display()));
    assert!(
        report.bundle.errors.is_empty(),
        "{}: fixture has read errors: {:?}",
        dir.display(),
        report.bundle.errors
    );
    let kind = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match kind.as_str() {
        k if k == "fires" || k.starts_with("fires-") => assert_eq!(
            rule.outcome,
            Outcome::Fired,
            "{}: {code} should fire: {:?}",
            dir.display(),
            rule
        ),
        _ => assert_ne!(
            rule.outcome,
            Outcome::Fired,
            "{}: {code} should stay silent: {:#?}",
            dir.display(),
            report.findings
        ),
    }
    let findings: Vec<_> = report.findings.iter().filter(|f| f.code == code).collect();
    let value = serde_json::json!({
        "outcome": rule.outcome,
        "reason": rule.reason,
        "findings": findings,
    });
    (format!("{code}-{kind}"), value)
}

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    let mut out = Vec::new();
    let Ok(codes) = std::fs::read_dir(&root) else {
        return out;
    };
    for c in codes.flatten() {
        for kind in ["fires", "quiet"] {
            let d = c.path().join(kind);
            if d.is_dir() {
                out.push(d);
            }
        }
        // More near misses: quiet-<what>/
        if let Ok(extra) = std::fs::read_dir(c.path()) {
            for e in extra.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if (n.starts_with("quiet-") || n.starts_with("fires-")) && e.path().is_dir() {
                    out.push(e.path());
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn rule_fixtures() {
    let dirs = fixture_dirs();
    assert!(!dirs.is_empty(), "no rule fixtures found");
    for d in dirs {
        let (name, value) = case(&d);
        let kind = d
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = if kind.starts_with("fires-") || kind.starts_with("quiet-") {
            let code = name.split('-').next().unwrap_or("").to_string();
            format!("{code}-{kind}")
        } else {
            name
        };
        insta::with_settings!({snapshot_path => "snapshots/rules", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_json_snapshot!(name, value);
        });
    }
}

#[test]
fn every_rule_has_fixtures() {
    let sigs = load_signatures(&[]).expect("built-in signatures");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    let mut missing = Vec::new();
    for r in registry(&sigs) {
        for kind in ["fires", "quiet"] {
            if !root.join(r.code()).join(kind).is_dir() {
                missing.push(format!("{}/{kind}", r.code()));
            }
        }
    }
    assert!(missing.is_empty(), "rules without fixtures: {missing:?}");
}

#[test]
fn every_rule_has_a_doc() {
    let sigs = load_signatures(&[]).expect("built-in signatures");
    for r in registry(&sigs) {
        let doc = r.doc();
        assert!(
            doc.starts_with(&format!("{} {}", r.code(), r.name())),
            "{}: doc must start with '<CODE> <name>', got: {doc:?}",
            r.code()
        );
        for section in ["What it detects:", "Why it matters:", "Evidence:", "Fix:"] {
            assert!(doc.contains(section), "{}: doc lacks '{section}'", r.code());
        }
    }
}

// Rules that read other rules' findings, run with the rules they read.

fn run_selected(case: &str, select: &[&str]) -> arcdiag::report::Report {
    let sigs = load_signatures(&[]).expect("built-in signatures");
    let rules = registry(&sigs);
    let opts = Options {
        select: select.iter().map(|s| s.to_string()).collect(),
        ..Options::default()
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules").join(case);
    analyze_path(&dir, &Limits::default(), &sigs, &rules, &opts).expect("fixture reads")
}

#[test]
fn flx010_is_silent_for_objects_a_specific_rule_explains() {
    // Alone, FLX010 reports the Kustomization; with FLX001 it leaves it (and the az status) to FLX001.
    for case in ["FLX001/fires", "FLX001/fires-az-escaped"] {
        let alone = run_selected(case, &["FLX010"]);
        assert_eq!(alone.findings.len(), 1, "{case}: {:?}", alone.findings);
        let both = run_selected(case, &["FLX001", "FLX010"]);
        let codes: Vec<&str> = both.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["FLX001"], "{case}");
        let r = both.rules.iter().find(|r| r.code == "FLX010").expect("FLX010 ran");
        assert_eq!(r.outcome, Outcome::Clean, "{case}");
    }
}

#[test]
fn flx001_dry_run_failure_from_unreachable_webhook_is_not_flx001() {
    let r = run_selected("FLX001/quiet", &["FLX001", "K8S007"]);
    let codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["K8S007"]);
}

#[test]
fn ext002_lists_the_pod_findings_under_it() {
    let sigs = load_signatures(&[]).expect("built-in signatures");
    let rules = registry(&sigs);
    let opts = Options {
        select: vec!["EXT002".into(), "K8S001".into()],
        ..Options::default()
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/EXT002/fires");
    let r = analyze_path(&dir, &Limits::default(), &sigs, &rules, &opts).expect("fixture reads");
    let ext = r.findings.iter().find(|f| f.code == "EXT002").expect("EXT002 fired");
    assert_eq!(ext.related.len(), 1, "{:?}", ext.related);
    assert_eq!(ext.related[0].code, "K8S001");
    assert!(ext.related[0].subject.contains("osm-controller-5c8d9f7b6-k2l3m"));
}
