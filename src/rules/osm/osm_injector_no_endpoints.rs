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

use super::osm_controller_no_endpoints::no_ready_endpoints;
use super::{applies, NS};
use crate::finding::Finding;
use crate::model::Need;
use crate::rules::{Applies, Context, Inputs, Rule};

pub struct OsmInjectorNoEndpoints;

impl Rule for OsmInjectorNoEndpoints {
    crate::rule_meta!("OSM008", "osm-injector-no-endpoints", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, "endpoints")],
            ..Inputs::default()
        }
    }

    fn after(&self) -> &[&str] {
        &["OSM006"]
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        no_ready_endpoints(self, cx, "osm-injector", Some(9090), &["OSM006"])
    }
}
