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

use super::component::{Unavailable, INJECTOR};
use super::Meta;
use crate::finding::Severity;

/// OSM006: [`Unavailable`] for osm-injector.
pub const RULE: Unavailable = Unavailable {
    meta: Meta {
        code: "OSM006",
        name: "osm-injector-unavailable",
        severity: Severity::Error,
        doc,
    },
    of: &INJECTOR,
};

fn doc() -> String {
    crate::rule_doc!()
}
