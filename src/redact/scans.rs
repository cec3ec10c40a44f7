//! The scans for shapes other than `key: value` in text: command-line flags and their next
//! word, `{name, value}` pairs (YAML, escaped JSON, XML), `.netrc`, base64 values that decode to a
//! secret, config files with a space between key and value, `.pgpass`, passwords commands take
//! their own way (SQL, mysql, sqlplus, `-p`), and quoted keys spelled with escapes.
//!
//! Knows nothing of tokens or counts; what it finds are [`Span`]s, as `text` finds them.

use super::catalog::{self, CATALOG};
use super::keys;
use super::text::{is_placeholder, secretish, spans_at, Span};
use regex::bytes::Regex;
use std::sync::LazyLock;

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

pub(super) fn flags(text: &[u8], out: &mut Vec<Span>) {
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

pub(super) fn pairs(text: &[u8], out: &mut Vec<Span>) {
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

pub(super) fn netrc(text: &[u8], out: &mut Vec<Span>) {
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

pub(super) fn base64_values(text: &[u8], depth: usize, out: &mut Vec<Span>) {
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

pub(super) fn config_lines(text: &[u8], out: &mut Vec<Span>) {
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

pub(super) fn commands(text: &[u8], out: &mut Vec<Span>) {
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

pub(super) fn escaped_keys(text: &[u8], out: &mut Vec<Span>) {
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
