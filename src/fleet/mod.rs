//! Many bundles in one run: a bounded, ordered parallel map ([`run_ordered`]) that `analyze
//! --format jsonl` and `fleet` analyze bundles with, and the expansion of a folder of bundles
//! into its bundles ([`expand`]). It owns scheduling only: what a bundle holds and what is wrong
//! with it is the analysis' (`analyze`), how it reads is `report`'s; it never prints.
//!
//! Order and memory: item `i` is handed to the caller as soon as it and every item before it are
//! done, and no worker starts item `i` before item `i - jobs` has been handed over. At most `jobs`
//! items are thus in flight or waiting to be handed over (the reorder window is the in-flight
//! bound), so memory is bounded by `jobs` times the largest bundle, whatever their number, and
//! the output is in input order whatever the thread count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

/// Bundles analyzed at once by default: the cores, at most 8.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
}

struct Window {
    /// The next item a worker will start.
    next: usize,
    /// Items handed over so far (`0..handed` are done).
    handed: usize,
    stop: bool,
}

/// Run `work(i)` for `i` in `0..count` on `jobs` threads and give each result to `sink` in
/// order of `i` (see the module note). A `work` that panics gives `Err` with the panic's message
/// for its item, and the run goes on. `sink` returns `false` to stop: nothing more is started
/// and nothing more is handed over.
pub fn run_ordered<T, W, S>(count: usize, jobs: usize, work: W, mut sink: S)
where
    T: Send,
    W: Fn(usize) -> T + Sync,
    S: FnMut(usize, Result<T, String>) -> bool,
{
    let jobs = jobs.max(1);
    let window = Mutex::new(Window {
        next: 0,
        handed: 0,
        stop: false,
    });
    let moved = Condvar::new();
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<T, String>)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(count) {
            let tx = tx.clone();
            let (window, moved, work) = (&window, &moved, &work);
            scope.spawn(move || loop {
                let i = {
                    let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
                    while !w.stop && w.next < count && w.next >= w.handed + jobs {
                        w = moved.wait(w).unwrap_or_else(|p| p.into_inner());
                    }
                    if w.stop || w.next >= count {
                        return;
                    }
                    w.next += 1;
                    w.next - 1
                };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(i))).map_err(|p| {
                    p.downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a worker panicked".into())
                });
                if tx.send((i, result)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut done: BTreeMap<usize, Result<T, String>> = BTreeMap::new();
        let mut handed = 0;
        'recv: while handed < count {
            let Ok((i, r)) = rx.recv() else { break };
            done.insert(i, r);
            while let Some(r) = done.remove(&handed) {
                let go_on = sink(handed, r);
                handed += 1;
                let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
                w.handed = handed;
                w.stop |= !go_on;
                moved.notify_all();
                if !go_on {
                    break 'recv;
                }
            }
        }
        let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
        w.stop = true;
        moved.notify_all();
    });
}

/// Whether a folder is itself a bundle (the markers `bundle` recognizes a layout by, at its
/// top): an arcdiag `manifest.json` or `kubectl/cluster/`, `kubectl/namespaces/` (a tree whose
/// manifest is missing), troubleshoot.sh's `version.yaml` or `cluster-resources/`, a
/// cluster-info dump's `nodes.json`.
fn is_bundle_dir(dir: &Path) -> bool {
    [
        "manifest.json",
        "kubectl/cluster",
        "kubectl/namespaces",
        "version.yaml",
        "cluster-resources",
        "nodes.json",
    ]
    .iter()
    .any(|n| dir.join(n).exists())
}

/// The bundles the arguments name: a file as given; a folder that is a bundle as given; any
/// other folder as the bundles in it (`.tar.gz`, `.tgz` and `.tar` files and folders, hidden
/// ones skipped), sorted by name. `Err` names a folder that cannot be listed.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for a in args {
        if !a.is_dir() || is_bundle_dir(a) {
            out.push(a.clone());
            continue;
        }
        let entries = std::fs::read_dir(a).map_err(|e| format!("cannot list {}: {e}", a.display()))?;
        let mut found: Vec<PathBuf> = Vec::new();
        for e in entries {
            let e = e.map_err(|e| format!("cannot list {}: {e}", a.display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let p = e.path();
            let archive = [".tar.gz", ".tgz", ".tar"].iter().any(|x| name.ends_with(x));
            if p.is_dir() || (archive && p.is_file()) {
                found.push(p);
            }
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_come_in_order_and_workers_stay_within_the_window() {
        for jobs in [1, 2, 3, 8] {
            let started = AtomicUsize::new(0);
            let handed = AtomicUsize::new(0);
            let ahead = AtomicUsize::new(0);
            let mut seen = Vec::new();
            run_ordered(
                40,
                jobs,
                |i| {
                    let s = started.fetch_add(1, Ordering::SeqCst) + 1;
                    ahead.fetch_max(s - handed.load(Ordering::SeqCst), Ordering::SeqCst);
                    // Later items finish sooner: the reorder window is exercised.
                    std::thread::sleep(std::time::Duration::from_millis(((40 - i) % 7) as u64));
                    if i == 13 {
                        panic!("bad bundle 13");
                    }
                    i * 10
                },
                |i, r| {
                    handed.fetch_add(1, Ordering::SeqCst);
                    seen.push((i, r));
                    true
                },
            );
            let want: Vec<(usize, Result<usize, String>)> = (0..40)
                .map(|i| {
                    (
                        i,
                        if i == 13 {
                            Err("bad bundle 13".to_string())
                        } else {
                            Ok(i * 10)
                        },
                    )
                })
                .collect();
            assert_eq!(seen, want, "jobs {jobs}");
            assert!(
                ahead.load(Ordering::SeqCst) <= jobs,
                "jobs {jobs}: {} ahead",
                ahead.load(Ordering::SeqCst)
            );
        }
    }

    #[test]
    fn a_sink_that_stops_stops_the_run() {
        let ran = AtomicUsize::new(0);
        let mut got = 0;
        run_ordered(
            1000,
            2,
            |_| ran.fetch_add(1, Ordering::SeqCst),
            |i, _| {
                got += 1;
                i < 4
            },
        );
        assert_eq!(got, 5);
        assert!(ran.load(Ordering::SeqCst) <= 5 + 2);
    }
}
