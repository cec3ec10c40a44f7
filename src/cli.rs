//! Command-line definitions (clap), nothing else.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "arcdiag",
    version,
    about = "Diagnose Azure Arc-enabled Kubernetes and AKS cluster extensions (Flux v2, Container Insights, Open Service Mesh) from a support bundle"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze bundles offline and print findings.
    Analyze(AnalyzeArgs),
    /// Compare two bundles (of one cluster, collected before and after a fix): findings resolved,
    /// new and persisting, inputs and facts that changed (exit 1 when a new finding reaches
    /// --fail-on).
    Diff(DiffArgs),
    /// Summarize many bundles: per rule code, how many bundles fired it and which.
    Fleet(FleetArgs),
    /// List the rule catalog.
    Rules(RulesArgs),
    /// Print a rule's full documentation.
    Explain(ExplainArgs),
    /// Serve a bundle as a read-only Kubernetes API on 127.0.0.1 so `kubectl` works offline.
    Serve(ServeArgs),
    /// Collect a bundle from the current kube context (and Azure, given a resource group and cluster).
    Collect(CollectArgs),
    /// Re-redact any bundle `analyze` reads into a new .tar.gz before it is shared.
    Redact(RedactArgs),
    /// Check every member of a bundle against the digests it recorded (exit 0 all match, 1 a
    /// mismatch, 2 cannot read it or it records no digests).
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// The bundle: .tar.gz, .tgz, .tar.zst, .tar, .zip, or a directory (any layout `analyze`
    /// reads).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// The redacted bundle to write (.tar.gz); never overwritten.
    #[arg(short, long, value_name = "OUT.tar.gz")]
    pub output: PathBuf,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle: .tar.gz, .tgz, .tar, or a directory.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// How `analyze` writes its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For a terminal: incidents, then findings by severity.
    Text,
    /// The `arcdiag-report/v1` object (an array for several bundles).
    Json,
    /// For a support ticket.
    Markdown,
    /// SARIF 2.1.0, for code-scanning dashboards (a run per bundle).
    Sarif,
    /// JUnit XML, for CI (a test case per rule, a failure per finding).
    Junit,
    /// One self-contained HTML page, to look at and forward.
    Html,
    /// JSON Lines: a line per finding and a summary line per bundle, written as each bundle
    /// finishes (bundles analyzed in parallel, see --jobs), for DuckDB and other query engines.
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinSeverity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Bounds on what is read from an untrusted bundle.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest member (file) read, in bytes.
    #[arg(long, default_value_t = 512 << 20, value_name = "BYTES")]
    pub max_member_bytes: u64,
    /// Largest total uncompressed size read, in bytes.
    #[arg(long, default_value_t = 64 << 30, value_name = "BYTES")]
    pub max_total_bytes: u64,
    /// Most members (files, links, folders) read.
    #[arg(long, default_value_t = 250_000, value_name = "N")]
    pub max_members: u64,
    /// Largest uncompressed/compressed ratio before a stream counts as a decompression bomb;
    /// judged once 256 MiB have been decompressed (a smaller stream of repeated lines compresses
    /// far better, harmlessly; --max-total-bytes bounds it). At least 1.
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_ratio: u64,
    /// Largest JSON, YAML or error-text member parsed, in bytes: one is held whole, text and
    /// parse at once (logs stream, whatever their size).
    #[arg(long, default_value_t = 128 << 20, value_name = "BYTES")]
    pub max_parsed_bytes: u64,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Bundles: .tar.gz, .tgz, .tar, or directories (recognized by content).
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundles: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these rules: codes or prefixes, comma-separated (e.g. `FLX,K8S001`).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub select: Vec<String>,
    /// Skip these rules: codes or prefixes, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub ignore: Vec<String>,
    /// Drop findings below this severity.
    #[arg(long, value_enum, default_value_t = MinSeverity::Info)]
    pub min_severity: MinSeverity,
    /// Exit 1 when a finding at or above this severity exists (info never counts).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Extra signatures (YAML, same schema as the built-in ones); may be repeated.
    #[arg(long = "rules", value_name = "FILE.yaml")]
    pub rules_files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// With --format jsonl: bundles analyzed at once, and at most this many done ahead of the one
    /// being written (default: the cores, at most 8).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// What `diff` and `fleet` analyze each bundle with, as `analyze` does.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only these rules: codes or prefixes, comma-separated (e.g. `FLX,K8S001`).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub select: Vec<String>,
    /// Skip these rules: codes or prefixes, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub ignore: Vec<String>,
    /// Drop findings below this severity.
    #[arg(long, value_enum, default_value_t = MinSeverity::Info)]
    pub min_severity: MinSeverity,
    /// Extra signatures (YAML, same schema as the built-in ones); may be repeated.
    #[arg(long = "rules", value_name = "FILE.yaml")]
    pub rules_files: Vec<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier bundle (any input `analyze` reads).
    #[arg(value_name = "BEFORE")]
    pub before: PathBuf,
    /// The later bundle.
    #[arg(value_name = "AFTER")]
    pub after: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the diff to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a new finding at or above this severity exists (info never counts).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Bundles, or folders of bundles (a folder that is not itself a bundle stands for the
    /// .tar.gz, .tgz, .tar files and folders in it).
    #[arg(required = true, value_name = "BUNDLES|DIR")]
    pub bundles: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the summary to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Bundles analyzed at once (default: the cores, at most 8).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Include the signatures of these rules files.
    #[arg(long = "rules", value_name = "FILE.yaml")]
    pub rules_files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule code, e.g. FLX001 (case-insensitive).
    pub code: String,
    #[arg(long = "rules", value_name = "FILE.yaml")]
    pub rules_files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The bundle: .tar.gz, .tgz, .tar, or a directory (any layout `analyze` reads).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub port: u16,
    /// Where to write the kubeconfig pointing at the server.
    #[arg(long, default_value = "arcdiag-serve.kubeconfig", value_name = "PATH")]
    pub kubeconfig: PathBuf,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterTypeArg {
    /// An Azure Arc-enabled cluster.
    #[value(name = "connectedClusters", alias = "connectedclusters")]
    ConnectedClusters,
    /// An AKS cluster.
    #[value(name = "managedClusters", alias = "managedclusters")]
    ManagedClusters,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Bundle file to write, or a directory for the default name
    /// `arcdiag-<cluster>-<UTC yyyymmddThhmmssZ>.tar.gz` (default: the current directory).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Print every command and the file it goes to; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also collect these namespaces (comma-separated or repeated).
    #[arg(long = "namespace", short = 'n', value_delimiter = ',', value_name = "NS")]
    pub namespaces: Vec<String>,
    /// kubeconfig context to use (default: the current one).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Azure resource group of the cluster (with --cluster-name and --cluster-type: collect the Azure side).
    #[arg(long, short = 'g', value_name = "RG", requires_all = ["cluster_name", "cluster_type"])]
    pub resource_group: Option<String>,
    /// Azure name of the cluster.
    #[arg(long, short = 'c', value_name = "NAME", requires_all = ["resource_group", "cluster_type"])]
    pub cluster_name: Option<String>,
    /// Azure resource type of the cluster.
    #[arg(long, short = 't', value_enum, requires_all = ["resource_group", "cluster_name"])]
    pub cluster_type: Option<ClusterTypeArg>,
    /// Steps run at the same time.
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Seconds before a step is killed.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub step_timeout: u64,
    /// Seconds for the whole collection; then what is done is written, marked incomplete.
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    pub deadline: u64,
    /// Logs newer than this (kubectl --since: a Go duration such as 24h, 90m, 1h30m, 45s).
    #[arg(long, default_value = "24h", value_name = "DURATION", value_parser = parse_since)]
    pub since: String,
    /// Most lines of each container log.
    #[arg(long, default_value_t = 10_000, value_name = "LINES")]
    pub tail: u64,
    /// Most bytes of each container log.
    #[arg(long, default_value_t = 10 << 20, value_name = "BYTES")]
    pub max_log_bytes: u64,
    /// Most bytes kept of a list or az output.
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    pub max_step_bytes: u64,
    /// Store outputs without redacting secrets (the bundle may then hold credentials).
    #[arg(long)]
    pub no_redact: bool,
    /// kubectl to run.
    #[arg(long, default_value = "kubectl", value_name = "PATH")]
    pub kubectl: PathBuf,
    /// az to run.
    #[arg(long, default_value = "az", value_name = "PATH")]
    pub az: PathBuf,
    /// helm to run (its release list is collected when it is installed).
    #[arg(long, default_value = "helm", value_name = "PATH")]
    pub helm: PathBuf,
    /// Progress as plain lines even on a terminal.
    #[arg(long)]
    pub plain: bool,
    /// Write a bundle even when kubectl reaches no cluster (the Azure side alone, with -g/-c/-t);
    /// without it, collect refuses (exit 2) and writes nothing.
    #[arg(long)]
    pub no_cluster: bool,
}

/// A duration as kubectl's `--since` takes it (Go's `time.ParseDuration`): one or more
/// `<number><unit>` parts, units `h`, `m`, `s`, `ms`, `us`/`µs`, `ns`, e.g. `24h`, `1h30m`, `2.5h`.
/// Refused here, when parsed, rather than by kubectl in every log step.
pub fn parse_since(s: &str) -> Result<String, String> {
    let bad = || format!("'{s}' is not a duration: use a number and a unit (h, m, s, ms), e.g. 24h, 90m, 1h30m");
    let mut rest = s.trim();
    if rest.is_empty() || rest == "0" {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n = &rest[..num];
        if n.is_empty() || n == "." || n.matches('.').count() > 1 {
            return Err(bad());
        }
        rest = &rest[num..];
        let unit = ["ms", "us", "µs", "ns", "h", "m", "s"]
            .into_iter()
            .find(|u| rest.starts_with(u))
            .ok_or_else(bad)?;
        rest = &rest[unit.len()..];
    }
    Ok(s.trim().to_string())
}

/// `--select`/`--ignore` values: split on commas, spaces around each code trimmed, empty parts
/// dropped (`--select "FLX, K8S001"` is `FLX` and `K8S001`).
pub fn rule_codes(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

impl From<&LimitArgs> for crate::bundle::Limits {
    fn from(a: &LimitArgs) -> crate::bundle::Limits {
        crate::bundle::Limits {
            max_member_bytes: a.max_member_bytes,
            max_parsed_bytes: a.max_parsed_bytes,
            max_total_bytes: a.max_total_bytes,
            max_members: a.max_members,
            max_ratio: a.max_ratio,
            progress: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_go_durations_and_refuses_the_rest() {
        for ok in ["24h", "90m", "1h30m", "45s", "2.5h", "500ms"] {
            assert_eq!(parse_since(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in ["2x", "", "h", "24", "1h30", "1..5h", "-1h", "24 h", "0"] {
            assert!(parse_since(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn rule_codes_are_trimmed() {
        let v = rule_codes(&["FLX, K8S001".into(), " OSM ".into(), ",".into()]);
        assert_eq!(v, ["FLX", "K8S001", "OSM"]);
    }
}
