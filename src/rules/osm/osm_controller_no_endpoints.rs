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

use super::component::{NoEndpoints, CONTROLLER};
use super::Meta;
use crate::finding::Severity;

/// OSM005: [`NoEndpoints`] for osm-controller.
pub const RULE: NoEndpoints = NoEndpoints {
    meta: Meta {
        code: "OSM005",
        name: "osm-controller-no-endpoints",
        severity: Severity::Error,
        doc,
    },
    of: &CONTROLLER,
};

fn doc() -> String {
    crate::rule_doc!()
}
