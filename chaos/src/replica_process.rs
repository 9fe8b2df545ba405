//! One `keel-server` replica of a local cluster: its fixed identity (id, address, data dir, log)
//! and its current process, if any. Bootstrap flags are given on its first start only.

use std::path::{Path, PathBuf};

use crate::ChildProcess;

/// A replica's identity and, while it runs, its process.
#[derive(Debug)]
pub struct ReplicaProcess {
    id: u64,
    addr: String,
    data_dir: PathBuf,
    log_path: PathBuf,
    /// Flags for every start: tuning and extra flags.
    tuning_args: Vec<String>,
    /// Flags for the first start only: `--initial-cluster ...` or `--join ...`.
    bootstrap_args: Vec<String>,
    /// A command prefix the server is started through (e.g. `ip netns exec NS`); empty: none.
    launcher: Vec<String>,
    /// Environment for the next starts on top of `RUST_BACKTRACE`/`RUST_LOG` (e.g. libfaketime).
    extra_env: Vec<(String, String)>,
    starts: u32,
    process: Option<ChildProcess>,
}

impl ReplicaProcess {
    /// A replica that has not started yet. Its data dir is `<root>/replica-<id>` and its log
    /// `<root>/replica-<id>.log`.
    pub fn new(
        id: u64,
        addr: String,
        root: &Path,
        tuning_args: Vec<String>,
        bootstrap_args: Vec<String>,
    ) -> Self {
        ReplicaProcess {
            id,
            addr,
            data_dir: root.join(format!("replica-{id}")),
            log_path: root.join(format!("replica-{id}.log")),
            tuning_args,
            bootstrap_args,
            launcher: Vec::new(),
            extra_env: Vec::new(),
            starts: 0,
            process: None,
        }
    }

    /// Starts the server through `launcher` (a program and its first arguments, e.g.
    /// `ip netns exec NS`), which must exec it in place so that the pid is the server's.
    pub fn with_launcher(mut self, launcher: Vec<String>) -> Self {
        self.launcher = launcher;
        self
    }

    /// Sets the extra environment of the next starts (empty: none).
    pub fn set_extra_env(&mut self, env: Vec<(String, String)>) {
        self.extra_env = env;
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// `127.0.0.1:PORT`, for peers and clients alike.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The full argument list for the next start.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--id".to_string(),
            self.id.to_string(),
            "--data-dir".to_string(),
            self.data_dir.display().to_string(),
            "--listen".to_string(),
            self.addr.clone(),
        ];
        if self.starts == 0 {
            args.extend(self.bootstrap_args.iter().cloned());
        }
        args.extend(self.tuning_args.iter().cloned());
        args
    }

    /// Starts the process (the replica must not be running).
    /// `rust_log`: `RUST_LOG` for the process (`None`: inherited).
    pub fn start(&mut self, server_bin: &Path, rust_log: Option<&str>) -> anyhow::Result<()> {
        anyhow::ensure!(!self.is_running(), "replica {} is already running", self.id);
        std::fs::create_dir_all(&self.data_dir)?;
        let mut envs = vec![("RUST_BACKTRACE".to_string(), "1".to_string())];
        if let Some(filter) = rust_log {
            envs.push(("RUST_LOG".to_string(), filter.to_string()));
        }
        envs.extend(self.extra_env.iter().cloned());
        let name = format!("replica {}", self.id);
        let process = match self.launcher.split_first() {
            None => ChildProcess::spawn(&name, server_bin, &self.args(), &envs, &self.log_path)?,
            Some((program, first)) => {
                let mut args = first.to_vec();
                args.push(server_bin.display().to_string());
                args.extend(self.args());
                ChildProcess::spawn(&name, Path::new(program), &args, &envs, &self.log_path)?
            }
        };
        self.starts += 1;
        self.process = Some(process);
        Ok(())
    }

    /// The current process (running or exited but not yet stopped through this type).
    pub fn process(&self) -> Option<&ChildProcess> {
        self.process.as_ref()
    }

    pub fn process_mut(&mut self) -> Option<&mut ChildProcess> {
        self.process.as_mut()
    }

    /// Forgets the (killed) process.
    pub fn clear_process(&mut self) -> Option<ChildProcess> {
        self.process.take()
    }

    /// Whether a process is running (stopped counts).
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.is_running())
    }

    /// Whether the process is running and not paused.
    pub fn is_live(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| p.is_running() && !p.is_paused())
    }

    /// How many times a process was started for this replica.
    pub fn starts(&self) -> u32 {
        self.starts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_flags_only_on_the_first_start() {
        let mut r = ReplicaProcess::new(
            2,
            "127.0.0.1:7002".into(),
            Path::new("/r"),
            vec!["--heartbeat-ms".into(), "50".into()],
            vec!["--initial-cluster".into(), "1=a,2=b".into()],
        );
        assert_eq!(
            r.args(),
            [
                "--id",
                "2",
                "--data-dir",
                "/r/replica-2",
                "--listen",
                "127.0.0.1:7002",
                "--initial-cluster",
                "1=a,2=b",
                "--heartbeat-ms",
                "50"
            ]
        );
        r.starts = 1;
        assert!(!r.args().iter().any(|a| a == "--initial-cluster"));
        assert!(r.args().iter().any(|a| a == "--heartbeat-ms"));
        assert_eq!(r.log_path(), Path::new("/r/replica-2.log"));
    }
}
