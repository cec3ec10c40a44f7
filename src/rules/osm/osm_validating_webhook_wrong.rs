//! OSM009 osm-validating-webhook-wrong (error)
//!
//! What it detects: the ValidatingWebhookConfiguration `osm-validator-mesh-osm` is missing, or
//! a webhook's `clientConfig.service` does not point into `arc-osm-system` on port 9093 with
//! path `/validate` (the guide, service `osm-config-validator`) or `/validate-webhook` (older
//! OSM releases), or the services were collected and the service it names does not exist.
//!
//! Why it matters: the API server sends OSM's custom resources to this webhook for validation;
//! pointing it anywhere else makes those requests fail or go unchecked.
//!
//! Evidence: the webhook's service block as the bundle has it, and whether that service exists.
//!
//! Fix: the expected block is `{"name": "osm-config-validator", "namespace": "arc-osm-system",
//! "path": "/validate", "port": 9093}`; the OSM controller owns this configuration: repair or
//! reinstall the extension rather than editing it.

use super::webhook::{Expected, WebhookWrong};
use super::{Meta, VALIDATING_WEBHOOK};
use crate::finding::Severity;

/// OSM009: [`WebhookWrong`] for the ValidatingWebhookConfiguration osm-controller registers.
pub const RULE: WebhookWrong = WebhookWrong {
    meta: Meta {
        code: "OSM009",
        name: "osm-validating-webhook-wrong",
        severity: Severity::Error,
        doc,
    },
    kind: "ValidatingWebhookConfiguration",
    resource: "validatingwebhookconfigurations",
    name: VALIDATING_WEBHOOK,
    app: "osm-controller",
    expected: Expected {
        name: "osm-config-validator",
        name_required: false,
        paths: &["/validate", "/validate-webhook"],
        port: 9093,
    },
};

fn doc() -> String {
    crate::rule_doc!()
}
