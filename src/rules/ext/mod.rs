//! Rules of the `EXT` family, one per file.

use super::Rule;

pub fn all() -> Vec<Box<dyn Rule>> {
    vec![]
}
