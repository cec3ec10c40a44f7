//! OSM004 osm-controller-service-wrong (error)
//!
//! What it detects: the service `osm-controller` in `arc-osm-system` is missing, or lacks port
//! `15128/TCP` (the xDS port Envoy sidecars connect to) or `9092/TCP` (the controller's
//! endpoint the guide lists). Other ports, such as 9091 for health, are fine.
//!
//! Why it matters: sidecars reach the control plane through this service; without the xDS port
//! they never receive configuration.
//!
//! Evidence: the service's ports as the bundle has them.
//!
//! Fix: the guide's healthy output is `osm-controller ClusterIP ... 15128/TCP,9092/TCP`; restore
//! the service by repairing or reinstalling the OSM extension (a hand edit is reverted by the
//! extension's Helm release).

use super::{applies, collected, extension_show, NS};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmControllerServiceWrong;

/// The ports the guide's healthy output shows.
const PORTS: [i64; 2] = [15128, 9092];

impl Rule for OsmControllerServiceWrong {
    crate::rule_meta!("OSM004", "osm-controller-service-wrong", Error);

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
        let subject = Subject::new("Service", Some(NS), "osm-controller");
        let svc = cx
            .snap
            .services
            .iter()
            .find(|s| s.metadata.namespace.as_deref() == Some(NS) && s.metadata.name == "osm-controller");
        let mut f = match svc {
            None if collected(cx, "services") => finding(
                self,
                subject,
                "service arc-osm-system/osm-controller is missing",
                "The services of arc-osm-system were collected and osm-controller is not among them: sidecars cannot reach the control plane.",
            ),
            None => return Vec::new(),
            Some(s) => {
                let have: Vec<String> = s
                    .spec
                    .ports
                    .iter()
                    .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
                    .collect();
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
                    return Vec::new();
                }
                let mut f = finding(
                    self,
                    subject,
                    format!("service arc-osm-system/osm-controller lacks {}", missing.join(", ")),
                    format!(
                        "Ports: {}; expected 15128/TCP and 9092/TCP.",
                        if have.is_empty() { "none".to_string() } else { have.join(",") }
                    ),
                );
                f.evidence.push(obj_evidence(
                    &s.src,
                    object_ref("Service", Some(NS), "osm-controller"),
                    "spec.ports",
                    &have.join(","),
                ));
                f
            }
        };
        f.fix.push(
            "expected: osm-controller ClusterIP <cluster-ip> <none> 15128/TCP,9092/TCP (kubectl get service -n arc-osm-system osm-controller)".into(),
        );
        f.fix.push(format!(
            "restore it by repairing or reinstalling the OSM extension: {}",
            extension_show(cx)
        ));
        vec![f]
    }
}
