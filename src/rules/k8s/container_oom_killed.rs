//! K8S003 container-oom-killed (error)
//!
//! What it detects: a container whose last (or current) termination reason is `OOMKilled`
//! (exit code 137): it used more memory than its limit.
//!
//! Why it matters: the kernel kills it, it restarts, and work in flight is lost. Flux
//! controllers reconciling large repositories and the AMA agents are frequent victims.
//!
//! Evidence: `lastState.terminated` (or `state.terminated`) with reason and exit code, and the
//! container's current memory limit.
//!
//! Fix: raise the container's `resources.limits.memory` (for extension-managed pods, through
//! the extension's configuration settings), or find why memory grows.

use super::pod_ref;
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, obj_evidence, Context, Inputs, Rule};

pub struct ContainerOomKilled;

impl Rule for ContainerOomKilled {
    crate::rule_meta!("K8S003", "container-oom-killed", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("pods")],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in &cx.snap.pods {
            if p.is_succeeded() {
                continue;
            }
            for (field, cs) in p.statuses() {
                let hit = [
                    ("lastState", cs.last_state.terminated.as_ref()),
                    ("state", cs.state.terminated.as_ref()),
                ]
                .into_iter()
                .find_map(|(which, t)| {
                    t.filter(|t| t.reason.as_deref() == Some("OOMKilled"))
                        .map(|t| (which, t))
                });
                let Some((which, t)) = hit else { continue };
                let limit = p
                    .container(&cs.name)
                    .and_then(|c| c.resources.limits.get("memory"))
                    .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                let mut f = finding(
                    self,
                    Subject::new("Pod", Some(p.ns()), &p.metadata.name),
                    format!(
                        "container {} of pod {}/{} was OOM-killed",
                        cs.name,
                        p.ns(),
                        p.metadata.name
                    ),
                    format!(
                        "terminated with OOMKilled (exit code {}), {} restarts; memory limit {}",
                        t.exit_code,
                        cs.restart_count,
                        limit.as_deref().unwrap_or("not set")
                    ),
                );
                f.evidence.push(obj_evidence(
                    &p.src,
                    pod_ref(p),
                    &format!("{field}.{which}.terminated"),
                    &format!(
                        "reason OOMKilled exitCode {} finishedAt {}",
                        t.exit_code,
                        t.finished_at.as_deref().unwrap_or("?")
                    ),
                ));
                match p.owner_ref() {
                    Some(owner) => f.fix.push(format!(
                        "kubectl set resources -n {} {owner} -c {} --limits=memory=<MORE_THAN_{}>",
                        p.ns(),
                        cs.name,
                        limit.as_deref().unwrap_or("CURRENT")
                    )),
                    None => f
                        .fix
                        .push(format!("raise resources.limits.memory of container {}", cs.name)),
                }
                out.push(f);
            }
        }
        out
    }
}
