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

use super::component::{ServiceWrong, CONTROLLER};
use super::Meta;
use crate::finding::Severity;

/// OSM004: [`ServiceWrong`] for osm-controller.
pub const RULE: ServiceWrong = ServiceWrong {
    meta: Meta {
        code: "OSM004",
        name: "osm-controller-service-wrong",
        severity: Severity::Error,
        doc,
    },
    of: &CONTROLLER,
};

fn doc() -> String {
    crate::rule_doc!()
}
