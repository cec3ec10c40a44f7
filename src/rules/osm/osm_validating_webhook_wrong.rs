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

use super::{absent_evidence, applies, webhook_config, NS, VALIDATING_WEBHOOK};
use crate::finding::{Finding, Subject};
use crate::k8s::WebhookConfiguration;
use crate::model::{object_ref, Need, Obj};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct OsmValidatingWebhookWrong;

impl Rule for OsmValidatingWebhookWrong {
    crate::rule_meta!("OSM009", "osm-validating-webhook-wrong", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("validatingwebhookconfigurations")],
            optional: vec![Need::NsResource(NS, "services")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let expected = Expected {
            name: "osm-config-validator",
            name_required: false,
            paths: &["/validate", "/validate-webhook"],
            port: 9093,
        };
        check_webhook(
            self,
            cx,
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            VALIDATING_WEBHOOK,
            "osm-controller",
            &expected,
        )
    }
}

/// The service block an OSM webhook must have. With `name_required: false` any service that
/// exists is accepted (OSM releases named the validator's service differently).
pub struct Expected {
    pub name: &'static str,
    pub name_required: bool,
    pub paths: &'static [&'static str],
    pub port: i64,
}

impl Expected {
    fn block(&self) -> String {
        format!(
            "{{\"name\": \"{}\", \"namespace\": \"{NS}\", \"path\": \"{}\", \"port\": {}}}",
            self.name, self.paths[0], self.port
        )
    }
}

/// Shared by OSM009 and OSM010.
pub fn check_webhook(
    rule: &dyn Rule,
    cx: &Context,
    kind: &str,
    resource: &'static str,
    name: &str,
    app: &str,
    want: &Expected,
) -> Vec<Finding> {
    let Some(cfg) = webhook_config(cx, kind, name, app) else {
        if !cx.snap.has(&Need::Resource(resource)) {
            return Vec::new();
        }
        let mut f = finding(
            rule,
            Subject::new(kind, None, name),
            format!("{kind} {name} is missing"),
            format!(
                "The {resource} were collected and {name} is not among them (nor any configuration labeled app={app}): OSM's webhook is not registered."
            ),
        );
        let names: Vec<String> = cx
            .snap
            .webhooks
            .iter()
            .filter(|w| w.kind == kind)
            .map(|w| w.metadata.name.clone())
            .collect();
        f.evidence.push(absent_evidence(
            cx,
            &format!("kubectl/cluster/{resource}"),
            resource,
            &names,
        ));
        f.fix.push(format!(
            "expected: {kind} {name} with clientConfig.service {}",
            want.block()
        ));
        f.fix.push(format!("kubectl get {kind} --selector app={app}"));
        f.fix.push("the OSM control plane registers it at start: check osm-controller/osm-injector (OSM001, OSM006), or repair the extension".into());
        return vec![f];
    };
    let services_known = cx.snap.has(&Need::NsResource(NS, "services"));
    let mut problems: Vec<String> = Vec::new();
    let mut evidence = Vec::new();
    if cfg.webhooks.is_empty() {
        problems.push("it holds no webhook".into());
    }
    for (i, w) in cfg.webhooks.iter().enumerate() {
        let Some(s) = &w.client_config.service else {
            problems.push(format!(
                "webhooks[{i}] calls url {} instead of a service",
                w.client_config.url.as_deref().unwrap_or("<none>")
            ));
            evidence.push(ev(
                cfg,
                i,
                "clientConfig",
                &format!("url {}", w.client_config.url.as_deref().unwrap_or("<none>")),
            ));
            continue;
        };
        let port = s.port.unwrap_or(443);
        let path = s.path.as_deref().unwrap_or("");
        let block = format!(
            "{{\"name\": \"{}\", \"namespace\": \"{}\", \"path\": \"{}\", \"port\": {port}}}",
            s.name, s.namespace, path
        );
        let mut bad = Vec::new();
        if s.namespace != NS {
            bad.push(format!("namespace {} (expected {NS})", s.namespace));
        }
        if want.name_required && s.name != want.name {
            bad.push(format!("name {} (expected {})", s.name, want.name));
        }
        if port != want.port {
            bad.push(format!("port {port} (expected {})", want.port));
        }
        if !want.paths.contains(&path) {
            bad.push(format!(
                "path {} (expected {})",
                if path.is_empty() { "<none>" } else { path },
                want.paths.join(" or ")
            ));
        }
        if s.namespace == NS && services_known {
            let exists = cx
                .snap
                .services
                .iter()
                .any(|x| x.metadata.namespace.as_deref() == Some(NS) && x.metadata.name == s.name);
            if !exists {
                bad.push(format!("service {NS}/{} does not exist", s.name));
            }
        }
        if !bad.is_empty() {
            problems.push(format!("webhooks[{i}] ({}): {}", w.name, bad.join(", ")));
            evidence.push(ev(cfg, i, "clientConfig.service", &block));
        }
    }
    if problems.is_empty() {
        return Vec::new();
    }
    let mut f = finding(
        rule,
        Subject::new(kind, None, &cfg.metadata.name),
        format!("{kind} {} points at the wrong service", cfg.metadata.name),
        format!("{}.", problems.join("; ")),
    );
    f.evidence = evidence;
    f.fix.push(format!("expected clientConfig.service: {}", want.block()));
    f.fix.push(format!(
        "kubectl get {kind} {} -o json | jq '.webhooks[0].clientConfig.service'",
        cfg.metadata.name
    ));
    f.fix.push(
        "the OSM control plane owns this configuration: repair or reinstall the OSM extension instead of editing it"
            .into(),
    );
    vec![f]
}

fn ev(cfg: &Obj<WebhookConfiguration>, i: usize, field: &str, text: &str) -> crate::finding::Evidence {
    obj_evidence(
        &cfg.src,
        object_ref(&cfg.kind, None, &cfg.metadata.name),
        &format!("webhooks[{i}].{field}"),
        text,
    )
}
