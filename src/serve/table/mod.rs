//! Server-side `Table` responses: the columns and cells the real API server prints for the common
//! built-in types, a CRD's `additionalPrinterColumns` for custom resources, NAME + AGE otherwise.
//! Every age is relative to the bundle's collection time, so output does not drift. Cells are
//! computed once per object when the index is built (`cells`) and rows written one at a time
//! into the answer (`write_table`). Knows nothing
//! of HTTP or routing (`api`).
//!
//! The built-in kinds' columns and cells are in `builtin`; a CRD's JSONPath columns are evaluated
//! by `serve::jsonpath`.

mod builtin;

use super::index::{Obj, PrinterColumn, ResourceType};
use super::jsonpath::{eval, parse_path};
use crate::k8s::time;
use builtin::{builtin_cells, builtin_columns, s};
use serde_json::{json, Value};
use std::io::Write;

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

/// The `columnDefinitions` of a type's `Table`.
pub fn columns(t: &ResourceType) -> Vec<Value> {
    match (builtin_columns(t), &t.columns) {
        (Some(cols), _) => cols.iter().map(col).collect(),
        (None, Some(custom)) => {
            let mut defs = vec![col(&NAME)];
            defs.extend(custom.iter().map(|c| {
                json!({"name": c.name, "type": c.typ, "format": c.format, "description": c.description, "priority": c.priority})
            }));
            defs
        }
        (None, None) => vec![col(&NAME), col(&AGE)],
    }
}

/// One object's row cells for its type's columns; ages at the bundle's time.
pub fn cells(t: &ResourceType, o: &Value, now: Option<i64>) -> Vec<Value> {
    match (builtin_columns(t).is_some(), &t.columns) {
        (true, _) => builtin_cells(t, o, now),
        (false, Some(custom)) => {
            let mut row = vec![json!(s(o, "/metadata/name"))];
            row.extend(custom.iter().map(|c| custom_cell(c, o, now)));
            row
        }
        (false, None) => vec![
            json!(s(o, "/metadata/name")),
            json!(age(o.pointer("/metadata/creationTimestamp"), now)),
        ],
    }
}

/// Write a `meta.k8s.io/v1` `Table` of `rows` (objects with their cells computed at index time),
/// one row at a time; `list_meta` is the list's `metadata` object, serialized.
pub fn write_table<'a>(
    out: &mut dyn Write,
    t: &ResourceType,
    rows: impl Iterator<Item = &'a Obj>,
    include_object: &str,
    list_meta: &[u8],
) -> std::io::Result<()> {
    out.write_all(b"{\"apiVersion\":\"meta.k8s.io/v1\",\"columnDefinitions\":")?;
    serde_json::to_writer(&mut *out, &columns(t))?;
    out.write_all(b",\"kind\":\"Table\",\"metadata\":")?;
    out.write_all(list_meta)?;
    out.write_all(b",\"rows\":[")?;
    for (k, o) in rows.enumerate() {
        if k > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"{\"cells\":")?;
        out.write_all(&o.cells)?;
        match include_object {
            "None" => {}
            "Object" => {
                out.write_all(b",\"object\":")?;
                out.write_all(&o.json)?;
            }
            _ => {
                out.write_all(
                    b",\"object\":{\"apiVersion\":\"meta.k8s.io/v1\",\"kind\":\"PartialObjectMetadata\",\"metadata\":",
                )?;
                out.write_all(o.metadata())?;
                out.write_all(b"}")?;
            }
        }
        out.write_all(b"}")?;
    }
    out.write_all(b"]}\n")
}
