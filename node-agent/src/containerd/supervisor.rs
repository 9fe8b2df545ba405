//! `Supervisor`: one containerd process per agent, started with the agent's generated config,
//! restarted with a back-off when it dies, and stopped by its pid (SIGTERM, then SIGKILL after
//! 10 s) when the agent stops or the supervisor is dropped.
//!
//! The process is forked from the supervisor's own thread, which lives as long as the supervisor,
//! and asks the kernel for SIGTERM when that thread goes (`PR_SET_PDEATHSIG`): a SIGKILLed agent
//! never leaves its containerd behind. Containers live on in their shims either way, which is what
//! lets a restarted agent adopt them. Only this thread and `stop` reap the child, so a pid we
//! signal is always still ours.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config_toml::ContainerdLayout;

const STOP_GRACE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

struct Shared {
    child: Mutex<Option<Child>>,
    stopping: AtomicBool,
    restarts: AtomicU32,
}

/// A supervised containerd.
pub struct Supervisor {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    pid_file: PathBuf,
}

impl Supervisor {
    /// Starts `binary --config <layout's config>` (the config must be written already), logging
    /// to the layout's log file. Fails if the first start fails; later deaths are restarts.
    pub fn start(binary: &Path, layout: &ContainerdLayout) -> std::io::Result<Supervisor> {
        let shared = Arc::new(Shared {
            child: Mutex::new(None),
            stopping: AtomicBool::new(false),
            restarts: AtomicU32::new(0),
        });
        let (first_tx, first_rx) = mpsc::channel();
        let thread = {
            let shared = shared.clone();
            let binary = binary.to_path_buf();
            let layout = layout.clone();
            std::thread::Builder::new()
                .name("containerd-supervisor".into())
                .spawn(move || supervise(&shared, &binary, &layout, first_tx))?
        };
        let first = first_rx
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the supervisor thread died")));
        let sup = Supervisor {
            shared,
            thread: Some(thread),
            pid_file: layout.pid_file(),
        };
        first.map(|()| sup)
    }

    /// containerd's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.shared
            .child
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(Child::id))
    }

    /// How many times containerd was restarted after dying.
    pub fn restarts(&self) -> u32 {
        self.shared.restarts.load(Ordering::Relaxed)
    }

    /// Stops containerd (SIGTERM, SIGKILL after 10 s) and the supervision. Idempotent.
    pub fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Ok(mut guard) = self.shared.child.lock() {
            if let Some(child) = guard.as_mut() {
                terminate(child);
            }
            *guard = None;
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGTERM, wait up to [`STOP_GRACE`], SIGKILL; reaps the child.
fn terminate(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on our own child, not yet reaped (try_wait said it runs).
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(POLL);
    }
    tracing::warn!(pid = child.id(), "containerd ignored SIGTERM; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

fn spawn(binary: &Path, layout: &ContainerdLayout) -> std::io::Result<Child> {
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(layout.log())?;
    writeln!(log, "=== keel-agent: starting {}", binary.display())?;
    let mut cmd = Command::new(binary);
    cmd.arg("--config")
        .arg(layout.config())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log));
    // SAFETY: the closure runs between fork and exec and only makes the async-signal-safe
    // prctl(2) system call.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let _ = std::fs::write(layout.pid_file(), format!("{}\n", child.id()));
    Ok(child)
}

fn supervise(
    shared: &Shared,
    binary: &Path,
    layout: &ContainerdLayout,
    first: mpsc::Sender<std::io::Result<()>>,
) {
    let mut first = Some(first);
    let mut backoff = Duration::from_secs(1);
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let started = Instant::now();
        match spawn(binary, layout) {
            Ok(child) => {
                tracing::info!(pid = child.id(), "containerd started");
                if let Ok(mut g) = shared.child.lock() {
                    *g = Some(child);
                }
                if let Some(tx) = first.take() {
                    let _ = tx.send(Ok(()));
                }
            }
            Err(e) => {
                if let Some(tx) = first.take() {
                    let _ = tx.send(Err(e));
                    return;
                }
                tracing::error!(error = %e, "containerd could not be restarted");
            }
        }
        // Wait for it to exit (or for stop(), which reaps it itself).
        let status = loop {
            std::thread::sleep(POLL);
            let Ok(mut g) = shared.child.lock() else {
                return;
            };
            match g.as_mut().map(Child::try_wait) {
                None => break None,
                Some(Ok(Some(status))) => {
                    *g = None;
                    break Some(status);
                }
                Some(Ok(None)) => {}
                Some(Err(_)) => {
                    *g = None;
                    break None;
                }
            }
        };
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        tracing::warn!(?status, restart_in = ?backoff, "containerd exited; restarting it");
        shared.restarts.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + backoff;
        while Instant::now() < until && !shared.stopping.load(Ordering::SeqCst) {
            std::thread::sleep(POLL);
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
