//! What the global allocator (mimalloc, set in `main.rs`) is told: when to give freed memory back
//! to the system. A leaf: imports nothing of the crate and knows nothing of what the memory holds.

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
