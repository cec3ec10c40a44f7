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
    /// List the rule catalog.
    Rules(RulesArgs),
    /// Print a rule's full documentation.
    Explain(ExplainArgs),
    /// Serve a bundle as a read-only Kubernetes API on 127.0.0.1 so `kubectl` works offline.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
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
    /// Largest uncompressed/compressed ratio before a stream counts as a decompression bomb.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_ratio: u64,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Bundles: .tar.gz, .tgz, .tar, or directories (recognized by content).
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundles: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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
    #[command(flatten)]
    pub limits: LimitArgs,
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
