//! arcdiag: diagnose Azure Arc-enabled Kubernetes and AKS cluster extensions from a support bundle.
//!
//! The library returns values and never prints; only `main.rs` and `report` write output. Data
//! flows one way, through layers that each import only the ones before them:
//!
//! 1. the leaves, which import nothing of the crate: `k8s` (the object types, their provenance
//!    `Src`/`Obj`, and Kubernetes' times, `k8s::time`), `text` (excerpts, the cited log length),
//!    `finding` (findings, evidence, severities), `redact` (the redactor) and `memory` (the global
//!    allocator: when it gives freed memory back, and the bytes each thread holds, by which the
//!    reader charges what a parse keeps);
//! 2. `signatures`, the signature set (it imports `finding`, for `Severity`);
//! 3. `bundle`: reading, log scanning and the layout mapping, the only code that knows paths;
//! 4. the analysis: `model` (typed views) → `facts` → `rules` → `engine` (runs the rules in
//!    parallel) → `report` (renders);
//! 5. `analyze`, which wires one run, `fleet`, which schedules many (bounded, in order), and
//!    beside the analysis `serve` (a read-only API over a
//!    bundle), `collect` (writes bundles, redacted), `rebundle` (`arcdiag redact`: re-redacts a
//!    bundle into a new one) and `cli` (the command line `main.rs` parses).
//!
//! The one deliberate exception: logs are scanned with the signature set
//! (`signatures::LogMatcher`) while they are read, so reading (`bundle`) imports `signatures`.
//! tests/architecture.rs checks this graph: no cycle, and reading names none of the analysis.

pub mod analyze;
pub mod bundle;
pub mod cli;
pub mod collect;
pub mod engine;
pub mod facts;
pub mod finding;
pub mod fleet;
pub mod k8s;
pub mod memory;
pub mod model;
pub mod rebundle;
pub mod redact;
pub mod report;
pub mod rules;
pub mod serve;
pub mod signatures;
pub mod text;

/// The crate's own tests count what each thread holds, as the binary does (`memory::Counting`).
#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: memory::Counting<std::alloc::System> = memory::Counting(std::alloc::System);
pub mod timeline;
