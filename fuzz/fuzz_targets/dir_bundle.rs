//! A small file tree, materialised from the fuzz input in a fresh temp folder, read as a directory
//! bundle through the whole analyzer (layout, rules, reports). The input is a list of records:
//! `kind` (0 file, 1 folder, 2 symlink, 3 hard link), a name (u8 length), a body (u16 length, LE):
//! a file's bytes, or a link's target. Names are cut into `/`-separated parts with `.`, `..` and
//! empty parts dropped, so nothing is written outside the folder; link targets are kept as given
//! (a relative target may point out, which the reader must refuse), except absolute ones.
//! Small bounds keep each run fast; a panic, a hang or memory past -rss_limit_mb is a finding.

#![no_main]

use arcdiag::analyze::analyze_path;
use arcdiag::bundle::Limits;
use arcdiag::engine::Options;
use arcdiag::report::{json, markdown, text};
use arcdiag::signatures::SignatureSet;
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Allocations counted as the binary counts them, so the bounds charged by what a parse keeps
/// (typed objects, parsed values: `arcdiag::memory::held`) are fuzzed as they run.
#[global_allocator]
static ALLOC: arcdiag::memory::Counting<std::alloc::System> = arcdiag::memory::Counting(std::alloc::System);

fn sigs() -> &'static SignatureSet {
    static S: OnceLock<SignatureSet> = OnceLock::new();
    S.get_or_init(|| arcdiag::analyze::load_signatures(&[]).expect("built-in signatures"))
}

fn safe(root: &Path, name: &[u8]) -> Option<PathBuf> {
    let name = String::from_utf8_lossy(name);
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\0'))
        .collect();
    if parts.is_empty() {
        return None;
    }
    let mut p = root.to_path_buf();
    for part in parts {
        p.push(part);
    }
    Some(p)
}

fn build(root: &Path, mut data: &[u8]) {
    let mut n = 0;
    while data.len() >= 4 && n < 512 {
        n += 1;
        let kind = data[0] & 3;
        let name_len = data[1] as usize;
        let Some(name) = data.get(2..2 + name_len) else { return };
        let rest = &data[2 + name_len..];
        let Some(len) = rest.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize) else {
            return;
        };
        let body = rest.get(2..2 + len).unwrap_or(&rest[2.min(rest.len())..]);
        data = rest.get(2 + len..).unwrap_or(&[]);
        let Some(path) = safe(root, name) else { continue };
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let target = String::from_utf8_lossy(body).replace('\0', "");
        let _ = match kind {
            0 => std::fs::write(&path, body),
            1 => std::fs::create_dir_all(&path),
            2 if !target.starts_with('/') && !target.is_empty() => std::os::unix::fs::symlink(&target, &path),
            3 => match safe(root, body) {
                Some(t) => std::fs::hard_link(t, &path),
                None => Ok(()),
            },
            _ => Ok(()),
        };
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let root = dir.path().join("bundle");
    if std::fs::create_dir(&root).is_err() {
        return;
    }
    build(&root, data);
    let limits = Limits {
        max_member_bytes: 4 << 20,
        max_parsed_bytes: 1 << 20,
        max_total_bytes: 32 << 20,
        max_members: 10_000,
        max_ratio: 200,
        progress: None,
    };
    let rules = arcdiag::rules::registry(sigs());
    if let Ok(r) = analyze_path(&root, &limits, sigs(), &rules, &Options::default()) {
        let reports = [r];
        let _ = json::render(&reports);
        let _ = text::render(&reports, false);
        let _ = markdown::render(&reports);
    }
});
