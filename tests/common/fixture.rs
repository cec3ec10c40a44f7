//! The rule fixture cases (`fixtures/rules/<CODE>/<case>/`) as whole bundles.
//!
//! A case holds only what it is about. Its `manifest.json` is optional: a case without one gets
//! `fixtures/rules/manifest.json`, the one place that says what an ordinary collection of the
//! fixtures' cluster looks like (cluster `contoso-arc`, default limits, no failed steps). A case
//! keeps its own manifest when its rule reads the manifest (EXT and FLX cases naming another
//! cluster, failed steps, `complete: false`).
//!
//! [`rule_case`] returns a folder that is the case as a bundle: the case itself when it has its
//! own manifest, else a copy under `CARGO_TARGET_TMPDIR` with the default manifest added. The
//! copy keeps the case's folder names (`<CODE>/<case>`), so a report's `bundle.source` is the
//! same either way. Copies are made once per process and content-addressed (the folder's name is
//! a hash of the case's files and the default manifest), so test binaries running side by side,
//! or a run after a fixture changed, never see a half-written or stale copy.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// `fixtures/rules` below the crate's folder.
pub fn rules_root() -> PathBuf {
    super::root().join("fixtures/rules")
}

/// The default manifest of the rule fixture cases.
pub fn default_manifest() -> Vec<u8> {
    let p = rules_root().join("manifest.json");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every case folder below `fixtures/rules/<CODE>/` (`fires`, `quiet`, `fires-*`, `quiet-*`),
/// sorted, as paths relative to `fixtures/rules` (`K8S001/fires`). A missing folder fails.
pub fn rule_cases() -> Vec<String> {
    let root = rules_root();
    let mut out = Vec::new();
    let codes = std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    for c in codes.flatten() {
        if !c.path().is_dir() {
            continue;
        }
        let code = c.file_name().to_string_lossy().into_owned();
        for e in std::fs::read_dir(c.path()).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let is_case = n == "fires" || n == "quiet" || n.starts_with("fires-") || n.starts_with("quiet-");
            if is_case && e.path().is_dir() {
                out.push(format!("{code}/{n}"));
            }
        }
    }
    out.sort();
    out
}

/// The case `rel` (`"K8S001/fires"`) as a bundle folder (see the module note).
pub fn rule_case(rel: &str) -> PathBuf {
    static MADE: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let src = rules_root().join(rel);
    assert!(src.is_dir(), "no fixture case {}", src.display());
    if src.join("manifest.json").is_file() {
        return src;
    }
    let made = MADE.get_or_init(Default::default);
    let mut made = made.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = made.get(rel) {
        return p.clone();
    }
    let manifest = default_manifest();
    let files = super::files_under(&src);
    let mut h = Sha256::new();
    h.update(&manifest);
    for (name, bytes) in &files {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    let id: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let copies = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rule-cases");
    let dest = copies.join(id).join(rel);
    if !dest.join("manifest.json").is_file() {
        // Written beside, then renamed into place: another process may be doing the same.
        std::fs::create_dir_all(&copies).expect("create fixture copies");
        let staging = tempfile::Builder::new()
            .prefix("staging-")
            .tempdir_in(&copies)
            .unwrap_or_else(|e| panic!("staging folder for {rel}: {e}"));
        let tmp = staging.path().join("case");
        for (name, bytes) in files.iter().chain([(&"manifest.json".to_string(), &manifest)]) {
            let p = tmp.join(name);
            std::fs::create_dir_all(p.parent().unwrap_or(&tmp)).expect("create fixture copy");
            std::fs::write(&p, bytes).expect("write fixture copy");
        }
        std::fs::create_dir_all(dest.parent().unwrap_or(&copies)).expect("create fixture copy");
        // Losing the race is fine: the winner wrote the same content.
        if std::fs::rename(&tmp, &dest).is_err() {
            assert!(
                dest.join("manifest.json").is_file(),
                "could not place {}",
                dest.display()
            );
        }
    }
    made.insert(rel.to_string(), dest.clone());
    dest
}
