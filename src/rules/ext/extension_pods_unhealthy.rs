//! EXT002 extension-pods-unhealthy (warning)
//!
//! What it detects: pods of an installed extension that are not all ready. An extension's pods
//! are those in its release namespace (`scope.cluster.releaseNamespace` or
//! `scope.namespace.targetNamespace`), plus where a known extension runs elsewhere (Container
//! Insights: `ama-logs*` in `kube-system`). In a shared namespace (`kube-system`, `default`, or
//! one holding another extension's release) only pods of the extension's Helm release count:
//! labeled `app.kubernetes.io/instance` or `release` with the extension's name, or owned by a
//! workload with `app.kubernetes.io/managed-by: Helm` and `meta.helm.sh/release-name` naming
//! it. Completed (`Succeeded`) and `Evicted` pods do not count.
//!
//! Why it matters: the extension may report `Succeeded` in Azure while its workload is down:
//! containers crash, images do not pull, or pods are not scheduled.
//!
//! Evidence: each pod with its phase, READY count and the waiting or termination reason of its
//! containers. The generic pod findings for those pods (K8S001-K8S005) are listed under it.
//!
//! Fix: follow the related K8S findings; `kubectl describe pod` and `kubectl logs --previous`
//! for each pod listed. Guide: "Troubleshoot extension issues".

use super::{ext_applies, manages};
use crate::finding::{Finding, Subject};
use crate::k8s::Pod;
use crate::model::{object_ref, Need, Obj};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct ExtensionPodsUnhealthy;

const POD_RULES: &[&str] = &["K8S001", "K8S002", "K8S003", "K8S004", "K8S005"];

/// Why a pod is not ready, in a few words.
fn why(p: &Pod) -> String {
    let (r, t) = p.ready_count();
    let mut parts = vec![format!("{} {r}/{t} ready", p.status.phase)];
    if let Some(reason) = &p.status.reason {
        parts.push(reason.to_string());
    }
    for (_, c) in p.statuses() {
        if let Some(w) = &c.state.waiting {
            parts.push(format!("{}: {}", c.name, w.reason.as_deref().unwrap_or("waiting")));
        } else if let Some(t) = &c.state.terminated {
            parts.push(format!(
                "{}: terminated {} (exit {})",
                c.name,
                t.reason.as_deref().unwrap_or(""),
                t.exit_code
            ));
        } else if !c.ready {
            parts.push(format!("{}: not ready", c.name));
        }
        if c.restart_count > 0 {
            parts.push(format!("{} restarts {}", c.name, c.restart_count));
        }
    }
    if let Some(c) = p
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
    {
        parts.push(format!("unschedulable: {}", c.message.as_deref().unwrap_or("")));
    }
    parts.join("; ")
}

impl Rule for ExtensionPodsUnhealthy {
    crate::rule_meta!("EXT002", "extension-pods-unhealthy", Warning);

    /// Helm waits for the release's pods: while they are not ready the extension fails.
    fn explains(&self) -> &[&str] {
        &["EXT001"]
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Az("k8s-extension-*"), Need::Resource("pods")],
            ..Inputs::default()
        }
    }

    fn after(&self) -> &[&str] {
        POD_RULES
    }

    fn applies(&self, cx: &Context) -> Applies {
        ext_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for e in &cx.snap.extensions {
            let bad: Vec<&Obj<Pod>> = cx
                .snap
                .pods
                .iter()
                .filter(|p| manages(cx, e, p) && !p.is_succeeded() && !p.is_evicted() && !p.all_ready())
                .collect();
            if bad.is_empty() {
                continue;
            }
            let names: Vec<String> = bad.iter().map(|p| format!("{}/{}", p.ns(), p.metadata.name)).collect();
            let mut f = finding(
                self,
                Subject::new("Extension", None, &e.name),
                format!(
                    "{} pod(s) of extension {} ({}) are not ready",
                    bad.len(),
                    e.name,
                    e.extension_type
                ),
                format!("not ready: {}", names.join(", ")),
            );
            for p in &bad {
                f.evidence.push(obj_evidence(
                    &p.src,
                    object_ref("Pod", Some(p.ns()), &p.metadata.name),
                    "status",
                    &why(p),
                ));
            }
            for code in POD_RULES {
                for pf in cx.prior_of(code) {
                    if pf.subject.kind == "Pod"
                        && bad.iter().any(|p| {
                            pf.subject.name == p.metadata.name && pf.subject.namespace.as_deref() == Some(p.ns())
                        })
                    {
                        f.related.push(pf.as_related());
                    }
                }
            }
            for p in &bad {
                f.fix
                    .push(format!("kubectl describe pod -n {} {}", p.ns(), p.metadata.name));
            }
            f.fix.push(
                "see the related K8S findings for each pod's cause; once the pods are ready the extension recovers"
                    .into(),
            );
            out.push(f);
        }
        out
    }
}
