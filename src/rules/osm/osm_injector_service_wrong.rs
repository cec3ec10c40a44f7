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

use super::component::{ServiceWrong, INJECTOR};
use super::Meta;
use crate::finding::Severity;

/// OSM007: [`ServiceWrong`] for osm-injector.
pub const RULE: ServiceWrong = ServiceWrong {
    meta: Meta {
        code: "OSM007",
        name: "osm-injector-service-wrong",
        severity: Severity::Error,
        doc,
    },
    of: &INJECTOR,
};

fn doc() -> String {
    crate::rule_doc!()
}
