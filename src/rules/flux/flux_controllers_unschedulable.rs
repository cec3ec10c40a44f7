//! FLX007 flux-controllers-unschedulable (error)
//!
//! What it detects: the Flux controllers cannot be scheduled for lack of CPU or memory: a
//! `flux-system` pod is `Pending` and its `FailedScheduling` event (or `PodScheduled` condition)
//! cites `Insufficient cpu` or `Insufficient memory`; or no schedulable node (Ready, not
//! cordoned, and without a `NoSchedule`/`NoExecute` taint that the Flux pods do not tolerate: the
//! tolerations every `flux-system` pod in the bundle has) exists, or none's allocatable (less
//! the requests of the pods already on it, when pods are known) fits a Flux controller's minimum
//! request from the guide's table; or all nodes together cannot hold the minimum total of the
//! controllers deployed (or of the default set when none is deployed yet).
//!
//! Why it matters: a controller that is not scheduled does not run: sources are not fetched,
//! Kustomizations and HelmReleases are not applied, and the extension install times out.
//!
//! Evidence: the Pending pods with the scheduler's message; each node's allocatable CPU and
//! memory (and what is left after the known pods' requests) beside the guide's table.
//!
//! Fix: add nodes or use larger ones, so that each controller's minimum (and ideally maximum) fits.
//! Guide: "Make sure the memory and CPU requirements of the microsoft.flux extension are met".

use super::{flux_applies, FluxContainer};
use crate::finding::{Evidence, Finding, Subject};
use crate::model::quantity::Quantity;
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};
use std::collections::BTreeMap;

pub struct FluxControllersUnschedulable;

struct NodeRoom {
    name: String,
    alloc_cpu: Quantity,
    alloc_mem: Quantity,
    free_cpu: Quantity,
    free_mem: Quantity,
    pods: usize,
}

fn request_of(c: &crate::k8s::Container, key: &str) -> Quantity {
    c.resources
        .requests
        .get(key)
        .or_else(|| c.resources.limits.get(key))
        .map(crate::k8s::Scalar::value)
        .and_then(Quantity::from_value)
        .unwrap_or(Quantity(0))
}

/// Why a node cannot take the Flux pods, if it cannot: not Ready, cordoned, or a `NoSchedule` /
/// `NoExecute` taint that the Flux pods do not tolerate. The Flux pods' tolerations are those
/// every `flux-system` pod in the bundle has (none when no Flux pod was collected, as before the
/// extension's first install).
fn blocked_by(cx: &Context, n: &crate::k8s::Node) -> Option<String> {
    if n.condition("Ready").map(|c| c.status != "True").unwrap_or(false) {
        return Some("not Ready".into());
    }
    if n.spec.unschedulable {
        return Some("cordoned".into());
    }
    let flux: Vec<_> = cx.snap.pods.iter().filter(|p| p.ns() == "flux-system").collect();
    let untolerated: Vec<String> = n
        .spec
        .taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .filter(|t| {
            flux.is_empty()
                || !flux
                    .iter()
                    .all(|p| p.spec.tolerations.iter().any(|tol| tol.tolerates(t)))
        })
        .map(|t| match &t.value {
            Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
            _ => format!("{}:{}", t.key, t.effect),
        })
        .collect();
    if untolerated.is_empty() {
        None
    } else {
        Some(format!(
            "tainted {} (not tolerated by the Flux pods)",
            untolerated.join(", ")
        ))
    }
}

/// Schedulable nodes and their room (allocatable less the requests of known pods on them).
fn rooms(cx: &Context) -> Vec<NodeRoom> {
    let mut out = Vec::new();
    for n in &cx.snap.nodes {
        if blocked_by(cx, n).is_some() {
            continue;
        }
        let (Some(cpu), Some(mem)) = (
            n.status
                .allocatable
                .get("cpu")
                .map(crate::k8s::Scalar::value)
                .and_then(Quantity::from_value),
            n.status
                .allocatable
                .get("memory")
                .map(crate::k8s::Scalar::value)
                .and_then(Quantity::from_value),
        ) else {
            continue;
        };
        let (mut used_cpu, mut used_mem, mut pods) = (0i128, 0i128, 0usize);
        for p in cx
            .snap
            .pods
            .iter()
            .filter(|p| p.node() == Some(n.metadata.name.as_str()))
        {
            // Flux's own pods are what must fit; they do not count against the room.
            if p.is_succeeded() || p.status.phase == "Failed" || p.ns() == "flux-system" {
                continue;
            }
            pods += 1;
            for c in &p.spec.containers {
                used_cpu += request_of(c, "cpu").0;
                used_mem += request_of(c, "memory").0;
            }
        }
        out.push(NodeRoom {
            name: n.metadata.name.to_string(),
            alloc_cpu: cpu,
            alloc_mem: mem,
            free_cpu: Quantity(cpu.0 - used_cpu),
            free_mem: Quantity(mem.0 - used_mem),
            pods,
        });
    }
    out
}

/// Containers of the table that some flux-system pod already runs on a node.
fn scheduled(cx: &Context) -> Vec<&'static str> {
    let mut out = Vec::new();
    for p in cx
        .snap
        .pods
        .iter()
        .filter(|p| p.ns() == "flux-system" && p.node().is_some() && p.status.phase == "Running")
    {
        out.extend(super::containers_of_pod(p).iter().map(|c| c.name));
    }
    out
}

impl Rule for FluxControllersUnschedulable {
    crate::rule_meta!("FLX007", "flux-controllers-unschedulable", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            any_of: vec![Need::NsResource("flux-system", "pods"), Need::Resource("nodes")],
            optional: vec![Need::NsResource("flux-system", "events")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        flux_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut evidence: Vec<Evidence> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        // (a) Pending flux-system pods the scheduler refused for lack of CPU or memory.
        for p in cx
            .snap
            .pods
            .iter()
            .filter(|p| p.ns() == "flux-system" && p.status.phase == "Pending")
        {
            let insufficient = |m: &str| m.contains("Insufficient cpu") || m.contains("Insufficient memory");
            let mut hit = false;
            for (i, c) in p.status.conditions.iter().enumerate() {
                let m = c.message.as_deref().unwrap_or("");
                if c.type_ == "PodScheduled" && c.status == "False" && insufficient(m) {
                    evidence.push(obj_evidence(
                        &p.src,
                        object_ref("Pod", Some("flux-system"), &p.metadata.name),
                        &format!("status.conditions[{i}].message"),
                        m,
                    ));
                    hit = true;
                }
            }
            for e in cx.snap.events.iter().filter(|e| {
                e.reason == "FailedScheduling"
                    && e.involved_object.kind == "Pod"
                    && e.involved_object.name == p.metadata.name
                    && e.metadata.namespace.as_deref() == Some("flux-system")
                    && insufficient(&e.message)
            }) {
                evidence.push(obj_evidence(
                    &e.src,
                    object_ref("Event", Some("flux-system"), &e.metadata.name),
                    "message",
                    &e.message,
                ));
                hit = true;
            }
            if hit {
                reasons.push(format!(
                    "pod flux-system/{} is Pending: Insufficient cpu or memory",
                    p.metadata.name
                ));
            }
        }
        // (b) Node room against the table's minimum requests.
        let rooms = rooms(cx);
        let (controllers, known) = super::flux_containers_in_use(cx);
        let pods_known = cx.snap.has(&Need::Resource("pods"));
        let running = scheduled(cx);
        let waiting: Vec<&&FluxContainer> = controllers.iter().filter(|c| !running.contains(&c.name)).collect();
        if rooms.is_empty() && !cx.snap.nodes.is_empty() && !waiting.is_empty() {
            reasons.push(format!(
                "no node can take the Flux pods (none of the {} node(s) is schedulable for them) and {} {} not running",
                cx.snap.nodes.len(),
                waiting.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
                if waiting.len() == 1 { "is" } else { "are" }
            ));
            // What the scheduler said about the Pending Flux pods (an untolerated taint, say).
            for e in cx.snap.events.iter().filter(|e| {
                e.reason == "FailedScheduling"
                    && e.involved_object.kind == "Pod"
                    && e.metadata.namespace.as_deref() == Some("flux-system")
            }) {
                if !evidence.iter().any(|x| x.path == *e.src.path && x.excerpt == e.message) {
                    evidence.push(obj_evidence(
                        &e.src,
                        object_ref("Event", Some("flux-system"), &e.metadata.name),
                        "message",
                        &e.message,
                    ));
                }
            }
        }
        if !rooms.is_empty() && !waiting.is_empty() {
            for c in &waiting {
                let (cpu, mem) = (FluxContainer::q(c.min_cpu), FluxContainer::q(c.min_mem));
                if !rooms.iter().any(|r| r.free_cpu >= cpu && r.free_mem >= mem) {
                    reasons.push(format!(
                        "no schedulable node has {} CPU and {} memory free for {}",
                        c.min_cpu, c.min_mem, c.name
                    ));
                }
            }
            let need_cpu: i128 = waiting.iter().map(|c| FluxContainer::q(c.min_cpu).0).sum();
            let need_mem: i128 = waiting.iter().map(|c| FluxContainer::q(c.min_mem).0).sum();
            let free_cpu: i128 = rooms.iter().map(|r| r.free_cpu.0.max(0)).sum();
            let free_mem: i128 = rooms.iter().map(|r| r.free_mem.0.max(0)).sum();
            if free_cpu < need_cpu || free_mem < need_mem {
                reasons.push(format!(
                    "all schedulable nodes together have {} CPU and {} memory free; the {} Flux containers not yet running need at least {} CPU and {} memory",
                    Quantity(free_cpu).cpu_string(),
                    Quantity(free_mem).mem_string(),
                    if known { "deployed" } else { "default" },
                    Quantity(need_cpu).cpu_string(),
                    Quantity(need_mem).mem_string()
                ));
            }
        }
        if reasons.is_empty() {
            return Vec::new();
        }
        let mut f = finding(
            self,
            Subject::new("Namespace", None, "flux-system"),
            "the Flux controllers do not fit on the cluster's nodes".to_string(),
            reasons.join("; "),
        );
        f.evidence = evidence;
        let mut by_name: BTreeMap<&str, &NodeRoom> = BTreeMap::new();
        for r in &rooms {
            by_name.insert(r.name.as_str(), r);
        }
        for n in &cx.snap.nodes {
            let line = match by_name.get(n.metadata.name.as_str()) {
                Some(r) if pods_known => format!(
                    "allocatable {} CPU, {} memory; {} free after the requests of {} known pod(s)",
                    r.alloc_cpu.cpu_string(),
                    r.alloc_mem.mem_string(),
                    format_args!("{} CPU, {} memory", r.free_cpu.cpu_string(), r.free_mem.mem_string()),
                    r.pods
                ),
                Some(r) => format!(
                    "allocatable {} CPU, {} memory",
                    r.alloc_cpu.cpu_string(),
                    r.alloc_mem.mem_string()
                ),
                None => format!(
                    "not schedulable: {}",
                    blocked_by(cx, n).unwrap_or_else(|| "cordoned, tainted or not Ready".into())
                ),
            };
            f.evidence.push(obj_evidence(
                &n.src,
                object_ref("Node", None, &n.metadata.name),
                "status.allocatable",
                &line,
            ));
        }
        f.fix.push("add nodes or use a larger VM size so that every Flux controller's minimum fits on a node (and the maximum, under load)".into());
        f.fix.push("the guide's per-container table:".into());
        for c in &controllers {
            f.fix.push(format!("  {}", c.row()));
        }
        f.fix.push("the cluster's schedulable nodes:".into());
        if rooms.is_empty() {
            f.fix.push("  none".into());
        }
        for r in &rooms {
            f.fix.push(format!(
                "  {:<28} allocatable {:>5} cpu {:>7} memory   free {:>5} cpu {:>7} memory",
                r.name,
                r.alloc_cpu.cpu_string(),
                r.alloc_mem.mem_string(),
                r.free_cpu.cpu_string(),
                r.free_mem.mem_string()
            ));
        }
        vec![f]
    }
}
