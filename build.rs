//! Build script: takes the `//!` doc at the top of every rule file under `src/rules/` (the text
//! `arcdiag explain CODE` prints) and writes them to `$OUT_DIR/rule_docs.rs` as a table keyed by
//! module path. Only the docs reach the binary, and the crate builds wherever it is put (a
//! workspace member, a packaged crate): nothing depends on where `file!()` points.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let rules = manifest.join("src/rules");
    println!("cargo:rerun-if-changed=src/rules");
    let mut files = Vec::new();
    walk(&rules, &mut files);
    files.sort();
    let mut out = String::from(
        "/// `(module path below the crate, doc)` of every rule file, sorted by module path.\n\
         pub(crate) static RULE_DOCS: &[(&str, &str)] = &[\n",
    );
    let mut entries: Vec<(String, String)> = Vec::new();
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else {
            panic!("build.rs: cannot read {}", f.display());
        };
        let doc = leading_doc(&src);
        if doc.is_empty() {
            continue;
        }
        entries.push((module_path_of(&manifest.join("src"), f), doc));
    }
    entries.sort();
    for (m, d) in &entries {
        let _ = writeln!(out, "    ({m:?}, {d:?}),");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("rule_docs.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("build.rs: cannot write {}: {e}", dest.display());
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        panic!("build.rs: cannot read {}", dir.display());
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/rules/flux/foo.rs` → `rules::flux::foo`; `src/rules/flux/mod.rs` → `rules::flux`.
fn module_path_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The `//!` lines at the top of a file, as plain text (leading blank lines skipped; the first
/// other line ends the doc).
fn leading_doc(src: &str) -> String {
    let mut out = Vec::new();
    for line in src.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("//!") {
            out.push(rest.strip_prefix(' ').unwrap_or(rest));
        } else if t.is_empty() && out.is_empty() {
            continue;
        } else {
            break;
        }
    }
    out.join("\n").trim().to_string()
}
