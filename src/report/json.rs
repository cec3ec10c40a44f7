//! JSON rendering: one report object, or (for several bundles) an array of them in argument
//! order, where a bundle that could not be read at all is an entry that says so. Field order is
//! fixed by the structs and every list is sorted, so output is byte-identical across runs. Knows
//! nothing of rules beyond the report it is given.

use super::{Report, SCHEMA};
use crate::bundle::BundleError;
use serde::Serialize;
use std::io::Write as _;
use std::path::Path;

/// A bundle that could not be read at all, as an array entry.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub schema: &'static str,
    pub bundle: UnreadableBundle,
    pub findings: [(); 0],
    pub rules: [(); 0],
}

#[derive(Debug, Clone, Serialize)]
pub struct UnreadableBundle {
    pub source: String,
    pub unreadable: bool,
    pub partial: bool,
    pub errors: Vec<BundleError>,
}

impl Unreadable {
    pub fn new(path: &Path, error: BundleError) -> Unreadable {
        let source = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string_lossy().into_owned());
        let error = BundleError::new(source.clone(), error.message);
        Unreadable {
            schema: SCHEMA,
            bundle: UnreadableBundle {
                source,
                unreadable: true,
                partial: true,
                errors: vec![error],
            },
            findings: [],
            rules: [],
        }
    }
}

fn finish(out: serde_json::Result<String>) -> String {
    let mut s = out.unwrap_or_else(|e| format!("{{\"error\": \"cannot render report: {e}\"}}"));
    s.push('\n');
    s
}

/// One report object.
pub fn render(reports: &[Report]) -> String {
    if reports.len() == 1 {
        finish(serde_json::to_string_pretty(&reports[0]))
    } else {
        finish(serde_json::to_string_pretty(reports))
    }
}

/// [`render_entries`], written to `w` as it is rendered when there is one report (a large
/// bundle's is ~10 MB of text, with its 60,000 inputs): the same bytes, never held whole.
pub fn write_entries(
    w: &mut dyn std::io::Write,
    reports: &[Report],
    unreadable: &[(usize, Unreadable)],
    several: bool,
) -> std::io::Result<()> {
    let ([report], false, true) = (reports, several, unreadable.is_empty()) else {
        return w.write_all(render_entries(reports, unreadable, several).as_bytes());
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
    match serde_json::to_writer_pretty(&mut out, report) {
        Ok(()) => out.write_all(b"\n")?,
        Err(e) if e.is_io() => return Err(e.into()),
        // A report always serializes (plain structs, string keys); as `render` would say it.
        Err(e) => out.write_all(finish(Err(e)).as_bytes())?,
    }
    out.flush()
}

/// Reports and unreadable bundles: an array in argument order when several bundles were given
/// (`unreadable` holds each entry with its position among the readable reports).
pub fn render_entries(reports: &[Report], unreadable: &[(usize, Unreadable)], several: bool) -> String {
    if !several && unreadable.is_empty() {
        return render(reports);
    }
    let mut values: Vec<serde_json::Value> = Vec::new();
    let mut pending = unreadable.iter().peekable();
    for (i, r) in reports.iter().enumerate() {
        while let Some((_, u)) = pending.next_if(|(at, _)| *at == i) {
            values.push(serde_json::to_value(u).unwrap_or_default());
        }
        values.push(serde_json::to_value(r).unwrap_or_default());
    }
    for (_, u) in pending {
        values.push(serde_json::to_value(u).unwrap_or_default());
    }
    if !several && values.len() == 1 {
        return finish(serde_json::to_string_pretty(&values[0]));
    }
    finish(serde_json::to_string_pretty(&values))
}
