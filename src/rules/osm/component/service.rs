//! OSM004 and OSM007: the service of a component is missing or wrong; what wrong means for each
//! component ([`controller_service`], [`injector_service`]) its [`Component`] entry names. Knows no
//! code: each rule's identity comes from its rule file.

use super::{Component, ServiceProblem};
use crate::finding::{Finding, Subject};
use crate::k8s::Service;
use crate::model::{object_ref, Need};
use crate::rules::osm::{absent_evidence, applies, collected, extension_show, Meta, NS};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

/// The service of a component, missing or wrong (OSM004, OSM007).
pub struct ServiceWrong {
    pub meta: Meta,
    pub of: &'static Component,
}

impl Rule for ServiceWrong {
    crate::rules::osm::meta_rule!();

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, "services")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        service_wrong(self, cx, self.of)
    }
}

fn service_wrong(rule: &dyn Rule, cx: &Context, c: &Component) -> Vec<Finding> {
    let app = c.app;
    let subject = Subject::new("Service", Some(NS), app);
    let svc = cx
        .snap
        .services
        .iter()
        .find(|s| s.metadata.namespace.as_deref() == Some(NS) && s.metadata.name == app);
    let mut f = match svc {
        None if collected(cx, "services") => {
            let mut f = finding(
                rule,
                subject,
                format!("service {NS}/{app} is missing"),
                format!(
                    "The services of {NS} were collected and {app} is not among them: {}.",
                    c.service.missing_consequence
                ),
            );
            let names: Vec<String> = cx
                .snap
                .services
                .iter()
                .filter(|s| s.metadata.namespace.as_deref() == Some(NS))
                .map(|s| s.metadata.name.to_string())
                .collect();
            f.evidence.push(absent_evidence(
                cx,
                &format!("kubectl/namespaces/{NS}/services"),
                &format!("services in {NS}"),
                &names,
            ));
            f
        }
        None => return Vec::new(),
        Some(s) => {
            let Some(p) = (c.service.check)(s) else {
                return Vec::new();
            };
            let mut f = finding(rule, subject, format!("service {NS}/{app} {}", p.what), p.message);
            f.evidence.push(obj_evidence(
                &s.src,
                object_ref("Service", Some(NS), app),
                p.field,
                &p.excerpt,
            ));
            f
        }
    };
    f.fix.push(format!(
        "expected: {app} ClusterIP <cluster-ip> <none> {} (kubectl get service -n {NS} {app})",
        c.service.expected
    ));
    f.fix.push(format!(
        "restore it by repairing or reinstalling the OSM extension: {}",
        extension_show(cx)
    ));
    vec![f]
}

/// `port/protocol` of each port of a service (TCP when unset).
fn port_texts(s: &Service) -> Vec<String> {
    s.spec
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
        .collect()
}

/// OSM004: the xDS port 15128/TCP and 9092/TCP, as the guide's healthy output lists them.
pub(super) fn controller_service(s: &Service) -> Option<ServiceProblem> {
    const PORTS: [i64; 2] = [15128, 9092];
    let have = port_texts(s);
    let missing: Vec<String> = PORTS
        .iter()
        .filter(|want| {
            !s.spec
                .ports
                .iter()
                .any(|p| p.port == **want && p.protocol.as_deref().unwrap_or("TCP") == "TCP")
        })
        .map(|p| format!("{p}/TCP"))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(ServiceProblem {
        what: format!("lacks {}", missing.join(", ")),
        message: format!(
            "Ports: {}; expected 15128/TCP and 9092/TCP.",
            if have.is_empty() {
                "none".to_string()
            } else {
                have.join(",")
            }
        ),
        field: "spec.ports",
        excerpt: have.join(","),
    })
}

/// OSM007: port 9090, and no external address (a `ClusterIP` service).
pub(super) fn injector_service(s: &Service) -> Option<ServiceProblem> {
    let mut problems = Vec::new();
    let ports = port_texts(s);
    if !s.spec.ports.iter().any(|p| p.port == 9090) {
        problems.push(format!(
            "lacks port 9090 (ports: {})",
            if ports.is_empty() {
                "none".to_string()
            } else {
                ports.join(",")
            }
        ));
    }
    let ext = s.external_addresses();
    let ty = s.spec.type_.as_deref().unwrap_or("ClusterIP");
    if !ext.is_empty() {
        problems.push(format!("has external IP {}", ext.join(",")));
    } else if ty == "LoadBalancer" {
        problems.push("is of type LoadBalancer (EXTERNAL-IP <pending>)".to_string());
    }
    if problems.is_empty() {
        return None;
    }
    Some(ServiceProblem {
        what: problems.join(" and "),
        message: format!(
            "TYPE {ty} PORT(S) {} EXTERNAL-IP {}; expected ClusterIP, 9090/TCP, no external IP.",
            ports.join(","),
            if ext.is_empty() {
                "<none>".to_string()
            } else {
                ext.join(",")
            }
        ),
        field: "spec",
        excerpt: format!("type {ty} ports {} externalIPs [{}]", ports.join(","), ext.join(",")),
    })
}
