//! Text shared by the reader and the rules: how an excerpt is cut, and how many log lines a
//! citation quotes (which is also how long a log's kept tail is).
//!
//! A leaf: `bundle::logscan` (while reading) and the rules (when citing) both import it; it knows
//! nothing of bundles, findings or rules. [`excerpt`] is the one place an excerpt is cut.

/// Lines of a previous (or current) log quoted when citing a container; the reader keeps this
/// many non-blank lines of each log's tail (`bundle::logscan::TAIL`).
pub const CITED_LOG_LINES: usize = 5;

/// Shorten a line of text for an excerpt, on a character boundary.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut s = String::new();
    push_excerpt(&mut s, text, max_chars);
    s
}

/// [`excerpt`], appended to `out`.
pub fn push_excerpt(out: &mut String, text: &str, max_chars: usize) {
    let t = text.trim_end_matches(['\r', '\n']);
    // No more bytes than characters allowed: nothing to count (most log lines).
    if t.len() <= max_chars || t.chars().count() <= max_chars {
        out.push_str(t);
        return;
    }
    out.extend(t.chars().take(max_chars));
    out.push('…');
}
