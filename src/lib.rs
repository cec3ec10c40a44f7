//! arcdiag: diagnose Azure Arc-enabled Kubernetes and AKS cluster extensions from a support bundle.
//!
//! The library returns values and never prints; only `main.rs` and `report` write output.
//! Data flows one way: `bundle` (read + layout mapping) → `model` (typed views) → `facts` →
//! `engine` (runs `rules` in parallel) → `report`.

pub mod analyze;
pub mod bundle;
pub mod cli;
pub mod collect;
pub mod engine;
pub mod facts;
pub mod finding;
pub mod model;
pub mod report;
pub mod rules;
pub mod serve;
pub mod signatures;
