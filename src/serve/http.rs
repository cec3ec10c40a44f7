//! A small, bounded HTTP/1.1 server for `serve`: enough for kubectl's Go client (keep-alive,
//! `Content-Length` or chunked answers, `Expect: 100-continue` bodies refused before they are
//! sent) and nothing more. Knows nothing of Kubernetes: requests in, bytes out.
//!
//! Shape: one poller thread owns the listener and every connection that is waiting for a request
//! head (new, or idle between keep-alive requests). It reads what arrives without blocking, and
//! hands each complete head to a fixed pool of [`WORKERS`] threads, which answer it and give the
//! connection back. So a client that sends nothing, or one byte now and then, costs a socket and
//! its few buffered bytes, never a thread, and can never keep a worker from a normal request.
//!
//! Bounds:
//! - a connection has one deadline, [`HEAD_DEADLINE`], for its whole request head, however slowly
//!   it arrives, counted from the accept (or from the end of the previous answer on a keep-alive
//!   connection): past it the connection is closed (`408` if part of a head came);
//! - a head is at most [`MAX_HEAD`] bytes (then 431 and close), all heads being read together at
//!   most [`MAX_HEAD_TOTAL`] bytes (then 503 and close for the one that would pass it);
//! - at most [`max_conns`] connections are open at once (more get 503 and a close);
//! - `Host` must name the loopback (`localhost`, `127.0.0.1`, `[::1]`, any port), else 403: a web
//!   page cannot read the bundle through DNS rebinding;
//! - a streamed answer goes out in chunks of [`CHUNK`] bytes; each worker holds at most one chunk,
//!   so memory in flight is at most `WORKERS * CHUNK` beyond what the handler itself keeps; a
//!   write that makes no progress for [`WRITE_TIMEOUT`] drops the client, and a failed write
//!   (the client went away) stops the handler's work at its next chunk;
//! - a client that does not read its answer holds a worker only while no request waits for one:
//!   when every worker is busy and requests queue, the poller cuts the connections whose worker
//!   has been stuck in one write (or in reading a small body) for [`STALL_WHILE_OTHERS_WAIT`],
//!   longest-stuck first, one per waiting request. So a flood of clients that ask and never
//!   read (or read a byte now and then) delays a normal request by about that, not by
//!   [`WRITE_TIMEOUT`] per wave of [`WORKERS`].
//!
//! Every error a client can see is a `Status`.

use super::api::{status, Body, Reply};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest request head (request line and headers); the Kubernetes API server's is 1 MiB, this
/// leaves room for a 1 MiB query string plus kubectl's headers.
pub const MAX_HEAD: usize = (1 << 20) + (64 << 10);
/// All partial heads together.
pub const MAX_HEAD_TOTAL: usize = 64 << 20;
/// Most connections open at once (lowered to fit the open-files limit).
pub const MAX_CONNS: usize = 4096;
/// Threads answering requests.
pub const WORKERS: usize = 128;
/// The whole request head must arrive within this, and an idle keep-alive connection is closed
/// at it.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// A write to a client that makes no progress for this long drops the client.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a worker may be stuck writing to (or reading a body from) one client while other
/// requests wait for a worker; past it, that client is cut off.
pub const STALL_WHILE_OTHERS_WAIT: Duration = Duration::from_secs(1);
/// Bytes of a streamed body buffered before they are written as one chunk.
pub const CHUNK: usize = 64 << 10;
/// Most bytes of an unwanted request body read (and dropped) before closing, so the client sees
/// the answer rather than a reset.
const DRAIN_BODY: u64 = 8 << 20;

/// One parsed request head.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub accept: String,
    /// A small POST body, read before the handler runs (empty otherwise).
    pub body: Vec<u8>,
}

/// What reading a head gave.
enum Head {
    Request(Request, Framing),
    /// An HTTP error to answer before closing.
    Error(Reply),
}

/// How the request's body is framed, and whether the connection can carry another request.
struct Framing {
    /// Content-Length, if any (`None` with `chunked` false: no body).
    length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
    http10: bool,
    /// `Expect: 100-continue`: the client waits before sending its body.
    expect: bool,
}

fn too_large() -> Reply {
    status(
        431,
        "RequestHeaderFieldsTooLarge",
        &format!("the request line and headers are larger than {MAX_HEAD} bytes"),
        None,
    )
}

fn bad(msg: &str) -> Reply {
    status(400, "BadRequest", msg, None)
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Longest method accepted.
const MAX_METHOD: usize = 32;

/// Look at what has arrived of a request line: bytes that cannot start one (a TLS or SSH
/// handshake, NULs, binary) are refused at once instead of waiting for a line end that may
/// never come.
fn not_http(buf: &[u8]) -> Option<Reply> {
    let buf = buf
        .strip_prefix(b"\r\n")
        .or_else(|| buf.strip_prefix(b"\n"))
        .unwrap_or(buf);
    if buf.is_empty() || buf == b"\r" {
        return None;
    }
    let method_end = buf.iter().position(|b| *b == b' ').unwrap_or(buf.len());
    let method = &buf[..method_end];
    if method.len() > MAX_METHOD || !method.iter().all(|b| is_token(*b)) {
        return Some(bad("this is not an HTTP/1.x request"));
    }
    None
}

/// Where the head in `buf` ends (the index after its blank line), once it has all arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    // One blank line before a request line is ignored (RFC 9112 2.2).
    let skip = if buf.starts_with(b"\r\n") {
        2
    } else if buf.starts_with(b"\n") {
        1
    } else {
        0
    };
    let mut from = skip;
    while let Some(k) = memchr::memchr(b'\n', &buf[from..]) {
        let at = from + k;
        let rest = &buf[at + 1..];
        if rest.starts_with(b"\n") {
            return Some(at + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(at + 3);
        }
        from = at + 1;
    }
    None
}

/// The head's lines, line ends and the optional leading blank line dropped.
fn head_lines(head: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect();
    if lines.first().is_some_and(Vec::is_empty) {
        lines.remove(0);
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

/// `localhost`, `127.0.0.1` or `[::1]`, with or without a port (what `kubectl proxy` accepts).
pub fn loopback_host(h: &str) -> bool {
    let h = h.trim().to_ascii_lowercase();
    let port_ok = |p: &str| p.is_empty() || (p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        match rest.split_once(']') {
            Some((a, "")) => (a, ""),
            Some((a, p)) => match p.strip_prefix(':') {
                Some(p) if !p.is_empty() => (a, p),
                _ => return false,
            },
            None => return false,
        }
    } else {
        match h.split_once(':') {
            Some((a, p)) if !p.is_empty() => (a, p),
            Some(_) => return false,
            None => (h.as_str(), ""),
        }
    };
    port_ok(port) && matches!(host, "localhost" | "127.0.0.1" | "::1")
}

fn parse_head(lines: &[Vec<u8>]) -> Head {
    let Some(first) = lines.first() else {
        return Head::Error(bad("blank lines where a request line belongs"));
    };
    let Ok(first) = std::str::from_utf8(first) else {
        return Head::Error(bad("the request line is not valid UTF-8; percent-encode the path"));
    };
    let mut parts = first.split(' ').filter(|p| !p.is_empty());
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Head::Error(bad("the request line is not `METHOD TARGET HTTP/1.x`"));
    };
    if !method.bytes().all(is_token) {
        return Head::Error(bad("the request method is not a token"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        v if v.starts_with("HTTP/") => {
            return Head::Error(status(
                505,
                "HTTPVersionNotSupported",
                "only HTTP/1.0 and HTTP/1.1 are served",
                None,
            ))
        }
        _ => return Head::Error(bad("the request line is not `METHOD TARGET HTTP/1.x`")),
    };
    if target.bytes().any(|b| b.is_ascii_control()) {
        return Head::Error(bad("the request target holds control characters"));
    }
    let mut framing = Framing {
        length: None,
        chunked: false,
        keep_alive: !http10,
        http10,
        expect: false,
    };
    let mut accept = String::new();
    let mut host: Option<String> = None;
    for h in &lines[1..] {
        let Some(colon) = h.iter().position(|b| *b == b':') else {
            return Head::Error(bad("a header line has no `:`"));
        };
        let name = String::from_utf8_lossy(&h[..colon]).to_ascii_lowercase();
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Head::Error(bad("a header name is empty or holds white space"));
        }
        let value = String::from_utf8_lossy(&h[colon + 1..]).trim().to_string();
        match name.as_str() {
            "accept" => accept = value,
            "host" => {
                if host.is_some() {
                    return Head::Error(bad("more than one Host header"));
                }
                host = Some(value);
            }
            "content-length" => match value.parse::<u64>() {
                Ok(n) if framing.length.is_none_or(|l| l == n) => framing.length = Some(n),
                _ => {
                    return Head::Error(bad("Content-Length is not one non-negative integer"));
                }
            },
            "transfer-encoding" => framing.chunked = true,
            "expect" => framing.expect = true,
            "connection" => {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    framing.keep_alive = false;
                } else if v.contains("keep-alive") {
                    framing.keep_alive = true;
                }
            }
            _ => {}
        }
    }
    if !host.as_deref().is_some_and(loopback_host) {
        return Head::Error(status(
            403,
            "Forbidden",
            "the Host header must be localhost, 127.0.0.1 or [::1] (with or without a port): the bundle is served to this machine only",
            None,
        ));
    }
    // Absolute form (`http://host/path`) is allowed by HTTP/1.1; keep the path.
    let target = match target.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => match rest.find('/') {
            Some(k) => rest[k..].to_string(),
            None => "/".to_string(),
        },
        _ => target.to_string(),
    };
    Head::Request(
        Request {
            method: method.to_ascii_uppercase(),
            target,
            accept,
            body: Vec::new(),
        },
        framing,
    )
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// The bytes of a complete small answer (a `Status` the poller sends without a worker).
fn small_reply_bytes(reply: &Reply) -> Vec<u8> {
    let body: &[u8] = match &reply.body {
        Body::Bytes(b) => b,
        Body::Stream(_) => b"",
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-cache, private\r\nConnection: close\r\n\r\n",
        reply.code,
        reason(reply.code),
        reply.content_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A body written as HTTP/1.1 chunks of about [`CHUNK`] bytes (or raw, for HTTP/1.0, whose end
/// is the connection's close). The head waits for the first chunk: a body that ends within one
/// chunk goes out whole with its `Content-Length`.
struct Chunked<'a, W: Write> {
    out: &'a mut W,
    /// The status line and headers but the framing ones, until they are sent.
    head: Option<String>,
    close: &'static str,
    buf: Vec<u8>,
    http10: bool,
}

impl<W: Write> Chunked<'_, W> {
    fn emit(&mut self) -> std::io::Result<()> {
        if let Some(h) = self.head.take() {
            let framing = if self.http10 {
                "Connection: close\r\n"
            } else {
                "Transfer-Encoding: chunked\r\n"
            };
            self.out
                .write_all(format!("{h}{framing}{}\r\n", self.close).as_bytes())?;
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        if !self.http10 {
            self.out.write_all(format!("{:x}\r\n", self.buf.len()).as_bytes())?;
            self.buf.extend_from_slice(b"\r\n");
        }
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Send what is left; `true` when the body was framed (the connection may carry more).
    fn finish(mut self) -> std::io::Result<bool> {
        if let Some(h) = self.head.take() {
            let mut all = format!("{h}Content-Length: {}\r\n{}\r\n", self.buf.len(), self.close).into_bytes();
            all.extend_from_slice(&self.buf);
            self.out.write_all(&all)?;
            self.out.flush()?;
            return Ok(true);
        }
        self.emit()?;
        if !self.http10 {
            self.out.write_all(b"0\r\n\r\n")?;
        }
        self.out.flush()?;
        Ok(!self.http10)
    }
}

impl<W: Write> Write for Chunked<'_, W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.emit()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Write the answer; `Ok(false)`: the body's length was the connection's end (close it).
fn write_reply<W: Write>(
    w: &mut W,
    reply: Reply,
    head_only: bool,
    keep_alive: bool,
    http10: bool,
) -> std::io::Result<bool> {
    let close = if keep_alive { "" } else { "Connection: close\r\n" };
    let start = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nCache-Control: no-cache, private\r\n",
        reply.code,
        reason(reply.code),
        reply.content_type,
    );
    match reply.body {
        Body::Bytes(body) => {
            let mut head = format!("{start}Content-Length: {}\r\n{close}\r\n", body.len()).into_bytes();
            if head_only {
                w.write_all(&head)?;
            } else if body.len() <= CHUNK {
                // One write for small answers.
                head.extend_from_slice(&body);
                w.write_all(&head)?;
            } else {
                w.write_all(&head)?;
                w.write_all(&body)?;
            }
            w.flush()?;
            Ok(keep_alive)
        }
        Body::Stream(f) => {
            let mut out = Chunked {
                out: w,
                head: Some(start),
                close,
                buf: Vec::with_capacity(CHUNK + 64),
                http10,
            };
            if !head_only {
                f(&mut out)?;
            } else {
                // HEAD: the framing a GET would get, no body.
                out.http10 = true;
                out.emit()?;
                out.out.flush()?;
                return Ok(false);
            }
            Ok(out.finish()? && keep_alive)
        }
    }
}

/// Close after an answer: stop writing, read (and drop) what the client still sends for a short
/// while, so that it reads the answer instead of a connection reset.
fn linger_close(s: &mut TcpStream) {
    let _ = s.shutdown(Shutdown::Write);
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = std::io::copy(&mut Read::by_ref(s).take(DRAIN_BODY), &mut std::io::sink());
}

/// A complete head and the connection it came on, for a worker.
struct Job {
    stream: TcpStream,
    head: Head,
    /// Bytes after the head (a body, or the next pipelined request).
    rest: Vec<u8>,
}

/// A connection back from a worker, with the bytes it read past its last request (`None`: the
/// worker closed it).
type Back = Option<(TcpStream, Vec<u8>)>;

/// What each worker is doing with its client, for the poller to cut the ones that do not read
/// while other requests wait (see the module note).
struct Board {
    epoch: Instant,
    slots: Vec<Slot>,
}

#[derive(Default)]
struct Slot {
    /// When the worker's current write to (or body read from) its client began, in nanoseconds
    /// after [`Board::epoch`]; 0 when it is not in one.
    since: AtomicU64,
    /// A second handle to the connection being answered, to shut it from the poller.
    conn: Mutex<Option<TcpStream>>,
}

impl Board {
    fn new(workers: usize) -> Board {
        Board {
            epoch: Instant::now(),
            slots: (0..workers).map(|_| Slot::default()).collect(),
        }
    }

    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// Cut up to `waiting` connections whose worker has been stuck in one write or read for
    /// [`STALL_WHILE_OTHERS_WAIT`], longest-stuck first. Returns how many were cut.
    fn cut_stalled(&self, waiting: usize) -> usize {
        let now = self.now();
        let stall = STALL_WHILE_OTHERS_WAIT.as_nanos() as u64;
        let mut stuck: Vec<(u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let t = s.since.load(Ordering::Relaxed);
                (t != 0 && now.saturating_sub(t) >= stall).then_some((t, i))
            })
            .collect();
        stuck.sort_unstable();
        let mut cut = 0;
        for (t, i) in stuck.into_iter().take(waiting) {
            let Ok(mut conn) = self.slots[i].conn.lock() else {
                continue;
            };
            // Still the same write (the worker may have finished it and moved on meanwhile).
            if self.slots[i].since.load(Ordering::Relaxed) != t {
                continue;
            }
            if let Some(c) = conn.take() {
                let _ = c.shutdown(Shutdown::Both);
                cut += 1;
            }
        }
        cut
    }
}

/// A connection's stream with its worker's [`Slot`] marked while a write (or read) is in the
/// kernel.
struct Watched<'a> {
    stream: &'a mut TcpStream,
    board: &'a Board,
    slot: &'a Slot,
}

impl Watched<'_> {
    fn during<T>(&mut self, f: impl FnOnce(&mut TcpStream) -> T) -> T {
        self.slot.since.store(self.board.now(), Ordering::Relaxed);
        let r = f(self.stream);
        self.slot.since.store(0, Ordering::Relaxed);
        r
    }
}

impl Write for Watched<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.during(|s| s.write(data))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.during(|s| s.read(buf))
    }
}

fn answer<F: Fn(&Request) -> Reply>(job: Job, handler: &F, board: &Board, slot: &Slot) -> Back {
    let Job {
        mut stream,
        head,
        mut rest,
    } = job;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_read_timeout(Some(WRITE_TIMEOUT));
    if let Ok(mut c) = slot.conn.lock() {
        *c = stream.try_clone().ok();
    }
    let back = answer_on(
        &mut Watched {
            stream: &mut stream,
            board,
            slot,
        },
        head,
        &mut rest,
        handler,
    );
    if let Ok(mut c) = slot.conn.lock() {
        *c = None;
    }
    back.then_some((stream, rest))
}

/// Answer one request on `stream`; `true` when the connection can carry another.
fn answer_on<F: Fn(&Request) -> Reply>(stream: &mut Watched, head: Head, rest: &mut Vec<u8>, handler: &F) -> bool {
    let (req, framing) = match head {
        Head::Request(q, f) => (q, f),
        Head::Error(reply) => {
            if write_reply(stream, reply, false, false, false).is_ok() {
                linger_close(stream.stream);
            }
            return false;
        }
    };
    let (mut req, framing) = (req, framing);
    let has_body = framing.chunked || framing.length.is_some_and(|n| n > 0);
    let small_body = !framing.chunked && framing.length.is_some_and(|n| n <= 64 << 10);
    let mut skip_ok = false;
    // A small POST body (a `SelfSubjectAccessReview`) is read for the handler; any other body is
    // only skipped after the answer, or not read at all.
    if has_body && small_body && !framing.expect && req.method == "POST" {
        let len = framing.length.unwrap_or(0) as usize;
        let from_rest = len.min(rest.len());
        req.body = rest.drain(..from_rest).collect();
        let more = (len - from_rest) as u64;
        skip_ok = Read::by_ref(stream).take(more).read_to_end(&mut req.body).ok() == Some(more as usize);
    }
    let reply = handler(&req);
    // A body we do not read leaves the stream unframed: answer, then close.
    if has_body && small_body && !skip_ok && reply.code < 400 {
        let len = framing.length.unwrap_or(0) as usize;
        let from_rest = len.min(rest.len());
        rest.drain(..from_rest);
        let more = (len - from_rest) as u64;
        skip_ok = std::io::copy(&mut Read::by_ref(stream).take(more), &mut std::io::sink()).ok() == Some(more);
    }
    let keep = framing.keep_alive && (!has_body || skip_ok);
    match write_reply(stream, reply, req.method == "HEAD", keep, framing.http10) {
        Ok(true) => true,
        Ok(false) => {
            linger_close(stream.stream);
            false
        }
        Err(_) => false,
    }
}

/// A connection waiting for (the rest of) a request head.
struct Waiting {
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
}

enum Progress {
    /// Still reading.
    More(Waiting),
    /// A complete head (or an error to answer): hand it to a worker.
    Ready(Job),
}

/// Look at what a connection has sent so far.
fn examine(mut w: Waiting) -> Progress {
    let ready = |stream, head, rest| Progress::Ready(Job { stream, head, rest });
    if let Some(reply) = not_http(&w.buf) {
        return ready(w.stream, Head::Error(reply), Vec::new());
    }
    match head_end(&w.buf) {
        Some(end) if end <= MAX_HEAD => {
            let rest = w.buf.split_off(end);
            let head = parse_head(&head_lines(&w.buf));
            ready(w.stream, head, rest)
        }
        Some(_) => ready(w.stream, Head::Error(too_large()), Vec::new()),
        None if w.buf.len() > MAX_HEAD => ready(w.stream, Head::Error(too_large()), Vec::new()),
        None => Progress::More(w),
    }
}

/// Send a short `Status` without blocking (best effort) and drop the connection.
fn refuse(mut s: TcpStream, reply: &Reply) {
    let _ = s.write(&small_reply_bytes(reply));
    let _ = s.shutdown(Shutdown::Write);
}

/// The open-files limit raised to its hard limit; the connection bound that fits in it.
pub fn max_conns() -> usize {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 256;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max.min(65536),
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r.rlim_cur = want.rlim_cur;
            }
        }
        (r.rlim_cur as usize).saturating_sub(64).clamp(16, MAX_CONNS)
    }
}

/// Serve `listener` until the process ends, answering each request with `handler`.
pub fn serve<F>(listener: TcpListener, handler: F)
where
    F: Fn(&Request) -> Reply + Send + Sync + 'static,
{
    let conn_cap = max_conns();
    let handler = Arc::new(handler);
    let (job_tx, job_rx) = channel::<Job>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (back_tx, back_rx) = channel::<Back>();
    let Ok((wake_rx, wake_tx)) = UnixStream::pair() else {
        eprintln!("arcdiag: serve: cannot create the poller's wake-up socket");
        return;
    };
    let _ = wake_rx.set_nonblocking(true);
    let _ = wake_tx.set_nonblocking(true);
    let wake_tx = Arc::new(wake_tx);
    let board = Arc::new(Board::new(WORKERS));
    for k in 0..WORKERS {
        let (handler, job_rx, back_tx, wake_tx, board) = (
            Arc::clone(&handler),
            Arc::clone(&job_rx),
            back_tx.clone(),
            Arc::clone(&wake_tx),
            Arc::clone(&board),
        );
        let spawned = std::thread::Builder::new().stack_size(1 << 20).spawn(move || loop {
            let job = match job_rx.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => return,
            };
            let Ok(job) = job else { return };
            if back_tx
                .send(answer(job, handler.as_ref(), &board, &board.slots[k]))
                .is_err()
            {
                return;
            }
            let _ = (&*wake_tx).write(&[1]);
        });
        if spawned.is_err() {
            eprintln!("arcdiag: serve: cannot start a worker thread");
        }
    }
    drop(back_tx);
    poll_loop(listener, conn_cap, &job_tx, &back_rx, wake_rx, &board);
}

/// The poller: accepts, reads heads, enforces the deadline, hands complete heads to the workers.
fn poll_loop(
    listener: TcpListener,
    conn_cap: usize,
    jobs: &Sender<Job>,
    back: &Receiver<Back>,
    mut wake: UnixStream,
    board: &Board,
) {
    let _ = listener.set_nonblocking(true);
    let mut waiting: Vec<Waiting> = Vec::new();
    // Connections handed to workers and not yet back (or closed there).
    let mut busy: usize = 0;
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut chunk = vec![0u8; 16 << 10];
    loop {
        let now = Instant::now();
        let timeout = waiting
            .iter()
            .map(|w| w.deadline.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::from_secs(1))
            .min(if busy > WORKERS {
                // Requests wait for a worker: look at the stuck ones often.
                Duration::from_millis(100)
            } else {
                Duration::from_secs(1)
            });
        fds.clear();
        let pfd = |fd: i32| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        fds.push(pfd(listener.as_raw_fd()));
        fds.push(pfd(wake.as_raw_fd()));
        fds.extend(waiting.iter().map(|w| pfd(w.stream.as_raw_fd())));
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
        let n = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                timeout.as_millis().clamp(1, 1000) as i32,
            )
        };
        if n < 0 {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let mut fresh: Vec<Waiting> = Vec::new();
        // Connections given back by the workers.
        if fds[1].revents != 0 {
            let _ = std::io::copy(&mut (&mut wake).take(1 << 16), &mut std::io::sink());
        }
        while let Ok(b) = back.try_recv() {
            busy = busy.saturating_sub(1);
            let Some((stream, rest)) = b else { continue };
            let _ = stream.set_nonblocking(true);
            fresh.push(Waiting {
                stream,
                buf: rest,
                deadline: Instant::now() + HEAD_DEADLINE,
            });
        }
        // New connections.
        if fds[0].revents != 0 {
            loop {
                match listener.accept() {
                    Ok((s, _)) => {
                        if waiting.len() + fresh.len() + busy >= conn_cap {
                            let reply = status(
                                503,
                                "ServiceUnavailable",
                                &format!("too many connections (more than {conn_cap}); retry"),
                                None,
                            );
                            refuse(s, &reply);
                            continue;
                        }
                        let _ = s.set_nonblocking(true);
                        let _ = s.set_nodelay(true);
                        fresh.push(Waiting {
                            stream: s,
                            buf: Vec::new(),
                            deadline: Instant::now() + HEAD_DEADLINE,
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        // EMFILE and the like: let some connections finish.
                        std::thread::sleep(Duration::from_millis(20));
                        break;
                    }
                }
            }
        }
        // Reads on the waiting connections.
        let mut total: usize = waiting.iter().map(|w| w.buf.len()).sum();
        let old = std::mem::take(&mut waiting);
        let mut next: Vec<Waiting> = Vec::with_capacity(old.len() + fresh.len());
        let mut ready: Vec<Job> = Vec::new();
        for (k, mut w) in old.into_iter().enumerate() {
            let revents = fds.get(k + 2).map_or(0, |p| p.revents);
            if revents == 0 {
                next.push(w);
                continue;
            }
            let mut alive = true;
            let before = w.buf.len();
            loop {
                match w.stream.read(&mut chunk) {
                    Ok(0) => {
                        alive = false;
                        break;
                    }
                    Ok(n) => {
                        w.buf.extend_from_slice(&chunk[..n]);
                        if w.buf.len() > MAX_HEAD {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        alive = false;
                        break;
                    }
                }
            }
            total += w.buf.len() - before;
            if !alive && head_end(&w.buf).is_none() {
                total -= w.buf.len();
                continue;
            }
            if total > MAX_HEAD_TOTAL && head_end(&w.buf).is_none() {
                total -= w.buf.len();
                let reply = status(
                    503,
                    "ServiceUnavailable",
                    "too many request heads arriving at once; retry",
                    None,
                );
                refuse(w.stream, &reply);
                continue;
            }
            fresh.push(w);
        }
        for w in fresh {
            let len = w.buf.len();
            match examine(w) {
                Progress::Ready(job) => {
                    total = total.saturating_sub(len);
                    ready.push(job);
                }
                Progress::More(w) => next.push(w),
            }
        }
        // Deadlines: the whole head within HEAD_DEADLINE; idle connections closed at it.
        let now = Instant::now();
        next.retain_mut(|w| {
            if w.deadline > now {
                return true;
            }
            if !w.buf.is_empty() {
                let reply = status(
                    408,
                    "Timeout",
                    &format!("the request head did not arrive within {} s", HEAD_DEADLINE.as_secs()),
                    None,
                );
                let _ = w.stream.write(&small_reply_bytes(&reply));
            }
            let _ = w.stream.shutdown(Shutdown::Both);
            false
        });
        waiting = next;
        if busy > WORKERS {
            board.cut_stalled(busy - WORKERS);
        }
        for job in ready {
            busy += 1;
            if jobs.send(job).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(lines: &[&[u8]]) -> Head {
        let mut v: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
        if v.len() == 1 || !v.iter().any(|l| l.to_ascii_lowercase().starts_with(b"host:")) {
            v.insert(1.min(v.len()), b"Host: localhost".to_vec());
        }
        parse_head(&v)
    }

    fn code(h: Head) -> u16 {
        match h {
            Head::Request(..) => 0,
            Head::Error(r) => r.code,
        }
    }

    #[test]
    fn request_lines() {
        assert_eq!(code(head(&[b"GET /api HTTP/1.1"])), 0);
        assert_eq!(code(head(&[b"GET /\xff HTTP/1.1"])), 400);
        assert_eq!(code(head(&[b"GET /api"])), 400);
        assert_eq!(code(head(&[b"GET /api HTTP/2.0"])), 505);
        assert_eq!(code(head(&[b"G(T /api HTTP/1.1"])), 400);
        assert_eq!(code(head(&[b"GET /a\x1bb HTTP/1.1"])), 400);
        assert_eq!(code(head(&[b"GET /api HTTP/1.1", b"no colon"])), 400);
        assert_eq!(code(head(&[b"POST / HTTP/1.1", b"Content-Length: -1"])), 400);
        assert_eq!(
            code(head(&[b"POST / HTTP/1.1", b"Content-Length: 1", b"Content-Length: 2"])),
            400
        );
        match head(&[b"get http://h:1/api/v1?x HTTP/1.0", b"Accept: a;as=Table"]) {
            Head::Request(q, f) => {
                assert_eq!(
                    (q.method.as_str(), q.target.as_str(), q.accept.as_str()),
                    ("GET", "/api/v1?x", "a;as=Table")
                );
                assert!(!f.keep_alive);
            }
            _ => panic!("not parsed"),
        }
    }

    #[test]
    fn hosts() {
        for h in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "LocalHost:8001",
            "127.0.0.1:1",
            "[::1]:65535",
        ] {
            assert!(loopback_host(h), "{h}");
        }
        for h in [
            "",
            "x",
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "127.0.0.2",
            "[::1",
            "::1",
            "localhost:",
            "localhost:x",
            "[::1]:",
            "[::2]",
            "localhost:1:2",
        ] {
            assert!(!loopback_host(h), "{h}");
        }
        assert_eq!(code(head(&[b"GET /api HTTP/1.1", b"Host: evil.example"])), 403);
        assert_eq!(code(parse_head(&[b"GET /api HTTP/1.1".to_vec()])), 403);
        assert_eq!(
            code(head(&[b"GET /api HTTP/1.1", b"Host: localhost", b"Host: evil"])),
            400
        );
    }

    #[test]
    fn head_ends() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: a\n\n"), Some(24));
        assert_eq!(head_end(b"\r\nGET / HTTP/1.1\r\n\r\n"), Some(20));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
        assert_eq!(
            head_lines(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            vec![b"GET / HTTP/1.1".to_vec(), b"Host: a".to_vec()]
        );
        assert!(not_http(b"\x16\x03\x01").is_some());
        assert!(not_http(b"GE").is_none());
        assert!(not_http(b"\r\n").is_none());
    }
}
