//! OSM005 osm-controller-no-endpoints (error)
//!
//! What it detects: the endpoints `osm-controller` in `arc-osm-system` have no ready address
//! (`notReadyAddresses` do not count), or do not exist at all.
//!
//! Why it matters: the guide says it plainly: no `osm-controller` endpoints means the control
//! plane is unhealthy, because the controller pod crashed or was never deployed correctly.
//! Nothing answers on the service.
//!
//! Evidence: the endpoints' ready and not-ready addresses; the OSM001/OSM002 findings that say
//! why, listed as related.
//!
//! Fix: the control plane is unhealthy: see OSM001 and OSM002
//! (`kubectl get pods -n arc-osm-system --selector app=osm-controller`).

use super::{applies, collected, NS};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmControllerNoEndpoints;

impl Rule for OsmControllerNoEndpoints {
    crate::rule_meta!("OSM005", "osm-controller-no-endpoints", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, "endpoints")],
            ..Inputs::default()
        }
    }

    fn after(&self) -> &[&str] {
        &["OSM001", "OSM002"]
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        no_ready_endpoints(self, cx, "osm-controller", None, &["OSM001", "OSM002"])
    }
}

/// Shared by OSM005 and OSM008: endpoints `name` without a ready address (on `port`, if given).
pub fn no_ready_endpoints(
    rule: &dyn Rule,
    cx: &Context,
    name: &str,
    port: Option<i64>,
    causes: &[&'static str],
) -> Vec<Finding> {
    let ep = cx
        .snap
        .endpoints
        .iter()
        .find(|e| e.metadata.namespace.as_deref() == Some(NS) && e.metadata.name == name);
    let subject = Subject::new("Endpoints", Some(NS), name);
    let on_port = |s: &crate::k8s::EndpointSubset| port.map(|p| s.ports.iter().any(|x| x.port == p)).unwrap_or(true);
    let mut f = match ep {
        None if collected(cx, "endpoints") => finding(
            rule,
            subject,
            format!("service {NS}/{name} has no endpoints object"),
            format!("The endpoints of {NS} were collected and {name} is not among them: no pod backs the service."),
        ),
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
    let app = name;
    f.fix.push(format!(
        "the pods behind {name} are unhealthy: kubectl get pods -n {NS} --selector app={app} (see {})",
        causes.join("/")
    ));
    vec![f]
}
