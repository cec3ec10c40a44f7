//! Many bundles, run as a user runs them: `analyze --format jsonl` over several bundles (the
//! report's findings, in input order, an unreadable bundle's summary line, byte-identical for any
//! `--jobs`), `fleet` (per code, the bundles that fired it), the DuckDB queries of docs/fleet.md
//! (read from the document itself and run with the `duckdb` Python package on JSON Lines the
//! binary made from the fixtures, two weeks apart), and the Kubernetes Job of
//! deploy/kubernetes/arcdiag-fleet.yaml (parsed, its structure checked).

mod common;

use common::later::week_later;
use common::{analyze_json, arcdiag, fixture, root, SAMPLE};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}")))
        .collect()
}

fn jsonl(bundles: &[&Path], extra: &[&str]) -> std::process::Output {
    let mut args: Vec<std::ffi::OsString> = vec!["analyze".into(), "--format".into(), "jsonl".into()];
    args.extend(extra.iter().map(std::ffi::OsString::from));
    args.extend(bundles.iter().map(|b| b.as_os_str().to_owned()));
    arcdiag(&args)
}

#[test]
fn jsonl_has_each_reports_findings_then_its_summary_in_input_order() {
    let s = root().join(SAMPLE);
    let k1 = fixture::rule_case("K8S001/fires");
    let k2 = fixture::rule_case("K8S002/fires");
    let missing = root().join("fixtures/no-such-bundle.tar.gz");
    let bundles: Vec<&Path> = vec![&k2, &s, &missing, &k1, &s];
    let o = jsonl(&bundles, &["--jobs", "3"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "an unreadable bundle is exit 2: {stderr}");
    assert!(
        stderr.contains("cannot analyze") && stderr.contains("no-such-bundle.tar.gz"),
        "{stderr}"
    );
    let got = lines(&o.stdout);
    let mut at = 0;
    for b in &bundles {
        if *b == missing.as_path() {
            let l = &got[at];
            assert_eq!(l["type"], "bundle");
            assert_eq!(l["bundle"], "no-such-bundle.tar.gz");
            assert_eq!(l["unreadable"], true);
            assert!(
                l["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("cannot open")),
                "{l}"
            );
            at += 1;
            continue;
        }
        let (_, r, _) = analyze_json(b, &[]);
        let findings = r["findings"].as_array().expect("findings");
        for f in findings {
            let l = &got[at];
            assert_eq!(l["type"], "finding", "{l}");
            assert_eq!(&l["finding"], f, "the finding exactly as in the report");
            assert_eq!(l["bundle"], r["bundle"]["source"]);
            assert_eq!(l["cluster"], r["bundle"]["cluster"]["name"]);
            assert_eq!(l["collected_at"], r["bundle"]["collected_at"]);
            at += 1;
        }
        let l = &got[at];
        assert_eq!(l["type"], "bundle", "{l}");
        assert_eq!(l["bundle"], r["bundle"]["source"]);
        assert_eq!(l["unreadable"], false);
        assert_eq!(l["summary"], r["summary"]);
        assert_eq!(l["facts"], r["facts"]);
        assert_eq!(l["partial"], r["bundle"]["partial"]);
        at += 1;
    }
    assert_eq!(at, got.len(), "nothing after the last bundle");
    // The sample's identities: its pods stand for their workloads.
    let ids: Vec<&str> = got
        .iter()
        .filter(|l| l["bundle"] == "arcdiag-contoso-arc-01-20261125T170000Z" && l["type"] == "finding")
        .map(|l| l["identity"].as_str().unwrap_or(""))
        .collect();
    assert!(ids.contains(&"K8S001 Deployment/payments/ledger-worker"), "{ids:?}");
    assert!(ids.contains(&"K8S001 DaemonSet/kube-system/ama-logs"), "{ids:?}");
    assert!(ids.contains(&"K8S006 Node/k8s-worker-03"), "{ids:?}");
}

#[test]
fn jsonl_is_byte_identical_for_any_jobs_and_to_a_file() {
    let s = root().join(SAMPLE);
    let cases: Vec<PathBuf> = [
        "K8S001/fires",
        "K8S002/fires",
        "K8S006/fires",
        "FLX001/fires",
        "AMA002/fires",
    ]
    .iter()
    .map(|c| fixture::rule_case(c))
    .collect();
    let mut bundles: Vec<&Path> = cases.iter().map(PathBuf::as_path).collect();
    bundles.insert(2, &s);
    let one = jsonl(&bundles, &["--jobs", "1"]);
    assert_eq!(one.status.code(), Some(1), "{}", String::from_utf8_lossy(&one.stderr));
    for jobs in ["2", "4", "16"] {
        let o = jsonl(&bundles, &["--jobs", jobs]);
        assert_eq!(o.stdout, one.stdout, "--jobs {jobs}");
        assert_eq!(o.stderr, one.stderr, "--jobs {jobs}: stderr in input order too");
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("out.jsonl");
    let o = jsonl(&bundles, &["-o", file.to_str().expect("utf-8"), "--fail-on", "never"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&file).expect("out"), one.stdout);
}

#[test]
fn fleet_counts_per_code_the_bundles_that_fired_it() {
    let s = root().join(SAMPLE);
    let tmp = tempfile::tempdir().expect("tmp");
    // A folder of uploads: two bundle folders, an archive of one, and a file that is none.
    let up = tmp.path().join("uploads");
    common::copy_dir(&s, &up.join("a-sample"));
    common::copy_dir(&fixture::rule_case("K8S001/fires"), &up.join("b-k8s001"));
    common::copy_dir(&fixture::rule_case("K8S006/fires"), &up.join("c-k8s006"));
    std::fs::write(up.join("README.txt"), "not a bundle").expect("write");
    std::fs::write(up.join("d-broken.tar.gz"), b"\x1f\x8b\x08\0garbage").expect("write");
    let o = arcdiag(&["fleet".as_ref(), "--format".as_ref(), "json".as_ref(), up.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let f: Value = serde_json::from_slice(&o.stdout).expect("fleet JSON");
    assert_eq!(f["schema"], "arcdiag-fleet/v1");
    let sources: Vec<&str> = f["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .map(|b| b["source"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(sources, ["a-sample", "b-k8s001", "c-k8s006", "d-broken.tar.gz"]);
    assert_eq!(f["bundles"][3]["unreadable"], true);
    assert_eq!(f["summary"]["bundles"], 4);
    assert_eq!(f["summary"]["unreadable"], 1);
    // Expected from the bundles' own reports.
    let mut want: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    for name in ["a-sample", "b-k8s001", "c-k8s006"] {
        let (_, r, _) = analyze_json(&up.join(name), &[]);
        let mut seen = std::collections::BTreeSet::new();
        for x in r["findings"].as_array().expect("findings") {
            let code = x["code"].as_str().expect("code").to_string();
            let e = want.entry(code.clone()).or_default();
            e.1 += 1;
            if seen.insert(code) {
                e.0 += 1;
                e.2.push(name.to_string());
            }
        }
    }
    let got: BTreeMap<String, (usize, usize, Vec<String>)> = f["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| {
            (
                c["code"].as_str().expect("code").to_string(),
                (
                    c["bundles"].as_u64().expect("n") as usize,
                    c["findings"].as_u64().expect("n") as usize,
                    c["sources"]
                        .as_array()
                        .expect("sources")
                        .iter()
                        .map(|s| s.as_str().unwrap_or("").to_string())
                        .collect(),
                ),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        want["K8S001"],
        (2, 4, vec!["a-sample".to_string(), "b-k8s001".to_string()])
    );
    // Most bundles first.
    assert_eq!(f["codes"][0]["code"], "K8S001");
    assert_eq!(f["codes"][1]["code"], "K8S006");

    let text = arcdiag(&["fleet".as_ref(), up.as_os_str()]);
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(t.starts_with("arcdiag fleet: 4 bundle(s): 3 with errors"), "{t}");
    assert!(
        t.contains("K8S001   error          2        4  container-crash-looping"),
        "{t}"
    );
    assert!(t.contains("a-sample, b-k8s001"), "{t}");
    assert!(t.contains("Unreadable (1):\n  d-broken.tar.gz: "), "{t}");
    let md = arcdiag(&[
        "fleet".as_ref(),
        "--format".as_ref(),
        "markdown".as_ref(),
        up.as_os_str(),
    ]);
    let m = String::from_utf8_lossy(&md.stdout);
    assert!(
        m.contains("| K8S001 | error | `container-crash-looping` | 2 | 4 | `a-sample`, `b-k8s001` |"),
        "{m}"
    );
    assert!(
        m.contains("| `d-broken.tar.gz` | - | - | 0 | 0 | 0 | unreadable: "),
        "{m}"
    );
    // The same bundles named one by one give the same summary.
    let named: Vec<std::ffi::OsString> = std::iter::once("fleet".into())
        .chain(
            ["a-sample", "b-k8s001", "c-k8s006", "d-broken.tar.gz"]
                .iter()
                .map(|n| up.join(n).into_os_string()),
        )
        .collect();
    assert_eq!(arcdiag(&named).stdout, text.stdout);
}

/// A rule case as a bundle folder named `name`, collected at `when` (the default manifest with
/// its time changed).
fn case_at(dir: &Path, case: &str, name: &str, when: &str) -> PathBuf {
    let to = dir.join(name);
    common::copy_dir(&fixture::rule_case(case), &to);
    let m = String::from_utf8(fixture::default_manifest()).expect("utf-8");
    assert!(m.contains("2026-11-25T17:00:00Z"));
    std::fs::write(to.join("manifest.json"), m.replace("2026-11-25T17:00:00Z", when)).expect("write");
    to
}

/// The `sql` blocks of docs/fleet.md, by the name on their first line (`-- query: NAME`).
fn documented_queries() -> BTreeMap<String, String> {
    let doc = std::fs::read_to_string(root().join("docs/fleet.md")).expect("docs/fleet.md");
    let mut out = BTreeMap::new();
    let mut rest = doc.as_str();
    while let Some(at) = rest.find("```sql\n") {
        let body = &rest[at + 7..];
        let end = body.find("```").expect("closed sql block");
        let q = &body[..end];
        let name = q
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("-- query: "))
            .unwrap_or_else(|| panic!("a sql block without `-- query: NAME` on its first line: {q}"));
        out.insert(name.trim().to_string(), q.to_string());
        rest = &body[end + 3..];
    }
    out
}

const RUN_QUERIES: &str = r#"
import json, sys
try:
    import duckdb
except ImportError:
    sys.exit("the duckdb Python package is missing: pip install duckdb (.ci/run installs it)")
queries = json.load(open(sys.argv[1]))
con = duckdb.connect()
out = {}
for name, sql in queries.items():
    cur = con.execute(sql)
    out[name] = {"columns": [d[0] for d in cur.description], "rows": [[str(v) for v in row] for row in cur.fetchall()]}
print(json.dumps(out))
"#;

#[test]
fn the_documented_duckdb_queries_answer_on_two_weeks_of_fixtures() {
    let queries = documented_queries();
    for q in [
        "codes-per-week",
        "clusters-with-most-new-errors",
        "two-weeks-compared",
        "unreadable-bundles",
    ] {
        assert!(queries.contains_key(q), "docs/fleet.md has no query {q}");
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let b = tmp.path().join("bundles");
    // Week 1 (2026-11-23): the sample (contoso-arc-01) and K8S001 (contoso-arc).
    let week1 = [
        root().join(SAMPLE),
        case_at(&b, "K8S001/fires", "contoso-arc-w1", "2026-11-25T17:00:00Z"),
    ];
    // Week 2 (2026-11-30): the sample a week later (a node replaced: K8S006 on k8s-worker-09 is
    // new; the evicted pod gone), and contoso-arc with K8S002 and K8S006 (both new errors; its
    // K8S001 fixed), and an upload that cannot be read.
    let week2 = [
        week_later(&b),
        case_at(&b, "K8S002/fires", "contoso-arc-w2a", "2026-12-02T09:00:00Z"),
        case_at(&b, "K8S006/fires", "contoso-arc-w2b", "2026-12-03T09:00:00Z"),
        b.join("broken.tar.gz"),
    ];
    std::fs::write(&week2[3], b"not a bundle").expect("write");
    let results = tmp.path().join("results");
    std::fs::create_dir_all(&results).expect("mkdir");
    for (file, bundles) in [("week-48.jsonl", &week1[..]), ("week-49.jsonl", &week2[..])] {
        let mut args: Vec<std::ffi::OsString> = vec![
            "analyze".into(),
            "--format".into(),
            "jsonl".into(),
            "--fail-on".into(),
            "never".into(),
            "-o".into(),
            results.join(file).into(),
        ];
        args.extend(bundles.iter().map(|p| p.clone().into_os_string()));
        let o = arcdiag(&args);
        assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let qfile = tmp.path().join("queries.json");
    std::fs::write(&qfile, serde_json::to_string(&queries).expect("json")).expect("write");
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(RUN_QUERIES)
        .arg(&qfile)
        .current_dir(tmp.path())
        .output()
        .expect("run python3");
    assert!(
        o.status.success(),
        "the queries failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let got: Value = serde_json::from_slice(&o.stdout).expect("JSON from the query runner");
    let rows = |name: &str| -> Vec<String> {
        got[name]["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                r.as_array()
                    .expect("row")
                    .iter()
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect()
    };
    assert_eq!(
        rows("codes-per-week"),
        [
            "2026-11-23 | K8S001 | 2 | 4",
            "2026-11-23 | AMA002 | 1 | 1",
            "2026-11-23 | EXT001 | 1 | 1",
            "2026-11-23 | EXT002 | 1 | 1",
            "2026-11-23 | FLX001 | 1 | 1",
            "2026-11-23 | K8S002 | 1 | 2",
            "2026-11-23 | K8S005 | 1 | 1",
            "2026-11-23 | K8S006 | 1 | 1",
            "2026-11-30 | K8S002 | 2 | 3",
            "2026-11-30 | K8S006 | 2 | 2",
            "2026-11-30 | AMA002 | 1 | 1",
            "2026-11-30 | EXT001 | 1 | 1",
            "2026-11-30 | EXT002 | 1 | 1",
            "2026-11-30 | FLX001 | 1 | 1",
            "2026-11-30 | K8S001 | 1 | 3",
        ]
    );
    assert_eq!(
        rows("clusters-with-most-new-errors"),
        [
            "contoso-arc | 2 | K8S002 Deployment/apps/web, K8S006 Node/worker-02",
            "contoso-arc-01 | 1 | K8S006 Node/k8s-worker-09",
        ]
    );
    assert_eq!(
        rows("two-weeks-compared"),
        [
            "K8S001 | 2 | 1 | -1",
            "K8S002 | 1 | 2 | 1",
            "K8S005 | 1 | 0 | -1",
            "K8S006 | 1 | 2 | 1",
            "AMA002 | 1 | 1 | 0",
            "EXT001 | 1 | 1 | 0",
            "EXT002 | 1 | 1 | 0",
            "FLX001 | 1 | 1 | 0",
        ]
    );
    let unreadable = rows("unreadable-bundles");
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert!(unreadable[0].starts_with("broken.tar.gz | "), "{unreadable:?}");
}

fn yaml_docs(path: &Path) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde_yaml::Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

#[test]
fn the_kubernetes_job_is_indexed_fetches_bundle_n_and_holds_no_credentials() {
    let path = root().join("deploy/kubernetes/arcdiag-fleet.yaml");
    let docs = yaml_docs(&path);
    let s = |v: &serde_yaml::Value| v.as_str().unwrap_or("").to_string();
    let job = docs
        .iter()
        .find(|d| s(&d["kind"]) == "Job")
        .expect("a Job in the manifest");
    assert_eq!(s(&job["apiVersion"]), "batch/v1");
    let spec = &job["spec"];
    assert_eq!(s(&spec["completionMode"]), "Indexed");
    let completions = spec["completions"].as_u64().expect("completions");
    let parallelism = spec["parallelism"].as_u64().expect("parallelism");
    assert!(
        parallelism >= 1 && parallelism <= completions,
        "{parallelism} of {completions}"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(s(&pod["restartPolicy"]), "Never");
    let inits = pod["initContainers"].as_sequence().expect("an init container");
    let mains = pod["containers"].as_sequence().expect("containers");
    assert_eq!((inits.len(), mains.len()), (1, 1));
    let (init, main) = (&inits[0], &mains[0]);
    let script = |c: &serde_yaml::Value| -> String {
        ["command", "args"]
            .iter()
            .flat_map(|k| c[*k].as_sequence().cloned().unwrap_or_default())
            .map(|v| s(&v))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The init container picks its line of the list by the completion index.
    let fetch = script(init);
    assert!(
        fetch.contains("$JOB_COMPLETION_INDEX") || fetch.contains("$((JOB_COMPLETION_INDEX"),
        "{fetch}"
    );
    assert!(fetch.contains("az storage blob download"), "{fetch}");
    let index_env = init["env"]
        .as_sequence()
        .expect("env")
        .iter()
        .find(|e| s(&e["name"]) == "JOB_COMPLETION_INDEX")
        .expect("JOB_COMPLETION_INDEX in the init container's env");
    assert_eq!(
        s(&index_env["valueFrom"]["fieldRef"]["fieldPath"]),
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    // The main container is arcdiag writing JSON Lines.
    let analyze = script(main);
    assert!(analyze.contains("arcdiag analyze --format jsonl"), "{analyze}");
    // Images pinned by a tag (not latest).
    for c in [init, main] {
        let image = s(&c["image"]);
        let tag = image
            .rsplit('/')
            .next()
            .and_then(|last| last.split_once(':'))
            .map(|(_, t)| t);
        assert!(
            tag.is_some_and(|t| !t.is_empty() && t != "latest"),
            "image not pinned by tag: {image}"
        );
    }
    // A volume both containers mount, declared in the pod.
    let mounts = |c: &serde_yaml::Value| -> Vec<String> {
        c["volumeMounts"]
            .as_sequence()
            .map(|m| m.iter().map(|v| s(&v["name"])).collect())
            .unwrap_or_default()
    };
    let shared: Vec<String> = mounts(init).into_iter().filter(|n| mounts(main).contains(n)).collect();
    assert!(!shared.is_empty(), "no volume shared by the init and main containers");
    let volumes: Vec<String> = pod["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .map(|v| s(&v["name"]))
        .collect();
    for n in &shared {
        assert!(volumes.contains(n), "volume {n} is mounted but not declared");
    }
    // The JSONL goes to a volume main mounts writable.
    let results = main["volumeMounts"]
        .as_sequence()
        .expect("mounts")
        .iter()
        .find(|m| analyze.contains(&s(&m["mountPath"])) && m["readOnly"].as_bool() != Some(true))
        .expect("a writable volume the output is written to");
    assert!(volumes.contains(&s(&results["name"])));
    // Credentials come from the ServiceAccount (workload identity), never from the manifest.
    let sa = s(&pod["serviceAccountName"]);
    assert!(!sa.is_empty(), "no serviceAccountName");
    assert!(docs
        .iter()
        .any(|d| s(&d["kind"]) == "ServiceAccount" && s(&d["metadata"]["name"]) == sa));
    assert_eq!(
        s(&job["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"]),
        "true"
    );
    assert!(
        docs.iter().all(|d| s(&d["kind"]) != "Secret"),
        "a Secret in the manifest"
    );
    let text = std::fs::read_to_string(&path).expect("read");
    for word in [
        "secretKeyRef",
        "AccountKey=",
        "sig=",
        "--account-key",
        "--sas-token",
        "password",
        "client-secret",
    ] {
        assert!(!text.contains(word), "the manifest names {word}");
    }
    for c in [init, main] {
        for e in c["env"].as_sequence().cloned().unwrap_or_default() {
            let name = s(&e["name"]).to_ascii_uppercase();
            let credential = ["KEY", "SECRET", "TOKEN", "PASSWORD", "SAS"]
                .iter()
                .any(|w| name.contains(w));
            assert!(
                !credential || e["value"].is_null(),
                "a credential literal in env {name}"
            );
        }
    }
    // And the redactor, which knows the token formats, finds nothing to redact in it.
    let r = arcdiag::redact::Redactor::new();
    let out = r.redact(text.as_bytes(), arcdiag::redact::Shape::of("arcdiag-fleet.yaml"));
    assert!(
        &*out.bytes == text.as_bytes(),
        "the redactor finds a credential: {:?}",
        out.counts
    );
}
