//! OSM010 osm-mutating-webhook-wrong (error)
//!
//! What it detects: the MutatingWebhookConfiguration `arc-osm-webhook-osm` is missing, or a
//! webhook's `clientConfig.service` is not `{name: osm-injector, namespace: arc-osm-system,
//! path: /mutate-pod-creation, port: 9090}`, or the services were collected and `osm-injector`
//! does not exist.
//!
//! Why it matters: this webhook is how Envoy sidecars get into pods. A wrong service block means
//! new pods in meshed namespaces start without sidecars or cannot be created.
//!
//! Evidence: the webhook's service block as the bundle has it, and whether the service exists.
//!
//! Fix: the expected block is `{"name": "osm-injector", "namespace": "arc-osm-system",
//! "path": "/mutate-pod-creation", "port": 9090}`; the injector owns this configuration: repair
//! or reinstall the extension rather than editing it.

use super::webhook::{Expected, WebhookWrong};
use super::{Meta, MUTATING_WEBHOOK};
use crate::finding::Severity;

/// OSM010: [`WebhookWrong`] for the MutatingWebhookConfiguration osm-injector registers.
pub const RULE: WebhookWrong = WebhookWrong {
    meta: Meta {
        code: "OSM010",
        name: "osm-mutating-webhook-wrong",
        severity: Severity::Error,
        doc,
    },
    kind: "MutatingWebhookConfiguration",
    resource: "mutatingwebhookconfigurations",
    name: MUTATING_WEBHOOK,
    app: "osm-injector",
    expected: Expected {
        name: "osm-injector",
        name_required: true,
        paths: &["/mutate-pod-creation"],
        port: 9090,
    },
};

fn doc() -> String {
    crate::rule_doc!()
}
