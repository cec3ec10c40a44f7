//! Reading an archive: detecting gzip, block gzip or plain tar by content, guarding the
//! decompressed stream (`bounds`), and walking the tar once on the calling thread, handing members
//! to `feed`. Member names are cleaned here (no `..`, no absolute paths). Knows nothing of what a
//! member means beyond its name's [`Class`].

use super::bounds::{
    charge_link, charge_member, charge_values, Admit, Cost, CountingReader, GuardReader, GuardState, MemberBounds,
    Source, Used,
};
use super::feed::{gather, reads_in_regions, Feeder, Parts, Shared};
use super::kept::{self, Kept};
use super::pool::{Budget, Pool, ReadFail, IN_FLIGHT_BYTES};
use super::{classify_for, path_display, Class, Content, Member, RawBundle};
use crate::bundle::digest::{Hashing, Sum};
use crate::bundle::{gzblocks, BundleError, Limits};
use crate::signatures::LogMatcher;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Gzip,
    Zstd,
    Tar,
    Zip,
}

/// The largest zstd window (log2) a frame may ask for: 128 MiB, libzstd's own default limit. A
/// frame declaring more is refused rather than allocated.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// An archive opened as a tar stream: decompressed by its format and guarded by the bounds.
pub(super) struct Opened {
    /// The decompressed tar stream, through the guard.
    pub(super) reader: Box<dyn Read>,
    pub(super) guard: Arc<GuardState>,
    pub(super) container: &'static str,
    /// A zip's notes about its entries (a zip is handed on as a tar stream).
    pub(super) zip_notes: Option<super::zip::Notes>,
}

/// Read an archive (`compressed_len` bytes on disk) recognized by its first bytes.
pub(super) fn read_archive(
    path: &Path,
    compressed_len: u64,
    limits: &Limits,
    matcher: &LogMatcher,
    typed: bool,
) -> Result<RawBundle, BundleError> {
    let o = open_archive(path, compressed_len, limits)?;
    let mut raw = read_tar(o.reader, limits, matcher, typed, &o.guard)?;
    raw.container = o.container;
    if let Some(notes) = o.zip_notes {
        super::zip::finish(&mut raw, notes);
    }
    Ok(raw)
}

/// Open an archive recognized by its first bytes (gzip, block gzip, zstd, zip, tar) as one
/// guarded tar stream; any other format is named with the command that converts it.
pub(super) fn open_archive(path: &Path, compressed_len: u64, limits: &Limits) -> Result<Opened, BundleError> {
    let mut f = File::open(path).map_err(|e| BundleError::new(path_display(path), format!("cannot open: {e}")))?;
    let mut head = [0u8; 512];
    let n =
        read_full(&mut f, &mut head).map_err(|e| BundleError::new(path_display(path), format!("cannot read: {e}")))?;
    let kind = if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        Kind::Gzip
    } else if head[..n].starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Kind::Zstd
    } else if head[..n].starts_with(b"PK\x03\x04") || head[..n].starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else if n >= 262 && &head[257..262] == b"ustar" {
        Kind::Tar
    } else if n == 0 {
        return Err(BundleError::new(
            path_display(path),
            "the file is empty: not a bundle".into(),
        ));
    } else if n == 512 && head.iter().all(|b| *b == 0) {
        Kind::Tar
    } else if let Some(why) = other_format(path, &head[..n]) {
        return Err(BundleError::new(path_display(path), why));
    } else {
        return Err(BundleError::new(
            path_display(path),
            "not a bundle: neither a gzip'd tar archive, a tar archive, nor a directory".into(),
        ));
    };
    let f = File::open(path).map_err(|e| BundleError::new(path_display(path), format!("cannot open: {e}")))?;
    let counter = Arc::new(AtomicU64::new(0));
    let counting = CountingReader {
        inner: BufReader::with_capacity(1 << 20, f),
        count: counter.clone(),
        progress: limits.progress,
    };
    let mut zip_notes = None;
    let decoded: Box<dyn Read> = match kind {
        // A bundle written by `arcdiag collect` is block gzip: decompressed on every core.
        Kind::Gzip if gzblocks::is_block_gzip(&head[..n]) => Box::new(gzblocks::BlockReader::new(Box::new(counting))),
        Kind::Gzip => Box::new(gzip_decoder(counting, limits)),
        Kind::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(counting)
                .map_err(|e| BundleError::new(path_display(path), format!("cannot start the zstd decoder: {e}")))?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|e| BundleError::new(path_display(path), format!("cannot start the zstd decoder: {e}")))?;
            Box::new(ZstdErrors(d))
        }
        Kind::Zip => {
            let (r, notes) = super::zip::open(path, counting, limits)?;
            zip_notes = Some(notes);
            r
        }
        Kind::Tar => Box::new(counting),
    };
    let guard = Arc::new(GuardState::new(
        *limits,
        counter,
        kind != Kind::Tar && compressed_len > 0,
    ));
    let reader: Box<dyn Read> = Box::new(GuardReader {
        inner: decoded,
        state: guard.clone(),
    });
    Ok(Opened {
        reader,
        guard,
        container: match kind {
            Kind::Gzip => "tar.gz",
            Kind::Zstd => "tar.zst",
            Kind::Zip => "zip",
            Kind::Tar => "tar",
        },
        zip_notes,
    })
}

/// A gzip stream of one or more members. flate2's own gzip decoders refuse a header field (file
/// name, comment, extra) over 64 KiB; here a header field is skipped as it streams, up to the
/// member bound, so a valid gzip with a long comment is read.
fn gzip_decoder<R: Read>(r: R, limits: &Limits) -> GzMembers<BufReader<R>> {
    GzMembers {
        state: Gz::Header(BufReader::with_capacity(64 << 10, r)),
        max_field: limits.max_member_bytes,
        members: 0,
    }
}

enum Gz<R: io::BufRead> {
    Header(R),
    Body(flate2::bufread::DeflateDecoder<R>, flate2::Crc),
    Done,
}

struct GzMembers<R: io::BufRead> {
    state: Gz<R>,
    max_field: u64,
    members: u64,
}

fn take_exact<R: io::BufRead>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Skip a NUL-terminated gzip header field, at most `max` bytes.
fn skip_field<R: io::BufRead>(r: &mut R, what: &str, max: u64) -> io::Result<()> {
    let mut seen = 0u64;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("gzip header {what} without its end"),
            ));
        }
        let (k, end) = match memchr::memchr(0, buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        r.consume(k);
        seen += k as u64;
        if seen > max {
            return Err(io::Error::other(format!(
                "gzip header {what} over {max} bytes (--max-member-bytes)"
            )));
        }
        if end {
            return Ok(());
        }
    }
}

impl<R: io::BufRead> GzMembers<R> {
    /// Read a member header; false at the end of the stream (after at least one member).
    fn header(&mut self, r: &mut R) -> io::Result<bool> {
        let mut h = [0u8; 10];
        let n = take_exact(r, &mut h)?;
        if n == 0 && self.members > 0 {
            return Ok(false);
        }
        if n < 10 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "gzip header cut short"));
        }
        if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 {
            return Err(io::Error::other("invalid gzip header"));
        }
        let flags = h[3];
        if flags & 4 != 0 {
            let mut x = [0u8; 2];
            if take_exact(r, &mut x)? < 2 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "gzip extra field cut short",
                ));
            }
            let len = u64::from(u16::from_le_bytes(x));
            let skipped = io::copy(&mut r.by_ref().take(len), &mut io::sink())?;
            if skipped < len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "gzip extra field cut short",
                ));
            }
        }
        if flags & 8 != 0 {
            skip_field(r, "file name", self.max_field)?;
        }
        if flags & 16 != 0 {
            skip_field(r, "comment", self.max_field)?;
        }
        if flags & 2 != 0 {
            let mut c = [0u8; 2];
            if take_exact(r, &mut c)? < 2 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "gzip header cut short"));
            }
        }
        self.members += 1;
        Ok(true)
    }
}

impl<R: io::BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match std::mem::replace(&mut self.state, Gz::Done) {
                Gz::Done => return Ok(0),
                Gz::Header(mut r) => {
                    if self.header(&mut r)? {
                        self.state = Gz::Body(flate2::bufread::DeflateDecoder::new(r), flate2::Crc::new());
                    }
                }
                Gz::Body(mut d, mut crc) => {
                    let n = d.read(buf)?;
                    if n > 0 {
                        crc.update(&buf[..n]);
                        self.state = Gz::Body(d, crc);
                        return Ok(n);
                    }
                    let mut r = d.into_inner();
                    let mut t = [0u8; 8];
                    if take_exact(&mut r, &mut t)? < 8 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "gzip trailer cut short"));
                    }
                    let (want, len) = (
                        u32::from_le_bytes([t[0], t[1], t[2], t[3]]),
                        u32::from_le_bytes([t[4], t[5], t[6], t[7]]),
                    );
                    if want != crc.sum() || len != crc.amount() {
                        return Err(io::Error::other("gzip member's CRC or length does not match its data"));
                    }
                    self.state = Gz::Header(r);
                }
            }
        }
    }
}

/// A zstd decoder whose errors say what was refused: a frame asking for a window over
/// [`ZSTD_WINDOW_LOG_MAX`] is a memory bomb, not a corrupt file.
struct ZstdErrors<R: io::BufRead>(zstd::stream::read::Decoder<'static, R>);

impl<R: io::BufRead> Read for ZstdErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.to_string().contains("too much memory") {
                io::Error::other(format!(
                    "zstd frame declares a window over {} MiB (the decoder's bound); not decompressed: {e}",
                    1u64 << (ZSTD_WINDOW_LOG_MAX - 20)
                ))
            } else {
                io::Error::other(format!("zstd: {e}"))
            }
        })
    }
}

/// An archive or compression format arcdiag does not read, named by its first bytes, with the
/// command that converts it into one it does.
fn other_format(path: &Path, head: &[u8]) -> Option<String> {
    let shown = path_display(path);
    let q = |s: &str| {
        if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = |exts: &[&str]| {
        let lower = file.to_ascii_lowercase();
        let cut = exts.iter().find(|e| lower.ends_with(*e)).map_or(0, |e| e.len());
        let s = &file[..file.len() - cut];
        let s = s.strip_suffix(".tar").unwrap_or(s);
        if s.is_empty() {
            "bundle".to_string()
        } else {
            s.to_string()
        }
    };
    let src = q(&shown);
    let (format, cmd, out) = if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        let t = format!("{}.tar", stem(&[".xz", ".txz"]));
        ("xz-compressed", format!("xz -dc {src} > {}", q(&t)), t)
    } else if head.starts_with(b"BZh") {
        let t = format!("{}.tar", stem(&[".bz2", ".tbz2", ".tbz"]));
        ("bzip2-compressed", format!("bzip2 -dc {src} > {}", q(&t)), t)
    } else if head.starts_with(&[0x04, 0x22, 0x4D, 0x18]) {
        let t = format!("{}.tar", stem(&[".lz4"]));
        ("lz4-compressed", format!("lz4 -dc {src} > {}", q(&t)), t)
    } else if head.starts_with(b"LZIP") {
        let t = format!("{}.tar", stem(&[".lz"]));
        ("lzip-compressed", format!("lzip -dc {src} > {}", q(&t)), t)
    } else if head.starts_with(&[0x1F, 0x9D]) {
        let t = format!("{}.tar", stem(&[".z"]));
        ("compress (.Z)", format!("gzip -dc {src} > {}", q(&t)), t)
    } else if head.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        let d = stem(&[".7z"]);
        ("a 7-Zip archive", format!("7z x -o{} {src}", q(&d)), d)
    } else if head.starts_with(b"Rar!\x1a\x07") {
        let d = stem(&[".rar"]);
        ("a RAR archive", format!("mkdir {0} && unrar x {src} {0}/", q(&d)), d)
    } else {
        return None;
    };
    Some(format!(
        "not a bundle arcdiag reads: {format}; arcdiag reads a tar (plain, gzip'd or zstd-compressed), a zip or a directory. Convert it: {cmd}, then: arcdiag analyze {}",
        q(&out)
    ))
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

/// Resolve a symlink target relative to the link's folder; `None` if it climbs out.
pub fn join_link(link_path: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link_path.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// What follows the end of a tar archive (its zero blocks).
pub(super) enum After {
    /// Zero blocks up to the end of the stream, or a stream error (garbage after the compressed
    /// data, which the tar does not reach): nothing more.
    Nothing,
    /// The first header of another archive: read on.
    Tar(Vec<u8>),
    /// Something else, by its first bytes in hex.
    Other(String),
}

pub(super) fn after_end(r: &mut dyn Read) -> After {
    let mut block = vec![0u8; 512];
    loop {
        let mut n = 0;
        while n < 512 {
            match r.read(&mut block[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return After::Nothing,
            }
        }
        if block[..n].iter().all(|b| *b == 0) {
            if n < 512 {
                return After::Nothing;
            }
            continue;
        }
        if n == 512 && header_checksum_ok(&block) {
            return After::Tar(block);
        }
        let hex: Vec<String> = block[..n.min(16)].iter().map(|b| format!("{b:02x}")).collect();
        return After::Other(hex.join(" "));
    }
}

/// Whether a 512-byte block is a tar header: its checksum field matches its bytes.
fn header_checksum_ok(h: &[u8]) -> bool {
    let field = &h[148..156];
    let text: String = field.iter().map(|b| *b as char).filter(|c| c.is_digit(8)).collect();
    let Ok(want) = u32::from_str_radix(&text, 8) else {
        return false;
    };
    let sum: u32 = h[..148].iter().chain(&h[156..]).map(|b| u32::from(*b)).sum::<u32>() + 8 * 32;
    sum == want
}

/// Charge the links that came before member `name` and point at it, now that its cost is known;
/// `Err(true)` when the total bound is passed (stop reading).
#[allow(clippy::too_many_arguments)]
fn charge_pending(
    name: &str,
    pending: &mut std::collections::HashMap<String, Vec<String>>,
    costs: &crate::bundle::FastMap<String, Cost>,
    bounds: &mut MemberBounds,
    used: &mut Used,
    errors: &mut Vec<BundleError>,
    charged: &mut Vec<(String, String)>,
    refused: &mut std::collections::HashSet<String>,
) -> Result<(), bool> {
    let Some(links) = pending.remove(name) else {
        return Ok(());
    };
    let Some(&cost) = costs.get(name) else { return Ok(()) };
    for link in links {
        match charge_link(&link, name, cost, bounds, used) {
            Ok(()) => charged.push((link, name.to_string())),
            Err((es, stop)) => {
                errors.extend(es);
                refused.insert(link);
                if stop {
                    return Err(true);
                }
            }
        }
    }
    Ok(())
}

/// Why a sparse member (old GNU `S`, PAX sparse 0.x/1.0) is not read, or `None` for any other.
/// `arcdiag collect` never writes one, and expanding its holes would let a few KB declare gigabytes.
pub(super) fn sparse<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<String> {
    const WHY: &str = "arcdiag collect never writes sparse members, and their holes are not expanded; not read";
    if entry.header().entry_type().is_gnu_sparse() {
        let stored = entry.header().entry_size().unwrap_or(0);
        return Some(format!(
            "GNU sparse member ({} bytes with its holes, {stored} stored): {WHY}",
            entry.size()
        ));
    }
    let exts = entry.pax_extensions().ok()??;
    let (mut found, mut real, mut version, mut named) = (false, None, None, None);
    for ext in exts.flatten() {
        let Ok(key) = ext.key() else { continue };
        let Some(k) = key.strip_prefix("GNU.sparse.") else {
            continue;
        };
        found = true;
        match k {
            "realsize" | "size" => real = ext.value().ok().map(str::to_string),
            "major" => version = ext.value().ok().map(|v| format!("{v}.x")),
            "map" => version = version.or(Some("0.1".into())),
            "name" => named = ext.value().ok().map(|n| format!(" of '{n}'")),
            _ => {}
        }
    }
    found.then(|| {
        let real = real.map(|r| format!(", {r} bytes with its holes")).unwrap_or_default();
        format!(
            "PAX sparse member{} (format {}{real}): {WHY}",
            named.unwrap_or_default(),
            version.unwrap_or_else(|| "0.0".into())
        )
    })
}

/// Read the rest of a member through its hash and record the digest under `name`.
fn record_digest<R: Read>(h: Hashing<R>, name: &str, digests: &mut BTreeMap<String, Sum>) -> io::Result<()> {
    digests.insert(name.to_string(), h.finish()?);
    Ok(())
}

fn read_tar(
    reader: Box<dyn Read>,
    limits: &Limits,
    matcher: &LogMatcher,
    typed: bool,
    guard: &GuardState,
) -> Result<RawBundle, BundleError> {
    let mut reader = Some(reader);
    let mut next_idx = 0usize;
    let shared = Shared::default();
    let budget = Budget::new(IN_FLIGHT_BYTES);
    let pool = Pool::new();
    let parts: Parts = Mutex::new(Vec::new());
    let kept = Kept::new(typed);
    let mut feeder = Feeder::new(matcher, &kept, &shared, &parts, &budget, &pool);
    let mut errors: Vec<BundleError> = Vec::new();
    let mut stopped_early = false;
    let mut bounds = MemberBounds::new(limits, Source::Archive);
    let mut count: u64 = 0;
    let mut any_entry = false;
    let mut used = Used::new(typed);
    let mut last_member = String::new();
    let mut digests = BTreeMap::new();
    // What each member read so far (and each link to one) cost, by name, for links to it.
    let mut costs: crate::bundle::FastMap<String, Cost> = Default::default();
    // Links to a member not read yet, by the name of their target: charged when it comes.
    let mut pending: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    // Links charged as copies of their target (link, target), in the order they were charged.
    let mut charged_links: Vec<(String, String)> = Vec::new();
    let mut refused_links: std::collections::HashSet<String> = std::collections::HashSet::new();
    // The cause of a stream error: a bound the guard tripped, else what the decoder said.
    let cause = |e: &io::Error| {
        guard
            .tripped()
            .unwrap_or_else(|| format!("truncated or corrupt archive: {e}"))
    };

    rayon::in_place_scope(|scope| {
        // Archives back to back (`cat a.tar b.tar`, or two gzip streams of tars): each is read on.
        while let Some(r) = reader.take() {
            let mut archive = tar::Archive::new(r);
            let entries = match archive.entries() {
                Ok(e) => e,
                Err(e) => {
                    errors.push(BundleError::new(
                        "archive".into(),
                        format!("cannot read the tar stream: {e}"),
                    ));
                    stopped_early = true;
                    break;
                }
            };
            for entry in entries {
                let idx = next_idx;
                next_idx += 1;
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
                            format!("stopped after {count} members{after}: {}", cause(&e)),
                        ));
                        stopped_early = true;
                        break;
                    }
                };
                any_entry = true;
                count += 1;
                let size = entry.size();
                // A GNU sparse member's size is its size with the holes expanded; the stream holds
                // only its stored bytes.
                let stored = match entry.header().entry_type().is_gnu_sparse() {
                    true => entry.header().entry_size().unwrap_or(0),
                    false => size,
                };
                guard.allow_member(stored);
                if let Some(e) = bounds.over_member_count(count, "archive") {
                    errors.push(e);
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
                if raw_name.contains('\0') {
                    errors.push(BundleError::new(
                        raw_name.replace('\0', "\\0"),
                        "member name holds a NUL byte; member ignored".into(),
                    ));
                    continue;
                }
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
                // Refused before a byte of it is read: the tar crate would expand the holes.
                if let Some(why) = sparse(&mut entry) {
                    errors.push(BundleError::new(name, why));
                    continue;
                }
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
                    let resolved = if etype.is_symlink() {
                        join_link(&name, &target)
                    } else {
                        clean_member_name(&target).ok()
                    };
                    // A link to an earlier member is read as a copy of it, so it is charged as one.
                    if let (Some(t), None) = (&resolved, resolved.as_ref().and_then(|t| costs.get(t))) {
                        pending.entry(t.clone()).or_default().push(name.clone());
                    }
                    if let Some(cost) = resolved.as_ref().and_then(|t| costs.get(t)).copied() {
                        let t = resolved.as_deref().unwrap_or_default();
                        match charge_link(&name, t, cost, &mut bounds, &mut used) {
                            Ok(()) => {
                                costs.insert(name.clone(), cost);
                                charged_links.push((name.clone(), t.to_string()));
                            }
                            Err((es, stop)) => {
                                errors.extend(es);
                                if stop {
                                    stopped_early = true;
                                    break;
                                }
                                continue;
                            }
                        }
                    }
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
                if etype.is_pax_global_extensions() {
                    // Archive-wide PAX metadata (`git archive` writes one): nothing to read.
                    continue;
                }
                if !(etype.is_file() || etype.is_contiguous()) {
                    // PAX/GNU long-name entries are consumed by the tar crate; anything else is named.
                    errors.push(BundleError::new(
                        name,
                        format!(
                            "member of tar type '{}' (neither a file, a directory nor a link); not read",
                            (etype.as_byte() as char).escape_default()
                        ),
                    ));
                    continue;
                }
                let class = classify_for(&name, typed);
                match bounds.admit(&name, size, class) {
                    Admit::Read => {}
                    Admit::Skip(e) => {
                        errors.push(e);
                        // Not kept, but still hashed: integrity covers every member.
                        if let Err(e) = record_digest(Hashing::new(&mut entry), &name, &mut digests) {
                            errors.push(BundleError::new(
                                name,
                                format!("while reading this member: {}", cause(&e)),
                            ));
                            stopped_early = true;
                            break;
                        }
                        continue;
                    }
                    Admit::Stop(es) => {
                        errors.extend(es);
                        stopped_early = true;
                        break;
                    }
                }
                if class == Class::Other {
                    costs.insert(name.clone(), Cost::bytes(size));
                    if let Err(stop) = charge_pending(
                        &name,
                        &mut pending,
                        &costs,
                        &mut bounds,
                        &mut used,
                        &mut errors,
                        &mut charged_links,
                        &mut refused_links,
                    ) {
                        stopped_early = stop;
                        break;
                    }
                    if let Err(e) = record_digest(Hashing::new(&mut entry), &name, &mut digests) {
                        errors.push(BundleError::new(
                            name,
                            format!("while reading this member: {}", cause(&e)),
                        ));
                        stopped_early = true;
                        break;
                    }
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
                // A member read whole is hashed by the task that processes it; a long log read in
                // regions is hashed here, as it streams by.
                let regions = reads_in_regions(size, class);
                let read = if regions {
                    let mut hashed = Hashing::new(&mut entry);
                    let r = feeder.member(scope, &mut hashed, idx, &name, size, class);
                    (r, Some(hashed))
                } else {
                    (feeder.member(scope, &mut entry, idx, &name, size, class), None)
                };
                let (read, hashed) = read;
                if let (true, Some(hashed)) = (read.is_ok(), hashed) {
                    if let Err(e) = record_digest(hashed, &name, &mut digests) {
                        errors.push(BundleError::new(
                            name,
                            format!("while reading this member: {}", cause(&e)),
                        ));
                        stopped_early = true;
                        break;
                    }
                }
                if let Err(fail) = read {
                    errors.push(BundleError::new(
                        name,
                        match fail {
                            ReadFail::Io(e) => format!("while reading this member: {}", cause(&e)),
                            ReadFail::Short(got) => format!("truncated archive: member holds {got} of {size} bytes"),
                        },
                    ));
                    stopped_early = true;
                    break;
                }
                let mark = used.mark();
                if let Some(data) = feeder.last_data(idx) {
                    match charge_member(&name, data, class, &mut used, &kept) {
                        Ok(limit) => feeder.set_limit(idx, limit),
                        Err(refused) => {
                            digests.insert(name.clone(), Sum::of(data));
                            feeder.discard(idx);
                            shared.push(idx, *refused);
                        }
                    }
                } else if let Some(count) = feeder.streamed_count(idx) {
                    let charged = charge_values(&name, size, class, count, &mut used, &kept);
                    feeder.settle_streamed(idx, charged);
                }
                costs.insert(name.clone(), used.cost_since(mark, size));
                if let Err(stop) = charge_pending(
                    &name,
                    &mut pending,
                    &costs,
                    &mut bounds,
                    &mut used,
                    &mut errors,
                    &mut charged_links,
                    &mut refused_links,
                ) {
                    stopped_early = stop;
                    break;
                }
            }
            if stopped_early {
                break;
            }
            let mut rest = archive.into_inner();
            match after_end(&mut rest) {
            After::Nothing => {}
            After::Tar(block) => reader = Some(Box::new(io::Cursor::new(block).chain(rest))),
            After::Other(first) => errors.push(BundleError::new(
                "archive".into(),
                format!(
                    "after the end of the tar archive (after member '{last_member}'): data that is not a tar header (first bytes {first}); not read"
                ),
            )),
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
    let digests = shared.digests_with(digests);
    let chunked = feeder.take_chunked();
    drop(feeder);
    let mut results = gather(shared, chunked, parts, matcher, &kept);
    results.sort_by_key(|(i, _)| *i);
    let (trimmed, refused) = kept::trim(&kept, &mut results, &charged_links);
    errors.extend(trimmed);
    refused_links.extend(refused);
    let charged_links = charged_links
        .into_iter()
        .map(|(link, _)| link)
        .filter(|link| !refused_links.contains(link))
        .collect();
    // Links to a later member that its bounds refused, or that the typed objects' bound did.
    if !refused_links.is_empty() {
        results.retain(|(_, m)| {
            !(matches!(m.content, Content::Symlink(_) | Content::HardLink(_)) && refused_links.contains(&m.path))
        });
    }
    Ok(RawBundle {
        members: results.into_iter().map(|(_, m)| m).collect(),
        errors,
        stopped_early,
        container: "tar",
        digests,
        charged_links,
    })
}
