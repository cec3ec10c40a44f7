//! The redactor alone, in MB/s, beside the cost of reading the same bytes (gunzip of them, and a
//! newline count). Generates about `MiB` (default 1024) of realistic input, half logs (plain and
//! JSON lines: controller logs, HTTP traces, a few secrets) and half kubectl JSON (pod lists with
//! env, annotations, CA bundles), then redacts each corpus with one `Redactor`.
//!
//! `cargo run --release --example redact_bench -- [MiB]`

use arcdiag::redact::{Redactor, Shape};
use std::io::{Read, Write};
use std::time::Instant;

fn logs(target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + 4096);
    let mut i = 0u64;
    while out.len() < target {
        i += 1;
        let line = match i % 10 {
            0 => format!("{{\"level\":\"info\",\"ts\":\"2026-12-04T10:{:02}:{:02}.123Z\",\"logger\":\"controller.kustomization\",\"msg\":\"Reconciliation finished in 1.2s, next run in 10m0s\",\"name\":\"app-{i}\",\"namespace\":\"flux-system\",\"revision\":\"main@sha1:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5\"}}\n", i % 60, i % 60),
            1 => format!("I1204 10:00:{:02}.000000       1 reflector.go:255] Listing and watching *v1.Pod from k8s.io/client-go/informers/factory.go:150 ({i})\n", i % 60),
            2 => format!("2026-12-04T10:00:00Z GET /apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/repo-{i} 200 OK in 12ms\n"),
            3 => format!("{{\"Message\":\"calling ARM https://management.azure.com/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c1?api-version=2024-01-01 status 200\",\"LogType\":\"ConfigAgentTrace\",\"seq\":{i}}}\n"),
            4 if i % 1000 == 4 => format!("request headers map[Accept:[application/json] Authorization:[Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eXoiLCJuIjoi{i:08}In0.c2lnbmF0dXJlX3NpZ25hdHVyZQ]]\n"),
            5 => format!("E1204 10:00:00.000000       1 controller.go:120] failed to get secret flux-system/git-credentials: secrets \"git-credentials\" not found (attempt {i})\n"),
            6 if i % 2000 == 6 => format!("connecting with DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=q8Zk3VbN0rT5yXw2LmP9sD4fGh7JkL1aB6cE0iO3uY5tR8eW2qA4sD6fG9hJ1kL3zX5cV7bN9mQ2wE4rT6yU{:02}==;EndpointSuffix=core.windows.net\n", i % 100),
            _ => format!("2026-12-04T10:00:00.000Z\tinfo\tmetrics\tscrape of kubelet /metrics/cadvisor took 31ms, {i} series, 0 errors\n"),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn kubectl_json(target: usize) -> Vec<u8> {
    let ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUREekNDQWZlZ0F3SUJBZ0lSQU".repeat(20);
    let mut items = Vec::new();
    let mut size = 0;
    let mut i = 0u64;
    while size < target {
        i += 1;
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("app-{i}"), "namespace": "flux-system",
                "uid": format!("6f1c2a3b-1d2e-4f50-9a8b-{i:012}"), "resourceVersion": format!("{}", 100000 + i),
                "labels": {"app.kubernetes.io/name": "source-controller", "pod-template-hash": "7c9f8d6b5"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": format!("{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"app-{i}\"}}}}"),
                    "ca-bundle": ca}},
            "spec": {"containers": [{"name": "manager",
                "image": "mcr.microsoft.com/oss/fluxcd/source-controller@sha256:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3",
                "args": ["--events-addr=http://notification-controller.flux-system.svc.cluster.local./", "--watch-all-namespaces=true", "--log-level=info"],
                "env": [{"name": "RUNTIME_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "TUF_ROOT", "value": "/tmp/.sigstore"},
                        {"name": "DB_PASSWORD", "value": if i.is_multiple_of(500) { format!("pw-{i}") } else { "$(FROM_SECRET)".into() }}],
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access", "readOnly": true}]}],
                "serviceAccountName": "source-controller", "automountServiceAccountToken": true},
            "status": {"phase": "Running", "podIP": "10.244.0.12", "containerStatuses": [{"name": "manager", "ready": true, "restartCount": 0,
                "imageID": "mcr.microsoft.com/oss/fluxcd/source-controller@sha256:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3"}]}
        });
        size += 2600;
        items.push(pod);
    }
    let list =
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}});
    serde_json::to_vec_pretty(&list).unwrap_or_default()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

fn main() {
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1024);
    let half = mib << 19;
    for (name, data, shape) in [
        ("logs", logs(half), Shape::Log),
        ("kubectl JSON", kubectl_json(half), Shape::Json),
    ] {
        let z = gz(&data);
        let t = Instant::now();
        let mut d = flate2::read::GzDecoder::new(&z[..]);
        let mut sink = Vec::with_capacity(data.len());
        let _ = d.read_to_end(&mut sink);
        let gunzip = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let lines = memchr::memchr_iter(b'\n', &data).count();
        let count = t.elapsed().as_secs_f64();
        let red = Redactor::new();
        let t = Instant::now();
        let o = red.redact(&data, shape);
        let secs = t.elapsed().as_secs_f64();
        let n: u64 = o.counts.values().sum();
        println!(
            "{name}: {:.1} MB, {lines} lines: redact {:.0} MB/s ({n} replacements, {:?}); gunzip {:.0} MB/s; newline count {:.0} MB/s",
            data.len() as f64 / 1e6,
            mbps(data.len(), secs),
            o.counts,
            mbps(data.len(), gunzip),
            mbps(data.len(), count),
        );
    }
}
