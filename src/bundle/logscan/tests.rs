//! Tests of the log scanner: matches, context, tails, regions and their merge, JSON lines.

use super::*;
use crate::signatures::{parse_rules_file, SignatureSet};

fn matcher() -> SignatureSet {
    let text = r#"
signatures:
  - id: boom
    code: ZZZ001
    name: boom
    severity: error
    title: boom
    pattern: 'explo(?P<what>ded|sion)'
"#;
    SignatureSet::new(parse_rules_file("t", text, &[]).unwrap()).unwrap()
}

#[test]
fn finds_lines_with_numbers_and_context() {
    let set = matcher();
    let data = b"a\nb\nc exploded\nd\ne\nf\n";
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    assert_eq!(s.lines, 6);
    assert_eq!(s.hits.len(), 1);
    let h = &s.hits[0];
    assert_eq!(h.line, 3);
    assert_eq!(h.text, "c exploded");
    assert_eq!(h.before, vec!["a", "b"]);
    assert_eq!(h.after, vec!["d", "e"]);
    assert_eq!(h.sigs[0].1.get("what").map(String::as_str), Some("ded"));
    assert_eq!(s.tail.last(), Some("f"));
    // the last 5 lines that are not blank: b..f
    assert_eq!(
        s.tail.lines().collect::<Vec<_>>(),
        vec!["b", "c exploded", "d", "e", "f"]
    );
    assert_eq!(s.tail_first_line, 2);
}

#[test]
fn the_tail_is_the_last_lines_that_are_not_blank() {
    let set = matcher();
    let long = "x".repeat(1000);
    let data = format!("a\nb\n{long}\n  \n\nc\nd\ne\n\n");
    let s = scan_buffer(data.as_bytes(), 1, &set.log, &Keep::default());
    assert_eq!(s.lines, 9);
    let lines: Vec<&str> = s.tail.lines().collect();
    // b, the long line (cut to what a citation shows), c, d, e; blank lines kept empty
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[0], "b");
    assert_eq!(lines[1].chars().count(), TAIL_CHARS + 1);
    assert_eq!(&lines[2..], ["", "", "c", "d", "e", ""]);
    assert_eq!(s.tail_first_line, 2);
    // only blank lines: no tail
    let s = scan_buffer(b"\n  \n\n", 1, &set.log, &Keep::default());
    assert!(s.tail.is_empty() && s.tail_first_line == 0);
}

#[test]
fn json_escapes_do_not_hide_a_match() {
    let set = matcher();
    let data = br#"{"Message":"it explo\u0064ed","AgentName":"X"}"#;
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    assert_eq!(s.hits.len(), 1);
    assert!(s.hits[0].decoded.as_deref().unwrap_or("").contains("exploded"));
}

#[test]
fn escapes_inside_a_literal_do_not_hide_a_match() {
    let text = r#"
signatures:
  - id: limits
    code: ZZZ001
    name: limits
    severity: error
    title: limits
    pattern: 'container <(?P<c>[^>]*)> has no limits'
"#;
    let set = SignatureSet::new(parse_rules_file("t", text, &[]).unwrap()).unwrap();
    assert!(set.log.escape_safe);
    // Go's encoding/json writes `<` as \u003c; the literal `container <` is not in the raw line.
    let data = b"{\"msg\":\"container \\u003cmanager\\u003e has no limits\"}\n{\"msg\":\"container \\u003cx\\u003e is fine\"}\n";
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    assert_eq!(s.hits.len(), 1, "{s:?}");
    assert_eq!(s.hits[0].line, 1);
    assert_eq!(s.hits[0].sigs[0].1.get("c").map(String::as_str), Some("manager"));
    // An escaped plain letter inside the literal itself (no encoder does this, but JSON allows it).
    let set = matcher();
    let data = b"ok\n{\"m\":\"it \\u0065xploded\"}\n";
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    assert_eq!(s.hits.len(), 1, "{s:?}");
    assert_eq!(s.hits[0].line, 2);
}

#[test]
fn a_literal_without_a_plain_run_falls_back_to_unescaping_every_line() {
    let text = r#"
signatures:
  - id: arrows
    code: ZZZ001
    name: arrows
    severity: error
    title: arrows
    pattern: '<<"x">>'
"#;
    let set = SignatureSet::new(parse_rules_file("t", text, &[]).unwrap()).unwrap();
    assert!(!set.log.escape_safe);
    let data = b"a\n{\"m\":\"\\u003c\\u003c\\\"x\\\"\\u003e\\u003e\"}\n";
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    assert_eq!(s.hits.len(), 1, "{s:?}");
    assert_eq!(s.hits[0].line, 2);
}

#[test]
fn signatures_without_literals_are_found_by_the_residual_regex() {
    let text = r#"
signatures:
  - id: boom
    code: ZZZ001
    name: boom
    severity: error
    title: boom
    pattern: 'explo(?P<what>ded|sion)'
  - id: digits
    code: ZZZ002
    name: digits
    severity: error
    title: digits
    pattern: '[0-9]{2} [a-z]+'
"#;
    let set = SignatureSet::new(parse_rules_file("t", text, &[]).unwrap()).unwrap();
    assert!(set.log.residual.is_some() && set.log.prefilter.is_some() && !set.log.escape_safe);
    let data = b"calm\n12 trees fell\nit exploded\n{\"m\":\"34 \\u0074rees fell\"}\n";
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    let found: Vec<(u64, usize)> = s.hits.iter().map(|h| (h.line, h.sigs[0].0)).collect();
    assert_eq!(found, vec![(2, 1), (3, 0), (4, 1)], "{s:?}");
}

#[test]
fn klog_quoted_values_are_unescaped() {
    let text = r#"
signatures:
  - id: said
    code: ZZZ002
    name: said
    severity: error
    title: said
    pattern: 'webhook "(?P<who>[^"]+)"'
"#;
    let set = SignatureSet::new(parse_rules_file("t", text, &[]).unwrap()).unwrap();
    let data = b"I1 ok\nE1125 1 c.go:1] \"Reconciler error\" err=\"failed calling webhook \\\"a.b\\\": no endpoints\"\nI1 x \\\"unrelated\\\"\n";
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    assert_eq!(s.hits.len(), 1, "{s:?}");
    assert_eq!(s.hits[0].line, 2);
    assert_eq!(s.hits[0].sigs[0].1.get("who").map(String::as_str), Some("a.b"));
}

#[test]
fn regions_merge_to_the_whole_scan() {
    let set = matcher();
    let mut data = Vec::new();
    for i in 1..=200 {
        if i % 37 == 0 {
            data.extend_from_slice(format!("line {i} exploded\n").as_bytes());
        } else if i % 53 == 0 {
            data.extend_from_slice(format!("{{\"msg\":\"line {i} \\\"explosion\\\"\"}}\n").as_bytes());
        } else {
            data.extend_from_slice(format!("line {i}\n").as_bytes());
        }
    }
    data.extend_from_slice(b"last, no newline");
    let whole = scan_buffer(&data, 1, &set.log, &Keep::default());
    assert_eq!(whole.hits.len(), 8);
    // Cut after lines 36, 37 and 147: line 37 (a match) is a region of its own, and line 148
    // (a match) starts one, so their context comes from the neighbouring regions.
    let cuts: Vec<usize> = [36usize, 37, 147]
        .iter()
        .map(|n| memchr_iter(b'\n', &data).nth(n - 1).unwrap() + 1)
        .collect();
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(data.len());
    let parts = bounds
        .windows(2)
        .map(|w| scan_region(&data, w[0], w[1], &set.log, &Keep::default()))
        .collect();
    assert_eq!(merge(parts), whole);
    // Few lines in the last region: the tail reaches back into the ones before.
    let cut = memchr_iter(b'\n', &data).nth(194).unwrap() + 1;
    let parts = vec![
        scan_region(&data, 0, cut, &set.log, &Keep::default()),
        scan_region(&data, cut, data.len(), &set.log, &Keep::default()),
    ];
    assert_eq!(merge(parts), whole);
}

#[test]
fn a_noisy_signature_does_not_hide_another() {
    let text = r#"
signatures:
  - id: noisy
    code: ZZZ001
    name: n
    severity: info
    title: n
    pattern: 'tick'
  - id: rare
    code: ZZZ002
    name: r
    severity: error
    title: r
    pattern: 'boom'
"#;
    let set = SignatureSet::new(parse_rules_file("t", text, &[]).unwrap()).unwrap();
    let mut data = "tick\n".repeat(MAX_HITS + 100);
    data.push_str("boom\n");
    let whole = scan_buffer(data.as_bytes(), 1, &set.log, &Keep::default());
    assert_eq!(whole.hits.len(), MAX_HITS + 1);
    assert_eq!(whole.hits_dropped, 100);
    assert_eq!(whole.hits.last().map(|h| h.line), Some(MAX_HITS as u64 + 101));
    let cut = 300 * 5;
    let parts = vec![
        scan_region(data.as_bytes(), 0, cut, &set.log, &Keep::default()),
        scan_region(data.as_bytes(), cut, data.len(), &set.log, &Keep::default()),
    ];
    assert_eq!(merge(parts), whole);
}

#[test]
fn a_raw_match_does_not_hide_a_decoded_one() {
    let text = r#"
signatures:
  - id: quoted
    code: ZZZ001
    name: a
    severity: error
    title: a
    pattern: 'failed calling webhook "(?P<w>[^"]+)"'
  - id: plain
    code: ZZZ002
    name: b
    severity: error
    title: b
    pattern: 'certificate has expired'
"#;
    let set = SignatureSet::new(parse_rules_file("t", text, &[]).unwrap()).unwrap();
    let data = br#"{"error":"failed calling webhook \"w.example.io\": x509: certificate has expired"}"#;
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    assert_eq!(s.hits.len(), 1);
    let sigs: Vec<usize> = s.hits[0].sigs.iter().map(|(i, _)| *i).collect();
    assert_eq!(sigs, vec![0, 1]);
    assert_eq!(s.hits[0].sigs[0].1.get("w").map(String::as_str), Some("w.example.io"));
    let m = set.match_text(
        r#"failed calling webhook \"w.example.io\": certificate has expired"#,
        crate::signatures::Place::Events,
    );
    assert_eq!(m.iter().map(|m| m.sig).collect::<Vec<_>>(), vec![0, 1]);
}

#[test]
fn crlf_and_invalid_utf8() {
    let set = matcher();
    let data = b"ok\r\n\xff\xfe explosion\r\nend\r\n";
    let s = scan_buffer(data, 1, &set.log, &Keep::default());
    assert_eq!(s.hits.len(), 1);
    assert_eq!(s.hits[0].line, 2);
    assert!(!s.hits[0].text.ends_with('\r'));
}

#[test]
fn cluster_info_logs_are_split() {
    let set = matcher();
    let data = b"==== START logs for container a of pod ns/p ====\nx\nexploded\n==== END logs for container a of pod ns/p ====\n==== START logs for container b of pod ns/p ====\ny\n==== END logs for container b of pod ns/p ====\n";
    let s = scan_log("ns/p/logs.txt", data, &set.log, &Keep::default());
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].segment.as_ref().map(|x| x.2.as_str()), Some("a"));
    assert_eq!(s[0].hits[0].line, 3);
    assert_eq!(s[1].hits.len(), 0);
    assert_eq!(s[1].lines, 1);
}

#[test]
fn a_long_line_keeps_the_window_around_its_match() {
    let set = matcher();
    let line = format!("{{\"msg\":\"{}it exploded here{}\"}}", "a".repeat(900), "z".repeat(900));
    let s = scan_buffer(format!("{line}\n").as_bytes(), 1, &set.log, &Keep::default());
    assert_eq!(s.hits.len(), 1);
    let t = &s.hits[0].text;
    assert!(t.contains("it exploded here"), "{t}");
    assert!(t.starts_with('…') && t.ends_with('…'), "{t}");
    assert!(t.chars().count() <= LINE_CHARS + 2, "{}", t.chars().count());
    // A short line is kept whole.
    let s = scan_buffer(b"it exploded\n", 1, &set.log, &Keep::default());
    assert_eq!(s.hits[0].text, "it exploded");
}

/// A `logs.txt` cut into regions as `feed` cuts a long one (at line starts, each buffer holding
/// the `CONTEXT` lines before its region and the start of the next one), its pieces scanned and
/// assembled by a [`Segmenter`].
fn scan_in_regions(path: &str, data: &[u8], starts: &[usize], m: &LogMatcher) -> Vec<LogScan> {
    scan_in_regions_within(path, data, starts, m, &Keep::default())
}

fn scan_in_regions_within(path: &str, data: &[u8], starts: &[usize], m: &LogMatcher, keep: &Keep) -> Vec<LogScan> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(memchr_iter(b'\n', data).map(|p| p + 1))
        .collect();
    let back = |at: usize, n: usize| {
        let i = line_starts.partition_point(|&s| s < at);
        line_starts[i.saturating_sub(n)]
    };
    let ahead = |at: usize| {
        let i = line_starts.partition_point(|&s| s <= at);
        // CONTEXT whole lines, then part of the next one.
        line_starts
            .get(i + CONTEXT - 1)
            .map_or(data.len(), |&s| (s + 3).min(data.len()))
    };
    let mut bounds = vec![0];
    bounds.extend(starts.iter().copied().filter(|&s| s > 0 && s < data.len()));
    bounds.push(data.len());
    bounds.dedup();
    let mut seg = Segmenter::new(path);
    let mut pieces = Vec::new();
    for w in bounds.windows(2) {
        let (lo, hi) = (
            back(w[0], CONTEXT),
            if w[1] == data.len() { data.len() } else { ahead(w[1]) },
        );
        let buf = &data[lo..hi];
        let cuts = seg.cut(buf, lo as u64, w[0] - lo, w[1] - lo, keep);
        pieces.extend(scan_cuts(buf, &cuts, m, keep));
    }
    seg.assemble(pieces, m)
}

/// A tiny deterministic generator (no rand crate needed for a test).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_cluster_info_log_read_in_regions_is_split_as_when_read_whole() {
    let set = matcher();
    // Hand-picked: a segment cut short by another START, one by a different END, an empty one,
    // one left open at the end, lines before and between segments.
    let fixed = b"before exploded\n==== START logs for container a of pod ns/p ====\na1\na2 exploded\n==== END logs for container a of pod ns/p ====\nbetween exploded\n==== START logs for container b of pod ns/p ====\nb1 exploded\n==== START logs for container c of pod ns/p ====\nc1\nc2 explosion\n==== END logs for container x of pod ns/p ====\n==== START logs for container d of pod ns/p ====\n==== END logs for container d of pod ns/p ====\n==== START logs for container e of pod ns/p ====\ne1\ne2 exploded\ne3\n";
    let whole = scan_log("ns/p/logs.txt", fixed, &set.log, &Keep::default());
    assert_eq!(
        whole
            .iter()
            .map(|s| s.segment.as_ref().map(|x| x.2.as_str()))
            .collect::<Vec<_>>(),
        vec![Some("a"), Some("d"), Some("e")]
    );
    let starts: Vec<usize> = memchr_iter(b'\n', fixed).map(|p| p + 1).collect();
    for &cut in &starts {
        assert_eq!(
            scan_in_regions("ns/p/logs.txt", fixed, &[cut], &set.log),
            whole,
            "cut at {cut}"
        );
    }
    for pair in starts.windows(2) {
        assert_eq!(
            scan_in_regions("ns/p/logs.txt", fixed, pair, &set.log),
            whole,
            "cuts {pair:?}"
        );
    }
    assert_eq!(
        scan_in_regions("ns/p/logs.txt", fixed, &starts, &set.log),
        whole,
        "every line a region"
    );
    // Random logs: markers of a few containers (some mismatched), marker text inside lines,
    // matches, blank lines; cut at random line starts.
    let mut rng = Lcg(7);
    for round in 0..300 {
        let mut data = Vec::new();
        let lines = 1 + rng.next(60);
        for i in 0..lines {
            let c = ["a", "b", "c"][rng.next(3) as usize];
            let line = match rng.next(12) {
                0 => format!("==== START logs for container {c} of pod ns/p ===="),
                1 => format!("==== END logs for container {c} of pod ns/p ===="),
                2 => format!("line {i} exploded"),
                3 => String::new(),
                4 => "x ==== START logs for container a of pod ns/p ====".to_string(),
                5 => "==== not a marker".to_string(),
                _ => format!("line {i}"),
            };
            data.extend_from_slice(line.as_bytes());
            if i + 1 < lines || rng.next(2) == 0 {
                data.push(b'\n');
            }
        }
        let line_starts: Vec<usize> = memchr_iter(b'\n', &data).map(|p| p + 1).collect();
        let mut cuts: Vec<usize> = line_starts.iter().copied().filter(|_| rng.next(4) == 0).collect();
        cuts.sort_unstable();
        for path in ["ns/p/logs.txt", "ns/p/c.log"] {
            let whole = scan_log(path, &data, &set.log, &Keep::default());
            let got = scan_in_regions(path, &data, &cuts, &set.log);
            assert_eq!(
                got,
                whole,
                "round {round} {path}: {:?} cut at {cuts:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }
}

#[test]
fn past_twice_the_bound_on_kept_log_text_a_scan_on_the_pool_keeps_only_its_counts() {
    // (The bound in archive order is `read::kept`'s, tested there.)
    let set = matcher();
    let log = "it exploded\n".repeat(10);
    let one = scan_buffer(log.as_bytes(), 1, &set.log, &Keep::default()).kept_bytes();
    assert!(one > 10 * HIT_COST, "{one}");
    let keep = Keep::new(one);
    let got: Vec<bool> = (0..3)
        .map(|_| scan_buffer(log.as_bytes(), 1, &set.log, &keep).unkept)
        .collect();
    assert_eq!(got, vec![false, false, true]);
    // And past the bundle's bound in all, shared with its other members.
    let total = std::sync::Arc::new(crate::bundle::budget::Total::new(one + one / 2));
    let keep = Keep::sharing(10 * one, total.clone());
    let got: Vec<bool> = (0..3)
        .map(|_| scan_buffer(log.as_bytes(), 1, &set.log, &keep).unkept)
        .collect();
    assert_eq!(got, vec![false, true, true]);
    assert_eq!(total.charged(), one);
}

#[test]
fn past_the_bound_on_segments_markers_are_lines() {
    let set = matcher();
    let data = b"==== START logs for container a of pod ns/p ====\na1 exploded\n==== END logs for container a of pod ns/p ====\n==== START logs for container b of pod ns/p ====\nb1 exploded\n==== END logs for container b of pod ns/p ====\n";
    let spent = |left: u64| {
        let k = Keep::default();
        for _ in 0..MAX_SEGMENTS - left {
            k.has_room();
        }
        k
    };
    // One segment left: `a` is followed; `b`'s START is not, and with no segment open then
    // the rest of the file is outside any (ignored); `a` says its file was not split to the end.
    let got = scan_log("ns/p/logs.txt", data, &set.log, &spent(1));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].segment.as_ref().map(|s| s.2.as_str()), Some("a"));
    assert!(got[0].unsplit && !got[0].unkept);
    // None left: the file is one log, as if it had no markers.
    let got = scan_log("ns/p/logs.txt", data, &set.log, &spent(0));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].segment, None);
    assert_eq!(got[0].hits.len(), 2);
    assert!(got[0].unsplit);
    // Read in regions, the same.
    let starts: Vec<usize> = memchr_iter(b'\n', data).map(|p| p + 1).collect();
    for left in [0, 1] {
        assert_eq!(
            scan_in_regions_within("ns/p/logs.txt", data, &starts, &set.log, &spent(left)),
            scan_log("ns/p/logs.txt", data, &set.log, &spent(left)),
            "{left} left"
        );
    }
}
