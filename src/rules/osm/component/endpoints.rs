//! OSM005 and OSM008: the endpoints of a component have no ready address (on its port, if it
//! names one); the findings of the rules that say why are related. Knows no code: each rule's
//! identity comes from its rule file.

use super::Component;
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::osm::{absent_evidence, applies, collected, Meta, NS};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

/// The endpoints of a component, without a ready address (OSM005, OSM008).
pub struct NoEndpoints {
    pub meta: Meta,
    pub of: &'static Component,
}

impl Rule for NoEndpoints {
    crate::rules::osm::meta_rule!();

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, "endpoints")],
            ..Inputs::default()
        }
    }

    fn after(&self) -> &[&str] {
        self.of.endpoints.causes
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        no_ready_endpoints(self, cx, self.of)
    }
}

/// Endpoints `app` without a ready address (on the component's port, if it has one).
fn no_ready_endpoints(rule: &dyn Rule, cx: &Context, c: &Component) -> Vec<Finding> {
    let name = c.app;
    let (port, causes) = (c.endpoints.port, c.endpoints.causes);
    let ep = cx
        .snap
        .endpoints
        .iter()
        .find(|e| e.metadata.namespace.as_deref() == Some(NS) && e.metadata.name == name);
    let subject = Subject::new("Endpoints", Some(NS), name);
    let on_port = |s: &crate::k8s::EndpointSubset| port.map(|p| s.ports.iter().any(|x| x.port == p)).unwrap_or(true);
    let mut f = match ep {
        None if collected(cx, "endpoints") => {
            let mut f = finding(
                rule,
                subject,
                format!("service {NS}/{name} has no endpoints object"),
                format!("The endpoints of {NS} were collected and {name} is not among them: no pod backs the service."),
            );
            let names: Vec<String> = cx
                .snap
                .endpoints
                .iter()
                .filter(|e| e.metadata.namespace.as_deref() == Some(NS))
                .map(|e| e.metadata.name.to_string())
                .collect();
            f.evidence.push(absent_evidence(
                cx,
                &format!("kubectl/namespaces/{NS}/endpoints"),
                &format!("endpoints in {NS}"),
                &names,
            ));
            f
        }
        None => return Vec::new(),
        Some(e) => {
            let ready: usize = e.subsets.iter().filter(|s| on_port(s)).map(|s| s.addresses.len()).sum();
            if ready > 0 {
                return Vec::new();
            }
            let not_ready: usize = e.subsets.iter().map(|s| s.not_ready_addresses.len()).sum();
            let all: Vec<String> = e
                .subsets
                .iter()
                .flat_map(|s| {
                    let ports: Vec<String> = s.ports.iter().map(|p| p.port.to_string()).collect();
                    s.addresses
                        .iter()
                        .map(move |a| format!("{}:{} ready", a.ip, ports.join("|")))
                        .chain(s.not_ready_addresses.iter().map(|a| format!("{} not ready", a.ip)))
                        .collect::<Vec<_>>()
                })
                .collect();
            let port_text = port.map(|p| format!(" on port {p}")).unwrap_or_default();
            let mut f = finding(
                rule,
                subject,
                format!("service {NS}/{name} has no ready endpoint{port_text}"),
                format!(
                    "ENDPOINTS is empty{port_text}: {not_ready} not-ready address(es); the pods behind {name} are not ready or not running."
                ),
            );
            f.evidence.push(obj_evidence(
                &e.src,
                object_ref("Endpoints", Some(NS), name),
                "subsets",
                &if all.is_empty() {
                    "no subsets".to_string()
                } else {
                    all.join(", ")
                },
            ));
            f
        }
    };
    for code in causes {
        for p in cx.prior_of(code) {
            f.related.push(p.as_related());
        }
    }
    f.fix.push(format!(
        "the pods behind {name} are unhealthy: kubectl get pods -n {NS} --selector app={name} (see {})",
        causes.join("/")
    ));
    vec![f]
}
