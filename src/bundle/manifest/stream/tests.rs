use super::*;
use crate::bundle::manifest::{parse, set_max_steps};

/// The bound on steps in these tests, reached with a few.
const MAX_STEPS: usize = 5;
use crate::bundle::read::{estimate_values, Class};

fn count(d: &[u8]) -> u64 {
    estimate_values(d, Class::Manifest) - 1
}

/// What a reading gives, comparably: the manifest (its `Debug`) or the error.
fn said(r: &Result<Manifest, String>) -> String {
    match r {
        Ok(m) => format!("{m:?}"),
        Err(e) => format!("error: {e}"),
    }
}

/// The manifest read by a `Stream` from `doc` cut at `cuts` (offsets, ascending).
fn streamed(doc: &[u8], cuts: &[usize]) -> (Result<Manifest, String>, u64, usize) {
    set_max_steps(MAX_STEPS);
    let mut s = Stream::new(count);
    let mut from = 0;
    for &c in cuts.iter().chain(std::iter::once(&doc.len())) {
        s.push(&doc[from..c]);
        from = c;
    }
    let kept = s.kept.len() + s.carry.len();
    let (m, n) = s.finish();
    (m, n, kept)
}

/// `doc` streamed in regions of every size in `sizes`, and cut at every single offset, reads as
/// the whole text does, with the same count.
fn alike(doc: &[u8]) {
    set_max_steps(MAX_STEPS);
    let want = said(&parse(doc));
    let want_count = estimate_values(doc, Class::Manifest);
    let mut ways: Vec<Vec<usize>> = [1, 2, 3, 5, 7, 13, 64, 1000]
        .iter()
        .map(|&n| (n..doc.len()).step_by(n).collect())
        .collect();
    ways.extend((0..=doc.len()).map(|c| vec![c]));
    ways.push(Vec::new());
    for cuts in ways {
        let (got, n, _) = streamed(doc, &cuts);
        assert_eq!(said(&got), want, "{} cut at {cuts:?}", String::from_utf8_lossy(doc));
        assert_eq!(n, want_count, "{} cut at {cuts:?}", String::from_utf8_lossy(doc));
    }
}

const STEPS: &str = r#"{
  "cluster": {"name": "c1", "type": "connectedClusters", "steps": [{"id": "not these"}]},
  "collected_at": "2026-11-25T17:00:00Z",
  "complete": true,
  "format": "arcdiag-bundle/v1",
  "steps": [
    {
      "argv": ["kubectl", "get", "pods", "-o", "json"],
      "bytes": 953300,
      "id": "kubectl/cluster/pods",
      "output": "kubectl/cluster/pods.json",
      "sha256": "46a1e0e64500126ebdbb97fdca625cea0005b8e7dbd1374928ae5dd07d76231e",
      "status": "ok",
      "stderr": "a \"quoted [{\" caf\u00e9 \\ back",
      "truncated": false
    },
    {"id": "café ☕", "status": "failed", "stderr": "Error from server (Forbidden): pods is forbidden\n", "sha256": "XYZ"},
    {"id": "kubectl/version", "output": "kubectl/version.json", "status": "ok", "nested": {"a": [1, {"b": [2.5e3, -1, null, true]}]}}
  ]
}
"#;

#[test]
fn a_manifest_reads_as_its_whole_text_however_it_is_cut() {
    alike(STEPS.as_bytes());
    alike(format!("\u{feff}{STEPS}").as_bytes());
    let compact: String = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(STEPS).unwrap()).unwrap();
    alike(compact.as_bytes());
}

#[test]
fn odd_documents_read_as_their_whole_text() {
    let docs: &[&[u8]] = &[
        b"",
        b"  \n ",
        b"\xEF\xBB\xBF",
        b"\xEF\xBB\xBF\xEF\xBB\xBF{}",
        b"{}",
        b"[]",
        b"7",
        br#"{"steps": []}"#,
        br#"{"steps": [ ]}"#,
        br#"{"steps": [{}]}"#,
        br#"{"steps": [{"id": "a"}], "format": "arcdiag-bundle/v1"}"#,
        // A later `steps` supersedes the list before it, whatever it holds.
        br#"{"steps": [{"id": "a"}], "steps": [{"id": "b"}, {"id": "c"}]}"#,
        br#"{"steps": [{"id": "a"}], "steps": "none"}"#,
        br#"{"steps": "none", "steps": [{"id": "a"}]}"#,
        br#"{"steps": [{"id": "a"}], "st\u0065ps": [{"id": "b"}]}"#,
        br#"{"st\u0065ps": [{"id": "a"}]}"#,
        br#"{"steps": [{"id": "a"}, 7, {"id": "b"}], "steps": [{"id": "c"}]}"#,
        br#"{"steps": [{"id": "a"}, 7, {"id": "b"}]}"#,
        br#"{"steps": [7, {"id": "b"}]}"#,
        br#"{"steps": [{"id": "a"}, "x", [1], null]}"#,
        // More than MAX_STEPS (5 in tests), the list left for the kept text before, at and
        // after the bound.
        br#"{"steps": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4"}, {"id": "5"}, {"id": "6"}, {"id": "7"}]}"#,
        br#"{"steps": [{"id": "1"}, {"id": "2"}, 3, {"id": "4"}, {"id": "5"}, {"id": "6"}, {"id": "7"}]}"#,
        br#"{"steps": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4"}, {"id": "5"}, 6, {"id": "7"}]}"#,
        br#"{"steps": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4"}, {"id": "5"}, {"id": "6"}, 7, {"id": "8"}]}"#,
        br#"{"steps": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4"}, {"id": "5"}, {"id": "6"}, {"id": "7"}], "steps": [{"id": "x"}]}"#,
        // Past the bound, steps are read past: what a step cannot hold is no error there, before
        // and after the kept text takes the list on (here at the third).
        br#"{"steps": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4"}, {"id": "5"}, {"id": "\ud800"}, {"n": 1e999}]}"#,
        br#"{"steps": [{"id": "1"}, {"id": "2"}, 3, {"id": "4"}, {"id": "5"}, {"id": "\ud800"}, {"n": 1e999}]}"#,
        br#"{"steps": [{"id": "1"}, {"id": "\ud800"}]}"#,
        b"{\"steps\": [{}, {}, {}, {}, {}, {\"id\": \"\xff\"}, 7, {\"id\": \"\xff\"}]}",
        // What follows a step that is neither `,` nor `]`.
        br#"{"steps": [{}.5]}"#,
        br#"{"steps": [{}e5]}"#,
        br#"{"steps": [{}E5]}"#,
        br#"{"steps": [{}5]}"#,
        br#"{"steps": [{}.]}"#,
        br#"{"steps": [{} "x"]}"#,
        br#"{"steps": [{}{}]}"#,
        br#"{"steps": [{}, .5]}"#,
        br#"{"steps": [{}
  -1]}"#,
        // Numbers that a region may cut.
        br#"{"steps": [{"n": -1.5e+10, "m": 2.0E-3, "k": -0}, {"n": 10}]}"#,
        br#"{"x": {"steps": [{"id": "a"}]}, "y": [{"steps": [{"id": "b"}]}]}"#,
        br#"[{"steps": [{"id": "a"}]}]"#,
        br#"{"steps": {"id": "a"}}"#,
        br#"{"a": "steps", "steps": [{"id": "a"}]}"#,
        br#"{"a": ["steps", {"steps": 1}], "steps": [{"id": "a"}]}"#,
        br#"{"a\"steps": [{"id": "a"}], "steps": [{"id": "b"}]}"#,
        // Invalid: the error is the whole text's, at its place.
        br#"{"steps": [{"id": "a"},]}"#,
        br#"{"steps": [{"id": "a"} {"id": "b"}]}"#,
        br#"{"steps": [{"id": "a"},
  {"id": tru}, {"id": "b"}]}"#,
        br#"{"steps": [{"id": "a"},
  {"id": "b"}]
  , "x": }"#,
        br#"{"format": x, "steps": [{"id": "a"}]}"#,
        br#"{"steps": [{"id": "a"}
]} trailing"#,
        br#"{"steps": [{"id": "a"}
]} {"steps": [{"id": "b"}]}"#,
        br#"{"steps": [{"id": "a"}, {"id": "b"}"#,
        br#"{"steps": [{"id": "a"},"#,
        br#"{"steps": [{"id": "a"}"#,
        br#"{"steps": [,{"id": "a"}]}"#,
        br#"{"steps": [{"id": "a"}]]}"#,
        br#"{"steps": [{"id": "a"}], "steps"}"#,
        br#"{"steps" [{"id": "a"}]}"#,
        br#"{"steps": [{"id": "a", "n": 1.}]}"#,
        br#"{"steps": [{"id": "a\ud800"}]}"#,
        // Not UTF-8: in a string read, in a string skipped, outside strings.
        b"{\"steps\": [{\"id\": \"a\xff\"}, {\"id\": \"b\"}]}",
        b"{\"steps\": [{\"argv\": [\"a\xff\"]}, {\"id\": \"b\"}]}",
        b"{\"steps\": [{\"id\": \"b\"}], \"x\": \"\xc3\"}",
        b"{\"steps\": [{\"id\": \"b\"}]}\xff",
        b"{\"steps\": [{\"id\": \"caf\xc3\xa9\"}, {\"id\": \"\xe2\x98\x95\"}]}",
    ];
    for d in docs {
        alike(d);
    }
}

#[test]
fn deep_items_read_as_in_the_whole_text() {
    // serde_json's limit on depth (128) applies to neither: what is past a field's first level is
    // read past.
    for depth in [127, 130, 300] {
        let deep = format!(
            "{{\"steps\": [{{\"id\": \"a\"}}, {{\"id\": \"b\", \"x\": {}{}}}, {{\"id\": \"c\"}}]}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        alike(deep.as_bytes());
    }
    set_max_steps(MAX_STEPS);
    let deep = format!(
        "{{\"steps\": [{{\"id\": {}{}}}, {{\"id\": \"c\"}}]}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_eq!(
        said(&parse(deep.as_bytes())),
        said(&streamed(deep.as_bytes(), &[4000]).0)
    );
    assert!(said(&parse(deep.as_bytes())).contains("\"c\""));
}

#[test]
fn a_long_manifest_keeps_about_nothing_of_its_steps_text() {
    let steps: Vec<String> = (0..2000)
        .map(|i| {
            format!(
                "    {{\n      \"argv\": [\"kubectl\", \"get\", \"pods\"],\n      \"id\": \"kubectl/ns-{i}/pods\",\n      \"output\": \"kubectl/ns-{i}/pods.json\",\n      \"sha256\": \"{:064x}\",\n      \"status\": \"ok\",\n      \"stderr\": \"\"\n    }}",
                i
            )
        })
        .collect();
    let doc = format!(
        "{{\n  \"format\": \"arcdiag-bundle/v1\",\n  \"steps\": [\n{}\n  ]\n}}\n",
        steps.join(",\n")
    );
    let cuts: Vec<usize> = (4096..doc.len()).step_by(4096).collect();
    let (got, n, kept) = streamed(doc.as_bytes(), &cuts);
    assert_eq!(said(&got), said(&parse(doc.as_bytes())));
    assert_eq!(n, estimate_values(doc.as_bytes(), Class::Manifest));
    // The first 5 are read, the other 1,995 counted.
    let steps = got.unwrap().steps;
    assert_eq!((steps.0.map(|s| s.len()), steps.1), (Some(MAX_STEPS), 2000 - MAX_STEPS));
    assert!(
        doc.len() > 500_000 && kept < 5_000,
        "{} bytes, {kept} kept or carried",
        doc.len()
    );
    // Cut the same text at a step that is not an object, and an error after it: read as the
    // whole text from there, the error where the whole text has it.
    let odd = doc
        .replacen("    {\n      \"argv\"", "    7,\n    {\n      \"argv\"", 1000)
        .replace("\n  ]\n}", "\n  ],\n}");
    let (got, ..) = streamed(odd.as_bytes(), &cuts);
    assert_eq!(said(&got), said(&parse(odd.as_bytes())));
    assert!(said(&got).contains("trailing comma at line"), "{}", said(&got));
}

#[test]
fn given_up_a_stream_still_counts_the_whole_text() {
    let docs: [&[u8]; 4] = [
        STEPS.as_bytes(),
        br#"{"steps": [{"id": "a,{"}, 7, {"id": "b\":["}], "x": [1, 2, {"y": ":"}]}"#,
        br#"{"steps": [{"id": "a"}, {"id": "b"}"#,
        b"\xEF\xBB\xBF{\"a\": \"x\\\",\", \"steps\": [{}, {}]}",
    ];
    for doc in docs {
        let want = estimate_values(doc, Class::Manifest);
        for size in [1, 2, 5, 16, 100] {
            let regions: Vec<&[u8]> = doc.chunks(size).collect();
            for stop in 0..=regions.len() {
                let mut s = Stream::new(count);
                for (i, r) in regions.iter().enumerate() {
                    if i == stop {
                        s.give_up();
                        assert!(s.kept.is_empty() && s.steps.is_empty());
                    }
                    s.push(r);
                }
                let (m, n) = s.finish();
                assert_eq!(
                    n,
                    want,
                    "{} in regions of {size}, given up at {stop}",
                    String::from_utf8_lossy(doc)
                );
                if stop < regions.len() {
                    assert!(m.is_err());
                } else {
                    assert_eq!(said(&m), said(&parse(doc)));
                }
            }
        }
    }
}

#[test]
fn a_number_cut_by_a_region_waits_for_the_next_one() {
    // serde_json calls `1.`, `-` and `1e+` at the end of its input invalid, not cut short: the
    // step must wait for its next region rather than make the rest be kept whole.
    let doc = br#"{"steps": [{"n": -1.5e+10}, {"id": "b"}]}"#;
    for cut in ["-", "-1.", "-1.5e", "-1.5e+", "-1.5e+1"] {
        let at = doc.windows(cut.len()).position(|w| w == cut.as_bytes()).unwrap() + cut.len();
        let mut s = Stream::new(count);
        s.push(&doc[..at]);
        s.push(&doc[at..]);
        assert!(!s.all_kept, "cut after {cut}");
        assert_eq!(said(&s.finish().0), said(&parse(doc)));
    }
}
