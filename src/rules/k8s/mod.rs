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

/// The workload that owns a pod, for fix commands (`deployment/x`, `daemonset/x`). A pod owned by
/// a ReplicaSet is named after the ReplicaSet's own owner as the ReplicaSet in the bundle says it
/// (`deployment/x`), or the ReplicaSet itself when it has none; only a ReplicaSet that is not in
/// the bundle is read from its name (`x-<pod-template-hash>` is Deployment `x`).
pub fn workload_of(snap: &crate::model::Snapshot, p: &Obj<Pod>) -> Option<String> {
    let o = p.metadata.owner_references.first()?;
    if o.kind != "ReplicaSet" {
        return Some(format!("{}/{}", o.kind.to_ascii_lowercase(), o.name));
    }
    match snap
        .replicasets
        .iter()
        .find(|r| r.metadata.name == o.name && r.metadata.namespace.as_deref() == Some(p.ns()))
    {
        Some(rs) => Some(match rs.metadata.owner_references.first() {
            Some(d) => format!("{}/{}", d.kind.to_ascii_lowercase(), d.name),
            None => format!("replicaset/{}", o.name),
        }),
        None => p.owner_ref(),
    }
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
