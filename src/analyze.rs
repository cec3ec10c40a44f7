//! The analysis pipeline for one bundle: open → snapshot → rules → report. Returns values;
//! printing is the binary's job. It decides nothing itself: what a bundle holds is `bundle`'s and
//! `model`'s, what is wrong is `rules`' and `engine`'s, how it reads is `report`'s.

use crate::bundle::{self, BundleError, Limits};
use crate::engine::{self, Options};
use crate::model::Snapshot;
use crate::report::Report;
use crate::rules::{self, Rule};
use crate::signatures::{RulesFileError, SignatureSet};
use std::path::{Path, PathBuf};

/// Load the signatures: built-in plus the given rules files.
pub fn load_signatures(files: &[PathBuf]) -> Result<SignatureSet, RulesFileError> {
    let mut extra = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for f in files {
        // The same file given twice (by another path, too) is read once.
        let canonical = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        let name = f.to_string_lossy().into_owned();
        let meta = std::fs::metadata(f).map_err(|e| RulesFileError {
            file: name.clone(),
            entry: None,
            problem: format!("cannot read: {e}"),
        })?;
        if meta.len() > 4 << 20 {
            return Err(RulesFileError {
                file: name,
                entry: None,
                problem: "the file is larger than 4 MiB".into(),
            });
        }
        let text = std::fs::read_to_string(f).map_err(|e| RulesFileError {
            file: name.clone(),
            entry: None,
            problem: format!("cannot read: {e}"),
        })?;
        extra.push((name, text));
    }
    SignatureSet::load(&extra, &rules::rust_codes())
}

/// Analyze one bundle. `Err` when nothing usable could be read.
pub fn analyze_path(
    path: &Path,
    limits: &Limits,
    sigs: &SignatureSet,
    rules: &[Box<dyn Rule>],
    opts: &Options,
) -> Result<Report, BundleError> {
    let (report, snap) = analyze_snapshot(path, limits, sigs, rules, opts)?;
    // Freeing every parsed object takes a noticeable share of the run on large bundles; do it
    // beside the report instead of before it (a CLI that exits first never waits for it).
    std::thread::spawn(move || drop(snap));
    Ok(report)
}

/// [`analyze_path`] that frees the bundle before it returns: for a worker of a run over many
/// bundles (`fleet`), whose memory must stay bounded by the bundles in flight.
pub fn analyze_path_freed(
    path: &Path,
    limits: &Limits,
    sigs: &SignatureSet,
    rules: &[Box<dyn Rule>],
    opts: &Options,
) -> Result<Report, BundleError> {
    analyze_snapshot(path, limits, sigs, rules, opts).map(|(report, _freed_here)| report)
}

fn analyze_snapshot(
    path: &Path,
    limits: &Limits,
    sigs: &SignatureSet,
    rules: &[Box<dyn Rule>],
    opts: &Options,
) -> Result<(Report, Snapshot), BundleError> {
    let b = bundle::open(path, limits, &sigs.log, true)?;
    let snap = Snapshot::build(b);
    let analysis = engine::run(&snap, sigs, rules, opts);
    let mut report = Report::new(&snap.bundle, &snap.model_errors, analysis);
    report.timeline = crate::timeline::build(&snap, &report.findings);
    Ok((report, snap))
}
