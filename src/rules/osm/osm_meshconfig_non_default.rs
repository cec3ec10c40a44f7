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

use super::meshconfig;
use super::{applies, MESHCONFIG, MESHCONFIG_RESOURCE, NS};
use crate::finding::{Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};
use serde_json::Value;

pub struct OsmMeshconfigNonDefault;

impl Rule for OsmMeshconfigNonDefault {
    crate::rule_meta!("OSM014", "osm-meshconfig-non-default", Info);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::NsResource(NS, MESHCONFIG_RESOURCE)],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let Some(mc) = meshconfig::find(cx) else {
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
            self,
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
}
