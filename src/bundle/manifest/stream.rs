//! A manifest read region by region as its bytes arrive, with the result [`super::parse`] gives
//! its whole text, so that a long one is never held whole. A bundle of 50,000 pods has a 33 MB
//! manifest (60,000 steps, the sha256 of each), and it is the last member: its text and its
//! parsed steps were held together at the very end of the read, the peak of the whole run
//! (BENCHMARKS.md, issue 22).
//!
//! How: the document's top-level keys are followed byte by byte (strings skipped). The items of a
//! top-level `steps` list are each parsed alone, from the region they lie in, as they complete (an
//! item cut by the end of a region waits for the next one); only the rest of the document is kept
//! as text, and it is parsed at the end (with the list left empty) for the other fields. What
//! could differ from one parse of the whole text never does:
//! - An item that cannot be read alone (not an object, invalid, longer than [`CARRY`]) ends this:
//!   from there on the text is kept whole, and the list goes on in the kept text from a stand-in
//!   `0` for the items read (their place in the list, so that the syntax and every error that
//!   follows are those of the whole text).
//! - serde_json's limit on depth never applies within a step, alone or in context: a step's
//!   values past its fields' first level are read past, which serde_json does without the limit
//!   (tested, 5,000 brackets deep).
//! - An error in the kept text is reported where it is in the whole text: the kept text resumes
//!   the whole text at an anchor after each run of items left out, and a position is carried back
//!   across it (tested against the whole parse, for every way of cutting the text into regions).
//! - A `steps` key read again supersedes the list before it, as in the whole parse: the list read
//!   item by item is the manifest's only when the last top-level `steps` key holds it.
//!
//! Knows nothing of the archive or of the bounds (the bounds' count of a text is passed in).

use super::{max_steps, read_text_after, Manifest, Step, Unread, BOM, EMPTY};
use memchr::{memchr2, memchr_iter, memrchr};
use serde::de::IgnoredAny;

/// Top-level `steps` lists read item by item, at most; later ones are kept whole (each list
/// read leaves an anchor and its brackets, so that a text of millions of `"steps":[{}],` would keep
/// more than itself).
const LISTS: usize = 64;

/// Bytes of one item that may wait for the next region; an item longer than this is read in the
/// kept text. Steps are a few hundred bytes (a tool's error text may make one a few KB).
const CARRY: usize = 1 << 20;

/// A position in the whole text (its byte order mark left out): the offset, the lines before it
/// and where its line starts, which is what serde_json reports an error's line and column from.
#[derive(Clone, Copy, Debug, Default)]
struct Pos {
    at: usize,
    lines: usize,
    line_start: usize,
}

impl Pos {
    /// The position after `bytes`, read from here.
    fn advance(&mut self, bytes: &[u8]) {
        if let Some(last) = memrchr(b'\n', bytes) {
            self.lines += memchr_iter(b'\n', bytes).count();
            self.line_start = self.at + last + 1;
        }
        self.at += bytes.len();
    }
}

/// Where the kept text goes on with the whole text after items were left out of it.
#[derive(Debug)]
struct Anchor {
    kept: usize,
    whole: Pos,
}

/// The `steps` list being read item by item.
#[derive(Debug)]
struct List {
    /// Whether an item comes next (after `[` or `,`) rather than `,` or `]`.
    want_item: bool,
}

/// What the top-level keys are, followed byte by byte in the kept text.
#[derive(Debug, Default)]
struct Keys {
    depth: usize,
    in_str: bool,
    escaped: bool,
    /// The document is an object (its first byte other than whitespace is `{`); `None` before it.
    object: Option<bool>,
    want_key: bool,
    /// The key being read, at most [`KEY_BYTES`] of it (`long` past that).
    key: Option<Vec<u8>>,
    long: bool,
    /// The last top-level key read is `steps`, and its value has not started.
    steps_key: bool,
    want_value: bool,
}

/// Bytes of a top-level key kept to tell `steps`: written with escapes it is 30 at most.
const KEY_BYTES: usize = 64;

impl Keys {
    fn take(&mut self, bytes: &[u8]) {
        if let Some(k) = &mut self.key {
            if k.len() + bytes.len() > KEY_BYTES {
                self.long = true;
                k.clear();
            } else if !self.long {
                k.extend_from_slice(bytes);
            }
        }
    }

    fn end_key(&mut self) {
        if let Some(k) = self.key.take() {
            self.steps_key = !self.long && is_steps(&k);
        }
    }
}

/// Whether a key's text (between its quotes) reads as `steps`.
fn is_steps(key: &[u8]) -> bool {
    if !key.contains(&b'\\') {
        return key == b"steps";
    }
    serde_json::from_slice::<String>(&[b"\"", key, b"\""].concat()).is_ok_and(|k| k == "steps")
}

/// A manifest read region by region: [`push`](Stream::push) each region in order, then
/// [`finish`](Stream::finish).
#[derive(Debug)]
pub struct Stream {
    /// The bounds' count of a JSON text (`read::bounds`), taken of every byte once.
    count: fn(&[u8]) -> u64,
    /// The document without the items read alone.
    kept: Vec<u8>,
    /// Bytes read but not yet taken: an item the region cut, or the document's first bytes.
    carry: Vec<u8>,
    started: bool,
    /// The items of the list read item by item (the last one), in order, up to the bound on steps
    /// (`manifest::max_steps`).
    steps: Vec<Step>,
    /// Its items read past the bound.
    past: usize,
    /// Whether the kept text holds a `0` in that list standing for `steps`.
    stand_in: bool,
    anchors: Vec<Anchor>,
    /// The count of what was left out of the kept text.
    counted: u64,
    /// Where the bytes taken so far end, in the whole text.
    whole: Pos,
    keys: Keys,
    list: Option<List>,
    /// From here on the text is kept whole.
    all_kept: bool,
    /// The last top-level `steps` key holds the list read item by item.
    listed: bool,
    /// Given up ([`Stream::give_up`]): the rest is only counted.
    over: bool,
}

enum Item {
    /// Its length, and the step (`None`: read past, beyond the bound on steps).
    Read(usize, Option<Step>),
    /// Cut by the end of the region.
    More,
    /// Not to be read alone.
    Alone,
}

enum Next {
    At(usize),
    Wait,
}

impl Stream {
    pub fn new(count: fn(&[u8]) -> u64) -> Stream {
        Stream {
            count,
            kept: Vec::new(),
            carry: Vec::new(),
            started: false,
            steps: Vec::new(),
            past: 0,
            stand_in: false,
            anchors: Vec::new(),
            counted: 0,
            whole: Pos::default(),
            keys: Keys::default(),
            list: None,
            all_kept: false,
            listed: false,
            over: false,
        }
    }

    /// The next bytes of the manifest.
    pub fn push(&mut self, region: &[u8]) {
        if self.over {
            self.count_only(region);
            return;
        }
        let joined;
        let data: &[u8] = if self.carry.is_empty() {
            region
        } else {
            let mut c = std::mem::take(&mut self.carry);
            c.extend_from_slice(region);
            joined = c;
            &joined
        };
        let mut at = 0;
        if !self.started {
            if data.len() < BOM.len() {
                self.carry = data.to_vec();
                return;
            }
            self.started = true;
            if data.starts_with(BOM) {
                at = BOM.len();
            }
        }
        let text = utf8_prefix(data);
        while at < data.len() {
            if self.list.is_some() && !self.all_kept {
                match self.in_list(data, at, text) {
                    Next::At(n) => at = n,
                    Next::Wait => {
                        self.carry = data[at..].to_vec();
                        return;
                    }
                }
            } else {
                at += self.keep(&data[at..]);
            }
        }
    }

    /// Bytes held in buffers that [`finish`](Stream::finish) lets go (the kept text and a cut
    /// item), to tell what the steps read keep.
    pub fn buffered(&self) -> usize {
        self.kept.capacity() + self.carry.capacity()
    }

    /// Stop reading the manifest (it is not to be kept): what was read is let go, and the rest
    /// of the text is only counted, so that [`finish`](Stream::finish) still gives its count.
    pub fn give_up(&mut self) {
        if self.over {
            return;
        }
        self.over = true;
        self.counted += (self.count)(&self.kept);
        self.kept = Vec::new();
        self.steps = Vec::new();
        self.anchors = Vec::new();
        let rest = std::mem::take(&mut self.carry);
        self.count_only(&rest);
    }

    /// Count `data`, the text that follows what was counted, without keeping it: the bounds'
    /// count (`,{[:` outside strings), byte by byte, from where the strings are.
    fn count_only(&mut self, data: &[u8]) {
        let (k, mut i) = (&mut self.keys, 0);
        while i < data.len() {
            if k.in_str {
                if k.escaped {
                    k.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr2(b'"', b'\\', &data[i..]) {
                    None => i = data.len(),
                    Some(n) => {
                        if data[i + n] == b'\\' {
                            k.escaped = true;
                        } else {
                            k.in_str = false;
                        }
                        i += n + 1;
                    }
                }
                continue;
            }
            match data[i] {
                b'"' => k.in_str = true,
                b',' | b'{' | b'[' | b':' => self.counted += 1,
                _ => {}
            }
            i += 1;
        }
    }

    /// The manifest, as [`super::parse`] reads the whole text, and the bounds' count of the text.
    /// After [`give_up`](Stream::give_up), only the count means anything.
    pub fn finish(mut self) -> (Result<Manifest, String>, u64) {
        if self.over {
            return (Err("not read: passed a bound".into()), 1 + self.counted);
        }
        if self.list.is_some() && !self.all_kept {
            self.keep_all();
        }
        self.all_kept = true;
        let rest = std::mem::take(&mut self.carry);
        let mut at = 0;
        if !self.started && rest.starts_with(BOM) {
            at = BOM.len();
        }
        while at < rest.len() {
            at += self.keep(&rest[at..]);
        }
        let count = 1 + self.counted + (self.count)(&self.kept);
        // The kept text's list goes on from its stand-in for the steps read alone.
        let before = (self.steps.len() + self.past).saturating_sub(1);
        let manifest = match read_text_after(&self.kept, if self.stand_in { before } else { 0 }) {
            Ok(mut m) => {
                if self.listed {
                    if let Some(kept) = m.steps.0.take() {
                        // The list: the items read alone, then those of the kept text after the
                        // stand-in (for all of them), its first max_steps().
                        let mut steps = std::mem::take(&mut self.steps);
                        let all = (steps.len() + self.past + kept.len() + m.steps.1)
                            .saturating_sub(usize::from(self.stand_in));
                        steps.extend(kept.into_iter().skip(usize::from(self.stand_in)));
                        steps.truncate(max_steps());
                        m.steps = super::Steps(Some(steps), all - max_steps().min(all));
                    }
                }
                Ok(m)
            }
            Err(Unread::Empty) => Err(EMPTY.to_string()),
            Err(Unread::Json(e)) => Err(format!("invalid JSON: {}", self.in_whole(&e))),
        };
        (manifest, count)
    }

    /// One step of the list at `data[at]`: whitespace, a separator, an item, or its end.
    fn in_list(&mut self, data: &[u8], at: usize, text: &str) -> Next {
        let want_item = self.list.as_ref().is_some_and(|l| l.want_item);
        match data[at] {
            b' ' | b'\t' | b'\n' | b'\r' => {
                let end = data[at..]
                    .iter()
                    .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                    .map_or(data.len(), |n| at + n);
                self.whole.advance(&data[at..end]);
                Next::At(end)
            }
            b'{' if want_item => match read_item(data, at, text, self.steps.len() < max_steps()) {
                Item::Read(len, step) => {
                    let item = &data[at..at + len];
                    self.counted += (self.count)(item);
                    self.whole.advance(item);
                    match step {
                        Some(step) => self.steps.push(step),
                        None => self.past += 1,
                    }
                    self.set_want_item(false);
                    Next::At(at + len)
                }
                Item::More if data.len() - at <= CARRY => Next::Wait,
                _ => {
                    self.keep_all();
                    Next::At(at)
                }
            },
            b',' if !want_item => {
                self.counted += 1;
                self.whole.advance(b",");
                self.set_want_item(true);
                Next::At(at + 1)
            }
            b']' if !want_item || self.steps.is_empty() => {
                // The list ends; the kept text takes its `]` on from here.
                self.list = None;
                self.anchor();
                Next::At(at)
            }
            _ => {
                self.keep_all();
                Next::At(at)
            }
        }
    }

    fn set_want_item(&mut self, want: bool) {
        if let Some(l) = &mut self.list {
            l.want_item = want;
        }
    }

    fn anchor(&mut self) {
        self.anchors.push(Anchor {
            kept: self.kept.len(),
            whole: self.whole,
        });
    }

    /// Keep the rest of the text whole, from inside the list: a stand-in for the items read
    /// (and the `,` after them, when one was read) puts the kept text where the whole text is.
    fn keep_all(&mut self) {
        self.all_kept = true;
        if let Some(list) = &self.list {
            if !self.steps.is_empty() {
                // A string ends by itself: what follows reads as it does after the item.
                self.kept.extend_from_slice(b"\"\"");
                self.stand_in = true;
                if list.want_item {
                    // Counted with the kept text now.
                    self.kept.push(b',');
                    self.counted = self.counted.saturating_sub(1);
                }
            }
        }
        self.anchor();
    }

    /// Keep the start of `data` as text, following the top-level keys: all of it, or up to the
    /// `[` that opens a `steps` list to read item by item. How many bytes were taken.
    fn keep(&mut self, data: &[u8]) -> usize {
        let mut i = 0;
        let end = loop {
            if i >= data.len() {
                break data.len();
            }
            let k = &mut self.keys;
            if k.in_str {
                if k.escaped {
                    k.escaped = false;
                    k.take(&data[i..i + 1]);
                    i += 1;
                    continue;
                }
                match memchr2(b'"', b'\\', &data[i..]) {
                    None => {
                        k.take(&data[i..]);
                        i = data.len();
                    }
                    Some(n) => {
                        k.take(&data[i..i + n]);
                        if data[i + n] == b'\\' {
                            k.escaped = true;
                            k.take(b"\\");
                        } else {
                            k.in_str = false;
                            k.end_key();
                        }
                        i += n + 1;
                    }
                }
                continue;
            }
            let b = data[i];
            i += 1;
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                continue;
            }
            if k.depth == 1 && k.want_value {
                // The value of a top-level key starts here.
                k.want_value = false;
                if std::mem::take(&mut k.steps_key) {
                    let read = b == b'[' && !self.all_kept && k.object == Some(true) && self.anchors.len() < LISTS;
                    self.listed = read;
                    if read {
                        k.depth = 2;
                        self.list = Some(List { want_item: true });
                        self.steps = Vec::new();
                        self.past = 0;
                        self.stand_in = false;
                        break i;
                    }
                }
            }
            let k = &mut self.keys;
            match b {
                b'"' => {
                    k.in_str = true;
                    if k.depth == 1 && k.want_key {
                        k.want_key = false;
                        k.key = Some(Vec::new());
                        k.long = false;
                        k.steps_key = false;
                    }
                }
                b'{' | b'[' => {
                    if k.depth == 0 && k.object.is_none() {
                        k.object = Some(b == b'{');
                        k.want_key = b == b'{';
                    }
                    k.depth += 1;
                }
                b'}' | b']' => k.depth = k.depth.saturating_sub(1),
                b',' if k.depth == 1 => k.want_key = true,
                b':' if k.depth == 1 => k.want_value = true,
                _ => {}
            }
        };
        self.kept.extend_from_slice(&data[..end]);
        self.whole.advance(&data[..end]);
        end
    }

    /// An error of the kept text, worded with its line and column in the whole text.
    fn in_whole(&self, e: &serde_json::Error) -> String {
        let said = e.to_string();
        let (line, column) = (e.line(), e.column());
        let Some(what) = said.strip_suffix(&format!(" at line {line} column {column}")) else {
            return said;
        };
        let line_start = match line {
            0 | 1 => 0,
            _ => memchr_iter(b'\n', &self.kept)
                .nth(line - 2)
                .map_or(self.kept.len(), |p| p + 1),
        };
        let at = (line_start + column).min(self.kept.len());
        let Some(a) = self.anchors.iter().rev().find(|a| a.kept <= at) else {
            return said;
        };
        let mut p = a.whole;
        p.advance(&self.kept[a.kept..at]);
        format!("{what} at line {} column {}", p.lines + 1, p.at - p.line_start)
    }
}

/// The longest start of `data` that is UTF-8.
fn utf8_prefix(data: &[u8]) -> &str {
    match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// The item that starts at `data[at]` (a `{`), read alone (as a step when `keep`, else read past
/// as the whole parse reads steps past the bound): from `text` (the UTF-8 start of `data`) when it
/// lies there, as `jsonde` reads UTF-8, else from the bytes.
fn read_item(data: &[u8], at: usize, text: &str, keep: bool) -> Item {
    let item = if at < text.len() {
        one(
            &text.as_bytes()[at..],
            serde_json::Deserializer::from_str(&text[at..]),
            keep,
        )
    } else {
        Item::More
    };
    match item {
        Item::More if text.len() < data.len() => {
            one(&data[at..], serde_json::Deserializer::from_slice(&data[at..]), keep)
        }
        i => i,
    }
}

fn one<'de, R: serde_json::de::Read<'de>>(input: &[u8], de: serde_json::Deserializer<R>, keep: bool) -> Item {
    let read = if keep {
        let mut items = de.into_iter::<Step>();
        items.next().map(|r| r.map(|s| (items.byte_offset(), Some(s))))
    } else {
        let mut items = de.into_iter::<IgnoredAny>();
        items.next().map(|r| r.map(|_| (items.byte_offset(), None)))
    };
    match read {
        Some(Ok((len, step))) => Item::Read(len, step),
        // A number cut by the end of the input (`1.`, `-`, `1e+`) is an error, not an end.
        Some(Err(e)) if e.is_eof() || at_end(input, &e) => Item::More,
        _ => Item::Alone,
    }
}

/// Whether serde_json's error `e` in `input` is at its end (its last byte or after).
fn at_end(input: &[u8], e: &serde_json::Error) -> bool {
    let line_start = match e.line() {
        0 => return false,
        1 => 0,
        n => memchr_iter(b'\n', input).nth(n - 2).map_or(input.len(), |p| p + 1),
    };
    line_start + e.column() + 1 >= input.len()
}

#[cfg(test)]
mod tests;
