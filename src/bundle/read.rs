//! Reading a bundle's bytes: a gzip'd or plain tar archive (read once, as a stream) or a directory.
//!
//! This module knows nothing of layouts. Every member is classified by its name only: JSON and YAML
//! are parsed (on the rayon pool, while the next members are still being decompressed), logs are
//! scanned by the combined signature matcher and dropped, links are recorded, the rest is counted.
//! Nothing is ever written to disk. Bounds on member size, total size, member count and
//! compression ratio stop the read with an error naming the member and the bound; what was read
//! before the fault is kept.

use super::logscan::{scan_log, LogScan};
use super::{BundleError, Limits};
use crate::signatures::LogMatcher;
use serde_json::Value;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// What one member holds after reading.
#[derive(Debug)]
pub enum Content {
    Json(Result<Value, String>),
    Yaml(Result<Value, String>),
    /// A log, scanned; a cluster-info `logs.txt` yields one scan per container segment.
    Log(Vec<LogScan>),
    Symlink(String),
    HardLink(String),
    Dir,
    /// A file we do not parse (kept by name so layouts can detect markers).
    Other,
    /// A small text file kept whole (version markers, error text).
    Text(String),
}

#[derive(Debug)]
pub struct Member {
    /// Archive-relative path, `/`-separated, without a leading `./`.
    pub path: String,
    pub size: u64,
    pub content: Content,
}

#[derive(Debug, Default)]
pub struct RawBundle {
    pub members: Vec<Member>,
    pub errors: Vec<BundleError>,
    /// True when reading stopped before the end (corruption, truncation, a bound).
    pub stopped_early: bool,
    pub container: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Gzip,
    Tar,
}

/// How a member is treated, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Json,
    Yaml,
    Log,
    Text,
    Other,
}

pub fn classify(path: &str) -> Class {
    let lower = path.to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or(&lower);
    if file.ends_with(".json") {
        Class::Json
    } else if file.ends_with(".yaml") || file.ends_with(".yml") {
        Class::Yaml
    } else if file.ends_with(".log") || file == "logs.txt" {
        Class::Log
    } else if file.ends_with(".txt") && lower.contains("error") {
        Class::Text
    } else {
        Class::Other
    }
}

/// Read a bundle from a path: a directory, or an archive recognized by its content.
pub fn read_path(path: &Path, limits: &Limits, matcher: &LogMatcher) -> Result<RawBundle, BundleError> {
    let meta =
        std::fs::metadata(path).map_err(|e| BundleError::new(path_display(path), format!("cannot open: {e}")))?;
    if meta.is_dir() {
        return read_dir(path, limits, matcher);
    }
    let mut f = File::open(path).map_err(|e| BundleError::new(path_display(path), format!("cannot open: {e}")))?;
    let mut head = [0u8; 512];
    let n =
        read_full(&mut f, &mut head).map_err(|e| BundleError::new(path_display(path), format!("cannot read: {e}")))?;
    let kind = if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        Kind::Gzip
    } else if n >= 262 && &head[257..262] == b"ustar" {
        Kind::Tar
    } else if n == 0 {
        return Err(BundleError::new(
            path_display(path),
            "the file is empty: not a bundle".into(),
        ));
    } else if n == 512 && head.iter().all(|b| *b == 0) {
        Kind::Tar
    } else {
        return Err(BundleError::new(
            path_display(path),
            "not a bundle: neither a gzip'd tar archive, a tar archive, nor a directory".into(),
        ));
    };
    let f = File::open(path).map_err(|e| BundleError::new(path_display(path), format!("cannot open: {e}")))?;
    let compressed_len = meta.len();
    let counter = Arc::new(AtomicU64::new(0));
    let counting = CountingReader {
        inner: BufReader::with_capacity(1 << 20, f),
        count: counter.clone(),
    };
    let reader: Box<dyn Read> = match kind {
        Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counting)),
        Kind::Tar => Box::new(counting),
    };
    let mut raw = read_tar(reader, limits, matcher, counter, compressed_len)?;
    raw.container = match kind {
        Kind::Gzip => "tar.gz",
        Kind::Tar => "tar",
    };
    Ok(raw)
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

pub fn path_display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Limits the bytes handed to the pool but not yet processed, so memory stays bounded.
struct Budget {
    in_flight: Mutex<u64>,
    cv: Condvar,
    cap: u64,
}

impl Budget {
    fn acquire(&self, n: u64) {
        let mut g = match self.in_flight.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        while *g > 0 && *g + n > self.cap {
            g = match self.cv.wait(g) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
        *g += n;
    }
    fn release(&self, n: u64) {
        let mut g = match self.in_flight.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = g.saturating_sub(n);
        self.cv.notify_all();
    }
}

/// Normalize a member name: strip `./` and leading `/`; refuse names that climb out with `..`.
pub fn clean_member_name(name: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = Vec::new();
    for comp in Path::new(name).components() {
        match comp {
            Component::Normal(s) => match s.to_str() {
                Some(s) => parts.push(s),
                None => return Err("member name is not valid UTF-8".into()),
            },
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => return Err("member name climbs out of the archive with '..'".into()),
        }
    }
    if parts.is_empty() {
        return Err("empty member name".into());
    }
    Ok(parts.join("/"))
}

struct Shared {
    results: Mutex<Vec<(usize, Member)>>,
}

impl Shared {
    fn push(&self, idx: usize, m: Member) {
        match self.results.lock() {
            Ok(mut g) => g.push((idx, m)),
            Err(p) => p.into_inner().push((idx, m)),
        }
    }
}

fn process(path: String, size: u64, data: Vec<u8>, class: Class, matcher: &LogMatcher) -> Member {
    let content = match class {
        Class::Json => Content::Json(parse_json(&data)),
        Class::Yaml => Content::Yaml(parse_yaml(&data)),
        Class::Log => Content::Log(scan_log(&path, &data, matcher)),
        Class::Text => Content::Text(String::from_utf8_lossy(&data[..data.len().min(64 * 1024)]).into_owned()),
        Class::Other => Content::Other,
    };
    Member { path, size, content }
}

fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)
}

pub fn parse_json(data: &[u8]) -> Result<Value, String> {
    let data = strip_bom(data);
    let trimmed = data.iter().position(|b| !b.is_ascii_whitespace());
    if trimmed.is_none() {
        return Err("the file is empty".into());
    }
    serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))
}

pub fn parse_yaml(data: &[u8]) -> Result<Value, String> {
    let data = strip_bom(data);
    let text = std::str::from_utf8(data).map_err(|e| format!("invalid UTF-8 in YAML: {e}"))?;
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    // troubleshoot.sh redaction leaves `***HIDDEN***` unquoted, which YAML reads as an alias:
    // parse it as a plain placeholder and put the marker back in the values.
    if text.contains(HIDDEN) {
        let swapped = text.replace(HIDDEN, HIDDEN_TOKEN);
        let mut v = parse_yaml_docs(&swapped)?;
        restore_hidden(&mut v);
        return Ok(v);
    }
    parse_yaml_docs(text)
}

const HIDDEN: &str = "***HIDDEN***";
const HIDDEN_TOKEN: &str = "x-arcdiag-hidden-x";

fn restore_hidden(v: &mut Value) {
    match v {
        Value::String(s) if s.contains(HIDDEN_TOKEN) => *s = s.replace(HIDDEN_TOKEN, HIDDEN),
        Value::Array(a) => a.iter_mut().for_each(restore_hidden),
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().filter(|k| k.contains(HIDDEN_TOKEN)).cloned().collect();
            for k in keys {
                if let Some(x) = o.remove(&k) {
                    o.insert(k.replace(HIDDEN_TOKEN, HIDDEN), x);
                }
            }
            o.values_mut().for_each(restore_hidden);
        }
        _ => {}
    }
}

fn parse_yaml_docs(text: &str) -> Result<Value, String> {
    // One document, or several separated by `---`: several become an array.
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(doc).map_err(|e| format!("invalid YAML: {e}"))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.pop().unwrap_or(Value::Null)),
        _ => Ok(Value::Array(docs)),
    }
}

/// Bytes of one member we hold at most for parsing; longer logs are scanned up to the member bound.
const BUDGET_BYTES: u64 = 192 << 20;

fn read_tar(
    reader: Box<dyn Read>,
    limits: &Limits,
    matcher: &LogMatcher,
    compressed: Arc<AtomicU64>,
    compressed_len: u64,
) -> Result<RawBundle, BundleError> {
    let mut archive = tar::Archive::new(reader);
    let shared = Shared {
        results: Mutex::new(Vec::new()),
    };
    let budget = Budget {
        in_flight: Mutex::new(0),
        cv: Condvar::new(),
        cap: BUDGET_BYTES,
    };
    let mut errors: Vec<BundleError> = Vec::new();
    let mut stopped_early = false;
    let mut total: u64 = 0;
    let mut count: u64 = 0;
    let mut any_entry = false;

    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            return Err(BundleError::new(
                "archive".into(),
                format!("cannot read the tar stream: {e}"),
            ))
        }
    };
    rayon::in_place_scope(|scope| {
        for (idx, entry) in entries.enumerate() {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    errors.push(BundleError::new(
                        "archive".into(),
                        format!("truncated or corrupt archive after {count} members: {e}"),
                    ));
                    stopped_early = true;
                    break;
                }
            };
            any_entry = true;
            count += 1;
            if count > limits.max_members {
                errors.push(BundleError::new(
                    "archive".into(),
                    format!(
                        "more than {} members (bound --max-members); the rest was not read",
                        limits.max_members
                    ),
                ));
                stopped_early = true;
                break;
            }
            let raw_name = match entry.path() {
                Ok(p) => p.to_string_lossy().into_owned(),
                Err(e) => {
                    errors.push(BundleError::new(
                        format!("member #{idx}"),
                        format!("unreadable member name: {e}"),
                    ));
                    continue;
                }
            };
            let name = match clean_member_name(&raw_name) {
                Ok(n) => n,
                Err(why) => {
                    errors.push(BundleError::new(raw_name.clone(), format!("{why}; member ignored")));
                    continue;
                }
            };
            let etype = entry.header().entry_type();
            let size = entry.header().size().unwrap_or(0);
            if etype.is_dir() {
                shared.push(
                    idx,
                    Member {
                        path: name,
                        size: 0,
                        content: Content::Dir,
                    },
                );
                continue;
            }
            if etype.is_symlink() || etype.is_hard_link() {
                let target = match entry.link_name() {
                    Ok(Some(t)) => t.to_string_lossy().into_owned(),
                    _ => {
                        errors.push(BundleError::new(name, "link without a target; ignored".into()));
                        continue;
                    }
                };
                let content = if etype.is_symlink() {
                    Content::Symlink(target)
                } else {
                    Content::HardLink(target)
                };
                shared.push(
                    idx,
                    Member {
                        path: name,
                        size: 0,
                        content,
                    },
                );
                continue;
            }
            if etype.is_character_special() || etype.is_block_special() || etype.is_fifo() {
                errors.push(BundleError::new(name, "device or fifo member; ignored".into()));
                continue;
            }
            if !(etype.is_file() || etype.is_contiguous() || etype == tar::EntryType::GNUSparse) {
                // PAX/GNU metadata entries are consumed by the tar crate; anything else is skipped.
                continue;
            }
            if size > limits.max_member_bytes {
                errors.push(BundleError::new(
                    name,
                    format!(
                        "member is {size} bytes, over the member bound of {} bytes (--max-member-bytes); not read",
                        limits.max_member_bytes
                    ),
                ));
                // Skipping still decompresses it; count it against the total.
                total = total.saturating_add(size);
                if total > limits.max_total_bytes {
                    errors.push(BundleError::new(
                        "archive".into(),
                        format!(
                            "uncompressed size passed the total bound of {} bytes (--max-total-bytes); the rest was not read",
                            limits.max_total_bytes
                        ),
                    ));
                    stopped_early = true;
                    break;
                }
                continue;
            }
            total = total.saturating_add(size);
            if total > limits.max_total_bytes {
                errors.push(BundleError::new(
                    name,
                    format!(
                        "uncompressed size passed the total bound of {} bytes at this member (--max-total-bytes); the rest was not read",
                        limits.max_total_bytes
                    ),
                ));
                stopped_early = true;
                break;
            }
            let class = classify(&name);
            if class == Class::Other {
                shared.push(
                    idx,
                    Member {
                        path: name,
                        size,
                        content: Content::Other,
                    },
                );
                continue;
            }
            let mut data = Vec::with_capacity(size.min(64 << 20) as usize);
            if let Err(e) = (&mut entry).take(size).read_to_end(&mut data) {
                errors.push(BundleError::new(
                    name,
                    format!("truncated or corrupt archive while reading this member: {e}"),
                ));
                stopped_early = true;
                break;
            }
            if (data.len() as u64) < size {
                errors.push(BundleError::new(
                    name,
                    format!("truncated archive: member holds {} of {size} bytes", data.len()),
                ));
                stopped_early = true;
                break;
            }
            let consumed = compressed.load(Ordering::Relaxed).max(1);
            if total > (256 << 20) && total / consumed > limits.max_ratio && compressed_len > 0 {
                errors.push(BundleError::new(
                    name,
                    format!(
                        "compression ratio passed {}:1 (--max-ratio) after {total} bytes; looks like a decompression bomb; the rest was not read",
                        limits.max_ratio
                    ),
                ));
                stopped_early = true;
                break;
            }
            let len = data.len() as u64;
            budget.acquire(len);
            let shared = &shared;
            let budget = &budget;
            scope.spawn(move |_| {
                let m = process(name, size, data, class, matcher);
                shared.push(idx, m);
                budget.release(len);
            });
        }
    });
    if !any_entry && errors.is_empty() {
        errors.push(BundleError::new(
            "archive".into(),
            "the archive holds no members".into(),
        ));
    }
    let mut results = match shared.results.into_inner() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    };
    results.sort_by_key(|(i, _)| *i);
    Ok(RawBundle {
        members: results.into_iter().map(|(_, m)| m).collect(),
        errors,
        stopped_early,
        container: "tar",
    })
}

fn read_dir(root: &Path, limits: &Limits, matcher: &LogMatcher) -> Result<RawBundle, BundleError> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut errors = Vec::new();
    let mut members = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut stopped_early = false;
    'walk: while let Some(dir) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) => {
                errors.push(BundleError::new(
                    path_display(&dir),
                    format!("cannot list directory: {e}"),
                ));
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
            if members.len() + files.len() >= limits.max_members as usize {
                errors.push(BundleError::new(
                    rel,
                    format!(
                        "more than {} members (bound --max-members); the rest was not read",
                        limits.max_members
                    ),
                ));
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
    let mut total = 0u64;
    let mut work = Vec::new();
    for (rel, p) in files {
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        if size > limits.max_member_bytes {
            errors.push(BundleError::new(
                rel,
                format!(
                    "file is {size} bytes, over the member bound of {} bytes (--max-member-bytes); not read",
                    limits.max_member_bytes
                ),
            ));
            continue;
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            errors.push(BundleError::new(
                rel,
                format!(
                    "total size passed the bound of {} bytes (--max-total-bytes); the rest was not read",
                    limits.max_total_bytes
                ),
            ));
            stopped_early = true;
            break;
        }
        let class = classify(&rel);
        if class == Class::Other {
            members.push(Member {
                path: rel,
                size,
                content: Content::Other,
            });
        } else {
            work.push((rel, p, size, class));
        }
    }
    use rayon::prelude::*;
    let results: Vec<Result<Member, BundleError>> = work
        .into_par_iter()
        .map(|(rel, p, size, class)| match std::fs::read(&p) {
            Ok(data) => Ok(process(rel, size, data, class, matcher)),
            Err(e) => Err(BundleError::new(rel, format!("cannot read: {e}"))),
        })
        .collect();
    for r in results {
        match r {
            Ok(m) => members.push(m),
            Err(e) => errors.push(e),
        }
    }
    members.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(RawBundle {
        members,
        errors,
        stopped_early,
        container: "directory",
    })
}
