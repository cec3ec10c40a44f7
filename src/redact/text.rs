//! Secrets in text: where they are (`spans`), found by the catalog's formats and by the
//! key-value scan, which reads every spelling of "a key naming a credential, then its value":
//! `key=value` (env files, query strings, connection strings, logfmt), `key: value` (YAML lines,
//! headers), `"key": "value"` and `\"key\":\"value\"` (JSON inside text), `Key:[v1 v2]` (Go
//! header maps), `Pwd={a;b}` (ODBC), `key%3Dvalue` (URL-encoded) and YAML block scalars.
//!
//! Knows nothing of tokens or counts (see `mod.rs`) nor of JSON documents (see `json`).

use super::catalog::{self, Take, CATALOG, FORMATS, KV};
use super::keys;
use regex::bytes::Regex;
use std::sync::LazyLock;

/// A secret's place in a text and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
}

/// A key that may name a credential, and the separator after it (`=`, `:`, `%3D`), with the
/// quote that closed a quoted key.
static KEY_SEP: LazyLock<Regex> = LazyLock::new(|| {
    let re = r#"[A-Za-z0-9_.\-]*(?i:pass|pwd|secret|token|key|auth|cookie|cred|sig|dsn|sas|connection|bearer)[A-Za-z0-9_.\-]*(\\*["'])?[ \t]*(=|:|%3[Dd])[ \t]*"#;
    match Regex::new(re) {
        Ok(r) => r,
        Err(e) => panic!("key pattern does not compile: {e}"),
    }
});

/// Every secret in `text` whose format may be present (`cands`, from `Catalog::candidates`),
/// in order of their start, overlapping spans merged.
pub fn spans(text: &[u8], cands: u64) -> Vec<Span> {
    let mut out = Vec::new();
    if cands == 0 {
        return out;
    }
    for (i, f) in FORMATS.iter().enumerate() {
        if cands & (1 << i) == 0 {
            continue;
        }
        let re = &CATALOG.regexes[i];
        match f.take {
            Take::All => {
                for m in re.find_iter(text) {
                    if f.check.is_none_or(|c| c(m.as_bytes())) {
                        out.push(Span {
                            start: m.start(),
                            end: m.end(),
                            kind: f.kind,
                        });
                    }
                }
            }
            Take::Group(g) => {
                for c in re.captures_iter(text) {
                    if let Some(m) = c.get(g) {
                        if f.check.is_none_or(|ch| ch(m.as_bytes())) {
                            out.push(Span {
                                start: m.start(),
                                end: m.end(),
                                kind: f.kind,
                            });
                        }
                    }
                }
            }
            Take::UrlUserinfo => {
                for c in re.captures_iter(text) {
                    if let Some(m) = c.get(1) {
                        if let Some((a, b)) = catalog::url_secret(m.as_bytes()) {
                            out.push(Span {
                                start: m.start() + a,
                                end: m.start() + b,
                                kind: f.kind,
                            });
                        }
                    }
                }
            }
        }
    }
    if cands & (1 << KV) != 0 {
        key_values(text, &mut out);
    }
    merge(out)
}

/// Past an authorization scheme word at the start of `text[s..e]`.
fn after_scheme(text: &[u8], s: usize, e: usize) -> usize {
    let v = &text[s..e];
    let w = v.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let scheme = v[..w].to_ascii_lowercase();
    let known = matches!(
        scheme.as_slice(),
        b"bearer"
            | b"basic"
            | b"sharedkey"
            | b"sharedkeylite"
            | b"negotiate"
            | b"digest"
            | b"token"
            | b"sharedaccesssignature"
            | b"ntlm"
            | b"aws4"
    );
    if known && v.get(w) == Some(&b' ') {
        s + w + 1
    } else {
        s
    }
}

/// Spans in order of their start, overlapping ones merged; of two that start together the
/// longer wins, and of two equal ones the first pushed (the catalog's, more precise than a key's).
fn merge(mut v: Vec<Span>) -> Vec<Span> {
    v.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut out: Vec<Span> = Vec::with_capacity(v.len());
    for s in v {
        if s.start == s.end {
            continue;
        }
        match out.last_mut() {
            Some(last) if s.start < last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

fn line_start(text: &[u8], at: usize) -> usize {
    memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1)
}

fn line_end(text: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i)
}

/// Whether only indentation, a YAML list dash or a quote stands between the line's start and `at`.
fn starts_line(text: &[u8], at: usize) -> bool {
    let ls = line_start(text, at);
    text[ls..at]
        .iter()
        .all(|c| matches!(c, b' ' | b'\t' | b'-' | b'"' | b'\'' | b'#'))
}

/// Values that are no secret whatever their key says: empty, a token already, a reference to
/// an environment variable, a literal such as `true`.
pub(super) fn is_placeholder(v: &[u8]) -> bool {
    let v = v.trim_ascii();
    // A file path (`/credentials/cloud`, `file:///etc/x`) names where a secret is, not the secret.
    let path = (v.starts_with(b"/") || v.starts_with(b"./") || v.starts_with(b"file://"))
        && v.len() > 1
        && !v.iter().any(|c| c.is_ascii_whitespace());
    path || v.is_empty()
        || v.starts_with(b"[redacted:")
        || v.starts_with(b"$(")
        || v.starts_with(b"${")
        || v.iter().all(|c| *c == b'*' || *c == b'x' || *c == b'X')
        || matches!(
            v.to_ascii_lowercase().as_slice(),
            b"true" | b"false" | b"null" | b"none" | b"nil" | b"<nil>" | b"\"\"" | b"''" | b"|" | b">"
        )
}

/// The key-value scan.
fn key_values(text: &[u8], out: &mut Vec<Span>) {
    let mut from = 0;
    while let Some(c) = KEY_SEP.captures_at(text, from) {
        let (Some(whole), Some(sep)) = (c.get(0), c.get(2)) else {
            break;
        };
        from = whole.end().max(from + 1);
        // The key is the match up to its closing quote or separator.
        let key_end = c.get(1).map_or(sep.start(), |q| q.start());
        let mut key_start = whole.start();
        // After a percent escape (`%26sig%3D...`) the key starts past the escape's two digits.
        while key_start > 0
            && text[key_start - 1] == b'%'
            && key_end - key_start > 2
            && text[key_start..key_start + 2].iter().all(u8::is_ascii_hexdigit)
        {
            key_start += 2;
        }
        let key_bytes = text[key_start..key_end].trim_ascii_end();
        // A key glued to a word before it (`monkeypassword`) is still its own key; one glued to
        // a `/` or a letter run of a path is not checked further.
        let Ok(key) = std::str::from_utf8(key_bytes) else {
            continue;
        };
        let Some(kind) = keys::credential_kind(key) else {
            continue;
        };
        let quoted_key = c.get(1).is_some();
        let colon = sep.as_bytes() == b":";
        let yaml = colon && starts_line(text, whole.start());
        let vstart = whole.end();
        let Some((s, e)) = value_extent(text, vstart, kind, yaml, sep.as_bytes()) else {
            continue;
        };
        let bracket = text.get(vstart) == Some(&b'[');
        if colon && !yaml && !quoted_key && !bracket && keys::is_broad(kind) {
            continue;
        }
        // An authorization scheme stays: `Authorization: Bearer [redacted:bearer-token:1]`.
        let s = if keys::is_header_like(kind) {
            after_scheme(text, s, e)
        } else {
            s
        };
        let v = &text[s..e];
        // A broad key's value with a space is prose ("Auth: see the docs"), and all digits a count.
        let broad = keys::is_broad(kind);
        if is_placeholder(v) || (broad && (v.iter().all(u8::is_ascii_digit) || v.iter().any(u8::is_ascii_whitespace))) {
            continue;
        }
        out.push(Span { start: s, end: e, kind });
        from = from.max(e);
    }
}

/// Where the value after a key's separator starts and ends.
fn value_extent(text: &[u8], at: usize, kind: &str, yaml: bool, sep: &[u8]) -> Option<(usize, usize)> {
    let rest = &text[at..];
    let first = *rest.first()?;
    let le = line_end(text, at);
    // A quoted value: up to the same quote (with as many backslashes), on the same line.
    let bs = rest.iter().take_while(|c| **c == b'\\').count();
    if matches!(rest.get(bs), Some(b'"' | b'\'')) {
        let q = &rest[..=bs];
        let body = at + q.len();
        let mut i = body;
        while i < le {
            if text[i..].starts_with(q) && (bs > 0 || i == body || text[i - 1] != b'\\') {
                return Some((body, i));
            }
            i += 1;
        }
        return Some((body, le));
    }
    if first == b'[' {
        let close = memchr::memchr(b']', &text[at..le]).map_or(le, |i| at + i);
        return Some((at + 1, close));
    }
    if first == b'{' {
        if sep == b"=" {
            let close = memchr::memchr(b'}', &text[at..le]).map_or(le, |i| at + i + 1);
            return Some((at, close));
        }
        return None;
    }
    if yaml && (first == b'|' || first == b'>') {
        return Some(block_scalar(text, at));
    }
    if keys::is_header_like(kind) || yaml {
        let mut e = le;
        while e > at && matches!(text[e - 1], b' ' | b'\t' | b'\r') {
            e -= 1;
        }
        return Some((at, e));
    }
    let mut e = at;
    while e < le {
        let c = text[e];
        if c.is_ascii_whitespace()
            || matches!(
                c,
                b'"' | b'\'' | b'\\' | b',' | b';' | b'&' | b')' | b']' | b'}' | b'<' | b'>'
            )
            || text[e..].starts_with(b"%26")
        {
            break;
        }
        e += 1;
    }
    Some((at, e))
}

/// A YAML block scalar (`key: |` then lines indented deeper than the key's line): from the
/// first line's text to the last line's end, so the indicator and the indentation stay.
fn block_scalar(text: &[u8], at: usize) -> (usize, usize) {
    let ls = line_start(text, at);
    let indent = text[ls..].iter().take_while(|c| **c == b' ').count();
    let mut start = None;
    let mut end = line_end(text, at);
    let mut i = end + 1;
    while i < text.len() {
        let le = line_end(text, i);
        let line = &text[i..le];
        let ind = line.iter().take_while(|c| **c == b' ').count();
        if !line.trim_ascii().is_empty() {
            if ind <= indent {
                break;
            }
            start.get_or_insert(i + ind);
        }
        end = le;
        i = le + 1;
    }
    match start {
        Some(s) => (s, end.max(s)),
        None => (at, at),
    }
}
