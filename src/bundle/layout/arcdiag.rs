//! The arcdiag-v1 layout (what `arcdiag collect` writes): the manifest (cluster, collection time,
//! completeness, each step's outcome, which becomes an input's state), `kubectl/`, `az/` and
//! `logs/` under the root. Knows nothing of the other layouts, nor of what the objects mean.

use super::links::Members;
use super::{files_under, take, Mapper};
use crate::bundle::read::Content;
use crate::bundle::{manifest, BundleError, ClusterMeta, InputState, Src};

pub(super) fn map_arcdiag(ms: &mut Members, root: &str, mp: &mut Mapper) -> (Option<String>, ClusterMeta, bool) {
    let manifest_path = if root.is_empty() {
        "manifest.json".to_string()
    } else {
        format!("{root}/manifest.json")
    };
    let manifest_idx = ms.by_path.get(&manifest_path).copied();
    // Taken (nothing reads it again); a bundle opened for `serve` holds it as a `Value`.
    let read = match manifest_idx.map(|i| take(ms, i)) {
        Some(Content::Json(Ok(v))) => Some(Ok(manifest::from_value(&v))),
        Some(Content::Manifest(r)) => Some(r.map(|m| *m)),
        Some(Content::Json(Err(e))) => Some(Err(e)),
        _ => None,
    };
    let (manifest, manifest_problem) = match read {
        Some(Ok(m)) if m.is_arcdiag() => (Some(m), String::new()),
        Some(Ok(_)) => (
            None,
            "not an arcdiag manifest (no `format: arcdiag-bundle/v1`)".to_string(),
        ),
        Some(Err(e)) => (None, e),
        None => (
            None,
            "missing (the archive may have been cut off before it)".to_string(),
        ),
    };
    let mut collected_at = None;
    let mut cluster = ClusterMeta::default();
    let mut complete = true;
    let mut step_outputs: crate::bundle::FastMap<String, String> = Default::default();
    if let Some(m) = manifest {
        collected_at = m.collected_at.0;
        complete = m.complete.0.unwrap_or(true);
        cluster.name = m.cluster.name.0;
        cluster.resource_group = m.cluster.resource_group.0;
        cluster.cluster_type = m.cluster.cluster_type.0;
        cluster.kube_context = m.cluster.kube_context.0;
        if m.steps.1 > 0 {
            mp.errors.push(BundleError::new(
                "manifest.json".into(),
                format!(
                    "lists {} steps, more than the {} read (bound on memory); the outputs of the {} after them are read as files the manifest does not list",
                    manifest::max_steps() + m.steps.1,
                    manifest::max_steps(),
                    m.steps.1
                ),
            ));
        }
        match m.steps.0 {
            Some(steps) => {
                // The bundle path of a step's output (one buffer for all steps).
                let mut full = String::new();
                for (i, step) in steps.into_iter().enumerate() {
                    let Some(id) = step.id.0.as_deref() else {
                        mp.errors.push(BundleError::new(
                            "manifest.json".into(),
                            format!("step #{} has no id; ignored", i + 1),
                        ));
                        continue;
                    };
                    let status = step.status.0.as_deref().unwrap_or("");
                    let output = step.output.0;
                    // The manifest's digests win over the sidecar's (read first).
                    if let (Some(o), Some(d)) = (&output, step.sha256.0) {
                        mp.recorded.insert(o.clone(), d);
                    }
                    // One line in a reason (the manifest keeps the whole text).
                    let stderr = manifest::first_line(step.stderr.0.as_deref().unwrap_or(""));
                    let stderr = stderr.as_str();
                    let reason = |what: &str| {
                        if stderr.is_empty() {
                            format!("collection step {what}")
                        } else {
                            format!("collection step {what}: {stderr}")
                        }
                    };
                    // Logs map to their input by path (`Log::id`), so only other outputs need
                    // their step id looked up (a bundle holds tens of thousands of logs).
                    let keyed = |o: &str| !o.starts_with("logs/");
                    match status {
                        "ok" => {
                            if let Some(o) = &output {
                                if keyed(o) {
                                    step_outputs.insert(o.clone(), id.to_string());
                                }
                                full.clear();
                                if !root.is_empty() {
                                    full.push_str(root);
                                    full.push('/');
                                }
                                full.push_str(o);
                                let present = ms.by_path.contains_key(full.as_str());
                                if !present {
                                    mp.errors.push(BundleError::new(
                                        "manifest.json".into(),
                                        format!("step '{id}' lists output '{o}', which the bundle does not hold"),
                                    ));
                                    mp.set_input(
                                        id.to_string(),
                                        InputState::Failed,
                                        Some(o.clone()),
                                        Some(format!("the manifest lists '{o}' but the bundle does not hold it")),
                                    );
                                }
                            }
                        }
                        "not-found" => {
                            mp.set_input(
                                id.to_string(),
                                InputState::Present,
                                None,
                                Some("the cluster does not serve this resource type".into()),
                            );
                        }
                        "skipped" => mp.set_input(id.to_string(), InputState::Absent, None, Some(reason("skipped"))),
                        "timeout" => mp.set_input(
                            id.to_string(),
                            InputState::Failed,
                            output.clone(),
                            Some(reason("timed out")),
                        ),
                        // A container with no previous instance (restarted long ago, or
                        // garbage-collected) fails `logs --previous` routinely: nothing is lost.
                        "failed" if id.starts_with("logs/") && id.ends_with(".previous") => {
                            mp.set_input(id.to_string(), InputState::Absent, None, Some(reason("failed")))
                        }
                        "failed" => mp.set_input(
                            id.to_string(),
                            InputState::Failed,
                            output.clone(),
                            Some(reason("failed")),
                        ),
                        other => mp.set_input(
                            id.to_string(),
                            InputState::Failed,
                            output.clone(),
                            Some(format!("unknown step status '{other}'")),
                        ),
                    }
                    // An ok step's output was mapped above (the last such step wins); others only
                    // name an output no ok step claims.
                    if let Some(o) = output.filter(|o| status != "ok" && keyed(o)) {
                        step_outputs.entry(o).or_insert_with(|| id.to_string());
                    }
                }
            }
            _ => mp.errors.push(BundleError::new(
                "manifest.json".into(),
                "no `steps` list; files are read without it".into(),
            )),
        }
    } else {
        mp.errors.push(BundleError::new(
            "manifest.json".into(),
            format!(
                "manifest {manifest_problem}; the files are read without it, so failed steps cannot be told from absent ones"
            ),
        ));
    }
    let mut err = Vec::new();
    let files = files_under(ms, root, &mut err);
    mp.errors.extend(err);
    for (rel, idx) in files {
        if rel == "manifest.json" {
            continue;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        let step_id = if parts.first() == Some(&"logs") {
            None
        } else {
            step_outputs.remove(&rel)
        };
        // A failed step that still left partial output keeps its failed state.
        match parts.as_slice() {
            ["kubectl", "version.json"] => {
                if let Content::Json(Ok(v)) = take(ms, idx) {
                    mp.az.insert(
                        "__kubectl-version".into(),
                        (
                            v,
                            Src {
                                path: rel.as_str().into(),
                                index: None,
                            },
                        ),
                    );
                    mp.set_input("kubectl/version".into(), InputState::Present, Some(rel.clone()), None);
                }
            }
            ["kubectl", "cluster", file] => {
                if let Some(res) = file.strip_suffix(".json") {
                    let id = step_id.unwrap_or_else(|| format!("kubectl/cluster/{res}"));
                    let c = take(ms, idx);
                    mp.add_resource_file(id, res, &rel, c);
                }
            }
            ["kubectl", "namespaces", _ns, file] => {
                if let Some(res) = file.strip_suffix(".json") {
                    let id = step_id.unwrap_or_else(|| rel.trim_end_matches(".json").to_string());
                    let c = take(ms, idx);
                    mp.add_resource_file(id, res, &rel, c);
                }
            }
            ["az", file] => {
                if let Some(slug) = file.strip_suffix(".json") {
                    let id = step_id.unwrap_or_else(|| format!("az/{slug}"));
                    match take(ms, idx) {
                        Content::Json(Ok(v)) => {
                            mp.az.insert(
                                slug.to_string(),
                                (
                                    v,
                                    Src {
                                        path: rel.as_str().into(),
                                        index: None,
                                    },
                                ),
                            );
                            mp.set_input(id, InputState::Present, Some(rel.clone()), None);
                        }
                        Content::Json(Err(e)) => {
                            mp.errors.push(BundleError::new(rel.clone(), e.clone()));
                            mp.set_input(id, InputState::Failed, Some(rel.clone()), Some(format!("{rel}: {e}")));
                        }
                        _ => {}
                    }
                }
            }
            ["helm", file] => {
                if let Some(slug) = file.strip_suffix(".json") {
                    if let Content::Json(Ok(v)) = take(ms, idx) {
                        mp.az.insert(
                            format!("helm-{slug}"),
                            (
                                v,
                                Src {
                                    path: rel.as_str().into(),
                                    index: None,
                                },
                            ),
                        );
                        mp.set_input(format!("helm/{slug}"), InputState::Present, Some(rel.clone()), None);
                    }
                }
            }
            ["logs", ns, pod, file] => {
                let (container, previous) = if let Some(c) = file.strip_suffix(".previous.log") {
                    (c, true)
                } else if let Some(c) = file.strip_suffix(".log") {
                    (c, false)
                } else {
                    continue;
                };
                let c = take(ms, idx);
                mp.add_log(ns, pod, container, previous, &rel, c);
            }
            _ => {}
        }
    }
    (collected_at, cluster, complete)
}
