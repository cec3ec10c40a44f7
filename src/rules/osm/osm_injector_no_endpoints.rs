//! OSM008 osm-injector-no-endpoints (error)
//!
//! What it detects: the endpoints `osm-injector` in `arc-osm-system` have no ready address on
//! port 9090, or do not exist.
//!
//! Why it matters: the guide: for OSM to work, osm-injector needs at least one endpoint, and
//! its port must be 9090. Without it the mutating webhook cannot be called, so no pod in a
//! meshed namespace gets its Envoy sidecar (and, with `failurePolicy: Fail`, pod creation there
//! fails).
//!
//! Evidence: the endpoints' addresses and ports; the OSM006 finding that says why, as related.
//!
//! Fix: see OSM006 (`kubectl get pod -n arc-osm-system --selector app=osm-injector`).

use super::component::{NoEndpoints, INJECTOR};
use super::Meta;
use crate::finding::Severity;

/// OSM008: [`NoEndpoints`] for osm-injector.
pub const RULE: NoEndpoints = NoEndpoints {
    meta: Meta {
        code: "OSM008",
        name: "osm-injector-no-endpoints",
        severity: Severity::Error,
        doc,
    },
    of: &INJECTOR,
};

fn doc() -> String {
    crate::rule_doc!()
}
