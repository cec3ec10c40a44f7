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

use super::osm_validating_webhook_wrong::{check_webhook, Expected};
use super::{applies, MUTATING_WEBHOOK, NS};
use crate::finding::Finding;
use crate::model::Need;
use crate::rules::{Applies, Context, Inputs, Rule};

pub struct OsmMutatingWebhookWrong;

impl Rule for OsmMutatingWebhookWrong {
    crate::rule_meta!("OSM010", "osm-mutating-webhook-wrong", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("mutatingwebhookconfigurations")],
            optional: vec![Need::NsResource(NS, "services")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let expected = Expected {
            name: "osm-injector",
            name_required: true,
            paths: &["/mutate-pod-creation"],
            port: 9090,
        };
        check_webhook(
            self,
            cx,
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            MUTATING_WEBHOOK,
            "osm-injector",
            &expected,
        )
    }
}
