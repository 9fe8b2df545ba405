//! The workload of one run, started and stopped together: register clients, watchers and the
//! cluster sampler, all writing into one recorder.

use std::{sync::Arc, time::Duration};

use keel_proto::store::store_client::StoreClient;
use tokio::{sync::watch, task::JoinSet, time::Instant};
use tonic::transport::Endpoint;

use super::RunArgs;
use crate::{
    history::{HistoryRecorder, WatchLog},
    replica_rpc::endpoint,
    workload::{
        run_register_client, run_sampler, run_watcher, ClientAttachments, RegisterClientConfig,
        StopFlag, StoreTarget, WatcherConfig,
    },
    LocalCluster,
};

/// The prefix every workload key lives under (the watchers watch it).
pub const KEY_PREFIX: &str = "/chaos/reg/";
/// Sampling interval of the replicas' Status.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Running workload tasks.
pub struct WorkloadSet {
    clients_stop: StopFlag,
    clients: JoinSet<u64>,
    watchers_stop: StopFlag,
    watchers: JoinSet<WatchLog>,
    watch_until: watch::Sender<Option<u64>>,
    sampler_stop: StopFlag,
    sampler: JoinSet<u64>,
    rec: Arc<HistoryRecorder>,
    keys: Vec<String>,
}

impl WorkloadSet {
    /// The workload's keys.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Starts every task; none runs past `hard_deadline`. `reads_anywhere`: see
    /// [`RegisterClientConfig::reads_anywhere`]; the clients publish their replicas in
    /// `attachments`.
    pub fn start(
        cluster: &Arc<LocalCluster>,
        rec: &Arc<HistoryRecorder>,
        args: &RunArgs,
        reads_anywhere: bool,
        attachments: &ClientAttachments,
        hard_deadline: Instant,
    ) -> anyhow::Result<Self> {
        let keys: Vec<String> = (0..args.keys.max(1))
            .map(|k| format!("{KEY_PREFIX}k{k}"))
            .collect();
        let op_timeout = Duration::from_millis(args.op_timeout_ms);
        let mut targets = Vec::new();
        let mut watch_targets = Vec::new();
        for id in cluster.ids() {
            let addr = cluster.addr(id)?;
            let channel = endpoint(&addr, op_timeout + Duration::from_secs(1))?.connect_lazy();
            targets.push(StoreTarget {
                replica: id,
                client: StoreClient::new(channel),
            });
            let stream_channel = Endpoint::from_shared(format!("http://{addr}"))?
                .connect_timeout(Duration::from_secs(1))
                .connect_lazy();
            watch_targets.push((id, StoreClient::new(stream_channel)));
        }
        let clients_stop = StopFlag::new();
        let mut clients = JoinSet::new();
        for c in 0..args.clients {
            let cfg = RegisterClientConfig {
                client_id: c,
                keys: keys.clone(),
                targets: targets.clone(),
                op_timeout,
                think: Duration::from_millis(args.think_ms),
                read_percent: 45,
                write_percent: 35,
                seed: args.seed.wrapping_mul(1_000_003).wrapping_add(u64::from(c)),
                reads_anywhere,
                attachments: attachments.clone(),
                max_ops: 10_000_000,
                deadline: hard_deadline,
            };
            clients.spawn(run_register_client(cfg, rec.clone(), clients_stop.clone()));
        }
        let watchers_stop = StopFlag::new();
        let (watch_until, until_rx) = watch::channel(None);
        let mut watchers = JoinSet::new();
        for w in 0..args.watchers {
            let cfg = WatcherConfig {
                watcher_id: w,
                prefix: KEY_PREFIX.to_string(),
                start_revision: 1,
                targets: watch_targets.clone(),
                disconnect_every: Duration::from_secs(5 + u64::from(w) * 2),
                stall_timeout: Duration::from_secs(2),
                deadline: hard_deadline,
                max_reconnects: 100_000,
            };
            let (rec, stop, until) = (rec.clone(), watchers_stop.clone(), until_rx.clone());
            watchers.spawn(async move { run_watcher(cfg, &rec, stop, until).await });
        }
        let sampler_stop = StopFlag::new();
        let mut sampler = JoinSet::new();
        sampler.spawn(run_sampler(
            cluster.clone(),
            rec.clone(),
            SAMPLE_EVERY,
            sampler_stop.clone(),
            hard_deadline,
        ));
        Ok(WorkloadSet {
            clients_stop,
            clients,
            watchers_stop,
            watchers,
            watch_until,
            sampler_stop,
            sampler,
            rec: rec.clone(),
            keys,
        })
    }

    /// Stops the clients (each finishes its request in flight) and returns how many operations
    /// they sent.
    pub async fn stop_clients(&mut self, within: Duration) -> u64 {
        self.clients_stop.stop();
        let mut ops = 0;
        let drained = tokio::time::timeout(within, async {
            while let Some(done) = self.clients.join_next().await {
                ops += done.unwrap_or(0);
            }
        })
        .await;
        if drained.is_err() {
            self.clients.abort_all();
        }
        ops
    }

    /// Lets the watchers run until each has seen `final_revision` (or `within` passes), then
    /// stops them and hands their logs to the recorder.
    pub async fn finish_watchers(&mut self, final_revision: Option<u64>, within: Duration) {
        let _ = self.watch_until.send(final_revision);
        self.watchers_stop.stop();
        if !self.collect_watchers(within).await {
            // Not at the final revision in time: stop at the next message instead.
            let _ = self.watch_until.send(None);
            if !self.collect_watchers(Duration::from_secs(5)).await {
                self.watchers.abort_all();
            }
        }
    }

    /// Hands the logs of finished watchers to the recorder; true when all have finished.
    async fn collect_watchers(&mut self, within: Duration) -> bool {
        let rec = self.rec.clone();
        tokio::time::timeout(within, async {
            while let Some(done) = self.watchers.join_next().await {
                if let Ok(log) = done {
                    rec.add_watch_log(log);
                }
            }
        })
        .await
        .is_ok()
    }

    /// Stops the sampler.
    pub async fn stop_sampler(&mut self) {
        self.sampler_stop.stop();
        let drained = tokio::time::timeout(Duration::from_secs(5), async {
            while self.sampler.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.sampler.abort_all();
        }
    }
}
