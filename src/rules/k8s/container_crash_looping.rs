//! K8S001 container-crash-looping (error)
//!
//! What it detects: a container waiting in `CrashLoopBackOff`, or one that restarted 5 or more
//! times and is not ready.
//!
//! Why it matters: the process in the container keeps exiting; whatever it serves (a Flux
//! controller, an Arc agent, the OSM control plane) is down or flapping.
//!
//! Evidence: the pod's container status (`state.waiting.reason`, `restartCount`), the last
//! termination reason and exit code (`lastState.terminated`), and the last lines of the
//! previous container log when the bundle has it (`path:line`).
//!
//! Fix: read the previous log (`kubectl logs -n <ns> <pod> -c <container> --previous`) and the
//! pod's events (`kubectl describe pod`); the exit code says how it died (137: killed, often
//! OOM; 1: the program failed, see its log).
//!
//! Applies to every cluster. Pods that completed (`Succeeded`) are never failures.

use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, Context, Inputs, Rule};

pub struct ContainerCrashLooping;

/// Restarts at or above which a not-ready container counts as crash-looping.
const RESTARTS: i64 = 5;

impl Rule for ContainerCrashLooping {
    crate::rule_meta!("K8S001", "container-crash-looping", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("pods")],
            optional: vec![Need::Logs("*")],
            ..Inputs::default()
        }
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in &cx.snap.pods {
            // Completed and failed (evicted, terminated) pods keep their last restart counts;
            // they are not crash-looping.
            if p.is_succeeded() || p.status.phase == "Failed" {
                continue;
            }
            for (field, cs) in p.statuses() {
                let waiting = cs.state.waiting.as_ref().and_then(|w| w.reason.as_deref());
                let crash = waiting == Some("CrashLoopBackOff");
                let flapping = cs.restart_count >= RESTARTS && !cs.ready;
                if !crash && !flapping {
                    continue;
                }
                let subject = Subject::new("Pod", Some(p.ns()), &p.metadata.name);
                let last = cs.last_state.terminated.as_ref();
                let how = match last {
                    Some(t) => format!(
                        "last exit: {} (exit code {})",
                        t.reason.as_deref().unwrap_or("unknown reason"),
                        t.exit_code
                    ),
                    None => "no last termination recorded".to_string(),
                };
                let title = format!(
                    "container {} of pod {}/{} is crash-looping ({} restarts)",
                    cs.name,
                    p.ns(),
                    p.metadata.name,
                    cs.restart_count
                );
                let message = format!(
                    "{}; {how}.",
                    if crash {
                        "waiting in CrashLoopBackOff"
                    } else {
                        "restarted repeatedly and is not ready"
                    }
                );
                let mut f = finding(self, subject, title, message);
                crate::rules::cite_container_status(cx, p, &field.to_string(), cs, &mut f);
                f.fix.push(format!(
                    "kubectl logs -n {} {} -c {} --previous",
                    p.ns(),
                    p.metadata.name,
                    cs.name
                ));
                f.fix
                    .push(format!("kubectl describe pod -n {} {}", p.ns(), p.metadata.name));
                out.push(f);
            }
        }
        out
    }
}
