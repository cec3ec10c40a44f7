//! `arcdiag redact` and `arcdiag verify` through the real binary: a re-redacted bundle analyzes to
//! the same findings (every vendored third-party bundle, the cluster-info dump, the sample), its
//! digests verify, a changed member is named by `verify` and by `analyze` in every format, and
//! planted secrets in a bundle made without redaction are gone from its re-redacted copy.

mod common;

use common::{analyze_json, arcdiag, bundle_members, root, SAMPLE};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn redact(input: &Path, out: &Path) -> std::process::Output {
    let o = arcdiag(&["redact".as_ref(), input.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert!(
        o.status.success(),
        "redact {} failed: {}",
        input.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn verify(b: &Path) -> (Option<i32>, String, String) {
    let o = arcdiag(&["verify".as_ref(), b.as_os_str()]);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// What a user compares: each finding's code, subject and message.
fn findings(r: &Value) -> Vec<(String, String, String)> {
    r["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    (
                        f["code"].to_string(),
                        f["subject"].to_string(),
                        f["message"].to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn inputs() -> Vec<PathBuf> {
    let r = root();
    let mut v = vec![
        r.join("fixtures/thirdparty/replicatedhq-troubleshoot/support-bundle.tar.gz"),
        r.join("fixtures/thirdparty/replicatedhq-troubleshoot/baseline.tar.gz"),
        r.join("fixtures/thirdparty/replicatedhq-sbctl/sbctl-support-bundle.tar.gz"),
        r.join("fixtures/thirdparty/chris-sanders-troubleshoot-mcp-server/support-bundle-2025-04-11T14_05_31.tar.gz"),
        r.join("fixtures/layouts/cluster-info-dump"),
        r.join(SAMPLE),
    ];
    for p in &v {
        assert!(p.exists(), "missing fixture {}", p.display());
    }
    v.push(common::fixture::rule_case("FLX001/fires"));
    v
}

#[test]
fn re_redacted_bundles_analyze_to_the_same_findings_and_verify() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (i, input) in inputs().iter().enumerate() {
        let out = tmp.path().join(format!("r{i}.tar.gz"));
        redact(input, &out);
        let (_, before, _) = analyze_json(input, &[]);
        let (_, after, _) = analyze_json(&out, &[]);
        assert_eq!(findings(&before), findings(&after), "{}", input.display());
        assert!(!findings(&before).is_empty() || input.to_string_lossy().contains("thirdparty"));
        assert_eq!(after["bundle"]["integrity"]["state"], "verified", "{}", input.display());
        let (code, stdout, stderr) = verify(&out);
        assert_eq!(code, Some(0), "{}: {stdout}{stderr}", input.display());
        assert!(stdout.contains("verified"), "{stdout}");
        // The same input gives the same bytes.
        let again = tmp.path().join(format!("again{i}.tar.gz"));
        redact(input, &again);
        assert_eq!(
            std::fs::read(&out).ok(),
            std::fs::read(&again).ok(),
            "{}",
            input.display()
        );
    }
}

#[test]
fn a_changed_member_is_named_by_verify_and_by_analyze() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = tmp.path().join("good.tar.gz");
    redact(&root().join(SAMPLE), &good);
    // Unpack, change one byte of one member, pack again.
    let dir = tmp.path().join("x");
    let top = "arcdiag-contoso-arc-01-20261125T170000Z";
    for (p, data) in bundle_members(&good) {
        let dst = dir.join(&p);
        if p.ends_with('/') {
            continue;
        }
        std::fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
        std::fs::write(&dst, data).expect("write");
    }
    let victim = dir.join(top).join("kubectl/namespaces/flux-system/pods.json");
    let mut data = std::fs::read(&victim).expect("victim");
    let at = data.iter().position(|c| *c == b'"').expect("a quote") + 1;
    data[at] ^= 0x20;
    std::fs::write(&victim, &data).expect("write victim");
    std::fs::write(dir.join(top).join("planted.txt"), "added later\n").expect("write");
    let (code, stdout, _) = verify(&dir.join(top));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("kubectl/namespaces/flux-system/pods.json"), "{stdout}");
    assert!(stdout.contains("not listed: planted.txt"), "{stdout}");
    let (_, r, _) = analyze_json(&dir.join(top), &[]);
    assert_eq!(r["bundle"]["integrity"]["state"], "mismatch");
    assert_eq!(
        r["bundle"]["integrity"]["mismatched"],
        serde_json::json!(["kubectl/namespaces/flux-system/pods.json"])
    );
    for fmt in ["text", "markdown"] {
        let o = arcdiag(&[
            "analyze".as_ref(),
            "--format".as_ref(),
            fmt.as_ref(),
            dir.join(top).as_os_str(),
        ]);
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(
            s.contains("kubectl/namespaces/flux-system/pods.json") && s.contains("planted.txt"),
            "{fmt}: {s}"
        );
    }
}

#[test]
fn verify_says_when_it_cannot_verify() {
    // No digests (an older bundle, another tool's): exit 2, said so. The sample records them.
    let (code, stdout, _) = verify(&root().join(SAMPLE));
    assert_eq!(code, Some(0), "{stdout}");
    let (code, _, stderr) = verify(&root().join("fixtures/layouts/cluster-info-dump"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("records no digests"), "{stderr}");
    let (code, _, stderr) = verify(Path::new("/nonexistent/bundle.tar.gz"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("/nonexistent/bundle.tar.gz"), "{stderr}");
}

#[test]
fn redact_never_overwrites_and_removes_planted_secrets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A bundle made with --no-redact: the sample plus a ConfigMap list and a log holding secrets.
    let src = tmp.path().join("plain");
    let top = src.join("arcdiag-plain");
    std::fs::create_dir_all(&src).expect("mkdir");
    copy_dir(&root().join(SAMPLE), &top);
    let secrets = [
        "Zq9xW2vB7nM4kL1pR8tY3uI6oA5sD0fG",
        "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        "hunter2-but-longer",
    ];
    let cms = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "app", "namespace": "flux-system", "uid": "5b2f8c1e-0d3a-4e6b-9c7d-1a2b3c4d5e6f", "resourceVersion": "4711"},
        "data": {"config.yaml": format!("db:\n  password: {}\n  host: db.internal\n", secrets[2]),
                 "token": secrets[1], ".env": format!("API_KEY={}\nLOG_LEVEL=debug\n", secrets[0])}}]});
    std::fs::write(
        top.join("kubectl/namespaces/flux-system/configmaps.json"),
        serde_json::to_vec_pretty(&cms).expect("json"),
    )
    .expect("write");
    let log = top.join("logs/flux-system/plain.log");
    std::fs::create_dir_all(log.parent().expect("parent")).expect("mkdir");
    std::fs::write(&log, format!("using token {}\nagain {}\n", secrets[1], secrets[1])).expect("write");
    let out = tmp.path().join("shared.tar.gz");
    let o = redact(&src, &out);
    assert!(String::from_utf8_lossy(&o.stderr).contains("replacement"));
    let m = bundle_members(&out);
    let all: Vec<u8> = m.values().flatten().copied().collect();
    for s in secrets {
        assert!(memchr::memmem::find(&all, s.as_bytes()).is_none(), "{s} survived");
    }
    for keep in [
        "db.internal",
        "LOG_LEVEL=debug",
        "5b2f8c1e-0d3a-4e6b-9c7d-1a2b3c4d5e6f",
        "4711",
    ] {
        assert!(memchr::memmem::find(&all, keep.as_bytes()).is_some(), "{keep} lost");
    }
    // The same token wherever the same secret was: the ConfigMap and twice in the log.
    let cm = String::from_utf8_lossy(&m["arcdiag-plain/kubectl/namespaces/flux-system/configmaps.json"]).into_owned();
    let logged = String::from_utf8_lossy(&m["arcdiag-plain/logs/flux-system/plain.log"]).into_owned();
    let tok = logged
        .split_whitespace()
        .find(|w| w.starts_with("[redacted:"))
        .expect("a token in the log")
        .to_string();
    assert_eq!(logged.matches(&tok).count(), 2, "{logged}");
    assert!(cm.contains(&tok), "{cm}");
    // The manifest reports kinds and counts per file, never values.
    let man: Value = serde_json::from_slice(&m["arcdiag-plain/manifest.json"]).expect("manifest");
    let files = &man["redaction"]["files"];
    assert!(files["logs/flux-system/plain.log"].is_object(), "{files}");
    assert!(!man.to_string().contains(secrets[1]));
    // Never overwritten.
    let o = arcdiag(&["redact".as_ref(), src.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// The README's `redact` and `verify` examples, run as written (the output moved to a temporary
/// folder), do what it says: the redacted sample verifies.
#[test]
fn readme_redact_and_verify_examples_work_on_the_sample() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("shared.tar.gz");
    let mut ran = 0;
    for line in readme.lines() {
        let cmd = line.split('#').next().unwrap_or("").trim();
        if !(cmd.starts_with("arcdiag redact ") || cmd.starts_with("arcdiag verify ")) {
            continue;
        }
        let args: Vec<String> = cmd
            .split_whitespace()
            .skip(1)
            .map(|a| a.replace("/tmp/shared.tar.gz", &out.to_string_lossy()))
            .collect();
        let o = arcdiag(&args);
        assert!(o.status.success(), "{cmd}: {}", String::from_utf8_lossy(&o.stderr));
        ran += 1;
    }
    assert_eq!(ran, 2, "the README shows one redact and one verify example");
}

/// Digests are taken however a member is read: whole (small files, on the pool), in regions (a
/// log over 1 MiB, as it streams by) or not at all (a file no layout parses): a bundle with each
/// verifies, as a directory and as an archive, and one changed byte in the long log is named.
#[test]
fn every_way_a_member_is_read_is_hashed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let top = tmp.path().join("b/arcdiag-digests");
    copy_dir(&root().join(SAMPLE), &top);
    let mut long = String::new();
    let mut i = 0;
    while long.len() < 3 << 20 {
        long.push_str(&format!("2026-11-25T16:00:00Z info line {i} of a long log\n"));
        i += 1;
    }
    std::fs::write(top.join("logs/flux-system/long.log"), &long).expect("write");
    std::fs::write(top.join("notes.bin"), [0u8, 1, 2, 255]).expect("write");
    // Record both in the manifest, as collect would.
    let mpath = top.join("manifest.json");
    let mut man: Value = serde_json::from_slice(&std::fs::read(&mpath).expect("manifest")).expect("json");
    let sha = |b: &[u8]| arcdiag::bundle::digest::sha256_hex(b);
    if let Some(steps) = man["steps"].as_array_mut() {
        steps.push(serde_json::json!({"id": "logs/flux-system/long", "status": "ok", "output": "logs/flux-system/long.log", "sha256": sha(long.as_bytes())}));
        steps.push(
            serde_json::json!({"id": "notes", "status": "ok", "output": "notes.bin", "sha256": sha(&[0u8, 1, 2, 255])}),
        );
    }
    std::fs::write(&mpath, serde_json::to_vec_pretty(&man).expect("json")).expect("write");
    let archive = tmp.path().join("b.tar");
    {
        let f = std::fs::File::create(&archive).expect("create");
        let mut t = tar::Builder::new(f);
        t.append_dir_all("arcdiag-digests", &top).expect("tar");
        t.finish().expect("finish");
    }
    for b in [&top, &archive] {
        let (code, stdout, stderr) = verify(b);
        assert_eq!(code, Some(0), "{}: {stdout}{stderr}", b.display());
    }
    let mut changed = long.into_bytes();
    changed[2 << 20] ^= 1;
    std::fs::write(top.join("logs/flux-system/long.log"), &changed).expect("write");
    let (code, stdout, _) = verify(&top);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("logs/flux-system/long.log"), "{stdout}");
}
