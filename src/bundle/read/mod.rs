//! Reading a bundle's bytes: a plain, gzip'd or zstd-compressed tar archive (read once, as a
//! stream; `tar`), a zip (its checked members as a tar stream; `zip`) or a directory (`dir`),
//! into [`Member`]s.
//!
//! This module knows nothing of layouts, objects' meaning, rules or findings. Every member is
//! classified by its name only ([`classify`]): JSON and YAML are parsed (`parse`; lists of pods,
//! events and nodes straight into their types, `typed`), logs are scanned by the combined
//! signature matcher and dropped, links are recorded, the rest is counted. Nothing is ever written
//! to disk. The bounds (`bounds`: member size, total size, member count, compression ratio, parsed
//! values) stop the read with an error naming the member and the bound; what was read before the
//! fault is kept. What processed members keep (log text, typed objects, parsed values: each
//! bounded, and all under one bound) is charged on the pool and trimmed in archive order by
//! `kept`. `pool` holds the reusable buffers and the in-flight bound; `feed` hands an archive's
//! members to the rayon pool.
//!
//! Where member bytes flow: every byte of every member, from an archive (whole members and the
//! regions of long logs) or a directory, is read by [`read_more`], in order, from the member's
//! first byte to its last, before [`process`] (or a log region's scan) sees it. Something that
//! must see each member's bytes (a hash) goes there. How this got fast is in BENCHMARKS.md.

mod bounds;
mod dir;
mod feed;
mod kept;
mod parse;
mod pool;
mod raw;
mod tar;
mod zip;

pub use bounds::{estimate_values, MAX_VALUES};
pub use parse::{parse_json, parse_yaml};
pub use raw::{each_archive_member, RawError, RawItem};
pub use tar::{clean_member_name, join_link};

use super::logscan::{scan_log, LogScan};
use super::typed::{self, TypedDoc, TypedKind};
use super::{BundleError, Limits};
use crate::signatures::LogMatcher;
use kept::Kept;
use pool::{Buf, ReadFail};
use serde_json::Value;
use std::io::{self, Read};
use std::path::Path;

/// What one member holds after reading.
#[derive(Debug, Clone)]
pub enum Content {
    Json(Result<Value, String>),
    Yaml(Result<Value, String>),
    /// A JSON list of pods, events or nodes parsed straight into typed models (see `typed`).
    Typed(Result<TypedDoc, String>),
    /// An arcdiag `manifest.json`, parsed straight into the fields the layout reads.
    Manifest(Result<Box<super::manifest::Manifest>, String>),
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
    /// The sha256 of every regular member read to its end, by path.
    pub digests: std::collections::BTreeMap<String, crate::bundle::digest::Sum>,
    /// The links charged against the bounds as a copy of their target (archives), which the
    /// layout may read as one; any other link shares its target's one reading.
    pub charged_links: std::collections::HashSet<String>,
}

/// How a member is treated, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Json,
    /// JSON of a kind parsed straight into its typed model (`analyze` only).
    Typed(TypedKind),
    /// A `manifest.json`, parsed into its typed view (`analyze` only).
    Manifest,
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

/// [`classify`], with JSON lists of pods, events and nodes typed when `typed` is asked for.
pub fn classify_for(path: &str, typed: bool) -> Class {
    match classify(path) {
        Class::Json if typed && path.rsplit('/').next() == Some("manifest.json") => Class::Manifest,
        Class::Json if typed => TypedKind::of_path(path).map_or(Class::Json, Class::Typed),
        c => c,
    }
}

/// Read a bundle from a path: a directory, or an archive recognized by its content.
///
/// `typed`: parse JSON lists of pods, events and nodes straight into their typed models
/// (`Content::Typed`; what `analyze` wants) instead of into `Value`s (what `serve` wants).
pub fn read_path(path: &Path, limits: &Limits, matcher: &LogMatcher, typed: bool) -> Result<RawBundle, BundleError> {
    let meta =
        std::fs::metadata(path).map_err(|e| BundleError::new(path_display(path), format!("cannot open: {e}")))?;
    if meta.is_dir() {
        return dir::read_dir(path, limits, matcher, typed);
    }
    tar::read_archive(path, meta.len(), limits, matcher, typed)
}

pub fn path_display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The one place member bytes flow: read up to `n` bytes of `r` (a member, or the rest of one)
/// onto the end of `buf`; how many were read. See the module note.
fn read_more(r: &mut dyn Read, buf: &mut Buf, n: u64) -> Result<u64, ReadFail> {
    let n = usize::try_from(n).map_err(|_| ReadFail::Io(io::Error::other("member too large for memory")))?;
    let spare = buf.spare(n);
    let mut got = 0;
    while got < n {
        match r.read(&mut spare[got..n]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadFail::Io(e)),
        }
    }
    buf.advance(got);
    Ok(got as u64)
}

/// Bytes of an error text kept, at most.
const ERROR_TEXT: usize = 64 * 1024;

/// An error text member as kept: its first [`ERROR_TEXT`] bytes of text (an invalid byte read as
/// U+FFFD is three, so the text is cut after decoding, at a character).
fn error_text(data: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(&data[..data.len().min(ERROR_TEXT)]).into_owned();
    if s.len() > ERROR_TEXT {
        let mut at = ERROR_TEXT;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.shrink_to_fit();
    }
    s
}

/// What a member's bytes become (parsed, scanned or kept), on the rayon pool.
fn process(
    path: String,
    size: u64,
    data: &[u8],
    class: Class,
    limit: u64,
    matcher: &LogMatcher,
    kept: &Kept,
) -> Member {
    let content = match class {
        Class::Json => Content::Json(parse_json(data)),
        Class::Typed(kind) => Content::Typed(typed::parse(kind, data, limit, &kept.typed)),
        Class::Manifest => Content::Manifest(super::manifest::parse(data).map(Box::new)),
        Class::Yaml => Content::Yaml(parse_yaml(data)),
        Class::Log => Content::Log(scan_log(&path, data, matcher, &kept.logs)),
        Class::Text => Content::Text(error_text(data)),
        Class::Other => Content::Other,
    };
    Member { path, size, content }
}
