//! Block gzip: a `.tar.gz` written as a run of independent gzip members of [`BLOCK`] bytes each,
//! so that `analyze` can decompress it on every core.
//!
//! gzip is sequential: each byte's meaning depends on the 32 KiB before it, so one stream is
//! decompressed by one thread however many cores there are. A gzip file may however hold several
//! members back to back (RFC 1952 §2.2), and every gzip reader (`gzip -d`, `tar xzf`, Python's
//! `gzip`, flate2's `MultiGzDecoder`) reads them as one stream. `arcdiag collect` writes its bundles
//! as members of 1 MiB of tar each, and names each member's compressed length in its header's
//! extra field (FEXTRA, subfield `AD`, 4 bytes little-endian: the whole member, header to
//! trailer), as BGZF does for BAM files. A reader can then hop from member to member reading
//! headers only, and decompress the members in parallel. Independent 1 MiB members cost about
//! 0.1% of compression (the deflate window is 32 KiB).
//!
//! [`BlockReader`] reads such a file: it keeps [`AHEAD`] members in flight on the rayon pool, and
//! decompresses the one it needs itself when no worker has started it (so a pool busy with
//! analysis never stalls it). Each member's CRC-32 and length are checked. A member without the
//! subfield (a bundle from another tool, or something appended) ends the block mode: the rest of
//! the file is read by an ordinary sequential decoder. [`is_block_gzip`] says whether a file
//! starts in block mode.

use flate2::{Compression, Crc, Decompress, FlushDecompress, Status};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};

/// Uncompressed bytes per member.
pub const BLOCK: usize = 1 << 20;
/// A member that says it decompresses to more than this is refused (ours hold [`BLOCK`]), so the
/// members in flight hold at most [`AHEAD`] x (4 + 5) MiB whatever a header claims.
const MAX_BLOCK: usize = 4 << 20;
/// A member whose header says it is longer than this is refused (deflate expands incompressible
/// data by at most ~0.03%).
const MAX_MEMBER: usize = MAX_BLOCK + (1 << 20);
/// Members decompressed ahead of the one being read.
const AHEAD: usize = 6;
/// Fixed gzip header (10) + XLEN (2) + subfield header (4) + member length (4).
const HEADER_LEN: usize = 20;

/// Writes a block gzip stream: [`BLOCK`] bytes per gzip member, each member's length in its header.
/// Call [`BlockGzWriter::finish`] at the end (an unfinished writer loses its last block).
pub struct BlockGzWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    level: Compression,
    out: Vec<u8>,
    members: u64,
}

impl<W: Write> BlockGzWriter<W> {
    pub fn new(inner: W, level: Compression) -> BlockGzWriter<W> {
        BlockGzWriter {
            inner,
            buf: Vec::with_capacity(BLOCK),
            level,
            out: Vec::new(),
            members: 0,
        }
    }

    /// Write the last (partial) member and return the inner writer. A stream with no byte at
    /// all is still one (empty) member, so the file is valid gzip.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.buf.is_empty() || self.members == 0 {
            self.emit()?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn emit(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out
            .extend_from_slice(&[0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 0xff, 8, 0, b'A', b'D', 4, 0]);
        self.out.extend_from_slice(&[0; 4]); // the member length, set below
        let mut enc = flate2::write::DeflateEncoder::new(std::mem::take(&mut self.out), self.level);
        enc.write_all(&self.buf)?;
        self.out = enc.finish()?;
        let mut crc = Crc::new();
        crc.update(&self.buf);
        self.out.extend_from_slice(&crc.sum().to_le_bytes());
        self.out.extend_from_slice(&(self.buf.len() as u32).to_le_bytes());
        let len = u32::try_from(self.out.len()).map_err(|_| io::Error::other("gzip member over 4 GiB"))?;
        self.out[16..20].copy_from_slice(&len.to_le_bytes());
        self.inner.write_all(&self.out)?;
        self.buf.clear();
        self.members += 1;
        Ok(())
    }
}

impl<W: Write> Write for BlockGzWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BLOCK {
            self.emit()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The member length a gzip header names in its `AD` subfield, from the header's first
/// [`HEADER_LEN`] bytes; `None` for any other header (not gzip, other flags, no such subfield).
fn member_len(h: &[u8]) -> Option<usize> {
    if h.len() < HEADER_LEN || h[..4] != [0x1f, 0x8b, 8, 0x04] {
        return None;
    }
    // XLEN 8 holding exactly one subfield `AD` of 4 bytes: what `BlockGzWriter` writes.
    if h[10..16] != [8, 0, b'A', b'D', 4, 0] {
        return None;
    }
    let len = u32::from_le_bytes([h[16], h[17], h[18], h[19]]) as usize;
    Some(len)
}

/// Whether `head` (the first bytes of a file) starts a block gzip stream.
pub fn is_block_gzip(head: &[u8]) -> bool {
    member_len(head).is_some()
}

/// Decompress one member's deflate data and trailer (`payload`) into `out` (cleared first),
/// checking its length and CRC-32.
fn inflate_member(payload: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let Some(split) = payload.len().checked_sub(8) else {
        return Err("gzip member shorter than its trailer".into());
    };
    let (data, trailer) = payload.split_at(split);
    let want_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
    if size > MAX_BLOCK {
        return Err(format!("gzip member says it holds {size} bytes, over {MAX_BLOCK}"));
    }
    out.clear();
    out.reserve_exact(size);
    let mut d = Decompress::new(false);
    loop {
        let before = (d.total_in(), out.len());
        let at = usize::try_from(d.total_in()).unwrap_or(usize::MAX).min(data.len());
        let status = d
            .decompress_vec(&data[at..], out, FlushDecompress::Finish)
            .map_err(|e| format!("corrupt deflate data: {e}"))?;
        if status == Status::StreamEnd {
            break;
        }
        if out.len() == out.capacity() {
            // More data than the trailer says: not this member.
            if out.len() >= size {
                return Err(format!("gzip member holds more than the {size} bytes its trailer says"));
            }
            out.reserve(size - out.len());
        } else if (d.total_in(), out.len()) == before {
            return Err("gzip member's deflate data ends early".into());
        }
    }
    if d.total_in() != data.len() as u64 {
        return Err("gzip member has bytes after its deflate data".into());
    }
    if out.len() != size {
        return Err(format!(
            "gzip member holds {} bytes, its trailer says {size}",
            out.len()
        ));
    }
    let mut crc = Crc::new();
    crc.update(out);
    if crc.sum() != want_crc {
        return Err("gzip member fails its CRC-32 check".into());
    }
    Ok(())
}

enum State {
    /// Not started; holds the buffer to decompress into.
    Pending(Vec<u8>),
    Running,
    Done(Result<Vec<u8>, String>),
    /// The reader went away.
    Cancelled,
}

/// One member in flight: its compressed payload and where it stands.
struct Slot {
    /// Offset of the member in the file (for messages).
    offset: u64,
    payload: Vec<u8>,
    state: Mutex<State>,
    done: Condvar,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Take the member if nobody has: the buffer to decompress into.
    fn claim(&self) -> Option<Vec<u8>> {
        let mut g = self.lock();
        match std::mem::replace(&mut *g, State::Running) {
            State::Pending(buf) => Some(buf),
            other => {
                *g = other;
                None
            }
        }
    }

    /// On a pool thread: decompress the member unless the reader took it (or left).
    fn run(&self) {
        let Some(mut buf) = self.claim() else { return };
        let r = inflate_member(&self.payload, &mut buf).map(|()| buf);
        let mut g = self.lock();
        if matches!(*g, State::Running) {
            *g = State::Done(r);
        }
        drop(g);
        self.done.notify_all();
    }

    /// The member's bytes: decompressed here when no worker has started it, else waited for.
    fn take(&self) -> Result<Vec<u8>, String> {
        if let Some(mut buf) = self.claim() {
            return inflate_member(&self.payload, &mut buf).map(|()| buf);
        }
        let mut g = self.lock();
        loop {
            match std::mem::replace(&mut *g, State::Cancelled) {
                State::Done(r) => return r,
                State::Running => {
                    *g = State::Running;
                    g = match self.done.wait(g) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                }
                _ => return Err("gzip member lost".into()),
            }
        }
    }
}

/// Reads a block gzip stream (see the module notes), decompressing members in parallel.
pub struct BlockReader {
    src: Option<Box<dyn Read + Send>>,
    /// The sequential decoder reading the rest after a member without the `AD` subfield.
    rest: Option<Box<dyn Read + Send>>,
    ahead: VecDeque<Arc<Slot>>,
    cur: Vec<u8>,
    pos: usize,
    /// Compressed offset of the next member header.
    offset: u64,
    /// Output buffers to reuse.
    spare: Vec<Vec<u8>>,
    /// Set when the source ended or failed: no more members to start.
    ended: bool,
    /// A header problem met while reading ahead, reported once the members before it are read.
    pending_err: Option<io::Error>,
    /// The error that ended the stream: every later read returns it again (nothing after a
    /// corrupt member is handed out).
    failed: Option<String>,
}

impl BlockReader {
    pub fn new(src: Box<dyn Read + Send>) -> BlockReader {
        BlockReader {
            src: Some(src),
            rest: None,
            ahead: VecDeque::new(),
            cur: Vec::new(),
            pos: 0,
            offset: 0,
            spare: Vec::new(),
            ended: false,
            pending_err: None,
            failed: None,
        }
    }

    /// Start members until [`AHEAD`] are in flight or the block members end.
    fn fill(&mut self) {
        while !self.ended && self.ahead.len() < AHEAD {
            match self.next_member() {
                Ok(Some(slot)) => {
                    let s = slot.clone();
                    rayon::spawn(move || s.run());
                    self.ahead.push_back(slot);
                }
                Ok(None) => self.ended = true,
                Err(e) => {
                    self.ended = true;
                    self.pending_err = Some(e);
                }
            }
        }
    }

    /// Read the next member's header and payload; `None` at the end of the file, or when the next
    /// member is not a block member (the rest is then handed to a sequential decoder).
    fn next_member(&mut self) -> io::Result<Option<Arc<Slot>>> {
        let Some(src) = self.src.as_mut() else { return Ok(None) };
        let mut h = [0u8; HEADER_LEN];
        let got = read_up_to(src, &mut h)?;
        if got == 0 {
            self.src = None;
            return Ok(None);
        }
        let len = match member_len(&h[..got]) {
            Some(len) => len,
            None => {
                // Not ours: the rest of the file, from this header on, is ordinary gzip.
                let Some(src) = self.src.take() else { return Ok(None) };
                let head = io::Cursor::new(h[..got].to_vec());
                self.rest = Some(Box::new(flate2::read::MultiGzDecoder::new(head.chain(src))));
                return Ok(None);
            }
        };
        if !(HEADER_LEN + 8..=MAX_MEMBER).contains(&len) {
            return Err(io::Error::other(format!(
                "gzip member at byte {} says it is {len} bytes long (not a valid block)",
                self.offset
            )));
        }
        let mut payload = vec![0u8; len - HEADER_LEN];
        let n = read_up_to(src, &mut payload)?;
        if n < payload.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "gzip member at byte {} is cut short ({} of {len} bytes)",
                    self.offset,
                    HEADER_LEN + n
                ),
            ));
        }
        let slot = Arc::new(Slot {
            offset: self.offset,
            payload,
            state: Mutex::new(State::Pending(self.spare.pop().unwrap_or_default())),
            done: Condvar::new(),
        });
        self.offset += len as u64;
        Ok(Some(slot))
    }
}

fn read_up_to(r: &mut (dyn Read + Send), buf: &mut [u8]) -> io::Result<usize> {
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

impl Read for BlockReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(io::Error::other(e.clone()));
        }
        let r = self.read_next(out);
        match &r {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => self.failed = Some(e.to_string()),
            _ => {}
        }
        r
    }
}

impl BlockReader {
    fn read_next(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.cur.len() {
                let n = out.len().min(self.cur.len() - self.pos);
                out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if out.is_empty() {
                return Ok(0);
            }
            self.fill();
            let Some(slot) = self.ahead.pop_front() else {
                if let Some(e) = self.pending_err.take() {
                    return Err(e);
                }
                return match self.rest.as_mut() {
                    Some(r) => r.read(out),
                    None => Ok(0),
                };
            };
            let data = slot
                .take()
                .map_err(|e| io::Error::other(format!("gzip member at byte {}: {e}", slot.offset)))?;
            let old = std::mem::replace(&mut self.cur, data);
            if self.spare.len() < AHEAD {
                self.spare.push(old);
            }
            self.pos = 0;
            self.fill();
        }
    }
}

impl Drop for BlockReader {
    fn drop(&mut self) {
        // Members a worker has not started are dropped, not decompressed for nobody.
        for s in &self.ahead {
            *s.lock() = State::Cancelled;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_gz(data: &[u8]) -> Vec<u8> {
        let mut w = BlockGzWriter::new(Vec::new(), Compression::fast());
        w.write_all(data).expect("write");
        w.finish().expect("finish")
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8 ^ (i >> 12) as u8).collect()
    }

    fn read_all(gz: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        BlockReader::new(Box::new(io::Cursor::new(gz))).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn round_trip_and_plain_gzip_readers_agree() {
        for n in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK + 12345] {
            let data = sample(n);
            let gz = block_gz(&data);
            assert!(is_block_gzip(&gz), "{n}");
            assert_eq!(read_all(gz.clone()).expect("block read"), data, "{n}");
            let mut plain = Vec::new();
            flate2::read::MultiGzDecoder::new(&gz[..])
                .read_to_end(&mut plain)
                .expect("plain read");
            assert_eq!(plain, data, "{n}");
        }
    }

    #[test]
    fn ordinary_gzip_is_not_block_gzip() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(b"hello").expect("write");
        let gz = e.finish().expect("finish");
        assert!(!is_block_gzip(&gz));
        assert!(!is_block_gzip(b"\x1f\x8b"));
    }

    #[test]
    fn an_appended_ordinary_member_is_read_after_the_blocks() {
        let data = sample(3 * BLOCK + 10);
        let mut gz = block_gz(&data);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(b"appended").expect("write");
        gz.extend(e.finish().expect("finish"));
        let mut want = data;
        want.extend_from_slice(b"appended");
        assert_eq!(read_all(gz).expect("read"), want);
    }

    #[test]
    fn corruption_is_an_error_naming_the_member() {
        let data = sample(3 * BLOCK);
        let gz = block_gz(&data);
        // A flipped byte in the second member's deflate data.
        let second = member_len(&gz).expect("first member");
        let mut bad = gz.clone();
        bad[second + HEADER_LEN + 100] ^= 0x55;
        let e = read_all(bad).expect_err("corrupt");
        assert!(e.to_string().contains(&format!("gzip member at byte {second}")), "{e}");
        // Cut short inside the third member.
        let cut = gz[..gz.len() - 10].to_vec();
        let e = read_all(cut).expect_err("truncated");
        assert!(e.to_string().contains("cut short"), "{e}");
        // A member length that points past any sane block.
        let mut huge = gz.clone();
        huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = read_all(huge).expect_err("huge");
        assert!(e.to_string().contains("not a valid block"), "{e}");
        // A trailer claiming more bytes than the member holds.
        let mut size = gz;
        let t = second - 4;
        size[t..t + 4].copy_from_slice(&(BLOCK as u32 + 1).to_le_bytes());
        let e = read_all(size).expect_err("size");
        assert!(e.to_string().contains("gzip member at byte 0"), "{e}");
    }

    #[test]
    fn data_before_a_corrupt_member_is_still_read() {
        let data = sample(3 * BLOCK);
        let mut gz = block_gz(&data);
        let second = member_len(&gz).expect("first member");
        let third = second + member_len(&gz[second..]).expect("second member");
        gz[third + HEADER_LEN + 50] ^= 0xff;
        let mut r = BlockReader::new(Box::new(io::Cursor::new(gz)));
        let mut got = vec![0u8; 2 * BLOCK];
        r.read_exact(&mut got).expect("the first two members");
        assert_eq!(got, data[..2 * BLOCK]);
        assert!(r.read(&mut [0u8; 16]).is_err());
        // and nothing after it, however often it is asked
        assert!(r.read(&mut [0u8; 16]).is_err());
    }
}
