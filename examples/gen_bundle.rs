//! A deterministic synthetic arcdiag bundle (format v1, `.tar.gz`) for benchmarks and tests.
//!
//! ```text
//! cargo run --release --example gen_bundle -- --size 1GiB --pods 20000 --events 20000 --out bench/out/1g
//! ```
//!
//! writes into `--out`:
//! - `bundle.tar.gz`: block gzip as `arcdiag collect` writes it (`arcdiag::bundle::gzblocks`; one
//!   ordinary gzip stream, as `tar czf` writes it, with `--single-stream`): `manifest.json`,
//!   `kubectl/` lists (nodes, namespaces, and per namespace pods, events, services), and one log
//!   per container under `logs/`, klog and JSON lines, long and short, filling the bundle up to
//!   `--size` uncompressed. With `--digests` the manifest records each member's sha256, as collect
//!   does, and `analyze` verifies them; without, the bundle is unverifiable (the other members'
//!   bytes are the same);
//! - `expected.json`: the findings `arcdiag analyze` must report, exactly: code, subject, and the
//!   evidence locations (`path:line` for log lines, `path (object field)` for objects);
//! - `patterns.ere`: the built-in log signatures as `grep -E` patterns (for `bench/run.sh`).
//!
//! The same arguments always give the same bytes (fixed seed, fixed mtimes). Known signature lines
//! (K8S007 `failed calling webhook`, K8S008 `x509: certificate has expired`) are planted at recorded
//! lines, and a handful of pods and one node are given states that make K8S001..K8S006 fire; every
//! other pod is healthy. Near misses (lines that share words with a signature but do not match it)
//! are sprinkled through the logs so the matcher's prefilter has candidates to reject.

use arcdiag::bundle::gzblocks::BlockGzWriter;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Target uncompressed size of the whole bundle, in bytes.
    pub size: u64,
    pub pods: usize,
    pub events: usize,
    pub seed: u64,
    /// gzip level (0-9); 6 is what `gzip` and Go's `compress/gzip` use by default.
    pub level: u32,
    /// Main-container logs made `long_log_size` bytes each (the first two carry planted lines),
    /// for the "few huge logs" shape; the rest of `size` is spread over the other logs.
    pub long_logs: usize,
    pub long_log_size: u64,
    /// One ordinary gzip stream (what `tar czf` and other tools write) instead of block gzip
    /// (what `arcdiag collect` writes).
    pub single_stream: bool,
    /// Record each member's sha256 in its manifest step, as `arcdiag collect` does, so that
    /// `analyze` verifies the bundle (without, it is unverifiable; the bytes hashed are the same).
    pub digests: bool,
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Generated {
    pub bundle: PathBuf,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    pub members: usize,
    pub logs: usize,
    /// Findings `arcdiag analyze` must report: (code, subject) → evidence locations.
    pub expected: BTreeMap<(String, String), Vec<String>>,
}

const TOP: &str = "arcdiag-synth-20261125T170000Z";
const MTIME: u64 = 1_795_626_000; // 2026-11-25T17:00:00Z
/// A log line at most this long (the long ones are a few KiB).
const MAX_LOG_BYTES: u64 = 10 << 20;

/// SplitMix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
}

/// Parse `1GiB`, `512MiB`, `64MB`, `1000000`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((n * mult) as u64)
}

struct Pod {
    ns: String,
    name: String,
    node: String,
    containers: Vec<String>,
    json_logs: bool,
    /// Which planted state, if any.
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Healthy,
    Succeeded,
    CrashLoop,
    ImagePull,
    OomKilled,
    Unschedulable,
    Evicted,
}

/// The compressor: block gzip or one stream.
enum Gz {
    Blocks(BlockGzWriter<BufWriter<File>>),
    Stream(GzEncoder<BufWriter<File>>),
}

impl Gz {
    fn finish(self) -> std::io::Result<BufWriter<File>> {
        match self {
            Gz::Blocks(w) => w.finish(),
            Gz::Stream(w) => w.finish(),
        }
    }
}

impl Write for Gz {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Gz::Blocks(w) => w.write(data),
            Gz::Stream(w) => w.write(data),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Gz::Blocks(w) => w.flush(),
            Gz::Stream(w) => w.flush(),
        }
    }
}

struct Writer {
    tar: tar::Builder<Gz>,
    bytes: u64,
    members: usize,
    steps: Vec<Value>,
    digests: bool,
}

impl Writer {
    fn add(&mut self, rel: &str, data: &[u8], step: Option<(&str, Vec<String>)>) -> std::io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(MTIME);
        h.set_entry_type(tar::EntryType::Regular);
        self.tar.append_data(&mut h, format!("{TOP}/{rel}"), data)?;
        self.bytes += data.len() as u64 + 512;
        self.members += 1;
        if let Some((id, argv)) = step {
            let mut s = json!({
                "id": id, "argv": argv, "output": rel, "status": "ok", "exit_code": 0,
                "duration_ms": 100 + data.len() / 100_000, "bytes": data.len(), "truncated": false, "stderr": ""
            });
            if self.digests {
                s["sha256"] = Value::String(arcdiag::bundle::digest::sha256_hex(data));
            }
            self.steps.push(s);
        }
        Ok(())
    }
}

fn list(items: Vec<Value>) -> Vec<u8> {
    let v = json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}});
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn ts(sec: u64) -> String {
    // 2026-11-25, seconds since midnight
    let s = sec % 86_400;
    format!("2026-11-25T{:02}:{:02}:{:02}Z", s / 3600, (s / 60) % 60, s % 60)
}

fn pod_json(p: &Pod, rng: &mut Rng, i: usize) -> Value {
    let uid = format!(
        "{}-{}-4{}-a{}-{}",
        rng.hex(8),
        rng.hex(4),
        rng.hex(3),
        rng.hex(3),
        rng.hex(12)
    );
    let app = p.name.rsplitn(3, '-').last().unwrap_or(&p.name).to_string();
    let containers: Vec<Value> = p
        .containers
        .iter()
        .map(|c| {
            json!({
                "name": c,
                "image": format!("contoso.azurecr.io/{app}/{c}:1.{}.{}", i % 7, i % 13),
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                        {"name": "LOG_LEVEL", "value": "info"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access", "readOnly": true}]
            })
        })
        .collect();
    let started = 36_000 + (i as u64 % 3600);
    let mut phase = "Running";
    let mut reason: Option<&str> = None;
    let mut message: Option<String> = None;
    let mut conditions = vec![
        json!({"type": "Initialized", "status": "True", "lastTransitionTime": ts(started)}),
        json!({"type": "Ready", "status": "True", "lastTransitionTime": ts(started + 5)}),
        json!({"type": "ContainersReady", "status": "True", "lastTransitionTime": ts(started + 5)}),
        json!({"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(started)}),
    ];
    let mut statuses = Vec::new();
    for (ci, c) in p.containers.iter().enumerate() {
        let restarts = (i + ci) as u64 % 4;
        let image = format!("contoso.azurecr.io/{app}/{c}:1.{}.{}", i % 7, i % 13);
        let mut st = json!({
            "name": c, "image": image.clone(), "imageID": format!("contoso.azurecr.io/{app}/{c}@sha256:{}", rng.hex(64)),
            "containerID": format!("containerd://{}", rng.hex(64)),
            "ready": true, "started": true, "restartCount": restarts,
            "state": {"running": {"startedAt": ts(started + 3)}},
            "lastState": {}
        });
        if ci == 0 {
            match p.state {
                State::CrashLoop => {
                    st["ready"] = json!(false);
                    st["started"] = json!(false);
                    st["restartCount"] = json!(14);
                    st["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 5m0s restarting failed container={c} pod={}_{}({uid})", p.name, p.ns)}});
                    st["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ts(61_000), "finishedAt": ts(61_003), "containerID": format!("containerd://{}", rng.hex(64))}});
                }
                State::ImagePull => {
                    st["ready"] = json!(false);
                    st["started"] = json!(false);
                    st["restartCount"] = json!(0);
                    st["state"] = json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}});
                }
                State::OomKilled => {
                    st["restartCount"] = json!(2);
                    st["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": ts(50_000), "finishedAt": ts(58_000), "containerID": format!("containerd://{}", rng.hex(64))}});
                }
                State::Succeeded => {
                    st["ready"] = json!(false);
                    st["started"] = json!(false);
                    st["state"] = json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ts(started), "finishedAt": ts(started + 40)}});
                }
                _ => {}
            }
        }
        statuses.push(st);
    }
    match p.state {
        State::Succeeded => phase = "Succeeded",
        State::Unschedulable => {
            phase = "Pending";
            statuses.clear();
            conditions = vec![
                json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/12 nodes are available: 12 Insufficient memory. preemption: 0/12 nodes are available: 12 No preemption victims found for incoming pod.",
                "lastTransitionTime": ts(60_000)}),
            ];
        }
        State::Evicted => {
            phase = "Failed";
            reason = Some("Evicted");
            message = Some("The node was low on resource: memory. Threshold quantity: 100Mi, available: 87204Ki. Container main was using 1843212Ki, request is 128Mi, has larger consumption of memory. ".into());
            statuses.clear();
            conditions.clear();
        }
        State::CrashLoop | State::ImagePull => {
            conditions[1] = json!({"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": format!("containers with unready status: [{}]", p.containers[0]), "lastTransitionTime": ts(60_000)});
        }
        _ => {}
    }
    let mut status = json!({
        "phase": phase, "hostIP": format!("10.224.{}.{}", i % 250, (i / 250) % 250 + 4),
        "podIP": format!("10.244.{}.{}", (i / 250) % 250, i % 250 + 2),
        "qosClass": "Burstable", "startTime": ts(started), "conditions": conditions, "containerStatuses": statuses
    });
    if let Some(r) = reason {
        status["reason"] = json!(r);
    }
    if let Some(m) = message {
        status["message"] = json!(m);
    }
    let rs = p.name.rsplit_once('-').map(|x| x.0).unwrap_or(&p.name).to_string();
    let spec_node = if p.state == State::Unschedulable {
        Value::Null
    } else {
        json!(p.node)
    };
    let mut spec = json!({
        "containers": containers, "dnsPolicy": "ClusterFirst", "enableServiceLinks": true,
        "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "restartPolicy": "Always",
        "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccount": "default",
        "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
        "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}],
        "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]
    });
    if !spec_node.is_null() {
        spec["nodeName"] = spec_node;
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": p.name, "namespace": p.ns, "uid": uid, "resourceVersion": format!("{}", 100_000 + i),
            "creationTimestamp": ts(started - 2), "generateName": format!("{rs}-"),
            "labels": {"app.kubernetes.io/name": app, "pod-template-hash": rs.rsplit('-').next().unwrap_or("x")},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": rng.hex(32), "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": spec,
        "status": status
    })
}

fn event_json(ns: &str, pod: &str, reason: &str, typ: &str, message: &str, i: usize, rng: &mut Rng) -> Value {
    let t = 40_000 + (i as u64 % 40_000);
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{pod}.{}", rng.hex(16)), "namespace": ns, "uid": rng.hex(32),
                     "resourceVersion": format!("{}", 500_000 + i), "creationTimestamp": ts(t)},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": ns, "uid": rng.hex(32), "fieldPath": "spec.containers{main}"},
        "reason": reason, "message": message, "type": typ, "count": 1 + i % 5,
        "firstTimestamp": ts(t), "lastTimestamp": ts(t + 30),
        "source": {"component": "kubelet", "host": "aks-nodepool1-12345678-vmss000000"},
        "reportingComponent": "kubelet", "reportingInstance": "aks-nodepool1-12345678-vmss000000"
    })
}

const WORDS: &[&str] = &[
    "reconcile",
    "object",
    "applied",
    "revision",
    "controller",
    "cache",
    "sync",
    "watch",
    "lease",
    "renewed",
    "leader",
    "elected",
    "queue",
    "depth",
    "request",
    "latency",
    "status",
    "updated",
    "health",
    "probe",
];

/// One ordinary log line (no newline).
fn log_line(rng: &mut Rng, json_fmt: bool, ns: &str, pod: &str, n: u64, out: &mut Vec<u8>) {
    let sec = 36_000 + n / 8;
    let (h, m, s) = (sec / 3600 % 24, sec / 60 % 60, sec % 60);
    let us = rng.below(1_000_000);
    let roll = rng.below(1000);
    if json_fmt {
        if roll < 30 {
            // long error with an escaped stack trace and quoted names
            let mut st = String::new();
            for k in 0..(10 + rng.below(30)) {
                st.push_str(&format!(
                    "sigs.k8s.io/controller-runtime/pkg/internal/controller.(*Controller).reconcileHandler{k}\\n\\t/go/pkg/mod/sigs.k8s.io/controller-runtime@v0.17.2/pkg/internal/controller/controller.go:{}\\n",
                    100 + rng.below(300)
                ));
            }
            let _ = write!(
                out,
                r#"{{"level":"error","ts":"2026-11-25T{h:02}:{m:02}:{s:02}.{:03}Z","msg":"Reconciler error","controller":"kustomization","namespace":"{ns}","name":"{pod}","reconcileID":"{}","error":"apply failed: Deployment/{ns}/{pod} dry-run failed: Get \"https://10.0.0.1:443/apis/apps/v1/namespaces/{ns}/deployments/{pod}\": context deadline exceeded","stacktrace":"{st}"}}"#,
                us / 1000,
                rng.hex(32)
            );
        } else if roll < 36 {
            // near miss: quoted webhook text without the failure, and another x509 error
            let _ = write!(
                out,
                r#"{{"level":"info","ts":"2026-11-25T{h:02}:{m:02}:{s:02}.{:03}Z","msg":"calling webhook \"validate.{ns}.svc\" succeeded","x509":"certificate has been renewed","latency":"{}ms"}}"#,
                us / 1000,
                rng.below(900)
            );
        } else {
            let w1 = rng.pick(WORDS);
            let w2 = rng.pick(WORDS);
            let _ = write!(
                out,
                r#"{{"level":"info","ts":"2026-11-25T{h:02}:{m:02}:{s:02}.{:03}Z","logger":"controller.{w1}","msg":"{w1} {w2} completed","namespace":"{ns}","name":"{pod}","revision":"main@sha1:{}","duration":"{}ms"}}"#,
                us / 1000,
                rng.hex(40),
                rng.below(5000)
            );
        }
    } else if roll < 25 {
        // long klog line: a response body dump
        let _ = write!(
            out,
            "I1125 {h:02}:{m:02}:{s:02}.{us:06}       1 request.go:1212] Response Body: {{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{{\"resourceVersion\":\"{}\"}},\"rows\":[",
            rng.below(10_000_000)
        );
        for k in 0..(8 + rng.below(40)) {
            let _ = write!(
                out,
                "{{\"cells\":[\"{pod}-{k}\",\"Running\",{},\"{}\"],\"object\":{{\"kind\":\"PartialObjectMetadata\",\"metadata\":{{\"uid\":\"{}\"}}}}}},",
                rng.below(9),
                rng.hex(12),
                rng.hex(32)
            );
        }
        out.extend_from_slice(b"{}]}");
    } else if roll < 32 {
        // near miss: a different TLS error
        let _ = write!(
            out,
            "W1125 {h:02}:{m:02}:{s:02}.{us:06}       1 reflector.go:539] failed to list *v1.ConfigMap: Get \"https://10.0.0.1:443/api/v1/namespaces/{ns}/configmaps\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
        );
    } else {
        let w1 = rng.pick(WORDS);
        let w2 = rng.pick(WORDS);
        let _ = write!(
            out,
            "I1125 {h:02}:{m:02}:{s:02}.{us:06}       1 {w1}.go:{}] \"{w1} {w2}\" object=\"{ns}/{pod}\" duration=\"{}.{}ms\"",
            40 + rng.below(400),
            rng.below(90),
            rng.below(10)
        );
    }
}

fn plant_webhook(json_fmt: bool, ns: &str, webhook: &str, svc: &str) -> String {
    let msg = format!(
        "failed calling webhook \"{webhook}\": failed to call webhook: Post \"https://{svc}.{ns}.svc:443/v1/admit?timeout=3s\": no endpoints available for service \"{svc}\""
    );
    if json_fmt {
        // JSON-escaped: the quotes become \" and only the decoded line matches.
        let esc = serde_json::to_string(&format!("Internal error occurred: {msg}")).unwrap_or_default();
        format!(r#"{{"level":"error","ts":"2026-11-25T16:41:07.118Z","msg":"Reconciler error","error":{esc}}}"#)
    } else {
        // klog structured logging quotes the value and escapes the quotes inside it.
        format!(
            "E1125 16:41:07.118223       1 controller.go:329] \"Reconciler error\" err=\"Internal error occurred: {}\"",
            msg.replace('"', "\\\"")
        )
    }
}

fn plant_x509(json_fmt: bool) -> String {
    let msg = "Get \"https://gitea.contoso.internal/platform/config.git/info/refs?service=git-upload-pack\": x509: certificate has expired or is not yet valid: current time 2026-11-25T16:42:11Z is after 2026-11-20T00:00:00Z";
    if json_fmt {
        let esc = serde_json::to_string(&format!(
            "failed to checkout and determine revision: unable to clone: {msg}"
        ))
        .unwrap_or_default();
        format!(
            r#"{{"level":"error","ts":"2026-11-25T16:42:11.004Z","msg":"Reconciler error","controller":"gitrepository","error":{esc}}}"#
        )
    } else {
        format!("E1125 16:42:11.004512       1 reconciler.go:88] unable to clone: {msg}")
    }
}

fn loc(path: &str, line: u64) -> String {
    format!("{path}:{line}")
}

fn obj_loc(path: &str, object: &str, field: &str) -> String {
    format!("{path} ({object} {field})")
}

pub fn generate(opts: &Options, out_dir: &Path) -> std::io::Result<Generated> {
    std::fs::create_dir_all(out_dir)?;
    let bundle = out_dir.join("bundle.tar.gz");
    let file = BufWriter::with_capacity(1 << 20, File::create(&bundle)?);
    let level = Compression::new(opts.level.min(9));
    let gz = if opts.single_stream {
        Gz::Stream(GzEncoder::new(file, level))
    } else {
        Gz::Blocks(BlockGzWriter::new(file, level))
    };
    let mut tarb = tar::Builder::new(gz);
    tarb.mode(tar::HeaderMode::Deterministic);
    let mut w = Writer {
        tar: tarb,
        bytes: 0,
        members: 0,
        digests: opts.digests,
        steps: Vec::new(),
    };
    let mut rng = Rng(opts.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x1234_5678);
    let mut expected: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();

    // Namespaces and nodes.
    let n_ns = (opts.pods / 250).clamp(4, 400);
    let mut namespaces: Vec<String> = vec!["kube-system".into(), "gatekeeper-system".into(), "monitoring".into()];
    for k in 0..n_ns.saturating_sub(3) {
        namespaces.push(format!("team-{k:03}"));
    }
    let n_nodes = (opts.pods / 110).clamp(3, 1000);
    let nodes: Vec<String> = (0..n_nodes)
        .map(|k| format!("aks-nodepool1-12345678-vmss{k:06}"))
        .collect();

    // Pods: healthy ones plus the planted states, spread over namespaces.
    let planted_states = [
        State::CrashLoop,
        State::ImagePull,
        State::OomKilled,
        State::Unschedulable,
        State::Evicted,
    ];
    let n_pods = opts.pods.max(planted_states.len() + 8);
    let mut pods: Vec<Pod> = Vec::with_capacity(n_pods);
    let apps = ["web", "api", "worker", "cache", "gateway", "billing", "search", "auth"];
    for i in 0..n_pods {
        let ns = namespaces[i % namespaces.len()].clone();
        let app = apps[(i / namespaces.len()) % apps.len()];
        let name = format!("{app}-{}-{}", rng.hex(10), rng.hex(5));
        let stride = (n_pods / planted_states.len()).max(1);
        let state = if i >= 7 && (i - 7) % stride == 0 && (i - 7) / stride < planted_states.len() {
            planted_states[(i - 7) / stride]
        } else if i % 97 == 13 {
            State::Succeeded
        } else {
            State::Healthy
        };
        let containers = if i % 5 == 0 {
            vec!["main".to_string(), "istio-proxy".to_string()]
        } else {
            vec!["main".to_string()]
        };
        pods.push(Pod {
            ns,
            name,
            node: nodes[i % nodes.len()].clone(),
            containers,
            json_logs: i % 3 != 0,
            state,
        });
    }

    // kubectl/version.json and cluster lists.
    let version = serde_json::to_vec_pretty(&json!({
        "clientVersion": {"major": "1", "minor": "30", "gitVersion": "v1.30.4", "platform": "linux/amd64"},
        "serverVersion": {"major": "1", "minor": "29", "gitVersion": "v1.29.7", "platform": "linux/amd64"}
    }))
    .unwrap_or_default();
    // A step of its own only with digests (every member collect writes but the manifest is one).
    let step = opts.digests.then(|| {
        (
            "kubectl/version",
            ["kubectl", "version", "-o", "json"].map(String::from).to_vec(),
        )
    });
    w.add("kubectl/version.json", &version, step)?;
    let bad_node = nodes.len() / 2;
    let node_items: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let ready = if k == bad_node {
                json!({"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": ts(60_100), "lastTransitionTime": ts(60_200)})
            } else {
                json!({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": ts(61_000), "lastTransitionTime": ts(3_000)})
            };
            json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": n, "uid": format!("node-{k}"), "labels": {"kubernetes.io/os": "linux", "kubernetes.azure.com/agentpool": "nodepool1", "node.kubernetes.io/instance-type": "Standard_D4s_v3"}},
                "spec": {"providerID": format!("azure:///subscriptions/0000/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1/virtualMachines/{k}")},
                "status": {"conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": ts(61_000), "lastTransitionTime": ts(3_000)},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": ts(61_000), "lastTransitionTime": ts(3_000)},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": ts(61_000), "lastTransitionTime": ts(3_000)},
                    ready],
                    "nodeInfo": {"kubeletVersion": "v1.29.7", "osImage": "Ubuntu 22.04.4 LTS", "containerRuntimeVersion": "containerd://1.7.20-1", "operatingSystem": "linux", "architecture": "amd64"}}})
        })
        .collect();
    w.add(
        "kubectl/cluster/nodes.json",
        &list(node_items),
        Some((
            "kubectl/cluster/nodes",
            vec![
                "kubectl".into(),
                "get".into(),
                "nodes".into(),
                "-o".into(),
                "json".into(),
            ],
        )),
    )?;
    expected.insert(
        ("K8S006".into(), format!("Node/{}", nodes[bad_node])),
        vec![obj_loc(
            "kubectl/cluster/nodes.json",
            &format!("Node/{}", nodes[bad_node]),
            "status.conditions[3]",
        )],
    );
    let ns_items: Vec<Value> = namespaces
        .iter()
        .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}, "status": {"phase": "Active"}}))
        .collect();
    w.add(
        "kubectl/cluster/namespaces.json",
        &list(ns_items),
        Some((
            "kubectl/cluster/namespaces",
            vec![
                "kubectl".into(),
                "get".into(),
                "namespaces".into(),
                "-o".into(),
                "json".into(),
            ],
        )),
    )?;

    // Events: ordinary ones spread over pods, plus planted ones.
    let mut events_by_ns: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let n_events = opts.events;
    let normal = [
        ("Scheduled", "Normal", "Successfully assigned {ns}/{pod} to aks-nodepool1-12345678-vmss000001"),
        ("Pulled", "Normal", "Container image \"contoso.azurecr.io/app/main:1.2.3\" already present on machine"),
        ("Created", "Normal", "Created container main"),
        ("Started", "Normal", "Started container main"),
        ("Unhealthy", "Warning", "Readiness probe failed: Get \"http://10.244.1.17:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
    ];
    let healthy: Vec<usize> = (0..pods.len()).filter(|&k| pods[k].state == State::Healthy).collect();
    for i in 0..n_events {
        let p = &pods[healthy[i % healthy.len()]];
        let (reason, typ, msg) = normal[i % normal.len()];
        let msg = msg.replace("{ns}", &p.ns).replace("{pod}", &p.name);
        let e = event_json(&p.ns, &p.name, reason, typ, &msg, i, &mut rng);
        events_by_ns.entry(p.ns.clone()).or_default().push(e);
    }
    // Planted events (appended last in their namespace's list).
    let mut planted_events: Vec<(String, String, usize, String)> = Vec::new(); // (ns, object, index, tag)
    let mut plant_event = |ns: &str, pod: &str, reason: &str, msg: &str, tag: &str, rng: &mut Rng| {
        let e = event_json(ns, pod, reason, "Warning", msg, 7, rng);
        let name = e["metadata"]["name"].as_str().unwrap_or("").to_string();
        let list = events_by_ns.entry(ns.to_string()).or_default();
        list.push(e);
        planted_events.push((
            ns.to_string(),
            format!("Event/{ns}/{name}"),
            list.len() - 1,
            tag.to_string(),
        ));
    };
    for p in &pods {
        match p.state {
            State::ImagePull => plant_event(
                &p.ns,
                &p.name,
                "Failed",
                "Failed to pull image \"contoso.azurecr.io/app/main:1.2.3\": rpc error: code = NotFound desc = failed to pull and unpack image: not found",
                "imagepull",
                &mut rng,
            ),
            State::Unschedulable => plant_event(
                &p.ns,
                &p.name,
                "FailedScheduling",
                "0/12 nodes are available: 12 Insufficient memory. preemption: 0/12 nodes are available: 12 No preemption victims found for incoming pod.",
                "sched",
                &mut rng,
            ),
            _ => {}
        }
    }
    let wh_pod = &pods[healthy[1]];
    let x509_event_pod = &pods[healthy[2]];
    plant_event(
        &wh_pod.ns,
        &wh_pod.name,
        "FailedCreate",
        "Error creating: Internal error occurred: failed calling webhook \"validation.gatekeeper.sh\": failed to call webhook: Post \"https://gatekeeper-webhook-service.gatekeeper-system.svc:443/v1/admit?timeout=3s\": no endpoints available for service \"gatekeeper-webhook-service\"",
        "webhook",
        &mut rng,
    );
    plant_event(
        &x509_event_pod.ns,
        &x509_event_pod.name,
        "FailedMount",
        "MountVolume.SetUp failed for volume \"certs\" : Get \"https://vault.contoso.internal:8200/v1/pki/issue\": x509: certificate has expired or is not yet valid: current time 2026-11-25T16:00:00Z is after 2026-11-20T00:00:00Z",
        "x509",
        &mut rng,
    );
    // Planted evidence of pod states.
    let events_path = |ns: &str| format!("kubectl/namespaces/{ns}/events.json");
    let pods_path = |ns: &str| format!("kubectl/namespaces/{ns}/pods.json");
    let planted_pod_event = |tag: &str, p: &Pod| -> Vec<String> {
        planted_events
            .iter()
            .filter(|(ns, obj, _, t)| t == tag && ns == &p.ns && obj.contains(&p.name))
            .map(|(ns, obj, _, _)| obj_loc(&events_path(ns), obj, "message"))
            .collect()
    };

    // Which logs get planted lines: (pod index, container) → lines to plant.
    let mut n_logs = 0usize;
    let mut log_lines_of: BTreeMap<usize, u64> = BTreeMap::new();

    // Pod lists, per namespace, and events, written before logs (as the collector does).
    let mut pods_by_ns: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (i, p) in pods.iter().enumerate() {
        let v = pod_json(p, &mut rng, i);
        pods_by_ns.entry(p.ns.clone()).or_default().push(v);
    }
    for ns in &namespaces {
        for (resource, by_ns) in [("pods", &mut pods_by_ns), ("events", &mut events_by_ns)] {
            let items = by_ns.remove(ns).unwrap_or_default();
            let rel = format!("kubectl/namespaces/{ns}/{resource}.json");
            let id = format!("kubectl/namespaces/{ns}/{resource}");
            let argv = ["kubectl", "get", resource, "-n", ns, "-o", "json"];
            w.add(
                &rel,
                &list(items),
                Some((&id, argv.iter().map(|a| a.to_string()).collect())),
            )?;
        }
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.12.34", "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}], "selector": {"app.kubernetes.io/name": "web"}}});
        let rel = format!("kubectl/namespaces/{ns}/services.json");
        let id = format!("kubectl/namespaces/{ns}/services");
        w.add(
            &rel,
            &list(vec![svc]),
            Some((
                &id,
                vec![
                    "kubectl".into(),
                    "get".into(),
                    "services".into(),
                    "-n".into(),
                    ns.clone(),
                    "-o".into(),
                    "json".into(),
                ],
            )),
        )?;
    }

    let wh_logs = [healthy[3], healthy[healthy.len() / 2]];
    let x509_logs = [healthy[4], healthy[healthy.len() - 1]];
    // Logs: choose which logs carry planted lines, then size them to fill the bundle.
    // (the manifest, written last, holds one step of ~330 bytes per member)
    let manifest_estimate = (pods.len() as u64 * 6 / 5 + namespaces.len() as u64 * 3) * 850;
    let mut log_budget = opts.size.saturating_sub(w.bytes + manifest_estimate);
    // The long logs: the two that carry planted lines first, then healthy pods from the 10th on.
    let mut long: Vec<usize> = [wh_logs[0], x509_logs[0]]
        .into_iter()
        .chain(healthy.iter().copied().skip(10))
        .take(opts.long_logs)
        .collect();
    long.sort_unstable();
    long.dedup();
    log_budget = log_budget.saturating_sub(long.len() as u64 * opts.long_log_size);
    let mut log_specs: Vec<(usize, String, u64)> = Vec::new(); // (pod index, container, bytes)
    let mut total_weight = 0u64;
    let mut weights = Vec::new();
    for (k, p) in pods.iter().enumerate() {
        if matches!(p.state, State::Unschedulable | State::ImagePull | State::Evicted) {
            continue;
        }
        for c in &p.containers {
            // heavy tail: most logs short, one in ten long
            let wgt = if rng.below(10) == 0 {
                40 + rng.below(200)
            } else {
                1 + rng.below(6)
            };
            weights.push((k, c.clone(), wgt));
            total_weight += wgt;
        }
    }
    for (k, c, wgt) in weights {
        let bytes = (log_budget as u128 * wgt as u128 / total_weight.max(1) as u128) as u64;
        let bytes = if c == "main" && long.binary_search(&k).is_ok() {
            opts.long_log_size
        } else {
            bytes.clamp(200, MAX_LOG_BYTES * 4)
        };
        log_specs.push((k, c, bytes));
    }
    let mut wh_locs: Vec<String> = Vec::new();
    let mut x509_locs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut line_counter = 0u64;
    for (k, c, bytes) in &log_specs {
        let p = &pods[*k];
        let rel = format!("logs/{}/{}/{}.log", p.ns, p.name, c);
        buf.clear();
        let first = c == "main";
        let mut plants: Vec<String> = Vec::new();
        if first && wh_logs.contains(k) {
            let wh = if *k == wh_logs[0] {
                "validation.gatekeeper.sh"
            } else {
                "mutate.kyverno.svc-fail"
            };
            let svc = if *k == wh_logs[0] {
                "gatekeeper-webhook-service"
            } else {
                "kyverno-svc"
            };
            let ns = if *k == wh_logs[0] {
                "gatekeeper-system"
            } else {
                "kyverno"
            };
            for _ in 0..4 {
                plants.push(plant_webhook(p.json_logs, ns, wh, svc));
            }
        }
        if first && x509_logs.contains(k) {
            plants.push(plant_x509(p.json_logs));
            plants.push(plant_x509(!p.json_logs));
        }
        // Lines at which to plant: spread through the log.
        let mut lines = 0u64;
        let mut next_plant = 0usize;
        let est_lines = (bytes / 180).max(plants.len() as u64 + 2);
        let plant_at: Vec<u64> = (0..plants.len())
            .map(|j| 1 + (j as u64 + 1) * est_lines / (plants.len() as u64 + 1))
            .collect();
        while (buf.len() as u64) < *bytes || next_plant < plants.len() {
            lines += 1;
            if next_plant < plants.len() && lines >= plant_at[next_plant] {
                buf.extend_from_slice(plants[next_plant].as_bytes());
                let l = loc(&rel, lines);
                if plants[next_plant].contains("webhook") {
                    wh_locs.push(l);
                } else {
                    // K8S008 groups by certificate: every pod logging this one is one finding.
                    x509_locs
                        .entry("Certificate/gitea.contoso.internal notAfter=2026-11-20T00:00:00Z".into())
                        .or_default()
                        .push(l);
                }
                next_plant += 1;
            } else {
                line_counter += 1;
                log_line(&mut rng, p.json_logs, &p.ns, &p.name, line_counter, &mut buf);
            }
            buf.push(b'\n');
        }
        if first {
            log_lines_of.insert(*k, lines);
        }
        let id = format!("logs/{}/{}/{}", p.ns, p.name, c);
        w.add(
            &rel,
            &buf,
            Some((
                &id,
                vec![
                    "kubectl".into(),
                    "logs".into(),
                    "-n".into(),
                    p.ns.clone(),
                    p.name.clone(),
                    "-c".into(),
                    c.clone(),
                    "--tail=10000".into(),
                ],
            )),
        )?;
        n_logs += 1;
    }

    // Expected findings.
    let wh0_event: Vec<String> = planted_events
        .iter()
        .filter(|(_, _, _, t)| t == "webhook")
        .map(|(ns, obj, _, _)| obj_loc(&events_path(ns), obj, "message"))
        .collect();
    let (mut gk, mut ky): (Vec<String>, Vec<String>) = (wh0_event, Vec::new());
    for l in wh_locs {
        let p = &pods[wh_logs[0]];
        if l.contains(&format!("/{}/{}/", p.ns, p.name)) {
            gk.push(l);
        } else {
            ky.push(l);
        }
    }
    expected.insert(("K8S007".into(), "Webhook/validation.gatekeeper.sh".into()), gk);
    expected.insert(("K8S007".into(), "Webhook/mutate.kyverno.svc-fail".into()), ky);
    for (subj, locs) in x509_locs {
        expected.insert(("K8S008".into(), subj), locs);
    }
    for (ns, obj, _, tag) in &planted_events {
        if tag == "x509" {
            expected.insert(
                (
                    "K8S008".into(),
                    "Certificate/vault.contoso.internal:8200 notAfter=2026-11-20T00:00:00Z".into(),
                ),
                vec![obj_loc(&events_path(ns), obj, "message")],
            );
        }
    }
    for (k, p) in pods.iter().enumerate() {
        let subject = format!("Pod/{}/{}", p.ns, p.name);
        let pod_obj = subject.clone();
        let pp = pods_path(&p.ns);
        let s0 = "status.containerStatuses[0]";
        match p.state {
            State::CrashLoop => {
                let mut ev = vec![
                    obj_loc(&pp, &pod_obj, &format!("{s0}.state.waiting")),
                    obj_loc(&pp, &pod_obj, &format!("{s0}.lastState.terminated")),
                ];
                // the last five lines of its log
                if let Some(&n) = log_lines_of.get(&k) {
                    let rel = format!("logs/{}/{}/main.log", p.ns, p.name);
                    for l in n.saturating_sub(4).max(1)..=n {
                        ev.push(loc(&rel, l));
                    }
                }
                expected.insert(("K8S001".into(), subject), ev);
            }
            State::ImagePull => {
                let mut ev = vec![obj_loc(&pp, &pod_obj, &format!("{s0}.state.waiting"))];
                ev.extend(planted_pod_event("imagepull", p));
                expected.insert(("K8S002".into(), subject), ev);
            }
            State::OomKilled => {
                expected.insert(
                    ("K8S003".into(), subject),
                    vec![obj_loc(&pp, &pod_obj, &format!("{s0}.lastState.terminated"))],
                );
            }
            State::Unschedulable => {
                let mut ev = vec![obj_loc(&pp, &pod_obj, "status.conditions[0]")];
                ev.extend(planted_pod_event("sched", p));
                expected.insert(("K8S004".into(), subject), ev);
            }
            State::Evicted => {
                expected.insert(
                    ("K8S005".into(), subject),
                    vec![obj_loc(&pp, &pod_obj, "status.message")],
                );
            }
            _ => {}
        }
    }

    // The manifest goes last: it lists every step.
    let manifest = json!({
        "format": "arcdiag-bundle/v1",
        "tool": {"name": "arcdiag", "version": "0.1.0"},
        "collected_at": "2026-11-25T17:00:00Z",
        "complete": true,
        "cluster": {"name": "synth", "resource_group": "synth-rg", "type": "managedClusters", "kube_context": "synth-admin"},
        "limits": {"log_tail_lines": 10000, "log_max_bytes": MAX_LOG_BYTES, "since": "24h", "step_timeout_s": 60},
        "redaction": {"enabled": true, "replacements": {}},
        "steps": std::mem::take(&mut w.steps)
    });
    let m = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    w.add("manifest.json", &m, None)?;
    let members = w.members;
    let uncompressed = w.bytes;
    let gz = w.tar.into_inner()?;
    let mut file = gz.finish()?;
    file.flush()?;
    drop(file);
    let compressed = std::fs::metadata(&bundle)?.len();

    let findings: Vec<Value> = expected
        .iter()
        .map(|((code, subject), ev)| json!({"code": code, "subject": subject, "evidence": ev}))
        .collect();
    let exp = json!({
        "bundle": "bundle.tar.gz", "uncompressed_bytes": uncompressed, "compressed_bytes": compressed,
        "members": members, "pods": n_pods, "events": n_events + planted_events.len(), "logs": n_logs,
        "findings": findings
    });
    std::fs::write(
        out_dir.join("expected.json"),
        serde_json::to_vec_pretty(&exp).unwrap_or_default(),
    )?;
    std::fs::write(out_dir.join("patterns.ere"), grep_patterns())?;
    Ok(Generated {
        bundle,
        uncompressed_bytes: uncompressed,
        compressed_bytes: compressed,
        members,
        logs: n_logs,
        expected,
    })
}

/// The built-in log signatures as POSIX extended regular expressions, one per line.
pub fn grep_patterns() -> String {
    let codes = arcdiag::rules::rust_codes();
    let mut out = String::new();
    if let Ok(set) = arcdiag::signatures::SignatureSet::load(&[], &codes) {
        for s in set
            .sigs
            .iter()
            .filter(|s| s.applies_to(arcdiag::signatures::Place::Logs))
        {
            let mut p = s.regex.as_str().to_string();
            // (?P<name>...) and (?:...) become plain groups.
            while let Some(i) = p.find("(?P<") {
                match p[i..].find('>') {
                    Some(j) => p.replace_range(i..i + j + 1, "("),
                    None => break,
                }
            }
            p = p.replace("(?:", "(");
            out.push_str(&p);
            out.push('\n');
        }
    }
    out
}

#[allow(dead_code)]
fn main() {
    let mut opts = Options {
        size: 64 << 20,
        pods: 2000,
        events: 2000,
        seed: 1,
        level: 6,
        long_logs: 0,
        long_log_size: 64 << 20,
        single_stream: false,
        digests: false,
    };
    let mut out: Option<PathBuf> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen_bundle --out DIR [--size 1GiB] [--pods N] [--events N] [--seed N] [--level 0-9] [--long-logs N] [--long-log-size 64MiB] [--single-stream] [--digests]";
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).cloned().unwrap_or_default();
        let num = |v: &str| -> usize {
            v.replace('_', "").parse().unwrap_or_else(|_| {
                eprintln!("not a number: {v}\n{usage}");
                std::process::exit(2)
            })
        };
        match args[i].as_str() {
            "--size" => {
                opts.size = parse_size(&val).unwrap_or_else(|| {
                    eprintln!("not a size: {val}\n{usage}");
                    std::process::exit(2)
                })
            }
            "--pods" => opts.pods = num(&val),
            "--events" => opts.events = num(&val),
            "--seed" => opts.seed = num(&val) as u64,
            "--level" => opts.level = num(&val) as u32,
            "--long-logs" => opts.long_logs = num(&val),
            "--long-log-size" => {
                opts.long_log_size = parse_size(&val).unwrap_or_else(|| {
                    eprintln!("not a size: {val}\n{usage}");
                    std::process::exit(2)
                })
            }
            "--out" => out = Some(PathBuf::from(&val)),
            "--single-stream" => {
                opts.single_stream = true;
                i += 1;
                continue;
            }
            "--digests" => {
                opts.digests = true;
                i += 1;
                continue;
            }
            _ => {
                eprintln!("{usage}");
                std::process::exit(2)
            }
        }
        i += 2;
    }
    let Some(out) = out else {
        eprintln!("{usage}");
        std::process::exit(2)
    };
    match generate(&opts, &out) {
        Ok(g) => {
            println!(
                "{}: {} bytes uncompressed, {} compressed, {} members, {} logs, {} expected findings",
                g.bundle.display(),
                g.uncompressed_bytes,
                g.compressed_bytes,
                g.members,
                g.logs,
                g.expected.len()
            );
        }
        Err(e) => {
            eprintln!("gen_bundle: {e}");
            std::process::exit(1)
        }
    }
}
