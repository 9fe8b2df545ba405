//! One child process started by this crate: spawned with its output in a log file, signalled only
//! by its own pid while it is still ours (not yet reaped), and killed when dropped.
//!
//! Children are spawned from one long-lived thread and ask the kernel to SIGKILL them when that
//! thread dies (`PR_SET_PDEATHSIG`), so even a test process killed by a harness timeout leaves no
//! strays behind.

use std::{
    fs::OpenOptions,
    io::Write,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Mutex, OnceLock},
    time::Duration,
};

use anyhow::Context;

/// How long a SIGKILLed child may take to exit before we report it.
const KILL_EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running (or exited, not yet dropped) child process.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    pid: u32,
    child: Child,
    exit: Option<ExitStatus>,
    paused: bool,
    log_path: PathBuf,
}

impl ChildProcess {
    /// Starts `program args` with `envs` added to this process's environment, stdin closed, and
    /// stdout and stderr appended to `log_path` (after a header line naming the command).
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        envs: &[(String, String)],
        log_path: &Path,
    ) -> anyhow::Result<Self> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening log file {}", log_path.display()))?;
        writeln!(
            log,
            "=== keel-chaos: starting {name}: {} {}",
            program.display(),
            args.join(" ")
        )?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        // SAFETY: the closure runs between fork and exec and only makes the async-signal-safe
        // prctl(2) system call.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = spawn_from_keeper_thread(cmd)
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        Ok(ChildProcess {
            name: name.to_string(),
            pid: child.id(),
            child,
            exit: None,
            paused: false,
            log_path: log_path.to_path_buf(),
        })
    }

    /// The child's name, as given to [`ChildProcess::spawn`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The child's pid (it stays reserved for this child until it is reaped).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The file holding the child's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Whether the child was stopped with [`ChildProcess::pause`] and not resumed.
    pub fn is_paused(&self) -> bool {
        self.paused && self.exit.is_none()
    }

    /// The exit status if the child has exited (reaps it), `None` while it runs.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// Whether the child is still running (stopped counts as running).
    pub fn is_running(&mut self) -> bool {
        self.try_exit_status().is_none()
    }

    /// Sends `signal` to the child, only if it has not been reaped (so its pid is still its own).
    fn signal(&mut self, signal: libc::c_int) -> anyhow::Result<()> {
        if let Some(status) = self.try_exit_status() {
            anyhow::bail!(
                "{} (pid {}) has already exited: {status}",
                self.name,
                self.pid
            );
        }
        let pid = libc::pid_t::try_from(self.pid).context("pid out of range")?;
        // SAFETY: kill(2) with our own unreaped child's pid.
        let rc = unsafe { libc::kill(pid, signal) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            anyhow::bail!(
                "signal {signal} to {} (pid {}) failed: {err}",
                self.name,
                self.pid
            );
        }
        Ok(())
    }

    /// Stops the child with SIGSTOP.
    pub fn pause(&mut self) -> anyhow::Result<()> {
        self.signal(libc::SIGSTOP)?;
        self.paused = true;
        Ok(())
    }

    /// Continues a stopped child with SIGCONT.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        self.signal(libc::SIGCONT)?;
        self.paused = false;
        Ok(())
    }

    /// Sends SIGKILL (after SIGCONT if paused) unless the child has already exited. Does not wait.
    pub fn start_kill(&mut self) -> anyhow::Result<()> {
        if self.try_exit_status().is_some() {
            return Ok(());
        }
        if self.paused {
            let _ = self.signal(libc::SIGCONT);
            self.paused = false;
        }
        match self.signal(libc::SIGKILL) {
            Ok(()) => Ok(()),
            // It exited between the check and the signal.
            Err(_) if self.try_exit_status().is_some() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// SIGKILLs the child and waits (asynchronously, up to 10 s) until it has exited and been reaped.
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        self.start_kill()?;
        let deadline = tokio::time::Instant::now() + KILL_EXIT_TIMEOUT;
        loop {
            if let Some(status) = self.try_exit_status() {
                return Ok(status);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{} (pid {}) did not exit within {KILL_EXIT_TIMEOUT:?} of SIGKILL",
                self.name,
                self.pid
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// SIGKILLs the child and blocks until it has been reaped (for `Drop` and teardown outside an
    /// async context).
    pub fn kill_blocking(&mut self) {
        if self.start_kill().is_ok() && self.exit.is_none() {
            if let Ok(status) = self.child.wait() {
                self.exit = Some(status);
            }
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill_blocking();
    }
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `cmd` from a thread that lives as long as this process, so that the children's
/// parent-death signal fires when this process dies, not when some tokio worker thread exits.
fn spawn_from_keeper_thread(cmd: Command) -> std::io::Result<Child> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        let spawned = std::thread::Builder::new()
            .name("keel-chaos-spawner".into())
            .spawn(move || {
                // Ends only when every sender is gone, i.e. never: the sender is in a static.
                while let Ok((mut cmd, reply)) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
            });
        if let Err(e) = spawned {
            eprintln!("keel-chaos: cannot start the spawner thread: {e}");
        }
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    keeper
        .lock()
        .map_err(|_| std::io::Error::other("spawner lock poisoned"))?
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("spawner thread is gone"))?;
    reply_rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| std::io::Error::other("spawner thread did not answer"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(dir: &Path) -> ChildProcess {
        ChildProcess::spawn(
            "sleeper",
            Path::new("/bin/sleep"),
            &["30".to_string()],
            &[],
            &dir.join("sleeper.log"),
        )
        .unwrap()
    }

    fn alive(pid: u32) -> bool {
        // A zombie still answers kill(0); read its state instead.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn kill_pause_resume_and_drop() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path());
        assert!(p.is_running());
        p.pause().unwrap();
        assert!(p.is_paused());
        p.resume().unwrap();
        p.pause().unwrap();
        let status = p.kill().await.unwrap();
        assert!(!status.success());
        assert!(!p.is_running());
        assert!(p.pause().is_err(), "never signal a reaped pid");

        let p = sleeper(dir.path());
        let pid = p.pid();
        assert!(alive(pid));
        drop(p);
        assert!(!alive(pid));
        let log = std::fs::read_to_string(dir.path().join("sleeper.log")).unwrap();
        assert!(log.contains("starting sleeper"), "{log}");
    }
}
