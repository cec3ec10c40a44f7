//! Text shared by the reader and the rules: how an excerpt is cut, and how many log lines a
//! citation quotes (which is also how long a log's kept tail is).
//!
//! A leaf: `bundle::logscan` (while reading) and the rules (when citing) both import it; it knows
//! nothing of bundles, findings or rules. [`excerpt`] and [`excerpt_around`] are the one place an excerpt is cut.

/// Lines of a previous (or current) log quoted when citing a container; the reader keeps this
/// many non-blank lines of each log's tail (`bundle::logscan::TAIL`).
pub const CITED_LOG_LINES: usize = 5;

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
