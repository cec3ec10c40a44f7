//! The control-plane pairs of OSM rules, one implementation each for osm-controller and
//! osm-injector: the deployment unavailable (OSM001, OSM006), the service wrong (OSM004, OSM007),
//! the endpoints without a ready address (OSM005, OSM008). A [`Component`] holds everything the
//! two differ in; the rule files hold each code's identity and `arcdiag explain` text; one file here per
//! pair (`unavailable`, `service`, `endpoints`). Holds no rule doc of its own.

mod endpoints;
mod service;
mod unavailable;

pub use endpoints::NoEndpoints;
pub use service::ServiceWrong;
pub use unavailable::Unavailable;

use crate::k8s::Service;
use service::{controller_service, injector_service};

/// What the pair rules know of one control-plane component.
pub struct Component {
    /// The deployment, service, endpoints and `app` label, all named alike (`osm-controller`).
    pub app: &'static str,
    pub unavailable: Unavailability,
    pub service: ServiceSpec,
    pub endpoints: EndpointsSpec,
}

/// How OSM001/OSM006 judge and report the deployment.
pub struct Unavailability {
    /// The pods are a required input (OSM006 judges them), not only evidence (OSM001).
    pub pods_required: bool,
    /// `Some(problem texts)`: the component is judged as a whole, and it is unavailable as well
    /// when no pod is `Running` with READY `1/1` (OSM006's guide); the finding lists every
    /// problem. `None`: only the deployment is judged and the finding names its replicas and
    /// conditions (OSM001).
    pub pod_check: Option<PodCheck>,
    /// What the mesh loses with the deployment, for the fix (`control plane`).
    pub lost: &'static str,
    /// The message when the deployment is missing (deployment-only reports).
    pub missing_consequence: &'static str,
    /// The `kubectl get pods` fix line (`pods` or `pod`, as each rule has printed it).
    pub get_pods: &'static str,
}

/// OSM006's judgement of the pods as a whole.
pub struct PodCheck {
    /// The guide's healthy output, after the problems.
    pub healthy_output: &'static str,
}

/// What OSM004/OSM007 expect of the service.
pub struct ServiceSpec {
    /// What is lost when the service is missing (`sidecars cannot reach the control plane`).
    pub missing_consequence: &'static str,
    /// The guide's healthy `kubectl get service` line, for the fix.
    pub expected: &'static str,
    /// What is wrong with the service, if anything.
    pub check: fn(&Service) -> Option<ServiceProblem>,
}

/// What is wrong with a service: the title's tail, the message, and the cited field and text.
pub struct ServiceProblem {
    pub what: String,
    pub message: String,
    pub field: &'static str,
    pub excerpt: String,
}

/// What OSM005/OSM008 expect of the endpoints.
pub struct EndpointsSpec {
    /// The port a ready address must serve, if one.
    pub port: Option<i64>,
    /// The codes whose findings say why (run before, cited as related).
    pub causes: &'static [&'static str],
}

pub const CONTROLLER: Component = Component {
    app: "osm-controller",
    unavailable: Unavailability {
        pods_required: false,
        pod_check: None,
        lost: "control plane",
        missing_consequence: "the mesh has no control plane",
        get_pods: "pods",
    },
    service: ServiceSpec {
        missing_consequence: "sidecars cannot reach the control plane",
        expected: "15128/TCP,9092/TCP",
        check: controller_service,
    },
    endpoints: EndpointsSpec {
        port: None,
        causes: &["OSM001", "OSM002"],
    },
};

pub const INJECTOR: Component = Component {
    app: "osm-injector",
    unavailable: Unavailability {
        pods_required: true,
        pod_check: Some(PodCheck {
            healthy_output: "deployment READY 1/1 and one pod READY 1/1 Running",
        }),
        lost: "injector",
        missing_consequence: "",
        get_pods: "pod",
    },
    service: ServiceSpec {
        missing_consequence: "the sidecar-injecting webhook cannot be called",
        expected: "9090/TCP",
        check: injector_service,
    },
    endpoints: EndpointsSpec {
        port: Some(9090),
        causes: &["OSM006"],
    },
};
