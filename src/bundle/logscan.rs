//! Scanning one log buffer with the combined signature matcher.
//!
//! Only what a rule can cite is kept: matching lines (with line numbers, a little context and
//! the signatures' captures) and the last lines of the log. JSON log lines are also matched on
//! their decoded string values, so escapes never hide a signature. A cluster-info `logs.txt`
//! is split into one scan per container by its START/END markers: [`scan_log`] when it is read
//! whole, [`Segmenter`] when it is read in regions, with the same result. What the scans of one
//! bundle keep in all is bounded ([`Keep`]: kept text, container segments).

use crate::signatures::LogMatcher;
use memchr::{memchr, memchr_iter, memrchr};
use std::collections::BTreeMap;

/// Lines of context kept on each side of a match.
pub const CONTEXT: usize = 2;
/// Lines kept from the end of each log: the last [`TAIL`] that are not blank, which is what
/// rules cite (`text::CITED_LOG_LINES`), with the blank lines among them kept empty (so line
/// numbers stay consecutive), at most [`TAIL_WALK`] lines back. Every log keeps its tail, so
/// this is much of what a bundle of thousands of logs holds after reading.
pub const TAIL: usize = crate::text::CITED_LOG_LINES;
/// Lines walked back from the end of a log for its tail, at most.
const TAIL_WALK: usize = 64;
/// Characters kept of a tail line: what a citation shows (`rules::log_evidence`).
const TAIL_CHARS: usize = 300;
/// Matching lines kept per log and signature at most; the rest are only counted. Per signature,
/// so a noisy one (matching thousands of lines) never hides another's rare match.
pub const MAX_HITS: usize = 500;

/// Whether a line matching `sigs` is kept, given how many lines each signature has kept so far
/// (`kept`, updated): yes while one of them is under [`MAX_HITS`].
fn keep_hit(kept: &mut BTreeMap<usize, usize>, sigs: &[(usize, BTreeMap<String, String>)]) -> bool {
    if !sigs.iter().any(|(s, _)| kept.get(s).copied().unwrap_or(0) < MAX_HITS) {
        return false;
    }
    for (s, _) in sigs {
        *kept.entry(*s).or_insert(0) += 1;
    }
    true
}
/// Characters kept of one line.
pub const LINE_CHARS: usize = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHit {
    /// 1-based line number in the file.
    pub line: u64,
    pub text: String,
    /// Set when the match was found on the decoded string values of a JSON line.
    pub decoded: Option<String>,
    /// (index into `SignatureSet::sigs`, named captures)
    pub sigs: Vec<(usize, BTreeMap<String, String>)>,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogScan {
    /// For a segment of a cluster-info `logs.txt`: (namespace, pod, container).
    pub segment: Option<(String, String, String)>,
    pub lines: u64,
    pub bytes: u64,
    pub hits: Vec<LogHit>,
    /// Matching lines beyond `MAX_HITS` (per signature), counted only.
    pub hits_dropped: u64,
    /// The last lines of the log (or segment), with the line number of the first one.
    pub tail_first_line: u64,
    pub tail: Tail,
    /// The whole log (or segment) bytes, kept only when the matcher asks (`LogMatcher::keep_text`).
    pub text: Option<Vec<u8>>,
    /// Matching lines or last lines this scan did not keep for the bound on a bundle's kept log
    /// text ([`KEPT_LOG_TEXT`]); they are counted in `hits_dropped`.
    pub unkept: bool,
    /// Container markers of this `logs.txt` not followed for the bound on segments
    /// ([`MAX_SEGMENTS`]).
    pub unsplit: bool,
}

/// Bytes a kept matching line is charged besides its text: the line's bookkeeping here and the
/// copies the analysis makes of it (a hit, a finding's evidence).
const HIT_COST: u64 = 1024;

/// The bound on what the scans of one bundle keep, in bytes: matching lines with their context
/// (plus [`HIT_COST`] each) and last lines. Every log keeps its tail and up to [`MAX_HITS`]
/// matching lines per signature, so without it a bundle of 20,000 logs of 500 matching lines
/// kept 10 million lines: 14 GB and 44 s from a 2.4 MB `.tgz`. Scans on the pool charge what
/// they keep as they finish, against twice the bound and the bundle's bound in all
/// ([`Keep::charge`], `budget`), which bounds memory whatever the order; the reader then applies
/// the bound itself in archive order (`read::kept`), so which logs keep their lines does not
/// depend on the order the pool finished them in (unless the logs in flight at one moment keep
/// more than the bound).
pub const KEPT_LOG_TEXT: u64 = 128 << 20;

/// Container segments followed in one bundle, at most: a cluster-info dump of 50,000 pods of two
/// containers has 100,000. Past it, markers are not followed ([`scan_log`]): a `logs.txt` of a
/// million tiny segments took 1.8 GB as a million scans.
pub const MAX_SEGMENTS: u64 = 120_000;

/// What the scans of one bundle have kept so far (see [`KEPT_LOG_TEXT`], [`MAX_SEGMENTS`]).
#[derive(Debug)]
pub struct Keep {
    charged: std::sync::atomic::AtomicU64,
    segments: std::sync::atomic::AtomicU64,
    soft: u64,
    /// What the bundle keeps in all, shared with its other members (`budget`).
    total: std::sync::Arc<crate::bundle::budget::Total>,
}

impl Default for Keep {
    fn default() -> Keep {
        Keep::new(KEPT_LOG_TEXT)
    }
}

impl Keep {
    pub fn new(bound: u64) -> Keep {
        Keep::sharing(bound, std::sync::Arc::new(crate::bundle::budget::Total::unbounded()))
    }

    /// A `Keep` of `bound` whose scans also charge `total`, the bundle's bound in all.
    pub fn sharing(bound: u64, total: std::sync::Arc<crate::bundle::budget::Total>) -> Keep {
        Keep {
            charged: std::sync::atomic::AtomicU64::new(0),
            segments: std::sync::atomic::AtomicU64::new(0),
            soft: bound.saturating_mul(2),
            total,
        }
    }

    /// Charge a finished scan for what it keeps; past twice the bound, or past the bundle's
    /// bound in all, it keeps only its counts.
    fn charge(&self, scan: &mut LogScan) {
        use std::sync::atomic::Ordering;
        let cost = scan.kept_bytes();
        if cost == 0 {
            return;
        }
        let before = self.charged.fetch_add(cost, Ordering::Relaxed);
        if before.saturating_add(cost) > self.soft || !self.total.charge(cost) {
            self.charged.fetch_sub(cost, Ordering::Relaxed);
            scan.strip();
        }
    }

    /// Whether one more container segment may be followed (counted when it may).
    fn has_room(&self) -> bool {
        self.segments.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < MAX_SEGMENTS
    }
}

fn line_text(b: &[u8]) -> String {
    let mut s = String::new();
    push_line_text(&mut s, b, LINE_CHARS);
    s
}

/// A line as kept: without its `\r`, invalid UTF-8 replaced, cut at `chars` characters.
fn push_line_text(out: &mut String, b: &[u8], chars: usize) {
    let b = b.strip_suffix(b"\r").unwrap_or(b);
    let cut = &b[..b.len().min(chars * 4)];
    crate::text::push_excerpt(out, &String::from_utf8_lossy(cut), chars);
}

/// A matching line as kept: whole when it fits [`LINE_CHARS`], else a window around the first
/// match of its signatures (`…` where it was cut), so the text that matched is what a citation
/// can show even on a long JSON line.
fn hit_text(line: &[u8], sigs: &[(usize, BTreeMap<String, String>)], m: &LogMatcher) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() <= LINE_CHARS {
        return line_text(line);
    }
    let span = m
        .ids
        .iter()
        .enumerate()
        .filter(|(_, id)| sigs.iter().any(|(s, _)| s == *id))
        .filter_map(|(si, _)| m.regexes.get(si)?.find(line))
        .map(|x| (x.start(), x.end()))
        .min();
    let Some((start, end)) = span else {
        // Matched only on the decoded values (which are kept apart): the head of the line.
        return line_text(line);
    };
    // A byte window wide enough for LINE_CHARS characters on each side, then cut by characters.
    let (from, to) = (
        start.saturating_sub(LINE_CHARS * 4),
        (end + LINE_CHARS * 4).min(line.len()),
    );
    let w = String::from_utf8_lossy(&line[from..to]);
    let (s, e) = match &w {
        std::borrow::Cow::Borrowed(_) => (start - from, end - from),
        // Invalid UTF-8 moved the offsets: centre on where the match was, roughly.
        std::borrow::Cow::Owned(o) => ((start - from).min(o.len()), (end - from).min(o.len())),
    };
    let mut out = crate::text::excerpt_around(&w, s, e, LINE_CHARS);
    if from > 0 && !out.starts_with('…') {
        out.insert(0, '…');
    }
    if to < line.len() && !out.ends_with('…') {
        out.push('…');
    }
    out
}

/// The last lines of a log (or segment), in one string: every log keeps its tail, so one
/// allocation each rather than one per line (240,000 of them for 24,000 logs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tail {
    /// The lines joined by `\n` (lines never hold one).
    text: String,
    len: usize,
}

impl Tail {
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Tail {
        let mut t = Tail::default();
        for l in lines {
            t.start_line();
            t.text.push_str(l);
        }
        t
    }

    /// Begin a new (empty) last line.
    fn start_line(&mut self) {
        if self.len > 0 {
            self.text.push('\n');
        }
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The lines, first to last.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n').take(self.len)
    }

    pub fn last(&self) -> Option<&str> {
        self.lines().last()
    }

    /// The tails of consecutive parts of one log, read back to back, as one tail: the last
    /// [`TAIL`] non-blank lines, walking back at most [`TAIL_WALK`].
    fn last_lines(parts: &[&Tail]) -> Tail {
        let mut picked: Vec<&str> = Vec::new();
        let mut non_blank = 0;
        'walk: for t in parts.iter().rev() {
            let lines: Vec<&str> = t.lines().collect();
            for l in lines.into_iter().rev() {
                if non_blank == TAIL || picked.len() == TAIL_WALK {
                    break 'walk;
                }
                non_blank += usize::from(!l.is_empty());
                picked.push(l);
            }
        }
        picked.reverse();
        let mut t = Tail::from_lines(picked);
        t.settle();
        t
    }

    /// No tail at all when every line of it is blank.
    fn settle(&mut self) {
        if self.lines().all(str::is_empty) {
            *self = Tail::default();
        }
    }
}

fn line_start(data: &[u8], pos: usize) -> usize {
    memrchr(b'\n', &data[..pos]).map(|p| p + 1).unwrap_or(0)
}

fn line_end(data: &[u8], pos: usize) -> usize {
    memchr(b'\n', &data[pos..]).map(|p| pos + p).unwrap_or(data.len())
}

/// The string values of a JSON document, joined by newlines.
fn decoded_strings(line: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let mut out = String::new();
    fn walk(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&v, &mut out);
    Some(out)
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Undo one level of string escaping (`\"`, `\\`, `\/`, `\n`, `\t`, `\r`, `\uXXXX`) of a line,
/// byte for byte; anything that is not a known escape is copied as it is.
fn unescape_into(line: &[u8], out: &mut Vec<u8>) {
    out.reserve(line.len());
    let mut i = 0;
    while i < line.len() {
        let Some(off) = memchr(b'\\', &line[i..]) else {
            out.extend_from_slice(&line[i..]);
            return;
        };
        out.extend_from_slice(&line[i..i + off]);
        i += off;
        match line.get(i + 1) {
            Some(b'"') | Some(b'\\') | Some(b'/') => {
                out.push(line[i + 1]);
                i += 2;
            }
            Some(b'n') => {
                out.push(b'\n');
                i += 2;
            }
            Some(b't') => {
                out.push(b'\t');
                i += 2;
            }
            Some(b'r') => {
                out.push(b'\r');
                i += 2;
            }
            Some(b'u') => {
                let hex = line.get(i + 2..i + 6).and_then(|h| std::str::from_utf8(h).ok());
                match hex
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                {
                    Some(c) => {
                        let mut b = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                        i += 6;
                    }
                    None => {
                        out.push(b'\\');
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
}

fn sig_matches(m: &LogMatcher, text: &[u8]) -> Vec<(usize, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    for si in m.set.matches(text).iter() {
        let re = &m.regexes[si];
        let mut caps = BTreeMap::new();
        if let Some(c) = re.captures(text) {
            for name in re.capture_names().flatten() {
                if let Some(g) = c.name(name) {
                    caps.insert(name.to_string(), String::from_utf8_lossy(g.as_bytes()).into_owned());
                }
            }
        }
        out.push((m.ids[si], caps));
    }
    out
}

/// Scan one log buffer. `first_line` is the file line number of `data`'s first line.
pub fn scan_buffer(data: &[u8], first_line: u64, m: &LogMatcher, keep: &Keep) -> LogScan {
    let mut scan = scan_region(data, 0, data.len(), m, keep);
    scan.tail.settle();
    if scan.tail.is_empty() {
        scan.tail_first_line = 0;
    }
    scan.shift(first_line - 1);
    scan
}

/// Scan the lines of `data[start..end]` (`start` is at a line start), numbering them from 1. Lines
/// outside the region are only read as context of a match, so a long log can be cut into regions
/// that overlap by [`CONTEXT`] lines and scanned in parallel, then put together with [`merge`].
pub fn scan_region(data: &[u8], start: usize, end: usize, m: &LogMatcher, keep: &Keep) -> LogScan {
    let first_line = 1u64;
    let region = &data[start..end];
    // Matching lines: line start offset → (line end, matches, decoded text)
    type Found = (usize, Vec<(usize, BTreeMap<String, String>)>, Option<String>);
    let mut found: BTreeMap<usize, Found> = BTreeMap::new();
    let mut dropped = 0u64;
    let mut kept: BTreeMap<usize, usize> = BTreeMap::new();
    if m.prefilter.is_some() || m.residual.is_some() {
        // Candidate lines: those holding a prefilter literal, then those the residual regex
        // (signatures without a literal prefix) finds; the full set runs on each candidate once.
        let mut check = |ls: usize, le: usize, found: &mut BTreeMap<usize, Found>| {
            if found.contains_key(&ls) {
                return;
            }
            let sigs = sig_matches(m, &data[ls..le]);
            if !sigs.is_empty() {
                if keep_hit(&mut kept, &sigs) {
                    found.insert(ls, (le, sigs, None));
                } else {
                    dropped += 1;
                }
            }
        };
        // Lines to match unescaped as well (see below), when the matcher is escape-safe.
        let mut escaped: Vec<(usize, usize)> = Vec::new();
        if let Some(pf) = &m.prefilter {
            let mut pos = start;
            while let Some(at) = pf.find(&data[..end], pos) {
                let (ls, le) = (line_start(data, at), line_end(data, at));
                check(ls, le, &mut found);
                if m.escape_safe && memchr(b'\\', &data[ls..le]).is_some() {
                    escaped.push((ls, le));
                }
                pos = le + 1;
            }
        }
        if let Some(residual) = &m.residual {
            let mut pos = start;
            while pos < end {
                let Some(hit) = residual.find_at(&data[..end], pos) else {
                    break;
                };
                let (ls, le) = (line_start(data, hit.start()), line_end(data, hit.start()));
                check(ls, le, &mut found);
                pos = le + 1;
            }
        }
        // Lines with escapes (`\"` in JSON lines and in klog's quoted values): unescape the line
        // into a scratch buffer and run the combined matcher on it; only a line that matches
        // there is decoded for real (a JSON line into its string values).
        // One scratch buffer per thread (not per region): growing a fresh one for each of
        // thousands of logs faulted in new pages every time.
        // With an escape-safe matcher only the lines found above can match unescaped; otherwise
        // every line with a backslash is a candidate.
        SCRATCH.with_borrow_mut(|scratch| {
            let mut pos = start;
            let mut next = escaped.into_iter();
            loop {
                let (ls, le) = if m.escape_safe {
                    match next.next() {
                        Some(l) => l,
                        None => break,
                    }
                } else {
                    let Some(off) = memchr(b'\\', &data[pos..end]) else {
                        break;
                    };
                    let bs = pos + off;
                    let (ls, le) = (line_start(data, bs), line_end(data, bs));
                    pos = (le + 1).min(end);
                    (ls, le)
                };
                let line = &data[ls..le];
                scratch.clear();
                unescape_into(line, scratch);
                if !m.candidate(scratch) {
                    continue;
                }
                let first = line.iter().position(|b| !b.is_ascii_whitespace());
                let decoded = if first.map(|i| line[i]) == Some(b'{') {
                    decoded_strings(line)
                } else {
                    None
                };
                let (sigs, text) = match decoded {
                    Some(dec) => (sig_matches(m, dec.as_bytes()), dec),
                    None => (sig_matches(m, scratch), String::from_utf8_lossy(scratch).into_owned()),
                };
                // A line whose raw text matched one signature is still matched unescaped: another
                // may need the plain quotes (`failed calling webhook \"x\"` beside an x509 error).
                if let Some((_, have, dec)) = found.get_mut(&ls) {
                    let mut added = false;
                    for sig in sigs {
                        if !have.iter().any(|(h, _)| *h == sig.0) {
                            have.push(sig);
                            added = true;
                        }
                    }
                    if added {
                        have.sort_by_key(|(s, _)| *s);
                        *dec = Some(crate::text::excerpt(&text, LINE_CHARS * 2));
                    }
                } else if !sigs.is_empty() {
                    if keep_hit(&mut kept, &sigs) {
                        found.insert(ls, (le, sigs, Some(crate::text::excerpt(&text, LINE_CHARS * 2))));
                    } else {
                        dropped += 1;
                    }
                }
            }
            if scratch.capacity() > 1 << 20 {
                *scratch = Vec::new();
            }
        });
    }
    // Line numbers, counted incrementally between hits.
    let mut hits = Vec::with_capacity(found.len());
    let mut counted_to = start;
    let mut line_no = first_line;
    for (ls, (le, sigs, decoded)) in found {
        line_no += memchr_iter(b'\n', &data[counted_to..ls]).count() as u64;
        counted_to = ls;
        let mut before = Vec::new();
        let mut s = ls;
        for _ in 0..CONTEXT {
            if s == 0 {
                break;
            }
            let ps = line_start(data, s - 1);
            before.push(line_text(&data[ps..s - 1]));
            s = ps;
        }
        before.reverse();
        let mut after = Vec::new();
        let mut e = le;
        for _ in 0..CONTEXT {
            if e >= data.len() {
                break;
            }
            let ne = line_end(data, e + 1);
            if e + 1 >= data.len() {
                break;
            }
            after.push(line_text(&data[e + 1..ne]));
            e = ne;
        }
        hits.push(LogHit {
            line: line_no,
            text: hit_text(&data[ls..le], &sigs, m),
            decoded,
            sigs,
            before,
            after,
        });
    }
    let lines = count_lines(region);
    let tail = tail_of(region);
    let tail_first_line = if tail.is_empty() {
        0
    } else {
        first_line + lines - tail.len() as u64
    };
    let mut scan = LogScan {
        segment: None,
        lines,
        bytes: region.len() as u64,
        hits,
        hits_dropped: dropped,
        tail_first_line,
        tail,
        text: m.keep_text.then(|| region.to_vec()),
        unkept: false,
        unsplit: false,
    };
    keep.charge(&mut scan);
    scan
}

/// The tail of a buffer: its last [`TAIL`] non-blank lines (cut at [`TAIL_CHARS`]) and the
/// blank lines among them (kept empty), walking back at most [`TAIL_WALK`] lines.
fn tail_of(data: &[u8]) -> Tail {
    if data.is_empty() {
        return Tail::default();
    }
    let mut end = data.len();
    if data[end - 1] == b'\n' {
        end -= 1;
    }
    // Line ranges, last first; a blank line as an empty range. The first line counts too when
    // it is blank, as it does in a region of a longer log (`merge` reads regions' tails back to
    // back).
    let mut lines: Vec<(usize, usize)> = Vec::with_capacity(TAIL);
    let mut non_blank = 0;
    let mut cursor = end;
    while non_blank < TAIL && lines.len() < TAIL_WALK {
        let ls = line_start(data, cursor);
        let blank = data[ls..cursor].iter().all(u8::is_ascii_whitespace);
        lines.push(if blank { (ls, ls) } else { (ls, cursor) });
        non_blank += usize::from(!blank);
        if ls == 0 {
            break;
        }
        cursor = ls - 1;
    }
    // A region of blank lines keeps them (the log's tail may end there once regions are put
    // together); a log's tail of blank lines only is none (`Tail::settle`).
    if lines.is_empty() {
        return Tail::default();
    }
    let mut tail = Tail {
        text: String::with_capacity(lines.iter().map(|(s, e)| (e - s).min(TAIL_CHARS * 4) + 1).sum()),
        len: 0,
    };
    for &(s, e) in lines.iter().rev() {
        tail.start_line();
        push_line_text(&mut tail.text, &data[s..e], TAIL_CHARS);
    }
    // Room was made for the longest text a line could become (TAIL_CHARS characters of 4
    // bytes); every log keeps its tail, so what a long line did not use is given back.
    if tail.text.capacity() - tail.text.len() > 64 {
        tail.text.shrink_to_fit();
    }
    tail
}

impl LogScan {
    /// What this scan is charged against [`KEPT_LOG_TEXT`].
    pub fn kept_bytes(&self) -> u64 {
        let lines: usize = self
            .hits
            .iter()
            .map(|h| {
                h.text.len()
                    + h.decoded.as_ref().map_or(0, String::len)
                    + h.before.iter().chain(&h.after).map(String::len).sum::<usize>()
            })
            .sum();
        HIT_COST * self.hits.len() as u64 + lines as u64 + self.tail.text.len() as u64
    }

    /// Keep only the counts: the matching lines are counted as dropped, the tail is let go.
    pub fn strip(&mut self) {
        if self.hits.is_empty() && self.tail.is_empty() {
            return;
        }
        self.hits_dropped += self.hits.len() as u64;
        self.hits = Vec::new();
        self.tail = Tail::default();
        self.tail_first_line = 0;
        self.unkept = true;
    }

    /// Renumber every line by `by` (a region that starts at line `by + 1` of the file).
    fn shift(&mut self, by: u64) {
        for h in &mut self.hits {
            h.line += by;
        }
        if self.tail_first_line > 0 {
            self.tail_first_line += by;
        }
    }
}

/// Put the scans of consecutive regions of one log (each numbered from 1) together, as if the
/// whole log had been scanned at once.
pub fn merge(parts: Vec<LogScan>) -> LogScan {
    let mut out = LogScan::default();
    let mut kept: BTreeMap<usize, usize> = BTreeMap::new();
    let mut tails: Vec<(u64, Tail)> = Vec::new();
    for mut p in parts {
        p.shift(out.lines);
        out.bytes += p.bytes;
        out.hits_dropped += p.hits_dropped;
        out.unkept |= p.unkept;
        out.unsplit |= p.unsplit;
        for h in p.hits {
            if keep_hit(&mut kept, &h.sigs) {
                out.hits.push(h);
            } else {
                out.hits_dropped += 1;
            }
        }
        if let Some(t) = p.text {
            out.text.get_or_insert_with(Vec::new).extend_from_slice(&t);
        }
        if !p.tail.is_empty() {
            tails.push((p.tail_first_line, p.tail));
        }
        out.lines += p.lines;
    }
    // The tail may span several regions. A region's tail ends at its last line and stops
    // walking only at its region's start or at a limit `last_lines` also stops at, so the
    // regions' tails read back to back are the end of the log; the lines picked end at the
    // last region's last line.
    let refs: Vec<&Tail> = tails.iter().map(|(_, t)| t).collect();
    let tail = Tail::last_lines(&refs);
    out.tail_first_line = match tails.last() {
        Some((f, t)) if !tail.is_empty() => (f + t.len() as u64).saturating_sub(tail.len() as u64),
        _ => 0,
    };
    out.tail = tail;
    out
}

const START_MARK: &[u8] = b"==== START logs for container ";
const END_MARK: &[u8] = b"==== END logs for container ";

/// Parse `==== START logs for container C of pod NS/P ====`.
fn parse_marker(line: &[u8], mark: &[u8]) -> Option<(String, String, String)> {
    let rest = std::str::from_utf8(line.strip_prefix(mark)?).ok()?;
    let rest = rest.trim_end_matches(['\r', ' ']).strip_suffix("====")?.trim_end();
    let (container, pod) = rest.split_once(" of pod ")?;
    let (ns, pod) = pod.split_once('/')?;
    Some((ns.to_string(), pod.to_string(), container.to_string()))
}

/// Scan a log member. `logs.txt` of a cluster-info dump is split into container segments.
///
/// A segment costs a scan: once the bundle's scans keep more than [`Keep`] allows, marker lines
/// are no longer followed (they read as lines of the segment open then, which runs to the end of
/// the file), so a file of a million tiny segments is not a million scans.
pub fn scan_log(path: &str, data: &[u8], m: &LogMatcher, keep: &Keep) -> Vec<LogScan> {
    let is_dump_log = path.rsplit('/').next() == Some("logs.txt");
    if !is_dump_log || memchr::memmem::find(data, START_MARK).is_none() {
        return vec![scan_buffer(data, 1, m, keep)];
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut line_no = 1u64;
    let mut current: Option<((String, String, String), usize, u64)> = None;
    let (mut started, mut frozen) = (false, false);
    while pos < data.len() {
        let le = line_end(data, pos);
        let line = &data[pos..le];
        if let Some(id) = parse_marker(line, START_MARK) {
            if !keep.has_room() {
                frozen = true;
                break;
            }
            current = Some((id, le + 1, line_no + 1));
            started = true;
        } else if let Some(id) = parse_marker(line, END_MARK) {
            if let Some((cid, start, first)) = current.take() {
                if cid == id {
                    let body = &data[start.min(pos)..pos];
                    let mut scan = scan_buffer(body, first, m, keep);
                    scan.segment = Some(cid);
                    out.push(scan);
                }
            }
        }
        pos = le + 1;
        line_no += 1;
    }
    if frozen && !started {
        // No segment followed: the file is read as one log, as if it had no markers.
        let mut scan = scan_buffer(data, 1, m, keep);
        scan.unsplit = true;
        return vec![scan];
    }
    if let Some((cid, start, first)) = current.take() {
        let body = &data[start.min(data.len())..];
        let mut scan = scan_buffer(body, first, m, keep);
        scan.segment = Some(cid);
        scan.unsplit |= frozen;
        out.push(scan);
    } else if frozen {
        if let Some(last) = out.last_mut() {
            last.unsplit = true;
        }
    }
    out
}

/// Where a piece of a region of a long log belongs (see [`Segmenter`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Belongs {
    /// The log itself: all of a log without container markers (what comes before the first
    /// START marker of a `logs.txt`, dropped once one is found).
    Whole,
    /// The body of a `logs.txt`'s n-th container segment.
    Segment(u32),
    /// A marker line, or lines between segments: only counted, for the line numbers after them.
    Outside,
}

/// A piece of a region: `buf[from..to]` (whole lines), scanned with the lines of
/// `buf[ctx_lo..ctx_hi]` around it as context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub belongs: Belongs,
    pub from: usize,
    pub to: usize,
    pub ctx_lo: usize,
    pub ctx_hi: usize,
}

/// The container segments of a cluster-info `logs.txt` read in regions: the reading thread
/// walks each region's marker lines ([`Segmenter::cut`]) and hands its pieces to the pool;
/// [`Segmenter::assemble`] puts the pieces' scans together, one per segment, as [`scan_log`]
/// does for a `logs.txt` read whole: a segment runs from its START marker to the END marker of
/// the same container (or the end of the file); one cut short by another START or a different
/// END is dropped; lines outside segments are ignored once a START marker is found anywhere.
/// For any other log every piece is [`Belongs::Whole`].
#[derive(Debug)]
pub struct Segmenter {
    dump: bool,
    /// A START marker seen anywhere (as [`scan_log`] looks for one).
    marked: bool,
    /// A START marker line parsed.
    started: bool,
    /// The open segment: its number and the file offset of its body.
    current: Option<(u32, u64)>,
    /// Markers no longer followed, for the bound on kept log text (as in [`scan_log`]).
    frozen: bool,
    ids: Vec<(String, String, String)>,
    kept: Vec<bool>,
}

static MARK_HEAD: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"==== "));

impl Segmenter {
    pub fn new(path: &str) -> Segmenter {
        Segmenter {
            dump: path.rsplit('/').next() == Some("logs.txt"),
            marked: false,
            started: false,
            current: None,
            frozen: false,
            ids: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// What the bytes before a marker (or a region's end) belong to.
    fn belongs(&self) -> Belongs {
        match self.current {
            Some((n, _)) => Belongs::Segment(n),
            None if !self.started => Belongs::Whole,
            None => Belongs::Outside,
        }
    }

    /// A marker line that ends a segment body at `buf[p..]`: a START, or an END once started.
    fn ends_body(&self, line: &[u8]) -> bool {
        parse_marker(line, START_MARK).is_some() || (self.started && parse_marker(line, END_MARK).is_some())
    }

    /// Cut the region `buf[start..end]` (from a line start; `buf_abs` is the file offset of
    /// `buf[0]`; `buf[..start]` and `buf[end..]` are context lines of the regions around it)
    /// into its pieces, in order, and follow its marker lines.
    pub fn cut(&mut self, buf: &[u8], buf_abs: u64, start: usize, end: usize, keep: &Keep) -> Vec<Cut> {
        if self.frozen {
            let mut cuts = Vec::new();
            self.piece(&mut cuts, buf_abs, start, end, buf.len());
            return cuts;
        }
        if !self.dump {
            return vec![Cut {
                belongs: Belongs::Whole,
                from: start,
                to: end,
                ctx_lo: 0,
                ctx_hi: buf.len(),
            }];
        }
        let mut cuts = Vec::new();
        let mut cursor = start;
        for p in MARK_HEAD.find_iter(&buf[start..end]).map(|p| p + start) {
            if buf[p..end].starts_with(START_MARK) {
                self.marked = true;
            }
            if p < cursor || (p > start && buf[p - 1] != b'\n') {
                continue;
            }
            let le = line_end(&buf[..end], p);
            let line = &buf[p..le];
            let next = (le + 1).min(end);
            let start_id = parse_marker(line, START_MARK);
            let is_end = start_id.is_none() && self.started && parse_marker(line, END_MARK).is_some();
            if start_id.is_none() && !is_end {
                continue;
            }
            if start_id.is_some() && !keep.has_room() {
                // From here on the file is lines of what is open now (see `scan_log`).
                self.frozen = true;
                break;
            }
            self.piece(&mut cuts, buf_abs, cursor, p, p);
            cuts.push(Cut {
                belongs: Belongs::Outside,
                from: p,
                to: next,
                ctx_lo: p,
                ctx_hi: next,
            });
            cursor = next;
            match start_id {
                // A START: any open segment is cut short (dropped), a new one opens.
                Some(id) => {
                    self.started = true;
                    self.current = Some((self.ids.len() as u32, buf_abs + next as u64));
                    self.ids.push(id);
                    self.kept.push(false);
                }
                // An END: it closes the open segment if it names the same container.
                None => {
                    if let (Some((n, _)), Some(id)) = (self.current.take(), parse_marker(line, END_MARK)) {
                        if self.ids[n as usize] == id {
                            self.kept[n as usize] = true;
                        }
                    }
                }
            }
        }
        // The rest of the region; an open segment's context runs into the next region's lines
        // up to the marker that ends it.
        let mut ctx_hi = buf.len();
        if self.current.is_some() && !self.frozen {
            let mut p = end;
            while let Some(at) = MARK_HEAD.find(&buf[p..]).map(|a| a + p) {
                if (at == end || buf[at - 1] == b'\n') && self.ends_body(&buf[at..line_end(buf, at)]) {
                    ctx_hi = at;
                    break;
                }
                p = at + 1;
            }
        }
        self.piece(&mut cuts, buf_abs, cursor, end, ctx_hi);
        cuts
    }

    /// The piece `buf[from..to]` of what the open state says, if it is not empty.
    fn piece(&self, cuts: &mut Vec<Cut>, buf_abs: u64, from: usize, to: usize, ctx_hi: usize) {
        if from == to {
            return;
        }
        let (belongs, ctx_lo) = match self.belongs() {
            Belongs::Segment(n) => {
                let body = self.current.map_or(0, |(_, at)| at);
                let lo = usize::try_from(body.saturating_sub(buf_abs)).unwrap_or(from);
                (Belongs::Segment(n), lo.min(from))
            }
            b => (b, 0),
        };
        let ctx_hi = match belongs {
            Belongs::Segment(_) => ctx_hi.max(to),
            Belongs::Outside => to,
            Belongs::Whole => usize::MAX,
        };
        cuts.push(Cut {
            belongs,
            from,
            to,
            ctx_lo: if belongs == Belongs::Outside { from } else { ctx_lo },
            ctx_hi,
        });
    }

    /// The scans of every piece of the log, in order, put together: one scan for a log without
    /// markers, else one per segment kept (as [`scan_log`]).
    pub fn assemble(mut self, pieces: impl IntoIterator<Item = (Belongs, LogScan)>, m: &LogMatcher) -> Vec<LogScan> {
        // A segment open at the end of the file runs to it.
        if let Some((n, _)) = self.current.take() {
            self.kept[n as usize] = true;
        }
        let mut before = 0u64;
        let mut whole = Vec::new();
        let mut segs: Vec<(u64, Vec<LogScan>)> = self.ids.iter().map(|_| (0, Vec::new())).collect();
        for (b, scan) in pieces {
            let lines = scan.lines;
            match b {
                Belongs::Whole => whole.push(scan),
                Belongs::Segment(n) => {
                    if let Some((first, parts)) = segs.get_mut(n as usize) {
                        if parts.is_empty() {
                            *first = before;
                        }
                        parts.push(scan);
                    }
                }
                Belongs::Outside => {}
            }
            before += lines;
        }
        if !self.marked || (self.frozen && !self.started) {
            let mut scan = merge(whole);
            scan.unsplit |= self.frozen;
            return vec![scan];
        }
        let mut out = Vec::new();
        for ((id, kept), (first, mut parts)) in self.ids.into_iter().zip(self.kept).zip(segs) {
            if !kept {
                continue;
            }
            if parts.is_empty() {
                parts.push(scan_region(&[], 0, 0, m, &Keep::default()));
            }
            let mut scan = merge(parts);
            scan.shift(first);
            scan.segment = Some(id);
            out.push(scan);
        }
        if self.frozen {
            if let Some(last) = out.last_mut() {
                last.unsplit = true;
            }
        }
        out
    }
}

/// Scan the pieces of one region, cut by [`Segmenter::cut`].
pub fn scan_cuts(buf: &[u8], cuts: &[Cut], m: &LogMatcher, keep: &Keep) -> Vec<(Belongs, LogScan)> {
    cuts.iter()
        .map(|c| {
            let scan = match c.belongs {
                Belongs::Outside => LogScan {
                    lines: count_lines(&buf[c.from..c.to]),
                    ..LogScan::default()
                },
                _ => {
                    let hi = c.ctx_hi.min(buf.len());
                    scan_region(&buf[c.ctx_lo..hi], c.from - c.ctx_lo, c.to - c.ctx_lo, m, keep)
                }
            };
            (c.belongs, scan)
        })
        .collect()
}

/// Lines in `region`, the last one counted without its newline.
fn count_lines(region: &[u8]) -> u64 {
    if region.is_empty() {
        0
    } else {
        memchr_iter(b'\n', region).count() as u64 + u64::from(region.last() != Some(&b'\n'))
    }
}

#[cfg(test)]
mod tests;
