//! `arcdiag redact`: re-redact any bundle `analyze` reads (an arcdiag bundle, one made with
//! `--no-redact`, a troubleshoot.sh bundle, a cluster-info dump; archive or directory) into a new
//! `.tar.gz` before it is shared. Members are read in order and redacted one by one with one
//! [`Redactor`] (tokens numbered across the bundle, deterministically); links are kept as links.
//! An arcdiag manifest is rewritten (each step's `sha256`, `bytes` and redacted `stderr`, and the
//! `redaction` report); another tool's bundle gets the sidecar `arcdiag-redaction.json` with the
//! same report and the digests. A member that cannot be redacted (binary, or too large) is
//! dropped and named in the report, never written as it was.
//!
//! Knows nothing of layouts beyond where the manifest sits, nor of rules or reports.

use crate::bundle::digest::{sha256_hex, SIDECAR};
use crate::bundle::read::{each_archive_member, RawError, RawItem};
use crate::bundle::{BundleError, Limits};
use crate::collect::writer::BundleWriter;
use crate::redact::{Counts, Redactor, Shape};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RebundleError {
    #[error("cannot read {path}: {why}")]
    Read { path: String, why: String },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error("{0}")]
    Refused(String),
}

/// What the rewrite did.
#[derive(Debug, Default)]
pub struct Summary {
    pub members: usize,
    pub replacements: Counts,
    pub dropped: Vec<(String, String)>,
    pub path: PathBuf,
}

/// Hands each member of the input to `f`, one at a time, in order: its path (the input's own,
/// `/`-separated) and content. With `names_only`, no member's bytes are read (each file comes as
/// an empty `RawItem::File`): how [`rebundle`] looks at the first name. An archive is read by
/// the analyzer's own reader ([`each_archive_member`]: every format, bound and refusal it has).
/// Returns what the reader refused without handing it on.
fn each_member(
    input: &Path,
    limits: &Limits,
    names_only: bool,
    f: &mut dyn FnMut(String, RawItem) -> Result<ControlFlow<()>, RebundleError>,
) -> Result<Vec<BundleError>, RebundleError> {
    let err = |why: String| RebundleError::Read {
        path: input.display().to_string(),
        why,
    };
    let meta = std::fs::metadata(input).map_err(|e| err(e.to_string()))?;
    if meta.is_dir() {
        let max = limits.max_member_bytes;
        let mut files = Vec::new();
        walk(input, input, &mut files).map_err(|e| err(e.to_string()))?;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        for (rel, path, entry) in files {
            let item = match entry {
                DirEntry::Link(target) => RawItem::Link { target, hard: false },
                DirEntry::File(len) if len > max => RawItem::Dropped(format!(
                    "{len} bytes, over the member bound of {max} bytes (--max-member-bytes)"
                )),
                DirEntry::File(_) if names_only => RawItem::File(Vec::new()),
                DirEntry::File(_) => RawItem::File(std::fs::read(&path).map_err(|e| RebundleError::Read {
                    path: path.display().to_string(),
                    why: e.to_string(),
                })?),
            };
            if f(rel, item)?.is_break() {
                break;
            }
        }
        return Ok(Vec::new());
    }
    each_archive_member(input, limits, names_only, f).map_err(|e| match e {
        RawError::Read(b) => RebundleError::Read {
            path: input.display().to_string(),
            why: b.to_string(),
        },
        RawError::Caller(c) => c,
    })
}

enum DirEntry {
    /// A regular file of this many bytes.
    File(u64),
    Link(String),
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf, DirEntry)>) -> io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let rel = p
            .strip_prefix(root)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let ft = e.file_type()?;
        if ft.is_symlink() {
            let target = std::fs::read_link(&p)?.to_string_lossy().into_owned();
            out.push((rel, p, DirEntry::Link(target)));
        } else if ft.is_dir() {
            walk(root, &p, out)?;
        } else if ft.is_file() {
            let len = e.metadata()?.len();
            out.push((rel, p, DirEntry::File(len)));
        }
    }
    Ok(())
}

/// Binary content (a NUL byte in the first 8 KiB, or not UTF-8 beyond a few bytes): it cannot
/// be redacted as text, so it is dropped.
fn is_binary(data: &[u8]) -> bool {
    let head = &data[..data.len().min(8192)];
    if memchr::memchr(0, head).is_some() {
        return true;
    }
    let bad = String::from_utf8_lossy(head).matches('\u{FFFD}').count();
    bad > 16
}

/// Re-redact `input` into `output` (which must not exist).
pub fn rebundle(input: &Path, output: &Path, limits: &Limits) -> Result<Summary, RebundleError> {
    if output.exists() {
        return Err(RebundleError::Refused(format!(
            "{} already exists; not overwritten",
            output.display()
        )));
    }
    if let (Ok(a), Ok(b)) = (
        input.canonicalize(),
        output.parent().map_or(Ok(PathBuf::from(".")), |p| {
            if p.as_os_str().is_empty() {
                Path::new(".").canonicalize()
            } else {
                p.canonicalize()
            }
        }),
    ) {
        if b.starts_with(&a) && a.is_dir() {
            return Err(RebundleError::Refused(format!(
                "{} lies inside the input directory {}",
                output.display(),
                input.display()
            )));
        }
    }
    let fallback = input
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_end_matches(".tar.gz")
                .trim_end_matches(".tgz")
                .to_string()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "bundle".into());
    // The one top folder all members share is guessed from the first member and checked on the
    // way: a member outside it starts the rewrite over with no folder stripped. So the input is
    // read once in the usual case, and memory holds one member at a time, never the bundle.
    let mut first = None;
    each_member(input, limits, true, &mut |name, _| {
        first = Some(name);
        Ok(ControlFlow::Break(()))
    })?;
    let guess = first
        .as_deref()
        .and_then(|n| n.split_once('/'))
        .map(|(t, _)| t.to_string())
        .filter(|t| !t.is_empty());
    if let Some(top) = guess {
        if let Some(sum) = write_bundle(input, output, &top, true, limits)? {
            return Ok(sum);
        }
    }
    write_bundle(input, output, &fallback, false, limits)?
        .ok_or_else(|| RebundleError::Refused("the rewrite stopped without a reason".into()))
}

/// Rewrite `input` into `output` with every member under `top/`. With `strip`, each member's
/// path must start with `top/`, which is taken off; `None` (nothing written) when one does not.
fn write_bundle(
    input: &Path,
    output: &Path,
    top: &str,
    strip: bool,
    limits: &Limits,
) -> Result<Option<Summary>, RebundleError> {
    let wr = |source| RebundleError::Write {
        path: output.display().to_string(),
        source,
    };
    // The input's own time stamps the output: the same input gives the same bytes.
    let mtime = std::fs::metadata(input)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH);
    let mut w = BundleWriter::create(output, top, mtime).map_err(wr)?;
    let red = Redactor::new();
    let mut manifest: Option<Value> = None;
    let mut files: BTreeMap<String, Counts> = BTreeMap::new();
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut as_text = Vec::new();
    let mut sum = Summary::default();
    let prefix = format!("{top}/");
    let mut outside = false;
    let notes = each_member(input, limits, false, &mut |name, item| {
        let rel = match name.strip_prefix(&prefix) {
            _ if !strip => name,
            Some(r) => r.to_string(),
            None => {
                outside = true;
                return Ok(ControlFlow::Break(()));
            }
        };
        match item {
            RawItem::Link { target, hard } => {
                w.add_link(&rel, &target, hard).map_err(wr)?;
                sum.members += 1;
            }
            RawItem::Dropped(why) => sum.dropped.push((rel, why)),
            RawItem::File(data) => {
                if rel == SIDECAR {
                    return Ok(ControlFlow::Continue(())); // an earlier run's report: replaced by this one's
                }
                if rel == "manifest.json" {
                    match serde_json::from_slice::<Value>(&data) {
                        Ok(v) if crate::bundle::manifest::is_arcdiag_format(v["format"].as_str()) => {
                            manifest = Some(v);
                            return Ok(ControlFlow::Continue(()));
                        }
                        _ => {}
                    }
                }
                if is_binary(&data) {
                    sum.dropped.push((rel, "binary content cannot be redacted".into()));
                    return Ok(ControlFlow::Continue(()));
                }
                let o = red.redact(&data, Shape::of(&rel));
                for (k, n) in &o.counts {
                    *sum.replacements.entry(k).or_insert(0) += n;
                }
                if !o.counts.is_empty() {
                    files.insert(rel.clone(), o.counts.clone());
                }
                if o.as_text {
                    as_text.push(rel.clone());
                }
                digests.insert(rel.clone(), sha256_hex(&o.bytes));
                sizes.insert(rel.clone(), o.bytes.len() as u64);
                w.add(&rel, &o.bytes).map_err(wr)?;
                sum.members += 1;
            }
        }
        Ok(ControlFlow::Continue(()))
    })?;
    if outside {
        return Ok(None);
    }
    // What the reader refused without handing it on (a zip's entries, names it would not use).
    sum.dropped.extend(notes.into_iter().map(|n| (n.member, n.message)));
    let dropped: Vec<Value> = sum
        .dropped
        .iter()
        .map(|(p, why)| json!({"path": p, "why": why}))
        .collect();
    let report = json!({
        "enabled": true,
        "by": format!("arcdiag redact {}", env!("CARGO_PKG_VERSION")),
        "replacements": sum.replacements,
        "files": files,
        "as_text": as_text,
        "dropped": dropped,
    });
    // The sidecar: the report and the digest of every member written (an arcdiag manifest
    // lists only step outputs, and another tool's bundle has no record at all).
    let manifest = manifest.map(|mut m| {
        rewrite_steps(&mut m, &red, &digests, &sizes, &mut sum.replacements);
        m
    });
    let mut report = report;
    report["replacements"] = json!(sum.replacements);
    let mut side = Map::new();
    side.insert("format".into(), json!("arcdiag-redaction/v1"));
    side.insert("redaction".into(), report.clone());
    side.insert("sha256".into(), json!(digests));
    let pretty = |v: &Value| -> Result<Vec<u8>, RebundleError> {
        let mut b = serde_json::to_vec_pretty(v).map_err(|e| wr(io::Error::other(e)))?;
        b.push(b'\n');
        Ok(b)
    };
    match manifest {
        Some(mut m) => {
            if let Some(o) = m.as_object_mut() {
                o.insert("redaction".into(), report);
            }
            w.add(SIDECAR, &pretty(&Value::Object(side))?).map_err(wr)?;
            sum.path = w.finish_with("manifest.json", &pretty(&m)?).map_err(wr)?;
            sum.members += 2;
        }
        None => {
            sum.path = w.finish_with(SIDECAR, &pretty(&Value::Object(side))?).map_err(wr)?;
            sum.members += 1;
        }
    }
    Ok(Some(sum))
}

/// An arcdiag manifest's steps after the rewrite: digests and sizes of the new members, stderr
/// redacted; a step whose output was dropped loses its digest (and `verify` names it missing).
fn rewrite_steps(
    m: &mut Value,
    red: &Redactor,
    digests: &BTreeMap<String, String>,
    sizes: &BTreeMap<String, u64>,
    counts: &mut Counts,
) {
    let Some(steps) = m.get_mut("steps").and_then(Value::as_array_mut) else {
        return;
    };
    for st in steps {
        let Some(o) = st.as_object_mut() else { continue };
        if let Some(e) = o.get("stderr").and_then(Value::as_str) {
            let r = red.redact(e.as_bytes(), Shape::Text);
            for (k, n) in &r.counts {
                *counts.entry(k).or_insert(0) += n;
            }
            let text = String::from_utf8_lossy(&r.bytes).into_owned();
            o.insert("stderr".into(), Value::String(text));
        }
        let Some(out) = o.get("output").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        match digests.get(&out) {
            Some(d) => {
                o.insert("sha256".into(), Value::String(d.clone()));
                o.insert("bytes".into(), json!(sizes.get(&out).copied().unwrap_or(0)));
            }
            None => {
                o.remove("sha256");
            }
        }
    }
}
