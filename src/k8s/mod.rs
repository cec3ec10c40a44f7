//! The Kubernetes objects rules read (`Pod`, `Event`, `Node`, webhooks, ...) and their provenance
//! ([`Src`]: the bundle path and index an object was read from; [`Obj`]: an object with its `Src`).
//!
//! A leaf: both the reader (`bundle`, which parses pods, events and nodes straight into these types
//! while the archive streams) and the typed views (`model`) import it. It knows no bundle layout, no
//! rule and no finding, and imports nothing of this crate.

mod objects;
#[cfg(test)]
mod tests;
pub mod time;

pub use objects::*;

use serde::Serialize;
use std::ops::Deref;
use std::sync::Arc;

/// Where an object came from: the bundle path and its index in that file's list. The path is
/// shared by every object of its file (a list of 10,000 events holds one copy, not 10,000).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
pub struct Src {
    pub path: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

/// A typed object and where it came from.
#[derive(Debug, Clone)]
pub struct Obj<T> {
    pub item: T,
    pub src: Src,
}

impl<T> Deref for Obj<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.item
    }
}
