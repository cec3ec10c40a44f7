//! Handing an archive's members to the rayon pool while the stream is still being read: small
//! members batched into one buffer per task, long logs cut into regions at line boundaries
//! (overlapping by the context lines) and scanned in parallel, everything else whole. A long
//! cluster-info `logs.txt` is read in regions too: the reading thread follows its container
//! markers (`logscan::Segmenter`) and each region is scanned as the pieces of the segments it
//! holds, so no log, however long, is held whole. A long manifest (the last member of a bundle
//! `collect` writes, 33 MB for 50,000 pods) is parsed on the reading thread region by region as it
//! is read (`manifest::Stream`), then charged against the bounds by the reader as one read whole
//! is (its count is the same), and dropped if its steps stop fitting in what the bundle may keep.
//! Member bytes come in through [`super::read_more`]; what each becomes is [`super::process`].
//! Knows nothing of tar headers or bounds.

use super::kept::{self, Kept};
use super::pool::{Budget, Buf, Pool, ReadFail, CHUNK, POOL_KEEP};
use super::Content;
use super::{process, read_more, Class, Member};
use crate::bundle::digest::Sum;
use crate::bundle::logscan::{scan_cuts, Belongs, LogScan, Segmenter, CONTEXT};
use crate::signatures::LogMatcher;
use memchr::memrchr;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Mutex;

/// The longest line of a long log scanned whole. Past it, a line's first `LONG_LINE` bytes (or
/// more, up to the region they were read in) are matched as the line and the rest of it is read
/// through without being kept: a log of one 500 MB line costs a region, not a 500 MB buffer
/// grown by doubling and a regex run over all of it.
const LONG_LINE: usize = 4 << 20;

/// What the pool's tasks produced: members by their index in the archive.
#[derive(Default)]
pub(super) struct Shared {
    results: Mutex<Vec<(usize, Member)>>,
    /// The sha256 of each member read whole, taken by the task that processed it.
    digests: Mutex<Vec<(String, Sum)>>,
}

/// Whether a member is read in regions (a long log or manifest) rather than whole.
pub(super) fn reads_in_regions(size: u64, class: Class) -> bool {
    size > CHUNK as u64 && matches!(class, Class::Log | Class::Manifest)
}

/// The scans of long logs' regions: (member index, region number, its pieces' scans).
pub(super) type Parts = Mutex<Vec<(usize, u32, Vec<(Belongs, LogScan)>)>>;

/// A long log read in regions: its member index, path, size and segments.
pub(super) struct Chunked {
    idx: usize,
    path: String,
    size: u64,
    segments: Segmenter,
}

impl Shared {
    pub(super) fn push_digest(&self, path: String, sum: Sum) {
        match self.digests.lock() {
            Ok(mut g) => g.push((path, sum)),
            Err(p) => p.into_inner().push((path, sum)),
        }
    }

    /// The digests the reading thread took (`read`) and those the pool's tasks took, in one map:
    /// one bulk build (a sort, then a linear build) rather than 60,000 inserts in pool order; the
    /// later of two digests of one name wins, as with inserts.
    pub(super) fn digests_with(&self, read: BTreeMap<String, Sum>) -> BTreeMap<String, Sum> {
        let pool = match self.digests.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        read.into_iter().chain(pool).collect()
    }

    pub(super) fn push(&self, idx: usize, m: Member) {
        match self.results.lock() {
            Ok(mut g) => g.push((idx, m)),
            Err(p) => p.into_inner().push((idx, m)),
        }
    }
    pub(super) fn into_results(self) -> Vec<(usize, Member)> {
        match self.results.into_inner() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        }
    }
}

/// A long manifest read in regions on the reading thread (`manifest::Stream`), waiting for the
/// reader to charge its count against the bounds.
struct Streamed {
    idx: usize,
    path: String,
    size: u64,
    manifest: Result<crate::bundle::manifest::Manifest, String>,
    /// The bounds' count of its text (`bounds::estimate_values`).
    count: u64,
    /// What its parse kept, measured (`memory::held`).
    bytes: u64,
    /// Its steps passed what the bundle may keep while it was read, and were let go.
    over: bool,
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
pub(super) struct Feeder<'a> {
    matcher: &'a LogMatcher,
    /// What the members keep, in all.
    kept: &'a Kept,
    shared: &'a Shared,
    /// Scans of regions of long logs.
    parts: &'a Parts,
    budget: &'a Budget,
    pool: &'a Pool,
    batch: Buf,
    pieces: Vec<Piece>,
    /// Long logs read in regions.
    chunked: Vec<Chunked>,
    /// The long manifest read in regions, until it is charged.
    streamed: Option<Streamed>,
}

impl<'a> Feeder<'a> {
    pub(super) fn new(
        matcher: &'a LogMatcher,
        kept: &'a Kept,
        shared: &'a Shared,
        parts: &'a Parts,
        budget: &'a Budget,
        pool: &'a Pool,
    ) -> Feeder<'a> {
        Feeder {
            matcher,
            kept,
            shared,
            parts,
            budget,
            pool,
            batch: Buf::default(),
            pieces: Vec::new(),
            chunked: Vec::new(),
            streamed: None,
        }
    }

    /// The long logs read in regions.
    pub(super) fn take_chunked(&mut self) -> Vec<Chunked> {
        std::mem::take(&mut self.chunked)
    }

    pub(super) fn member<'s>(
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
        if reads_in_regions(size, class) {
            if class == Class::Manifest {
                return self.manifest(entry, idx, name, size);
            }
            return self.chunked(scope, entry, idx, name, size);
        }
        // Anything else is read whole into the batch (a member over CHUNK, alone), so that it
        // can still be checked (`last_data`) and dropped (`discard`) before it is handed over.
        if !self.pieces.is_empty() && self.batch.len() as u64 + size > CHUNK as u64 {
            self.flush(scope);
        }
        if self.batch.capacity() == 0 {
            self.batch = if size > CHUNK as u64 {
                // Alone in its buffer: read it once it fits in flight (three 250 MiB members
                // peaked at 520 MiB, one being read while the one before it was processed).
                self.budget.wait_room(size);
                if size <= POOL_KEEP as u64 {
                    self.pool.get_for(size as usize)
                } else {
                    Buf::with_capacity(size as usize)
                }
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
    pub(super) fn set_limit(&mut self, idx: usize, limit: u64) {
        if let Some(p) = self.pieces.last_mut().filter(|p| p.idx == idx) {
            p.limit = limit;
        }
    }

    /// The bytes of member `idx` when it is the last one read whole and not yet handed over.
    pub(super) fn last_data(&self, idx: usize) -> Option<&[u8]> {
        let p = self.pieces.last().filter(|p| p.idx == idx)?;
        Some(&self.batch[p.start..p.end])
    }

    /// A long manifest: parsed here, region by region, as it is read, so that its text is never
    /// held whole (`manifest::Stream`); kept once the reader has charged it ([`Self::keep_streamed`]).
    fn manifest(&mut self, entry: &mut dyn Read, idx: usize, name: &str, size: u64) -> Result<(), ReadFail> {
        let mut stream = crate::bundle::manifest::Stream::new(super::bounds::json_count);
        let mut buf = self.pool.get();
        let (mut remaining, mut held, mut over) = (size, 0isize, false);
        while remaining > 0 {
            buf.clear();
            let want = (CHUNK as u64).min(remaining);
            let got = read_more(entry, &mut buf, want)?;
            remaining -= got;
            if got < want {
                return Err(ReadFail::Short(size - remaining));
            }
            // What the parse keeps, on this thread (the region's buffer is not counted).
            let start = crate::memory::held();
            stream.push(&buf);
            held = held.wrapping_add(crate::memory::held().wrapping_sub(start));
            // Steps that do not fit in what the bundle may keep now are let go at once, rather
            // than at the end (millions of `{}` would be 136 bytes each): the manifest is not
            // kept, as it would not be, and the rest of its text is only counted.
            let steps = held.wrapping_sub(stream.buffered() as isize);
            if !over && !self.kept.values_fit(u64::try_from(steps).unwrap_or(0)) {
                stream.give_up();
                over = true;
            }
        }
        self.pool.put(buf);
        let start = crate::memory::held();
        let (manifest, count) = stream.finish();
        held = held.wrapping_add(crate::memory::held().wrapping_sub(start));
        self.streamed = Some(Streamed {
            idx,
            path: name.to_string(),
            size,
            manifest,
            count,
            bytes: u64::try_from(held).unwrap_or(0),
            over,
        });
        Ok(())
    }

    /// The bounds' count of member `idx`'s text, when it is the manifest just read in regions.
    pub(super) fn streamed_count(&self, idx: usize) -> Option<u64> {
        self.streamed.as_ref().filter(|s| s.idx == idx).map(|s| s.count)
    }

    /// Settle the manifest read in regions once the reader charged its count (`charged`): kept,
    /// charged what its parse kept as a member read whole is on the pool (`dispatch`), or the
    /// member refused in its stead.
    pub(super) fn settle_streamed(&mut self, idx: usize, charged: Result<(), Box<Member>>) {
        let Some(s) = self.streamed.take_if(|s| s.idx == idx) else {
            return;
        };
        if let Err(refused) = charged {
            self.shared.push(idx, *refused);
            return;
        }
        let mut content = Content::Manifest(s.manifest.map(Box::new));
        if s.over || !self.kept.values(s.idx, s.bytes) {
            content = kept::not_kept(content);
        }
        self.shared.push(
            s.idx,
            Member {
                path: s.path,
                size: s.size,
                content,
            },
        );
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
        let mut segments = Segmenter::new(name);
        // The file offset of `buf[0]`: `buf` holds the last bytes read.
        let offset = |remaining: u64, buf: &Buf| (size - remaining).saturating_sub(buf.len() as u64);
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
                let at = offset(remaining, &buf);
                self.region(scope, buf, &mut segments, at, region_start, end, idx, part);
                break;
            }
            // Cut before the last CONTEXT whole lines, which stay in this buffer as context and
            // start the next region; a line longer than the buffer makes it grow instead, up to
            // LONG_LINE.
            let last = memrchr(b'\n', &buf[region_start..]).map(|p| region_start + p + 1);
            if buf.len() - last.unwrap_or(region_start) >= LONG_LINE {
                // The last line is past LONG_LINE: the region (the lines before it and its first
                // LONG_LINE bytes or more) is scanned, the rest of the line read through unkept.
                let end = buf.len();
                let at = offset(remaining, &buf);
                self.region(scope, buf, &mut segments, at, region_start, end, idx, part);
                part += 1;
                buf = self.pool.get();
                region_start = 0;
                loop {
                    let want = (CHUNK as u64).min(remaining);
                    let got = read_more(entry, &mut buf, want)?;
                    remaining -= got;
                    if got < want {
                        return Err(ReadFail::Short(size - remaining));
                    }
                    match memchr::memchr(b'\n', &buf[..]) {
                        Some(p) => {
                            buf.drain_front(p + 1);
                            break;
                        }
                        None if remaining == 0 => {
                            buf.clear();
                            break;
                        }
                        None => buf.clear(),
                    }
                }
                if remaining == 0 {
                    let end = buf.len();
                    let at = offset(remaining, &buf);
                    self.region(scope, buf, &mut segments, at, 0, end, idx, part);
                    break;
                }
                continue;
            }
            let Some(mut cut) = last else {
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
            let at = offset(remaining, &buf);
            self.region(scope, buf, &mut segments, at, region_start, cut, idx, part);
            part += 1;
            region_start = cut - prefix;
            buf = next;
        }
        self.chunked.push(Chunked {
            idx,
            path: name.to_string(),
            size,
            segments,
        });
        Ok(())
    }

    /// Hand region `buf[start..end]` (`buf[0]` at file offset `at`) of log `idx` to the pool, cut
    /// into the pieces of its segments.
    #[allow(clippy::too_many_arguments)]
    fn region<'s>(
        &self,
        scope: &rayon::Scope<'s>,
        buf: Buf,
        segments: &mut Segmenter,
        at: u64,
        start: usize,
        end: usize,
        idx: usize,
        part: u32,
    ) where
        'a: 's,
    {
        let cuts = segments.cut(&buf, at, start, end, &self.kept.logs);
        let len = buf.len() as u64;
        self.budget.acquire(len);
        let (matcher, keep, parts, budget, pool) = (self.matcher, &self.kept.logs, self.parts, self.budget, self.pool);
        scope.spawn(move |_| {
            let scan = scan_cuts(&buf, &cuts, matcher, keep);
            match parts.lock() {
                Ok(mut g) => g.push((idx, part, scan)),
                Err(p) => p.into_inner().push((idx, part, scan)),
            }
            pool.put(buf);
            budget.release(len);
        });
    }

    /// Hand the batch of small members to the pool.
    pub(super) fn flush<'s>(&mut self, scope: &rayon::Scope<'s>)
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
        let (matcher, kept, shared, budget, pool) = (self.matcher, self.kept, self.shared, self.budget, self.pool);
        scope.spawn(move |_| {
            for p in pieces {
                // Hashed here, on the pool, rather than in the one thread that reads the stream.
                shared.push_digest(p.path.clone(), Sum::of(&buf[p.start..p.end]));
                let start = crate::memory::held();
                let mut m = process(p.path, p.size, &buf[p.start..p.end], p.class, p.limit, matcher, kept);
                if kept::is_measured(p.class) {
                    // What the parse kept: measured, charged, dropped if it does not fit.
                    let bytes = u64::try_from(crate::memory::held().wrapping_sub(start)).unwrap_or(0);
                    if !kept.values(p.idx, bytes) {
                        m.content = kept::not_kept(m.content);
                    }
                }
                shared.push(p.idx, m);
            }
            pool.put(buf);
            budget.release(len);
        });
    }

    /// Forget a member that was read but must not count (it broke a bound).
    pub(super) fn discard(&mut self, idx: usize) {
        if let Some(p) = self.pieces.last() {
            if p.idx == idx {
                self.batch.truncate(p.start);
                self.pieces.pop();
            }
        }
        self.chunked.retain(|c| c.idx != idx);
        self.streamed.take_if(|s| s.idx == idx);
    }
}

/// What the pool produced, once every task is done: the members by index, each long log's
/// regions put back together in order.
pub(super) fn gather(
    shared: Shared,
    chunked: Vec<Chunked>,
    parts: Parts,
    matcher: &LogMatcher,
    kept: &Kept,
) -> Vec<(usize, Member)> {
    let mut results = shared.into_results();
    let mut parts = match parts.into_inner() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    };
    parts.sort_by_key(|(i, n, _)| (*i, *n));
    let mut parts = parts.into_iter().peekable();
    for c in chunked {
        while parts.peek().is_some_and(|(i, _, _)| *i < c.idx) {
            parts.next();
        }
        let mut pieces = Vec::new();
        while let Some((_, _, scans)) = parts.next_if(|(i, _, _)| *i == c.idx) {
            pieces.extend(scans);
        }
        // Until now every region's scan was held (each keeps up to its own matching lines).
        kept.log_parts(c.idx, pieces.iter().map(|(_, s)| s.kept_bytes()).sum());
        results.push((
            c.idx,
            Member {
                path: c.path,
                size: c.size,
                content: Content::Log(c.segments.assemble(pieces, matcher)),
            },
        ));
    }
    results.sort_by_key(|(i, _)| *i);
    results
}
