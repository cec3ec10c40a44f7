//! K8S002 image-pull-failing (error)
//!
//! What it detects: a container waiting in `ImagePullBackOff`, `ErrImagePull`,
//! `InvalidImageName` or `ErrImageNeverPull`.
//!
//! Why it matters: the container never starts. On Arc clusters this is often a proxy or
//! firewall blocking `mcr.microsoft.com`, or a private registry without pull credentials.
//!
//! Evidence: the container status (`state.waiting.reason` and `message`) and the pod's
//! `Failed` events, which carry the registry's answer.
//!
//! Fix: check the image reference and tag, the pod's `imagePullSecrets`, and that the node can
//! reach the registry (`kubectl describe pod` shows the full error).

use super::{pod_events, pod_ref};
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, obj_evidence, Context, Inputs, Rule};

pub struct ImagePullFailing;

const REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];

impl Rule for ImagePullFailing {
    crate::rule_meta!("K8S002", "image-pull-failing", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("pods")],
            optional: vec![Need::Resource("events")],
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
                let Some(w) = cs.state.waiting.as_ref() else { continue };
                let Some(reason) = w.reason.as_deref().filter(|r| REASONS.contains(r)) else {
                    continue;
                };
                let image = p
                    .container(&cs.name)
                    .map(|c| c.image.as_str())
                    .unwrap_or(cs.image.as_str());
                let mut f = finding(
                    self,
                    Subject::new("Pod", Some(p.ns()), &p.metadata.name),
                    format!(
                        "container {} of pod {}/{} cannot pull image {image}",
                        cs.name,
                        p.ns(),
                        p.metadata.name
                    ),
                    format!("{reason}: {}", w.message.as_deref().unwrap_or("no message")),
                );
                f.evidence.push(obj_evidence(
                    &p.src,
                    pod_ref(p),
                    &format!("{field}.state.waiting"),
                    &format!("{reason}: {}", w.message.as_deref().unwrap_or("")),
                ));
                for e in pod_events(cx.snap, p) {
                    let m = &e.message;
                    if e.reason == "Failed" && (m.contains("pull") || m.contains("image")) {
                        f.evidence.push(obj_evidence(
                            &e.src,
                            crate::model::object_ref("Event", e.metadata.namespace.as_deref(), &e.metadata.name),
                            "message",
                            m,
                        ));
                    }
                }
                f.fix
                    .push(format!("kubectl describe pod -n {} {}", p.ns(), p.metadata.name));
                f.fix.push(format!(
                    "check that image '{image}' exists, that the pod's imagePullSecrets grant access, and that nodes can reach the registry"
                ));
                out.push(f);
            }
        }
        out
    }
}
