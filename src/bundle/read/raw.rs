//! An archive's members as bytes, one at a time, for a tool that rewrites them (`arcdiag
//! redact`). The archive is opened exactly as for analysis (`tar::open_archive`: the format by
//! content, gzip, block gzip, zstd, zip or tar, and the decompressed stream guarded by the total,
//! ratio and metadata bounds); member names are cleaned the same way; sparse members, names with
//! a NUL, members over the member bound and members past the member count are refused and named.
//! Memory holds one member at a time.
//!
//! Knows nothing of what a member means, of layouts, rules or reports.

use super::tar::{after_end, clean_member_name, open_archive, sparse, After};
use crate::bundle::{BundleError, Limits};
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::Path;

/// One member of an archive.
pub enum RawItem {
    /// A regular file's bytes (empty when only names were asked for).
    File(Vec<u8>),
    Link {
        target: String,
        hard: bool,
    },
    /// Not read: why.
    Dropped(String),
}

/// What went wrong: reading the archive, or the caller's own step.
pub enum RawError<E> {
    Read(BundleError),
    Caller(E),
}

/// Hand each member of the archive at `path` to `f` in order (directories are skipped), until
/// the end or `f` breaks. With `names_only`, no file's bytes are read. Returns the notes met
/// that name no member handed on (a zip's refused entries, what follows the archive's end).
pub fn each_archive_member<E>(
    path: &Path,
    limits: &Limits,
    names_only: bool,
    f: &mut dyn FnMut(String, RawItem) -> Result<ControlFlow<()>, E>,
) -> Result<Vec<BundleError>, RawError<E>> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let opened = open_archive(path, len, limits).map_err(RawError::Read)?;
    let guard = opened.guard.clone();
    let stream_error = |e: &io::Error, after: &str| {
        let why = guard
            .tripped()
            .unwrap_or_else(|| format!("truncated or corrupt archive: {e}"));
        let after = if after.is_empty() {
            String::new()
        } else {
            format!(" (after member '{after}')")
        };
        RawError::Read(BundleError::new("archive".into(), format!("{why}{after}")))
    };
    let mut notes = Vec::new();
    let mut count: u64 = 0;
    let mut last = String::new();
    let mut reader = Some(opened.reader);
    // Archives back to back are read on, as analysis does.
    'archives: while let Some(r) = reader.take() {
        let mut archive = tar::Archive::new(r);
        let entries = archive.entries().map_err(|e| stream_error(&e, &last))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| stream_error(&e, &last))?;
            count += 1;
            if count > limits.max_members {
                return Err(RawError::Read(BundleError::new(
                    "archive".into(),
                    format!(
                        "more than {} members (--max-members); the rest was not read",
                        limits.max_members
                    ),
                )));
            }
            let size = entry.size();
            let stored = match entry.header().entry_type().is_gnu_sparse() {
                true => entry.header().entry_size().unwrap_or(0),
                false => size,
            };
            guard.allow_member(stored);
            let raw = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            if raw.contains('\0') {
                notes.push(BundleError::new(
                    raw.replace('\0', "\\0"),
                    "member name holds a NUL byte; member ignored".into(),
                ));
                continue;
            }
            let name = match clean_member_name(&raw) {
                Ok(n) => n,
                Err(_) if entry.header().entry_type().is_dir() => continue,
                Err(why) => {
                    notes.push(BundleError::new(raw, format!("{why}; member ignored")));
                    continue;
                }
            };
            last.clone_from(&name);
            let t = entry.header().entry_type();
            if t.is_dir() {
                continue;
            }
            let item = if let Some(why) = sparse(&mut entry) {
                RawItem::Dropped(why)
            } else if t.is_symlink() || t.is_hard_link() {
                match entry.link_name() {
                    Ok(Some(target)) => RawItem::Link {
                        target: target.to_string_lossy().into_owned(),
                        hard: t.is_hard_link(),
                    },
                    _ => RawItem::Dropped("a link without a readable target".into()),
                }
            } else if !(t.is_file() || t.is_contiguous()) {
                continue;
            } else if size > limits.max_member_bytes {
                RawItem::Dropped(format!(
                    "{size} bytes, over the member bound of {} bytes (--max-member-bytes)",
                    limits.max_member_bytes
                ))
            } else if names_only {
                RawItem::File(Vec::new())
            } else {
                // The header's size is only a claim: reserve at most 16 MiB ahead of the bytes.
                let mut data = Vec::with_capacity(size.min(16 << 20) as usize);
                entry.read_to_end(&mut data).map_err(|e| stream_error(&e, &last))?;
                RawItem::File(data)
            };
            if f(name, item).map_err(RawError::Caller)?.is_break() {
                break 'archives;
            }
        }
        let mut rest = archive.into_inner();
        match after_end(&mut rest) {
            After::Nothing => {}
            After::Tar(block) => reader = Some(Box::new(io::Cursor::new(block).chain(rest))),
            After::Other(first) => notes.push(BundleError::new(
                "archive".into(),
                format!(
                    "after the end of the tar archive: data that is not a tar header (first bytes {first}); not read"
                ),
            )),
        }
    }
    if let Some(z) = &opened.zip_notes {
        notes.extend(super::zip::take(z));
    }
    Ok(notes)
}
