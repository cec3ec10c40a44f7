//! JSON and YAML members into `serde_json::Value`s: a byte-order mark is skipped, an empty file
//! is an error, several YAML documents become an array, and troubleshoot.sh's unquoted
//! `***HIDDEN***` redaction marker reads as a string. Knows nothing of what the values mean.

use serde_json::Value;

fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)
}

pub fn parse_json(data: &[u8]) -> Result<Value, String> {
    let data = strip_bom(data);
    let trimmed = data.iter().position(|b| !b.is_ascii_whitespace());
    if trimmed.is_none() {
        return Err("the file is empty".into());
    }
    crate::bundle::jsonde::from_bytes(data).map_err(|e| format!("invalid JSON: {e}"))
}

pub fn parse_yaml(data: &[u8]) -> Result<Value, String> {
    let data = strip_bom(data);
    let text = std::str::from_utf8(data).map_err(|e| format!("invalid UTF-8 in YAML: {e}"))?;
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    // troubleshoot.sh redaction leaves `***HIDDEN***` unquoted, which YAML reads as an alias:
    // parse it as a plain placeholder and put the marker back in the values.
    if text.contains(HIDDEN) {
        let swapped = text.replace(HIDDEN, HIDDEN_TOKEN);
        let mut v = parse_yaml_docs(&swapped)?;
        restore_hidden(&mut v);
        return Ok(v);
    }
    parse_yaml_docs(text)
}

const HIDDEN: &str = "***HIDDEN***";
const HIDDEN_TOKEN: &str = "x-arcdiag-hidden-x";

fn restore_hidden(v: &mut Value) {
    match v {
        Value::String(s) if s.contains(HIDDEN_TOKEN) => *s = s.replace(HIDDEN_TOKEN, HIDDEN),
        Value::Array(a) => a.iter_mut().for_each(restore_hidden),
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().filter(|k| k.contains(HIDDEN_TOKEN)).cloned().collect();
            for k in keys {
                if let Some(x) = o.remove(&k) {
                    o.insert(k.replace(HIDDEN_TOKEN, HIDDEN), x);
                }
            }
            o.values_mut().for_each(restore_hidden);
        }
        _ => {}
    }
}

fn parse_yaml_docs(text: &str) -> Result<Value, String> {
    // One document, or several separated by `---`: several become an array.
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(doc).map_err(|e| format!("invalid YAML: {e}"))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.pop().unwrap_or(Value::Null)),
        _ => Ok(Value::Array(docs)),
    }
}
