//! OSM001 osm-controller-unavailable (error)
//!
//! What it detects: the deployment `osm-controller` in `arc-osm-system` is missing, or has fewer
//! ready replicas than it wants (the guide's healthy output is READY `1/1`).
//!
//! Why it matters: osm-controller is the mesh's control plane. Without it no Envoy sidecar gets
//! configuration or certificates, and the validating webhook it serves refuses OSM objects.
//!
//! Evidence: the deployment's `spec.replicas` and `status.readyReplicas`, the READY state and
//! restart count of each controller pod, and the last lines of a controller log when the
//! bundle has one.
//!
//! Fix: read the controller's log (`kubectl logs -n arc-osm-system -l app=osm-controller`,
//! with `--previous` after a crash); a missing deployment means the extension must be repaired
//! or reinstalled. OSM002 says why a controller pod is not running.

use super::component::{Unavailable, CONTROLLER};
use super::Meta;
use crate::finding::Severity;

/// OSM001: [`Unavailable`] for osm-controller.
pub const RULE: Unavailable = Unavailable {
    meta: Meta {
        code: "OSM001",
        name: "osm-controller-unavailable",
        severity: Severity::Error,
        doc,
    },
    of: &CONTROLLER,
};

fn doc() -> String {
    crate::rule_doc!()
}
