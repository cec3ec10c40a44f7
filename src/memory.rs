//! The global allocator (mimalloc, set in `main.rs`): what it is told (when to give freed memory
//! back to the system) and what it counts (the bytes each thread holds, [`Counting`], [`held`]).
//! A leaf: imports nothing of the crate and knows nothing of what the memory holds.

extern "C" {
    /// mimalloc.h: return freed memory to the system now.
    fn mi_collect(force: bool);
    /// mimalloc.h: read and set an option.
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Give every page freed so far back to the system (`serve`, once the bundle is indexed, so an
/// idle server holds about the index, not the peak of reading).
pub fn give_back_now() {
    // SAFETY: mi_collect takes no pointer and may be called at any time from any thread.
    unsafe { mi_collect(true) };
}

/// Give freed memory back within 10 ms rather than a second. mimalloc v3 keeps what is freed for
/// 1000 ms (`mi_option_purge_delay`): about all of an `analyze` run, so every buffer and tree freed
/// while reading stayed resident and the peak was 10-15% above the memory in use (50,000 pods and
/// 200,000 events: 436 MiB against 396 MiB), for a few percent more system time (BENCHMARKS.md).
/// 10 ms is mimalloc v2's default. Set only while the option holds v3's default, so another
/// `MIMALLOC_PURGE_DELAY` in the environment wins, and so does an option moved in another release.
pub fn give_back_soon() {
    /// `mi_option_purge_delay` in v3's `mi_option_e`.
    const PURGE_DELAY: std::ffi::c_int = 15;
    // SAFETY: both take and return plain integers and may be called at any time.
    unsafe {
        if mi_option_get(PURGE_DELAY) == 1000 {
            mi_option_set(PURGE_DELAY, 10);
        }
    }
}

/// The global allocator, counting per thread the bytes allocated and not yet freed, so that a
/// parse can be charged what it keeps ([`held`]; `bundle::typed` charges typed objects by it).
/// `main.rs` installs it around mimalloc. A thread-local add per allocation and free; frees of
/// memory another thread allocated count on the thread that frees.
pub struct Counting<A>(pub A);

thread_local! {
    static HELD: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

fn add(n: isize) {
    // A const-initialized `Cell` has no destructor, so this never fails or allocates; `try_with`
    // all the same, as an allocator must not panic.
    let _ = HELD.try_with(|h| h.set(h.get().wrapping_add(n)));
}

/// Bytes this thread allocated and did not free since it started (wrapping; compare two reads).
/// Always 0 when [`Counting`] is not the global allocator: then no parse is charged by it.
pub fn held() -> isize {
    HELD.try_with(|h| h.get()).unwrap_or(0)
}

// SAFETY: every call is forwarded to the wrapped allocator unchanged; the count is a side effect
// that neither allocates nor unwinds.
unsafe impl<A: std::alloc::GlobalAlloc> std::alloc::GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.0.alloc(l) };
        if !p.is_null() {
            add(l.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: std::alloc::Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.0.alloc_zeroed(l) };
        if !p.is_null() {
            add(l.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.0.dealloc(p, l) };
        add(-(l.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, new: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let q = unsafe { self.0.realloc(p, l, new) };
        if !q.is_null() {
            add(new as isize - l.size() as isize);
        }
        q
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_thread_counts_what_it_keeps() {
        // The crate's tests run with `Counting` (lib.rs).
        let before = super::held();
        let kept: Vec<u8> = Vec::with_capacity(1 << 20);
        let freed: Vec<u8> = Vec::with_capacity(1 << 16);
        drop(freed);
        assert_eq!(super::held().wrapping_sub(before), 1 << 20);
        drop(kept);
        assert_eq!(super::held(), before);
    }
}
