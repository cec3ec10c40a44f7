//! The import graph of `src/`: data flows one way (see the note in `src/lib.rs`).
//!
//! Reads every `src/**/*.rs` (comments stripped), collects the top-level modules each file names
//! through `crate::X`, `crate::{X, ..}` and `super::` paths that climb out of its own module, and
//! asserts that the reading layers (`bundle`, the leaves `k8s` and `text`) name none of the
//! analysis layers, and that the modules form no cycle. The checker itself is tested on a made-up
//! graph, so a broken parser cannot pass by finding nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the reading layers must not know.
const ANALYSIS: &[&str] = &[
    "model", "rules", "engine", "finding", "report", "facts", "analyze", "serve", "collect",
];
/// The reading layers.
const READING: &[&str] = &["bundle", "k8s", "text"];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text with `//` comments (doc comments included) and string literals blanked.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"r#\"") {
            let end = src[i + 3..].find("\"#").map_or(b.len(), |j| i + 3 + j + 2);
            out.push(' ');
            i = end;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            out.push(' ');
            i += 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // a char literal such as '"'
            out.push(' ');
            i += 3;
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The module path of a file under `src/` (`bundle/read/tar.rs` → `[bundle, read, tar]`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_string();
        if !matches!(stem.as_str(), "mod" | "lib" | "main") {
            parts.push(stem);
        }
    }
    parts
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// Top-level modules named by one file's code (its own top-level module included).
fn references(code: &str, me: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b'$') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident_at(item.trim());
                if !name.is_empty() {
                    out.insert(name.to_string());
                }
            }
        } else {
            out.insert(ident_at(rest).to_string());
        }
    }
    // `super::` climbs one module per `super`: from `a::b::c` it stays in `a`; from a top-level
    // module (`src/x.rs`, `src/x/mod.rs`) it reaches the crate root and names the next segment.
    for (i, _) in code.match_indices("super::") {
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':') {
            continue;
        }
        let mut rest = &code[i..];
        let mut depth = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            depth += 1;
            rest = r;
        }
        let base = me.len().saturating_sub(depth);
        if base == 0 {
            out.insert(ident_at(rest).to_string());
        } else {
            out.insert(me[0].clone());
        }
    }
    out
}

/// Top-level module → the top-level modules its files name.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files_by_module: Vec<(Vec<String>, String)> = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src).unwrap_or(f);
        let me = module_path(rel);
        // lib.rs declares the modules, main.rs is the binary: neither is a layer
        if me.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        files_by_module.push((me, code_only(&text)));
    }
    let modules: BTreeSet<String> = files_by_module.iter().map(|(m, _)| m[0].clone()).collect();
    for (me, code) in &files_by_module {
        let entry = g.entry(me[0].clone()).or_default();
        for r in references(code, me) {
            if r != me[0] && modules.contains(&r) {
                entry.insert(r);
            }
        }
    }
    g
}

/// A cycle of the graph, if it has one.
fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut c = stack[at..].to_vec();
                c.push(n.to_string());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        let mut stack = Vec::new();
        if let Some(c) = visit(n, g, &mut state, &mut stack) {
            return Some(c);
        }
    }
    None
}

fn src_graph() -> BTreeMap<String, BTreeSet<String>> {
    graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn reading_names_none_of_the_analysis_layers() {
    let g = src_graph();
    for m in READING {
        let deps = g.get(*m).unwrap_or_else(|| panic!("module {m} not found"));
        let bad: Vec<&String> = deps.iter().filter(|d| ANALYSIS.contains(&d.as_str())).collect();
        assert!(bad.is_empty(), "{m} names {bad:?}");
    }
    // the leaves name nothing of the crate
    for leaf in ["k8s", "memory", "text"] {
        assert_eq!(g[leaf], BTreeSet::new(), "{leaf} is a leaf");
    }
    // the one deliberate exception: logs are scanned with the signature set while reading;
    // `memory` is the allocator's count of what a parse keeps (a leaf)
    let bundle: Vec<&str> = g["bundle"].iter().map(String::as_str).collect();
    assert_eq!(bundle, ["k8s", "memory", "signatures", "text"], "what bundle imports");
}

#[test]
fn no_import_cycle_among_top_level_modules() {
    let g = src_graph();
    assert!(g.len() > 10, "too few modules found: {g:?}");
    assert!(
        g["rules"].contains("model"),
        "the parser finds imports: {:?}",
        g["rules"]
    );
    if let Some(c) = cycle(&g) {
        panic!("import cycle: {}", c.join(" -> "));
    }
}

#[test]
fn the_checker_sees_what_it_must() {
    let me = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let code = code_only(
        "use crate::{model::Obj, rules};\n// use crate::engine;\nlet s = \"crate::report\";\nuse super::super::facts::X;\nuse super::Limits;\n",
    );
    let refs = references(&code, &me("bundle::read::tar"));
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["bundle", "model", "rules"],
        "a comment and a string are not imports; super::super stays inside bundle"
    );
    let refs = references(&code_only("use super::facts::X;"), &me("bundle"));
    assert!(
        refs.contains("facts"),
        "super:: from a top-level module names a sibling"
    );
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default();
    assert_eq!(cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle(&g).map(|c| c.len()), Some(4));
}
