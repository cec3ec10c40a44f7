//! OSM006 osm-injector-unavailable (error)
//!
//! What it detects: the deployment `osm-injector` in `arc-osm-system` is missing or has fewer
//! ready replicas than it wants, or no injector pod is `Running` with READY `1/1` (the guide:
//! any other READY value means the injector pod is unhealthy).
//!
//! Why it matters: osm-injector serves the mutating webhook that adds the Envoy sidecar to new
//! pods of meshed namespaces. Without it pods start without sidecars, or fail to be created.
//!
//! Evidence: the deployment's desired and ready replicas; each injector pod's READY state; for a
//! pod that is not ready, its container's last termination reason, exit code, restart count and
//! the last lines of its previous log.
//!
//! Fix: read the injector's log (`kubectl logs -n arc-osm-system -l app=osm-injector
//! --previous`) and the pod's events; repair or reinstall the extension when the deployment is
//! missing.

use super::{applies, cite_container, collected, component_pods, extension_show, main_container, ready_text, NS};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmInjectorUnavailable;

impl Rule for OsmInjectorUnavailable {
    crate::rule_meta!("OSM006", "osm-injector-unavailable", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, "deployments"), Need::NsResource(NS, "pods")],
            optional: vec![Need::Logs(NS)],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut problems: Vec<String> = Vec::new();
        let dep = cx
            .snap
            .deployments
            .iter()
            .find(|d| d.metadata.namespace.as_deref() == Some(NS) && d.metadata.name == "osm-injector");
        match dep {
            None if collected(cx, "deployments") => problems.push("deployment osm-injector is missing".into()),
            None => {}
            Some(d) => {
                let (desired, ready) = (d.desired(), d.status.ready_replicas);
                if desired == 0 {
                    problems.push("deployment osm-injector is scaled to 0 replicas".into());
                } else if ready < desired {
                    problems.push(format!("deployment osm-injector has {ready}/{desired} ready replicas"));
                }
            }
        }
        let pods = component_pods(cx, "osm-injector");
        let healthy = |p: &crate::k8s::Pod| p.all_ready() && p.ready_count() == (1, 1);
        if collected(cx, "pods") && !pods.iter().any(|p| healthy(p)) {
            if pods.is_empty() {
                problems.push("no osm-injector pod exists".into());
            } else {
                problems.push(format!(
                    "no osm-injector pod is Running with READY 1/1 ({})",
                    pods.iter()
                        .map(|p| format!("{} {}", p.metadata.name, ready_text(p)))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        }
        if problems.is_empty() {
            return Vec::new();
        }
        let mut f = finding(
            self,
            Subject::new("Deployment", Some(NS), "osm-injector"),
            format!("osm-injector is unavailable: {}", problems[0]),
            format!(
                "{}. The guide's healthy output is deployment READY 1/1 and one pod READY 1/1 Running.",
                problems.join("; ")
            ),
        );
        if let Some(d) = dep {
            f.evidence.push(obj_evidence(
                &d.src,
                object_ref("Deployment", Some(NS), "osm-injector"),
                "status.readyReplicas",
                &format!(
                    "spec.replicas {} status.readyReplicas {}",
                    d.desired(),
                    d.status.ready_replicas
                ),
            ));
        }
        for p in &pods {
            f.evidence.push(obj_evidence(
                &p.src,
                object_ref("Pod", Some(NS), &p.metadata.name),
                "status",
                &ready_text(p),
            ));
        }
        for p in pods
            .iter()
            .filter(|p| !p.is_evicted() && !p.is_succeeded() && !healthy(p))
        {
            if let Some(c) = main_container(p, "osm-injector") {
                cite_container(cx, p, c, &mut f);
                f.fix
                    .push(format!("kubectl logs -n {NS} {} -c {c} --previous", p.metadata.name));
            }
        }
        f.fix
            .push("kubectl get pod -n arc-osm-system --selector app=osm-injector".into());
        if dep.is_none() {
            f.fix.push(format!(
                "the extension lost its injector: {}; repair or reinstall the extension",
                extension_show(cx)
            ));
        }
        vec![f]
    }
}
