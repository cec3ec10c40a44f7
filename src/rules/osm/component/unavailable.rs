//! OSM001 and OSM006: the deployment of a component is missing or not ready (OSM006: or no pod
//! is READY 1/1). Knows the component only through its [`Component`] entry. Knows no code: each
//! rule's identity comes from its rule file.

use super::{Component, PodCheck};
use crate::finding::{Finding, Subject};
use crate::k8s::Pod;
use crate::model::{object_ref, Need, Obj};
use crate::rules::osm::{
    absent_evidence, applies, cite_container, collected, component_pods, extension_show, main_container, ready_text,
    Meta, NS,
};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

/// The deployment of a component, unavailable (OSM001, OSM006).
pub struct Unavailable {
    pub meta: Meta,
    pub of: &'static Component,
}

impl Rule for Unavailable {
    crate::rules::osm::meta_rule!();

    fn inputs(&self) -> Inputs {
        let u = &self.of.unavailable;
        let (required, optional) = if u.pods_required {
            (
                vec![Need::NsResource(NS, "deployments"), Need::NsResource(NS, "pods")],
                vec![Need::Logs(NS)],
            )
        } else {
            (
                vec![Need::NsResource(NS, "deployments")],
                vec![Need::NsResource(NS, "pods"), Need::Logs(NS)],
            )
        };
        Inputs {
            required,
            optional,
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        unavailable(self, cx, self.of)
    }
}

/// `spec.replicas N status.readyReplicas M`, cited for the deployment.
fn replicas_evidence(d: &Obj<crate::k8s::Deployment>, app: &str) -> crate::finding::Evidence {
    obj_evidence(
        &d.src,
        object_ref("Deployment", Some(NS), app),
        "status.readyReplicas",
        &format!(
            "spec.replicas {} status.readyReplicas {}",
            d.desired(),
            d.status.ready_replicas
        ),
    )
}

fn unavailable(rule: &dyn Rule, cx: &Context, c: &Component) -> Vec<Finding> {
    let app = c.app;
    let dep = cx
        .snap
        .deployments
        .iter()
        .find(|d| d.metadata.namespace.as_deref() == Some(NS) && d.metadata.name == app);
    let u = &c.unavailable;
    let mut f = match &u.pod_check {
        None => match deployment_only(rule, cx, c, dep) {
            Some(f) => f,
            None => return Vec::new(),
        },
        Some(check) => match with_pods(rule, cx, c, dep, check) {
            Some(f) => f,
            None => return Vec::new(),
        },
    };
    if dep.is_none() && u.pod_check.is_none() {
        let names: Vec<String> = cx
            .snap
            .deployments
            .iter()
            .filter(|d| d.metadata.namespace.as_deref() == Some(NS))
            .map(|d| d.metadata.name.to_string())
            .collect();
        f.evidence.push(absent_evidence(
            cx,
            &format!("kubectl/namespaces/{NS}/deployments"),
            "deployments in arc-osm-system",
            &names,
        ));
    }
    if u.pod_check.is_none() {
        f.fix
            .push(format!("kubectl logs -n arc-osm-system -l app={app} --previous"));
    }
    f.fix.push(format!(
        "kubectl get {} -n arc-osm-system --selector app={app}",
        u.get_pods
    ));
    if dep.is_none() {
        f.fix.push(format!(
            "the extension lost its {}: {}; repair or reinstall the extension",
            u.lost,
            extension_show(cx)
        ));
    }
    vec![f]
}

/// OSM001's report: the deployment alone is judged; each pod's READY state is cited, with the
/// container of a pod that is not ready.
fn deployment_only(
    rule: &dyn Rule,
    cx: &Context,
    c: &Component,
    dep: Option<&Obj<crate::k8s::Deployment>>,
) -> Option<Finding> {
    let app = c.app;
    let subject = Subject::new("Deployment", Some(NS), app);
    let mut f = match dep {
        None if collected(cx, "deployments") => finding(
            rule,
            subject,
            format!("deployment {NS}/{app} is missing"),
            format!(
                "The deployments of {NS} were collected and {app} is not among them: {}.",
                c.unavailable.missing_consequence
            ),
        ),
        None => return None,
        Some(d) => {
            let desired = d.desired();
            let ready = d.status.ready_replicas;
            if desired > 0 && ready >= desired {
                return None;
            }
            let title = if desired == 0 {
                format!("deployment {NS}/{app} is scaled to 0 replicas")
            } else {
                format!("deployment {NS}/{app} has {ready}/{desired} ready replicas")
            };
            let mut f = finding(
                rule,
                subject,
                title,
                format!(
                    "READY {ready}/{desired} (available {}, unavailable {}); the guide's healthy output is READY 1/1.",
                    d.status.available_replicas, d.status.unavailable_replicas
                ),
            );
            f.evidence.push(replicas_evidence(d, app));
            for cond in d.status.conditions.iter().filter(|c| c.status != "True") {
                f.evidence.push(obj_evidence(
                    &d.src,
                    object_ref("Deployment", Some(NS), app),
                    &format!("status.conditions[type={}]", cond.type_),
                    &format!(
                        "{} {}: {}",
                        cond.type_,
                        cond.reason.as_deref().unwrap_or(""),
                        cond.message.as_deref().unwrap_or("")
                    ),
                ));
            }
            f
        }
    };
    for p in component_pods(cx, app) {
        f.evidence.push(pod_status_evidence(p));
        if !p.is_evicted() && !p.all_ready() {
            if let Some(ctr) = main_container(p, app) {
                cite_container(cx, p, ctr, &mut f);
            }
        }
    }
    Some(f)
}

/// OSM006's report: the deployment and the pods are judged together; every problem is listed,
/// each pod's READY state cited, then the container of each pod that is not healthy, with the
/// command that reads its previous log.
fn with_pods(
    rule: &dyn Rule,
    cx: &Context,
    c: &Component,
    dep: Option<&Obj<crate::k8s::Deployment>>,
    check: &PodCheck,
) -> Option<Finding> {
    let app = c.app;
    let mut problems: Vec<String> = Vec::new();
    match dep {
        None if collected(cx, "deployments") => problems.push(format!("deployment {app} is missing")),
        None => {}
        Some(d) => {
            let (desired, ready) = (d.desired(), d.status.ready_replicas);
            if desired == 0 {
                problems.push(format!("deployment {app} is scaled to 0 replicas"));
            } else if ready < desired {
                problems.push(format!("deployment {app} has {ready}/{desired} ready replicas"));
            }
        }
    }
    let pods = component_pods(cx, app);
    let healthy = |p: &Pod| p.all_ready() && p.ready_count() == (1, 1);
    if collected(cx, "pods") && !pods.iter().any(|p| healthy(p)) {
        if pods.is_empty() {
            problems.push(format!("no {app} pod exists"));
        } else {
            problems.push(format!(
                "no {app} pod is Running with READY 1/1 ({})",
                pods.iter()
                    .map(|p| format!("{} {}", p.metadata.name, ready_text(p)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    let first = problems.first()?;
    let mut f = finding(
        rule,
        Subject::new("Deployment", Some(NS), app),
        format!("{app} is unavailable: {first}"),
        format!(
            "{}. The guide's healthy output is {}.",
            problems.join("; "),
            check.healthy_output
        ),
    );
    if let Some(d) = dep {
        f.evidence.push(replicas_evidence(d, app));
    }
    for p in &pods {
        f.evidence.push(pod_status_evidence(p));
    }
    for p in pods
        .iter()
        .filter(|p| !p.is_evicted() && !p.is_succeeded() && !healthy(p))
    {
        if let Some(ctr) = main_container(p, app) {
            cite_container(cx, p, ctr, &mut f);
            f.fix
                .push(format!("kubectl logs -n {NS} {} -c {ctr} --previous", p.metadata.name));
        }
    }
    Some(f)
}

/// A pod's READY state and phase, cited.
fn pod_status_evidence(p: &Obj<Pod>) -> crate::finding::Evidence {
    obj_evidence(
        &p.src,
        object_ref("Pod", Some(NS), &p.metadata.name),
        "status",
        &ready_text(p),
    )
}
