//! OSM013 osm-meshconfig-invalid (warning)
//!
//! What it detects: a value in MeshConfig `osm-mesh-config` that OSM rejects or ignores: a
//! control-plane log level (`spec.observability.osmLogLevel`) outside `trace`, `debug`, `info`,
//! `warn`, `error`, `fatal`, `panic`, `disabled`; a sidecar log level outside Envoy's levels; a
//! certificate validity or interval that is not a Go duration (`24h`, `90m`); a
//! `certKeyBitSize` other than 2048, 4096 or 8192; a field the MeshConfig schema does not have
//! (for example `spec.observability.tracing.osmLogLevel`, which the guide's own patch example
//! writes: the key lives at `spec.observability.osmLogLevel`); or a value of the wrong type (a
//! string `"true"` where the schema has a boolean, as the guide's table writes the feature
//! flags).
//!
//! Why it matters: the API server refuses a patch with a wrong type and silently drops unknown
//! fields, and OSM falls back to defaults for values it cannot use, so the setting the user meant
//! never takes effect.
//!
//! Evidence: each offending key, its value and what is wrong with it.
//!
//! Fix: one corrected `kubectl patch meshconfig osm-mesh-config -n arc-osm-system -p '...'
//! --type=merge` line with typed values (booleans as booleans) under the right keys; a
//! misplaced key is moved and the stray one removed (`null` in a merge patch).

use super::meshconfig::{self, MeshConfigRule, Ty};
use super::{Meta, MESHCONFIG, NS};
use crate::bundle::RawObject;
use crate::finding::{Finding, Severity, Subject};
use crate::model::object_ref;
use crate::rules::{finding, obj_evidence, Context, Rule};
use serde_json::{json, Value};

/// OSM013: [`MeshConfigRule`] that checks the values of `osm-mesh-config`.
pub const RULE: MeshConfigRule = MeshConfigRule {
    meta: Meta {
        code: "OSM013",
        name: "osm-meshconfig-invalid",
        severity: Severity::Warning,
        doc,
    },
    check,
};

fn doc() -> String {
    crate::rule_doc!()
}

/// One problem: the dotted path under `spec`, the value found, what is wrong, and the patch
/// entries that fix it.
struct Problem {
    path: String,
    found: Value,
    what: String,
    sets: Vec<(String, Value)>,
}

fn check(rule: &dyn Rule, _cx: &Context, mc: Option<&RawObject>) -> Vec<Finding> {
    let Some(mc) = mc else {
        return Vec::new();
    };
    let spec = mc.value.get("spec").cloned().unwrap_or(Value::Null);
    let mut problems = Vec::new();
    if let Value::Object(_) = spec {
        walk(&spec, &spec, "", &mut problems);
    } else if !spec.is_null() {
        problems.push(Problem {
            path: String::new(),
            found: spec.clone(),
            what: "spec is not an object".into(),
            sets: Vec::new(),
        });
    }
    if problems.is_empty() {
        return Vec::new();
    }
    let oref = object_ref("MeshConfig", Some(NS), MESHCONFIG);
    let keys: Vec<String> = problems.iter().map(|p| format!("spec.{}", p.path)).collect();
    let mut f = finding(
        rule,
        Subject::new("MeshConfig", Some(NS), MESHCONFIG),
        format!(
            "MeshConfig osm-mesh-config has {} value(s) OSM rejects or ignores: {}",
            problems.len(),
            keys.join(", ")
        ),
        problems
            .iter()
            .map(|p| format!("spec.{} = {}: {}", p.path, p.found, p.what))
            .collect::<Vec<_>>()
            .join("; "),
    );
    let mut sets: Vec<(String, Value)> = Vec::new();
    for p in &problems {
        f.evidence.push(obj_evidence(
            &mc.src,
            oref.clone(),
            &format!("spec.{}", p.path),
            &format!("{}: {}", p.found, p.what),
        ));
        for (k, v) in &p.sets {
            if !sets.iter().any(|(x, _)| x == k) {
                sets.push((k.clone(), v.clone()));
            }
        }
    }
    if !sets.is_empty() {
        f.fix.push(meshconfig::patch_line(&sets));
    }
    f.fix.push(
            "valid osmLogLevel values: trace, debug, info, warn, error, fatal, panic, disabled; durations like 24h or 90m; certKeyBitSize 2048, 4096 or 8192".into(),
        );
    vec![f]
}

/// Check every key of the object at `prefix` (dotted, relative to `spec`).
fn walk(spec: &Value, v: &Value, prefix: &str, out: &mut Vec<Problem>) {
    let Some(map) = v.as_object() else {
        return;
    };
    for (k, val) in map {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match meshconfig::ty_of(&path) {
            None => out.push(unknown(spec, &path, k, val)),
            Some(Ty::Free) => {}
            Some(ty) if !ty.accepts(val) => out.push(wrong_type(&path, ty, val)),
            Some(Ty::Object) => walk(spec, val, &path, out),
            Some(_) => {
                if let Some(what) = bad_value(&path, val) {
                    out.push(Problem {
                        path: path.clone(),
                        found: val.clone(),
                        what,
                        sets: vec![(
                            path.clone(),
                            meshconfig::default_of(&path)
                                .or_else(|| fallback(&path))
                                .unwrap_or(Value::Null),
                        )],
                    });
                }
            }
        }
    }
}

/// Values for keys that are not in the guide's table but have one right answer.
fn fallback(path: &str) -> Option<Value> {
    match path {
        "certificate.certKeyBitSize" => Some(json!(2048)),
        _ => None,
    }
}

/// What is wrong with a value of the right type, if anything.
fn bad_value(path: &str, v: &Value) -> Option<String> {
    let s = v.as_str().unwrap_or("");
    match path {
        "observability.osmLogLevel" if !meshconfig::OSM_LOG_LEVELS.contains(&s) => Some(format!(
            "not an OSM log level ({})",
            meshconfig::OSM_LOG_LEVELS.join(", ")
        )),
        "sidecar.logLevel" if !meshconfig::ENVOY_LOG_LEVELS.contains(&s) => Some(format!(
            "not an Envoy log level ({})",
            meshconfig::ENVOY_LOG_LEVELS.join(", ")
        )),
        p if meshconfig::DURATIONS.contains(&p) && !meshconfig::is_duration(s) => {
            Some("not a duration (a Go duration such as 24h, 1h30m or 90s)".into())
        }
        "certificate.certKeyBitSize"
            if !v
                .as_i64()
                .map(|n| meshconfig::KEY_BIT_SIZES.contains(&n))
                .unwrap_or(false) =>
        {
            Some("not a supported key size (2048, 4096 or 8192)".into())
        }
        "traffic.outboundPortExclusionList" | "traffic.inboundPortExclusionList"
            if v.as_array()
                .map(|a| a.iter().any(|x| !(1..=65535).contains(&x.as_i64().unwrap_or(0))))
                .unwrap_or(false) =>
        {
            Some("holds a port outside 1-65535".into())
        }
        _ => None,
    }
}

/// The typed value a wrongly typed one most likely meant.
fn coerce(ty: Ty, v: &Value) -> Option<Value> {
    let s = v.as_str().map(str::trim);
    match ty {
        Ty::Bool => match s.map(str::to_ascii_lowercase).as_deref() {
            Some("true") => Some(json!(true)),
            Some("false") => Some(json!(false)),
            _ => None,
        },
        Ty::Int => s.and_then(|s| s.parse::<i64>().ok()).map(|n| json!(n)),
        Ty::Str => match v {
            Value::Bool(b) => Some(json!(b.to_string())),
            Value::Number(n) => Some(json!(n.to_string())),
            _ => None,
        },
        Ty::IntList => v
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_i64().or_else(|| x.as_str().and_then(|s| s.trim().parse().ok())))
                    .collect::<Option<Vec<i64>>>()
            })
            .map(|a| json!(a)),
        Ty::StrList => v.as_str().map(|s| json!([s])),
        Ty::Object | Ty::Free => None,
    }
}

fn wrong_type(path: &str, ty: Ty, v: &Value) -> Problem {
    let found_ty = match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fixed = coerce(ty, v)
        .filter(|c| bad_value(path, c).is_none())
        .or_else(|| meshconfig::default_of(path))
        .unwrap_or(Value::Null);
    Problem {
        path: path.to_string(),
        found: v.clone(),
        what: format!("a {found_ty} where the schema has a {}", ty.name()),
        sets: vec![(path.to_string(), fixed)],
    }
}

/// A key the schema does not have. When the same key name exists elsewhere in the schema (the
/// guide's `observability.tracing.osmLogLevel` for `observability.osmLogLevel`), move it there.
fn unknown(spec: &Value, path: &str, key: &str, v: &Value) -> Problem {
    let homes: Vec<&str> = meshconfig::SCHEMA
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| p.rsplit('.').next() == Some(key) && *p != path)
        .collect();
    let mut sets = vec![(path.to_string(), Value::Null)];
    let what = match homes.as_slice() {
        [home] => {
            let ty = meshconfig::ty_of(home).unwrap_or(Ty::Str);
            let moved =
                if ty.accepts(v) { Some(v.clone()) } else { coerce(ty, v) }.filter(|c| bad_value(home, c).is_none());
            // The misplaced key is what the user last meant to set: move its value home.
            if let Some(m) = moved.filter(|m| meshconfig::get(spec, home) != Some(m)) {
                sets.insert(0, (home.to_string(), m));
            }
            format!("the MeshConfig schema has no such field; the key belongs at spec.{home}")
        }
        _ => "the MeshConfig schema has no such field (the API server drops it)".to_string(),
    };
    Problem {
        path: path.to_string(),
        found: v.clone(),
        what,
        sets,
    }
}
