//! The webhook pair of OSM rules, one implementation for the ValidatingWebhookConfiguration the
//! controller registers (OSM009) and the MutatingWebhookConfiguration of the injector (OSM010):
//! the configuration is missing, or a webhook's `clientConfig.service` is not the expected block.
//! The rule files hold each code's identity, what it expects and its `arcdiag explain` text.

use super::{absent_evidence, applies, webhook_config, Meta, NS};
use crate::finding::{Finding, Subject};
use crate::k8s::WebhookConfiguration;
use crate::model::{object_ref, Need, Obj};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

/// An OSM webhook configuration that must call the right service.
pub struct WebhookWrong {
    pub meta: Meta,
    /// `ValidatingWebhookConfiguration` or `MutatingWebhookConfiguration`.
    pub kind: &'static str,
    /// The resource the configurations are collected as.
    pub resource: &'static str,
    /// The configuration's Arc name.
    pub name: &'static str,
    /// The component that registers it (its `app` label).
    pub app: &'static str,
    pub expected: Expected,
}

impl Rule for WebhookWrong {
    super::meta_rule!();

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource(self.resource)],
            optional: vec![Need::NsResource(NS, "services")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        check_webhook(self, cx)
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

/// The check of OSM009 and OSM010.
fn check_webhook(rule: &WebhookWrong, cx: &Context) -> Vec<Finding> {
    let (kind, resource, name, app, want) = (rule.kind, rule.resource, rule.name, rule.app, &rule.expected);
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
            .map(|w| w.metadata.name.to_string())
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
