//! Secrets in text: where they are (`spans`), found by the catalog's formats and by the
//! key-value scan, which reads every spelling of "a key naming a credential, then its value":
//! `key=value` (env files, query strings, connection strings, logfmt), `key: value` (YAML lines,
//! headers), `"key": "value"` and `\"key\":\"value\"` (JSON inside text), `Key:[v1 v2]` (Go
//! header maps), `Pwd={a;b}` (ODBC), `key%3Dvalue` (URL-encoded) and YAML block scalars. The
//! scans for other shapes (flags, pairs, config lines, commands, base64 values) are in `scans`.
//!
//! Knows nothing of tokens or counts (see `mod.rs`) nor of JSON documents (see `json`).

use super::catalog::{self, Take, CATALOG, FORMATS, KV};
use super::keys;
use super::scans;
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
    let re = r#"[A-Za-z0-9_./\-]*(?i:pass|pwd|secret|token|key|auth|cookie|cred|sig|dsn|sas|connection|bearer|pw)[A-Za-z0-9_.\-]*(\\*["']|&quot;)?[ \t]*(=>|=|:|%(?:25)*3[Dd])[ \t]*"#;
    match Regex::new(re) {
        Ok(r) => r,
        Err(e) => panic!("key pattern does not compile: {e}"),
    }
});

/// Every secret in `text` whose format may be present (`cands`, from `Catalog::candidates`),
/// in order of their start, overlapping spans merged.
pub fn spans(text: &[u8], cands: u64) -> Vec<Span> {
    spans_at(text, cands, 0)
}

pub(super) fn spans_at(text: &[u8], cands: u64, depth: usize) -> Vec<Span> {
    let mut out = Vec::new();
    if cands == 0 && !(depth < 2 && text.len() >= 16 && memchr::memchr(b':', text).is_some()) {
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
        scans::flags(text, &mut out);
        scans::pairs(text, &mut out);
        scans::netrc(text, &mut out);
        scans::config_lines(text, &mut out);
        scans::commands(text, &mut out);
    }
    if memchr::memmem::find(text, b"\\x").is_some() || memchr::memmem::find(text, b"\\u").is_some() {
        scans::escaped_keys(text, &mut out);
    }
    if depth < 2 {
        scans::base64_values(text, depth, &mut out);
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

/// Whether only indentation and `export ` stand between the line's start and `at`.
fn env_line_start(text: &[u8], at: usize) -> bool {
    let ls = line_start(text, at);
    let pre = text[ls..at].trim_ascii_start();
    pre.is_empty() || pre == b"export "
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

/// A value a secret would be: six or more characters with a digit, a symbol or mixed case.
pub(super) fn secretish(v: &[u8]) -> bool {
    v.len() >= 6
        && (v.iter().any(u8::is_ascii_digit)
            || v.iter().any(|c| !c.is_ascii_alphanumeric())
            || (v.iter().any(u8::is_ascii_uppercase) && v.iter().any(u8::is_ascii_lowercase)))
}

/// Values that are no secret whatever their key says: empty, a token already, a reference to
/// an environment variable, a literal such as `true`.
pub(super) fn is_placeholder(v: &[u8]) -> bool {
    let v = v.trim_ascii();
    // A file path (`/credentials/cloud`, `file:///etc/x`) names where a secret is, not the secret;
    // a base64 key may start with `/` too, but its runs between slashes are long.
    let path = (v.starts_with(b"/") || v.starts_with(b"./") || v.starts_with(b"file://"))
        && v.len() > 1
        && v.iter().all(|c| c.is_ascii_alphanumeric() || b"._/~-:".contains(c))
        && v.split(|c| *c == b'/').all(|seg| seg.len() <= 40);
    path || v.is_empty()
        || v.starts_with(b"[redacted:")
        || v.starts_with(b"$(")
        || v.starts_with(b"${")
        || v.starts_with(b"@Microsoft.KeyVault(")
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
        if key_start > 0 && text[key_start - 1] == b'%' {
            // Encoded twice or more, `%2526sig`: each `25` is one more round of encoding.
            while key_end - key_start > 4 && text[key_start..].starts_with(b"25") {
                key_start += 2;
            }
            if key_end - key_start > 2 && text[key_start..key_start + 2].iter().all(u8::is_ascii_hexdigit) {
                key_start += 2;
            }
        }
        let key_bytes = text[key_start..key_end].trim_ascii_end();
        // `ci.contoso.io/trigger-token`: an annotation key; its line position counts from the
        // whole key, its kind from the whole key too (`checksum/secret` is a checksum).
        let key_bytes = match key_bytes.iter().rposition(|c| *c == b'/') {
            Some(i) if key_bytes[..i].iter().any(|c| *c == b'/' || *c == b':') => &key_bytes[i + 1..],
            _ => key_bytes,
        };
        // A key glued to a word before it (`monkeypassword`) is still its own key; one glued to
        // a `/` or a letter run of a path is not checked further.
        let Ok(key) = std::str::from_utf8(key_bytes) else {
            continue;
        };
        let Some(kind) = keys::credential_kind(key) else {
            continue;
        };
        // Inside a base64 run (`...8+94tpPw==`) there is no key: `+` before it, `=` after its `=`.
        if (key_start > 0 && text[key_start - 1] == b'+')
            || (sep.as_bytes() == b"=" && text.get(whole.end()) == Some(&b'='))
        {
            continue;
        }
        let quoted_key = c.get(1).is_some();
        let colon = sep.as_bytes() == b":";
        let ls = line_start(text, key_start);
        let open = |q: u8| {
            (ls..key_start)
                .filter(|&i| text[i] == q && (i == 0 || text[i - 1] != b'\\'))
                .count()
                % 2
                == 1
        };
        // The quote of a quoted scalar the key sits in (`- 'Authorization: Bearer x'`), if any.
        let inside_quotes = if open(b'"') {
            Some(b'"')
        } else if open(b'\'') {
            Some(b'\'')
        } else {
            None
        };
        // A YAML key opens its line; a key inside a quoted scalar (`- "Authorization: x"`) does not.
        let yaml = colon && starts_line(text, key_start) && (inside_quotes.is_none() || quoted_key);
        let mut vstart = whole.end();
        if quoted_key {
            // Pretty-printed JSON cut into lines: `"password":` then the value on the next one.
            let ws = text[vstart..].iter().take_while(|c| c.is_ascii_whitespace()).count();
            if text.get(vstart + ws) == Some(&b'"') {
                vstart += ws;
            }
        }
        // `$cred = New-Object ...`: a script's variable assigned code, not a value.
        if key_start > 0 && text[key_start - 1] == b'$' && !matches!(text.get(vstart), Some(b'"' | b'\'')) {
            continue;
        }
        // `DB_PASSWORD=...` opening a line (an env file): the value is the rest of the line.
        let env_line = sep.as_bytes() == b"="
            && !quoted_key
            && key
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
            && env_line_start(text, key_start);
        let Some((s, e)) = value_extent(text, vstart, kind, yaml, sep.as_bytes(), env_line, inside_quotes) else {
            continue;
        };
        let bracket = text.get(vstart) == Some(&b'[');
        // Mid-line `key: value` with a broad key is prose ("failed to get secret: not found"),
        // unless the key is a compound header name (`PRIVATE-TOKEN: x`) and the value looks secret.
        if colon && !yaml && !quoted_key && !bracket && keys::is_broad(kind) {
            let compound = keys::words(key).len() >= 2;
            let v = &text[s..e];
            if !(compound && secretish(v) && !v.iter().any(u8::is_ascii_whitespace)) {
                continue;
            }
        }
        // An authorization scheme stays: `Authorization: Bearer [redacted:bearer-token:1]`.
        let s = if keys::is_header_like(kind) {
            after_scheme(text, s, e)
        } else {
            s
        };
        let v = &text[s..e];
        // "password: must be at least 12 characters" is prose, not a password.
        if colon && !yaml && !quoted_key && v.iter().all(u8::is_ascii_lowercase) {
            let after = &text[e..line_end(text, e)];
            if after.first() == Some(&b' ') && after.get(1).is_some_and(u8::is_ascii_alphabetic) {
                continue;
            }
        }
        // A broad key's value with a space is prose ("Auth: see the docs"), and all digits a count.
        let broad = keys::is_broad(kind);
        let first_line = v.split(|c| *c == b'\n').next().unwrap_or(v);
        if is_placeholder(v)
            || (broad && (v.iter().all(u8::is_ascii_digit) || first_line.iter().any(u8::is_ascii_whitespace)))
        {
            continue;
        }
        out.push(Span { start: s, end: e, kind });
        from = from.max(e);
    }
}

/// Where the value after a key's separator starts and ends.
fn value_extent(
    text: &[u8],
    at: usize,
    kind: &str,
    yaml: bool,
    sep: &[u8],
    env_line: bool,
    inside_quotes: Option<u8>,
) -> Option<(usize, usize)> {
    let rest = &text[at..];
    let first = *rest.first()?;
    let le = line_end(text, at);
    // An HTML-escaped quote (`&quot;x&quot;`, JSON in an event message shown as HTML).
    if rest.starts_with(b"&quot;") {
        let body = at + 6;
        let end = memchr::memmem::find(&text[body..le], b"&quot;").map_or(le, |i| body + i);
        return Some((body, end));
    }
    // A quoted value: up to the same quote (with as many backslashes), on the same line; in
    // YAML's single quotes `''` is a quote inside the value.
    let bs = rest.iter().take_while(|c| **c == b'\\').count();
    if matches!(rest.get(bs), Some(b'"' | b'\'')) {
        let q = &rest[..=bs];
        let single = bs == 0 && q == b"'";
        let body = at + q.len();
        let mut i = body;
        while i < le {
            if single && text[i..].starts_with(b"''") {
                i += 2;
                continue;
            }
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
            // ODBC: `}` inside a braced value is written `}}`.
            let mut i = at + 1;
            while i < le {
                if text[i] == b'}' {
                    if text.get(i + 1) == Some(&b'}') {
                        i += 2;
                        continue;
                    }
                    return Some((at, i + 1));
                }
                i += 1;
            }
            return Some((at, le));
        }
        return None;
    }
    if yaml && (first == b'|' || first == b'>') {
        return Some(block_scalar(text, at));
    }
    if yaml {
        let ls = line_start(text, at);
        let indent = text[ls..].iter().take_while(|c| **c == b' ' || **c == b'\t').count();
        let more = |from: usize| -> Option<(usize, usize)> {
            // The next line, when it is indented deeper and is no key or list item of its own.
            let ns = from + 1;
            if ns >= text.len() {
                return None;
            }
            let ne = line_end(text, ns);
            let line = &text[ns..ne];
            let ind = line.iter().take_while(|c| **c == b' ' || **c == b'\t').count();
            let body = line[ind..].trim_ascii_end();
            let keyish = body.starts_with(b"- ") || body.starts_with(b"#") || {
                let colon = memchr::memmem::find(body, b": ").or_else(|| body.strip_suffix(b":").map(|b| b.len()));
                colon.is_some_and(|c| !body[..c].contains(&b' '))
            };
            (ind > indent && !body.is_empty() && !keyish).then_some((ns + ind, ns + ind + body.len()))
        };
        if text[at..le].trim_ascii().is_empty() {
            // `password:` with the value on the next line.
            return more(le).or(Some((at, at)));
        }
        if !matches!(first, b'"' | b'\'' | b'|' | b'>' | b'[' | b'{' | b'&' | b'*' | b'!') {
            let mut e = le;
            while e > at && matches!(text[e - 1], b' ' | b'\t' | b'\r') {
                e -= 1;
            }
            // A plain scalar continued on deeper lines.
            let mut end = le;
            while let Some((_, ce)) = more(end) {
                e = ce;
                end = line_end(text, ce);
            }
            return Some((at, e));
        }
    }
    if keys::is_header_like(kind) || yaml || env_line {
        let mut e = le;
        // Inside a quoted scalar (`"Authorization: Bearer x"`), the value ends at its quote.
        if let Some(quote) = inside_quotes {
            if let Some(q) = memchr::memchr(quote, &text[at..le]) {
                e = at + q;
                if e > at && text[e - 1] == b'\\' {
                    e -= 1;
                }
            }
        }
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
            || text[e..].starts_with(b"%2526")
            || text[e..].starts_with(b"%252526")
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
