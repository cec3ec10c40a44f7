//! The JSONPath subset of CRD printer columns (`serve::jsonpath`): any text is parsed, and what
//! parses is evaluated against a small object holding every kind of value. A panic or a hang
//! (libFuzzer -timeout) is a finding; a path that does not parse is simply `None`.

#![no_main]

use arcdiag::serve::jsonpath::{eval, parse_path};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn object() -> &'static serde_json::Value {
    static O: OnceLock<serde_json::Value> = OnceLock::new();
    O.get_or_init(|| {
        serde_json::json!({
            "metadata": {"name": "x", "labels": {"a": "b"}},
            "spec": {"replicas": 3, "list": [1, "two", null, true, {"k": "v"}, [0]]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "A"}]}
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(steps) = parse_path(text) {
        let _ = eval(&steps, object());
    }
});
