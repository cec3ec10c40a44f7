//! K8S003 container-oom-killed (error)
//!
//! What it detects: a container whose last (or current) termination reason is `OOMKilled`
//! (exit code 137): it used more memory than its limit.
//!
//! Why it matters: the kernel kills it, it restarts, and work in flight is lost. Flux
//! controllers reconciling large repositories and the AMA agents are frequent victims.
//!
//! Evidence: `lastState.terminated` (or `state.terminated`) with reason and exit code, and the
//! container's current memory limit (`spec.containers[i].resources.limits.memory`, or that none is
//! set).
//!
//! Fix: raise the container's `resources.limits.memory` on the workload that owns the pod (found
//! from the ReplicaSet in the bundle: `kubectl set resources deployment/<name>`), or find why
//! memory grows. A pod an extension manages (its release's pods in `flux-system`,
//! `arc-osm-system`, `ama-logs*` in `kube-system`) is reconciled by the extension, which reverts a
//! kubectl change: the limit is changed through the extension's configuration settings (`az
//! k8s-extension update ... --configuration-settings`).

use super::{pod_ref, workload_of};
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::ext::managing_extension;
use crate::rules::{finding, obj_evidence, Context, Inputs, Rule};

pub struct ContainerOomKilled;

impl Rule for ContainerOomKilled {
    crate::rule_meta!("K8S003", "container-oom-killed", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("pods")],
            optional: vec![Need::Resource("replicasets"), Need::Az("k8s-extension-*")],
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
                let index = p.spec.containers.iter().position(|c| c.name == cs.name);
                f.evidence.push(obj_evidence(
                    &p.src,
                    pod_ref(p),
                    &match index {
                        Some(i) => format!("spec.containers[{i}].resources.limits.memory"),
                        None => "spec.containers".to_string(),
                    },
                    &format!("memory limit {}", limit.as_deref().unwrap_or("not set")),
                ));
                let more = format!("<MORE_THAN_{}>", limit.as_deref().unwrap_or("CURRENT"));
                let workload = workload_of(cx.snap, p);
                match (managing_extension(cx, p), &workload) {
                    (Some((name, ty)), _) => {
                        let prefix = workload
                            .as_deref()
                            .and_then(|w| w.split_once('/'))
                            .map(|(_, n)| n)
                            .unwrap_or(cs.name.as_str());
                        let (rg, cl, t) = (cx.facts.rg(), cx.facts.cluster(), cx.facts.cluster_type.az_type());
                        f.fix.push(format!(
                            "the {ty} extension {name} manages this pod and reverts kubectl changes: raise the limit through its configuration settings"
                        ));
                        f.fix.push(format!(
                            "az k8s-extension update -g {rg} -c {cl} -t {t} -n {name} --configuration-settings {prefix}.resources.limits.memory={more}"
                        ));
                        f.fix.push(format!(
                            "the setting's name follows the extension's chart values; see the current ones with: az k8s-extension show -g {rg} -c {cl} -t {t} -n {name} --query configurationSettings"
                        ));
                    }
                    (None, Some(owner)) => f.fix.push(format!(
                        "kubectl set resources -n {} {owner} -c {} --limits=memory={more}",
                        p.ns(),
                        cs.name,
                    )),
                    (None, None) => f
                        .fix
                        .push(format!("raise resources.limits.memory of container {}", cs.name)),
                }
                out.push(f);
            }
        }
        out
    }
}
