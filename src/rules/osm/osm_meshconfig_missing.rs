//! OSM012 osm-meshconfig-missing (error)
//!
//! What it detects: there is no MeshConfig `osm-mesh-config` in `arc-osm-system` (`kubectl get
//! meshconfig osm-mesh-config -n arc-osm-system` finds nothing), including when the cluster does
//! not serve the MeshConfig type at all.
//!
//! Why it matters: the OSM control plane reads all of its settings from this object; without it
//! the controller cannot configure the mesh.
//!
//! Evidence: the MeshConfigs the bundle holds (none, or others by name).
//!
//! Fix: the extension creates it: repair or reinstall the OSM extension.

use super::meshconfig::MeshConfigRule;
use super::{extension_show, Meta, MESHCONFIG, MESHCONFIG_RESOURCE, NS};
use crate::bundle::RawObject;
use crate::finding::{Evidence, Finding, Severity, Subject};
use crate::model::Need;
use crate::rules::{finding, Context, Rule};

/// OSM012: [`MeshConfigRule`] that fires when `osm-mesh-config` is absent.
pub const RULE: MeshConfigRule = MeshConfigRule {
    meta: Meta {
        code: "OSM012",
        name: "osm-meshconfig-missing",
        severity: Severity::Error,
        doc,
    },
    check,
};

fn doc() -> String {
    crate::rule_doc!()
}

fn check(rule: &dyn Rule, cx: &Context, mc: Option<&RawObject>) -> Vec<Finding> {
    if !cx.snap.has(&Need::NsResource(NS, MESHCONFIG_RESOURCE)) || mc.is_some() {
        return Vec::new();
    }
    let others: Vec<String> = cx
        .snap
        .resources(MESHCONFIG_RESOURCE)
        .map(|o| format!("{}/{}", o.namespace().unwrap_or(""), o.name()))
        .collect();
    let mut f = finding(
        rule,
        Subject::new("MeshConfig", Some(NS), MESHCONFIG),
        "MeshConfig arc-osm-system/osm-mesh-config is missing",
        if others.is_empty() {
            "The MeshConfigs were collected and there is none: OSM's control plane has no configuration.".to_string()
        } else {
            format!(
                "The MeshConfigs were collected; only {} exist, not {NS}/{MESHCONFIG}.",
                others.join(", ")
            )
        },
    );
    let input = cx
        .snap
        .bundle
        .inputs
        .values()
        .find(|i| i.id.ends_with(MESHCONFIG_RESOURCE) && i.path.is_some());
    f.evidence.push(Evidence {
        path: input
            .and_then(|i| i.path.clone())
            .unwrap_or_else(|| format!("kubectl/namespaces/{NS}/{MESHCONFIG_RESOURCE}.json")),
        line: None,
        object: None,
        field: None,
        excerpt: if others.is_empty() {
            "no MeshConfig".into()
        } else {
            others.join(", ")
        },
    });
    f.fix
        .push("kubectl get meshconfig osm-mesh-config -n arc-osm-system".into());
    f.fix.push(format!(
        "the extension creates it: {}; repair or reinstall the OSM extension",
        extension_show(cx)
    ));
    vec![f]
}
