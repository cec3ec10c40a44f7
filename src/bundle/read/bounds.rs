//! The reader's bounds, one check each for an archive and a directory: a member's size and the
//! total ([`MemberBounds`]), the member count, the decompressed stream's total, compression ratio
//! and tar metadata ([`GuardReader`], whatever the headers claim), and the values and typed objects
//! parsed per bundle ([`charge_member`], in member order so refusals are deterministic). Every
//! refusal names the member and the bound's flag. Knows nothing of layouts or of what members mean.

use super::typed::{self, MAX_TYPED_OBJECTS};
use super::{Class, Content, Member};
use crate::bundle::{BundleError, Limits};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Where members come from: the messages name what the reader holds, and a member of an archive
/// that is skipped is still decompressed (so it counts against the total), a file is not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    Archive,
    Directory,
}

/// What to do with one member.
pub(super) enum Admit {
    Read,
    /// Over the member bound: not read; the error says so.
    Skip(BundleError),
    /// The total bound is passed: stop reading, with these errors.
    Stop(Vec<BundleError>),
}

/// The member-size, total-size and member-count bounds, for archives and directories alike.
pub(super) struct MemberBounds {
    limits: Limits,
    source: Source,
    total: u64,
}

impl MemberBounds {
    pub(super) fn new(limits: &Limits, source: Source) -> MemberBounds {
        MemberBounds {
            limits: *limits,
            source,
            total: 0,
        }
    }

    /// Admit member `name` of `size` bytes and `class` (in reading order), charging it against
    /// the total.
    pub(super) fn admit(&mut self, name: &str, size: u64, class: Class) -> Admit {
        let l = &self.limits;
        let parsed = !matches!(class, Class::Log | Class::Other);
        if size > l.max_member_bytes || (parsed && size > l.max_parsed_bytes) {
            let what = match self.source {
                Source::Archive => "member",
                Source::Directory => "file",
            };
            let why = if size > l.max_member_bytes {
                format!(
                    "{what} is {size} bytes, over the member bound of {} bytes (--max-member-bytes); not read",
                    l.max_member_bytes
                )
            } else {
                format!(
                    "{what} is {size} bytes, over the bound of {} bytes for a file parsed whole (--max-parsed-bytes; memory: its text and its parse are held at once); not parsed",
                    l.max_parsed_bytes
                )
            };
            let skip = BundleError::new(name.to_string(), why);
            if self.source == Source::Directory {
                return Admit::Skip(skip);
            }
            // Skipping still decompresses it; count it against the total.
            self.total = self.total.saturating_add(size);
            if self.total > l.max_total_bytes {
                return Admit::Stop(vec![skip, self.total_passed(name)]);
            }
            return Admit::Skip(skip);
        }
        self.total = self.total.saturating_add(size);
        if self.total > l.max_total_bytes {
            return Admit::Stop(vec![self.total_passed(name)]);
        }
        Admit::Read
    }

    fn total_passed(&self, name: &str) -> BundleError {
        let bound = self.limits.max_total_bytes;
        BundleError::new(
            name.to_string(),
            match self.source {
                Source::Archive => format!(
                    "uncompressed size passed the total bound of {bound} bytes at this member (--max-total-bytes); the rest was not read"
                ),
                Source::Directory => {
                    format!("total size passed the bound of {bound} bytes (--max-total-bytes); the rest was not read")
                }
            },
        )
    }

    /// The error when `count` members (this one included) pass the member-count bound.
    pub(super) fn over_member_count(&self, count: u64, at: &str) -> Option<BundleError> {
        (count > self.limits.max_members).then(|| {
            BundleError::new(
                at.to_string(),
                format!(
                    "more than {} members (bound --max-members); the rest was not read",
                    self.limits.max_members
                ),
            )
        })
    }
}

pub(super) struct CountingReader<R> {
    pub(super) inner: R,
    pub(super) count: Arc<AtomicU64>,
    /// `Limits::progress`: the same count, for a progress bar.
    pub(super) progress: Option<&'static AtomicU64>,
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
pub(super) struct GuardState {
    limits: Limits,
    compressed: Arc<AtomicU64>,
    judge_ratio: bool,
    out: AtomicU64,
    /// Stream offset past which reading counts as metadata over [`MAX_META_BYTES`].
    allow_until: AtomicU64,
    trip: Mutex<Option<String>>,
}

impl GuardState {
    pub(super) fn new(limits: Limits, compressed: Arc<AtomicU64>, judge_ratio: bool) -> GuardState {
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
    pub(super) fn allow_member(&self, size: u64) {
        let padded = size.saturating_add(511) / 512 * 512;
        let now = self.out.load(Ordering::Relaxed);
        self.allow_until.store(
            now.saturating_add(padded).saturating_add(MAX_META_BYTES + 512),
            Ordering::Relaxed,
        );
    }
    pub(super) fn tripped(&self) -> Option<String> {
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

pub(super) struct GuardReader {
    pub(super) inner: Box<dyn Read>,
    pub(super) state: Arc<GuardState>,
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

/// Values (JSON/YAML nodes) the reader parses for one bundle at most. A parsed value costs about
/// 100 bytes whatever its text, so `[{},{},...]` would otherwise turn 90 MB into 20 GB.
pub const MAX_VALUES: u64 = 24_000_000;
/// [`MAX_VALUES`] when pods, events and nodes are read into their typed models (`analyze`): the
/// values left are the other objects', and 23 million `0`s in one list (46 MB) took 1.3 GB, a
/// value in a list costing up to 57 bytes once the list has grown.
pub const MAX_VALUES_TYPED: u64 = 5_000_000;

/// Estimated values in a JSON or YAML text: separators and openers outside JSON strings (YAML
/// also counts lines). Linear, allocation-free, an over-estimate for text rich in commas.
pub fn estimate_values(data: &[u8], class: Class) -> u64 {
    let mut n: u64 = 1;
    match class {
        Class::Json | Class::Manifest => n += json_count(data),
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

/// The separators and openers outside strings of a JSON text: [`estimate_values`] less one.
pub(super) fn json_count(data: &[u8]) -> u64 {
    let mut n = 0;
    crate::bundle::jsonscan::outside_strings(data, *b",{[:", |_| n += 1);
    n
}

/// What one member cost against the bounds, so that a link to it is charged as a copy of it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Cost {
    bytes: u64,
    values: u64,
    typed: u64,
}

impl Cost {
    /// A member that is not parsed: its bytes only.
    pub(super) fn bytes(bytes: u64) -> Cost {
        Cost {
            bytes,
            ..Cost::default()
        }
    }
}

impl Used {
    /// What was charged since `mark` (from [`Used::mark`]), for a member of `bytes` bytes.
    pub(super) fn cost_since(&self, mark: (u64, u64), bytes: u64) -> Cost {
        Cost {
            bytes,
            values: self.values - mark.0,
            typed: self.typed - mark.1,
        }
    }
    pub(super) fn mark(&self) -> (u64, u64) {
        (self.values, self.typed)
    }
}

/// Charge link `name` to `target` (which cost `cost`) as a second copy of it: against the total,
/// the values and the typed objects, so that a thousand links to one list cost a thousand lists.
/// `Err(errors, stop)`: the link is not read; `stop` when the total bound is passed.
pub(super) fn charge_link(
    name: &str,
    target: &str,
    cost: Cost,
    bounds: &mut MemberBounds,
    used: &mut Used,
) -> Result<(), (Vec<BundleError>, bool)> {
    match bounds.admit(name, cost.bytes, super::classify(name)) {
        Admit::Read => {}
        Admit::Skip(e) => return Err((vec![e], false)),
        Admit::Stop(es) => return Err((es, true)),
    }
    let over = if used.values.saturating_add(cost.values) > used.max_values {
        Some(format!(
            "{} values, passing the bound of {} parsed values per bundle",
            cost.values, used.max_values
        ))
    } else if used.typed.saturating_add(cost.typed) > MAX_TYPED_OBJECTS {
        Some(format!(
            "{} objects, passing the bound of {MAX_TYPED_OBJECTS} parsed objects per bundle",
            cost.typed
        ))
    } else {
        None
    };
    if let Some(why) = over {
        return Err((
            vec![BundleError::new(
                name.to_string(),
                format!("link to '{target}': read again it would hold {why} (memory); not read"),
            )],
            false,
        ));
    }
    used.values += cost.values;
    used.typed += cost.typed;
    Ok(())
}

/// What the members read so far were charged against the parse bounds.
pub(super) struct Used {
    values: u64,
    typed: u64,
    max_values: u64,
}

impl Used {
    /// Nothing charged yet; `typed` when pods, events and nodes are read typed
    /// ([`MAX_VALUES_TYPED`]).
    pub(super) fn new(typed: bool) -> Used {
        Used {
            values: 0,
            typed: 0,
            max_values: if typed { MAX_VALUES_TYPED } else { MAX_VALUES },
        }
    }
}

/// Charge a JSON/YAML member against the values bound ([`Used::new`]), or a typed one against
/// [`MAX_TYPED_OBJECTS`], in archive order; `Ok(items a typed member may hold)` or the refused
/// member when it does not fit.
pub(super) fn charge_member(
    name: &str,
    data: &[u8],
    class: Class,
    used: &mut Used,
    kept: &super::kept::Kept,
) -> Result<u64, Box<Member>> {
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
            return charge_values(name, data.len() as u64, class, estimate_values(data, class), used, kept).map(|()| 0);
        }
        _ => return Ok(0),
    };
    Err(Box::new(Member {
        path: name.to_string(),
        size: data.len() as u64,
        content: content(why),
    }))
}

/// Charge a JSON or YAML member of `size` bytes its estimated values (`est`, [`estimate_values`]),
/// before it is parsed, or after for a manifest read in regions (which drops what it read when
/// refused). The member's error in its stead when they pass a bound.
pub(super) fn charge_values(
    name: &str,
    size: u64,
    class: Class,
    est: u64,
    used: &mut Used,
    kept: &super::kept::Kept,
) -> Result<(), Box<Member>> {
    let (why, content): (String, fn(String) -> Content) = match class {
        Class::Json | Class::Yaml | Class::Manifest => {
            let why = if used.values.saturating_add(est) > used.max_values {
                format!(
                    "holds about {est} values; with the {} already read that passes the bound of {} parsed values per bundle (memory); not parsed",
                    used.values, used.max_values
                )
            } else if class != Class::Yaml && !kept.values_may_fit(est) {
                super::kept::values_not_kept()
            } else {
                used.values += est;
                return Ok(());
            };
            (
                why,
                match class {
                    Class::Json => |w| Content::Json(Err(w)),
                    Class::Manifest => |w| Content::Manifest(Err(w)),
                    _ => |w| Content::Yaml(Err(w)),
                },
            )
        }
        _ => return Ok(()),
    };
    Err(Box::new(Member {
        path: name.to_string(),
        size,
        content: content(why),
    }))
}
