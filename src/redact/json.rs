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
        name_kind: Option<&'static str>,
    },
    Arr,
}

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
                stack.push(if c == b'{' {
                    Frame::Obj {
                        expect_key: true,
                        key: (0, 0),
                        key_kind: None,
                        name_kind: None,
                    }
                } else {
                    Frame::Arr
                });
                i += 1;
            }
            b'}' | b']' => {
                match (stack.pop(), c) {
                    (Some(Frame::Obj { .. }), b'}') | (Some(Frame::Arr), b']') => {}
                    _ => return Err(NotJson),
                }
                i += 1;
            }
            b'"' => {
                let (e, esc) = string_end(doc, i).ok_or(NotJson)?;
                let s = i;
                i = e + 1;
                let found = within(s, e);
                let Some(Frame::Obj {
                    expect_key,
                    key,
                    key_kind,
                    name_kind,
                }) = stack.last_mut()
                else {
                    // A string in an array or at the top: its content alone decides.
                    if found != 0 {
                        replace_content(doc, s, e, esc, run, depth, &mut out, &mut copied)?;
                    }
                    continue;
                };
                if *expect_key {
                    *expect_key = false;
                    *key = (s + 1, e);
                    *key_kind = None;
                    if found & (1 << KV) != 0 {
                        if let Some(k) = decode(doc, s, e, esc) {
                            *key_kind = keys::credential_kind(&k);
                        }
                    }
                    continue;
                }
                let kb = &doc[key.0..key.1];
                let by_key = key_kind.or(if kb == b"value" { *name_kind } else { None });
                if kb == b"name" && found & (1 << KV) != 0 {
                    *name_kind = decode(doc, s, e, esc).and_then(|v| keys::credential_kind(&v));
                }
                if let Some(kind) = by_key {
                    let Some(v) = decode(doc, s, e, esc) else {
                        return Err(NotJson);
                    };
                    if !super::text::is_placeholder(v.as_bytes()) {
                        let t = run.token(kind, v.as_bytes());
                        splice(doc, s, e, &t, &mut out, &mut copied);
                    }
                } else if found != 0 {
                    replace_content(doc, s, e, esc, run, depth, &mut out, &mut copied)?;
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
) -> Result<(), NotJson> {
    let Some(v) = decode(doc, s, e, esc) else {
        return Err(NotJson);
    };
    if let Some(new) = run.string(&v, depth + 1) {
        splice(doc, s, e, &new, out, copied);
    }
    Ok(())
}

/// Replace the string whose quotes are at `s` and `e` by `new`, JSON-encoded.
fn splice(doc: &[u8], s: usize, e: usize, new: &str, out: &mut Option<Vec<u8>>, copied: &mut usize) {
    let o = out.get_or_insert_with(|| Vec::with_capacity(doc.len()));
    o.extend_from_slice(&doc[*copied..s]);
    // A String always serializes.
    o.extend_from_slice(&serde_json::to_vec(new).unwrap_or_else(|_| b"\"\"".to_vec()));
    *copied = e + 1;
}
