//! A real node for end-to-end tests and benchmarks, as root: the demo images (scripts/
//! build-images.sh) served by a local docker-registry on 127.0.0.1, and a `keel-agent
//! --runtime cri` that starts its own containerd under its root dir. Both are children started
//! by pid ([`ChildProcess`]); the agent is stopped with SIGTERM (it then stops its containerd
//! and removes its service proxy table) and waited for, SIGKILL only when it does not exit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::{find_binary, wait_until, ChildProcess};

/// The repository this crate was built from (its scripts live under `scripts/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `bash scripts/<script> <args>` from the repository; fails when it exits non-zero.
pub fn run_repo_script(script: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = std::process::Command::new("bash")
        .arg(repo_root().join("scripts").join(script))
        .args(args)
        .status()
        .with_context(|| format!("running scripts/{script}"))?;
    anyhow::ensure!(status.success(), "scripts/{script} {args:?}: {status}");
    Ok(())
}

/// docker-registry on 127.0.0.1:`port`, storage under `dir`, with the demo images pushed
/// (`<addr>/keel/pause:1`, `<addr>/keel/app:1`).
pub async fn registry_with_images(dir: &Path, port: u16) -> anyhow::Result<ChildProcess> {
    std::fs::create_dir_all(dir.join("storage"))?;
    let config = dir.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        ),
    )?;
    let registry = ChildProcess::spawn(
        "docker-registry",
        Path::new("/usr/bin/docker-registry"),
        &["serve".to_string(), config.display().to_string()],
        &[],
        &dir.join("registry.log"),
    )?;
    let addr = format!("127.0.0.1:{port}");
    wait_until(
        Duration::from_secs(20),
        "the registry listens",
        async || Ok(tokio::net::TcpStream::connect(&addr).await?),
    )
    .await?;
    run_repo_script("build-images.sh", &["push", &addr])?;
    Ok(registry)
}

/// How to start a node's agent.
#[derive(Debug, Clone)]
pub struct CriAgentOptions {
    pub node_name: String,
    /// The cell's replicas, host:port.
    pub servers: Vec<String>,
    /// The agent's root dir (containerd, pod logs and volumes live under it).
    pub root: PathBuf,
    /// The registry serving the demo images, host:port.
    pub registry: String,
    /// `RUST_LOG` for the agent.
    pub rust_log: String,
    /// More command-line arguments.
    pub extra_args: Vec<String>,
    /// Where its stderr goes.
    pub log: PathBuf,
}

/// A running `keel-agent --runtime cri`; SIGKILLed if dropped without [`CriAgent::stop`].
pub struct CriAgent {
    child: ChildProcess,
}

impl CriAgent {
    pub fn start(o: &CriAgentOptions) -> anyhow::Result<CriAgent> {
        let mut args: Vec<String> = [
            "--node-name",
            &o.node_name,
            "--runtime",
            "cri",
            "--servers",
            &o.servers.join(","),
            "--root-dir",
            &o.root.display().to_string(),
            "--registry",
            &o.registry,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(o.extra_args.iter().cloned());
        let child = ChildProcess::spawn(
            "keel-agent",
            &find_binary("keel-agent")?,
            &args,
            &[("RUST_LOG".to_string(), o.rust_log.clone())],
            &o.log,
        )?;
        Ok(CriAgent { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Whether the agent is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.is_running()
    }

    /// SIGTERM (the agent stops its containerd), then waits up to `within` for it to exit;
    /// SIGKILL if it has not.
    pub async fn stop(&mut self, within: Duration) -> anyhow::Result<()> {
        if !self.child.is_running() {
            return Ok(());
        }
        let pid = libc::pid_t::try_from(self.child.pid()).context("pid out of range")?;
        // SAFETY: kill(2) with our own child's pid, not reaped (is_running just said so).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let exited = wait_until(within, "keel-agent exits after SIGTERM", async || {
            anyhow::ensure!(!self.child.is_running(), "still running");
            Ok(())
        })
        .await;
        if exited.is_err() {
            self.child.kill().await?;
            anyhow::bail!("keel-agent did not exit within {within:?} of SIGTERM (killed)");
        }
        Ok(())
    }
}

/// The bridge of the agent whose root dir is `agent_root`, as its CNI conflist
/// (`containerd/cni/10-keel.conflist`) names it.
pub fn agent_bridge(agent_root: &Path) -> Option<String> {
    let path = agent_root.join("containerd/cni/10-keel.conflist");
    let conf: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    conf["plugins"][0]["bridge"].as_str().map(str::to_string)
}

/// Deletes the bridge of the (stopped) agent whose root dir is `agent_root`; the agent leaves
/// it behind for pods that outlive it.
pub fn remove_bridge(agent_root: &Path) {
    if let Some(bridge) = agent_bridge(agent_root) {
        let _ = std::process::Command::new("ip")
            .args(["link", "delete", &bridge])
            .status();
    }
}
