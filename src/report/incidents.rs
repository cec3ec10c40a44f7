//! Incidents: the report's findings grouped by what explains what, each with a root (the most
//! specific cause), the findings it explains, the objects affected and a one-line summary. Reads
//! only the finished findings: their `related` (a finding's causes), their `scope` (the objects
//! they concern, the nodes their pods run on, and the codes their rule explains, filled by the
//! engine from `Rule::explains`). Knows no rule by code.
//!
//! Two findings are in one incident when
//! - one lists the other as `related` (the listed one explains the lister);
//! - they concern a same object (a pod, a pod's ReplicaSet or Deployment, an extension, a
//!   DaemonSet...): the one whose rule explains the other's code explains it;
//! - one is about a node its rule says explains the other's code, and the other's pods run on it.
//!
//! The root is the finding no other finding of the incident explains and that explains the most of
//! them (the first in report order on a tie); members follow in causal order (the root's direct
//! effects, then theirs), then report order. Incidents are in report order of their first finding,
//! so the most severe incident comes first. Every finding is in exactly one incident.

use crate::finding::{Finding, Severity, Subject};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A finding as an incident names it: code, subject and title, and its position in the report's
/// `findings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub code: String,
    pub subject: String,
    pub severity: Severity,
    pub title: String,
    /// Index in the report's `findings`.
    pub finding: usize,
    /// The members of the incident that explain this one directly, as `CODE Subject`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explained_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// The most severe of its findings.
    pub severity: Severity,
    pub root: Member,
    /// The other findings of the incident (the root is not repeated).
    pub members: Vec<Member>,
    /// The objects its findings concern (subjects, the objects their evidence names, pods' owners).
    pub affected: Vec<String>,
    pub summary: String,
}

impl Incident {
    /// Positions in `findings` of the root and every member.
    pub fn findings(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.root.finding).chain(self.members.iter().map(|m| m.finding))
    }
}

struct Groups {
    parent: Vec<usize>,
}

impl Groups {
    fn find(&mut self, i: usize) -> usize {
        let mut r = i;
        while self.parent[r] != r {
            r = self.parent[r];
        }
        let mut j = i;
        while self.parent[j] != r {
            let next = self.parent[j];
            self.parent[j] = r;
            j = next;
        }
        r
    }
    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller index stays the representative: grouping does not depend on edge order.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

/// `CODE Kind/ns/name`, how members refer to one another.
fn label(f: &Finding) -> String {
    format!("{} {}", f.code, f.subject)
}

fn member(findings: &[Finding], i: usize, causes: &BTreeSet<usize>) -> Member {
    let f = &findings[i];
    Member {
        code: f.code.clone(),
        subject: f.subject.to_string(),
        severity: f.severity,
        title: f.title.clone(),
        finding: i,
        explained_by: causes.iter().map(|&c| label(&findings[c])).collect(),
    }
}

/// Group findings (in report order) into incidents.
pub fn group(findings: &[Finding]) -> Vec<Incident> {
    let n = findings.len();
    let mut groups = Groups {
        parent: (0..n).collect(),
    };
    // explains[a] holds b when finding a explains finding b.
    let mut explains: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let can_explain = |a: usize, b: usize| a != b && findings[a].scope.explains.iter().any(|c| *c == findings[b].code);

    // related: by code, subject and title (then code and subject, for a title that changed).
    let mut by_label: BTreeMap<(&str, String), Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        by_label
            .entry((f.code.as_str(), f.subject.to_string()))
            .or_default()
            .push(i);
    }
    for (i, f) in findings.iter().enumerate() {
        for r in &f.related {
            let Some(cands) = by_label.get(&(r.code.as_str(), r.subject.clone())) else {
                continue;
            };
            let exact: Vec<usize> = cands
                .iter()
                .copied()
                .filter(|&c| findings[c].title == r.title)
                .collect();
            for c in if exact.is_empty() { cands.clone() } else { exact } {
                if c != i {
                    groups.join(c, i);
                    explains[c].insert(i);
                }
            }
        }
    }
    // shared objects
    let mut by_object: BTreeMap<&Subject, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        for o in &f.scope.objects {
            by_object.entry(o).or_default().push(i);
        }
    }
    for sharing in by_object.values() {
        for w in sharing.windows(2) {
            groups.join(w[0], w[1]);
        }
        for &a in sharing.iter().filter(|&&a| !findings[a].scope.explains.is_empty()) {
            for &b in sharing {
                if can_explain(a, b) {
                    explains[a].insert(b);
                }
            }
        }
    }
    // a node finding and the findings of pods on that node
    let mut by_node: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        for node in &f.scope.nodes {
            by_node.entry(node.as_str()).or_default().push(i);
        }
    }
    for (a, f) in findings.iter().enumerate().filter(|(_, f)| f.subject.kind == "Node") {
        for &b in by_node.get(f.subject.name.as_str()).into_iter().flatten() {
            if can_explain(a, b) {
                groups.join(a, b);
                explains[a].insert(b);
            }
        }
    }

    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = groups.find(i);
        components.entry(r).or_default().push(i);
    }
    // Representatives are each component's smallest index, so this is report order.
    components
        .into_values()
        .map(|members| incident(findings, &members, &explains))
        .collect()
}

/// Every finding `from` explains, directly or not, within `within`.
fn reach(from: usize, explains: &[BTreeSet<usize>], within: &BTreeSet<usize>) -> BTreeMap<usize, usize> {
    let mut depth = BTreeMap::new();
    let mut queue = VecDeque::from([(from, 0usize)]);
    depth.insert(from, 0);
    while let Some((i, d)) = queue.pop_front() {
        for &j in &explains[i] {
            if within.contains(&j) && !depth.contains_key(&j) {
                depth.insert(j, d + 1);
                queue.push_back((j, d + 1));
            }
        }
    }
    depth
}

fn incident(findings: &[Finding], members: &[usize], explains: &[BTreeSet<usize>]) -> Incident {
    let within: BTreeSet<usize> = members.iter().copied().collect();
    let inside = &within;
    let explained: BTreeSet<usize> = members
        .iter()
        .flat_map(|&i| {
            explains[i]
                .iter()
                .copied()
                .filter(move |j| *j != i && inside.contains(j))
        })
        .collect();
    let candidates: Vec<usize> = {
        let c: Vec<usize> = members.iter().copied().filter(|i| !explained.contains(i)).collect();
        // A cycle leaves nothing unexplained: then every member is a candidate.
        if c.is_empty() {
            members.to_vec()
        } else {
            c
        }
    };
    // The most explained; the first in report order on a tie (members are in report order).
    let mut root = candidates[0];
    let mut best = reach(root, explains, &within);
    for &c in &candidates[1..] {
        let r = reach(c, explains, &within);
        if r.len() > best.len() {
            root = c;
            best = r;
        }
    }
    let causes_of = |i: usize| -> BTreeSet<usize> {
        members
            .iter()
            .copied()
            .filter(|&c| c != i && explains[c].contains(&i))
            .collect()
    };
    let mut rest: Vec<usize> = members.iter().copied().filter(|&i| i != root).collect();
    rest.sort_by_key(|i| (best.get(i).copied().unwrap_or(usize::MAX), *i));
    let rest: Vec<Member> = rest.iter().map(|&i| member(findings, i, &causes_of(i))).collect();
    let severity = members
        .iter()
        .map(|&i| findings[i].severity)
        .max_by_key(|s| s.rank())
        .unwrap_or(Severity::Info);
    let affected: BTreeSet<String> = members
        .iter()
        .flat_map(|&i| findings[i].scope.objects.iter().map(|o| o.to_string()))
        .collect();
    let r = &findings[root];
    let summary = if rest.is_empty() {
        format!("{} {}: {}", r.code, r.subject, r.title)
    } else {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for m in &rest {
            match counts.iter_mut().find(|(c, _)| *c == m.code) {
                Some((_, n)) => *n += 1,
                None => counts.push((m.code.clone(), 1)),
            }
        }
        let list: Vec<String> = counts
            .into_iter()
            .map(|(c, n)| if n > 1 { format!("{n} {c}") } else { c })
            .collect();
        let all_explained = rest.iter().all(|m| best.contains_key(&m.finding));
        format!(
            "{} {}: {}; {} {} more finding(s): {}",
            r.code,
            r.subject,
            r.title,
            if all_explained { "explains" } else { "with" },
            rest.len(),
            list.join(", ")
        )
    };
    Incident {
        severity,
        root: member(findings, root, &BTreeSet::new()),
        members: rest,
        affected: affected.into_iter().collect(),
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Evidence, Scope};

    fn f(code: &str, sev: Severity, subject: Subject, objects: &[Subject], explains: &[&str]) -> Finding {
        Finding {
            code: code.into(),
            name: code.to_ascii_lowercase(),
            severity: sev,
            title: format!("{code} on {subject}"),
            message: String::new(),
            subject: subject.clone(),
            evidence: vec![Evidence::default()],
            evidence_omitted: 0,
            fix: Vec::new(),
            related: Vec::new(),
            scope: Scope {
                objects: std::iter::once(subject).chain(objects.iter().cloned()).collect(),
                nodes: Vec::new(),
                explains: explains.iter().map(|s| s.to_string()).collect(),
                workload: None,
            },
        }
    }

    fn pod(name: &str) -> Subject {
        Subject::new("Pod", Some("ns"), name)
    }

    #[test]
    fn a_cause_roots_its_effects_and_unrelated_findings_stand_alone() {
        let ds = Subject::new("DaemonSet", Some("ns"), "agent");
        let ext = Subject::new("Extension", None, "mon");
        let mut findings = vec![
            f(
                "AMA002",
                Severity::Error,
                ds.clone(),
                &[pod("a"), pod("b")],
                &["K8S001", "EXT002", "EXT001"],
            ),
            f("EXT001", Severity::Error, ext.clone(), &[], &[]),
            f("K8S001", Severity::Error, pod("a"), std::slice::from_ref(&ds), &[]),
            f("K8S001", Severity::Error, pod("b"), &[], &[]),
            f("K8S001", Severity::Error, pod("lonely"), &[], &[]),
            f("EXT002", Severity::Warning, ext, &[pod("a"), pod("b")], &["EXT001"]),
        ];
        let (a, b) = (findings[2].as_related(), findings[3].as_related());
        findings[5].related = vec![a, b];
        let inc = group(&findings);
        assert_eq!(inc.len(), 2, "{inc:#?}");
        assert_eq!(inc[0].root.code, "AMA002");
        let order: Vec<(usize, &[String])> = inc[0]
            .members
            .iter()
            .map(|m| (m.finding, m.explained_by.as_slice()))
            .collect();
        assert_eq!(order[0].0, 2);
        assert_eq!(order[1].0, 3);
        assert_eq!(order[2].0, 5);
        assert_eq!(order[3].0, 1, "EXT001 comes last: EXT002 explains it");
        assert_eq!(order[3].1, ["EXT002 Extension/mon"]);
        assert_eq!(inc[1].root.subject, "Pod/ns/lonely");
        assert!(inc[1].members.is_empty());
        let mut all: Vec<usize> = inc.iter().flat_map(|i| i.findings().collect::<Vec<_>>()).collect();
        all.sort();
        assert_eq!(all, (0..findings.len()).collect::<Vec<_>>(), "every finding once");
        assert!(
            inc[0]
                .summary
                .contains("explains 4 more finding(s): 2 K8S001, EXT002, EXT001"),
            "{}",
            inc[0].summary
        );
    }

    #[test]
    fn a_node_links_only_the_findings_its_rule_explains() {
        let mut nodefinding = f(
            "K8S006",
            Severity::Error,
            Subject::new("Node", None, "n1"),
            &[],
            &["K8S001"],
        );
        nodefinding.scope.objects = vec![Subject::new("Node", None, "n1")];
        let mut crash = f("K8S001", Severity::Error, pod("a"), &[], &[]);
        crash.scope.nodes = vec!["n1".into()];
        let mut other = f("AMA003", Severity::Info, Subject::new("Node", None, "n1b"), &[], &[]);
        other.scope.nodes = vec!["n1".into()];
        let mut pull = f("K8S002", Severity::Error, pod("c"), &[], &[]);
        pull.scope.nodes = vec!["n1".into()];
        let inc = group(&[nodefinding, crash, pull, other]);
        assert_eq!(inc.len(), 3, "{inc:#?}");
        assert_eq!(inc[0].root.code, "K8S006");
        assert_eq!(inc[0].members.len(), 1);
        assert_eq!(inc[0].members[0].code, "K8S001");
    }

    #[test]
    fn parse_ref_reads_evidence_objects() {
        assert_eq!(Subject::parse_ref("Pod/ns/a"), Some(pod("a")));
        assert_eq!(Subject::parse_ref("Node/n1"), Some(Subject::new("Node", None, "n1")));
        assert_eq!(Subject::parse_ref("extension mon"), None);
        assert_eq!(Subject::parse_ref("a/b"), None);
    }
}
