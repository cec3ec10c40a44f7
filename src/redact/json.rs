//! Secrets in JSON documents, found by structure: one pass over the bytes tracks each string's
//! key, so a key naming a credential (at any depth) redacts its string value, an environment
//! entry `{"name": "DB_PASSWORD", "value": "..."}` redacts its value, and any other string in
//! which the catalog's anchors occur is decoded and redacted as text (recursively when it is
//! itself JSON). Only changed strings are rewritten; every other byte is copied as it was, so
//! the output is valid JSON exactly when the input was.
//!
//! Knows nothing of tokens or counts beyond asking `Run` for them.

use super::catalog::{CATALOG, KV};
use super::{keys, Run};

/// Nesting deeper than this is not followed: the document is redacted as text instead.
pub const MAX_NEST: usize = 512;

/// Why a document was not read as JSON.
#[derive(Debug)]
pub struct NotJson;

enum Frame {
    Obj {
        expect_key: bool,
        key: (usize, usize),
        key_kind: Option<&'static str>,
        /// What a `value` member is, said by a sibling: `name`/`key` naming a credential, a Key
        /// Vault secret's `id`, or the credential key this object is the value of
        /// (`"adminPassword": {"value": ...}`).
        name_kind: Option<&'static str>,
    },
    Arr {
        /// Every string in it is a credential (`"X-Vault-Token": ["hvs..."]`).
        all: Option<&'static str>,
        /// The next string is the value of a flag naming a credential (`"--db-password", "x"`).
        next: Option<&'static str>,
        /// Inside a private key written as an array of its lines, until its END line.
        key_lines: bool,
    },
}

/// JWK members that hold private key material.
const JWK_PRIVATE: &[&[u8]] = &[b"d", b"p", b"q", b"dp", b"dq", b"qi", b"k"];

/// The end (index of the closing quote) of the string whose opening quote is at `s`, and
/// whether it holds an escape.
fn string_end(doc: &[u8], s: usize) -> Option<(usize, bool)> {
    let mut i = s + 1;
    let mut esc = false;
    loop {
        let j = i + memchr::memchr2(b'"', b'\\', doc.get(i..)?)?;
        if doc[j] == b'"' {
            return Some((j, esc));
        }
        esc = true;
        i = j + 2;
    }
}

fn decode(doc: &[u8], s: usize, e: usize, esc: bool) -> Option<String> {
    if esc {
        serde_json::from_slice::<String>(&doc[s..=e]).ok()
    } else {
        std::str::from_utf8(&doc[s + 1..e]).ok().map(str::to_string)
    }
}

/// The document with its secrets replaced (`None`: nothing to replace), or `NotJson`.
pub fn redact(doc: &[u8], run: &mut Run, depth: usize) -> Result<Option<Vec<u8>>, NotJson> {
    let mut hits = Vec::new();
    CATALOG.hits(doc, &mut hits);
    hits.sort_unstable_by_key(|h| h.0);
    let mut h = 0usize;
    // The anchors that start inside `(s, e)`.
    let mut within = |s: usize, e: usize| -> u64 {
        while h < hits.len() && hits[h].0 <= s {
            h += 1;
        }
        hits[h..].iter().take_while(|x| x.0 < e).fold(0, |a, x| a | x.1)
    };
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0usize;
    let mut stack: Vec<Frame> = Vec::new();
    // A JSON Web Key set: its private members are redacted wherever they sit.
    let jwk = memchr::memmem::find(doc, b"\"kty\"").is_some();
    let mut i = 0usize;
    while i < doc.len() {
        let c = doc[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b':' => i += 1,
            b',' => {
                if let Some(Frame::Obj {
                    expect_key, key_kind, ..
                }) = stack.last_mut()
                {
                    *expect_key = true;
                    *key_kind = None;
                }
                i += 1;
            }
            b'{' | b'[' => {
                if stack.len() >= MAX_NEST {
                    return Err(NotJson);
                }
                // The credential key this container is the value of, if any.
                let parent = match stack.last_mut() {
                    Some(Frame::Obj { key_kind, .. }) => key_kind.take(),
                    Some(Frame::Arr { all, .. }) => *all,
                    None => None,
                };
                stack.push(if c == b'{' {
                    Frame::Obj {
                        expect_key: true,
                        key: (0, 0),
                        key_kind: None,
                        name_kind: parent,
                    }
                } else {
                    Frame::Arr {
                        all: parent,
                        next: None,
                        key_lines: false,
                    }
                });
                i += 1;
            }
            b'}' | b']' => {
                match (stack.pop(), c) {
                    (Some(Frame::Obj { .. }), b'}') | (Some(Frame::Arr { .. }), b']') => {}
                    _ => return Err(NotJson),
                }
                i += 1;
            }
            b'"' => {
                let (e, esc) = string_end(doc, i).ok_or(NotJson)?;
                let s = i;
                i = e + 1;
                let mut found = within(s, e);
                // An escape may hide an anchor (`\u0070assword`, `https:\/\/`, `\u0073ig=`):
                // a string with one is judged by what it decodes to.
                if esc && found == 0 {
                    if let Some(d) = decode(doc, s, e, esc) {
                        found = CATALOG.candidates(d.as_bytes());
                        // JSON in the string, escaped once more: look inside it too.
                        let t = d.trim_start();
                        if found == 0
                            && (t.starts_with('{') || t.starts_with('['))
                            && (d.contains("\\u") || d.contains("\\/"))
                        {
                            found = 1 << KV;
                        }
                    }
                }
                let by_key = match stack.last_mut() {
                    Some(Frame::Obj {
                        expect_key,
                        key,
                        key_kind,
                        name_kind,
                    }) => {
                        if *expect_key {
                            *expect_key = false;
                            *key = (s + 1, e);
                            *key_kind = None;
                            if found & (1 << KV) != 0 {
                                if let Some(k) = decode(doc, s, e, esc) {
                                    *key_kind = keys::credential_kind(&k);
                                }
                            }
                            if jwk && key_kind.is_none() && JWK_PRIVATE.contains(&&doc[s + 1..e]) {
                                *key_kind = Some("private-key");
                            }
                            continue;
                        }
                        let kb = &doc[key.0..key.1];
                        let by_key = key_kind.or(if kb == b"value" { *name_kind } else { None });
                        if matches!(kb, b"name" | b"key" | b"Name") && found & (1 << KV) != 0 {
                            *name_kind = decode(doc, s, e, esc).and_then(|v| keys::credential_kind(&v));
                        }
                        if kb == b"id" && memchr::memmem::find(&doc[s..e], b".vault.azure.net/secrets/").is_some() {
                            *name_kind = Some("secret");
                        }
                        by_key
                    }
                    Some(Frame::Arr { all, next, key_lines }) => {
                        let v = &doc[s + 1..e];
                        if v.starts_with(b"-----BEGIN") && memchr::memmem::find(v, b"PRIVATE KEY").is_some() {
                            *key_lines = true;
                        }
                        if *key_lines {
                            if v.starts_with(b"-----END") {
                                *key_lines = false;
                            } else if !v.starts_with(b"-----BEGIN") {
                                let t = run.token("private-key", v);
                                splice(doc, s, e, &t, &mut out, &mut copied);
                                continue;
                            }
                        }
                        // A flag's value is the next element, unless that is another flag.
                        let flag_value = next
                            .take()
                            .filter(|_| !v.starts_with(b"-") && !v.iter().all(u8::is_ascii_digit));
                        let by = all.or(flag_value);
                        let raw = &doc[s + 1..e];
                        if by.is_none() && matches!(raw, b"-u" | b"--user" | b"-p" | b"-P") {
                            *next = Some("password");
                        } else if by.is_none() && found & (1 << KV) != 0 && raw.starts_with(b"-") {
                            // A flag without `=`: the next element is its value.
                            if let Some(f) = decode(doc, s, e, esc) {
                                let bare = f.trim_start_matches('-');
                                if !bare.contains('=') {
                                    *next = keys::credential_kind(bare);
                                }
                            }
                        }
                        by
                    }
                    None => None,
                };
                if let Some(kind) = by_key {
                    let Some(v) = decode(doc, s, e, esc) else {
                        return Err(NotJson);
                    };
                    if !super::text::is_placeholder(v.as_bytes()) {
                        let t = run.token(kind, v.as_bytes());
                        splice(doc, s, e, &t, &mut out, &mut copied);
                    }
                } else {
                    let replaced = found != 0 && replace_content(doc, s, e, esc, run, depth, &mut out, &mut copied)?;
                    // Base64 of a secret (a `binaryData` env file, a Secret manifest's `data`).
                    if !replaced && !esc && e - s > 17 && depth < 3 {
                        if let Some(kind) = super::scans::base64_secret(&doc[s + 1..e], depth) {
                            let t = run.token(kind, &doc[s + 1..e]);
                            splice(doc, s, e, &t, &mut out, &mut copied);
                        }
                    }
                }
            }
            _ => {
                // A number, true, false or null.
                let n = doc[i..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                    .unwrap_or(doc.len() - i);
                if !doc[i].is_ascii_digit() && !matches!(doc[i], b'-' | b't' | b'f' | b'n') {
                    return Err(NotJson);
                }
                if let Some(Frame::Arr { next, .. }) = stack.last_mut() {
                    *next = None;
                }
                i += n.max(1);
            }
        }
    }
    if !stack.is_empty() {
        return Err(NotJson);
    }
    Ok(out.map(|mut o| {
        o.extend_from_slice(&doc[copied..]);
        o
    }))
}

#[allow(clippy::too_many_arguments)]
fn replace_content(
    doc: &[u8],
    s: usize,
    e: usize,
    esc: bool,
    run: &mut Run,
    depth: usize,
    out: &mut Option<Vec<u8>>,
    copied: &mut usize,
) -> Result<bool, NotJson> {
    let Some(v) = decode(doc, s, e, esc) else {
        return Err(NotJson);
    };
    match run.string(&v, depth + 1) {
        Some(new) => {
            splice(doc, s, e, &new, out, copied);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Replace the string whose quotes are at `s` and `e` by `new`, JSON-encoded.
fn splice(doc: &[u8], s: usize, e: usize, new: &str, out: &mut Option<Vec<u8>>, copied: &mut usize) {
    let o = out.get_or_insert_with(|| Vec::with_capacity(doc.len()));
    o.extend_from_slice(&doc[*copied..s]);
    // A String always serializes.
    o.extend_from_slice(&serde_json::to_vec(new).unwrap_or_else(|_| b"\"\"".to_vec()));
    *copied = e + 1;
}
