//! Server-side `Table` responses: the columns and cells the real API server prints for the common
//! built-in types, a CRD's `additionalPrinterColumns` for custom resources, NAME + AGE otherwise.
//! Every age is relative to the bundle's collection time, so output does not drift. Knows nothing
//! of HTTP or routing (`api`).
//!
//! The built-in kinds' columns and cells are in `builtin`; a CRD's JSONPath columns are evaluated
//! by `serve::jsonpath`.

mod builtin;

use super::index::{partial_metadata, PrinterColumn, ResourceType};
use super::jsonpath::{eval, parse_path};
use crate::k8s::time;
use builtin::{builtin_cells, builtin_columns, s};
use serde_json::{json, Value};

/// Age of a timestamp at the bundle's time; `<unknown>` when either is missing.
pub fn age(ts: Option<&Value>, now: Option<i64>) -> String {
    match (ts.and_then(Value::as_str), now) {
        (Some(t), Some(n)) => time::age(t, n).unwrap_or_else(|| "<unknown>".into()),
        _ => "<unknown>".into(),
    }
}

pub(super) type Col = (&'static str, &'static str, &'static str, i64);

fn col(c: &Col) -> Value {
    json!({"name": c.0, "type": c.1, "format": c.2, "description": "", "priority": c.3})
}

pub(super) const NAME: Col = ("Name", "string", "name", 0);
pub(super) const AGE: Col = ("Age", "string", "", 0);

fn custom_cell(c: &PrinterColumn, o: &Value, now: Option<i64>) -> Value {
    let Some(steps) = parse_path(&c.json_path) else {
        return Value::Null;
    };
    let Some(v) = eval(&steps, o).into_iter().next() else {
        return Value::Null;
    };
    match c.typ.as_str() {
        "date" => match v.as_str() {
            Some(ts) if time::parse(ts).is_some() => json!(age(Some(v), now)),
            _ => json!("<invalid>"),
        },
        "integer" => v
            .as_i64()
            .map(|n| json!(n))
            .or_else(|| v.as_f64().map(|f| json!(f as i64)))
            .unwrap_or(Value::Null),
        "number" => v.as_f64().map(|f| json!(f)).unwrap_or(Value::Null),
        "boolean" => v.as_bool().map(|b| json!(b)).unwrap_or(Value::Null),
        _ => match v {
            Value::String(s) => json!(s),
            Value::Null => Value::Null,
            other => json!(other.to_string()),
        },
    }
}

type CellsFn<'a> = Box<dyn Fn(&Value) -> Vec<Value> + 'a>;

/// A `meta.k8s.io/v1` `Table` of the given objects.
pub fn table(t: &ResourceType, objects: &[&Value], now: Option<i64>, include_object: &str) -> Value {
    let (columns, cells): (Vec<Value>, CellsFn) = match (builtin_columns(t), &t.columns) {
        (Some(cols), _) => (
            cols.iter().map(col).collect(),
            Box::new(move |o: &Value| builtin_cells(t, o, now)),
        ),
        (None, Some(custom)) => {
            let mut defs = vec![col(&NAME)];
            defs.extend(custom.iter().map(|c| {
                json!({"name": c.name, "type": c.typ, "format": c.format, "description": c.description, "priority": c.priority})
            }));
            let custom = custom.clone();
            (
                defs,
                Box::new(move |o: &Value| {
                    let mut row = vec![json!(s(o, "/metadata/name"))];
                    row.extend(custom.iter().map(|c| custom_cell(c, o, now)));
                    row
                }),
            )
        }
        (None, None) => (
            vec![col(&NAME), col(&AGE)],
            Box::new(move |o: &Value| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(age(o.pointer("/metadata/creationTimestamp"), now)),
                ]
            }),
        ),
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(o)});
            match include_object {
                "None" => {}
                "Object" => row["object"] = (*o).clone(),
                _ => row["object"] = partial_metadata(o),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "1"},
        "columnDefinitions": columns,
        "rows": rows,
    })
}
