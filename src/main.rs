//! The `arcdiag` binary: parse the command line, call the library, print, map to an exit code
//! (0: nothing at or above `--fail-on`; 1: findings; 2: input could not be read or bad usage).

use arcdiag::analyze::{analyze_path, load_signatures};
use arcdiag::bundle::Limits;
use arcdiag::cli::{Cli, Color, Command, FailOn, Format, MinSeverity};
use arcdiag::engine::Options;
use arcdiag::finding::Severity;
use arcdiag::report::{json, markdown, text, Report};
use arcdiag::rules::{registry, Rule};
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// mimalloc: parsing tens of thousands of objects into `serde_json::Value`s is allocation-bound,
/// and glibc malloc spent about a third of `analyze`'s time there and kept freed memory per thread
/// (1.7 GB peak against 0.95 GB on a 1 GiB bundle); see BENCHMARKS.md.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Rules(a) => list_rules(a),
        Command::Explain(a) => explain(a),
    }
}

fn emit(out: &str, file: Option<&std::path::Path>) -> Result<(), String> {
    match file {
        Some(p) => std::fs::write(p, out).map_err(|e| format!("cannot write {}: {e}", p.display())),
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(out.as_bytes()).and_then(|_| so.flush()).or_else(|e| {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(format!("cannot write to standard output: {e}"))
                }
            })
        }
    }
}

fn analyze(a: arcdiag::cli::AnalyzeArgs) -> ExitCode {
    let sigs = match load_signatures(&a.rules_files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("arcdiag: rules file error: {e}");
            return ExitCode::from(2);
        }
    };
    let rules = registry(&sigs);
    let opts = Options {
        select: a.select.clone(),
        ignore: a.ignore.clone(),
        min_severity: match a.min_severity {
            MinSeverity::Info => Severity::Info,
            MinSeverity::Warning => Severity::Warning,
            MinSeverity::Error => Severity::Error,
        },
    };
    for code in a.select.iter().chain(a.ignore.iter()) {
        if !rules.iter().any(|r| opts_prefix_matches(r.as_ref(), code)) {
            eprintln!("arcdiag: warning: '{code}' matches no rule code (see `arcdiag rules`)");
        }
    }
    let limits = Limits {
        max_member_bytes: a.limits.max_member_bytes,
        max_total_bytes: a.limits.max_total_bytes,
        max_members: a.limits.max_members,
        max_ratio: a.limits.max_ratio,
    };
    let mut reports: Vec<Report> = Vec::new();
    let mut unreadable = false;
    for path in &a.bundles {
        match analyze_path(path, &limits, &sigs, &rules, &opts) {
            Ok(r) => {
                if r.bundle.partial {
                    eprintln!(
                        "arcdiag: {}: partial: {} problem(s) reading the bundle; the rest was analyzed",
                        path.display(),
                        r.bundle.errors.len()
                    );
                    for e in r.bundle.errors.iter().take(5) {
                        eprintln!("arcdiag:   {}: {}", e.member, e.message);
                    }
                }
                reports.push(r);
            }
            Err(e) => {
                eprintln!("arcdiag: cannot analyze {}: {}", path.display(), e.message);
                unreadable = true;
            }
        }
    }
    if reports.is_empty() {
        return ExitCode::from(2);
    }
    let color = match a.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => a.output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let out = match a.format {
        Format::Json => json::render(&reports),
        Format::Text => text::render(&reports, color),
        Format::Markdown => markdown::render(&reports),
    };
    if let Err(e) = emit(&out, a.output.as_deref()) {
        eprintln!("arcdiag: {e}");
        return ExitCode::from(2);
    }
    if unreadable {
        return ExitCode::from(2);
    }
    let threshold = match a.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    };
    if reports.iter().any(|r| r.fails(threshold)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn opts_prefix_matches(r: &dyn Rule, code: &str) -> bool {
    code.eq_ignore_ascii_case("ALL") || r.code().to_ascii_uppercase().starts_with(&code.to_ascii_uppercase())
}

fn list_rules(a: arcdiag::cli::RulesArgs) -> ExitCode {
    let sigs = match load_signatures(&a.rules_files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("arcdiag: rules file error: {e}");
            return ExitCode::from(2);
        }
    };
    let rules = registry(&sigs);
    let out = match a.format {
        Format::Json => {
            let list: Vec<serde_json::Value> = rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "code": r.code(), "name": r.name(), "severity": r.severity().as_str(),
                        "summary": arcdiag::rules::summary_of(&r.doc()),
                    })
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&list).unwrap_or_default();
            s.push('\n');
            s
        }
        _ => {
            let mut s = String::new();
            for r in &rules {
                s.push_str(&format!(
                    "{:<7} {:<8} {:<40} {}\n",
                    r.code(),
                    r.severity().as_str(),
                    r.name(),
                    arcdiag::rules::summary_of(&r.doc())
                ));
            }
            s
        }
    };
    match emit(&out, None) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arcdiag: {e}");
            ExitCode::from(2)
        }
    }
}

fn explain(a: arcdiag::cli::ExplainArgs) -> ExitCode {
    let sigs = match load_signatures(&a.rules_files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("arcdiag: rules file error: {e}");
            return ExitCode::from(2);
        }
    };
    let rules = registry(&sigs);
    let want = a.code.trim().to_ascii_uppercase();
    if let Some(r) = rules
        .iter()
        .find(|r| r.code() == want || r.name().eq_ignore_ascii_case(a.code.trim()))
    {
        let _ = emit(&format!("{}\n", r.doc()), None);
        return ExitCode::SUCCESS;
    }
    let codes: Vec<&str> = rules.iter().map(|r| r.code()).collect();
    let near = arcdiag::rules::nearest(&want, &codes, 3);
    eprintln!("arcdiag: unknown rule code '{}'", a.code);
    if !near.is_empty() {
        eprintln!("arcdiag: did you mean: {}?", near.join(", "));
    }
    ExitCode::from(2)
}
