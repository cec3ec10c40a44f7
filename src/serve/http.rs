//! A small, bounded HTTP/1.1 server for `serve`: enough for kubectl's Go client (keep-alive,
//! `Content-Length` answers, `Expect: 100-continue` bodies refused before they are sent) and
//! nothing more. It replaces `tiny_http`, which buffers a request line or header without a bound
//! (64 MiB without a line end became 64 MiB and more of memory), waits forever on a client that
//! sends nothing, and closes without a word on a request line that is not ASCII.
//!
//! Bounds: a request head is at most [`MAX_HEAD`] bytes (then 431 and close); a client has
//! [`HEAD_TIMEOUT`] to send a head and [`IDLE_TIMEOUT`] between keep-alive requests; a stalled
//! reader of a response is dropped after [`WRITE_TIMEOUT`]; at most [`MAX_CONNS`] connections are
//! served at once (more get 503 and a close). Every error a client can see is a `Status`. Knows
//! nothing of Kubernetes: requests in, bytes out.

use super::api::{status, Reply};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest request head (request line and headers); the Kubernetes API server's is 1 MiB, this
/// leaves room for a 1 MiB query string plus kubectl's headers.
pub const MAX_HEAD: usize = (1 << 20) + (64 << 10);
/// Connections served at once.
pub const MAX_CONNS: usize = 128;
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Most bytes of an unwanted request body read (and dropped) before closing, so the client sees
/// the answer rather than a reset.
const DRAIN_BODY: u64 = 8 << 20;

/// One parsed request head.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub accept: String,
}

/// What reading a head gave.
enum Head {
    Request(Request, Framing),
    /// An HTTP error to answer before closing.
    Error(Reply),
    /// The client closed, timed out or sent nothing usable: close without a word.
    Gone,
}

/// How the request's body is framed, and whether the connection can carry another request.
struct Framing {
    /// Content-Length, if any (`None` with `chunked` false: no body).
    length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
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

/// Read one line (ending in LF) of at most `room` bytes. `Ok(None)`: EOF before any byte.
fn read_line(r: &mut impl BufRead, room: usize, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    line.clear();
    let n = r.by_ref().take(room as u64 + 1).read_until(b'\n', line)?;
    if n == 0 {
        return Ok(None);
    }
    // `false`: over the room, or EOF without a line end.
    Ok(Some(line.ends_with(b"\n") && n <= room))
}

fn read_head(r: &mut BufReader<TcpStream>, first: bool) -> Head {
    let stream = r.get_ref();
    let _ = stream.set_read_timeout(Some(if first { HEAD_TIMEOUT } else { IDLE_TIMEOUT }));
    let mut used = 0usize;
    let mut line = Vec::new();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let started = Instant::now();
    let mut blank = 0;
    loop {
        if lines.is_empty() {
            if let Some(reply) = not_http(r) {
                return Head::Error(reply);
            }
        }
        let room = MAX_HEAD.saturating_sub(used);
        match read_line(r, room, &mut line) {
            Ok(None) => return Gone,
            Ok(Some(true)) => {}
            // Over the bound, or cut off by EOF.
            Ok(Some(false)) if line.len() > room => return Head::Error(too_large()),
            Ok(Some(false)) | Err(_) => return Gone,
        }
        used += line.len();
        if lines.is_empty() {
            // Once the first byte is in, the whole head must follow within HEAD_TIMEOUT.
            let _ = r.get_ref().set_read_timeout(Some(HEAD_TIMEOUT));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        if line.is_empty() {
            if lines.is_empty() {
                // One blank line before a request line is ignored (RFC 9112 2.2); more is not HTTP.
                blank += 1;
                if blank > 1 {
                    return Head::Error(bad("blank lines where a request line belongs"));
                }
                continue;
            }
            break;
        }
        lines.push(std::mem::take(&mut line));
        if started.elapsed() > HEAD_TIMEOUT + IDLE_TIMEOUT {
            return Gone;
        }
    }
    parse_head(&lines)
}

use Head::Gone;

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Longest method accepted.
const MAX_METHOD: usize = 32;

/// Look at what has arrived of a request line: bytes that cannot start one (a TLS or SSH
/// handshake, NULs, binary) are refused at once instead of waiting for a line end that may
/// never come.
fn not_http(r: &mut BufReader<TcpStream>) -> Option<Reply> {
    let buf = r.fill_buf().ok()?;
    let method_end = buf.iter().position(|b| *b == b' ').unwrap_or(buf.len());
    let method = &buf[..method_end];
    let line_start = matches!(method, [b'\r', b'\n', ..] | [b'\n', ..] | [b'\r']);
    if line_start {
        return None;
    }
    if method.len() > MAX_METHOD || !method.iter().all(|b| is_token(*b)) {
        return Some(bad("this is not an HTTP/1.x request"));
    }
    None
}

fn parse_head(lines: &[Vec<u8>]) -> Head {
    let Some(first) = lines.first() else { return Gone };
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
    };
    let mut accept = String::new();
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
            "content-length" => match value.parse::<u64>() {
                Ok(n) if framing.length.is_none_or(|l| l == n) => framing.length = Some(n),
                _ => {
                    return Head::Error(bad("Content-Length is not one non-negative integer"));
                }
            },
            "transfer-encoding" => framing.chunked = true,
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
        },
        framing,
    )
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

fn write_reply(w: &mut TcpStream, reply: &Reply, head_only: bool, keep_alive: bool) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-cache, private\r\n{}\r\n",
        reply.code,
        reason(reply.code),
        reply.content_type,
        reply.body.len(),
        if keep_alive { "" } else { "Connection: close\r\n" }
    );
    w.write_all(head.as_bytes())?;
    if !head_only {
        w.write_all(&reply.body)?;
    }
    w.flush()
}

/// Close after an answer: stop writing, read (and drop) what the client still sends for a short
/// while, so that it reads the answer instead of a connection reset.
fn linger_close(r: &mut BufReader<TcpStream>) {
    let _ = r.get_ref().shutdown(Shutdown::Write);
    let _ = r.get_ref().set_read_timeout(Some(Duration::from_millis(500)));
    let _ = std::io::copy(&mut r.by_ref().take(DRAIN_BODY), &mut std::io::sink());
}

fn connection<F: Fn(&Request) -> Reply>(stream: TcpStream, handler: &F) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(mut w) = stream.try_clone() else { return };
    let mut r = BufReader::with_capacity(16 << 10, stream);
    let mut first = true;
    loop {
        let (req, framing) = match read_head(&mut r, first) {
            Head::Request(q, f) => (q, f),
            Head::Error(reply) => {
                if write_reply(&mut w, &reply, false, false).is_ok() {
                    linger_close(&mut r);
                }
                return;
            }
            Gone => return,
        };
        first = false;
        let has_body = framing.chunked || framing.length.is_some_and(|n| n > 0);
        let reply = handler(&req);
        // A body we do not read leaves the stream unframed: answer, then close.
        let small_get_body = !framing.chunked && framing.length.is_some_and(|n| n <= 64 << 10);
        let skip_ok = has_body
            && small_get_body
            && reply.code < 400
            && std::io::copy(&mut r.by_ref().take(framing.length.unwrap_or(0)), &mut std::io::sink()).ok()
                == framing.length;
        let keep = framing.keep_alive && (!has_body || skip_ok);
        if write_reply(&mut w, &reply, req.method == "HEAD", keep).is_err() {
            return;
        }
        if !keep {
            linger_close(&mut r);
            return;
        }
    }
}

/// Serve `listener` until the process ends, answering each request with `handler`.
pub fn serve<F>(listener: TcpListener, handler: F)
where
    F: Fn(&Request) -> Reply + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else {
            // EMFILE and the like: let some connections finish.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNS {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let reply = status(
                503,
                "ServiceUnavailable",
                &format!("too many connections (more than {MAX_CONNS}); retry"),
                None,
            );
            let _ = write_reply(&mut stream, &reply, false, false);
            let _ = stream.shutdown(Shutdown::Write);
            continue;
        }
        let (handler, active) = (Arc::clone(&handler), Arc::clone(&active));
        let spawned = std::thread::Builder::new().stack_size(256 << 10).spawn(move || {
            connection(stream, handler.as_ref());
            active.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            // The thread (and the stream it held) is gone; give its slot back.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(lines: &[&[u8]]) -> Head {
        parse_head(&lines.iter().map(|l| l.to_vec()).collect::<Vec<_>>())
    }

    fn code(h: Head) -> u16 {
        match h {
            Head::Request(..) => 0,
            Head::Error(r) => r.code,
            Gone => 1,
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
}
