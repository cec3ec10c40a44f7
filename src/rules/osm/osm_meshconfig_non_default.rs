//! OSM014 osm-meshconfig-non-default (info)
//!
//! What it detects: a key of the guide's MeshConfig table whose value in `osm-mesh-config`
//! differs from the table's default, compared with typed defaults (booleans as booleans, so
//! `enableWASMStats: true` matches the guide's `"true"`). Keys with a value of the wrong type are
//! OSM013's, and keys that are not set are not compared.
//!
//! Why it matters: worth knowing when the mesh misbehaves: permissive mode off means traffic
//! needs SMI policies, egress off blocks calls out of the mesh, a debug log level is noisy.
//!
//! Evidence: each key, its value and the default.
//!
//! Fix: the `kubectl patch meshconfig osm-mesh-config -n arc-osm-system -p '...' --type=merge`
//! line that restores the defaults, when that is what is wanted.

use super::meshconfig::{self, MeshConfigRule};
use super::{Meta, MESHCONFIG, NS};
use crate::bundle::RawObject;
use crate::finding::{Finding, Severity, Subject};
use crate::model::object_ref;
use crate::rules::{finding, obj_evidence, Context, Rule};
use serde_json::Value;

/// OSM014: [`MeshConfigRule`] that compares `osm-mesh-config` with the guide's defaults.
pub const RULE: MeshConfigRule = MeshConfigRule {
    meta: Meta {
        code: "OSM014",
        name: "osm-meshconfig-non-default",
        severity: Severity::Info,
        doc,
    },
    check,
};

fn doc() -> String {
    crate::rule_doc!()
}

fn check(rule: &dyn Rule, _cx: &Context, mc: Option<&RawObject>) -> Vec<Finding> {
    let Some(mc) = mc else {
        return Vec::new();
    };
    let spec = mc.value.get("spec").cloned().unwrap_or(Value::Null);
    let mut diffs: Vec<(&str, Value, Value)> = Vec::new();
    for (path, default) in meshconfig::defaults() {
        let Some(v) = meshconfig::get(&spec, path) else {
            continue;
        };
        let typed = meshconfig::ty_of(path).map(|t| t.accepts(v)).unwrap_or(false);
        if typed && *v != default {
            diffs.push((path, v.clone(), default));
        }
    }
    if diffs.is_empty() {
        return Vec::new();
    }
    let oref = object_ref("MeshConfig", Some(NS), MESHCONFIG);
    let mut f = finding(
        rule,
        Subject::new("MeshConfig", Some(NS), MESHCONFIG),
        format!(
            "MeshConfig osm-mesh-config differs from the defaults in {} key(s): {}",
            diffs.len(),
            diffs
                .iter()
                .map(|(p, _, _)| format!("spec.{p}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        diffs
            .iter()
            .map(|(p, v, d)| format!("spec.{p} = {v} (default {d})"))
            .collect::<Vec<_>>()
            .join("; "),
    );
    for (p, v, d) in &diffs {
        f.evidence.push(obj_evidence(
            &mc.src,
            oref.clone(),
            &format!("spec.{p}"),
            &format!("{v} (default {d})"),
        ));
    }
    let sets: Vec<(String, Value)> = diffs.iter().map(|(p, _, d)| (p.to_string(), d.clone())).collect();
    f.fix
        .push(format!("to restore the defaults: {}", meshconfig::patch_line(&sets)));
    vec![f]
}
