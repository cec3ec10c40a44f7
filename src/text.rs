//! Text shared by the reader and the rules: how an excerpt is cut, and how many log lines a
//! citation quotes (which is also how long a log's kept tail is).
//!
//! A leaf: `bundle::logscan` (while reading) and the rules (when citing) both import it; it knows
//! nothing of bundles, findings or rules. [`excerpt`] and [`excerpt_around`] are the one place an excerpt is cut.

/// Lines of a previous (or current) log quoted when citing a container; the reader keeps this
/// many non-blank lines of each log's tail (`bundle::logscan::TAIL`).
pub const CITED_LOG_LINES: usize = 5;

/// Text from a bundle made safe for a terminal, a log or a ticket: every control character but
/// newline and tab (C0, DEL, C1, escape sequences such as colour, conceal, clear-screen or an OSC
/// title) and every bidirectional override is written out as an escape (`\x1b`, `\u{7}`). Colour
/// comes only from arcdiag, added after this (see `report::text`). The one function every
/// non-JSON output uses.
pub fn escape_controls(s: &str) -> String {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c == '\x1b' {
            out.push_str("\\x1b");
        } else if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A name from a bundle for one line of output: escaped ([`escape_controls`], newlines too) and,
/// past `max_chars` characters, cut in the middle with the count of what was left out.
pub fn short_name(s: &str, max_chars: usize) -> String {
    let s = escape_controls(s).replace('\n', "\\n").replace('\t', "\\t");
    let n = s.chars().count();
    if n <= max_chars {
        return s;
    }
    let keep = max_chars / 2;
    let head: String = s.chars().take(keep).collect();
    let tail: String = s.chars().skip(n - keep).collect();
    format!("{head}…[{} characters]…{tail}", n - 2 * keep)
}

/// Longest member name printed whole on a terminal or in a text or Markdown report.
pub const NAME_CHARS: usize = 200;

/// Shorten a line of text for an excerpt, on a character boundary.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut s = String::new();
    push_excerpt(&mut s, text, max_chars);
    s
}

/// An excerpt of `max_chars` characters of `text` that shows its bytes `start..end` (a signature's
/// match): a window around the match, `…` on each side that was cut (as [`excerpt`] adds one). A match past the
/// first `max_chars` characters is what the excerpt is for, so it is never cut away.
pub fn excerpt_around(text: &str, start: usize, end: usize, max_chars: usize) -> String {
    let t = text.trim_end_matches(['\r', '\n']);
    if t.len() <= max_chars || t.chars().count() <= max_chars {
        return t.to_string();
    }
    // Character indices of the match (byte offsets clamped onto char boundaries).
    let floor = |i: usize| (0..=i.min(t.len())).rev().find(|&b| t.is_char_boundary(b)).unwrap_or(0);
    let (start, end) = (floor(start), floor(end));
    let end = end.max(start);
    let cs = t[..start].chars().count();
    let ce = cs + t[start..end].chars().count();
    let total = t.chars().count();
    let len = ce - cs;
    // `max_chars` characters of the text, as [`excerpt`] keeps; the `…` markers come on top.
    let room = max_chars.max(1);
    let from = if len >= room {
        cs
    } else {
        cs.saturating_sub((room - len) / 2).min(total.saturating_sub(room))
    };
    let to = (from + room).min(total);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(t.chars().skip(from).take(to - from));
    if to < total {
        out.push('…');
    }
    out
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

#[cfg(test)]
mod excerpt_tests {
    use super::*;

    #[test]
    fn control_bytes_from_a_bundle_are_written_out() {
        let evil = "ok\x1b[2J\x1b]0;pwned\x07\r\x1b[8mhidden\u{9b}31m\u{202e}\tend\n";
        assert_eq!(
            escape_controls(evil),
            "ok\\x1b[2J\\x1b]0;pwned\\u{7}\\r\\x1b[8mhidden\\u{9b}31m\\u{202e}\tend\n"
        );
        let long = format!("a/{}/pods.json", "x".repeat(10_000));
        let s = short_name(&long, NAME_CHARS);
        assert!(
            s.chars().count() < 230 && s.contains("[9812 characters]") && s.ends_with("pods.json"),
            "{s}"
        );
        assert_eq!(short_name("a\nb", 10), "a\\nb");
    }

    #[test]
    fn a_match_past_the_cut_is_shown_with_ellipses() {
        let text = format!(
            "{{\"level\":\"error\",\"msg\":\"{}webhook does not support dry run{}\"}}",
            "x".repeat(400),
            "y".repeat(400)
        );
        let at = text.find("does not support dry run").expect("in text");
        let e = excerpt_around(&text, at, at + 24, 300);
        assert!(e.contains("does not support dry run"), "{e}");
        assert!(e.starts_with('…') && e.ends_with('…'), "{e}");
        assert_eq!(e.chars().count(), 302);
    }

    #[test]
    fn short_text_whole_and_edges_cut_on_one_side() {
        assert_eq!(excerpt_around("short line\n", 0, 5, 300), "short line");
        let text = format!("x509: certificate has expired {}", "z".repeat(500));
        let e = excerpt_around(&text, 0, 29, 100);
        assert!(
            e.starts_with("x509: certificate has expired") && e.ends_with('…'),
            "{e}"
        );
        let text = format!("{} x509: certificate has expired", "é".repeat(500));
        let at = text.find("x509").expect("in text");
        let e = excerpt_around(&text, at, text.len(), 100);
        assert!(e.starts_with('…') && e.ends_with("has expired"), "{e}");
        assert_eq!(e.chars().count(), 101);
    }

    #[test]
    fn a_match_longer_than_the_window_starts_at_the_match() {
        let text = format!("{}{}", "a".repeat(50), "M".repeat(500));
        let e = excerpt_around(&text, 50, 550, 100);
        assert!(e.starts_with("…M") && e.ends_with('…'), "{e}");
    }
}
