//! What the processed members of one bundle keep, bounded: kept log text and container segments
//! (`logscan::Keep`), typed objects' bytes (`typed::Held`) and parsed values, each under its own
//! bound and all under the bundle's (`budget`). On the pool, each charges as it finishes
//! ([`Kept`]); once every member is read, [`trim`] applies the same bounds strictly in archive
//! order and names what was not kept. Knows nothing of layouts or of what members mean.

use super::{Class, Content, Member};
use crate::bundle::budget::{Total, MAX_KEPT};
use crate::bundle::logscan::{Keep, LogScan, KEPT_LOG_TEXT, MAX_SEGMENTS};
use crate::bundle::typed::{self, MAX_TYPED_BYTES};
use crate::bundle::BundleError;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Bytes a parsed value keeps at least for each value [`super::estimate_values`] counts (a
/// value in a list is 32 bytes, more in a map), so that a member whose estimate alone cannot fit
/// is refused before it is parsed: one that would then be dropped could not be kept anyway.
const VALUE_BYTES_AT_LEAST: u64 = 32;

/// Lists cut by a bound that are named one by one; the rest are counted in one more error.
const MAX_NAMED: usize = 20;

/// The bounds of one bundle's reading on what its processed members keep.
pub(super) struct Kept {
    pub(super) logs: Keep,
    pub(super) typed: typed::Held,
    pub(super) total: Arc<Total>,
    bounds: Bounds,
    /// The bytes each member of parsed values or error text keeps, as measured (member index,
    /// bytes).
    values: Mutex<Vec<(usize, u64)>>,
    /// The bytes the region scans of each long log kept until they were put together.
    parts: Mutex<Vec<(usize, u64)>>,
}

impl Kept {
    /// The bounds for `analyze` (`typed`: pods, events and nodes read typed): all of them. `serve`
    /// reads every object as values, bounded by their count (`bounds::MAX_VALUES`); the bound in
    /// all, sized for `analyze`'s typed objects, does not apply to it.
    pub(super) fn new(typed: bool) -> Kept {
        let bounds = Bounds {
            all: if typed { MAX_KEPT } else { u64::MAX },
            ..BOUNDS
        };
        let total = Arc::new(Total::new(bounds.all));
        Kept {
            logs: Keep::sharing(bounds.logs, total.clone()),
            typed: typed::Held::sharing(bounds.typed, total.clone()),
            total,
            bounds,
            values: Mutex::new(Vec::new()),
            parts: Mutex::new(Vec::new()),
        }
    }
}

/// Why a member's parsed values are not kept (the same words whichever check refused it).
pub(super) fn values_not_kept() -> String {
    format!(
        "the bundle's members passed the bound of {} MiB kept in all (memory: log text, pods, events and nodes, parsed values); this member's values were not kept",
        MAX_KEPT >> 20
    )
}

/// `content`, a member's parsed values (or error text), replaced by the error that says they were
/// not kept.
pub(super) fn not_kept(content: Content) -> Content {
    let why = values_not_kept();
    match content {
        Content::Yaml(_) => Content::Yaml(Err(why)),
        Content::Manifest(_) => Content::Manifest(Err(why)),
        Content::Text(_) => Content::Text(why),
        _ => Content::Json(Err(why)),
    }
}

fn push(v: &Mutex<Vec<(usize, u64)>>, idx: usize, bytes: u64) {
    match v.lock() {
        Ok(mut g) => g.push((idx, bytes)),
        Err(p) => p.into_inner().push((idx, bytes)),
    }
}

fn take(v: &Mutex<Vec<(usize, u64)>>) -> HashMap<usize, u64> {
    match v.lock() {
        Ok(mut g) => std::mem::take(&mut *g).into_iter().collect(),
        Err(p) => std::mem::take(&mut *p.into_inner()).into_iter().collect(),
    }
}

impl Kept {
    /// Whether a member of `estimate` values (`estimate_values`) may be parsed: `false` when even
    /// the least it would keep does not fit now.
    pub(super) fn values_may_fit(&self, estimate: u64) -> bool {
        self.total.has_room(estimate.saturating_mul(VALUE_BYTES_AT_LEAST))
    }

    /// Whether parsed values keeping `bytes` fit now (a manifest read in regions checks its steps
    /// as it parses them: the bundle keeps more as it is read, so steps that do not fit now will
    /// not at the end).
    pub(super) fn values_fit(&self, bytes: u64) -> bool {
        self.total.has_room(bytes)
    }

    /// Charge member `idx`'s parsed values (or error text) their measured `bytes`; `false` when
    /// they do not fit (the caller drops them).
    pub(super) fn values(&self, idx: usize, bytes: u64) -> bool {
        if !self.total.charge(bytes) {
            return false;
        }
        push(&self.values, idx, bytes);
        true
    }

    /// Record what the region scans of long log `idx` kept until they were put together: held
    /// at once with everything else, it is charged in all as the log's cost when it is more than
    /// the log keeps once put together.
    pub(super) fn log_parts(&self, idx: usize, bytes: u64) {
        push(&self.parts, idx, bytes);
    }
}

/// Whether a member's class is one whose processing is measured and charged as values: parsed
/// JSON and YAML, and error texts.
pub(super) fn is_measured(class: Class) -> bool {
    matches!(class, Class::Json | Class::Yaml | Class::Manifest | Class::Text)
}

/// The bounds the strict pass applies ([`trim`]; smaller in tests).
#[derive(Clone, Copy)]
pub(super) struct Bounds {
    pub(super) logs: u64,
    pub(super) typed: u64,
    pub(super) all: u64,
}

const BOUNDS: Bounds = Bounds {
    logs: KEPT_LOG_TEXT,
    typed: MAX_TYPED_BYTES,
    all: MAX_KEPT,
};

/// What the strict pass has counted so far.
#[derive(Default)]
struct Used {
    all: u64,
    logs: u64,
    typed: u64,
    /// The logs are full (which bound): from the first log over it on, scans keep counts only.
    logs_full: Option<LogsFull>,
}

#[derive(Clone, Copy)]
enum LogsFull {
    Text,
    All,
}

const IN_ALL: &str = "kept in all (memory: log text, pods, events and nodes, parsed values)";

/// Apply every bound on what members keep, strictly in archive order (`results` sorted by
/// index): logs keep their lines until the log text's bound or the bundle's is reached (then
/// they keep counts only), typed members keep their first items that fit (each one cut is named),
/// and members of parsed values that do not fit are dropped (their parse becomes the error,
/// which the layout names, as any member's). Then each link read as a copy of a member (`links`: link,
/// target, in the order they were charged) is charged what its target keeps again; the links
/// that do not fit are returned, to be dropped. Every member cut or dropped is named.
pub(super) fn trim(
    kept: &Kept,
    results: &mut [(usize, Member)],
    links: &[(String, String)],
) -> (Vec<BundleError>, HashSet<String>) {
    trim_with(kept.bounds, &take(&kept.values), &take(&kept.parts), results, links)
}

fn trim_with(
    b: Bounds,
    values: &HashMap<usize, u64>,
    parts: &HashMap<usize, u64>,
    results: &mut [(usize, Member)],
    links: &[(String, String)],
) -> (Vec<BundleError>, HashSet<String>) {
    let mut used = Used::default();
    let mut errors = Vec::new();
    let mut named = 0usize;
    let mut note = |errors: &mut Vec<BundleError>, e: BundleError| {
        named += 1;
        if named <= MAX_NAMED {
            errors.push(e);
        }
    };
    // What each member keeps, and whether it is typed, for the links to it: only the members
    // some link names are recorded (tens of thousands of members, most bundles no link at all).
    let targets: crate::bundle::FastSet<&str> = links.iter().map(|(_, t)| t.as_str()).collect();
    let mut bytes: HashMap<String, (u64, bool)> = HashMap::new();
    let (mut first_unkept, mut first_unsplit) = (None, None);
    for (idx, m) in results.iter_mut() {
        let cost = match &mut m.content {
            Content::Log(scans) => {
                // A long log's region scans were all held until they were put together, and the
                // pool charged them so: charged the same here, so that what is kept under the
                // bounds does not depend on the pool's order.
                if let Some(&held) = parts.get(idx) {
                    let merged: u64 = scans.iter().map(LogScan::kept_bytes).sum();
                    used.all = used.all.saturating_add(held.saturating_sub(merged));
                }
                let mut cost = 0;
                for s in scans.iter_mut() {
                    let c = s.kept_bytes();
                    if used.logs_full.is_none() {
                        if used.logs.saturating_add(c) > b.logs {
                            used.logs_full = Some(LogsFull::Text);
                        } else if used.all.saturating_add(c) > b.all {
                            used.logs_full = Some(LogsFull::All);
                        }
                    }
                    if used.logs_full.is_some() {
                        s.strip();
                    } else {
                        used.logs += c;
                        used.all += c;
                        cost += c;
                    }
                }
                if first_unkept.is_none() && scans.iter().any(|s| s.unkept) {
                    first_unkept = Some(m.path.clone());
                }
                if first_unsplit.is_none() && scans.iter().any(|s| s.unsplit) {
                    first_unsplit = Some(m.path.clone());
                }
                cost
            }
            Content::Typed(Ok(doc)) => {
                let room_typed = b.typed.saturating_sub(used.typed);
                let room_all = b.all.saturating_sub(used.all);
                let had = doc.len();
                let k = doc.keep_within(room_typed.min(room_all));
                used.typed += k;
                used.all += k;
                if doc.cut() > 0 {
                    let (n, all) = (doc.len(), doc.len() + doc.cut());
                    let what = match (n, all) {
                        (0, 1) => "it was not kept".to_string(),
                        (0, _) => format!("none of its {all} items were kept"),
                        _ => format!("its first {n} of {all} items were kept, the rest read past"),
                    };
                    let bound = if doc.len() == had && !doc.cut_alone() {
                        // Cut on the pool, while members were parsed side by side.
                        format!(
                            "a bound on the memory kept while it was parsed ({} MiB for pods, events and nodes; {} MiB in all)",
                            b.typed >> 20,
                            b.all >> 20
                        )
                    } else if room_typed <= room_all || doc.len() == had {
                        format!(
                            "the bound of {} MiB kept for pods, events and nodes (memory)",
                            b.typed >> 20
                        )
                    } else {
                        format!("the bound of {} MiB {IN_ALL}", b.all >> 20)
                    };
                    note(
                        &mut errors,
                        BundleError::new(
                            m.path.clone(),
                            format!("the bundle's {} passed {bound}: {what}", doc.kind().resource()),
                        ),
                    );
                }
                if k > 0 && targets.contains(m.path.as_str()) {
                    bytes.insert(m.path.clone(), (k, true));
                }
                0
            }
            Content::Json(Ok(_)) | Content::Yaml(Ok(_)) | Content::Manifest(Ok(_)) | Content::Text(_) => {
                let v = values.get(idx).copied().unwrap_or(0);
                if used.all.saturating_add(v) > b.all {
                    // The member's parse becomes the error (an error text, the error as its
                    // text): the layout names it, as any member's that cannot be read.
                    m.content = not_kept(std::mem::replace(&mut m.content, Content::Other));
                    0
                } else {
                    used.all += v;
                    v
                }
            }
            _ => 0,
        };
        if cost > 0 && targets.contains(m.path.as_str()) {
            bytes.insert(m.path.clone(), (cost, false));
        }
    }
    if let Some(path) = first_unkept {
        let bound = match used.logs_full {
            Some(LogsFull::Text) => format!("the bound of {} MiB of kept log text (memory)", b.logs >> 20),
            Some(LogsFull::All) => format!("the bound of {} MiB {IN_ALL}", b.all >> 20),
            // Stripped on the pool only, while logs were scanned side by side.
            None => format!(
                "a bound on the memory kept while they were scanned ({} MiB of log text, twice that on the pool; {} MiB in all)",
                b.logs >> 20,
                b.all >> 20
            ),
        };
        errors.push(BundleError::new(
            path,
            format!(
                "the bundle's logs passed {bound}: from this log on, matching lines and last lines are counted, not kept"
            ),
        ));
    }
    if let Some(path) = first_unsplit {
        errors.push(BundleError::new(
            path,
            format!(
                "the bundle's logs.txt files passed the bound of {MAX_SEGMENTS} container segments (memory): from here on, this file's container markers are read as lines of the container open before them"
            ),
        ));
    }
    let mut refused = HashSet::new();
    for (link, target) in links {
        if refused.contains(target) {
            // A link to a link that is not read would dangle.
            note(
                &mut errors,
                BundleError::new(
                    link.clone(),
                    format!("link to '{target}', a link not read for the memory it would keep; not read"),
                ),
            );
            refused.insert(link.clone());
            continue;
        }
        let Some(&(n, is_typed)) = bytes.get(target) else {
            continue;
        };
        let over_typed = is_typed && used.typed.saturating_add(n) > b.typed;
        if over_typed || used.all.saturating_add(n) > b.all {
            let bound = if over_typed {
                format!("{} MiB kept for pods, events and nodes (memory)", b.typed >> 20)
            } else {
                format!("{} MiB {IN_ALL}", b.all >> 20)
            };
            note(
                &mut errors,
                BundleError::new(
                    link.clone(),
                    format!(
                        "link to '{target}': read again it would keep {} MiB more, passing the bound of {bound}; not read",
                        n.div_ceil(1 << 20)
                    ),
                ),
            );
            refused.insert(link.clone());
            continue;
        }
        if is_typed {
            used.typed += n;
        }
        used.all += n;
        bytes.insert(link.clone(), (n, is_typed));
    }
    if named > MAX_NAMED {
        errors.push(BundleError::new(
            "archive".into(),
            format!(
                "{} more members were cut or not read for the bounds on the memory a bundle keeps",
                named - MAX_NAMED
            ),
        ));
    }
    (errors, refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::logscan::scan_buffer;
    use crate::bundle::typed::{charge, parse, TypedDoc, TypedKind};
    use crate::signatures::{parse_rules_file, SignatureSet};

    fn member(path: &str, content: Content) -> Member {
        Member {
            path: path.into(),
            size: 0,
            content,
        }
    }

    fn log(text: &str) -> LogScan {
        let rules = "signatures:\n  - id: cert\n    code: ZZZ001\n    name: cert\n    severity: error\n    title: cert\n    pattern: 'x509: certificate'\n";
        let set = SignatureSet::new(parse_rules_file("t", rules, &[]).expect("rules")).expect("signatures");
        scan_buffer(text.as_bytes(), 1, &set.log, &Keep::default())
    }

    fn pods(n: usize) -> TypedDoc {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"metadata":{{"name":"pod-with-a-name-longer-than-inline-{i}"}}}}"#))
            .collect();
        let json = format!(r#"{{"items":[{}]}}"#, items.join(","));
        parse(
            TypedKind::Pods,
            json.as_bytes(),
            charge(json.as_bytes()),
            &typed::Held::default(),
        )
        .expect("pods")
    }

    #[test]
    fn the_bounds_apply_in_archive_order_and_name_what_was_not_kept() {
        let one_log = log(&"x509: certificate has expired\n".repeat(10)).kept_bytes();
        let one_list = pods(10).held();
        // Room for two logs of log text; in all, for them, one list of pods and a little.
        let b = Bounds {
            logs: 2 * one_log + one_log / 2,
            typed: 10 * one_list,
            all: 2 * one_log + one_list + one_list / 2,
        };
        let mut results: Vec<(usize, Member)> = vec![
            (
                0,
                member(
                    "a.log",
                    Content::Log(vec![log(&"x509: certificate has expired\n".repeat(10))]),
                ),
            ),
            (
                1,
                member(
                    "b.log",
                    Content::Log(vec![log(&"x509: certificate has expired\n".repeat(10))]),
                ),
            ),
            // The third log passes the log text's bound: it and every later log keep counts only.
            (
                2,
                member(
                    "c.log",
                    Content::Log(vec![log(&"x509: certificate has expired\n".repeat(10))]),
                ),
            ),
            (3, member("p1/pods.json", Content::Typed(Ok(pods(10))))),
            // Half a list of room left in all: its first items that fit.
            (4, member("p2/pods.json", Content::Typed(Ok(pods(10))))),
            (5, member("d.log", Content::Log(vec![log("ok\n")]))),
            // Values over the room left: dropped, named.
            (6, member("cm.json", Content::Json(Ok(serde_json::json!({"a": 1}))))),
        ];
        let values: HashMap<usize, u64> = [(6, 1000)].into_iter().collect();
        let links = vec![("p3/pods.json".to_string(), "p1/pods.json".to_string())];
        let (errors, refused) = trim_with(b, &values, &HashMap::new(), &mut results, &links);
        let scans = |i: usize| match &results[i].1.content {
            Content::Log(s) => (s[0].hits.len(), s[0].unkept),
            _ => (0, false),
        };
        assert_eq!(scans(0), (10, false));
        assert_eq!(scans(1), (10, false));
        assert_eq!(scans(2), (0, true));
        assert!(scans(5).1, "a later log keeps counts only");
        let typed = |i: usize| match &results[i].1.content {
            Content::Typed(Ok(d)) => (d.len(), d.cut()),
            _ => (usize::MAX, 0),
        };
        assert_eq!(typed(3), (10, 0));
        let (kept, cut) = typed(4);
        assert!(kept > 0 && kept < 10 && kept + cut == 10, "{kept} {cut}");
        assert!(matches!(&results[6].1.content, Content::Json(Err(e)) if *e == values_not_kept()));
        assert!(refused.contains("p3/pods.json"));
        let said: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.member, e.message)).collect();
        let has = |path: &str, needle: &str| {
            said.iter()
                .any(|e| e.starts_with(&format!("{path}: ")) && e.contains(needle))
        };
        assert!(has("c.log", "of kept log text (memory): from this log on"), "{said:?}");
        assert!(
            has("p2/pods.json", &format!("its first {kept} of 10 items were kept")),
            "{said:?}"
        );
        assert!(has("p2/pods.json", "kept in all (memory"), "{said:?}");
        assert!(has("p3/pods.json", "link to 'p1/pods.json'"), "{said:?}");
        assert!(
            !said.iter().any(|e| e.starts_with("a.log") || e.starts_with("p1/")),
            "{said:?}"
        );
    }

    #[test]
    fn a_long_logs_region_scans_are_charged_what_they_held_until_put_together() {
        let one_list = pods(10).held();
        let b = Bounds {
            logs: u64::MAX,
            typed: u64::MAX,
            all: 2 * one_list,
        };
        let mut results: Vec<(usize, Member)> = vec![
            (0, member("big.log", Content::Log(vec![log("ok\n")]))),
            (1, member("p1/pods.json", Content::Typed(Ok(pods(10))))),
        ];
        // Its regions held a list and a half until they were put together: half a list is left.
        let parts: HashMap<usize, u64> = [(0, one_list + one_list / 2)].into_iter().collect();
        let (errors, _) = trim_with(b, &HashMap::new(), &parts, &mut results, &[]);
        match &results[1].1.content {
            Content::Typed(Ok(d)) => assert!(d.len() < 10 && d.len() + d.cut() == 10, "{}", d.len()),
            _ => panic!("pods"),
        }
        assert!(errors.iter().any(|e| e.member == "p1/pods.json"), "{errors:?}");
    }
}
