//! The test harness every integration test shares: running the real binary (`arcdiag`,
//! `analyze_json`), the fixtures' paths, and for hostile-input tests raw tar and gzip builders (no
//! validation, so names with `..`, devices and lying sizes can be written) and a runner that
//! measures the child's wall time and peak RSS with its cwd in a fresh temporary folder.
//!
//! Peak RSS is the child's `VmHWM` from `/proc/<pid>/status`, sampled every 2 ms until it exits
//! (a lower bound within the last 2 ms of its life). wait4's `ru_maxrss` is not used: Linux
//! carries the forking process's RSS into the child's across exec, so it reports the size of this
//! test process (which holds the hostile archives) rather than arcdiag's.

#![allow(dead_code)]

pub mod corpus_check;
pub mod fixture;
pub mod later;
pub mod planted;
pub mod planted2;
pub mod planted3;
pub mod serve;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The crate's folder (fixtures are below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample bundle, as a path below [`root`].
pub const SAMPLE: &str = "fixtures/sample/arcdiag-contoso-arc-01-20261125T170000Z";

/// Run the real binary with `args` in the crate's folder (so relative fixture paths work), with
/// `env` added and the thread count left to the binary.
pub fn arcdiag_env<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_arcdiag"));
    c.args(args).current_dir(root()).env_remove("RAYON_NUM_THREADS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run arcdiag")
}

/// [`arcdiag_env`] with no extra environment.
pub fn arcdiag<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    arcdiag_env(args, &[])
}

/// `arcdiag analyze --format json <extra> BUNDLE`: (exit code, the report, stderr). A report
/// that is not JSON fails the test with what the binary printed.
pub fn analyze_json(bundle: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut args: Vec<std::ffi::OsString> = vec!["analyze".into(), "--format".into(), "json".into()];
    args.extend(extra.iter().map(OsString::from));
    args.push(bundle.into());
    let o = arcdiag(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: report is not JSON ({e}): {}\nstderr: {stderr}",
            bundle.display(),
            String::from_utf8_lossy(&o.stdout)
        )
    });
    (o.status.code(), v, stderr)
}

/// Root folder of the base bundle inside archives.
pub const ROOT: &str = "arcdiag-contoso-arc-20261125T170000Z";

/// The files of a valid arcdiag-v1 bundle in which K8S001 fires (error severity: exit 1).
pub fn base_files() -> Vec<(String, Vec<u8>)> {
    let dir = fixture::rule_case("K8S001/fires");
    files_under(&dir)
        .into_iter()
        .map(|(rel, bytes)| (format!("{ROOT}/{rel}"), bytes))
        .collect()
}

/// Copy the tree `from` to `to` (created).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

/// Every file below `dir` by its path relative to `dir` (with `/` separators).
pub fn files_under(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under").to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// The one bundle `collect` wrote into `out_dir` (an otherwise empty folder).
pub fn written_bundle(out_dir: &Path) -> PathBuf {
    std::fs::read_dir(out_dir)
        .expect("out dir")
        .flatten()
        .map(|e| e.path())
        .next()
        .expect("a bundle was written")
}

/// One 512-byte ustar header, written byte by byte with no checks on the name.
pub fn header(name: &[u8], typeflag: u8, size: u64, link: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    // Names over 100 bytes go into the ustar prefix field, split at a '/'.
    let (prefix, name) = match name.len() > 100 {
        true => match (0..name.len())
            .rev()
            .find(|&i| name[i] == b'/' && name.len() - i - 1 <= 100 && i <= 155)
        {
            Some(i) => (&name[..i], &name[i + 1..]),
            None => (&name[..0], name),
        },
        false => (&name[..0], name),
    };
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    h[345..345 + prefix.len()].copy_from_slice(prefix);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    let size_field = format!("{size:011o}\0");
    h[124..136].copy_from_slice(size_field.as_bytes());
    h[136..148].copy_from_slice(b"14712345670\0");
    h[156] = typeflag;
    let l = link.len().min(100);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let ck = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(ck.as_bytes());
    h
}

/// A tar stream built from raw headers.
#[derive(Default)]
pub struct Tar {
    pub buf: Vec<u8>,
}

impl Tar {
    pub fn new() -> Tar {
        Tar::default()
    }
    pub fn with_base() -> Tar {
        let mut t = Tar::new();
        for (n, d) in base_files() {
            t.file(&n, &d);
        }
        t
    }
    pub fn entry(&mut self, name: &[u8], typeflag: u8, data: &[u8], link: &[u8]) -> &mut Tar {
        self.buf
            .extend_from_slice(&header(name, typeflag, data.len() as u64, link));
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }
    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Tar {
        self.entry(name.as_bytes(), b'0', data, b"")
    }
    pub fn pad(&mut self) {
        let rem = self.buf.len() % 512;
        if rem != 0 {
            self.buf.resize(self.buf.len() + 512 - rem, 0);
        }
    }
    pub fn finish(&mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&[0u8; 1024]);
        std::mem::take(&mut self.buf)
    }
}

pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip to memory");
    e.finish().expect("gzip to memory")
}

/// Block gzip, as `arcdiag collect` writes bundles (one gzip member per MiB, lengths in headers).
pub fn block_gz(data: &[u8]) -> Vec<u8> {
    let mut e = arcdiag::bundle::gzblocks::BlockGzWriter::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip to memory");
    e.finish().expect("gzip to memory")
}

/// A gzip file made of concatenated gzip members: a chunk compressed once and repeated makes
/// gigabytes of output from a few megabytes, fast (MultiGzDecoder reads them as one stream).
#[derive(Default)]
pub struct GzParts {
    pub out: Vec<u8>,
}

impl GzParts {
    pub fn bytes(&mut self, b: &[u8]) -> &mut GzParts {
        self.out.extend_from_slice(&gz(b));
        self
    }
    /// `chunk` compressed at the best level (zeros: ~1000:1), repeated `times`.
    pub fn repeat(&mut self, chunk: &[u8], times: usize) -> &mut GzParts {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(chunk).expect("gzip to memory");
        let z = e.finish().expect("gzip to memory");
        for _ in 0..times {
            self.out.extend_from_slice(&z);
        }
        self
    }
}

/// What a child run produced, with its measured cost.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub secs: f64,
    pub peak_rss_mib: f64,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a JSON report ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
    /// The report's bundle.errors as "member: message" lines.
    pub fn errors(&self) -> Vec<String> {
        let j = self.json();
        j["bundle"]["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        format!(
                            "{}: {}",
                            e["member"].as_str().unwrap_or(""),
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn partial(&self) -> bool {
        self.json()["bundle"]["partial"].as_bool().unwrap_or(false)
    }
    /// An error on `member` (archive path, or path under the bundle root) containing `needle`.
    pub fn has_error(&self, member: &str, needle: &str) -> bool {
        let rel = member.strip_prefix(&format!("{ROOT}/")).unwrap_or(member);
        self.errors().iter().any(|e| {
            (e.starts_with(&format!("{member}: ")) || e.starts_with(&format!("{rel}: "))) && e.contains(needle)
        })
    }
    pub fn assert_cost(&self, max_secs: f64, max_rss_mib: f64) {
        assert!(
            self.secs <= max_secs,
            "took {:.1}s, cap {max_secs}s\nstderr: {}",
            self.secs,
            self.stderr
        );
        assert!(
            self.peak_rss_mib <= max_rss_mib,
            "peak RSS {:.0} MiB, cap {max_rss_mib} MiB",
            self.peak_rss_mib
        );
    }
}

/// A hostile input on disk, alone in its own temporary folder.
pub struct Input {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Input {
    pub fn file(name: &str, bytes: &[u8]) -> Input {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write input");
        Input { dir, path }
    }

    /// Run `arcdiag analyze <input> <args>` with cwd in a fresh temp folder; check that nothing
    /// appeared there or beside the input, and print the measurement.
    pub fn analyze(&self, label: &str, args: &[&str]) -> Run {
        let mut full: Vec<OsString> = vec!["analyze".into(), self.path.clone().into_os_string()];
        full.extend(args.iter().map(OsString::from));
        let before = listing(self.dir.path());
        let run = run_in_fresh_cwd(label, &full);
        assert_eq!(
            listing(self.dir.path()),
            before,
            "{label}: files appeared beside the input"
        );
        run
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walk(dir)
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

/// Spawn the binary with its cwd in a new empty folder, wait with wait4 for its rusage.
pub fn run_in_fresh_cwd(label: &str, args: &[OsString]) -> Run {
    let cwd = tempfile::tempdir().expect("temp cwd");
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_arcdiag"))
        .args(args)
        .current_dir(cwd.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn arcdiag");
    let mut so = child.stdout.take().expect("stdout pipe");
    let mut se = child.stderr.take().expect("stderr pipe");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = so.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = se.read_to_end(&mut s);
        s
    });
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak_kb = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
                    break;
                };
                // Before exec the pid still shows this test process: skip until it is arcdiag.
                if status.lines().next().map(|l| l.trim_end().ends_with("arcdiag")) == Some(true) {
                    let hwm = status
                        .lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                    match hwm {
                        Some(kb) => peak_kb = peak_kb.max(kb),
                        None => break, // exited (zombie)
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            peak_kb
        })
    };
    let status = child.wait().expect("wait for arcdiag");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    let peak_kb = sampler.join().unwrap_or(0);
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    let Some(code) = status.code() else {
        panic!("{label}: arcdiag died by a signal ({status})\nstderr: {stderr}");
    };
    let peak_rss_mib = peak_kb as f64 / 1024.0;
    eprintln!("[hostile] {label}: exit {code}, {secs:.2}s, peak RSS {peak_rss_mib:.1} MiB");
    let left = listing(cwd.path());
    assert!(
        left.is_empty(),
        "{label}: files written in the working folder: {left:?}"
    );
    Run {
        code,
        stdout,
        stderr,
        secs,
        peak_rss_mib,
    }
}

/// Every member of a .tar.gz bundle: path → bytes (`collect` writes block gzip: several gzip
/// members, which a single-member `GzDecoder` would stop after the first of).
pub fn bundle_members(bundle: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let f = std::fs::File::open(bundle).expect("open bundle");
    let mut ar = tar::Archive::new(flate2::read::MultiGzDecoder::new(f));
    let mut out = std::collections::BTreeMap::new();
    for e in ar.entries().expect("tar entries") {
        let mut e = e.expect("tar entry");
        let p = e.path().expect("member path").to_string_lossy().into_owned();
        let mut b = Vec::new();
        e.read_to_end(&mut b).expect("read member");
        out.insert(p, b);
    }
    out
}
