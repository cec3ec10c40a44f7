//! `arcdiag collect`: run the plan (`plan`) with the runner (`runner`), judge each step, redact
//! what it printed (`redact`) and stream it into the bundle (`writer`), then add the manifest.
//! One failing, forbidden or hung step never stops the others; an interrupt or the total
//! deadline still writes a valid bundle marked `complete: false`. This module prints nothing:
//! progress goes to the caller's [`Progress`].

pub mod plan;
pub mod runner;
pub mod writer;

use crate::redact::{Counts, Redactor, Shape};
use plan::{Discovered, PlanConfig, Step, StepKind, Tool};
use runner::{Ended, Job, Limits, RawOutcome, StopCause};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Most bytes of stderr a step keeps in the manifest.
const STDERR_KEEP: usize = 4096;
/// The text kubectl prints when the API does not serve a resource type.
const NOT_SERVED: &str = "the server doesn't have a resource type";

#[derive(Debug, Clone)]
pub struct Options {
    pub plan: PlanConfig,
    pub kubectl: OsString,
    pub az: OsString,
    pub helm: OsString,
    pub jobs: usize,
    pub step_timeout: Duration,
    pub deadline: Duration,
    /// Largest output kept from a list or `az` step.
    pub max_step_bytes: u64,
    pub redact: bool,
    /// The bundle file, or a directory to write the default name into.
    pub output: Option<PathBuf>,
    /// Set by Ctrl-C.
    pub stop: Arc<AtomicBool>,
    /// Refuse to run (no bundle written) when `kubectl` cannot reach a cluster; off with
    /// `--no-cluster` for an az-only bundle.
    pub require_cluster: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Failed,
    Timeout,
    Skipped,
    NotFound,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Skipped => "skipped",
            Status::NotFound => "not-found",
        }
    }
}

/// One step as the manifest records it.
#[derive(Debug, Clone)]
pub struct StepRecord {
    pub id: String,
    pub argv: Vec<String>,
    pub output: Option<String>,
    pub status: Status,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub bytes: u64,
    pub truncated: bool,
    pub stderr: String,
    /// Lowercase hex sha256 of the output as stored (after redaction).
    pub sha256: Option<String>,
}

impl StepRecord {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id, "argv": self.argv, "output": self.output, "status": self.status.as_str(),
            "exit_code": self.exit_code, "duration_ms": self.duration_ms, "bytes": self.bytes,
            "truncated": self.truncated, "stderr": self.stderr,
        });
        if let (Some(h), Some(o)) = (&self.sha256, v.as_object_mut()) {
            o.insert("sha256".into(), Value::String(h.clone()));
        }
        v
    }
}

/// Where progress goes; the binary draws a bar on a terminal and plain lines otherwise.
pub trait Progress {
    fn phase(&mut self, name: &str, steps: usize);
    fn step(&mut self, record: &StepRecord);
    fn note(&mut self, message: &str);
}

/// What `collect` did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub path: PathBuf,
    pub complete: bool,
    pub interrupted: bool,
    pub counts: std::collections::BTreeMap<&'static str, usize>,
    pub bytes: u64,
    pub replacements: Counts,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot write the bundle {path}: {source}")]
    Write { path: String, source: std::io::Error },
    /// The preflight found no cluster to collect from; no bundle is written.
    #[error("no cluster to collect from: {0} (--no-cluster collects the Azure side alone)")]
    NoCluster(String),
}

/// A judged step: its record, the redacted output to store, and what discovery needs from it.
struct Judged {
    record: StepRecord,
    data: Option<Vec<u8>>,
    counts: Counts,
    /// What redaction replaced in the stored output, and whether it was read as text.
    file_counts: Counts,
    as_text: bool,
    parsed: Option<Value>,
    /// An interrupt or the deadline stopped this step.
    stopped: bool,
}

/// Text of at most about `keep` bytes: the beginning and the end (where kubectl puts its
/// summary line), with the middle cut out.
fn lossy_bounded(bytes: &[u8], keep: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    if s.len() <= keep {
        return s.to_string();
    }
    let mut head = keep / 4;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - (keep - keep / 4);
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{} [... {} bytes cut ...] {}", &s[..head], tail - head, &s[tail..])
}

fn skipped(step: &Step, why: &str) -> StepRecord {
    StepRecord {
        id: step.id.clone(),
        argv: step.argv(),
        output: None,
        status: Status::Skipped,
        exit_code: None,
        duration_ms: 0,
        bytes: 0,
        truncated: false,
        stderr: why.to_string(),
        sha256: None,
    }
}

fn stop_text(cause: StopCause, deadline: Duration) -> String {
    match cause {
        StopCause::Interrupted => "collection was interrupted (Ctrl-C)".into(),
        StopCause::Deadline => format!("the total deadline of {}s was reached", deadline.as_secs()),
    }
}

/// Turn what the runner saw into a step record and the (redacted) bytes to store.
fn judge(step: &Step, raw: RawOutcome, redactor: Option<&Redactor>, opts: &Options) -> Judged {
    let mut counts = Counts::new();
    let mut red = |b: &[u8], shape: Shape, file: Option<&mut (Counts, bool)>| -> Vec<u8> {
        let Some(r) = redactor else { return b.to_vec() };
        let o = r.redact(b, shape);
        for (k, n) in &o.counts {
            *counts.entry(k).or_insert(0) += n;
        }
        if let Some(f) = file {
            f.0 = o.counts;
            f.1 = o.as_text;
        }
        o.bytes.into_owned()
    };
    let stderr_red = red(&raw.stderr, Shape::Text, None);
    let mut stderr = lossy_bounded(&stderr_red, STDERR_KEEP);
    let mut rec = StepRecord {
        id: step.id.clone(),
        argv: step.argv(),
        output: None,
        status: Status::Failed,
        exit_code: None,
        duration_ms: u64::try_from(raw.duration.as_millis()).unwrap_or(u64::MAX),
        bytes: 0,
        truncated: false,
        stderr: String::new(),
        sha256: None,
    };
    let is_log = step.kind == StepKind::Log;
    let mut keep_output = false;
    match &raw.ended {
        // The output reached its cap and the runner stopped the process: a log keeps its
        // beginning (normal for a bounded log); a list or az output is unusable.
        Ended::Exited(_) | Ended::Signaled if raw.stdout_capped => {
            if is_log {
                rec.status = Status::Ok;
            } else {
                stderr = format!(
                    "the output passed the limit of {} bytes (--max-step-bytes) and was cut",
                    opts.max_step_bytes
                );
            }
            keep_output = step.kind != StepKind::Discovery;
        }
        Ended::SpawnFailed(e) => {
            if e.kind() == std::io::ErrorKind::NotFound {
                rec.status = Status::Skipped;
                stderr = format!(
                    "{} is not installed (not found on PATH; --{} PATH names it)",
                    step.tool.name(),
                    step.tool.name()
                );
            } else {
                stderr = format!("cannot run {}: {e}", step.tool.name());
            }
        }
        Ended::Stopped { cause, started } => {
            let why = stop_text(*cause, opts.deadline);
            rec.status = match cause {
                StopCause::Interrupted => Status::Skipped,
                StopCause::Deadline if *started => Status::Timeout,
                StopCause::Deadline => Status::Skipped,
            };
            stderr = if *started {
                format!("{why} while this step ran; its process group was killed. {stderr}")
            } else {
                format!("not run: {why}")
            };
            keep_output = is_log && *started && !raw.stdout.is_empty();
        }
        Ended::TimedOut => {
            rec.status = Status::Timeout;
            stderr = format!(
                "no result within the step timeout of {}s; its process group was killed. {stderr}",
                opts.step_timeout.as_secs()
            );
            keep_output = is_log && !raw.stdout.is_empty();
        }
        Ended::Signaled => {
            stderr = format!("{} ended by a signal. {stderr}", step.tool.name());
        }
        Ended::Exited(code) => {
            rec.exit_code = Some(*code);
            if *code == 0 {
                rec.status = Status::Ok;
                keep_output = step.kind != StepKind::Discovery;
            } else if step.tool == Tool::Kubectl
                && matches!(step.kind, StepKind::List | StepKind::Discovery)
                && stderr.contains(NOT_SERVED)
            {
                // A discovery list of a type the cluster does not serve (no Flux: no
                // fluxconfigs) found nothing to discover: not a failure either.
                rec.status = Status::NotFound;
            }
        }
    }
    // Output that is neither stored nor parsed is dropped unread: redacting (copying) a
    // capped 256 MiB list only to discard it doubled the memory of a hostile step.
    let needed = keep_output || (!is_log && rec.status == Status::Ok);
    let shape = if is_log { Shape::Log } else { Shape::Json };
    let mut file = (Counts::new(), false);
    let stdout = if needed {
        red(&raw.stdout, shape, Some(&mut file))
    } else {
        Vec::new()
    };
    drop(raw.stdout);
    let mut parsed = None;
    if !is_log && rec.status == Status::Ok {
        // Only discovery reads the parsed value; every other output is validated without
        // building one (a `serde_json::Value` of `[0,0,...]` takes 16 times the text's bytes).
        let checked = if feeds_discovery(&step.id) {
            serde_json::from_slice::<Value>(&stdout).map(|v| parsed = Some(v))
        } else {
            serde_json::from_slice::<serde::de::IgnoredAny>(&stdout).map(|_| ())
        };
        match checked {
            Ok(()) => {}
            Err(e) => {
                rec.status = Status::Failed;
                stderr = format!(
                    "{} printed output that is not valid JSON ({e}). {stderr}",
                    step.tool.name()
                );
            }
        }
    }
    if is_log {
        rec.truncated = raw.stdout_capped || rec.status != Status::Ok || stdout.len() as u64 >= opts.plan.max_log_bytes;
    } else {
        rec.truncated = raw.stdout_capped;
    }
    let data = if keep_output && step.output.is_some() {
        rec.output = step.output.clone();
        rec.bytes = stdout.len() as u64;
        rec.sha256 = Some(crate::bundle::digest::sha256_hex(&stdout));
        Some(stdout)
    } else {
        None
    };
    if rec.status != Status::Ok {
        rec.stderr = lossy_bounded(stderr.as_bytes(), STDERR_KEEP);
    }
    let (file_counts, as_text) = if data.is_some() { file } else { (Counts::new(), false) };
    Judged {
        record: rec,
        data,
        counts,
        file_counts,
        as_text,
        parsed,
        stopped: matches!(raw.ended, Ended::Stopped { .. }),
    }
}

/// Steps whose parsed output the plan reads to find more to collect (see `collect`).
fn feeds_discovery(id: &str) -> bool {
    matches!(
        id,
        "kubectl/cluster/namespaces"
            | "kubectl/cluster/constraints"
            | "kubectl/cluster/constrainttemplates"
            | "discovery/fluxconfigs"
            | "az/k8s-extension-list"
            | "az/k8s-configuration-flux-list"
    ) || (id.starts_with("kubectl/namespaces/")
        && (id.ends_with("/pods")
            || id.ends_with("/kustomizations.kustomize.toolkit.fluxcd.io")
            || id.ends_with("/helmreleases.helm.toolkit.fluxcd.io")))
}

fn env_for(tool: Tool) -> Vec<(String, String)> {
    match tool {
        // Never install CLI extensions or prompt on the customer's machine.
        Tool::Az => vec![
            ("AZURE_EXTENSION_USE_DYNAMIC_INSTALL".into(), "no".into()),
            ("AZURE_CORE_NO_COLOR".into(), "true".into()),
            ("AZURE_CORE_SURVEY_MESSAGE".into(), "false".into()),
            ("AZURE_CORE_COLLECT_TELEMETRY".into(), "false".into()),
        ],
        Tool::Kubectl | Tool::Helm => Vec::new(),
    }
}

fn program(opts: &Options, tool: Tool) -> OsString {
    match tool {
        Tool::Kubectl => opts.kubectl.clone(),
        Tool::Az => opts.az.clone(),
        Tool::Helm => opts.helm.clone(),
    }
}

fn job(opts: &Options, step: &Step) -> Job {
    Job {
        program: program(opts, step.tool),
        args: step.args.clone(),
        env: env_for(step.tool),
        cap: if step.kind == StepKind::Log {
            opts.plan.max_log_bytes
        } else {
            opts.max_step_bytes
        },
    }
}

/// `kubectl version` against the cluster: a bundle of nothing but failed steps helps nobody, so
/// no kubectl, no context or an API server that does not answer stops `collect` before it writes
/// anything, with kubectl's own first line of error.
fn cluster_preflight(opts: &Options, limits: &Limits) -> Result<(), CollectError> {
    let mut args: Vec<String> = ["version", "-o", "json", "--request-timeout=10s"]
        .map(String::from)
        .to_vec();
    if let Some(c) = &opts.plan.context {
        args.extend(["--context".to_string(), c.clone()]);
    }
    let job = Job {
        program: opts.kubectl.clone(),
        args,
        env: Vec::new(),
        cap: 1 << 16,
    };
    let r = runner::run_one(
        &job,
        &Limits {
            step_timeout: Duration::from_secs(20).min(opts.step_timeout.max(Duration::from_secs(1))),
            ..limits.clone()
        },
    );
    let kubectl = Path::new(&opts.kubectl).display().to_string();
    let why = match r.ended {
        Ended::Exited(0) => return Ok(()),
        Ended::SpawnFailed(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("{kubectl} is not installed (not found on PATH; --kubectl PATH names it)")
        }
        Ended::SpawnFailed(e) => format!("cannot run {kubectl}: {e}"),
        Ended::Exited(code) => {
            let err = Redactor::new().redact(&r.stderr, Shape::Text).bytes.into_owned();
            let text = String::from_utf8_lossy(&err);
            let first = crate::bundle::manifest::first_line(&text);
            if first.is_empty() {
                format!("`kubectl version` failed (exit {code})")
            } else {
                format!("`kubectl version` failed: {first}")
            }
        }
        _ => "`kubectl version` did not answer within 20 s (is the API server reachable?)".to_string(),
    };
    Err(CollectError::NoCluster(why))
}

/// The az CLI extensions the plan's `az k8s-extension` / `az k8s-configuration` steps need that
/// `az extension list` does not show, each with the command that installs it. Asked once, so the
/// cause is said once instead of as az's multi-line "misspelled or not recognized" per step. When
/// the list cannot be read, nothing is assumed missing (the steps then say what az says).
fn missing_az_extensions(opts: &Options, limits: &Limits) -> Vec<(&'static str, String)> {
    let j = Job {
        program: opts.az.clone(),
        args: ["extension", "list", "-o", "json"].map(String::from).to_vec(),
        env: env_for(Tool::Az),
        cap: 1 << 20,
    };
    let r = runner::run_one(
        &j,
        &Limits {
            step_timeout: Duration::from_secs(30).min(opts.step_timeout.max(Duration::from_secs(1))),
            ..limits.clone()
        },
    );
    let Ended::Exited(0) = r.ended else {
        return Vec::new();
    };
    let Ok(Value::Array(list)) = serde_json::from_slice::<Value>(&r.stdout) else {
        return Vec::new();
    };
    let installed: BTreeSet<&str> = list
        .iter()
        .filter_map(|e| e.get("name").and_then(Value::as_str))
        .collect();
    ["k8s-extension", "k8s-configuration"]
        .into_iter()
        .filter(|e| !installed.contains(e))
        .map(|e| {
            (
                e,
                format!("the az CLI extension {e} is not installed; install it with `az extension add --name {e}`"),
            )
        })
        .collect()
}

/// The preflight commands, shown by `--dry-run`: the kube context (for the bundle's name) and
/// whether `az` is logged in.
pub fn preflight(opts: &Options) -> Vec<Vec<String>> {
    let mut v = vec![vec!["kubectl".to_string(), "config".into(), "current-context".into()]];
    if opts.require_cluster {
        v.push(
            ["kubectl", "version", "-o", "json", "--request-timeout=10s"]
                .map(String::from)
                .to_vec(),
        );
    }
    if opts.plan.azure.is_some() {
        v.push(vec![
            "az".into(),
            "account".into(),
            "show".into(),
            "-o".into(),
            "none".into(),
        ]);
        v.push(["az", "extension", "list", "-o", "json"].map(String::from).to_vec());
    }
    v
}

/// The whole plan as text: every command and the file it goes to. Steps that depend on what the
/// cluster holds are shown with `<placeholders>`.
pub fn dry_run(opts: &Options) -> String {
    let mut out = String::new();
    let line = |s: &Step| -> String {
        format!(
            "{}  ->  {}\n",
            s.command_line(),
            s.output.as_deref().unwrap_or("(discovery; not stored)")
        )
    };
    out.push_str("# preflight (not stored)\n");
    for p in preflight(opts) {
        out.push_str(&p.join(" "));
        out.push('\n');
    }
    out.push_str("# phase 1: version, cluster-scoped lists, discovery, Azure lists\n");
    for s in plan::phase1(&opts.plan) {
        out.push_str(&line(&s));
    }
    let mut found = Discovered::default();
    found.add("<flux-configuration-namespace>".into(), "holds a flux configuration");
    found.add(
        "<namespace-labeled-openservicemesh.io/monitored-by>".into(),
        "in the mesh (openservicemesh.io/monitored-by)",
    );
    if opts.plan.azure.is_some() {
        found.add(
            "<extension-release-namespace>".into(),
            "an extension's release namespace",
        );
        found.extensions.insert("<extension>".into());
        found.flux_configs.insert("<flux-configuration>".into());
    }
    found.cluster_namespaces.insert("<every-other-namespace>".into());
    out.push_str("# phase 2: every list in the namespaces below; pods and events in every other namespace of the\n");
    out.push_str(
        "#   cluster (kubectl/cluster/namespaces.json); each Gatekeeper constraint kind of the templates\n#   (kubectl get <kind>.constraints.gatekeeper.sh) when the `constraints` category did not answer;\n#   then az show for each extension and flux configuration\n",
    );
    for (ns, why) in plan::namespace_reasons(&opts.plan, &found) {
        out.push_str(&format!("#   {ns}: {}\n", why.join(", ")));
    }
    for s in plan::phase2(&opts.plan, &found) {
        out.push_str(&line(&s));
    }
    out.push_str("# phase 2b: every other list in the namespaces that need them: those with failing pods (not\n");
    out.push_str("#   Running and ready, or restarted) and those Flux applies to (Kustomization and HelmRelease\n");
    out.push_str("#   targetNamespace, storageNamespace, a Kustomization's inventory)\n");
    for s in plan::whole_namespace(&opts.plan, "<namespace-with-failing-pods>", &plan::EVERY_NAMESPACE) {
        out.push_str(&line(&s));
    }
    out.push_str(
        "# phase 3: logs of every container of the pods in the namespaces collected whole, and of the failing\n",
    );
    out.push_str("#   pods elsewhere; --previous when it restarted\n");
    let c = plan::Container {
        namespace: "<namespace>".into(),
        pod: "<pod>".into(),
        container: "<container>".into(),
        restarted: true,
    };
    for s in plan::phase3(&opts.plan, &[c]) {
        out.push_str(&line(&s));
    }
    out.push_str("# the guide's commands and the file that answers each\n");
    for (cmd, file) in plan::GUIDE_COMMANDS {
        out.push_str(&format!("#   {cmd}  ->  {file}\n"));
    }
    out
}

struct Run<'a> {
    opts: &'a Options,
    redactor: Option<Redactor>,
    limits: Limits,
    writer: writer::BundleWriter,
    target: String,
    records: Vec<StepRecord>,
    counts: Counts,
    /// Per stored output: what redaction replaced there (never values).
    files: BTreeMap<String, Counts>,
    /// Outputs that did not read as JSON and were redacted as text.
    as_text: Vec<String>,
    write_error: Option<std::io::Error>,
    /// Some step was stopped by an interrupt or the deadline.
    stopped: bool,
}

impl Run<'_> {
    /// Run one phase; returns the judged steps' parsed outputs by index.
    fn phase(
        &mut self,
        name: &str,
        steps: Vec<Step>,
        pre: Vec<Option<String>>,
        progress: &mut dyn Progress,
    ) -> Vec<Option<Value>> {
        progress.phase(name, steps.len());
        let mut parsed: Vec<Option<Value>> = vec![None; steps.len()];
        let mut slots: Vec<Option<StepRecord>> = vec![None; steps.len()];
        let mut to_run: Vec<usize> = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            match pre.get(i).cloned().flatten() {
                Some(why) => {
                    let r = skipped(s, &why);
                    progress.step(&r);
                    slots[i] = Some(r);
                }
                None => to_run.push(i),
            }
        }
        let jobs: Vec<Job> = to_run.iter().map(|&i| job(self.opts, &steps[i])).collect();
        let redactor = self.redactor.as_ref();
        let opts = self.opts;
        let limits = self.limits.clone();
        let steps_ref = &steps;
        let to_run_ref = &to_run;
        let mut results: Vec<(usize, Judged)> = Vec::new();
        runner::run_all(
            &jobs,
            &limits,
            |k, raw| judge(&steps_ref[to_run_ref[k]], raw, redactor, opts),
            |k, mut j| {
                let i = to_run_ref[k];
                if let (Some(data), Some(out)) = (j.data.take(), j.record.output.clone()) {
                    if self.write_error.is_none() {
                        if let Err(e) = self.writer.add(&out, &data) {
                            self.write_error = Some(e);
                        }
                    }
                }
                progress.step(&j.record);
                results.push((i, j));
            },
        );
        for (i, j) in results {
            for (k, n) in j.counts {
                *self.counts.entry(k).or_insert(0) += n;
            }
            if let Some(out) = &j.record.output {
                if !j.file_counts.is_empty() {
                    self.files.insert(out.clone(), j.file_counts);
                }
                if j.as_text {
                    self.as_text.push(out.clone());
                }
            }
            parsed[i] = j.parsed;
            self.stopped |= j.stopped;
            slots[i] = Some(j.record);
        }
        self.records.extend(slots.into_iter().flatten());
        parsed
    }
}

/// Collect a bundle. `Err` only when the bundle cannot be written at all.
pub fn collect(opts: &Options, progress: &mut dyn Progress) -> Result<Summary, CollectError> {
    let started = Instant::now();
    let now = SystemTime::now();
    let (stamp, rfc3339) = writer::utc_stamps(now);
    let limits = Limits {
        jobs: opts.jobs.max(1),
        step_timeout: opts.step_timeout,
        deadline: started + opts.deadline,
        stop: Arc::clone(&opts.stop),
    };
    // Preflight: the kube context names the bundle when no cluster name was given.
    let ctx_job = Job {
        program: opts.kubectl.clone(),
        args: vec!["config".into(), "current-context".into()],
        env: Vec::new(),
        cap: 4096,
    };
    let context = match &opts.plan.context {
        Some(c) => Some(c.clone()),
        None => {
            let r = runner::run_one(
                &ctx_job,
                &Limits {
                    step_timeout: Duration::from_secs(10),
                    ..limits.clone()
                },
            );
            match r.ended {
                Ended::Exited(0) => {
                    Some(String::from_utf8_lossy(&r.stdout).trim().to_string()).filter(|s| !s.is_empty())
                }
                _ => None,
            }
        }
    };
    if opts.require_cluster {
        cluster_preflight(opts, &limits)?;
    }
    let cluster_name = opts
        .plan
        .azure
        .as_ref()
        .map(|a| a.cluster_name.clone())
        .or_else(|| context.clone())
        .unwrap_or_else(|| "cluster".into());
    let top = format!("arcdiag-{}-{stamp}", writer::file_label(&cluster_name));
    let target = match &opts.output {
        Some(p) if p.is_dir() => p.join(format!("{top}.tar.gz")),
        Some(p) => p.clone(),
        None => PathBuf::from(format!("{top}.tar.gz")),
    };
    let target_s = target.display().to_string();
    let w = writer::BundleWriter::create(&target, &top, now).map_err(|source| CollectError::Write {
        path: target_s.clone(),
        source,
    })?;
    // az preflight: not installed or not logged in skips every az step with the reason.
    let mut az_skip: Option<String> = None;
    // The az CLI extensions (`k8s-extension`, `k8s-configuration`) that are not installed, with
    // the one-line reason their steps are skipped for.
    let mut az_missing: Vec<(&'static str, String)> = Vec::new();
    if opts.plan.azure.is_some() {
        let j = Job {
            program: opts.az.clone(),
            args: vec!["account".into(), "show".into(), "-o".into(), "none".into()],
            env: env_for(Tool::Az),
            cap: 4096,
        };
        let r = runner::run_one(
            &j,
            &Limits {
                step_timeout: Duration::from_secs(30).min(opts.step_timeout),
                ..limits.clone()
            },
        );
        let err = Redactor::new().redact(&r.stderr, Shape::Text).bytes.into_owned();
        az_skip = match r.ended {
            Ended::Exited(0) => None,
            Ended::SpawnFailed(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Some("az is not installed (not found on PATH; --az PATH names it)".into())
            }
            Ended::SpawnFailed(e) => Some(format!("cannot run az: {e}")),
            Ended::Exited(_) => Some(format!(
                "az is not logged in or cannot reach Azure (`az account show` failed): {}",
                lossy_bounded(&err, 1024)
            )),
            _ => Some("`az account show` did not finish".into()),
        };
        if let Some(why) = &az_skip {
            progress.note(&format!("Azure steps skipped: {why}"));
        } else {
            az_missing = missing_az_extensions(opts, &limits);
            for (ext, why) in &az_missing {
                progress.note(&format!("`az {ext}` steps skipped: {why}"));
            }
        }
    }
    let mut run = Run {
        opts,
        redactor: opts.redact.then(Redactor::new),
        limits,
        writer: w,
        target: target_s.clone(),
        records: Vec::new(),
        counts: Counts::new(),
        files: BTreeMap::new(),
        as_text: Vec::new(),
        write_error: None,
        stopped: false,
    };
    let pre_for = |steps: &[Step]| -> Vec<Option<String>> {
        steps
            .iter()
            .map(|s| match s.tool {
                Tool::Az => az_skip.clone().or_else(|| {
                    let group = s.args.first().map(String::as_str);
                    az_missing
                        .iter()
                        .find(|(e, _)| Some(*e) == group)
                        .map(|(_, why)| why.clone())
                }),
                _ => None,
            })
            .collect()
    };

    // Phase 1.
    let p1 = plan::phase1(&opts.plan);
    let pre = pre_for(&p1);
    let out1 = run.phase("cluster and Azure lists", p1.clone(), pre, progress);
    let mut found = Discovered::default();
    for (s, v) in p1.iter().zip(out1.iter()) {
        let Some(v) = v else { continue };
        match s.id.as_str() {
            "kubectl/cluster/namespaces" => {
                found.cluster_namespaces.extend(plan::all_namespaces(v));
                for ns in plan::meshed_namespaces(v) {
                    found.add(ns, "in the mesh (openservicemesh.io/monitored-by)");
                }
            }
            "discovery/fluxconfigs" => {
                for ns in plan::fluxconfig_namespaces(v) {
                    found.add(ns, "holds a flux configuration");
                }
            }
            "az/k8s-extension-list" => {
                for (name, ns) in plan::az_entries(v) {
                    found.extensions.insert(name);
                    if let Some(ns) = ns {
                        found.add(ns, "an extension's release namespace");
                    }
                }
            }
            "az/k8s-configuration-flux-list" => {
                for (name, ns) in plan::az_entries(v) {
                    found.flux_configs.insert(name);
                    if let Some(ns) = ns {
                        found.add(ns, "holds a flux configuration");
                    }
                }
            }
            _ => {}
        }
    }
    // Gatekeeper constraints: `kubectl get constraints` lists them through the category; where the
    // API server does not resolve it (an older one, or a server without categories), each
    // constraint kind of the templates is listed by its own resource.
    let category_ok = p1
        .iter()
        .zip(out1.iter())
        .any(|(s, v)| s.id == "kubectl/cluster/constraints" && v.is_some());
    if !category_ok {
        if let Some(Some(v)) = p1
            .iter()
            .zip(out1.iter())
            .find(|(s, _)| s.id == "kubectl/cluster/constrainttemplates")
            .map(|(_, v)| v)
        {
            found.constraint_resources.extend(plan::constraint_resources(v));
        }
    }
    // Phase 2, unless stopped.
    let mut interrupted_early = false;
    if runner_stopped(&run.limits) {
        interrupted_early = true;
    } else {
        let p2 = plan::phase2(&opts.plan, &found);
        let pre = pre_for(&p2);
        let out2 = run.phase("namespaced lists", p2.clone(), pre, progress);
        let whole: BTreeSet<String> = plan::namespaces(&opts.plan, &found).into_iter().collect();
        let mut containers = Vec::new();
        let mut seen = BTreeSet::new();
        // Namespaces found to need every list: those of failing pods, and those Flux applies to.
        let mut more: BTreeMap<String, &'static str> = BTreeMap::new();
        let mut take =
            |ns: &str, v: &Value, containers: &mut Vec<plan::Container>, more: &mut BTreeMap<String, &'static str>| {
                let failing = plan::failing_pods(v);
                if !whole.contains(ns) && !failing.is_empty() {
                    more.entry(ns.to_string()).or_insert("has failing pods");
                }
                for c in plan::pod_containers(ns, v) {
                    // Logs of every pod where the namespace is collected whole; elsewhere only of
                    // failing pods, so an application namespace of 1,000 healthy pods costs nothing.
                    if (whole.contains(ns) || failing.contains(&c.pod))
                        && seen.insert((c.namespace.clone(), c.pod.clone(), c.container.clone()))
                    {
                        containers.push(c);
                    }
                }
            };
        for (s, v) in p2.iter().zip(out2.iter()) {
            let (Some(v), Some(rest)) = (v, s.id.strip_prefix("kubectl/namespaces/")) else {
                continue;
            };
            if let Some(ns) = rest.strip_suffix("/pods") {
                take(ns, v, &mut containers, &mut more);
            } else if rest.ends_with("/kustomizations.kustomize.toolkit.fluxcd.io")
                || rest.ends_with("/helmreleases.helm.toolkit.fluxcd.io")
            {
                for ns in plan::flux_target_namespaces(v) {
                    if !whole.contains(&ns) {
                        more.entry(ns).or_insert("a Flux target namespace");
                    }
                }
            }
        }
        if !more.is_empty() && !runner_stopped(&run.limits) {
            let mut p2b = Vec::new();
            for ns in more.keys() {
                let listed: &[&str] = if found.cluster_namespaces.contains(ns) {
                    &plan::EVERY_NAMESPACE
                } else {
                    &[]
                };
                p2b.extend(plan::whole_namespace(&opts.plan, ns, listed));
            }
            for (ns, why) in &more {
                progress.note(&format!("namespace {ns}: every list ({why})"));
            }
            let pre = pre_for(&p2b);
            let out2b = run.phase("lists where needed", p2b.clone(), pre, progress);
            for (s, v) in p2b.iter().zip(out2b.iter()) {
                let (Some(v), Some(ns)) = (
                    v,
                    s.id.strip_prefix("kubectl/namespaces/")
                        .and_then(|r| r.strip_suffix("/pods")),
                ) else {
                    continue;
                };
                take(ns, v, &mut containers, &mut more);
            }
        }
        if runner_stopped(&run.limits) {
            interrupted_early = true;
        } else {
            run.phase(
                "container logs",
                plan::phase3(&opts.plan, &containers),
                Vec::new(),
                progress,
            );
        }
    }
    let incomplete = run.stopped || interrupted_early;
    let stop_cause = if !incomplete {
        None
    } else if run.limits.stop.load(std::sync::atomic::Ordering::SeqCst) {
        Some(StopCause::Interrupted)
    } else {
        Some(StopCause::Deadline)
    };
    if let Some(c) = stop_cause {
        progress.note(&format!(
            "{}; writing what was collected (complete: false)",
            stop_text(c, opts.deadline)
        ));
    }
    if let Some(e) = run.write_error.take() {
        return Err(CollectError::Write {
            path: run.target,
            source: e,
        });
    }
    let plan_cfg = &opts.plan;
    let manifest = json!({
        "format": "arcdiag-bundle/v1",
        "tool": {"name": "arcdiag", "version": env!("CARGO_PKG_VERSION")},
        "collected_at": rfc3339,
        "complete": !incomplete,
        "cluster": {
            "name": cluster_name,
            "resource_group": plan_cfg.azure.as_ref().map(|a| a.resource_group.clone()),
            "type": plan_cfg.azure.as_ref().map(|a| a.cluster_type.as_str()),
            "kube_context": context,
        },
        "limits": {
            "log_tail_lines": plan_cfg.tail, "log_max_bytes": plan_cfg.max_log_bytes, "since": plan_cfg.since,
            "step_timeout_s": opts.step_timeout.as_secs(), "deadline_s": opts.deadline.as_secs(),
            "jobs": opts.jobs,
        },
        "redaction": {
            "enabled": opts.redact, "replacements": run.counts, "files": run.files,
            "as_text": run.as_text,
        },
        "steps": run.records.iter().map(StepRecord::to_json).collect::<Vec<_>>(),
    });
    let mut mbytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    mbytes.push(b'\n');
    let mut counts = std::collections::BTreeMap::new();
    for r in &run.records {
        *counts.entry(r.status.as_str()).or_insert(0usize) += 1;
    }
    let bytes = run.writer.bytes() + mbytes.len() as u64;
    let replacements = run.counts.clone();
    let Run { writer, target, .. } = run;
    let path = writer
        .finish(&mbytes)
        .map_err(|source| CollectError::Write { path: target, source })?;
    Ok(Summary {
        path,
        complete: !incomplete,
        interrupted: stop_cause == Some(StopCause::Interrupted),
        counts,
        bytes,
        replacements,
    })
}

fn runner_stopped(l: &Limits) -> bool {
    l.stop.load(std::sync::atomic::Ordering::SeqCst) || Instant::now() >= l.deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_discovery_outputs_are_parsed_into_values() {
        assert!(feeds_discovery("kubectl/namespaces/flux-system/pods"));
        assert!(feeds_discovery("kubectl/cluster/namespaces"));
        assert!(!feeds_discovery("kubectl/namespaces/kube-system/configmaps"));
        assert!(!feeds_discovery("kubectl/cluster/nodes"));
    }

    #[test]
    fn long_stderr_keeps_its_last_line() {
        let mut s = "E1125 noisy retry line\n".repeat(500);
        s.push_str("The connection to the server 127.0.0.1:1 was refused");
        let b = lossy_bounded(s.as_bytes(), STDERR_KEEP);
        assert!(b.len() <= STDERR_KEEP + 40, "{}", b.len());
        assert!(b.starts_with("E1125 noisy"));
        assert!(b.ends_with("was refused"));
        assert_eq!(lossy_bounded(b"  short\n", STDERR_KEEP), "short");
    }
}
