//! `LocalCluster`: a cell of real `keel-server` processes on 127.0.0.1 (or, with
//! [`ClusterOptions::netns`], each in its own network namespace) for tests and tools —
//! start, find the leader, kill / pause / restart / add / retire replicas, wait for convergence,
//! and stop every process it started (by pid) when dropped.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use anyhow::Context;
use keel_proto::{
    cluster::{cluster_client::ClusterClient, StatusResponse},
    store::store_client::StoreClient,
};
use tonic::transport::Channel;

use crate::{
    agreed_leader, find_binary, free_port, free_ports,
    log_tail::read_tail,
    network::NetnsLab,
    replica_rpc::{endpoint, status_at},
    wait_until, ClusterOptions, ReplicaProcess, WaitAbort,
};

/// Time limit of one Status call made by the helpers here.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);
/// Environment variable that keeps a temporary cluster root after the cluster is dropped.
const KEEP_ENV: &str = "KEEL_KEEP_CLUSTER";
/// Log lines quoted per replica when starting fails.
const TAIL_LINES: usize = 30;

/// A running local cell. Every method takes `&self`, so one cluster can be shared (`Arc`) between
/// a fault injector and checkers. Clients and channels need a tokio runtime.
#[derive(Debug)]
pub struct LocalCluster {
    opts: ClusterOptions,
    server_bin: PathBuf,
    root: PathBuf,
    replicas: Mutex<BTreeMap<u64, ReplicaProcess>>,
    /// Declared last: removed after the processes are gone.
    _temp: Option<tempfile::TempDir>,
}

impl LocalCluster {
    /// Starts `opts.replicas` replicas (ids 1..=N) bootstrapped with one `--initial-cluster`, and
    /// waits up to `opts.start_timeout` until every replica reports a leader and a majority agrees
    /// on it. On failure every process is stopped and the error quotes the replicas' log tails.
    pub async fn start(opts: ClusterOptions) -> anyhow::Result<LocalCluster> {
        anyhow::ensure!(opts.replicas >= 1, "a cluster needs at least one replica");
        let server_bin = match &opts.bin_dir {
            Some(dir) => crate::binaries::find_binary_in("keel-server", std::slice::from_ref(dir))?,
            None => find_binary("keel-server")?,
        };
        let (temp, root) = match &opts.root {
            Some(root) => {
                std::fs::create_dir_all(root)
                    .with_context(|| format!("creating cluster root {}", root.display()))?;
                (None, root.clone())
            }
            None => {
                let temp = tempfile::Builder::new().prefix("keel-cluster-").tempdir()?;
                let root = temp.path().to_path_buf();
                let keep = std::env::var(KEEP_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
                (
                    if keep {
                        let _kept = temp.keep();
                        None
                    } else {
                        Some(temp)
                    },
                    root,
                )
            }
        };
        let ids: Vec<u64> = (1..=opts.replicas as u64).collect();
        let addrs: Vec<String> = match &opts.netns {
            None => free_ports(opts.replicas)?
                .into_iter()
                .map(|port| format!("127.0.0.1:{port}"))
                .collect(),
            Some(lab) => {
                let mut addrs = Vec::new();
                for id in &ids {
                    addrs.push(lab.add_replica(*id)?);
                }
                addrs
            }
        };
        let initial: Vec<String> = ids
            .iter()
            .zip(&addrs)
            .map(|(id, addr)| format!("{id}={addr}"))
            .collect();
        let bootstrap = vec!["--initial-cluster".to_string(), initial.join(",")];
        let mut replicas = BTreeMap::new();
        for (id, addr) in ids.iter().zip(addrs) {
            let r = ReplicaProcess::new(*id, addr, &root, opts.tuning_args(), bootstrap.clone());
            let r = match &opts.netns {
                Some(lab) => r.with_launcher(lab.exec_prefix(*id)),
                None => r,
            };
            replicas.insert(*id, r);
        }
        eprintln!(
            "LocalCluster: {} replicas of {} under {} (logs: replica-<id>.log)",
            opts.replicas,
            server_bin.display(),
            root.display()
        );
        let cluster = LocalCluster {
            server_bin,
            root,
            replicas: Mutex::new(replicas),
            _temp: temp,
            opts,
        };
        {
            let rust_log = cluster.opts.replica_rust_log();
            let mut replicas = cluster.lock();
            for r in replicas.values_mut() {
                r.start(&cluster.server_bin, rust_log.as_deref())?;
            }
        }
        let what = "every replica to report a leader that a majority agrees on";
        let ready = wait_until(cluster.opts.start_timeout, what, async || {
            cluster.check_no_crash(None)?;
            let statuses = cluster.statuses().await;
            let mut answers = Vec::new();
            for (id, status) in statuses {
                let status = status.with_context(|| format!("replica {id}"))?;
                anyhow::ensure!(
                    status.has_leader,
                    "replica {id} has no leader ({})",
                    status.state
                );
                answers.push(status);
            }
            agreed_leader(&answers, cluster.opts.replicas).map_err(anyhow::Error::msg)
        })
        .await;
        match ready {
            Ok(_) => Ok(cluster),
            Err(err) => Err(anyhow::anyhow!(
                "LocalCluster did not start: {err:#}\n{}",
                cluster.all_log_tails()
            )),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, ReplicaProcess>> {
        // A panic while holding the lock leaves the map usable: recover it.
        self.replicas.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_replica<R>(
        &self,
        id: u64,
        f: impl FnOnce(&mut ReplicaProcess) -> R,
    ) -> anyhow::Result<R> {
        let mut replicas = self.lock();
        let r = replicas
            .get_mut(&id)
            .with_context(|| format!("no replica {id} in this cluster"))?;
        Ok(f(r))
    }

    /// Fails with [`WaitAbort`] if a replica (`only` that one, if given) whose process we did not
    /// stop has exited.
    pub(crate) fn check_no_crash(&self, only: Option<u64>) -> anyhow::Result<()> {
        let mut crashed = Vec::new();
        for (id, r) in self
            .lock()
            .iter_mut()
            .filter(|(id, _)| only.is_none_or(|o| o == **id))
        {
            if let Some(status) = r.process_mut().and_then(|p| p.try_exit_status()) {
                crashed.push(format!("replica {id} exited: {status}"));
            }
        }
        if crashed.is_empty() {
            Ok(())
        } else {
            Err(WaitAbort(crashed.join("; ")).into())
        }
    }

    /// The options the cluster was started with.
    pub fn options(&self) -> &ClusterOptions {
        &self.opts
    }

    /// The directory holding `replica-<id>/` data dirs and `replica-<id>.log` files.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `keel-server` binary in use.
    pub fn server_binary(&self) -> &Path {
        &self.server_bin
    }

    /// Every replica id this cluster knows (started, killed or paused), ascending.
    pub fn ids(&self) -> Vec<u64> {
        self.lock().keys().copied().collect()
    }

    /// Ids of replicas whose process runs and is not paused, ascending.
    pub fn live_ids(&self) -> Vec<u64> {
        self.lock()
            .iter_mut()
            .filter_map(|(id, r)| r.is_live().then_some(*id))
            .collect()
    }

    /// Whether replica `id` has a running process (paused counts as running).
    pub fn is_running(&self, id: u64) -> bool {
        self.with_replica(id, |r| r.is_running()).unwrap_or(false)
    }

    /// Whether replica `id` is paused (SIGSTOP).
    pub fn is_paused(&self, id: u64) -> bool {
        self.with_replica(id, |r| r.process().is_some_and(|p| p.is_paused()))
            .unwrap_or(false)
    }

    /// `127.0.0.1:PORT` of replica `id` (peers and clients share the port).
    pub fn addr(&self, id: u64) -> anyhow::Result<String> {
        self.with_replica(id, |r| r.addr().to_string())
    }

    /// `127.0.0.1:PORT` of every replica, by id (killed ones included).
    pub fn addrs(&self) -> Vec<String> {
        self.lock().values().map(|r| r.addr().to_string()).collect()
    }

    /// `http://127.0.0.1:PORT` of every replica, by id (killed ones included).
    pub fn endpoints(&self) -> Vec<String> {
        self.addrs()
            .into_iter()
            .map(|a| format!("http://{a}"))
            .collect()
    }

    /// The pid of replica `id`'s running process.
    pub fn pid(&self, id: u64) -> Option<u32> {
        self.with_replica(id, |r| {
            if r.is_running() {
                r.process().map(|p| p.pid())
            } else {
                None
            }
        })
        .ok()
        .flatten()
    }

    /// `<root>/replica-<id>.log`: stdout and stderr of every process of replica `id`.
    pub fn log_path(&self, id: u64) -> anyhow::Result<PathBuf> {
        self.with_replica(id, |r| r.log_path().to_path_buf())
    }

    /// `<root>/replica-<id>`: replica `id`'s data dir.
    pub fn data_dir(&self, id: u64) -> anyhow::Result<PathBuf> {
        self.with_replica(id, |r| r.data_dir().to_path_buf())
    }

    /// The last `lines` lines of replica `id`'s log (from its last 64 KiB), for error messages.
    pub fn log_tail(&self, id: u64, lines: usize) -> String {
        match self.log_path(id) {
            Ok(path) => read_tail(&path, lines)
                .unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display())),
            Err(e) => e.to_string(),
        }
    }

    fn all_log_tails(&self) -> String {
        let mut out = format!("cluster root {}", self.root.display());
        for id in self.ids() {
            out.push_str(&format!(
                "\n--- replica {id} log tail ---\n{}",
                self.log_tail(id, TAIL_LINES)
            ));
        }
        out
    }

    /// A lazily connecting channel to replica `id` with the cluster's per-request timeout.
    pub fn channel(&self, id: u64) -> anyhow::Result<Channel> {
        let addr = self.addr(id)?;
        Ok(endpoint(&addr, self.opts.request_timeout)?.connect_lazy())
    }

    /// A Store client talking to replica `id`.
    pub fn store_client(&self, id: u64) -> anyhow::Result<StoreClient<Channel>> {
        Ok(StoreClient::new(self.channel(id)?))
    }

    /// A Cluster client talking to replica `id`.
    pub fn cluster_client(&self, id: u64) -> anyhow::Result<ClusterClient<Channel>> {
        Ok(ClusterClient::new(self.channel(id)?))
    }

    /// Replica `id`'s Status, within 1 s.
    pub async fn status(&self, id: u64) -> anyhow::Result<StatusResponse> {
        status_at(&self.addr(id)?, STATUS_TIMEOUT)
            .await
            .with_context(|| format!("Status of replica {id}"))
    }

    /// The Status of every live replica (running, not paused), asked concurrently, by id.
    pub async fn statuses(&self) -> Vec<(u64, anyhow::Result<StatusResponse>)> {
        let ids = self.live_ids();
        let answers = futures::future::join_all(ids.iter().map(|id| self.status(*id))).await;
        ids.into_iter().zip(answers).collect()
    }

    /// How replica `id`'s process ended, if it exited on its own (`None` while it runs, and once
    /// it was stopped through this cluster).
    pub fn exit_status(&self, id: u64) -> Option<std::process::ExitStatus> {
        self.with_replica(id, |r| r.process_mut().and_then(|p| p.try_exit_status()))
            .ok()
            .flatten()
    }

    /// SIGKILLs replica `id` (SIGCONT first if paused) and waits until it has exited.
    pub async fn kill(&self, id: u64) -> anyhow::Result<()> {
        let process = self.with_replica(id, |r| r.clear_process())?;
        match process {
            Some(mut p) => p.kill().await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// Stops replica `id` with SIGSTOP: it keeps its sockets but answers nothing.
    pub fn pause(&self, id: u64) -> anyhow::Result<()> {
        self.with_replica(id, |r| match r.process_mut() {
            Some(p) => p.pause(),
            None => Err(anyhow::anyhow!("replica {id} is not running")),
        })?
    }

    /// Continues a paused replica `id` with SIGCONT.
    pub fn resume(&self, id: u64) -> anyhow::Result<()> {
        self.with_replica(id, |r| match r.process_mut() {
            Some(p) => p.resume(),
            None => Err(anyhow::anyhow!("replica {id} is not running")),
        })?
    }

    /// Starts replica `id` again on its data dir and port, without bootstrap flags (killing it
    /// first if it runs), and waits up to `opts.start_timeout` until it answers Status.
    pub async fn restart(&self, id: u64) -> anyhow::Result<()> {
        self.kill(id).await?;
        let rust_log = self.opts.replica_rust_log();
        self.with_replica(id, |r| r.start(&self.server_bin, rust_log.as_deref()))??;
        self.wait_answers(id).await
    }

    /// [`restart`](Self::restart) with `env` added to the replica's environment from now on
    /// (empty: back to none), e.g. libfaketime's `LD_PRELOAD` and `FAKETIME`.
    pub async fn restart_with_env(
        &self,
        id: u64,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<()> {
        self.with_replica(id, |r| r.set_extra_env(env))?;
        self.restart(id).await
    }

    /// Starts a new replica `id` (new port, new data dir) with `--join <addr of a live replica>`,
    /// waits until it answers Status, and returns its address. Making it a learner is the cell's
    /// job; promoting it is the caller's (ClusterClient::promote).
    pub async fn add_replica_process(&self, id: u64) -> anyhow::Result<String> {
        self.add_replica_process_at(id, None).await
    }

    /// [`add_replica_process`](Self::add_replica_process) at a given loopback address (e.g. the
    /// one a [`retire`](Self::retire)d replica had, so clients that knew it find it again).
    /// In network namespaces the address is always the id's own, and a retired replica's
    /// namespace is reused.
    pub async fn add_replica_process_at(
        &self,
        id: u64,
        loopback_addr: Option<String>,
    ) -> anyhow::Result<String> {
        anyhow::ensure!(
            !self.lock().contains_key(&id),
            "replica {id} already exists"
        );
        let join = match self.live_ids().first() {
            Some(live) => self.addr(*live)?,
            None => anyhow::bail!("no live replica to join through"),
        };
        let addr = match &self.opts.netns {
            None => match loopback_addr {
                Some(addr) => addr,
                None => format!("127.0.0.1:{}", free_port()?),
            },
            Some(lab) if lab.has_replica(id) => NetnsLab::replica_addr(id),
            Some(lab) => lab.add_replica(id)?,
        };
        let mut r = ReplicaProcess::new(
            id,
            addr.clone(),
            &self.root,
            self.opts.tuning_args(),
            vec!["--join".to_string(), join],
        );
        if let Some(lab) = &self.opts.netns {
            r = r.with_launcher(lab.exec_prefix(id));
        }
        let started = r.start(&self.server_bin, self.opts.replica_rust_log().as_deref());
        self.lock().insert(id, r);
        started?;
        self.wait_answers(id).await?;
        Ok(addr)
    }

    /// Stops replica `id` (SIGKILL) and forgets it: it no longer counts in [`ids`](Self::ids).
    /// With `wipe_data` its data dir is removed, so the id can join again as a new replica. Its
    /// log file stays (a later process of the same id appends to it). Returns its address.
    pub async fn retire(&self, id: u64, wipe_data: bool) -> anyhow::Result<String> {
        self.kill(id).await?;
        let replica = self
            .lock()
            .remove(&id)
            .with_context(|| format!("no replica {id} in this cluster"))?;
        if wipe_data && replica.data_dir().exists() {
            std::fs::remove_dir_all(replica.data_dir())
                .with_context(|| format!("removing {}", replica.data_dir().display()))?;
        }
        Ok(replica.addr().to_string())
    }

    /// Waits until replica `id` answers Status; gives up at once if its process exits.
    async fn wait_answers(&self, id: u64) -> anyhow::Result<()> {
        let what = format!("replica {id} to answer Status");
        let answered = wait_until(self.opts.start_timeout, what, async || {
            self.check_no_crash(Some(id))?;
            self.status(id).await.map(|_| ())
        })
        .await;
        answered.map_err(|e| {
            anyhow::anyhow!(
                "{e:#}\n--- replica {id} log tail ---\n{}",
                self.log_tail(id, TAIL_LINES)
            )
        })
    }

    /// Stops every process this cluster started (SIGCONT if paused, SIGKILL, wait). Idempotent;
    /// also done on drop.
    pub fn teardown(&self) {
        let mut replicas = self.lock();
        for r in replicas.values_mut() {
            if let Some(mut p) = r.clear_process() {
                p.kill_blocking();
            }
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.teardown();
    }
}
