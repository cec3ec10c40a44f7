//! Reading a zip archive: its central directory is checked against itself and the file (sizes,
//! overlapping entries, entries past the end, encryption, methods, zip64), and the members that
//! pass are handed on as a tar stream, in central-directory order, so they go through exactly the
//! reader a tar goes through (`tar::read_tar`: names, duplicates, links, every bound). Only stored
//! and deflate members are read (deflate by flate2, already in the tree). Every entry refused is
//! named with its cause; notes met while streaming (a member shorter or longer than declared, a
//! CRC mismatch) are kept in [`Notes`] and added to the bundle's errors by [`finish`].
//!
//! Knows nothing of what a member means; nothing is written to disk.

use super::bounds::CountingReader;
use super::RawBundle;
use crate::bundle::{BundleError, Limits};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

/// The most central-directory bytes read: about 600,000 entries with short names. The entries
/// past it are named as not read.
const MAX_DIRECTORY_BYTES: u64 = 64 << 20;
/// Deflate cannot expand data by more than about 1032:1; an entry declaring more than this many
/// bytes per compressed byte lies about its size.
const DEFLATE_MAX_EXPANSION: u64 = 1032;

/// Notes about members, in the order met.
pub(super) type Notes = Arc<Mutex<Vec<BundleError>>>;

fn note(notes: &Notes, name: &str, why: String) {
    let e = BundleError::new(name.to_string(), why);
    match notes.lock() {
        Ok(mut g) => g.push(e),
        Err(p) => p.into_inner().push(e),
    }
}

/// Add the zip's notes to what the tar reader found.
pub(super) fn finish(raw: &mut RawBundle, notes: Notes) {
    raw.errors.extend(take(&notes));
}

/// The notes met so far, taken out.
pub(super) fn take(notes: &Notes) -> Vec<BundleError> {
    match notes.lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    }
}

fn u16_at(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 2)
        .map_or(0, |s| u64::from(u16::from_le_bytes([s[0], s[1]])))
}
fn u32_at(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 4)
        .map_or(0, |s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}
fn u64_at(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// One central-directory entry that passed the checks.
struct Entry {
    name: String,
    dir: bool,
    deflate: bool,
    crc: u32,
    compressed: u64,
    size: u64,
    /// Where its data starts in the file (after its local header).
    data: u64,
}

fn method_name(m: u64) -> String {
    let name = match m {
        1..=6 => "shrink/reduce/implode (legacy)",
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        95 => "xz",
        98 => "ppmd",
        99 => "AES encryption",
        _ => "unknown",
    };
    format!("{m} ({name})")
}

/// Parse the central directory of the zip at `path` and return a reader of its members as a tar
/// stream (member data read through `counting`, so the ratio bound sees it), with the notes.
pub(super) fn open(
    path: &std::path::Path,
    counting: CountingReader<BufReader<File>>,
    limits: &Limits,
) -> Result<(Box<dyn Read>, Notes), BundleError> {
    let shown = super::path_display(path);
    let err = |why: String| BundleError::new(shown.clone(), why);
    let mut f = counting
        .inner
        .get_ref()
        .try_clone()
        .map_err(|e| err(format!("cannot open: {e}")))?;
    let len = f.metadata().map_err(|e| err(format!("cannot stat: {e}")))?.len();
    let notes: Notes = Arc::default();

    // The end of central directory record: in the last 22 + 65,535 bytes.
    let tail_len = len.min(22 + 65_535);
    let mut tail = vec![0u8; tail_len as usize];
    f.seek(SeekFrom::Start(len - tail_len))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| err(format!("cannot read the zip's end: {e}")))?;
    let Some(at) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
    else {
        return Err(err(
            "zip archive without its end-of-central-directory record (truncated?); nothing read".into(),
        ));
    };
    let eocd_pos = len - tail_len + at as u64;
    let e = &tail[at..];
    let (mut entries_declared, mut cd_size, mut cd_offset) = (u16_at(e, 10), u32_at(e, 12), u32_at(e, 16));
    let loc = at
        .checked_sub(20)
        .map(|i| &tail[i..at])
        .filter(|l| l.starts_with(b"PK\x06\x07"));
    // A count of 0xFFFF without a zip64 locator is a writer that let the 16-bit count wrap or
    // stick: the entries are counted as parsed, not trusted.
    if cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF || (entries_declared == 0xFFFF && loc.is_some()) {
        // zip64: the locator sits right before the record and points at the zip64 record.
        match loc {
            Some(l) if l.starts_with(b"PK\x06\x07") => {
                let z = u64_at(l, 8);
                let mut rec = [0u8; 56];
                f.seek(SeekFrom::Start(z))
                    .and_then(|_| f.read_exact(&mut rec))
                    .map_err(|e| err(format!("cannot read the zip64 end record at offset {z}: {e}")))?;
                if !rec.starts_with(b"PK\x06\x06") {
                    return Err(err(format!(
                        "the zip64 locator points at offset {z}, which holds no zip64 end record; nothing read"
                    )));
                }
                entries_declared = u64_at(&rec, 32);
                cd_size = u64_at(&rec, 40);
                cd_offset = u64_at(&rec, 48);
            }
            _ => {
                return Err(err(
                    "zip end record asks for zip64 but has no zip64 locator; nothing read".into(),
                ))
            }
        }
    }
    // Data before the zip (a self-extractor's stub, a zip appended to another file) shifts every
    // offset by what lies between the directory's declared end and its end record.
    let mut shift = 0;
    if loc.is_none() && cd_offset <= eocd_pos && cd_size <= eocd_pos - cd_offset {
        shift = eocd_pos - cd_offset - cd_size;
        cd_offset += shift;
    }
    if cd_offset > eocd_pos || cd_size > eocd_pos - cd_offset {
        return Err(err(format!(
            "zip central directory ({cd_size} bytes at offset {cd_offset}) runs past the end of the archive ({eocd_pos} bytes before its end record); nothing read"
        )));
    }
    let read_size = cd_size.min(MAX_DIRECTORY_BYTES);
    let mut cd = vec![0u8; read_size as usize];
    f.seek(SeekFrom::Start(cd_offset))
        .and_then(|_| f.read_exact(&mut cd))
        .map_err(|e| err(format!("cannot read the zip central directory: {e}")))?;

    // Every entry, in directory order: (name, fields) or a refusal.
    let mut raw: Vec<(String, [u64; 8])> = Vec::new();
    let mut i = 0usize;
    let mut stopped = false;
    while i + 46 <= cd.len() {
        let h = &cd[i..];
        if !h.starts_with(b"PK\x01\x02") {
            note(
                &notes,
                "archive",
                format!(
                    "zip central directory entry #{} at offset {} is corrupt (no signature); the entries after it were not read",
                    raw.len(),
                    cd_offset + i as u64
                ),
            );
            stopped = true;
            break;
        }
        let (n, m, k) = (u16_at(h, 28) as usize, u16_at(h, 30) as usize, u16_at(h, 32) as usize);
        if i + 46 + n + m + k > cd.len() {
            break;
        }
        if raw.len() as u64 >= limits.max_members {
            note(
                &notes,
                "archive",
                format!(
                    "more than {} members (bound --max-members); the rest was not read",
                    limits.max_members
                ),
            );
            stopped = true;
            break;
        }
        let name_bytes = &h[46..46 + n];
        let name = String::from_utf8_lossy(name_bytes).replace('\\', "/");
        let (mut size, mut compressed, mut offset) = (u32_at(h, 24), u32_at(h, 20), u32_at(h, 42));
        // zip64 extra field: the 64-bit values of the fields set to all ones, in this order.
        let mut x = &h[46 + n..46 + n + m];
        while x.len() >= 4 {
            let (id, l) = (u16_at(x, 0), u16_at(x, 2) as usize);
            let body = x.get(4..4 + l).unwrap_or(&[]);
            if id == 1 {
                let mut j = 0;
                for v in [&mut size, &mut compressed, &mut offset] {
                    if *v == 0xFFFF_FFFF && j + 8 <= body.len() {
                        *v = u64_at(body, j);
                        j += 8;
                    }
                }
            }
            x = x.get(4 + l..).unwrap_or(&[]);
        }
        offset = offset.saturating_add(shift);
        let host = u16_at(h, 4) >> 8;
        let mode = u32_at(h, 38) >> 16;
        let symlink = host == 3 && mode & 0o170000 == 0o120000;
        raw.push((
            name,
            [
                u16_at(h, 8),
                u16_at(h, 10),
                u32_at(h, 16),
                compressed,
                size,
                offset,
                u64::from(symlink),
                0,
            ],
        ));
        i += 46 + n + m + k;
    }
    let short = entries_declared != 0xFFFF && (raw.len() as u64) < entries_declared.min(limits.max_members);
    if !stopped && (cd_size > read_size || short) {
        let why = if cd_size > read_size {
            format!("zip central directory over {MAX_DIRECTORY_BYTES} bytes; the entries past it were not read")
        } else {
            format!(
                "zip central directory declares {entries_declared} entries but holds {}; the rest was not read",
                raw.len()
            )
        };
        note(&notes, "archive", why);
    }

    // Local headers, in file order: each entry's data must lie before the central directory and
    // overlap no other entry's (the overlapping-entries zip bomb shares one compressed stream).
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by_key(|&j| (raw[j].1[5], j));
    let mut data_start: Vec<Option<u64>> = vec![None; raw.len()];
    let mut reach: Option<(u64, usize)> = None;
    let mut reader = BufReader::with_capacity(4096, f);
    for &j in &order {
        let (name, v) = &raw[j];
        let (offset, compressed) = (v[5], v[3]);
        if offset.saturating_add(30) > cd_offset {
            note(
                &notes,
                name,
                format!("zip entry points at offset {offset}, past the end of the archive's data ({cd_offset} bytes); not read"),
            );
            continue;
        }
        if let Some((end, by)) = reach {
            if offset < end {
                note(
                    &notes,
                    name,
                    format!(
                        "zip entry's data overlaps member '{}' (overlapping entries share compressed data: a zip bomb); not read",
                        raw[by].0
                    ),
                );
                continue;
            }
        }
        let mut lh = [0u8; 30];
        if let Err(e) = reader
            .seek(SeekFrom::Start(offset))
            .and_then(|_| reader.read_exact(&mut lh))
        {
            note(
                &notes,
                name,
                format!("cannot read its local header at offset {offset}: {e}; not read"),
            );
            continue;
        }
        if !lh.starts_with(b"PK\x03\x04") {
            note(
                &notes,
                name,
                format!("no zip local header at offset {offset}; not read"),
            );
            continue;
        }
        let start = offset + 30 + u16_at(&lh, 26) + u16_at(&lh, 28);
        let end = start.saturating_add(compressed);
        if end > cd_offset {
            note(
                &notes,
                name,
                format!(
                    "zip entry's {compressed} compressed bytes at offset {start} run past the end of the archive's data ({cd_offset} bytes); not read"
                ),
            );
            continue;
        }
        reach = Some(match reach {
            Some((e, by)) if e >= end => (e, by),
            _ => (end, j),
        });
        data_start[j] = Some(start);
    }
    let f = reader.into_inner();

    let mut entries = Vec::new();
    for (j, (name, v)) in raw.into_iter().enumerate() {
        let Some(data) = data_start[j] else { continue };
        let [flags, method, crc, compressed, size, _, symlink, _] = v;
        let dir = name.ends_with('/');
        if flags & 1 == 1 {
            note(&notes, &name, "encrypted zip member; not read".into());
            continue;
        }
        if symlink == 1 {
            note(&notes, &name, "symbolic link in a zip; not followed".into());
            continue;
        }
        if dir {
            entries.push(Entry {
                name,
                dir,
                deflate: false,
                crc: 0,
                compressed: 0,
                size: 0,
                data,
            });
            continue;
        }
        let deflate = match method {
            0 => false,
            8 => true,
            m => {
                note(
                    &notes,
                    &name,
                    format!(
                        "zip compression method {}; arcdiag reads stored and deflate members; not read",
                        method_name(m)
                    ),
                );
                continue;
            }
        };
        if !deflate && compressed != size {
            note(
                &notes,
                &name,
                format!("stored zip member declares {size} bytes but stores {compressed}; not read"),
            );
            continue;
        }
        if deflate && size > compressed.saturating_mul(DEFLATE_MAX_EXPANSION).saturating_add(1024) {
            note(
                &notes,
                &name,
                format!(
                    "zip entry declares {size} bytes from {compressed} compressed, more than deflate can expand to; not read"
                ),
            );
            continue;
        }
        if size > limits.max_member_bytes {
            note(
                &notes,
                &name,
                format!(
                    "member is {size} bytes, over the member bound of {} bytes (--max-member-bytes); not read",
                    limits.max_member_bytes
                ),
            );
            continue;
        }
        entries.push(Entry {
            name,
            dir,
            deflate,
            crc: crc as u32,
            compressed,
            size,
            data,
        });
    }
    let stream = TarOfZip {
        file: f,
        counting,
        entries: entries.into_iter(),
        notes: notes.clone(),
        out: Vec::new(),
        pos: 0,
        member: None,
        done: false,
    };
    Ok((Box::new(stream), notes))
}

/// The member being streamed.
struct Streaming {
    name: String,
    data: Box<dyn Read>,
    /// Bytes still to hand out, of its declared size.
    left: u64,
    size: u64,
    crc_want: u32,
    crc: flate2::Crc,
    /// Its data ended or failed: the rest is zeros (and has been named).
    zeros: bool,
}

/// A tar stream of the zip's members.
struct TarOfZip {
    file: File,
    counting: CountingReader<BufReader<File>>,
    entries: std::vec::IntoIter<Entry>,
    notes: Notes,
    /// Header bytes (and padding) waiting to be handed out.
    out: Vec<u8>,
    pos: usize,
    member: Option<Streaming>,
    done: bool,
}

fn tar_header(name: &str, dir: bool, size: u64, out: &mut Vec<u8>) {
    let mut h = tar::Header::new_ustar();
    let path = if dir {
        name.to_string()
    } else {
        name.trim_end_matches('/').to_string()
    };
    let short = path.len() < 100 && path.is_ascii() && h.set_path(&path).is_ok();
    if !short {
        // A PAX header carries the full name.
        let rec = |n: usize| format!("{n} path={path}\n");
        let mut n = rec(0).len();
        while rec(n).len() != n {
            n = rec(n).len();
        }
        let body = rec(n).into_bytes();
        let mut x = tar::Header::new_ustar();
        let _ = x.set_path("././@PaxHeader");
        x.set_entry_type(tar::EntryType::XHeader);
        x.set_size(body.len() as u64);
        x.set_mode(0o644);
        x.set_cksum();
        out.extend_from_slice(x.as_bytes());
        out.extend_from_slice(&body);
        out.resize(out.len() + (512 - body.len() % 512) % 512, 0);
        let _ = h.set_path(if dir { "zip-member/" } else { "zip-member" });
    }
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_size(size);
    h.set_mode(if dir { 0o755 } else { 0o644 });
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
}

impl TarOfZip {
    fn frame(&self, n: u64) {
        self.counting.count.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Queue the next member's header and start its data; false at the end.
    fn next_member(&mut self) -> io::Result<bool> {
        let Some(e) = self.entries.next() else {
            return Ok(false);
        };
        let before = self.out.len();
        tar_header(&e.name, e.dir, e.size, &mut self.out);
        // The tar framing stands for the zip's own headers: counted as read, so a zip of many
        // small stored members does not look like a decompression bomb.
        self.frame((self.out.len() - before) as u64);
        if e.dir || e.size == 0 {
            return Ok(true);
        }
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(e.data))?;
        let raw = CountingReader {
            inner: BufReader::with_capacity(e.compressed.clamp(512, 64 << 10) as usize, file).take(e.compressed),
            count: self.counting.count.clone(),
            progress: self.counting.progress,
        };
        let data: Box<dyn Read> = if e.deflate {
            Box::new(flate2::read::DeflateDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        self.member = Some(Streaming {
            name: e.name,
            data,
            left: e.size,
            size: e.size,
            crc_want: e.crc,
            crc: flate2::Crc::new(),
            zeros: false,
        });
        Ok(true)
    }

    /// Hand out member data; 0 when the member is done (its padding queued).
    fn member_data(&mut self, buf: &mut [u8]) -> usize {
        let Some(m) = self.member.as_mut() else { return 0 };
        if m.left == 0 {
            if !m.zeros {
                let mut one = [0u8; 1];
                if matches!(m.data.read(&mut one), Ok(1)) {
                    note(
                        &self.notes,
                        &m.name,
                        format!(
                            "zip member decompresses to more than the {} bytes its entry declares; read as its first {} bytes",
                            m.size, m.size
                        ),
                    );
                } else if m.crc.sum() != m.crc_want {
                    note(
                        &self.notes,
                        &m.name,
                        format!(
                            "zip member's CRC-32 is {:08x}, its entry declares {:08x}: the member is damaged",
                            m.crc.sum(),
                            m.crc_want
                        ),
                    );
                }
            }
            let pad = (512 - (m.size % 512) as usize) % 512;
            self.out.resize(self.out.len() + pad, 0);
            self.member = None;
            self.frame(pad as u64);
            return 0;
        }
        let want = buf.len().min(usize::try_from(m.left).unwrap_or(usize::MAX));
        if m.zeros {
            buf[..want].fill(0);
            m.left -= want as u64;
            return want;
        }
        let got = loop {
            match m.data.read(&mut buf[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        match got {
            Ok(k) if k > 0 => {
                m.crc.update(&buf[..k]);
                m.left -= k as u64;
                k
            }
            r => {
                let why = match r {
                    Err(e) => format!("corrupt compressed data ({e})"),
                    Ok(_) => "its data ends early".into(),
                };
                note(
                    &self.notes,
                    &m.name,
                    format!(
                        "zip member holds {} of the {} bytes its entry declares: {why}; the rest is read as zeros",
                        m.size - m.left,
                        m.size
                    ),
                );
                m.zeros = true;
                buf[..want].fill(0);
                m.left -= want as u64;
                want
            }
        }
    }
}

impl Read for TarOfZip {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pos < self.out.len() {
                let k = buf.len().min(self.out.len() - self.pos);
                buf[..k].copy_from_slice(&self.out[self.pos..self.pos + k]);
                self.pos += k;
                if self.pos == self.out.len() {
                    self.out.clear();
                    self.pos = 0;
                }
                return Ok(k);
            }
            if self.member.is_some() {
                let k = self.member_data(buf);
                if k > 0 {
                    return Ok(k);
                }
                continue;
            }
            if self.done {
                return Ok(0);
            }
            if !self.next_member()? {
                self.done = true;
                self.out.resize(1024, 0);
                self.frame(1024);
            }
        }
    }
}
