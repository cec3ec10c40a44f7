//! The bound on the memory one bundle's reading keeps in all, once its members are processed:
//! kept log text (`logscan::Keep`), typed pods, events and nodes (`typed::Held`) and parsed JSON
//! and YAML values share [`MAX_KEPT`]. Each kind has its own bound as well; each is under the
//! memory a run may take, but not their sum: a bundle filling all three took 827 MiB.
//!
//! [`Total`] counts on the pool, as members finish (memory, whatever the order); the reader then
//! applies the same bound strictly in archive order (`read::kept`), so what is kept does not
//! depend on the pool's order unless the bundle keeps more than the bound. Knows nothing of what
//! the bytes hold.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes a bundle's processed members keep in all. The generated bundle of 50,000 pods, 200,000
/// events and 60,000 logs keeps 257 MiB (pods, events and nodes 188 MiB, log text 55 MiB, parsed
/// values 14 MiB) and peaks at 392 MiB. A hostile bundle filling every bound in several orders
/// peaked at 478 MiB at most (a 99 MB member's text held while it is parsed, buffers in flight,
/// one parse of values before it is measured; tests/hostile.rs).
pub const MAX_KEPT: u64 = 320 << 20;

/// Bytes kept by the members processed so far, on the pool.
#[derive(Debug)]
pub struct Total {
    on_pool: AtomicU64,
    bound: u64,
}

impl Total {
    pub fn new(bound: u64) -> Total {
        Total {
            on_pool: AtomicU64::new(0),
            bound,
        }
    }

    /// No bound: for a single scan or parse outside a bundle's reading (tests, tools).
    pub fn unbounded() -> Total {
        Total::new(u64::MAX)
    }

    /// Charge `n` bytes if they fit under the bound; whether they were charged.
    pub fn charge(&self, n: u64) -> bool {
        let before = self.on_pool.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.bound {
            self.on_pool.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Charge `n` bytes whatever the bound (they are held already); whether the total is still
    /// under it.
    pub fn add(&self, n: u64) -> bool {
        self.on_pool.fetch_add(n, Ordering::Relaxed).saturating_add(n) <= self.bound
    }

    /// Take back `n` bytes charged before (what they held was let go).
    pub fn refund(&self, n: u64) {
        self.on_pool.fetch_sub(n, Ordering::Relaxed);
    }

    /// Whether `n` more bytes would fit now.
    pub fn has_room(&self, n: u64) -> bool {
        self.on_pool.load(Ordering::Relaxed).saturating_add(n) <= self.bound
    }

    /// Bytes charged now.
    pub fn charged(&self) -> u64 {
        self.on_pool.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_fit_under_the_bound_and_refunds_make_room() {
        let t = Total::new(100);
        assert!(t.charge(60) && !t.charge(50) && t.charged() == 60);
        assert!(!t.add(50) && t.charged() == 110);
        t.refund(50);
        assert!(t.has_room(40) && !t.has_room(41));
    }
}
