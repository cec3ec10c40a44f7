//! `arcdiag collect` against fake `kubectl` and `az` executables (shell scripts written into a
//! temp dir) that serve a bundle directory the way a cluster would, plus switches for the
//! failures a real cluster shows: a forbidden list, a hung step, invalid JSON, binary garbage,
//! a huge output, a missing or logged-out `az`. Each test collects with the real binary and
//! reads the bundle back, by hand and with `arcdiag analyze`.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_arcdiag");

/// A fake `kubectl` serving `$D` laid out like a bundle (`kubectl/cluster/<res>.json`,
/// `kubectl/namespaces/<ns>/<res>.json`, `logs/<ns>/<pod>/<ctr>[.previous].log`). Switches, by
/// file: `strict` (a list the fixture does not hold fails, as it was absent from the fixture,
/// instead of answering an empty list), `forbidden/<res>`, `hang/<res>` (sleeps in a child process, pid in `hang.pid`),
/// `calls` (every invocation is appended to it).
const FAKE_KUBECTL: &str = r#"#!/bin/sh
D="@DIR@"
echo "$*" >> "$D/calls"
verb=$1; shift
case "$verb" in
  config) echo "test-ctx"; exit 0;;
  version) if [ -f "$D/kubectl/version.json" ]; then cat "$D/kubectl/version.json"; else echo '{"clientVersion":{"gitVersion":"v1.30.0"},"serverVersion":{"gitVersion":"v1.29.4"}}'; fi; exit 0;;
esac
ns=""; res=""; pod=""; ctr=""; prev=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ns=$2; shift 2;;
    -c) ctr=$2; shift 2;;
    -o|--context) shift 2;;
    --previous) prev=.previous; shift;;
    -*) shift;;
    *) if [ -z "$res" ]; then res=$1; else pod=$1; fi; shift;;
  esac
done
if [ "$verb" = logs ]; then
  f="$D/logs/$ns/$res/$ctr$prev.log"
  if [ -f "$f" ]; then cat "$f"; exit 0; fi
  echo "Error from server (BadRequest): previous terminated container \"$ctr\" in pod \"$res\" not found" >&2; exit 1
fi
if [ -f "$D/hang/$res" ]; then sleep 300 & echo $! > "$D/hang.pid"; wait; fi
if [ -f "$D/forbidden/$res" ]; then
  echo "Error from server (Forbidden): $res is forbidden: User \"x\" cannot list resource \"$res\" in API group \"\" in the namespace \"$ns\" $(cat "$D/forbidden/$res")" >&2; exit 1
fi
if [ -n "$ns" ]; then f="$D/kubectl/namespaces/$ns/$res.json"; else f="$D/kubectl/cluster/$res.json"; fi
if [ -f "$f" ]; then cat "$f"; exit 0; fi
if [ -f "$D/strict" ]; then echo "Error from server (ServiceUnavailable): the fixture holds no $res" >&2; exit 1; fi
case "$res" in
  *.*|constraints) echo "error: the server doesn't have a resource type \"$res\"" >&2; exit 1;;
esac
echo '{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}'
"#;

struct Fake {
    _tmp: tempfile::TempDir,
    /// What the fake cluster serves.
    data: PathBuf,
    bin: PathBuf,
    out: PathBuf,
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).expect("mkdir");
    }
    fs::write(path, bytes).expect("write");
}

fn copy_dir(from: &Path, to: &Path) {
    for e in fs::read_dir(from).expect("read fixture dir") {
        let e = e.expect("dir entry");
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            write(&t, fs::read(e.path()).expect("read fixture"));
        }
    }
}

impl Fake {
    fn new() -> Fake {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (data, bin, out) = (tmp.path().join("data"), tmp.path().join("bin"), tmp.path().join("out"));
        for d in [&data, &bin, &out] {
            fs::create_dir_all(d).expect("mkdir");
        }
        for (name, script) in [("kubectl", FAKE_KUBECTL), ("az", common::serve::FAKE_AZ)] {
            let p = bin.join(name);
            write(&p, script.replace("@DIR@", &data.to_string_lossy()));
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        Fake {
            _tmp: tmp,
            data,
            bin,
            out,
        }
    }

    fn from_fixture(dir: &Path) -> Fake {
        let f = Fake::new();
        copy_dir(dir, &f.data);
        f
    }

    fn put(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        write(&self.data.join(rel), bytes);
    }

    /// Run `arcdiag collect` with the fakes first on PATH.
    fn collect(&self, args: &[&str]) -> Output {
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap_or_default());
        Command::new(BIN)
            .arg("collect")
            .arg("--output")
            .arg(&self.out)
            .arg("--plain")
            .args(if args.contains(&"--step-timeout") {
                &[][..]
            } else {
                &["--step-timeout", "3"][..]
            })
            .args(args)
            .env("PATH", path)
            .output()
            .expect("run arcdiag collect")
    }

    /// The single bundle written.
    fn bundle(&self) -> PathBuf {
        let files: Vec<PathBuf> = fs::read_dir(&self.out)
            .expect("read out dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1, "expected one bundle, no leftovers: {files:?}");
        files[0].clone()
    }
}

fn manifest(m: &BTreeMap<String, Vec<u8>>) -> Value {
    let (_, bytes) = m
        .iter()
        .find(|(k, _)| k.ends_with("/manifest.json"))
        .expect("manifest.json in bundle");
    serde_json::from_slice(bytes).expect("manifest parses")
}

fn step<'a>(man: &'a Value, id: &str) -> &'a Value {
    man["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn analyze(bundle: &Path) -> Value {
    let (code, report, err) = common::analyze_json(bundle, &["--fail-on", "never"]);
    assert_eq!(code, Some(0), "analyze failed: {err}");
    report
}

fn input_state(report: &Value, id: &str) -> String {
    report["inputs"]
        .as_array()
        .and_then(|i| i.iter().find(|i| i["id"] == id))
        .map(|i| i["state"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| "missing".into())
}

/// `(code, subject)` of every finding.
fn finding_keys(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| (f["code"].as_str().unwrap_or("").to_string(), f["subject"].to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every namespace folder of a fixture bundle (collected with `--namespace`).
fn fixture_namespaces(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for sub in ["kubectl/namespaces", "logs"] {
        if let Ok(rd) = fs::read_dir(dir.join(sub)) {
            for e in rd.flatten() {
                v.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

#[test]
fn fixture_bundles_round_trip_to_the_same_findings() {
    let mut cases = 0;
    for rel in common::fixture::rule_cases() {
        {
            let dir = common::fixture::rule_case(&rel);
            let fake = Fake::from_fixture(&dir);
            fake.put("strict", "");
            let ns = fixture_namespaces(&dir).join(",");
            let mut args = vec!["--jobs", "8"];
            if !ns.is_empty() {
                args.extend(["--namespace", &ns]);
            }
            // Fixtures with `az/` outputs are collected with the Azure side on, as the cluster
            // their manifest names (the fake az serves those files).
            let manifest: serde_json::Value =
                serde_json::from_slice(&fs::read(dir.join("manifest.json")).expect("manifest")).expect("manifest JSON");
            let cluster = |k: &str, d: &str| manifest["cluster"][k].as_str().unwrap_or(d).to_string();
            let (rg, name, ty) = (
                cluster("resource_group", "rg"),
                cluster("name", "c1"),
                cluster("type", "connectedClusters"),
            );
            if dir.join("az").is_dir() {
                args.extend(["-g", &rg, "-c", &name, "-t", &ty]);
            }
            let out = fake.collect(&args);
            assert!(out.status.success(), "{}: {}", dir.display(), stderr(&out));
            let before = finding_keys(&analyze(&dir));
            let after = finding_keys(&analyze(&fake.bundle()));
            assert_eq!(before, after, "{}: findings differ after collection", dir.display());
            cases += 1;
        }
    }
    assert!(cases >= 16, "only {cases} fixture bundles found");
}

#[test]
fn bundle_name_mode_layout_and_summary() {
    let fake = Fake::new();
    let out = fake.collect(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bundle = fake.bundle();
    let name = bundle
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let re = regex::Regex::new(r"^arcdiag-test-ctx-\d{8}T\d{6}Z\.tar\.gz$").expect("regex");
    assert!(re.is_match(&name), "{name}");
    let mode = fs::metadata(&bundle).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let stem = name.trim_end_matches(".tar.gz");
    let m = common::bundle_members(&bundle);
    assert!(m.keys().all(|k| k.starts_with(&format!("{stem}/"))), "{:?}", m.keys());
    let man = manifest(&m);
    assert_eq!(man["format"], "arcdiag-bundle/v1");
    assert_eq!(man["complete"], true);
    assert_eq!(man["cluster"]["kube_context"], "test-ctx");
    assert_eq!(step(&man, "kubectl/cluster/nodes")["status"], "ok");
    let crd = step(
        &man,
        "kubectl/namespaces/arc-osm-system/meshconfigs.config.openservicemesh.io",
    );
    assert_eq!(crd["status"], "not-found");
    assert_eq!(crd["output"], Value::Null);
    // The summary names the file and the counts; stdout is the path alone.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        bundle.display().to_string()
    );
    assert!(stderr(&out).contains("ok,"), "{}", stderr(&out));
    let report = analyze(&bundle);
    assert_eq!(input_state(&report, "kubectl/namespaces/flux-system/pods"), "present");
    assert_eq!(
        input_state(
            &report,
            "kubectl/namespaces/arc-osm-system/meshconfigs.config.openservicemesh.io"
        ),
        "present"
    );
}

#[test]
fn forbidden_hung_and_broken_steps_do_not_stop_collection() {
    let fake = Fake::new();
    fake.put("forbidden/pods", "");
    fake.put("hang/nodes", "");
    fake.put(
        "kubectl/namespaces/kube-system/deployments.json",
        "{\"items\": [ this is not json",
    );
    fake.put(
        "kubectl/namespaces/kube-system/services.json",
        b"\x00\xff\xfe garbage \x1b[31m",
    );
    // Lots of output: a list of 3000 configmaps, well past --max-step-bytes.
    let items: Vec<String> = (0..3000)
        .map(|i| {
            format!(
                r#"{{"kind":"ConfigMap","metadata":{{"name":"cm{i}","namespace":"azure-arc"}},"data":{{"k":"{}"}}}}"#,
                "v".repeat(100)
            )
        })
        .collect();
    fake.put(
        "kubectl/namespaces/azure-arc/configmaps.json",
        format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(",")),
    );
    let start = std::time::Instant::now();
    let out = fake.collect(&["--step-timeout", "2", "--max-step-bytes", "100000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
    // The hung kubectl's child (sleep) was killed with its process group.
    let pid = fs::read_to_string(fake.data.join("hang.pid")).expect("hang.pid");
    // (A zombie waiting for a container's init to reap it is dead.)
    let stat = fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("");
    assert!(
        state.is_empty() || state == "Z",
        "the hung step's child {pid} is still running: {stat}"
    );

    let bundle = fake.bundle();
    let man = manifest(&common::bundle_members(&bundle));
    let pods = step(&man, "kubectl/namespaces/flux-system/pods");
    assert_eq!(pods["status"], "failed");
    assert_eq!(pods["exit_code"], 1);
    assert!(pods["stderr"].as_str().unwrap_or("").contains("Forbidden"), "{pods}");
    let nodes = step(&man, "kubectl/cluster/nodes");
    assert_eq!(nodes["status"], "timeout");
    assert_eq!(nodes["exit_code"], Value::Null);
    assert_eq!(
        step(&man, "kubectl/namespaces/kube-system/deployments")["status"],
        "failed"
    );
    assert_eq!(
        step(&man, "kubectl/namespaces/kube-system/services")["status"],
        "failed"
    );
    let big = step(&man, "kubectl/namespaces/azure-arc/configmaps");
    assert_eq!(big["truncated"], true, "{big}");
    assert_eq!(step(&man, "kubectl/namespaces/azure-arc/pods")["status"], "failed");
    assert_eq!(step(&man, "kubectl/namespaces/azure-arc/deployments")["status"], "ok");
    assert_eq!(man["complete"], true);

    let report = analyze(&bundle);
    assert_eq!(input_state(&report, "kubectl/cluster/nodes"), "failed");
    assert_eq!(input_state(&report, "kubectl/namespaces/flux-system/pods"), "failed");
    assert_eq!(
        input_state(&report, "kubectl/namespaces/kube-system/deployments"),
        "failed"
    );
    assert_eq!(input_state(&report, "kubectl/namespaces/kube-system/events"), "present");
    let k8s006 = report["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["code"] == "K8S006"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(k8s006["outcome"], "skipped", "{k8s006}");
}

#[test]
fn garbage_and_restarted_container_logs() {
    let fake = Fake::new();
    fake.put(
        "kubectl/namespaces/flux-system/pods.json",
        r#"{"kind":"List","items":[{"kind":"Pod","metadata":{"name":"source-controller-1","namespace":"flux-system"},
        "spec":{"containers":[{"name":"manager"}]},
        "status":{"phase":"Running","containerStatuses":[{"name":"manager","restartCount":2,"ready":true}]}}]}"#,
    );
    let mut log = b"line one\n\x00\x01\xff binary \xfe\n".to_vec();
    log.extend(vec![b'x'; 5000]);
    fake.put("logs/flux-system/source-controller-1/manager.log", &log);
    // No previous log: kubectl fails, the step is failed, collection goes on.
    let out = fake.collect(&["--max-log-bytes", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = common::bundle_members(&fake.bundle());
    let man = manifest(&m);
    let cur = step(&man, "logs/flux-system/source-controller-1/manager");
    assert_eq!(cur["status"], "ok");
    assert_eq!(cur["truncated"], true);
    assert_eq!(cur["bytes"], 1000);
    let prev = step(&man, "logs/flux-system/source-controller-1/manager.previous");
    assert_eq!(prev["status"], "failed");
    let (_, bytes) = m
        .iter()
        .find(|(k, _)| k.ends_with("logs/flux-system/source-controller-1/manager.log"))
        .expect("log member");
    assert_eq!(&bytes[..], &log[..1000]);
    let calls = fs::read_to_string(fake.data.join("calls")).expect("calls");
    assert!(
        calls
            .contains("logs -n flux-system source-controller-1 -c manager --since=24h --tail=10000 --limit-bytes=1000"),
        "{calls}"
    );
    analyze(&fake.bundle());
}

#[test]
fn missing_az_skips_azure_steps_and_collection_goes_on() {
    let fake = Fake::new();
    let out = fake.collect(&[
        "--az",
        "/nonexistent/az",
        "-g",
        "rg1",
        "-c",
        "c1",
        "-t",
        "managedClusters",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bundle = fake.bundle();
    assert!(bundle.to_string_lossy().contains("arcdiag-c1-"), "{}", bundle.display());
    let man = manifest(&common::bundle_members(&bundle));
    for id in [
        "az/cluster-show",
        "az/k8s-extension-list",
        "az/k8s-configuration-flux-list",
        "az/k8s-configuration-list",
        "az/feature-show-AKS-ExtensionManager",
    ] {
        let s = step(&man, id);
        assert_eq!(s["status"], "skipped", "{s}");
        assert!(
            s["stderr"].as_str().unwrap_or("").contains("az is not installed"),
            "{s}"
        );
    }
    assert_eq!(step(&man, "kubectl/cluster/nodes")["status"], "ok");
    assert_eq!(man["cluster"]["resource_group"], "rg1");
    let report = analyze(&bundle);
    assert_eq!(input_state(&report, "az/cluster-show"), "absent");
}

#[test]
fn logged_out_az_and_missing_cli_extension() {
    let fake = Fake::new();
    fake.put("az-logged-out", "");
    let out = fake.collect(&["-g", "rg1", "-c", "c1", "-t", "connectedClusters"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let man = manifest(&common::bundle_members(&fake.bundle()));
    let s = step(&man, "az/cluster-show");
    assert_eq!(s["status"], "skipped");
    assert!(s["stderr"].as_str().unwrap_or("").contains("az login"), "{s}");
    assert!(man["steps"]
        .as_array()
        .is_some_and(|s| !s.iter().any(|s| s["id"] == "az/feature-show-AKS-ExtensionManager")));

    // Logged in; the extension list works, flux show is missing: that step fails, the rest is there.
    let fake = Fake::new();
    fake.put(
        "az/k8s-extension-list.json",
        r#"[{"name":"flux","extensionType":"microsoft.flux","provisioningState":"Succeeded","scope":{"cluster":{"releaseNamespace":"flux-system"},"namespace":null},"statuses":[]},
            {"name":"azuremonitor-containers","extensionType":"microsoft.azuremonitor.containers","provisioningState":"Succeeded","scope":{"cluster":{"releaseNamespace":"azuremonitor-containers"},"namespace":null},"statuses":[]}]"#,
    );
    fake.put(
        "az/k8s-extension-show-flux.json",
        r#"{"name":"flux","extensionType":"microsoft.flux","provisioningState":"Succeeded","statuses":[]}"#,
    );
    fake.put(
        "az/k8s-configuration-flux-list.json",
        r#"[{"name":"cluster-config","namespace":"cluster-config","complianceState":"Compliant","statuses":[]}]"#,
    );
    fake.put(
        "az/cluster-show.json",
        r#"{"name":"c1","connectivityStatus":"Connected"}"#,
    );
    let out = fake.collect(&["-g", "rg1", "-c", "c1", "-t", "connectedClusters"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = common::bundle_members(&fake.bundle());
    let man = manifest(&m);
    assert_eq!(step(&man, "az/k8s-extension-show-flux")["status"], "ok");
    assert_eq!(
        step(&man, "az/k8s-extension-show-azuremonitor-containers")["status"],
        "failed"
    );
    let fs_ = step(&man, "az/k8s-configuration-flux-show-cluster-config");
    assert_eq!(fs_["status"], "failed");
    assert!(fs_["stderr"].as_str().unwrap_or("").contains("ResourceNotFound"));
    // Namespaces named by the Azure lists are collected.
    step(&man, "kubectl/namespaces/cluster-config/pods");
    step(&man, "kubectl/namespaces/azuremonitor-containers/pods");
    let calls = fs::read_to_string(fake.data.join("calls")).unwrap_or_default();
    assert!(!calls.contains("AZURE"), "no secrets or env on the command line");
    let report = analyze(&fake.bundle());
    assert_eq!(input_state(&report, "az/k8s-extension-list"), "present");
    assert_eq!(
        input_state(&report, "az/k8s-configuration-flux-show-cluster-config"),
        "failed"
    );
}

#[test]
fn missing_az_cli_extensions_are_said_once_with_the_install_command() {
    let fake = Fake::new();
    fake.put("az-no-cli-extensions", "");
    fake.put(
        "az/cluster-show.json",
        r#"{"name":"c1","connectivityStatus":"Connected"}"#,
    );
    let out = fake.collect(&["-g", "rg1", "-c", "c1", "-t", "connectedClusters"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for ext in ["k8s-extension", "k8s-configuration"] {
        let install = format!("az extension add --name {ext}");
        assert_eq!(err.matches(&install).count(), 1, "said once: {err}");
    }
    let man = manifest(&common::bundle_members(&fake.bundle()));
    for (id, ext) in [
        ("az/k8s-extension-list", "k8s-extension"),
        ("az/k8s-configuration-flux-list", "k8s-configuration"),
        ("az/k8s-configuration-list", "k8s-configuration"),
    ] {
        let s = step(&man, id);
        assert_eq!(s["status"], "skipped", "{s}");
        let why = s["stderr"].as_str().unwrap_or("");
        assert!(why.contains(&format!("az extension add --name {ext}")), "{s}");
        assert!(!why.contains('\n'), "one line: {why:?}");
    }
    assert_eq!(step(&man, "az/cluster-show")["status"], "ok");
    // The report's reason for a rule that needed the list is that one line.
    let report = analyze(&fake.bundle());
    let input = report["inputs"]
        .as_array()
        .and_then(|i| i.iter().find(|i| i["id"] == "az/k8s-extension-list"))
        .expect("input");
    assert!(
        input["reason"]
            .as_str()
            .unwrap_or("")
            .contains("az extension add --name k8s-extension"),
        "{input}"
    );
}

#[test]
fn no_reachable_cluster_exits_2_and_writes_nothing() {
    let fake = Fake::new();
    fake.put(
        "bin/kubectl",
        "#!/bin/sh\necho 'The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?' >&2\nexit 1\n",
    );
    let kubectl = fake.data.join("bin/kubectl");
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&kubectl, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let k = kubectl.to_str().expect("utf-8");
    let out = fake.collect(&["--kubectl", k]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("was refused"), "{}", stderr(&out));
    assert_eq!(fs::read_dir(&fake.out).expect("out").count(), 0, "no bundle written");
    let out = fake.collect(&["--kubectl", "/nonexistent/kubectl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not installed"), "{}", stderr(&out));
    assert_eq!(fs::read_dir(&fake.out).expect("out").count(), 0, "no bundle written");
    // --no-cluster writes the Azure side alone.
    fake.put(
        "az/cluster-show.json",
        r#"{"name":"c1","connectivityStatus":"Offline"}"#,
    );
    let out = fake.collect(&[
        "--kubectl",
        k,
        "--no-cluster",
        "-g",
        "rg1",
        "-c",
        "c1",
        "-t",
        "connectedClusters",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let man = manifest(&common::bundle_members(&fake.bundle()));
    assert_eq!(step(&man, "az/cluster-show")["status"], "ok");
    assert_eq!(step(&man, "kubectl/cluster/nodes")["status"], "failed");
}

#[test]
fn discovered_namespaces_are_collected() {
    let fake = Fake::new();
    fake.put(
        "kubectl/cluster/namespaces.json",
        r#"{"kind":"List","items":[{"metadata":{"name":"bookstore","labels":{"openservicemesh.io/monitored-by":"osm"}}},{"metadata":{"name":"plain"}},{"metadata":{"name":"shop"}}]}"#,
    );
    // A healthy pod in `plain`, a crash-looping one in `shop`.
    let pod = |name: &str, ready: bool, restarts: u32| {
        format!(
            r#"{{"kind":"List","items":[{{"metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"app"}}]}},"status":{{"phase":"Running","containerStatuses":[{{"name":"app","ready":{ready},"restartCount":{restarts}}}]}}}}]}}"#
        )
    };
    fake.put("kubectl/namespaces/plain/pods.json", pod("web-1", true, 0));
    fake.put("kubectl/namespaces/shop/pods.json", pod("cart-1", false, 9));
    fake.put("logs/plain/web-1/app.log", "healthy\n");
    fake.put("logs/shop/cart-1/app.log", "panic: boom\n");
    fake.put("logs/shop/cart-1/app.previous.log", "panic: boom\n");
    fake.put(
        "kubectl/cluster/fluxconfigs.clusterconfig.azure.com.json",
        r#"{"kind":"List","items":[{"metadata":{"name":"cfg","namespace":"gitops-apps"}}]}"#,
    );
    let out = fake.collect(&["-n", "extra-ns"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let man = manifest(&common::bundle_members(&fake.bundle()));
    for ns in ["bookstore", "gitops-apps", "extra-ns", "azure-arc", "gatekeeper-system"] {
        assert_eq!(
            step(&man, &format!("kubectl/namespaces/{ns}/pods"))["status"],
            "ok",
            "{ns}"
        );
    }
    let has = |id: &str| man["steps"].as_array().is_some_and(|s| s.iter().any(|s| s["id"] == id));
    // Every namespace of the cluster: pods and events, nothing else unless it needs it.
    for id in ["kubectl/namespaces/plain/pods", "kubectl/namespaces/plain/events"] {
        assert_eq!(step(&man, id)["status"], "ok", "{id}");
    }
    assert!(!has("kubectl/namespaces/plain/configmaps"));
    assert!(
        !has("logs/plain/web-1/app"),
        "a healthy pod's log outside the collected namespaces"
    );
    // A namespace with a failing pod is collected whole, with the failing pod's logs.
    for id in [
        "kubectl/namespaces/shop/configmaps",
        "kubectl/namespaces/shop/replicasets",
        "logs/shop/cart-1/app",
        "logs/shop/cart-1/app.previous",
    ] {
        assert_eq!(step(&man, id)["status"], "ok", "{id}");
    }
    // Secrets are never asked for.
    let calls = fs::read_to_string(fake.data.join("calls")).unwrap_or_default();
    assert!(!calls.contains("secret"), "{calls}");
}

#[test]
fn dry_run_prints_every_command_and_runs_nothing() {
    let fake = Fake::new();
    let out = fake.collect(&[
        "--dry-run",
        "-g",
        "rg1",
        "-c",
        "c1",
        "-t",
        "managedClusters",
        "-n",
        "apps",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!fake.data.join("calls").exists(), "dry run invoked kubectl or az");
    assert_eq!(fs::read_dir(&fake.out).map(|d| d.count()).unwrap_or(1), 0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    insta::assert_snapshot!("collect_dry_run", text);
}

fn secret_fixture(fake: &Fake) -> Vec<&'static str> {
    let secrets = vec![
        "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.PLANTEDjwtSIGNATUREabcdef123456",
        "PLANTEDbearerTOKEN0123456789abcdef",
        "MIIEpAIBAAKCAQEAPLANTEDPRIVATEKEYBODY0123456789abcdefghijklmnop",
        "PLANTEDstorageKEYaB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3vW5xY7==",
        "sv2020PLANTEDsasSIGNATURE%2Babc%3D",
        "PLANTEDconnPASSWORDvalue",
        "Abc8Q~PLANTEDclientSECRETabcdefghijklmn1",
        "PLANTEDurlPASSWORD",
        "PLANTEDenvSECRETvalue",
        "PLANTEDyamlPASSWORD",
        "PLANTEDsharedACCESSkey",
    ];
    let cm = serde_json::json!({"kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "azure-arc", "uid": "6f1c2a3b-1d2e-4f50-9a8b-7c6d5e4f3a2b", "resourceVersion": "918273645"},
    "data": {
        "token": format!("Bearer {}", secrets[1]),
        "jwt": secrets[0],
        "tls.key": format!("-----BEGIN RSA PRIVATE KEY-----\n{}\nQUJDREVGR0g=\n-----END RSA PRIVATE KEY-----\n", secrets[2]),
        "storage": format!("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={};EndpointSuffix=core.windows.net", secrets[3]),
        "sas": format!("https://acct.blob.core.windows.net/c/b?sv=2020-08-04&se=2030-01-01&sig={}", secrets[4]),
        "sql": format!("Server=tcp:db;Database=x;User ID=app;Password={};", secrets[5]),
        "app": format!("tenant: t\nclientId: c\nclient_secret: {}\n", secrets[6]),
        "git": format!("https://gituser:{}@github.com/org/repo.git", secrets[7]),
        "config.yaml": format!("db:\n  host: x\n  password: {}\n", secrets[9]),
        "bus": format!("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={}", secrets[10]),
        "big-blob": "QUJD".repeat(2000),
    }}]});
    fake.put(
        "kubectl/namespaces/azure-arc/configmaps.json",
        serde_json::to_vec_pretty(&cm).expect("json"),
    );
    let ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMrekNDQWVPZ0F3SUJBZ0lKQUxh".repeat(40);
    let pods = serde_json::json!({"kind": "List", "items": [{"kind": "Pod",
        "metadata": {"name": "config-agent-1", "namespace": "azure-arc", "uid": "0a1b2c3d-4e5f-6789-abcd-ef0123456789", "resourceVersion": "42"},
        "spec": {"containers": [{"name": "config-agent",
            "image": "mcr.microsoft.com/azurearck8s/config-agent@sha256:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3",
            "env": [{"name": "AZURE_CLIENT_SECRET", "value": secrets[8]}, {"name": "TOKEN_NAMESPACE", "value": "azure-arc"}]}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "config-agent", "restartCount": 0, "ready": true}]}}]});
    fake.put(
        "kubectl/namespaces/azure-arc/pods.json",
        serde_json::to_vec_pretty(&pods).expect("json"),
    );
    let vwc = serde_json::json!({"kind": "List", "items": [{"kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "osm-validator-mesh-osm"},
        "webhooks": [{"name": "osm-config-validator.k8s.io", "clientConfig": {"caBundle": ca,
            "service": {"name": "osm-config-validator", "namespace": "arc-osm-system", "path": "/validate", "port": 9093}}}]}]});
    fake.put(
        "kubectl/cluster/validatingwebhookconfigurations.json",
        serde_json::to_vec_pretty(&vwc).expect("json"),
    );
    fake.put(
        "logs/azure-arc/config-agent-1/config-agent.log",
        format!(
            "{{\"Message\":\"calling ARM with Authorization: Bearer {}\",\"LogType\":\"ConfigAgentTrace\"}}\nfetched {}\nconnect postgres://app:{}@db:5432/x\nlogin with {} ok\n",
            secrets[1], secrets[0], secrets[7], secrets[6]
        ),
    );
    fake.put(
        "az/k8s-extension-list.json",
        format!(
            r#"[{{"name":"flux","extensionType":"microsoft.flux","provisioningState":"Succeeded","configurationSettings":{{"storageKey":"{}"}},"statuses":[]}}]"#,
            secrets[3]
        ),
    );
    // A forbidden list whose error text carries a token: stderr is redacted too.
    fake.put("forbidden/events", format!("Authorization: Bearer {}", secrets[1]));
    secrets
}

#[test]
fn planted_secrets_never_reach_the_bundle() {
    let fake = Fake::new();
    let secrets = secret_fixture(&fake);
    let out = fake.collect(&["-g", "rg1", "-c", "c1", "-t", "connectedClusters"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bundle = fake.bundle();
    let m = common::bundle_members(&bundle);
    let all: Vec<u8> = m.values().flat_map(|v| v.iter().copied()).collect();
    for s in &secrets {
        assert!(
            memchr::memmem::find(&all, s.as_bytes()).is_none(),
            "planted secret {s} survived in the bundle"
        );
        // Not even a recognizable part of it.
        let part = &s[s.len().saturating_sub(16)..];
        assert!(memchr::memmem::find(&all, part.as_bytes()).is_none(), "{part} survived");
    }
    // Ordinary content is intact.
    for keep in [
        "6f1c2a3b-1d2e-4f50-9a8b-7c6d5e4f3a2b",
        "918273645",
        "sha256:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3",
        &"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMrekNDQWVPZ0F3SUJBZ0lKQUxh".repeat(40),
        &"QUJD".repeat(2000),
        "AccountName=acct;AccountKey=[redacted:",
        "https://gituser:[redacted:url-credentials:",
    ] {
        assert!(
            memchr::memmem::find(&all, keep.as_bytes()).is_some(),
            "ordinary content mangled: {}",
            &keep[..keep.len().min(80)]
        );
    }
    let (_, pods) = m
        .iter()
        .find(|(k, _)| k.ends_with("kubectl/namespaces/azure-arc/pods.json"))
        .expect("pods member");
    let pods: Value = serde_json::from_slice(pods).expect("pods JSON");
    assert_eq!(
        pods["items"][0]["spec"]["containers"][0]["env"][1]["value"],
        "azure-arc"
    );
    let man = manifest(&m);
    assert!(step(&man, "kubectl/namespaces/azure-arc/events")["stderr"]
        .as_str()
        .is_some_and(|e| e.contains("Forbidden") && e.contains("Bearer [redacted:bearer-token:")));
    let repl = &man["redaction"]["replacements"];
    for kind in [
        "bearer-token",
        "jwt",
        "private-key",
        "key",
        "signature",
        "client-secret",
        "url-credentials",
        "password",
    ] {
        // (The storage key is planted both under a `storageKey` key and bare: one value has one
        // token, named by whichever step redacted it first, so its kind is not asserted.)
        assert!(
            repl[kind].as_u64().unwrap_or(0) >= 1,
            "no {kind} replacement counted: {repl}"
        );
    }
    assert_eq!(man["redaction"]["enabled"], true);
    // The per-file report names kinds and counts, never values; every stored output has a digest.
    let files = &man["redaction"]["files"];
    assert!(
        files["logs/azure-arc/config-agent-1/config-agent.log"]["bearer-token"].as_u64() >= Some(1),
        "{files}"
    );
    for s in &secrets {
        assert!(!files.to_string().contains(&**s));
    }
    for st in man["steps"].as_array().into_iter().flatten() {
        if let Some(out) = st["output"].as_str() {
            let key = m.keys().find(|k| k.ends_with(out)).cloned().unwrap_or_default();
            let want = arcdiag::bundle::digest::sha256_hex(&m[&key]);
            assert_eq!(st["sha256"].as_str(), Some(want.as_str()), "{out}");
        }
    }
    // Every JSON output is still valid JSON and the bundle analyzes.
    for (k, v) in &m {
        if k.ends_with(".json") {
            assert!(serde_json::from_slice::<Value>(v).is_ok(), "{k} is no longer JSON");
        }
    }
    let report = analyze(&bundle);
    assert_eq!(
        input_state(&report, "kubectl/namespaces/azure-arc/configmaps"),
        "present"
    );
    assert_eq!(input_state(&report, "az/k8s-extension-list"), "present");
}

#[test]
fn no_redact_warns_and_keeps_values() {
    let fake = Fake::new();
    let secrets = secret_fixture(&fake);
    let out = fake.collect(&["--no-redact"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("--no-redact"), "{}", stderr(&out));
    let m = common::bundle_members(&fake.bundle());
    let all: Vec<u8> = m.values().flat_map(|v| v.iter().copied()).collect();
    assert!(memchr::memmem::find(&all, secrets[5].as_bytes()).is_some());
    assert_eq!(manifest(&m)["redaction"]["enabled"], false);
}

#[test]
fn deadline_writes_a_partial_bundle() {
    let fake = Fake::new();
    fake.put("hang/pods", "");
    let start = std::time::Instant::now();
    let out = fake.collect(&["--deadline", "3", "--step-timeout", "60"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
    let bundle = fake.bundle();
    let man = manifest(&common::bundle_members(&bundle));
    assert_eq!(man["complete"], false);
    assert_eq!(step(&man, "kubectl/cluster/nodes")["status"], "ok");
    let report = analyze(&bundle);
    assert_eq!(report["bundle"]["complete"], false);
}

#[test]
fn ctrl_c_writes_a_partial_bundle() {
    let fake = Fake::new();
    fake.put("hang/pods", "");
    let path = format!("{}:{}", fake.bin.display(), std::env::var("PATH").unwrap_or_default());
    let child = Command::new(BIN)
        .args(["collect", "--plain", "--step-timeout", "120", "--output"])
        .arg(&fake.out)
        .env("PATH", path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn collect");
    // Wait until a pods step hangs, then interrupt.
    let t0 = std::time::Instant::now();
    while !fake.data.join("hang.pid").exists() && t0.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sends SIGINT to the child this test started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("wait collect");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(t0.elapsed().as_secs() < 30);
    let bundle = fake.bundle();
    let man = manifest(&common::bundle_members(&bundle));
    assert_eq!(man["complete"], false);
    let stopped = man["steps"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter(|s| s["stderr"].as_str().unwrap_or("").contains("interrupted"))
                .count()
        })
        .unwrap_or(0);
    assert!(stopped >= 1, "no step says it was interrupted");
    analyze(&bundle);
}

#[test]
fn a_discovery_list_of_an_unserved_type_is_not_found_not_failed() {
    // A cluster without Flux serves no fluxconfigs: discovering their namespaces found nothing,
    // and the report must not show that as a failed input.
    let fake = Fake::new();
    let out = fake.collect(&["--jobs", "8"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = manifest(&common::bundle_members(&fake.bundle()));
    let step = m["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == "discovery/fluxconfigs")
        .cloned()
        .expect("the fluxconfigs discovery step");
    assert_eq!(step["status"], "not-found", "{step}");
}
