//! Which layout a bundle has, and its root folder, from marker files only: an arcdiag
//! `manifest.json`, troubleshoot.sh's `version.yaml` / `cluster-resources/`, a cluster-info dump's
//! `nodes.json` beside `<ns>/pods.json`. The shallowest marker wins. Maps nothing. Knows nothing of
//! what members hold beyond their names.

use super::links::Members;
use super::{depth, parent};
use crate::bundle::read::Content;
use crate::bundle::{manifest, Layout};
use serde_json::Value;

/// Detect the layout and its root folder (archive-relative, "" for the top).
pub(super) fn detect(ms: &Members) -> (Layout, String) {
    let mut best: Option<(usize, String)> = None;
    for m in &ms.list {
        if m.path.rsplit('/').next() == Some("manifest.json") {
            let arcdiag = match &m.content {
                Content::Manifest(Ok(man)) => man.is_arcdiag(),
                Content::Json(Ok(v)) => manifest::is_arcdiag_format(v.get("format").and_then(Value::as_str)),
                _ => false,
            };
            if arcdiag {
                let d = depth(&m.path);
                if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                    best = Some((d, parent(&m.path).to_string()));
                }
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::ArcdiagV1, root);
    }
    // An arcdiag tree whose manifest is unreadable or missing (damaged, or cut off: the collector
    // writes the manifest last): `kubectl/cluster/` or `kubectl/namespaces/` beside `az/` or `logs/`,
    // or beside a `manifest.json`.
    for m in &ms.list {
        let p = m.path.as_str();
        let at = if p.starts_with("kubectl/cluster/") || p.starts_with("kubectl/namespaces/") {
            Some(0)
        } else {
            p.find("/kubectl/cluster/")
                .or_else(|| p.find("/kubectl/namespaces/"))
                .map(|i| i + 1)
        };
        if let Some(i) = at {
            let root = if i == 0 { String::new() } else { p[..i - 1].to_string() };
            let d = if root.is_empty() { 0 } else { depth(&root) + 1 };
            if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                best = Some((d, root));
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::ArcdiagV1, root);
    }
    // troubleshoot.sh: version.yaml of kind SupportBundle, else the shortest cluster-resources/.
    for m in &ms.list {
        if m.path.rsplit('/').next() == Some("version.yaml") {
            if let Content::Yaml(Ok(v)) = &m.content {
                if v.get("kind").and_then(Value::as_str) == Some("SupportBundle") {
                    let d = depth(&m.path);
                    if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                        best = Some((d, parent(&m.path).to_string()));
                    }
                }
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::Troubleshoot, root);
    }
    for m in &ms.list {
        let p = m.path.as_str();
        let idx = if p.starts_with("cluster-resources/") || p == "cluster-resources" {
            Some(0)
        } else {
            p.find("/cluster-resources/")
                .map(|i| i + 1)
                .or_else(|| p.strip_suffix("/cluster-resources").map(|s| s.len() + 1))
        };
        if let Some(i) = idx {
            let root = if i == 0 { String::new() } else { p[..i - 1].to_string() };
            let d = if root.is_empty() { 0 } else { depth(&root) + 1 };
            if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                best = Some((d, root));
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::Troubleshoot, root);
    }
    // cluster-info dump: nodes.json beside <ns>/pods.json (roots gathered once: linear, not
    // members x members).
    let pod_roots: std::collections::HashSet<&str> = ms
        .list
        .iter()
        .filter(|o| o.path.ends_with("/pods.json"))
        .map(|o| parent(&o.path))
        .filter(|ns_dir| !ns_dir.is_empty())
        .map(parent)
        .collect();
    for m in &ms.list {
        if m.path.rsplit('/').next() == Some("nodes.json") {
            let root = parent(&m.path);
            if pod_roots.contains(root) {
                let d = depth(&m.path);
                if best.as_ref().map(|(bd, _)| d < *bd).unwrap_or(true) {
                    best = Some((d, root.to_string()));
                }
            }
        }
    }
    if let Some((_, root)) = best {
        return (Layout::ClusterInfoDump, root);
    }
    (Layout::Unknown, String::new())
}
