//! Bringing up the node's CRI runtime before any pod is synced: either the CRI socket given with
//! `--cri-socket`, or the agent's own containerd — CNI conflist and config.toml written under the
//! root dir, containerd started under a [`Supervisor`], its CRI answering — and the sandbox image
//! pulled, so no pod waits for it.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::{bridge_name, cni_conflist, containerd_config, ContainerdLayout, Supervisor};
use crate::config::AgentArgs;
use crate::runtime::cri::CriRuntime;
use crate::runtime::cri_client::CriClient;

/// How long containerd may take to answer CRI after it starts.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The CRI client, and the agent's own containerd unless `--cri-socket` names a runtime.
pub async fn start_node_runtime(
    args: &AgentArgs,
    pod_cidr: &str,
) -> anyhow::Result<(CriClient, Option<NodeRuntime>)> {
    if let Some(socket) = &args.cri_socket {
        let cri = CriClient::new(socket);
        let version = cri
            .wait_ready(READY_WITHIN)
            .await
            .with_context(|| format!("the CRI runtime at {} does not answer", socket.display()))?;
        tracing::info!(socket = %socket.display(), %version, "using an existing CRI runtime");
        pull_sandbox_image(args, &cri).await?;
        return Ok((cri, None));
    }
    let sandbox_image = args.sandbox_image().context(
        "--runtime cri with the agent's own containerd needs --registry or --sandbox-image",
    )?;
    let root = args.root_dir();
    let layout = ContainerdLayout::under(&root);
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let lock = lock_root_dir(&root)?;
    stop_stale_containerd(&layout);
    for dir in [
        layout.dir.clone(),
        layout.cni_conf_dir(),
        root.join("cni-ipam"),
        root.join("pods"),
    ] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let conflist = cni_conflist(
        &args.node_name,
        pod_cidr,
        &root.join("cni-ipam").to_string_lossy(),
    );
    std::fs::write(
        layout.cni_conf_dir().join("10-keel.conflist"),
        serde_json::to_vec_pretty(&conflist)?,
    )?;
    std::fs::write(
        layout.config(),
        containerd_config(
            &layout,
            &sandbox_image,
            &args.cni_bin_dir,
            args.registry.as_deref(),
        ),
    )?;
    let supervisor = Supervisor::start(&args.containerd_bin, &layout)
        .with_context(|| format!("starting {}", args.containerd_bin.display()))?;
    tracing::info!(pid = ?supervisor.pid(), dir = %layout.dir.display(),
        bridge = %bridge_name(&args.node_name), "started the node's containerd");
    let cri = CriClient::new(&layout.socket());
    let version = cri.wait_ready(READY_WITHIN).await.with_context(|| {
        format!(
            "containerd does not answer CRI on {} (see {})",
            layout.socket().display(),
            layout.log().display()
        )
    })?;
    tracing::info!(%version, "containerd answers CRI");
    pull_sandbox_image(args, &cri).await?;
    Ok((
        cri,
        Some(NodeRuntime {
            supervisor,
            _lock: lock,
        }),
    ))
}

/// The agent's own containerd, and its hold on the root dir; dropping it stops containerd.
pub struct NodeRuntime {
    pub supervisor: Supervisor,
    _lock: std::fs::File,
}

/// An exclusive lock on `<root>/agent.lock`, held while the agent runs: two agents on one root
/// dir would run two containerds on one state.
fn lock_root_dir(root: &Path) -> anyhow::Result<std::fs::File> {
    let path = root.join("agent.lock");
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    // SAFETY: flock(2) on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    anyhow::ensure!(
        rc == 0,
        "another keel-agent uses {} ({})",
        root.display(),
        std::io::Error::last_os_error()
    );
    Ok(file)
}

/// A containerd a previous agent on this root dir started and that outlived it (its pid file
/// names it and its command line names our config) is stopped before ours starts.
fn stop_stale_containerd(layout: &ContainerdLayout) {
    let Some(pid) = std::fs::read_to_string(layout.pid_file())
        .ok()
        .and_then(|s| s.trim().parse::<libc::pid_t>().ok())
    else {
        return;
    };
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let ours = std::fs::read(proc.join("cmdline")).is_ok_and(|cmd| {
        let config = layout.config();
        let config = config.to_string_lossy();
        cmd.split(|b| *b == 0).any(|arg| arg == config.as_bytes())
    });
    if !ours {
        return;
    }
    tracing::warn!(pid, "a previous agent's containerd still runs; stopping it");
    // SAFETY: kill(2) on the pid whose command line names this agent's config.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while proc.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if proc.exists() {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

async fn pull_sandbox_image(args: &AgentArgs, cri: &CriClient) -> anyhow::Result<()> {
    if let Some(image) = args.sandbox_image() {
        let id = CriRuntime::pull(cri, &image)
            .await
            .with_context(|| format!("pulling the sandbox image {image}"))?;
        tracing::info!(%image, %id, "sandbox image present");
    }
    Ok(())
}
