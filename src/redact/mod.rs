//! Redaction: every byte `collect` stores and every member `arcdiag redact` rewrites passes
//! through [`Redactor::redact`]. Structure first, patterns second: JSON is read by structure
//! (`json`: a key naming a credential redacts its value at any depth, other strings are redacted
//! by content and, when they are themselves JSON, by structure again), logs line by line (a JSON
//! line by structure, the rest as text), YAML and other text by the key-value scan and the
//! catalog of token formats (`text`, `scans`, `keys`, `catalog`).
//!
//! A secret becomes `[redacted:<kind>:<n>]`: `n` numbers distinct values in order of first sight
//! across one `Redactor` (one bundle), and `kind` is the kind it was first seen as, so equal
//! secrets get equal tokens and the token says nothing of the value. Replacements never hold a quote or a backslash, so JSON stays valid.
//! A document too deep to read as JSON is redacted as text and said so (`Outcome::as_text`).
//!
//! Knows nothing of bundles, steps or the manifest: callers say what shape a member has.

mod catalog;
mod json;
mod keys;
mod scans;
#[cfg(test)]
mod tests;
mod text;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Replacement counts per kind (`password`, `jwt`, ...), in name order.
pub type Counts = BTreeMap<&'static str, u64>;

/// Strings nested deeper than this (JSON in a string in a string ...) are redacted as text.
const MAX_DEPTH: usize = 4;
/// A string longer than this is not parsed as JSON: it is redacted as text.
const MAX_PARSE: usize = 8 << 20;

/// How a member is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A JSON document (kubectl, az, helm `-o json`).
    Json,
    /// A log: JSON lines by structure, other lines as text.
    Log,
    /// YAML, an env file, anything else: as text.
    Text,
}

impl Shape {
    /// The shape a member's name says it has.
    pub fn of(path: &str) -> Shape {
        let p = path.to_ascii_lowercase();
        if p.ends_with(".json") {
            Shape::Json
        } else if p.ends_with(".log") || p.ends_with("logs.txt") {
            Shape::Log
        } else {
            Shape::Text
        }
    }
}

/// What redaction did to one member.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub bytes: Cow<'a, [u8]>,
    pub counts: Counts,
    /// The member did not read as its shape (invalid or too deep JSON) and was redacted as text.
    pub as_text: bool,
    /// How many values inside it were redacted as text (too deep or too large for structure).
    pub as_text_values: u64,
}

/// One bundle's redactor: its tokens are numbered across every member it redacts.
#[derive(Default)]
pub struct Redactor {
    /// Each value seen: its number and the kind it was first seen as.
    seen: Mutex<HashMap<Vec<u8>, (u32, &'static str)>>,
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Redact one member.
    pub fn redact<'a>(&self, data: &'a [u8], shape: Shape) -> Outcome<'a> {
        let mut run = Run {
            red: self,
            counts: Counts::new(),
            as_text_values: 0,
        };
        let mut as_text = false;
        let new = match shape {
            Shape::Json => match json::redact(data, &mut run, 0) {
                Ok(n) => n,
                Err(json::NotJson) => {
                    as_text = !data.trim_ascii().is_empty();
                    run.text(data)
                }
            },
            Shape::Log => run.log(data),
            Shape::Text => run.text(data),
        };
        Outcome {
            bytes: new.map_or(Cow::Borrowed(data), Cow::Owned),
            counts: run.counts,
            as_text: as_text || run.as_text_values > 0,
            as_text_values: run.as_text_values,
        }
    }

    /// The number of `value` and the kind its token names (the first kind it was seen as, so
    /// that one secret has one token however it was found).
    fn number(&self, value: &[u8], kind: &'static str) -> (u32, &'static str) {
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let n = seen.len() as u32 + 1;
        *seen.entry(value.to_vec()).or_insert((n, kind))
    }
}

/// One member's redaction: the tokens it hands out and what it counted.
pub(crate) struct Run<'r> {
    red: &'r Redactor,
    counts: Counts,
    /// Values inside the member that were redacted as text because they were too deep or too
    /// large to read by structure.
    as_text_values: u64,
}

impl Run<'_> {
    fn token(&mut self, kind: &'static str, value: &[u8]) -> String {
        let (n, kind) = self.red.number(value, kind);
        *self.counts.entry(kind).or_insert(0) += 1;
        format!("[redacted:{kind}:{n}]")
    }

    /// `t` with the given spans replaced by tokens.
    fn apply(&mut self, t: &[u8], spans: &[text::Span]) -> Vec<u8> {
        let mut out = Vec::with_capacity(t.len());
        let mut at = 0;
        for s in spans {
            out.extend_from_slice(&t[at..s.start]);
            out.extend_from_slice(self.token(s.kind, &t[s.start..s.end]).as_bytes());
            at = s.end;
        }
        out.extend_from_slice(&t[at..]);
        out
    }

    /// Text: the catalog and the key-value scan.
    fn text(&mut self, t: &[u8]) -> Option<Vec<u8>> {
        // JSON inside text whose escapes may hide a key (`{"pass\u0077ord": ...}` in a log
        // line): each such object is read by structure first.
        let pre = if memchr::memmem::find(t, b"\\u").is_some() {
            let quoted = self.quoted_strings(t);
            let base = quoted.as_deref().unwrap_or(t);
            self.embedded_json(base).or(quoted)
        } else {
            None
        };
        let t2: &[u8] = pre.as_deref().unwrap_or(t);
        let cands = catalog::CATALOG.candidates(t2);
        let spans = text::spans(t2, cands);
        if spans.is_empty() {
            return pre;
        }
        Some(self.apply(t2, &spans))
    }

    /// `t` with every double-quoted string that holds an escape (a YAML or JSON scalar such as
    /// `"{\"url\":\"...\\u0073ig=...\"}"`) decoded, redacted, and written back encoded.
    fn quoted_strings(&mut self, t: &[u8]) -> Option<Vec<u8>> {
        static QUOTED: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
            regex::bytes::Regex::new(r#""(?:[^"\\\r\n]|\\[^\r\n])*""#)
                .unwrap_or_else(|e| panic!("quoted-string pattern: {e}"))
        });
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        for m in QUOTED.find_iter(t) {
            if !m.as_bytes().contains(&b'\\') {
                continue;
            }
            let Ok(decoded) = serde_json::from_slice::<String>(m.as_bytes()) else {
                continue;
            };
            let Some(new) = self.string(&decoded, 1) else { continue };
            let Ok(enc) = serde_json::to_vec(&new) else { continue };
            let o = out.get_or_insert_with(|| Vec::with_capacity(t.len()));
            o.extend_from_slice(&t[copied..m.start()]);
            o.extend_from_slice(&enc);
            copied = m.end();
        }
        out.map(|mut o| {
            o.extend_from_slice(&t[copied..]);
            o
        })
    }

    /// `t` with every JSON object in it (`{"...`) redacted by structure, when any changed.
    fn embedded_json(&mut self, t: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let mut i = 0;
        while let Some(j) = memchr::memchr(b'{', &t[i..]) {
            let at = i + j;
            i = at + 1;
            let next = t[at + 1..].iter().find(|c| !c.is_ascii_whitespace());
            if next != Some(&b'"') {
                continue;
            }
            let mut it = serde_json::Deserializer::from_slice(&t[at..]).into_iter::<serde::de::IgnoredAny>();
            if !matches!(it.next(), Some(Ok(_))) {
                continue;
            }
            let end = at + it.byte_offset();
            if let Ok(Some(new)) = json::redact(&t[at..end], self, 1) {
                let o = out.get_or_insert_with(|| Vec::with_capacity(t.len()));
                o.extend_from_slice(&t[copied..at]);
                o.extend_from_slice(&new);
                copied = end;
            }
            i = end;
        }
        out.map(|mut o| {
            o.extend_from_slice(&t[copied..]);
            o
        })
    }

    /// A decoded JSON string: JSON again when it is a document, text otherwise.
    fn string(&mut self, s: &str, depth: usize) -> Option<String> {
        let b = s.as_bytes();
        let tr = s.trim();
        let doc = (tr.starts_with('{') && tr.ends_with('}')) || (tr.starts_with('[') && tr.ends_with(']'));
        let out = if doc && depth <= MAX_DEPTH && b.len() <= MAX_PARSE {
            match json::redact(b, self, depth) {
                Ok(n) => n,
                Err(json::NotJson) => self.text(b),
            }
        } else {
            // A JSON value too deep or too large to read as one: redacted as text, and counted.
            if doc {
                self.as_text_values += 1;
            }
            self.text(b)
        };
        // Redaction only replaces whole runs of ASCII-delimited bytes, but a lossy conversion
        // keeps a broken value from ever being handed back unredacted.
        out.map(|o| String::from_utf8(o).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// A log: each JSON line by structure, the text between them as text (a key block may span
    /// lines). Only segments in which an anchor occurs are looked at.
    fn log(&mut self, t: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let mut seg = 0; // start of the current text segment
        let mut i = 0;
        let flush_text = |run: &mut Run, a: usize, b: usize, out: &mut Option<Vec<u8>>, copied: &mut usize| {
            if a >= b {
                return;
            }
            // A segment without an anchor holds nothing the scans look for.
            if catalog::CATALOG.candidates(&t[a..b]) == 0 {
                return;
            }
            if let Some(new) = run.text(&t[a..b]) {
                let o = out.get_or_insert_with(|| Vec::with_capacity(t.len()));
                o.extend_from_slice(&t[*copied..a]);
                o.extend_from_slice(&new);
                *copied = b;
            }
        };
        while i < t.len() {
            let le = memchr::memchr(b'\n', &t[i..]).map_or(t.len(), |j| i + j);
            let line = t[i..le].trim_ascii();
            if line.len() >= 2 && line[0] == b'{' && line[line.len() - 1] == b'}' {
                flush_text(self, seg, i, &mut out, &mut copied);
                let line = &t[i..le];
                // An escape may hide an anchor (`\u0070assword`, `https:\/\/`).
                let escaped =
                    memchr::memmem::find(line, b"\\u").is_some() || memchr::memmem::find(line, b"\\/").is_some();
                if escaped || catalog::CATALOG.candidates(line) != 0 {
                    let new = match json::redact(&t[i..le], self, 0) {
                        Ok(n) => n,
                        Err(json::NotJson) => self.text(&t[i..le]),
                    };
                    if let Some(new) = new {
                        let o = out.get_or_insert_with(|| Vec::with_capacity(t.len()));
                        o.extend_from_slice(&t[copied..i]);
                        o.extend_from_slice(&new);
                        copied = le;
                    }
                }
                seg = le;
            }
            i = le + 1;
        }
        flush_text(self, seg, t.len(), &mut out, &mut copied);
        out.map(|mut o| {
            o.extend_from_slice(&t[copied..]);
            o
        })
    }
}
