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

fn spans_at(text: &[u8], cands: u64, depth: usize) -> Vec<Span> {
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
        flags(text, &mut out);
        pairs(text, &mut out);
        netrc(text, &mut out);
        config_lines(text, &mut out);
        commands(text, &mut out);
    }
    if memchr::memmem::find(text, b"\\x").is_some() || memchr::memmem::find(text, b"\\u").is_some() {
        escaped_keys(text, &mut out);
    }
    if depth < 2 {
        base64_values(text, depth, &mut out);
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

fn le_of(text: &[u8], at: usize) -> usize {
    line_end(text, at)
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
fn secretish(v: &[u8]) -> bool {
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

fn rx(re: &str) -> Regex {
    match Regex::new(re) {
        Ok(r) => r,
        Err(e) => panic!("pattern does not compile: {e}"),
    }
}

/// Every match of `re`: its group 1 as a secret of `kind`, when `keep` says so.
fn group_spans(re: &Regex, text: &[u8], kind: &'static str, keep: impl Fn(&[u8]) -> bool, out: &mut Vec<Span>) {
    for c in re.captures_iter(text) {
        if let Some(v) = c.get(1).filter(|v| keep(v.as_bytes())) {
            out.push(Span {
                start: v.start(),
                end: v.end(),
                kind,
            });
        }
    }
}

/// Every match of `re` whose group 1 is a key naming a credential: its group 2 as the secret.
fn keyed_spans(re: &Regex, text: &[u8], out: &mut Vec<Span>) {
    for c in re.captures_iter(text) {
        let (Some(k), Some(v)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let kind = std::str::from_utf8(k.as_bytes()).ok().and_then(keys::credential_kind);
        if let (Some(kind), false) = (kind, is_placeholder(v.as_bytes())) {
            out.push(Span {
                start: v.start(),
                end: v.end(),
                kind,
            });
        }
    }
}

/// A command-line flag naming a credential and its value as the next word
/// (`--password hunter2`, `--token abc.def`, curl's `-u user:pass`).
static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r#"(?:^|[\s"'\[,(])(--?[A-Za-z][A-Za-z0-9_\-]*)["']?(?:[ \t]+|[ \t]*\r?\n[ \t]*-[ \t]+)["']?([^\s"'\-][^\s"']*)"#,
    )
});

fn flags(text: &[u8], out: &mut Vec<Span>) {
    for c in FLAG.captures_iter(text) {
        let (Some(f), Some(v)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let name = String::from_utf8_lossy(f.as_bytes());
        let bare = name.trim_start_matches('-');
        if matches!(bare, "u" | "user" | "proxy-user") {
            if let Some(i) = memchr::memchr(b':', v.as_bytes()) {
                if i + 1 < v.len() {
                    out.push(Span {
                        start: v.start() + i + 1,
                        end: v.end(),
                        kind: "password",
                    });
                }
            }
            continue;
        }
        if let Some(kind) = keys::credential_kind(bare) {
            if !is_placeholder(v.as_bytes()) {
                out.push(Span {
                    start: v.start(),
                    end: v.end(),
                    kind,
                });
            }
        }
    }
}

/// Pairs that say what a value is in a sibling: YAML `- name: DB_PASSWORD` / `value: ...`
/// (env lists, Dapr metadata), XML `<password>...</password>` and `key="ClearTextPassword"
/// value="..."` (Maven, NuGet).
static YAML_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r#"(?m)^[ \t]*(?:- )?(?:name|key|Name):[ \t]*["']?([A-Za-z0-9_.:\-]+)["']?[ \t]*\r?\n[ \t]*(?:- )?value:[ \t]*([^\r\n]*)"#,
    )
});
/// The same pairs written as JSON inside text (escaped or not): `"name":"SA_PASSWORD","value":"..."`,
/// `"adminPassword":{"value":"..."}` (an ARM parameters file), and a JWK's private members.
static JSON_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r#"\\?"(?:name|key)\\?"[ \t]*:[ \t]*\\?"([A-Za-z0-9_.:\-]+)\\?"[ \t]*,[ \t]*\\?"value\\?"[ \t]*:[ \t]*\\?"((?:[^"\\]|\\[^"])*)\\?""#,
    )
});
static JSON_OBJ_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    rx(r#"\\?"([A-Za-z0-9_.\-]+)\\?"[ \t]*:[ \t]*\{[^{}]*?\\?"value\\?"[ \t]*:[ \t]*\\?"((?:[^"\\]|\\[^"])*)\\?""#)
});
static JWK_MEMBER: LazyLock<Regex> =
    LazyLock::new(|| rx(r#"\\?"(?:d|p|q|dp|dq|qi|k)\\?"[ \t]*:[ \t]*\\?"([A-Za-z0-9_\-]{16,})\\?""#));
static XML_TAG: LazyLock<Regex> =
    LazyLock::new(|| rx(r"<([A-Za-z][A-Za-z0-9_.:\-]*)>([^<\r\n]+)</([A-Za-z][A-Za-z0-9_.:\-]*)>"));
static XML_ATTR: LazyLock<Regex> =
    LazyLock::new(|| rx(r#"(?:key|name)=\\?"([^"\\]+)\\?"[ \t]+value=\\?"([^"\\]*)\\?""#));

fn pairs(text: &[u8], out: &mut Vec<Span>) {
    let kind_of = |k: &[u8]| std::str::from_utf8(k).ok().and_then(keys::credential_kind);
    for c in YAML_PAIR.captures_iter(text) {
        let (Some(k), Some(v)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let Some(kind) = kind_of(k.as_bytes()) else { continue };
        let (mut s, mut e) = (v.start(), v.end());
        while e > s && matches!(text[e - 1], b' ' | b'\t') {
            e -= 1;
        }
        if e > s + 1 && matches!(text[s], b'"' | b'\'') && text[e - 1] == text[s] {
            s += 1;
            e -= 1;
        }
        if !is_placeholder(&text[s..e]) {
            out.push(Span { start: s, end: e, kind });
        }
    }
    keyed_spans(&JSON_PAIR, text, out);
    keyed_spans(&JSON_OBJ_VALUE, text, out);
    keyed_spans(&XML_ATTR, text, out);
    if memchr::memmem::find(text, b"kty").is_some() {
        group_spans(&JWK_MEMBER, text, "private-key", |_| true, out);
    }
    for c in XML_TAG.captures_iter(text) {
        let (Some(a), Some(v), Some(b)) = (c.get(1), c.get(2), c.get(3)) else {
            continue;
        };
        if a.as_bytes() != b.as_bytes() {
            continue;
        }
        if let Some(kind) = kind_of(a.as_bytes()) {
            if !is_placeholder(v.as_bytes()) {
                out.push(Span {
                    start: v.start(),
                    end: v.end(),
                    kind,
                });
            }
        }
    }
}

/// A `.netrc`: `machine HOST login USER password PASS`, on one line or several.
static NETRC: LazyLock<Regex> = LazyLock::new(|| rx(r"(?:^|\s)password[ \t]+(\S+)"));

fn netrc(text: &[u8], out: &mut Vec<Span>) {
    if memchr::memmem::find(text, b"machine ").is_none() || memchr::memmem::find(text, b"login ").is_none() {
        return;
    }
    group_spans(&NETRC, text, "password", |_| true, out);
}

/// A YAML value that is base64 (a Secret manifest's `data`, a ConfigMap's `binaryData`): decoded,
/// and redacted whole when what it decodes to holds a secret.
static B64_VALUE: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?m)^[ \t]*[A-Za-z0-9_.\-]+:[ \t]+([A-Za-z0-9+/]{16,}={0,2})[ \t]*\r?$"));

/// A long base64 string quoted in text (escaped JSON in a YAML scalar): checked the same way.
static B64_QUOTED: LazyLock<Regex> = LazyLock::new(|| rx(r#"\\?"([A-Za-z0-9+/]{64,}={0,2})\\?""#));

fn base64_values(text: &[u8], depth: usize, out: &mut Vec<Span>) {
    for re in [&*B64_QUOTED, &*B64_VALUE] {
        for c in re.captures_iter(text) {
            let Some(v) = c.get(1) else { continue };
            if let Some(kind) = base64_secret(v.as_bytes(), depth) {
                out.push(Span {
                    start: v.start(),
                    end: v.end(),
                    kind,
                });
            }
        }
    }
}

/// When `b` is base64 of text that holds a secret, the kind of the first one.
pub fn base64_secret(b: &[u8], depth: usize) -> Option<&'static str> {
    if b.len() < 16 || !b.len().is_multiple_of(4) || b.len() > (1 << 20) {
        return None;
    }
    let body = b.strip_suffix(b"==").or_else(|| b.strip_suffix(b"=")).unwrap_or(b);
    if !body
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
    {
        return None;
    }
    let d = catalog::base64_prefix(b);
    // A PKCS#12 (PFX) file: SEQUENCE, then version INTEGER 3; it holds a private key.
    if d.len() > 64 && d[0] == 0x30 && d[1] == 0x82 && d[4..7] == [0x02, 0x01, 0x03] {
        return Some("private-key");
    }
    if d.is_empty() || std::str::from_utf8(&d).is_err() {
        return None;
    }
    let inner = spans_at(&d, CATALOG.candidates(&d), depth + 1);
    inner.first().map(|s| s.kind)
}

/// Config files that separate a key from its value by spaces (fluent-bit `HTTP_Passwd x`, redis
/// `requirepass x`, fluentd `shared_key x`, haproxy `insecure-password x`): a line of a key
/// naming a credential and one value.
static CONFIG_LINE: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?m)^[ \t]*(?:user[ \t]+\S+[ \t]+)?([A-Za-z][A-Za-z0-9_.\-]*)[ \t]+([^\s=:]\S*)[ \t]*\r?$"));
/// `.pgpass`: `host:port:database:user:password`.
static PGPASS: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?m)^[A-Za-z0-9.*\-]+:(?:[0-9]+|\*):[^:\s]+:[^:\s]+:(\S+)[ \t]*\r?$"));

fn config_lines(text: &[u8], out: &mut Vec<Span>) {
    for c in CONFIG_LINE.captures_iter(text) {
        let (Some(k), Some(v)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let Ok(key) = std::str::from_utf8(k.as_bytes()) else {
            continue;
        };
        let Some(kind) = keys::credential_kind(key) else {
            continue;
        };
        let val = v.as_bytes();
        let val = val
            .strip_prefix(b"\"")
            .and_then(|x| x.strip_suffix(b"\""))
            .unwrap_or(val);
        if is_placeholder(val) || (keys::is_broad(kind) && !secretish(val)) {
            continue;
        }
        let quoted = v.as_bytes().len() != val.len();
        let (s, e) = if quoted {
            (v.start() + 1, v.end() - 1)
        } else {
            (v.start(), v.end())
        };
        out.push(Span { start: s, end: e, kind });
    }
    group_spans(&PGPASS, text, "password", |_| true, out);
}

/// Passwords that commands take in their own way: SQL `WITH PASSWORD '...'`/`IDENTIFIED BY '...'`,
/// mysql's `-pPASS`, `-p PASS`/`-P PASS` (docker login, sqlcmd, sshpass), sqlplus `user/pass@db`.
static SQL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"(?i)\b(?:with[ \t]+(?:encrypted[ \t]+)?password|identified[ \t]+by|password[ \t]*=)[ \t]*'([^'\r\n]+)'")
});
static SHORT_P: LazyLock<Regex> =
    LazyLock::new(|| rx(r#"(?:^|[\s"'\[,])-[pP]["']?(?:[ \t]+|[ \t]*\r?\n[ \t]*-[ \t]+)["']?([^\s"'\-][^\s"']*)"#));
static MYSQL_P: LazyLock<Regex> = LazyLock::new(|| rx(r#"(?:^|\s)-p([^\s"'\-][^\s"']{3,})"#));
static SQLPLUS: LazyLock<Regex> = LazyLock::new(|| rx(r#"\b[A-Za-z0-9_$#]+/([^\s/@"']+)@(?://)?[A-Za-z0-9]"#));

fn commands(text: &[u8], out: &mut Vec<Span>) {
    let has = |n: &[u8]| memchr::memmem::find(text, n).is_some();
    if has(b"PASSWORD") || has(b"password") || has(b"IDENTIFIED") || has(b"identified") {
        group_spans(&SQL_PASSWORD, text, "password", |_| true, out);
    }
    if has(b" -p") || has(b" -P") || has(b"\"-p") || has(b"\"-P") || has(b"- -p") || has(b"- -P") {
        // `-p 8080` is a port.
        let not_port = |v: &[u8]| !v.iter().all(u8::is_ascii_digit) && !is_placeholder(v);
        group_spans(&SHORT_P, text, "password", not_port, out);
        if has(b"mysql") || has(b"mariadb") {
            group_spans(&MYSQL_P, text, "password", |_| true, out);
        }
    }
    if has(b"sqlplus") || has(b"rman ") || has(b"expdp") || has(b"impdp") {
        group_spans(&SQLPLUS, text, "password", |_| true, out);
    }
}

/// A quoted key spelled with escapes (`"pass\x77ord": x`, `"\u0070assword": x`) in YAML or JSON
/// text: unescaped, then judged as any key.
static ESCAPED_KEY: LazyLock<Regex> =
    LazyLock::new(|| rx(r#""((?:[^"\\\r\n]|\\[^\r\n]){1,80})"[ \t]*:[ \t]*("?)([^"\r\n,}]*)"#));

fn escaped_keys(text: &[u8], out: &mut Vec<Span>) {
    for c in ESCAPED_KEY.captures_iter(text) {
        let (Some(k), Some(q), Some(v)) = (c.get(1), c.get(2), c.get(3)) else {
            continue;
        };
        if !k.as_bytes().contains(&b'\\') {
            continue;
        }
        let key = unescape(k.as_bytes());
        let Some(kind) = keys::credential_kind(&key) else {
            continue;
        };
        let (s, mut e) = (v.start(), v.end());
        if q.as_bytes().is_empty() {
            while e > s && text[e - 1].is_ascii_whitespace() {
                e -= 1;
            }
        }
        if !is_placeholder(&text[s..e]) {
            out.push(Span { start: s, end: e, kind });
        }
    }
}

/// `\xNN`, `\uNNNN` and one-letter escapes undone (what is not understood is kept).
fn unescape(b: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let hex = |n: usize| {
                std::str::from_utf8(b.get(i + 2..i + 2 + n)?)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
            };
            match b[i + 1] {
                b'x' => {
                    if let Some(c) = hex(2) {
                        out.push(c);
                        i += 4;
                        continue;
                    }
                }
                b'u' => {
                    if let Some(c) = hex(4) {
                        out.push(c);
                        i += 6;
                        continue;
                    }
                }
                c => {
                    out.push(c as char);
                    i += 2;
                    continue;
                }
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
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
            let after = &text[e..le_of(text, e)];
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
