//! A local 3-member etcd (Debian's `etcd-server`, 3.4) on 127.0.0.1 free ports, default settings
//! (fsync on), data dirs under a given root; every member killed by pid when dropped.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use etcd_client::{Client, ConnectOptions};

use crate::{free_ports, wait_until, ChildProcess, WaitAbort};

/// Environment variable naming the etcd binary to use instead of the one on PATH.
pub const ETCD_BIN_ENV: &str = "KEEL_ETCD_BIN";
/// What to tell a user without etcd.
pub const INSTALL_HINT: &str =
    "install it with `apt-get install etcd-server` (or `scripts/install-build-deps.sh etcd-server`)";

/// One member's name, ports and data dir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdMember {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    pub data_dir: PathBuf,
}

impl EtcdMember {
    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    pub fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }
}

/// The command line of `member` in a new cluster of `members`: every URL on 127.0.0.1, a cluster
/// token unique to this run, everything else etcd's defaults.
pub fn etcd_args(member: &EtcdMember, members: &[EtcdMember], token: &str) -> Vec<String> {
    let initial: Vec<String> = members
        .iter()
        .map(|m| format!("{}={}", m.name, m.peer_url()))
        .collect();
    [
        ("--name", member.name.clone()),
        ("--data-dir", member.data_dir.display().to_string()),
        ("--listen-client-urls", member.client_url()),
        ("--advertise-client-urls", member.client_url()),
        ("--listen-peer-urls", member.peer_url()),
        ("--initial-advertise-peer-urls", member.peer_url()),
        ("--initial-cluster", initial.join(",")),
        ("--initial-cluster-state", "new".to_string()),
        ("--initial-cluster-token", token.to_string()),
        ("--logger", "zap".to_string()),
        ("--log-outputs", "stderr".to_string()),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_string(), value])
    .collect()
}

/// The etcd binary: `$KEEL_ETCD_BIN`, else `etcd` on PATH, else `/usr/bin/etcd`.
pub fn find_etcd() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ETCD_BIN_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("etcd"))
        .find(|p| p.is_file())
}

/// The etcd binary; when missing and running as root, installs Debian's `etcd-server` first
/// (apt-get, up to 15 minutes). Otherwise an error saying how to install it.
pub async fn ensure_etcd() -> anyhow::Result<PathBuf> {
    if let Some(p) = find_etcd() {
        return Ok(p);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        anyhow::bail!("etcd not found (${ETCD_BIN_ENV}, PATH, /usr/bin); {INSTALL_HINT}");
    }
    eprintln!("keel-bench: etcd not found; installing Debian's etcd-server with apt-get");
    let install = async {
        if !apt_get(&["install", "-y", "-qq", "etcd-server"]).await? {
            apt_get(&["update", "-qq"]).await?;
            anyhow::ensure!(
                apt_get(&["install", "-y", "-qq", "etcd-server"]).await?,
                "apt-get install failed"
            );
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(900), install)
        .await
        .context("apt-get took over 15 minutes")?
        .with_context(|| format!("installing etcd-server; {INSTALL_HINT}"))?;
    find_etcd().with_context(|| format!("etcd still not found after installing; {INSTALL_HINT}"))
}

async fn apt_get(args: &[&str]) -> anyhow::Result<bool> {
    let status = tokio::process::Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .kill_on_drop(true)
        .status()
        .await
        .context("running apt-get")?;
    Ok(status.success())
}

/// A running local etcd cluster.
pub struct EtcdCluster {
    members: Vec<EtcdMember>,
    processes: Vec<ChildProcess>,
}

impl EtcdCluster {
    /// Starts `size` members of `etcd_bin` with data dirs and logs (`etcd-<n>.log`) under `root`,
    /// and waits up to `timeout` until every member reports a leader and a write succeeds.
    pub async fn start(
        etcd_bin: &Path,
        root: &Path,
        size: usize,
        timeout: Duration,
    ) -> anyhow::Result<EtcdCluster> {
        anyhow::ensure!(size >= 1, "an etcd cluster needs at least one member");
        std::fs::create_dir_all(root)?;
        let ports = free_ports(2 * size)?;
        let members: Vec<EtcdMember> = (0..size)
            .map(|i| EtcdMember {
                name: format!("etcd-{}", i + 1),
                client_port: ports[2 * i],
                peer_port: ports[2 * i + 1],
                data_dir: root.join(format!("etcd-{}", i + 1)),
            })
            .collect();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let token = format!("keel-bench-{}-{nanos}", std::process::id());
        let mut cluster = EtcdCluster {
            members: members.clone(),
            processes: Vec::new(),
        };
        for m in &members {
            let log = root.join(format!("{}.log", m.name));
            let args = etcd_args(m, &members, &token);
            cluster
                .processes
                .push(ChildProcess::spawn(&m.name, etcd_bin, &args, &[], &log)?);
        }
        let endpoints = cluster.endpoints();
        let what = format!(
            "etcd at {} to elect a leader and accept a write",
            endpoints.join(",")
        );
        let c = &mut cluster;
        wait_until(timeout, what, async || {
            for p in c.processes.iter_mut() {
                if let Some(status) = p.try_exit_status() {
                    let msg = format!(
                        "{} exited: {status} (see {})",
                        p.name(),
                        p.log_path().display()
                    );
                    return Err(WaitAbort(msg).into());
                }
            }
            for ep in &endpoints {
                let mut client = connect(ep).await?;
                let status = client.status().await?;
                anyhow::ensure!(status.leader() != 0, "{ep} has no leader");
            }
            connect(&endpoints[0])
                .await?
                .put("keel-bench/health", "ok", None)
                .await?;
            Ok(())
        })
        .await?;
        Ok(cluster)
    }

    /// `http://127.0.0.1:PORT` of every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url()).collect()
    }

    /// The members' pids.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(|p| p.pid()).collect()
    }

    /// SIGKILLs every member and waits for each to exit (also done on drop).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        for p in self.processes.iter_mut() {
            p.kill().await?;
        }
        Ok(())
    }
}

async fn connect(endpoint: &str) -> anyhow::Result<Client> {
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(1))
        .with_timeout(Duration::from_secs(2));
    Ok(Client::connect([endpoint], Some(options)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: u16) -> EtcdMember {
        EtcdMember {
            name: format!("etcd-{n}"),
            client_port: 2000 + n,
            peer_port: 3000 + n,
            data_dir: PathBuf::from(format!("/d/etcd-{n}")),
        }
    }

    fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
        let i = args
            .iter()
            .position(|a| a == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        &args[i + 1]
    }

    #[test]
    fn args_keep_everything_on_loopback() {
        let members = [member(1), member(2), member(3)];
        let args = etcd_args(&members[1], &members, "tok");
        assert_eq!(flag(&args, "--name"), "etcd-2");
        assert_eq!(flag(&args, "--data-dir"), "/d/etcd-2");
        assert_eq!(flag(&args, "--listen-client-urls"), "http://127.0.0.1:2002");
        assert_eq!(
            flag(&args, "--advertise-client-urls"),
            "http://127.0.0.1:2002"
        );
        assert_eq!(flag(&args, "--listen-peer-urls"), "http://127.0.0.1:3002");
        assert_eq!(
            flag(&args, "--initial-advertise-peer-urls"),
            "http://127.0.0.1:3002"
        );
        assert_eq!(
            flag(&args, "--initial-cluster"),
            "etcd-1=http://127.0.0.1:3001,etcd-2=http://127.0.0.1:3002,etcd-3=http://127.0.0.1:3003"
        );
        assert_eq!(flag(&args, "--initial-cluster-state"), "new");
        assert_eq!(flag(&args, "--initial-cluster-token"), "tok");
        assert!(args
            .iter()
            .filter(|a| a.starts_with("http://"))
            .all(|a| a.starts_with("http://127.0.0.1:")));
        assert!(
            !args.iter().any(|a| a.contains("unsafe-no-fsync")),
            "fsync stays on"
        );
    }
}
