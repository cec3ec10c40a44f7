//! Reading a directory: walking it in name order (links recorded, not followed), the same bounds
//! as an archive (`bounds`), then reading and processing the files in parallel. Paths in errors are
//! root-relative, so reports carry no absolute path. Knows nothing of what a file means beyond its
//! name's [`Class`].

use super::bounds::{charge_member, Admit, MemberBounds, Source, Used};
use super::pool::{Buf, ReadFail};
use super::{classify_for, process, read_more, Class, Content, Member, RawBundle};
use crate::bundle::digest::{sha256_hex, Hashing};
use crate::bundle::{BundleError, Limits};
use crate::signatures::LogMatcher;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub(super) fn read_dir(
    root: &Path,
    limits: &Limits,
    matcher: &LogMatcher,
    typed: bool,
) -> Result<RawBundle, BundleError> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut errors = Vec::new();
    let mut members = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut stopped_early = false;
    let mut bounds = MemberBounds::new(limits, Source::Directory);
    'walk: while let Some(dir) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) => {
                // Root-relative, so reports carry no absolute path.
                let rel = match dir.strip_prefix(root) {
                    Ok(r) if !r.as_os_str().is_empty() => r.to_string_lossy().replace('\\', "/"),
                    _ => ".".to_string(),
                };
                errors.push(BundleError::new(rel, format!("cannot list directory: {e}")));
                continue;
            }
        };
        let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = match p.strip_prefix(root) {
                Ok(r) => r.to_string_lossy().replace('\\', "/"),
                Err(_) => continue,
            };
            let md = match std::fs::symlink_metadata(&p) {
                Ok(m) => m,
                Err(err) => {
                    errors.push(BundleError::new(rel, format!("cannot stat: {err}")));
                    continue;
                }
            };
            if let Some(e) = bounds.over_member_count((members.len() + files.len()) as u64 + 1, &rel) {
                errors.push(e);
                stopped_early = true;
                break 'walk;
            }
            if md.file_type().is_symlink() {
                let target = std::fs::read_link(&p)
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                members.push(Member {
                    path: rel,
                    size: 0,
                    content: Content::Symlink(target),
                });
            } else if md.is_dir() {
                members.push(Member {
                    path: rel.clone(),
                    size: 0,
                    content: Content::Dir,
                });
                stack.push(p);
            } else if md.is_file() {
                files.push((rel, p));
            } else {
                errors.push(BundleError::new(rel, "device or fifo; ignored".into()));
            }
        }
    }
    files.sort();
    let mut work = Vec::new();
    let mut used = Used::default();
    for (rel, p) in files {
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        match bounds.admit(&rel, size) {
            Admit::Read => {}
            Admit::Skip(e) => {
                errors.push(e);
                continue;
            }
            Admit::Stop(es) => {
                errors.extend(es);
                stopped_early = true;
                break;
            }
        }
        let class = classify_for(&rel, typed);
        if class == Class::Other {
            // Not parsed, but read once for its digest (with the others, in parallel).
            work.push((rel, p, size, class, 0));
        } else {
            let mut limit = 0;
            if matches!(class, Class::Json | Class::Yaml | Class::Typed(_) | Class::Manifest) {
                // Charged in name order (deterministic), reading the file once more to parse it.
                if let Ok(data) = std::fs::read(&p) {
                    match charge_member(&rel, &data, class, &mut used) {
                        Ok(l) => limit = l,
                        Err(refused) => {
                            members.push(refused);
                            continue;
                        }
                    }
                }
            }
            work.push((rel, p, size, class, limit));
        }
    }
    use rayon::prelude::*;
    let results: Vec<Result<(Member, String), BundleError>> = work
        .into_par_iter()
        .map(|(rel, p, size, class, limit)| {
            if class == Class::Other {
                // Not parsed: streamed through the hash, never held whole.
                let digest = File::open(&p)
                    .and_then(|f| Hashing::new(f.take(size)).finish())
                    .map_err(|e| BundleError::new(rel.clone(), format!("cannot read: {e}")))?;
                let m = Member {
                    path: rel,
                    size,
                    content: Content::Other,
                };
                return Ok((m, digest));
            }
            match read_file(&p, size) {
                Ok(data) => {
                    let digest = sha256_hex(&data);
                    Ok((process(rel, size, &data, class, limit, matcher), digest))
                }
                Err(e) => Err(BundleError::new(rel, format!("cannot read: {e}"))),
            }
        })
        .collect();
    let mut digests = std::collections::BTreeMap::new();
    for r in results {
        match r {
            Ok((m, d)) => {
                digests.insert(m.path.clone(), d);
                members.push(m);
            }
            Err(e) => errors.push(e),
        }
    }
    members.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(RawBundle {
        members,
        errors,
        stopped_early,
        container: "directory",
        digests,
        charged_links: Default::default(),
    })
}

/// A file's bytes, read through [`read_more`] as an archive member's are (at most `size` bytes, the
/// size the walk saw).
fn read_file(p: &Path, size: u64) -> io::Result<Buf> {
    let mut f = File::open(p)?;
    let mut buf = Buf::default();
    match read_more(&mut f, &mut buf, size) {
        Ok(_) => Ok(buf),
        Err(ReadFail::Io(e)) => Err(e),
        Err(ReadFail::Short(_)) => Ok(buf),
    }
}
