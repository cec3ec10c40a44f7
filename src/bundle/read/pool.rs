//! Memory on the reading path: buffers reused from member to member ([`Pool`], [`Buf`]: no zeroing
//! before each read) and the bound on bytes read but not yet processed ([`Budget`],
//! [`IN_FLIGHT_BYTES`]). Knows nothing of members' names or contents.

use std::io;
use std::sync::{Condvar, Mutex};

/// Bytes handed to one task: a run of small members read back to back, or one region of a long log.
pub(super) const CHUNK: usize = 1 << 20;
/// Bytes read but not yet processed, at most (a JSON or YAML member larger than this is still read
/// whole, so the bound is then that member).
pub(super) const IN_FLIGHT_BYTES: u64 = 8 << 20;
/// Buffers kept for reuse: as many as can be in flight, and one being filled.
const POOL_BUFFERS: usize = (IN_FLIGHT_BYTES as usize / CHUNK) + 1;
/// A buffer's size as the pool makes it.
const POOL_BUF: usize = CHUNK + (CHUNK >> 2);
/// The largest buffer kept for reuse: members read whole up to this size (a namespace's
/// `pods.json` or `events.json`) reuse a kept buffer, grown once, instead of a fresh zeroed one
/// each (317 such members of a 50,000-pod bundle were 412 MB of fresh pages, faulted in and
/// given back); a larger one is freed when it comes back.
pub(super) const POOL_KEEP: usize = 2 * CHUNK;

/// Reusable read buffers, so the stream does not allocate (and fault in) a fresh buffer per member.
pub(super) struct Pool {
    bufs: Mutex<Vec<Buf>>,
}

impl Pool {
    pub(super) fn new() -> Pool {
        Pool {
            bufs: Mutex::new(Vec::new()),
        }
    }
    pub(super) fn get(&self) -> Buf {
        let mut g = match self.bufs.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.pop().unwrap_or_else(|| Buf::with_capacity(POOL_BUF))
    }
    /// A buffer for `n` bytes (at most [`POOL_KEEP`]): a kept one that holds them if there is
    /// one, else any, grown as it is filled.
    pub(super) fn get_for(&self, n: usize) -> Buf {
        let mut g = match self.bufs.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match g.iter().position(|b| b.capacity() >= n) {
            Some(i) => g.swap_remove(i),
            None => g.pop().unwrap_or_else(|| Buf::with_capacity(n.max(POOL_BUF))),
        }
    }
    pub(super) fn put(&self, mut b: Buf) {
        if b.capacity() > POOL_KEEP {
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

pub(super) enum ReadFail {
    Io(io::Error),
    /// The member ended early: this many bytes of it were read.
    Short(u64),
}

/// A read buffer whose bytes stay initialized from one use to the next. `Read` fills an
/// initialized slice, and `read_to_end` zeroed a `Vec`'s spare capacity before every read: a
/// memset of every byte of the bundle on the reading thread, the one the floor measures.
#[derive(Default)]
pub(super) struct Buf {
    /// Initialized bytes; `len` of them hold data.
    data: Vec<u8>,
    len: usize,
}

impl Buf {
    pub(super) fn with_capacity(n: usize) -> Buf {
        Buf {
            data: vec![0; n],
            len: 0,
        }
    }
    pub(super) fn len(&self) -> usize {
        self.len
    }
    pub(super) fn capacity(&self) -> usize {
        self.data.len()
    }
    pub(super) fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }
    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
    /// Drop the first `n` bytes, moving the rest to the front.
    pub(super) fn drain_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.data.copy_within(n..self.len, 0);
        self.len -= n;
    }
    pub(super) fn reserve(&mut self, n: usize) {
        let want = self.len + n;
        if want > self.data.len() {
            // The allocation grows by doubling; only the bytes about to be filled are zeroed.
            self.data.resize(want, 0);
        }
    }
    /// `n` initialized bytes past the data, to be filled and then counted with [`Buf::advance`].
    pub(super) fn spare(&mut self, n: usize) -> &mut [u8] {
        self.reserve(n);
        &mut self.data[self.len..self.len + n]
    }
    /// Count `n` more bytes of the spare space as data.
    pub(super) fn advance(&mut self, n: usize) {
        self.len = (self.len + n).min(self.data.len());
    }
    pub(super) fn extend_from_slice(&mut self, s: &[u8]) {
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

/// Limits the bytes handed to the pool but not yet processed, so memory stays bounded.
pub(super) struct Budget {
    in_flight: Mutex<u64>,
    cv: Condvar,
    cap: u64,
}

impl Budget {
    pub(super) fn new(cap: u64) -> Budget {
        Budget {
            in_flight: Mutex::new(0),
            cv: Condvar::new(),
            cap,
        }
    }
    pub(super) fn acquire(&self, n: u64) {
        *self.room_for(n) += n;
    }
    /// Wait, without taking it, until `n` more bytes would fit in flight (or nothing is in
    /// flight): a member read whole waits here before it is read, so the bytes held are the
    /// bound's, not the bound's plus one member being read beside a large one being parsed.
    pub(super) fn wait_room(&self, n: u64) {
        drop(self.room_for(n));
    }
    /// The count in flight, locked, once `n` more bytes fit (or nothing is in flight).
    fn room_for(&self, n: u64) -> std::sync::MutexGuard<'_, u64> {
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
        g
    }
    pub(super) fn release(&self, n: u64) {
        let mut g = match self.in_flight.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = g.saturating_sub(n);
        self.cv.notify_all();
    }
}
