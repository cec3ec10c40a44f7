//! Times each phase of `analyze` on one bundle (a profiling aid for `bench/run.sh`).
use std::time::Instant;
fn main() {
    arcdiag::memory::give_back_soon();
    let path = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_default());
    let sigs = arcdiag::analyze::load_signatures(&[]).unwrap_or_else(|e| panic!("{e}"));
    let limits = arcdiag::bundle::Limits::default();
    let t = Instant::now();
    let raw = arcdiag::bundle::read::read_path(&path, &limits, &sigs.log, true).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "read      {:?} ({} members) {} main-thread cpu {:.3}s process cpu {:.3}s",
        t.elapsed(),
        raw.members.len(),
        hwm(),
        cpu(libc::RUSAGE_THREAD),
        cpu(libc::RUSAGE_SELF)
    );
    let t = Instant::now();
    let c = cpu(libc::RUSAGE_THREAD);
    let b = arcdiag::bundle::layout::map(raw, "b".into());
    eprintln!(
        "layout    {:?} cpu {:.3}s {}",
        t.elapsed(),
        cpu(libc::RUSAGE_THREAD) - c,
        hwm()
    );
    let t = Instant::now();
    let snap = arcdiag::model::Snapshot::build(b);
    eprintln!("snapshot  {:?} {}", t.elapsed(), hwm());
    let t = Instant::now();
    let c = cpu(libc::RUSAGE_SELF);
    let rules = arcdiag::rules::registry(&sigs);
    let a = arcdiag::engine::run(&snap, &sigs, &rules, &Default::default());
    eprintln!(
        "engine    {:?} ({} findings) process cpu {:.3}s {}",
        t.elapsed(),
        a.findings.len(),
        cpu(libc::RUSAGE_SELF) - c,
        hwm()
    );
    let t = Instant::now();
    let mut report = arcdiag::report::Report::new(&snap.bundle, &snap.model_errors, a);
    report.timeline = arcdiag::timeline::build(&snap, &report.findings);
    eprintln!("report    {:?} (timeline) {}", t.elapsed(), hwm());
    let t = Instant::now();
    let out = arcdiag::report::json::render_entries(std::slice::from_ref(&report), &[], false);
    eprintln!("json      {:?} ({} bytes) {}", t.elapsed(), out.len(), hwm());
    let t = Instant::now();
    drop(snap);
    eprintln!("drop      {:?}", t.elapsed());
}

/// User + system CPU seconds of this thread or process so far.
fn cpu(who: libc::c_int) -> f64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed value it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn hwm() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[global_allocator]
static ALLOC: arcdiag::memory::Counting<mimalloc::MiMalloc> = arcdiag::memory::Counting(mimalloc::MiMalloc);
