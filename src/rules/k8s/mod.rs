//! Generic Kubernetes rules (`K8S`), which apply to every cluster. Pods that completed
//! (`Succeeded`) are never failures. Rules read the typed views and facts: they know no bundle
//! layout (inputs are logical ids) and never format output.

mod certificate_expired;
mod container_crash_looping;
mod container_oom_killed;
mod image_pull_failing;
mod node_not_ready;
mod pod_evicted;
mod pod_unschedulable;
mod webhook_unreachable;

use super::Rule;
use crate::k8s::{Obj, Pod};

pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(container_crash_looping::ContainerCrashLooping),
        Box::new(image_pull_failing::ImagePullFailing),
        Box::new(container_oom_killed::ContainerOomKilled),
        Box::new(pod_unschedulable::PodUnschedulable),
        Box::new(pod_evicted::PodEvicted),
        Box::new(node_not_ready::NodeNotReady),
        Box::new(webhook_unreachable::WebhookUnreachable),
        Box::new(certificate_expired::CertificateExpired),
    ]
}

/// `Pod/<ns>/<name>` for evidence.
pub fn pod_ref(p: &Obj<Pod>) -> String {
    crate::model::object_ref("Pod", Some(p.ns()), &p.metadata.name)
}

/// Events whose involved object is this pod, oldest first: by the instant last seen (an event
/// with no readable time first), then by that time's text and the event's name, so the order is
/// total whatever the times' formats.
pub fn pod_events<'a>(snap: &'a crate::model::Snapshot, p: &'a Obj<Pod>) -> Vec<&'a Obj<crate::k8s::Event>> {
    let mut v = snap.events_of_pod(p.ns(), &p.metadata.name);
    v.sort_by_cached_key(|e| {
        let e: &'a Obj<crate::k8s::Event> = e;
        (e.last_seen_at(), e.last_seen(), e.metadata.name.as_str())
    });
    v
}
