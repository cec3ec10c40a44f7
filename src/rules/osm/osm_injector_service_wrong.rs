//! OSM007 osm-injector-service-wrong (error)
//!
//! What it detects: the service `osm-injector` in `arc-osm-system` is missing, lacks port
//! 9090, or has an external IP (an `externalIPs` entry, a load balancer address, or type
//! `LoadBalancer`).
//!
//! Why it matters: the API server calls the sidecar-injecting webhook through this service on
//! port 9090. The guide's healthy output is a `ClusterIP` service with no EXTERNAL-IP; an
//! external address exposes the injector outside the cluster.
//!
//! Evidence: the service's type, ports and external addresses.
//!
//! Fix: the expected service is `osm-injector ClusterIP <cluster-ip> <none> 9090/TCP`; repair or
//! reinstall the OSM extension, and remove any external exposure.

use super::{applies, collected, extension_show, NS};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmInjectorServiceWrong;

impl Rule for OsmInjectorServiceWrong {
    crate::rule_meta!("OSM007", "osm-injector-service-wrong", Error);

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
        let subject = Subject::new("Service", Some(NS), "osm-injector");
        let svc = cx
            .snap
            .services
            .iter()
            .find(|s| s.metadata.namespace.as_deref() == Some(NS) && s.metadata.name == "osm-injector");
        let mut f = match svc {
            None if collected(cx, "services") => finding(
                self,
                subject,
                "service arc-osm-system/osm-injector is missing",
                "The services of arc-osm-system were collected and osm-injector is not among them: the sidecar-injecting webhook cannot be called.",
            ),
            None => return Vec::new(),
            Some(s) => {
                let mut problems = Vec::new();
                let ports: Vec<String> = s
                    .spec
                    .ports
                    .iter()
                    .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
                    .collect();
                if !s.spec.ports.iter().any(|p| p.port == 9090) {
                    problems.push(format!(
                        "lacks port 9090 (ports: {})",
                        if ports.is_empty() { "none".to_string() } else { ports.join(",") }
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
                    return Vec::new();
                }
                let mut f = finding(
                    self,
                    subject,
                    format!("service arc-osm-system/osm-injector {}", problems.join(" and ")),
                    format!(
                        "TYPE {ty} PORT(S) {} EXTERNAL-IP {}; expected ClusterIP, 9090/TCP, no external IP.",
                        ports.join(","),
                        if ext.is_empty() { "<none>".to_string() } else { ext.join(",") }
                    ),
                );
                f.evidence.push(obj_evidence(
                    &s.src,
                    object_ref("Service", Some(NS), "osm-injector"),
                    "spec",
                    &format!(
                        "type {ty} ports {} externalIPs [{}]",
                        ports.join(","),
                        ext.join(",")
                    ),
                ));
                f
            }
        };
        f.fix.push(
            "expected: osm-injector ClusterIP <cluster-ip> <none> 9090/TCP (kubectl get service -n arc-osm-system osm-injector)".into(),
        );
        f.fix.push(format!(
            "restore it by repairing or reinstalling the OSM extension: {}",
            extension_show(cx)
        ));
        vec![f]
    }
}
