//! arcdiag: diagnose Azure Arc-enabled Kubernetes and AKS cluster extensions from a support bundle.
//!
//! The library returns values and never prints; only `main.rs` and `report` write output.
//! Data flows one way. The leaves `k8s` (object types and their provenance, `Src`/`Obj`) and
//! `text` (excerpts, the cited log length) import nothing of the crate; `bundle` (reading, log
//! scanning, the layout mapping) imports only them; then `model` (typed views) → `facts` →
//! `rules` → `engine` (runs the rules in parallel) → `report`, with `analyze` wiring one run and
//! `serve` and `collect` beside them. The one deliberate exception: logs are scanned with the
//! signature set while they are read, so `bundle` imports `signatures` (its `LogMatcher`), which
//! imports only `finding` (for `Severity`). `redact` (the redactor) is a leaf too: `collect`
//! redacts with it, and `rebundle` (`arcdiag redact`) reads members itself, redacts them and writes
//! with `collect`'s writer. tests/architecture.rs checks this graph.

pub mod analyze;
pub mod bundle;
pub mod cli;
pub mod collect;
pub mod engine;
pub mod facts;
pub mod finding;
pub mod k8s;
pub mod model;
pub mod rebundle;
pub mod redact;
pub mod report;
pub mod rules;
pub mod serve;
pub mod signatures;
pub mod text;
