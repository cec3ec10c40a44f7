//! Reading a bundle's bytes: a gzip'd or plain tar archive (read once, as a stream) or a directory.
//!
//! This module knows nothing of layouts. Every member is classified by its name only: JSON and YAML
//! are parsed (on the rayon pool, while the next members are still being decompressed), logs are
//! scanned by the combined signature matcher and dropped, links are recorded, the rest is counted.
//! Nothing is ever written to disk. Bounds on member size, total size, member count and
//! compression ratio stop the read with an error naming the member and the bound; what was read
//! before the fault is kept.
//!
//! How an archive is read fast, with bounded memory (figures in BENCHMARKS.md):
//! - One streaming pass. The calling thread walks the tar; everything else runs on the rayon pool
//!   at the same time. An ordinary gzip stream is sequential: the calling thread decompresses it,
//!   and analysis hides behind it on the other core. A bundle written by `arcdiag collect` is
//!   block gzip (`gzblocks`: independent 1 MiB gzip members that name their length), so its
//!   members are decompressed on the pool too, ahead of the reader, and decompression and
//!   analysis share every core: such a bundle is analyzed in about the time one thread takes
//!   merely to decompress it (the floor of BENCHMARKS.md).
//! - The calling thread copies member bytes straight from the decoder into pooled buffers
//!   ([`Pool`]) and hands over a task per [`CHUNK`] bytes ([`Feeder`]): small members are
//!   batched back to back into one buffer (one task, not one per file, for bundles of many tiny
//!   files); a log longer than `CHUNK` is cut into regions after a line, each region handed over
//!   with the [`CONTEXT`] lines before it and after it, and scanned in parallel with the rest of
//!   the stream; the regions' scans are merged after the stream ends (`logscan::merge`), so a
//!   log of any size costs `CHUNK` bytes at a time and its scan finishes with the stream.
//! - Logs are scanned, not stored: one combined matcher (`signatures::LogMatcher`): a literal
//!   prefilter (aho-corasick's vectorized Teddy) finds the few lines that can match, and only
//!   those see the full regexes; candidate lines with escapes are also matched unescaped (the
//!   literals are chosen so that an escape never hides one; see `LogMatcher::escape_safe`). Only
//!   the matching lines, their context and each log's last lines are kept.
//! - Lists of the most numerous objects (pods, events, nodes) are parsed on the pool straight
//!   into the typed models rules read (`typed`), and the manifest into the fields the layout
//!   reads (`manifest`): no `serde_json::Value` tree (~6x the JSON text) is built for them.
//!   Everything else JSON/YAML is a `Value`, as `serve` needs every field (`serve` reads all
//!   members as `Value`s).
//! - The calling thread's only extra work over the floor is copying member bytes into pooled
//!   buffers that stay initialized ([`Buf`]: no zeroing before each read); it never waits for the
//!   pool on the bundles of BENCHMARKS.md.
//! - Memory: bytes read but not yet processed are bounded by [`IN_FLIGHT_BYTES`] (the reader
//!   waits for the pool beyond it), so peak memory is that, plus the largest JSON/YAML member
//!   (parsed whole), plus what is kept: typed objects (~2-4 KB a pod, ~1 KB an event), each
//!   log's scan (its last lines and matches, ~1-2 KB), and `Value`s of the other resources.
//!   It grows with the number of objects and logs, not with the bytes of the logs.

use super::logscan::{merge, scan_log, scan_region, LogScan, CONTEXT};
use super::typed::{self, TypedDoc, TypedKind, MAX_TYPED_OBJECTS};
use super::{BundleError, Limits};
use crate::signatures::LogMatcher;
use memchr::memrchr;
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

/// Read a bundle from a path: a directory, or an archive recognized by its content.
///
/// `typed`: parse JSON lists of pods, events and nodes straight into their typed models
/// (`Content::Typed`; what `analyze` wants) instead of into `Value`s (what `serve` wants).
pub fn read_path(path: &Path, limits: &Limits, matcher: &LogMatcher, typed: bool) -> Result<RawBundle, BundleError> {
    let meta =
        std::fs::metadata(path).map_err(|e| BundleError::new(path_display(path), format!("cannot open: {e}")))?;
    if meta.is_dir() {
        return read_dir(path, limits, matcher, typed);
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
        progress: limits.progress,
    };
    let decoded: Box<dyn Read> = match kind {
        // A bundle written by `arcdiag collect` is block gzip: decompressed on every core.
        Kind::Gzip if super::gzblocks::is_block_gzip(&head[..n]) => {
            Box::new(super::gzblocks::BlockReader::new(Box::new(counting)))
        }
        Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counting)),
        Kind::Tar => Box::new(counting),
    };
    let guard = Arc::new(GuardState::new(
        *limits,
        counter,
        kind == Kind::Gzip && compressed_len > 0,
    ));
    let reader: Box<dyn Read> = Box::new(GuardReader {
        inner: decoded,
        state: guard.clone(),
    });
    let mut raw = read_tar(reader, limits, matcher, typed, &guard)?;
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
    /// `Limits::progress`: the same count, for a progress bar.
    progress: Option<&'static AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(p) = self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Bytes of tar metadata (GNU long names, PAX headers, sparse maps) allowed between two members.
/// The tar crate holds these in memory whole, so a hostile header declaring gigabytes would
/// otherwise be buffered.
const MAX_META_BYTES: u64 = 1 << 20;
/// Uncompressed bytes read before the compression ratio is judged (small streams of repeated
/// lines compress far better than any bound, harmlessly).
const RATIO_FLOOR: u64 = 256 << 20;

/// State shared between the reading loop and [`GuardReader`]: every decompressed byte passes
/// the guard, which enforces the total bound, the compression ratio and the metadata bound on
/// the stream itself, whatever the tar headers claim.
struct GuardState {
    limits: Limits,
    compressed: Arc<AtomicU64>,
    judge_ratio: bool,
    out: AtomicU64,
    /// Stream offset past which reading counts as metadata over [`MAX_META_BYTES`].
    allow_until: AtomicU64,
    trip: Mutex<Option<String>>,
}

impl GuardState {
    fn new(limits: Limits, compressed: Arc<AtomicU64>, judge_ratio: bool) -> GuardState {
        GuardState {
            limits,
            compressed,
            judge_ratio,
            out: AtomicU64::new(0),
            allow_until: AtomicU64::new(MAX_META_BYTES + 512),
            trip: Mutex::new(None),
        }
    }
    /// Called when the loop gets a member of `size` data bytes: the stream may now advance past
    /// its data (read or skipped) and the next member's headers.
    fn allow_member(&self, size: u64) {
        let padded = size.saturating_add(511) / 512 * 512;
        let now = self.out.load(Ordering::Relaxed);
        self.allow_until.store(
            now.saturating_add(padded).saturating_add(MAX_META_BYTES + 512),
            Ordering::Relaxed,
        );
    }
    fn tripped(&self) -> Option<String> {
        match self.trip.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
    fn check(&self, out: u64) -> Result<(), String> {
        if out > self.limits.max_total_bytes.saturating_add(MAX_META_BYTES) {
            return Err(format!(
                "uncompressed size passed the total bound of {} bytes (--max-total-bytes); the rest was not read",
                self.limits.max_total_bytes
            ));
        }
        if out > self.allow_until.load(Ordering::Relaxed) {
            return Err(format!(
                "tar metadata (GNU long name, PAX header or sparse map) over {MAX_META_BYTES} bytes; the rest was not read"
            ));
        }
        if self.judge_ratio && out > RATIO_FLOOR {
            let consumed = self.compressed.load(Ordering::Relaxed).max(1);
            if out / consumed > self.limits.max_ratio {
                return Err(format!(
                    "compression ratio passed {}:1 (--max-ratio): {out} bytes from {consumed} compressed; looks like a decompression bomb; the rest was not read",
                    self.limits.max_ratio
                ));
            }
        }
        Ok(())
    }
}

struct GuardReader {
    inner: Box<dyn Read>,
    state: Arc<GuardState>,
}

impl Read for GuardReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(t) = self.state.tripped() {
            return Err(io::Error::other(t));
        }
        let n = self.inner.read(buf)?;
        let out = self.state.out.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if let Err(why) = self.state.check(out) {
            match self.state.trip.lock() {
                Ok(mut g) => *g = Some(why.clone()),
                Err(p) => *p.into_inner() = Some(why.clone()),
            }
            return Err(io::Error::other(why));
        }
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

fn process(path: String, size: u64, data: &[u8], class: Class, limit: u64, matcher: &LogMatcher) -> Member {
    let content = match class {
        Class::Json => Content::Json(parse_json(data)),
        Class::Typed(kind) => Content::Typed(typed::parse(kind, data, limit)),
        Class::Manifest => Content::Manifest(super::manifest::parse(data).map(Box::new)),
        Class::Yaml => Content::Yaml(parse_yaml(data)),
        Class::Log => Content::Log(scan_log(&path, data, matcher)),
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

/// Bytes handed to one task: a run of small members read back to back, or one region of a long log.
const CHUNK: usize = 1 << 20;
/// Bytes read but not yet processed, at most (a JSON or YAML member larger than this is still read
/// whole, so the bound is then that member).
const IN_FLIGHT_BYTES: u64 = 8 << 20;
/// Buffers kept for reuse.
const POOL_BUFFERS: usize = 16;

/// Reusable read buffers, so the stream does not allocate (and fault in) a fresh buffer per member.
struct Pool {
    bufs: Mutex<Vec<Buf>>,
}

impl Pool {
    fn get(&self) -> Buf {
        let mut g = match self.bufs.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.pop().unwrap_or_else(|| Buf::with_capacity(CHUNK + (CHUNK >> 2)))
    }
    fn put(&self, mut b: Buf) {
        if b.capacity() > 2 * CHUNK {
            return;
        }
        b.clear();
        let mut g = match self.bufs.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if g.len() < POOL_BUFFERS {
            g.push(b);
        }
    }
}

enum ReadFail {
    Io(io::Error),
    /// The member ended early: this many bytes of it were read.
    Short(u64),
}

/// A member (or the part of one) in a batch buffer.
struct Piece {
    idx: usize,
    path: String,
    size: u64,
    class: Class,
    /// Items a typed member may hold (its charge; see `typed`).
    limit: u64,
    start: usize,
    end: usize,
}

/// Hands what the decompressor produces to the rayon pool: small members batched into one buffer
/// per task, long logs cut into regions at line boundaries (overlapping by the context lines)
/// and scanned in parallel, everything else whole.
struct Feeder<'a> {
    matcher: &'a LogMatcher,
    shared: &'a Shared,
    /// Scans of regions of long logs: (member index, region number, scan).
    parts: &'a Mutex<Vec<(usize, u32, LogScan)>>,
    budget: &'a Budget,
    pool: &'a Pool,
    batch: Buf,
    pieces: Vec<Piece>,
    /// Long logs read in regions: (member index, path, size).
    chunked: Vec<(usize, String, u64)>,
}

/// A read buffer whose bytes stay initialized from one use to the next. `Read` fills an
/// initialized slice, and `read_to_end` zeroed a `Vec`'s spare capacity before every read: a
/// memset of every byte of the bundle on the reading thread, the one the floor measures.
#[derive(Default)]
struct Buf {
    /// Initialized bytes; `len` of them hold data.
    data: Vec<u8>,
    len: usize,
}

impl Buf {
    fn with_capacity(n: usize) -> Buf {
        Buf {
            data: vec![0; n],
            len: 0,
        }
    }
    fn len(&self) -> usize {
        self.len
    }
    fn capacity(&self) -> usize {
        self.data.len()
    }
    fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }
    fn clear(&mut self) {
        self.len = 0;
    }
    fn reserve(&mut self, n: usize) {
        let want = self.len + n;
        if want > self.data.len() {
            // The allocation grows by doubling; only the bytes about to be filled are zeroed.
            self.data.resize(want, 0);
        }
    }
    fn extend_from_slice(&mut self, s: &[u8]) {
        self.reserve(s.len());
        self.data[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }
}

impl std::ops::Deref for Buf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

/// Read up to `n` bytes of `r` onto the end of `buf`; how many were read.
fn read_more(r: &mut dyn Read, buf: &mut Buf, n: u64) -> Result<u64, ReadFail> {
    let n = usize::try_from(n).map_err(|_| ReadFail::Io(io::Error::other("member too large for memory")))?;
    buf.reserve(n);
    let mut got = 0;
    while got < n {
        let at = buf.len + got;
        match r.read(&mut buf.data[at..buf.len + n]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadFail::Io(e)),
        }
    }
    buf.len += got;
    Ok(got as u64)
}

impl<'a> Feeder<'a> {
    fn member<'s>(
        &mut self,
        scope: &rayon::Scope<'s>,
        entry: &mut dyn Read,
        idx: usize,
        name: &str,
        size: u64,
        class: Class,
    ) -> Result<(), ReadFail>
    where
        'a: 's,
    {
        let is_dump_log = name.rsplit('/').next() == Some("logs.txt");
        if size > CHUNK as u64 && class == Class::Log && !is_dump_log {
            return self.chunked(scope, entry, idx, name, size);
        }
        // Anything else is read whole into the batch (a member over CHUNK, alone), so that it
        // can still be checked (`last_data`) and dropped (`discard`) before it is handed over.
        if !self.pieces.is_empty() && self.batch.len() as u64 + size > CHUNK as u64 {
            self.flush(scope);
        }
        if self.batch.capacity() == 0 {
            self.batch = if size > CHUNK as u64 {
                Buf::with_capacity(size as usize)
            } else {
                self.pool.get()
            };
        }
        let start = self.batch.len();
        let got = read_more(entry, &mut self.batch, size)?;
        if got < size {
            self.batch.truncate(start);
            return Err(ReadFail::Short(got));
        }
        self.pieces.push(Piece {
            idx,
            path: name.to_string(),
            size,
            class,
            limit: 0,
            start,
            end: self.batch.len(),
        });
        Ok(())
    }

    /// Set the item limit of member `idx`, the last one read whole.
    fn set_limit(&mut self, idx: usize, limit: u64) {
        if let Some(p) = self.pieces.last_mut().filter(|p| p.idx == idx) {
            p.limit = limit;
        }
    }

    /// The bytes of member `idx` when it is the last one read whole and not yet handed over.
    fn last_data(&self, idx: usize) -> Option<&[u8]> {
        let p = self.pieces.last().filter(|p| p.idx == idx)?;
        Some(&self.batch[p.start..p.end])
    }

    /// A long log: regions of about `CHUNK` bytes cut after a line, each handed over with the
    /// `CONTEXT` lines before it (copied from the previous region) and after it (the start of the
    /// next one), so every match keeps its context; the scans are merged after the stream ends.
    fn chunked<'s>(
        &mut self,
        scope: &rayon::Scope<'s>,
        entry: &mut dyn Read,
        idx: usize,
        name: &str,
        size: u64,
    ) -> Result<(), ReadFail>
    where
        'a: 's,
    {
        let mut remaining = size;
        let mut part = 0u32;
        let mut buf = self.pool.get();
        let mut region_start = 0usize;
        loop {
            let want = if buf.len() < region_start + CHUNK {
                region_start + CHUNK - buf.len()
            } else {
                CHUNK
            } as u64;
            let want = want.min(remaining);
            let got = read_more(entry, &mut buf, want)?;
            remaining -= got;
            if got < want {
                return Err(ReadFail::Short(size - remaining));
            }
            if remaining == 0 {
                let end = buf.len();
                self.region(scope, buf, region_start, end, idx, part);
                break;
            }
            // Cut before the last CONTEXT whole lines, which stay in this buffer as context and
            // start the next region; a line longer than the buffer makes it grow instead.
            let Some(mut cut) = memrchr(b'\n', &buf[region_start..]).map(|p| region_start + p + 1) else {
                continue;
            };
            for _ in 0..CONTEXT {
                cut = match memrchr(b'\n', &buf[region_start..cut - 1]) {
                    Some(p) => region_start + p + 1,
                    None => region_start,
                };
                if cut == region_start {
                    break;
                }
            }
            if cut == region_start {
                continue;
            }
            // The next buffer: CONTEXT lines before its region, then the rest of this one.
            let mut prefix = cut;
            for _ in 0..CONTEXT {
                if prefix > 0 {
                    prefix = memrchr(b'\n', &buf[..prefix - 1]).map(|p| p + 1).unwrap_or(0);
                }
            }
            let mut next = self.pool.get();
            next.extend_from_slice(&buf[prefix..]);
            self.region(scope, buf, region_start, cut, idx, part);
            part += 1;
            region_start = cut - prefix;
            buf = next;
        }
        self.chunked.push((idx, name.to_string(), size));
        Ok(())
    }

    fn region<'s>(&self, scope: &rayon::Scope<'s>, buf: Buf, start: usize, end: usize, idx: usize, part: u32)
    where
        'a: 's,
    {
        let len = buf.len() as u64;
        self.budget.acquire(len);
        let (matcher, parts, budget, pool) = (self.matcher, self.parts, self.budget, self.pool);
        scope.spawn(move |_| {
            let scan = scan_region(&buf, start, end, matcher);
            match parts.lock() {
                Ok(mut g) => g.push((idx, part, scan)),
                Err(p) => p.into_inner().push((idx, part, scan)),
            }
            pool.put(buf);
            budget.release(len);
        });
    }

    /// Hand the batch of small members to the pool.
    fn flush<'s>(&mut self, scope: &rayon::Scope<'s>)
    where
        'a: 's,
    {
        if self.pieces.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.batch);
        let pieces = std::mem::take(&mut self.pieces);
        self.dispatch(scope, buf, pieces);
    }

    fn dispatch<'s>(&self, scope: &rayon::Scope<'s>, buf: Buf, pieces: Vec<Piece>)
    where
        'a: 's,
    {
        let len = buf.len() as u64;
        self.budget.acquire(len);
        let (matcher, shared, budget, pool) = (self.matcher, self.shared, self.budget, self.pool);
        scope.spawn(move |_| {
            for p in pieces {
                let m = process(p.path, p.size, &buf[p.start..p.end], p.class, p.limit, matcher);
                shared.push(p.idx, m);
            }
            pool.put(buf);
            budget.release(len);
        });
    }

    /// Forget a member that was read but must not count (it broke a bound).
    fn discard(&mut self, idx: usize) {
        if let Some(p) = self.pieces.last() {
            if p.idx == idx {
                self.batch.truncate(p.start);
                self.pieces.pop();
            }
        }
        self.chunked.retain(|(i, _, _)| *i != idx);
    }
}

fn read_tar(
    reader: Box<dyn Read>,
    limits: &Limits,
    matcher: &LogMatcher,
    typed: bool,
    guard: &GuardState,
) -> Result<RawBundle, BundleError> {
    let mut archive = tar::Archive::new(reader);
    let shared = Shared {
        results: Mutex::new(Vec::new()),
    };
    let budget = Budget {
        in_flight: Mutex::new(0),
        cv: Condvar::new(),
        cap: IN_FLIGHT_BYTES,
    };
    let pool = Pool {
        bufs: Mutex::new(Vec::new()),
    };
    let parts: Mutex<Vec<(usize, u32, LogScan)>> = Mutex::new(Vec::new());
    let mut feeder = Feeder {
        matcher,
        shared: &shared,
        parts: &parts,
        budget: &budget,
        pool: &pool,
        batch: Buf::default(),
        pieces: Vec::new(),
        chunked: Vec::new(),
    };
    let mut errors: Vec<BundleError> = Vec::new();
    let mut stopped_early = false;
    let mut total: u64 = 0;
    let mut count: u64 = 0;
    let mut any_entry = false;
    let mut used = Used::default();
    let mut last_member = String::new();
    // The cause of a stream error: a bound the guard tripped, else what the decoder said.
    let cause = |e: &io::Error| {
        guard
            .tripped()
            .unwrap_or_else(|| format!("truncated or corrupt archive: {e}"))
    };

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
                    let after = if last_member.is_empty() {
                        String::new()
                    } else {
                        format!(", after member '{last_member}'")
                    };
                    errors.push(BundleError::new(
                        "archive".into(),
                        format!("{} (stopped after {count} members{after})", cause(&e)),
                    ));
                    stopped_early = true;
                    break;
                }
            };
            any_entry = true;
            count += 1;
            let size = entry.size();
            guard.allow_member(size);
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
                Ok(n) if raw_name.starts_with('/') => {
                    errors.push(BundleError::new(
                        raw_name.clone(),
                        format!("absolute member name; read as '{n}' inside the archive"),
                    ));
                    n
                }
                Ok(n) => n,
                // The archive's own root folder (`./`, which `tar czf b.tgz -C dir .` writes
                // first): nothing to read and nothing wrong.
                Err(_)
                    if entry.header().entry_type().is_dir()
                        && raw_name.split('/').all(|c| c.is_empty() || c == ".") =>
                {
                    continue;
                }
                Err(why) => {
                    errors.push(BundleError::new(raw_name.clone(), format!("{why}; member ignored")));
                    continue;
                }
            };
            last_member.clone_from(&name);
            let etype = entry.header().entry_type();
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
                    name.clone(),
                    format!(
                        "member is {size} bytes, over the member bound of {} bytes (--max-member-bytes); not read",
                        limits.max_member_bytes
                    ),
                ));
                // Skipping still decompresses it; count it against the total.
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
            let class = classify_for(&name, typed);
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
            if let Err(fail) = feeder.member(scope, &mut entry, idx, &name, size, class) {
                errors.push(BundleError::new(
                    name,
                    match fail {
                        ReadFail::Io(e) => format!("{}; while reading this member", cause(&e)),
                        ReadFail::Short(got) => format!("truncated archive: member holds {got} of {size} bytes"),
                    },
                ));
                stopped_early = true;
                break;
            }
            if let Some(data) = feeder.last_data(idx) {
                match charge_member(&name, data, class, &mut used) {
                    Ok(limit) => feeder.set_limit(idx, limit),
                    Err(refused) => {
                        feeder.discard(idx);
                        shared.push(idx, refused);
                    }
                }
            }
        }
        feeder.flush(scope);
    });
    if !any_entry && errors.is_empty() {
        errors.push(BundleError::new(
            "archive".into(),
            "the archive holds no members".into(),
        ));
    }
    let chunked = std::mem::take(&mut feeder.chunked);
    drop(feeder);
    let mut results = match shared.results.into_inner() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    };
    // Long logs were scanned in regions: put each one's regions back together, in order.
    let mut parts = match parts.into_inner() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    };
    parts.sort_by_key(|(i, n, _)| (*i, *n));
    let mut parts = parts.into_iter().peekable();
    for (idx, path, size) in chunked {
        while parts.peek().is_some_and(|(i, _, _)| *i < idx) {
            parts.next();
        }
        let mut scans = Vec::new();
        while let Some((_, _, scan)) = parts.next_if(|(i, _, _)| *i == idx) {
            scans.push(scan);
        }
        results.push((
            idx,
            Member {
                path,
                size,
                content: Content::Log(vec![merge(scans)]),
            },
        ));
    }

    results.sort_by_key(|(i, _)| *i);
    Ok(RawBundle {
        members: results.into_iter().map(|(_, m)| m).collect(),
        errors,
        stopped_early,
        container: "tar",
    })
}

/// Values (JSON/YAML nodes) the reader parses for one bundle at most. A parsed value costs about
/// 100 bytes whatever its text, so `[{},{},...]` would otherwise turn 90 MB into 20 GB.
pub const MAX_VALUES: u64 = 24_000_000;

/// Estimated values in a JSON or YAML text: separators and openers outside JSON strings (YAML
/// also counts lines). Linear, allocation-free, an over-estimate for text rich in commas.
pub fn estimate_values(data: &[u8], class: Class) -> u64 {
    let mut n: u64 = 1;
    match class {
        Class::Json | Class::Manifest => {
            let (mut in_str, mut esc) = (false, false);
            for &b in data {
                if in_str {
                    if esc {
                        esc = false;
                    } else if b == b'\\' {
                        esc = true;
                    } else if b == b'"' {
                        in_str = false;
                    }
                } else {
                    match b {
                        b'"' => in_str = true,
                        b',' | b'{' | b'[' | b':' => n += 1,
                        _ => {}
                    }
                }
            }
        }
        Class::Yaml => {
            n += data
                .iter()
                .filter(|b| matches!(b, b'\n' | b',' | b'{' | b'[' | b':' | b'-'))
                .count() as u64;
        }
        _ => {}
    }
    n
}

/// What the members read so far were charged against the parse bounds.
#[derive(Default)]
struct Used {
    values: u64,
    typed: u64,
}

/// Charge a JSON/YAML member against [`MAX_VALUES`], or a typed one against
/// [`MAX_TYPED_OBJECTS`], in archive order; `Ok(items a typed member may hold)` or the refused
/// member when it does not fit.
fn charge_member(name: &str, data: &[u8], class: Class, used: &mut Used) -> Result<u64, Member> {
    let (why, content): (String, fn(String) -> Content) = match class {
        Class::Typed(_) => {
            let est = typed::charge(data);
            if used.typed.saturating_add(est) <= MAX_TYPED_OBJECTS {
                used.typed += est;
                return Ok(est);
            }
            (
                format!(
                    "holds up to {est} objects; with the {} already read that passes the bound of {MAX_TYPED_OBJECTS} parsed objects per bundle (memory); not parsed",
                    used.typed
                ),
                |w| Content::Typed(Err(w)),
            )
        }
        Class::Json | Class::Yaml | Class::Manifest => {
            let est = estimate_values(data, class);
            if used.values.saturating_add(est) <= MAX_VALUES {
                used.values += est;
                return Ok(0);
            }
            (
                format!(
                    "holds about {est} values; with the {} already read that passes the bound of {MAX_VALUES} parsed values per bundle (memory); not parsed",
                    used.values
                ),
                match class {
                    Class::Json => |w| Content::Json(Err(w)),
                    Class::Manifest => |w| Content::Manifest(Err(w)),
                    _ => |w| Content::Yaml(Err(w)),
                },
            )
        }
        _ => return Ok(0),
    };
    Err(Member {
        path: name.to_string(),
        size: data.len() as u64,
        content: content(why),
    })
}

/// [`classify`], with JSON lists of pods, events and nodes typed when `typed` is asked for.
pub fn classify_for(path: &str, typed: bool) -> Class {
    match classify(path) {
        Class::Json if typed && path.rsplit('/').next() == Some("manifest.json") => Class::Manifest,
        Class::Json if typed => TypedKind::of_path(path).map_or(Class::Json, Class::Typed),
        c => c,
    }
}

fn read_dir(root: &Path, limits: &Limits, matcher: &LogMatcher, typed: bool) -> Result<RawBundle, BundleError> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut errors = Vec::new();
    let mut members = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut stopped_early = false;
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
    let mut used = Used::default();
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
        let class = classify_for(&rel, typed);
        if class == Class::Other {
            members.push(Member {
                path: rel,
                size,
                content: Content::Other,
            });
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
    let results: Vec<Result<Member, BundleError>> = work
        .into_par_iter()
        .map(|(rel, p, size, class, limit)| match std::fs::read(&p) {
            Ok(data) => Ok(process(rel, size, &data, class, limit, matcher)),
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
