//! Reading a directory: walking it in name order (links recorded, not followed), the same bounds
//! as an archive (`bounds`), then reading the files one after another, each once, through the
//! same feed and in-flight bound as an archive's members (`feed`); they are processed in parallel. Paths in errors are
//! root-relative, so reports carry no absolute path. Knows nothing of what a file means beyond its
//! name's [`Class`].

use super::bounds::{charge_link, charge_member, charge_values, Admit, Cost, MemberBounds, Source, Used};
use super::feed::{gather, reads_in_regions, Feeder, Parts, Shared};
use super::kept::{self, Kept};
use super::pool::{Budget, Pool, ReadFail, IN_FLIGHT_BYTES};
use super::{classify_for, Class, Content, Member, RawBundle};
use crate::bundle::digest::{Hashing, Sum};
use crate::bundle::{BundleError, Limits};
use crate::signatures::LogMatcher;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    // The files are read one after another on this thread, in name order, and handed to the pool
    // as an archive's members are (`feed`: batches, long logs in regions, the in-flight bound);
    // each is read once, charged from the bytes read.
    let shared = Shared::default();
    let budget = Budget::new(IN_FLIGHT_BYTES);
    let pool = Pool::new();
    let parts: Parts = Mutex::new(Vec::new());
    let kept = Kept::new(typed);
    let mut feeder = Feeder::new(matcher, &kept, &shared, &parts, &budget, &pool);
    let mut used = Used::new(typed);
    let mut digests = std::collections::BTreeMap::new();
    // What each file read cost, for the links to it.
    let mut costs: crate::bundle::FastMap<String, Cost> = Default::default();
    rayon::in_place_scope(|scope| {
        for (idx, (rel, p)) in files.into_iter().enumerate() {
            let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            let class = classify_for(&rel, typed);
            match bounds.admit(&rel, size, class) {
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
            let mut f = match File::open(&p) {
                Ok(f) => f.take(size),
                Err(e) => {
                    errors.push(BundleError::new(rel, format!("cannot read: {e}")));
                    continue;
                }
            };
            if class == Class::Other {
                // Not parsed: streamed through the hash, never held whole.
                match Hashing::new(&mut f).finish() {
                    Ok(d) => {
                        digests.insert(rel.clone(), d);
                        costs.insert(rel.clone(), Cost::bytes(size));
                        shared.push(
                            idx,
                            Member {
                                path: rel,
                                size,
                                content: Content::Other,
                            },
                        );
                    }
                    Err(e) => errors.push(BundleError::new(rel, format!("cannot read: {e}"))),
                }
                continue;
            }
            let read = if reads_in_regions(size, class) {
                let mut hashed = Hashing::new(&mut f);
                let r = feeder.member(scope, &mut hashed, idx, &rel, size, class);
                if r.is_ok() {
                    if let Ok(d) = hashed.finish() {
                        digests.insert(rel.clone(), d);
                    }
                }
                r
            } else {
                feeder.member(scope, &mut f, idx, &rel, size, class)
            };
            match read {
                Ok(()) => {}
                Err(ReadFail::Io(e)) => {
                    errors.push(BundleError::new(rel, format!("cannot read: {e}")));
                    continue;
                }
                Err(ReadFail::Short(got)) => {
                    errors.push(BundleError::new(
                        rel,
                        format!("the file shrank while it was read: {got} of {size} bytes; not read"),
                    ));
                    continue;
                }
            }
            let mark = used.mark();
            if let Some(data) = feeder.last_data(idx) {
                match charge_member(&rel, data, class, &mut used, &kept) {
                    Ok(limit) => feeder.set_limit(idx, limit),
                    Err(refused) => {
                        digests.insert(rel.clone(), Sum::of(data));
                        feeder.discard(idx);
                        shared.push(idx, *refused);
                    }
                }
            } else if let Some(count) = feeder.streamed_count(idx) {
                let charged = charge_values(&rel, size, class, count, &mut used, &kept);
                feeder.settle_streamed(idx, charged);
            }
            costs.insert(rel, used.cost_since(mark, size));
        }
        feeder.flush(scope);
    });
    let digests = shared.digests_with(digests);
    let chunked = feeder.take_chunked();
    drop(feeder);
    let charged_links = charge_links(
        &mut members,
        &costs,
        &mut bounds,
        &mut used,
        &mut errors,
        &mut stopped_early,
    );
    let mut results = gather(shared, chunked, parts, matcher, &kept);
    let (trimmed, refused) = kept::trim(&kept, &mut results, &charged_links);
    errors.extend(trimmed);
    if !refused.is_empty() {
        members.retain(|m| !(matches!(m.content, Content::Symlink(_)) && refused.contains(&m.path)));
    }
    let charged_links = charged_links
        .into_iter()
        .map(|(link, _)| link)
        .filter(|link| !refused.contains(link))
        .collect();
    members.extend(results.into_iter().map(|(_, m)| m));
    members.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(RawBundle {
        members,
        errors,
        stopped_early,
        container: "directory",
        digests,
        charged_links,
    })
}

/// Charge every symlink to a file that was read as a copy of it, in name order, as an archive's
/// links are: a thousand links to one big log cost a thousand logs against the bounds. A link
/// refused by a bound is named and dropped; once the total bound is passed, the links after it
/// are dropped too. Links to folders, out of the bundle, dangling or looping are left to the
/// layout, which names them. The links charged, with the file each reads, in the order charged.
fn charge_links(
    members: &mut Vec<Member>,
    costs: &crate::bundle::FastMap<String, Cost>,
    bounds: &mut MemberBounds,
    used: &mut Used,
    errors: &mut Vec<BundleError>,
    stopped_early: &mut bool,
) -> Vec<(String, String)> {
    let links: std::collections::HashMap<&str, &str> = members
        .iter()
        .filter_map(|m| match &m.content {
            Content::Symlink(t) => Some((m.path.as_str(), t.as_str())),
            _ => None,
        })
        .collect();
    let mut charged = Vec::new();
    let mut dropped = std::collections::HashSet::new();
    let mut names: Vec<&str> = links.keys().copied().collect();
    names.sort_unstable();
    for name in names {
        if *stopped_early {
            dropped.insert(name.to_string());
            continue;
        }
        // Follow a chain of links (as the layout does, at most 8 hops) to the file it reads.
        let mut cur = name.to_string();
        let mut target = None;
        for _ in 0..8 {
            let Some(next) = links.get(cur.as_str()).and_then(|t| super::join_link(&cur, t)) else {
                break;
            };
            if costs.contains_key(&next) {
                target = Some(next);
                break;
            }
            cur = next;
        }
        let Some(target) = target else { continue };
        match charge_link(name, &target, costs[&target], bounds, used) {
            Ok(()) => charged.push((name.to_string(), target.clone())),
            Err((es, stop)) => {
                errors.extend(es);
                dropped.insert(name.to_string());
                *stopped_early |= stop;
            }
        }
    }
    if !dropped.is_empty() {
        members.retain(|m| !(matches!(m.content, Content::Symlink(_)) && dropped.contains(&m.path)));
    }
    charged
}
