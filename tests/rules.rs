//! Every rule's fixtures: `fixtures/rules/<CODE>/fires/` must make the rule fire and
//! `fixtures/rules/<CODE>/quiet/` (a near miss) must not. Each case runs only that rule and
//! snapshots its outcome and findings, so a reviewer reads exactly what a user would see.
//!
//! Each fixture case is a test of its own (libtest-mimic: `harness = false` in Cargo.toml), so one
//! mismatch never hides the others, and `cargo test --test rules FLX001` runs one rule's cases.

use arcdiag::analyze::{analyze_path, load_signatures};
use arcdiag::bundle::Limits;
use arcdiag::engine::{Options, Outcome};
use arcdiag::rules::registry;
use std::path::Path;

mod common;

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
    // A finding names what it stands on: a missing object cites the list collected without it.
    for f in &findings {
        assert!(
            !f.evidence.is_empty(),
            "{}: {code} finding on {:?} cites no evidence",
            dir.display(),
            f.subject
        );
    }
    let value = serde_json::json!({
        "outcome": rule.outcome,
        "reason": rule.reason,
        "findings": findings,
    });
    (format!("{code}-{kind}"), value)
}

fn fixture_dirs() -> Vec<String> {
    common::fixture::rule_cases()
}

/// The snapshot name of a fixture case: `<CODE>-fires`, `<CODE>-quiet`, `<CODE>-quiet-<what>`.
fn snapshot_name(dir: &Path, case_name: &str) -> String {
    let kind = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if kind.starts_with("fires-") || kind.starts_with("quiet-") {
        let code = case_name.split('-').next().unwrap_or("").to_string();
        format!("{code}-{kind}")
    } else {
        case_name.to_string()
    }
}

fn run_case(d: &Path) {
    let (name, value) = case(d);
    let name = snapshot_name(d, &name);
    insta::with_settings!({snapshot_path => "snapshots/rules", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_json_snapshot!(name, value);
    });
}

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
    let dir = common::fixture::rule_case(case);
    analyze_path(&dir, &Limits::default(), &sigs, &rules, &opts).expect("fixture reads")
}

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

fn flx001_dry_run_failure_from_unreachable_webhook_is_not_flx001() {
    let r = run_selected("FLX001/quiet", &["FLX001", "K8S007"]);
    let codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["K8S007"]);
}

fn osm001_and_osm002_agree_on_an_unavailable_controller() {
    // OSM001 judges the deployment, OSM002 the pods: where the controller is down both say so.
    for case in ["OSM002/fires", "OSM002/fires-only-evicted"] {
        let r = run_selected(case, &["OSM001", "OSM002"]);
        let about: Vec<(&str, &str)> = r
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.subject.name.as_str()))
            .collect();
        assert!(about.contains(&("OSM001", "osm-controller")), "{case}: {about:?}");
        assert!(
            about
                .iter()
                .any(|(c, n)| *c == "OSM002" && n.starts_with("osm-controller")),
            "{case}: {about:?}"
        );
    }
}

fn ext002_lists_the_pod_findings_under_it() {
    let sigs = load_signatures(&[]).expect("built-in signatures");
    let rules = registry(&sigs);
    let opts = Options {
        select: vec!["EXT002".into(), "K8S001".into()],
        ..Options::default()
    };
    let dir = common::fixture::rule_case("EXT002/fires");
    let r = analyze_path(&dir, &Limits::default(), &sigs, &rules, &opts).expect("fixture reads");
    let ext = r.findings.iter().find(|f| f.code == "EXT002").expect("EXT002 fired");
    assert_eq!(ext.related.len(), 1, "{:?}", ext.related);
    assert_eq!(ext.related[0].code, "K8S001");
    assert!(ext.related[0].subject.contains("osm-controller-5c8d9f7b6-k2l3m"));
}

/// A test body as a libtest-mimic trial: a panic (a failed assertion) is the failure message.
fn trial(name: String, f: impl FnOnce() + Send + std::panic::UnwindSafe + 'static) -> libtest_mimic::Trial {
    libtest_mimic::Trial::test(name, move || {
        std::panic::catch_unwind(f).map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the test panicked".into());
            msg.into()
        })
    })
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let dirs = fixture_dirs();
    let mut trials = vec![
        trial("every_rule_has_fixtures".into(), every_rule_has_fixtures),
        trial("every_rule_has_a_doc".into(), every_rule_has_a_doc),
        trial(
            "flx010_is_silent_for_objects_a_specific_rule_explains".into(),
            flx010_is_silent_for_objects_a_specific_rule_explains,
        ),
        trial(
            "flx001_dry_run_failure_from_unreachable_webhook_is_not_flx001".into(),
            flx001_dry_run_failure_from_unreachable_webhook_is_not_flx001,
        ),
        trial(
            "osm001_and_osm002_agree_on_an_unavailable_controller".into(),
            osm001_and_osm002_agree_on_an_unavailable_controller,
        ),
        trial(
            "ext002_lists_the_pod_findings_under_it".into(),
            ext002_lists_the_pod_findings_under_it,
        ),
        trial("no_case_repeats_the_default_manifest".into(), || {
            let default = common::fixture::default_manifest();
            let root = common::fixture::rules_root();
            let repeats: Vec<String> = common::fixture::rule_cases()
                .into_iter()
                .filter(|rel| std::fs::read(root.join(rel).join("manifest.json")).is_ok_and(|m| m == default))
                .collect();
            assert!(
                repeats.is_empty(),
                "these cases copy fixtures/rules/manifest.json (delete their copy): {repeats:?}"
            );
        }),
        trial("fixture_cases_exist".into(), || {
            assert!(
                fixture_dirs().len() >= 82,
                "rule fixture cases missing: {:?}",
                fixture_dirs()
            )
        }),
    ];
    for rel in dirs {
        let name = format!("fixture::{}", rel.replace('/', "::"));
        trials.push(trial(name, move || run_case(&common::fixture::rule_case(&rel))));
    }
    libtest_mimic::run(&args, trials).exit();
}
