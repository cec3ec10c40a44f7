//! The `arcdiag` binary: parse the command line, call the library, print, map to an exit code
//! (0: nothing at or above `--fail-on`; 1: findings; 2: input could not be read or bad usage).

use arcdiag::analyze::{analyze_path, load_signatures};
use arcdiag::bundle::Limits;
use arcdiag::cli::{Cli, Color, Command, FailOn, Format, MinSeverity, ReportFormat};
use arcdiag::engine::Options;
use arcdiag::finding::Severity;
use arcdiag::report::{html, json, junit, markdown, sarif, text, Catalog, Report, RuleInfo};
use arcdiag::rules::{registry, Rule};
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// mimalloc: parsing tens of thousands of objects into `serde_json::Value`s is allocation-bound,
/// and glibc malloc spent about a third of `analyze`'s time there and kept freed memory per thread
/// (1.7 GB peak against 0.95 GB on a 1 GiB bundle); see BENCHMARKS.md. Counted per thread, so
/// the reader can charge typed objects the memory they keep (`arcdiag::memory::Counting`).
#[global_allocator]
static ALLOC: arcdiag::memory::Counting<mimalloc::MiMalloc> = arcdiag::memory::Counting(mimalloc::MiMalloc);

fn main() -> ExitCode {
    arcdiag::memory::give_back_soon();
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Diff(a) => diff(a),
        Command::Fleet(a) => fleet(a),
        Command::Rules(a) => list_rules(a),
        Command::Explain(a) => explain(a),
        Command::Serve(a) => serve(a),
        Command::Collect(a) => collect(a),
        Command::Redact(a) => redact(a),
        Command::Verify(a) => verify(a),
    }
}

fn redact(a: arcdiag::cli::RedactArgs) -> ExitCode {
    match arcdiag::rebundle::rebundle(&a.bundle, &a.output, &Limits::from(&a.limits)) {
        Ok(s) => {
            let total: u64 = s.replacements.values().sum();
            let kinds: Vec<String> = s.replacements.iter().map(|(k, n)| format!("{k} {n}")).collect();
            eprintln!(
                "arcdiag: wrote {} ({} members, {total} replacement(s){}{})",
                text::sanitize_terminal(&s.path.display().to_string()),
                s.members,
                if kinds.is_empty() {
                    String::new()
                } else {
                    format!(": {}", kinds.join(", "))
                },
                if s.dropped.is_empty() {
                    String::new()
                } else {
                    format!("; {} dropped", s.dropped.len())
                }
            );
            for (p, why) in &s.dropped {
                eprintln!("arcdiag: dropped {}: {why}", text::sanitize_terminal(p));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("arcdiag: redact: {}", text::sanitize_terminal(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

fn verify(a: arcdiag::cli::VerifyArgs) -> ExitCode {
    let limits = Limits::from(&a.limits);
    let matcher = arcdiag::signatures::LogMatcher::empty();
    let name = text::sanitize_terminal(&a.bundle.display().to_string());
    let b = match arcdiag::bundle::open(&a.bundle, &limits, &matcher, true) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("arcdiag: verify: {}", text::sanitize_terminal(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let ig = &b.integrity;
    let mut out = String::new();
    match ig.state {
        "verified" => out.push_str(&format!(
            "{name}: verified: every member matches the digest the bundle recorded\n"
        )),
        "mismatch" => {
            out.push_str(&format!("{name}: MISMATCH: the bundle was changed after it was made\n"));
            for m in &ig.mismatched {
                out.push_str(&format!("  changed or missing: {m}\n"));
            }
            for m in &ig.unlisted {
                out.push_str(&format!("  not listed: {m}\n"));
            }
        }
        _ => {
            let why = if b.read_stopped_early {
                let first = b.errors.first().map(|e| e.to_string()).unwrap_or_default();
                format!("the bundle could not be read to its end ({first})")
            } else {
                "the bundle records no digests (made by another tool or an older arcdiag; `arcdiag redact` adds them)"
                    .into()
            };
            eprintln!(
                "arcdiag: verify: {name}: unverifiable: {}",
                text::sanitize_terminal(&why)
            );
            return ExitCode::from(2);
        }
    }
    let _ = emit(&text::sanitize_terminal(&out), None);
    if ig.state == "verified" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The signatures (built-in and `--rules` files) and every rule; a bad rules file is exit 2.
fn catalog(files: &[std::path::PathBuf]) -> Result<(arcdiag::signatures::SignatureSet, Vec<Box<dyn Rule>>), ExitCode> {
    match load_signatures(files) {
        Ok(sigs) => {
            let rules = registry(&sigs);
            Ok((sigs, rules))
        }
        Err(e) => {
            eprintln!("arcdiag: rules file error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

fn emit(out: &str, file: Option<&std::path::Path>) -> Result<(), String> {
    emit_with(file, |w| w.write_all(out.as_bytes()))
}

/// Write what `write` writes to `file`, or to standard output (a closed pipe is not an error).
fn emit_with(
    file: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    match file {
        Some(p) => std::fs::File::create(p)
            .and_then(|mut f| write(&mut f).and_then(|()| f.flush()))
            .map_err(|e| format!("cannot write {}: {e}", p.display())),
        None => {
            let mut so = std::io::stdout().lock();
            write(&mut so).and_then(|_| so.flush()).or_else(|e| {
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
    let (sigs, rules) = match catalog(&a.rules_files) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let opts = match selection(&rules, &a.select, &a.ignore, a.min_severity) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if let Some(out) = &a.output {
        if let Some(input) = a.bundles.iter().find(|b| same_path(b, out)) {
            eprintln!(
                "arcdiag: --output {} is one of the bundles being analyzed ({}); choose another file",
                out.display(),
                input.display()
            );
            return ExitCode::from(2);
        }
    }
    let mut limits = Limits::from(&a.limits);
    if a.format == ReportFormat::Jsonl {
        let jobs = a.jobs.map_or_else(arcdiag::fleet::default_jobs, usize::from);
        return analyze_jsonl(
            &a.bundles,
            a.output.as_deref(),
            jobs,
            a.fail_on,
            &limits,
            &sigs,
            &rules,
            &opts,
        );
    }
    // Progress on a terminal only: a bar over the archive's compressed bytes, then the rules.
    let show_progress = std::io::stderr().is_terminal() && std::env::var_os("ARCDIAG_NO_PROGRESS").is_none();
    let read_bytes: &'static std::sync::atomic::AtomicU64 = Box::leak(Box::new(std::sync::atomic::AtomicU64::new(0)));
    if show_progress {
        limits.progress = Some(read_bytes);
    }
    let mut reports: Vec<Report> = Vec::new();
    let mut unreadable = false;
    // (position among the readable reports, entry): unreadable bundles keep their place in JSON.
    let mut unreadable_entries: Vec<(usize, json::Unreadable)> = Vec::new();
    for path in &a.bundles {
        let bar = show_progress.then(|| AnalyzeProgress::start(path, read_bytes));
        let result = analyze_path(path, &limits, &sigs, &rules, &opts);
        drop(bar);
        match result {
            Ok(r) => {
                if r.bundle.partial {
                    eprintln!(
                        "arcdiag: {}: partial: {} problem(s) reading the bundle; the rest was analyzed",
                        text::sanitize_terminal(&path.display().to_string()),
                        r.bundle.errors.len()
                    );
                    for e in r.bundle.errors.iter().take(5) {
                        eprintln!(
                            "arcdiag:   {}: {}",
                            text::sanitize_terminal(&arcdiag::text::short_name(&e.member, arcdiag::text::NAME_CHARS)),
                            text::sanitize_terminal(&e.message)
                        );
                    }
                }
                reports.push(r);
            }
            Err(e) => {
                eprintln!(
                    "arcdiag: cannot analyze {}: {}",
                    text::sanitize_terminal(&path.display().to_string()),
                    text::sanitize_terminal(&e.message)
                );
                unreadable_entries.push((reports.len(), json::Unreadable::new(path, e)));
                unreadable = true;
            }
        }
    }
    if reports.is_empty() && a.format != ReportFormat::Json {
        return ExitCode::from(2);
    }
    let color = match a.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => a.output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let output = a.output.as_deref();
    let written = match a.format {
        // Written as it is rendered: one report of a large bundle is ~10 MB of text.
        ReportFormat::Json => emit_with(output, |w| {
            json::write_entries(w, &reports, &unreadable_entries, a.bundles.len() > 1)
        }),
        ReportFormat::Text => emit(&text::render(&reports, color), output),
        ReportFormat::Markdown => emit(&markdown::render(&reports), output),
        ReportFormat::Sarif => {
            let catalog: Catalog = rules
                .iter()
                .map(|r| {
                    (
                        r.code().to_string(),
                        RuleInfo {
                            severity: r.severity(),
                            doc: r.doc(),
                        },
                    )
                })
                .collect();
            emit(&sarif::render(&reports, &catalog), output)
        }
        ReportFormat::Junit => emit(&junit::render(&reports), output),
        ReportFormat::Html => emit(&html::render(&reports), output),
        // Streamed above, as each bundle finishes.
        ReportFormat::Jsonl => emit("", output),
    };
    if let Err(e) = written {
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

/// What `diff` and `fleet` analyze each bundle with: the catalog (`--rules`) and the rules
/// `--select`/`--ignore`/`--min-severity` keep, as `analyze` does.
type Selected = (arcdiag::signatures::SignatureSet, Vec<Box<dyn Rule>>, Options);

fn selected(sel: &arcdiag::cli::SelectArgs) -> Result<Selected, ExitCode> {
    let (sigs, rules) = catalog(&sel.rules_files)?;
    let opts = selection(&rules, &sel.select, &sel.ignore, sel.min_severity)?;
    Ok((sigs, rules, opts))
}

/// The rules `--select`/`--ignore`/`--min-severity` keep, as engine options. A code that selects
/// nothing is a typo the user must hear about (exit 2): the run would vouch for rules it never ran.
fn selection(
    rules: &[Box<dyn Rule>],
    select: &[String],
    ignore: &[String],
    min: MinSeverity,
) -> Result<Options, ExitCode> {
    let (select, ignore) = (arcdiag::cli::rule_codes(select), arcdiag::cli::rule_codes(ignore));
    let unknown: Vec<&String> = select
        .iter()
        .chain(ignore.iter())
        .filter(|code| {
            let one = Options {
                select: vec![(*code).clone()],
                ..Options::default()
            };
            !rules.iter().any(|r| one.selects(r.code()))
        })
        .collect();
    if !unknown.is_empty() {
        let codes: Vec<&str> = rules.iter().map(|r| r.code()).collect();
        for code in unknown {
            let near = arcdiag::rules::nearest(&code.to_ascii_uppercase(), &codes, 3);
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", near.join(", "))
            };
            eprintln!("arcdiag: '{code}' matches no rule code or prefix (see `arcdiag rules`){hint}");
        }
        return Err(ExitCode::from(2));
    }
    Ok(Options {
        select,
        ignore,
        min_severity: match min {
            MinSeverity::Info => Severity::Info,
            MinSeverity::Warning => Severity::Warning,
            MinSeverity::Error => Severity::Error,
        },
    })
}

fn threshold(f: FailOn) -> Option<Severity> {
    match f {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    }
}

/// What stderr says of a bundle that was read only in part, or not at all (empty otherwise).
fn bundle_note(path: &std::path::Path, result: &Result<Report, arcdiag::bundle::BundleError>) -> String {
    use std::fmt::Write as _;
    let name = text::sanitize_terminal(&path.display().to_string());
    let mut s = String::new();
    match result {
        Ok(r) if r.bundle.partial => {
            let _ = writeln!(
                s,
                "arcdiag: {name}: partial: {} problem(s) reading the bundle; the rest was analyzed",
                r.bundle.errors.len()
            );
            for e in r.bundle.errors.iter().take(5) {
                let _ = writeln!(
                    s,
                    "arcdiag:   {}: {}",
                    text::sanitize_terminal(&arcdiag::text::short_name(&e.member, arcdiag::text::NAME_CHARS)),
                    text::sanitize_terminal(&e.message)
                );
            }
        }
        Ok(_) => {}
        Err(e) => {
            let _ = writeln!(
                s,
                "arcdiag: cannot analyze {name}: {}",
                text::sanitize_terminal(&e.message)
            );
        }
    }
    s
}

/// Where a streamed output goes: the file (created) or standard output.
fn open_output(file: Option<&std::path::Path>) -> Result<Box<dyn Write>, String> {
    match file {
        Some(p) => std::fs::File::create(p)
            .map(|f| Box::new(std::io::BufWriter::new(f)) as Box<dyn Write>)
            .map_err(|e| format!("cannot write {}: {e}", p.display())),
        None => Ok(Box::new(std::io::stdout().lock())),
    }
}

/// `analyze --format jsonl`: bundles analyzed `jobs` at a time, each bundle's lines written, in
/// input order, as soon as it and those before it are done (`arcdiag::fleet::run_ordered`).
#[allow(clippy::too_many_arguments)]
fn analyze_jsonl(
    paths: &[std::path::PathBuf],
    output: Option<&std::path::Path>,
    jobs: usize,
    fail_on: FailOn,
    limits: &Limits,
    sigs: &arcdiag::signatures::SignatureSet,
    rules: &[Box<dyn Rule>],
    opts: &Options,
) -> ExitCode {
    let mut out = match open_output(output) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("arcdiag: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut unreadable, mut fails, mut write_error) = (false, false, None);
    let threshold = threshold(fail_on);
    arcdiag::fleet::run_ordered(
        paths.len(),
        jobs,
        |i| {
            let result = arcdiag::analyze::analyze_path_freed(&paths[i], limits, sigs, rules, opts);
            let note = bundle_note(&paths[i], &result);
            let (lines, bad, fail) = match result {
                Ok(r) => (arcdiag::report::jsonl::render(&r), false, r.fails(threshold)),
                Err(e) => (
                    arcdiag::report::jsonl::render_unreadable(&json::Unreadable::new(&paths[i], e)),
                    true,
                    false,
                ),
            };
            (lines, bad, fail, note)
        },
        |i, r| {
            // Notes come in input order too, with the bundle's lines.
            let (lines, bad, fail, note) = r.unwrap_or_else(|panic| {
                let e = arcdiag::bundle::BundleError::new(String::new(), format!("the analysis failed: {panic}"));
                let note = bundle_note(&paths[i], &Err(e.clone()));
                (
                    arcdiag::report::jsonl::render_unreadable(&json::Unreadable::new(&paths[i], e)),
                    true,
                    false,
                    note,
                )
            });
            eprint!("{note}");
            unreadable |= bad;
            fails |= fail;
            match out.write_all(lines.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => false,
                Err(e) => {
                    write_error = Some(e);
                    false
                }
            }
        },
    );
    if let Some(e) = write_error {
        eprintln!("arcdiag: cannot write the report: {e}");
        return ExitCode::from(2);
    }
    if unreadable {
        ExitCode::from(2)
    } else if fails {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn diff(a: arcdiag::cli::DiffArgs) -> ExitCode {
    let (sigs, rules, opts) = match selected(&a.select) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(out) = &a.output {
        if let Some(input) = [&a.before, &a.after].into_iter().find(|b| same_path(b, out)) {
            eprintln!(
                "arcdiag: --output {} is one of the bundles being compared ({}); choose another file",
                out.display(),
                input.display()
            );
            return ExitCode::from(2);
        }
    }
    let limits = Limits::from(&a.select.limits);
    let mut reports = Vec::new();
    for p in [&a.before, &a.after] {
        let result = analyze_path(p, &limits, &sigs, &rules, &opts);
        eprint!("{}", bundle_note(p, &result));
        match result {
            Ok(r) => reports.push(r),
            Err(_) => return ExitCode::from(2),
        }
    }
    let d = arcdiag::report::diff::diff(&reports[0], &reports[1]);
    for w in &d.warnings {
        eprintln!("arcdiag: warning: {}", text::sanitize_terminal(w));
    }
    let out = match a.format {
        Format::Text => arcdiag::report::diff::render_text(&d),
        Format::Markdown => arcdiag::report::diff::render_markdown(&d),
        Format::Json => arcdiag::report::diff::render_json(&d),
    };
    if let Err(e) = emit(&out, a.output.as_deref()) {
        eprintln!("arcdiag: {e}");
        return ExitCode::from(2);
    }
    if d.fails(threshold(a.fail_on)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn fleet(a: arcdiag::cli::FleetArgs) -> ExitCode {
    use arcdiag::report::fleet::{self as fl, BundleDigest};
    let (sigs, rules, opts) = match selected(&a.select) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let paths = match arcdiag::fleet::expand(&a.bundles) {
        Ok(p) if p.is_empty() => {
            eprintln!("arcdiag: fleet: no bundle found in the folders given");
            return ExitCode::from(2);
        }
        Ok(p) => p,
        Err(e) => {
            eprintln!("arcdiag: fleet: {}", text::sanitize_terminal(&e));
            return ExitCode::from(2);
        }
    };
    if let Some(out) = &a.output {
        if let Some(input) = paths.iter().find(|b| same_path(b, out)) {
            eprintln!(
                "arcdiag: --output {} is one of the bundles being summarized ({}); choose another file",
                out.display(),
                input.display()
            );
            return ExitCode::from(2);
        }
    }
    let limits = Limits::from(&a.select.limits);
    let jobs = a.jobs.map_or_else(arcdiag::fleet::default_jobs, usize::from);
    let mut digests = Vec::with_capacity(paths.len());
    arcdiag::fleet::run_ordered(
        paths.len(),
        jobs,
        |i| {
            let result = arcdiag::analyze::analyze_path_freed(&paths[i], &limits, &sigs, &rules, &opts);
            let note = bundle_note(&paths[i], &result);
            let digest = match result {
                Ok(r) => BundleDigest::of(&r),
                Err(e) => BundleDigest::unreadable(&json::Unreadable::new(&paths[i], e)),
            };
            (digest, note)
        },
        |i, r| {
            let (digest, note) = r.unwrap_or_else(|panic| {
                let e = arcdiag::bundle::BundleError::new(String::new(), format!("the analysis failed: {panic}"));
                let note = bundle_note(&paths[i], &Err(e.clone()));
                (BundleDigest::unreadable(&json::Unreadable::new(&paths[i], e)), note)
            });
            eprint!("{note}");
            digests.push(digest);
            true
        },
    );
    let f = fl::build(digests);
    let out = match a.format {
        Format::Text => fl::render_text(&f),
        Format::Markdown => fl::render_markdown(&f),
        Format::Json => fl::render_json(&f),
    };
    if let Err(e) = emit(&out, a.output.as_deref()) {
        eprintln!("arcdiag: {e}");
        return ExitCode::from(2);
    }
    if f.summary.unreadable == f.summary.bundles {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// A progress bar on stderr while one bundle is analyzed: the archive's compressed bytes read (a
/// spinner for a directory), then "running rules" once the archive is read. Cleared when dropped.
struct AnalyzeProgress {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AnalyzeProgress {
    fn start(path: &std::path::Path, read: &'static std::sync::atomic::AtomicU64) -> AnalyzeProgress {
        use std::sync::atomic::Ordering;
        read.store(0, Ordering::Relaxed);
        let len = std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.len());
        // A file name is shown, never a control sequence it may hold.
        let name: String = path
            .display()
            .to_string()
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            let bar = match len {
                Some(n) => indicatif::ProgressBar::new(n).with_style(
                    indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {bytes}/{total_bytes} {wide_msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                        .progress_chars("=> "),
                ),
                None => indicatif::ProgressBar::new_spinner(),
            };
            bar.set_prefix(name);
            bar.set_message("reading");
            // Nothing is drawn for a run that ends quickly.
            let started = std::time::Instant::now();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if started.elapsed() < std::time::Duration::from_millis(500) {
                    continue;
                }
                let n = read.load(Ordering::Relaxed);
                bar.set_position(n);
                if len.is_some_and(|l| n >= l) {
                    bar.set_message("running rules");
                }
                bar.tick();
            }
            bar.finish_and_clear();
        });
        AnalyzeProgress {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for AnalyzeProgress {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether `out` names the same file as `input` (or lies inside the directory bundle `input`):
/// writing the report there would destroy the evidence it is about.
fn same_path(input: &std::path::Path, out: &std::path::Path) -> bool {
    let (Ok(i), Ok(o)) = (
        std::fs::canonicalize(input),
        // The output may not exist yet: then its folder decides.
        std::fs::canonicalize(out).or_else(|e| match (out.parent(), out.file_name()) {
            (Some(p), Some(n)) => std::fs::canonicalize(if p.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                p
            })
            .map(|p| p.join(n)),
            _ => Err(e),
        }),
    ) else {
        return false;
    };
    o == i || (i.is_dir() && o.starts_with(&i))
}

fn list_rules(a: arcdiag::cli::RulesArgs) -> ExitCode {
    let (_, rules) = match catalog(&a.rules_files) {
        Ok(c) => c,
        Err(code) => return code,
    };
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
        Format::Markdown => {
            let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
            let mut s = String::from("| code | severity | name | summary |\n| --- | --- | --- | --- |\n");
            for r in &rules {
                s.push_str(&format!(
                    "| `{}` | {} | `{}` | {} |\n",
                    r.code(),
                    r.severity().as_str(),
                    r.name(),
                    cell(&arcdiag::rules::summary_of(&r.doc()))
                ));
            }
            s
        }
        Format::Text => {
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
    let (sigs, rules) = match catalog(&a.rules_files) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let want = a.code.trim().to_ascii_uppercase();
    if let Some(r) = rules
        .iter()
        .find(|r| r.code() == want || r.name().eq_ignore_ascii_case(a.code.trim()))
    {
        let mut out = format!("{}\n", r.doc());
        let from_files: Vec<String> = sigs
            .sigs
            .iter()
            .filter(|s| s.code == r.code() && s.from_user_file())
            .map(|s| s.describe())
            .collect();
        if !from_files.is_empty() {
            out.push_str("\nSignatures from rules files:\n");
            for d in from_files {
                // A rules file is the user's own, but a control byte in it still must not drive
                // the terminal.
                for c in d.chars() {
                    if c.is_control() && c != '\n' {
                        out.extend(c.escape_default());
                    } else {
                        out.push(c);
                    }
                }
            }
        }
        let _ = emit(&out, None);
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

fn serve(a: arcdiag::cli::ServeArgs) -> ExitCode {
    let limits = Limits::from(&a.limits);
    match arcdiag::serve::run(&a.bundle, a.port, &a.kubeconfig, &limits) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arcdiag: serve: {e}");
            ExitCode::from(2)
        }
    }
}

/// Progress of `collect`: a bar on a terminal, plain lines otherwise (both on stderr).
enum CollectProgress {
    Bar(indicatif::ProgressBar),
    Plain { done: usize, total: usize },
}

impl arcdiag::collect::Progress for CollectProgress {
    fn phase(&mut self, name: &str, steps: usize) {
        match self {
            CollectProgress::Bar(b) => {
                b.set_length(steps as u64);
                b.set_position(0);
                b.set_prefix(name.to_string());
            }
            CollectProgress::Plain { done, total } => {
                (*done, *total) = (0, steps);
                eprintln!("arcdiag: {name}: {steps} step(s)");
            }
        }
    }
    fn step(&mut self, r: &arcdiag::collect::StepRecord) {
        match self {
            CollectProgress::Bar(b) => {
                b.inc(1);
                b.set_message(r.id.clone());
                if r.status != arcdiag::collect::Status::Ok && r.status != arcdiag::collect::Status::NotFound {
                    b.println(format!("{:<9} {}", r.status.as_str(), r.id));
                }
            }
            CollectProgress::Plain { done, total } => {
                *done += 1;
                eprintln!(
                    "[{done}/{total}] {:<9} {} ({} ms)",
                    r.status.as_str(),
                    r.id,
                    r.duration_ms
                );
            }
        }
    }
    fn note(&mut self, message: &str) {
        match self {
            CollectProgress::Bar(b) => b.println(format!("arcdiag: {message}")),
            CollectProgress::Plain { .. } => eprintln!("arcdiag: {message}"),
        }
    }
}

fn collect(a: arcdiag::cli::CollectArgs) -> ExitCode {
    use arcdiag::collect::plan::{AzureTarget, ClusterType, PlanConfig};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;
    for ns in &a.namespaces {
        if !arcdiag::collect::plan::safe_segment(ns) {
            eprintln!("arcdiag: '{ns}' is not a namespace name");
            return ExitCode::from(2);
        }
    }
    let azure = match (&a.resource_group, &a.cluster_name, a.cluster_type) {
        (Some(rg), Some(name), Some(t)) => Some(AzureTarget {
            resource_group: rg.clone(),
            cluster_name: name.clone(),
            cluster_type: match t {
                arcdiag::cli::ClusterTypeArg::ConnectedClusters => ClusterType::ConnectedClusters,
                arcdiag::cli::ClusterTypeArg::ManagedClusters => ClusterType::ManagedClusters,
            },
        }),
        _ => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let opts = arcdiag::collect::Options {
        plan: PlanConfig {
            context: a.context.clone(),
            extra_namespaces: a.namespaces.clone(),
            azure,
            since: a.since.clone(),
            tail: a.tail,
            max_log_bytes: a.max_log_bytes,
        },
        kubectl: a.kubectl.clone().into_os_string(),
        az: a.az.clone().into_os_string(),
        helm: a.helm.clone().into_os_string(),
        jobs: usize::from(a.jobs),
        step_timeout: Duration::from_secs(a.step_timeout.max(1)),
        deadline: Duration::from_secs(a.deadline.max(1)),
        max_step_bytes: a.max_step_bytes,
        redact: !a.no_redact,
        output: a.output.clone(),
        stop: Arc::clone(&stop),
        require_cluster: !a.no_cluster,
    };
    if a.dry_run {
        return match emit(&arcdiag::collect::dry_run(&opts), None) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("arcdiag: {e}");
                ExitCode::from(2)
            }
        };
    }
    if a.no_redact {
        eprintln!("arcdiag: warning: --no-redact: the bundle may hold tokens, keys and passwords; do not share it");
    }
    if let Err(e) = arcdiag::collect::runner::install_interrupt_flag(&stop) {
        eprintln!("arcdiag: warning: cannot catch Ctrl-C ({e}); an interrupt will leave no bundle");
    }
    let mut progress = if !a.plain && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        CollectProgress::Bar(bar)
    } else {
        CollectProgress::Plain { done: 0, total: 0 }
    };
    let result = arcdiag::collect::collect(&opts, &mut progress);
    if let CollectProgress::Bar(b) = &progress {
        b.finish_and_clear();
    }
    match result {
        Ok(s) => {
            let n = |k: &str| s.counts.get(k).copied().unwrap_or(0);
            let repl: u64 = s.replacements.values().sum();
            let kinds: Vec<String> = s.replacements.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!("{}", s.path.display());
            eprintln!(
                "arcdiag: wrote {}{}: steps {} ok, {} not-found, {} failed, {} timeout, {} skipped; {} bytes; {} redaction(s){}",
                s.path.display(),
                if s.complete { "" } else { " (incomplete)" },
                n("ok"),
                n("not-found"),
                n("failed"),
                n("timeout"),
                n("skipped"),
                s.bytes,
                repl,
                if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) },
            );
            if s.interrupted {
                ExitCode::from(130)
            } else if s.complete {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("arcdiag: {e}");
            ExitCode::from(2)
        }
    }
}
