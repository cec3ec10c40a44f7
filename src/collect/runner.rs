//! Runs the steps of one phase as subprocesses, at most `jobs` at a time. Each child gets its own
//! process group, a per-step timeout and the total deadline; when either passes, or the user
//! interrupts, the whole group is killed (SIGKILL), so a hung `kubectl` and whatever it started
//! are gone. Output is captured up to a cap; the runner judges nothing, it reports what happened.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Most stderr bytes kept in memory (the manifest keeps 4 KiB of it after redaction).
const STDERR_CAP: usize = 64 << 10;
const POLL: Duration = Duration::from_millis(20);
/// How long to wait for the pipes to close once the child is gone.
const DRAIN: Duration = Duration::from_secs(2);

/// Why the runner stopped a step that had not finished by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    Interrupted,
    Deadline,
}

#[derive(Debug)]
pub enum Ended {
    /// The process exited with this code.
    Exited(i32),
    /// The process was ended by a signal it did not get from us.
    Signaled,
    /// It ran past the per-step timeout and was killed.
    TimedOut,
    /// Stopped (killed while running, or never started) by an interrupt or the deadline.
    Stopped { cause: StopCause, started: bool },
    /// The program could not be started.
    SpawnFailed(std::io::Error),
}

#[derive(Debug)]
pub struct RawOutcome {
    pub ended: Ended,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The output reached the cap: what is kept is the beginning, and the child was killed.
    pub stdout_capped: bool,
    pub duration: Duration,
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct Job {
    pub program: OsString,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Bytes of stdout kept before the child is stopped.
    pub cap: u64,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub jobs: usize,
    pub step_timeout: Duration,
    pub deadline: Instant,
    pub stop: Arc<AtomicBool>,
}

impl Limits {
    fn stop_cause(&self) -> Option<StopCause> {
        if self.stop.load(Ordering::SeqCst) {
            Some(StopCause::Interrupted)
        } else if Instant::now() >= self.deadline {
            Some(StopCause::Deadline)
        } else {
            None
        }
    }
}

/// Set `flag` on SIGINT/SIGTERM; a second signal while the flag is set ends the process at once
/// (exit 130), for a user who does not want to wait for the partial bundle.
pub fn install_interrupt_flag(flag: &Arc<AtomicBool>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(flag))?;
        signal_hook::flag::register(sig, Arc::clone(flag))?;
    }
    Ok(())
}

/// Run `jobs` with bounded parallelism. `work` turns each outcome into a result on the worker
/// thread (redaction is done there, in parallel); `done` receives results on the calling thread,
/// in completion order.
pub fn run_all<T, W, D>(jobs: &[Job], limits: &Limits, work: W, mut done: D)
where
    T: Send,
    W: Fn(usize, RawOutcome) -> T + Sync,
    D: FnMut(usize, T),
{
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|s| {
        for _ in 0..limits.jobs.max(1).min(jobs.len().max(1)) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let outcome = match limits.stop_cause() {
                    Some(cause) => RawOutcome {
                        ended: Ended::Stopped { cause, started: false },
                        stdout: Vec::new(),
                        stderr: Vec::new(),
                        stdout_capped: false,
                        duration: Duration::ZERO,
                    },
                    None => run_one(job, limits),
                };
                if tx.send((i, work(i, outcome))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, t) in rx {
            done(i, t);
        }
    });
}

fn kill_group(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group we created for this
        // child (process_group(0) makes its pid the group id); it touches no memory.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

type Shared = Arc<Mutex<(Vec<u8>, bool)>>;

/// Read `pipe` into `buf` up to `cap`. Once `abandoned` is set (the step is over but something
/// that left its process group still holds the pipe), the next read ends the thread and closes
/// the pipe, so the straggler gets EPIPE instead of filling a buffer nobody reads.
fn reader(
    mut pipe: impl Read + Send + 'static,
    cap: usize,
    buf: Shared,
    abandoned: Arc<AtomicBool>,
    done: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(_) if abandoned.load(Ordering::SeqCst) => break,
                Ok(n) => {
                    let Ok(mut g) = buf.lock() else { break };
                    let room = cap.saturating_sub(g.0.len());
                    g.0.extend_from_slice(&chunk[..n.min(room)]);
                    if n > room {
                        g.1 = true;
                        break;
                    }
                }
            }
        }
        let _ = done.send(());
    });
}

fn take(buf: &Shared) -> (Vec<u8>, bool) {
    match buf.lock() {
        Ok(mut g) => (std::mem::take(&mut g.0), g.1),
        Err(_) => (Vec::new(), false),
    }
}

/// Run one job to its end, the step timeout, the deadline or an interrupt.
pub fn run_one(job: &Job, limits: &Limits) -> RawOutcome {
    let start = Instant::now();
    let mut cmd = Command::new(&job.program);
    cmd.args(&job.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (k, v) in &job.env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return RawOutcome {
                ended: Ended::SpawnFailed(e),
                stdout: Vec::new(),
                stderr: Vec::new(),
                stdout_capped: false,
                duration: start.elapsed(),
            }
        }
    };
    let out: Shared = Arc::new(Mutex::new((Vec::new(), false)));
    let err: Shared = Arc::new(Mutex::new((Vec::new(), false)));
    let (dtx, drx) = mpsc::channel();
    let abandoned = Arc::new(AtomicBool::new(false));
    let mut pipes = 0;
    if let Some(p) = child.stdout.take() {
        reader(
            p,
            usize::try_from(job.cap).unwrap_or(usize::MAX),
            Arc::clone(&out),
            Arc::clone(&abandoned),
            dtx.clone(),
        );
        pipes += 1;
    }
    if let Some(p) = child.stderr.take() {
        reader(p, STDERR_CAP, Arc::clone(&err), Arc::clone(&abandoned), dtx.clone());
        pipes += 1;
    }
    drop(dtx);
    let step_deadline = start + limits.step_timeout;
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break match status.code() {
                    Some(c) => Ended::Exited(c),
                    None => Ended::Signaled,
                }
            }
            Ok(None) => {}
            Err(_) => {
                kill_group(&mut child);
                let _ = child.wait();
                break Ended::Signaled;
            }
        }
        let capped = out.lock().map(|g| g.1).unwrap_or(false);
        let why = if capped {
            Some(None)
        } else if let Some(c) = limits.stop_cause() {
            Some(Some(Ended::Stopped {
                cause: c,
                started: true,
            }))
        } else if Instant::now() >= step_deadline {
            Some(Some(Ended::TimedOut))
        } else {
            None
        };
        if let Some(why) = why {
            kill_group(&mut child);
            let status = child.wait();
            break match why {
                Some(e) => e,
                None => match status.ok().and_then(|s| s.code()) {
                    Some(c) => Ended::Exited(c),
                    None => Ended::Signaled,
                },
            };
        }
        std::thread::sleep(POLL);
    };
    // The child is gone; its pipes close unless something it started outlived it. Wait a little,
    // then kill the group (again) and keep what was read.
    let until = Instant::now() + DRAIN;
    for _ in 0..pipes {
        let left = until.saturating_duration_since(Instant::now());
        if drx.recv_timeout(left).is_err() {
            kill_group(&mut child);
            abandoned.store(true, Ordering::SeqCst);
            break;
        }
    }
    let (stdout, stdout_capped) = take(&out);
    let (stderr, _) = take(&err);
    RawOutcome {
        ended,
        stdout,
        stderr,
        stdout_capped,
        duration: start.elapsed(),
    }
}
