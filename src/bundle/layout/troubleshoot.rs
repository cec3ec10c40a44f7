//! The troubleshoot.sh layout (replicated's support-bundle): `cluster-resources/<resource>.json`
//! and `cluster-resources/<resource>/<ns>.json`, `*-errors.json` marking failed collectors, and
//! pod logs under `cluster-resources/pods/logs/` or a collector's folder. Knows nothing of the
//! other layouts, nor of what the objects mean.

use super::links::Members;
use super::{files_under, split_ext, take, Mapper};
use crate::bundle::read::Content;
use crate::bundle::{InputState, Src};
use serde_json::Value;

/// troubleshoot.sh folder names that differ from the API plural.
fn troubleshoot_resource(name: &str) -> &str {
    match name {
        "custom-resource-definitions" => "customresourcedefinitions",
        "storage-classes" => "storageclasses",
        "pvs" => "persistentvolumes",
        "pvcs" => "persistentvolumeclaims",
        "resource-quota" | "resource-quotas" => "resourcequotas",
        "limitranges" => "limitranges",
        "clusterRoles" | "clusterroles" => "clusterroles",
        "clusterRoleBindings" | "clusterrolebindings" => "clusterrolebindings",
        "roleBindings" | "rolebindings" => "rolebindings",
        "pod-disruption-budgets" => "poddisruptionbudgets",
        "image-pull-secrets" => "image-pull-secrets",
        "priorityclasses" => "priorityclasses",
        "volumeattachments" => "volumeattachments",
        "serviceaccounts" => "serviceaccounts",
        "ingress" => "ingresses",
        "network-policy" => "networkpolicies",
        other => other,
    }
}

/// Resource types whose data troubleshoot.sh collects but we never read (secrets stay unread).
fn troubleshoot_ignored(res: &str) -> bool {
    matches!(
        res,
        "secrets" | "image-pull-secrets" | "auth-cani-list" | "groups" | "resources"
    )
}

fn error_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(error_text).collect::<Vec<_>>().join("; "),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", error_text(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

pub(super) fn map_troubleshoot(ms: &mut Members, root: &str, mp: &mut Mapper) {
    let mut err = Vec::new();
    let files = files_under(ms, root, &mut err);
    mp.errors.extend(err);
    // Newer troubleshoot.sh writes each custom resource list twice, as `.yaml` and `.json`: read one.
    let names: std::collections::HashSet<String> = files.iter().map(|(r, _)| r.clone()).collect();
    for (rel, idx) in files {
        if rel.starts_with("cluster-resources/custom-resources/") {
            if let Some(stem) = rel.strip_suffix(".yaml").or_else(|| rel.strip_suffix(".yml")) {
                if names.contains(&format!("{stem}.json")) {
                    continue;
                }
            }
        }
        let Some(rest) = rel.strip_prefix("cluster-resources/") else {
            if rel == "cluster-info/cluster_version.json" {
                if let Content::Json(Ok(v)) = take(ms, idx) {
                    let gv = v
                        .pointer("/info/gitVersion")
                        .or_else(|| v.get("string"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    if let Some(gv) = gv {
                        mp.az.insert(
                            "__kubectl-version".into(),
                            (
                                serde_json::json!({"serverVersion": {"gitVersion": gv}}),
                                Src {
                                    path: rel.as_str().into(),
                                    index: None,
                                },
                            ),
                        );
                    }
                    mp.set_input("kubectl/version".into(), InputState::Present, Some(rel.clone()), None);
                }
            }
            continue;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            ["pods", "logs", ns, pod, file] => {
                let Some(stem) = file.strip_suffix(".log") else {
                    continue;
                };
                let (container, previous) = match stem.strip_suffix("-previous") {
                    Some(c) => (c, true),
                    None => (stem, false),
                };
                let c = take(ms, idx);
                mp.add_log(ns, pod, container, previous, &rel, c);
            }
            ["custom-resources", group_res, file] => {
                let Some((ns, _)) = split_ext(file) else { continue };
                let id = format!("kubectl/namespaces/{ns}/{group_res}");
                let (res, c) = (group_res.to_string(), take(ms, idx));
                mp.add_resource_file(id, &res, &rel, c);
            }
            ["custom-resources", file] => {
                // Cluster-scoped custom resources: `<plural.group>.json|yaml` directly here.
                let Some((res, _)) = split_ext(file) else { continue };
                let id = format!("kubectl/cluster/{res}");
                let (res, c) = (res.to_string(), take(ms, idx));
                mp.add_resource_file(id, &res, &rel, c);
            }
            [file] => {
                let Some((name, ext)) = split_ext(file) else { continue };
                if ext != "json" {
                    continue;
                }
                if let Some(base) = name.strip_suffix("-errors") {
                    let res = troubleshoot_resource(base).to_string();
                    if troubleshoot_ignored(&res) {
                        continue;
                    }
                    if let Content::Json(Ok(v)) = take(ms, idx) {
                        // Either a map namespace → error, or a list of errors for the whole type.
                        match &v {
                            Value::Object(o) if !o.is_empty() => {
                                for (ns, e) in o {
                                    let id = format!("kubectl/namespaces/{ns}/{res}");
                                    mp.set_input(
                                        id,
                                        InputState::Failed,
                                        Some(rel.clone()),
                                        Some(format!("{rel}: {}", error_text(e))),
                                    );
                                }
                            }
                            _ => {
                                let id = format!("kubectl/cluster/{res}");
                                mp.set_input(
                                    id,
                                    InputState::Failed,
                                    Some(rel.clone()),
                                    Some(format!("{rel}: {}", error_text(&v))),
                                );
                            }
                        }
                    }
                    continue;
                }
                let res = troubleshoot_resource(name).to_string();
                if troubleshoot_ignored(&res) {
                    continue;
                }
                let id = format!("kubectl/cluster/{res}");
                let c = take(ms, idx);
                mp.add_resource_file(id, &res, &rel, c);
            }
            [dir, file] => {
                let Some((ns, ext)) = split_ext(file) else { continue };
                if ext != "json" {
                    continue;
                }
                if let Some(base) = dir.strip_suffix("-errors") {
                    // `<type>-errors/<ns>.json`: a failed input for that namespace (an odd
                    // upstream bug also wrote ReplicaSet lists under `statefulsets-errors.json/`).
                    let base = base.trim_end_matches(".json");
                    let res = troubleshoot_resource(base).to_string();
                    if troubleshoot_ignored(&res) {
                        continue;
                    }
                    if let Content::Json(Ok(v)) = take(ms, idx) {
                        let id = format!("kubectl/namespaces/{ns}/{res}");
                        mp.set_input(
                            id,
                            InputState::Failed,
                            Some(rel.clone()),
                            Some(format!("{rel}: {}", error_text(&v))),
                        );
                    }
                    continue;
                }
                let res = if *dir == "statefulsets-errors.json" {
                    "replicasets".to_string()
                } else {
                    troubleshoot_resource(dir).to_string()
                };
                if troubleshoot_ignored(&res) {
                    continue;
                }
                let id = format!("kubectl/namespaces/{ns}/{res}");
                let c = take(ms, idx);
                mp.add_resource_file(id, &res, &rel, c);
            }
            _ => {}
        }
    }
}
