//! JSON rendering: one report object, or an array of them for several bundles. Field order is
//! fixed by the structs and every list is sorted, so output is byte-identical across runs.

use super::Report;

pub fn render(reports: &[Report]) -> String {
    let out = if reports.len() == 1 {
        serde_json::to_string_pretty(&reports[0])
    } else {
        serde_json::to_string_pretty(reports)
    };
    let mut s = out.unwrap_or_else(|e| format!("{{\"error\": \"cannot render report: {e}\"}}"));
    s.push('\n');
    s
}
