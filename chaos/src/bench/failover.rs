//! Leader failover: with a steady write load on a 3-replica cell, SIGKILL the leader and time
//! how long until the first write is acknowledged again (necessarily committed by a new leader),
//! then restart the killed replica, let it catch up, and repeat.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use keel_proto::store::{store_client::StoreClient, PutRequest};
use serde::Serialize;
use tokio::{task::JoinSet, time::Instant};
use tonic::transport::Channel;

use super::latency::{round3, LatencySummary};
use crate::{replica_rpc::endpoint, wait_until, ClusterOptions, LocalCluster};

/// A new probe write goes to every survivor this often while none has been acknowledged: the
/// resolution of the measurement.
const PROBE_INTERVAL: Duration = Duration::from_millis(10);
/// Most probe writes in flight at once.
const MAX_PROBES_IN_FLIGHT: usize = 64;
/// Pause of a background writer after an error.
const WRITER_ERROR_PAUSE: Duration = Duration::from_millis(20);

/// `keel-bench failover` options.
#[derive(clap::Args, Clone, Debug)]
pub struct FailoverArgs {
    /// Leader kills to measure.
    #[arg(long, default_value_t = 20)]
    pub kills: usize,
    /// Background writers (closed loop, one write in flight each) kept on the cell throughout.
    #[arg(long, default_value_t = 4)]
    pub writers: usize,
    /// Give up on one kill after this long (counted as a failure).
    #[arg(long, default_value_t = 30)]
    pub kill_timeout_secs: u64,
    /// Time limit of one probe write.
    #[arg(long, default_value_t = 1000)]
    pub probe_timeout_ms: u64,
    /// How long a restarted replica may take to catch up before the run is aborted.
    #[arg(long, default_value_t = 60)]
    pub catch_up_timeout_secs: u64,
    /// `--heartbeat-ms` for the replicas (their default if unset).
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// `--election-timeout-ms` for the replicas (their default if unset).
    #[arg(long)]
    pub election_timeout_ms: Option<u64>,
    /// `RUST_LOG` for the replicas.
    #[arg(long, default_value = "info")]
    pub server_log: String,
    /// Keep the cell's data dirs and logs here (default: a temporary directory, removed).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
}

/// The result, printed as one JSON object.
#[derive(Clone, Debug, Serialize)]
pub struct FailoverReport {
    pub kills: usize,
    /// Kills whose first acknowledged write was timed.
    pub succeeded: usize,
    /// Kills with no acknowledged write within the kill timeout.
    pub failures: usize,
    pub failure_reasons: Vec<String>,
    /// Kill → first acknowledged write, per successful kill, in ms.
    pub samples_ms: Vec<f64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Background writes acknowledged / failed over the whole run.
    pub writer_ops: u64,
    pub writer_errors: u64,
    /// Why the run stopped before all kills, if it did.
    pub aborted: Option<String>,
    /// The cell's data dirs and logs, if kept.
    pub data_root: Option<String>,
}

/// Runs the failover measurement; `progress` gets one line per step.
pub async fn run_failover(
    args: &FailoverArgs,
    mut progress: impl FnMut(String),
) -> anyhow::Result<FailoverReport> {
    let opts = ClusterOptions {
        replicas: 3,
        root: args.data_root.clone(),
        heartbeat_ms: args.heartbeat_ms,
        election_timeout_ms: args.election_timeout_ms,
        rust_log: Some(args.server_log.clone()),
        ..Default::default()
    };
    let cluster = LocalCluster::start(opts).await?;
    progress(format!("cell up under {}", cluster.root().display()));
    let kill_timeout = Duration::from_secs(args.kill_timeout_secs);
    let probe_timeout = Duration::from_millis(args.probe_timeout_ms);
    let catch_up = Duration::from_secs(args.catch_up_timeout_secs);
    // Every kill takes at most kill + restart + catch-up + election: bound the writers by that.
    let run_bound = (kill_timeout + catch_up + Duration::from_secs(90)) * (args.kills as u32 + 1);
    let writers = Writers::start(&cluster, args.writers, Instant::now() + run_bound)?;

    let mut samples = Vec::new();
    let mut failure_reasons = Vec::new();
    let mut aborted = None;
    for k in 0..args.kills {
        match one_kill(
            &cluster,
            k,
            kill_timeout,
            probe_timeout,
            catch_up,
            &mut progress,
        )
        .await
        {
            Ok(Ok(ms)) => samples.push(ms),
            Ok(Err(reason)) => failure_reasons.push(format!("kill {k}: {reason}")),
            Err(err) => {
                aborted = Some(format!("kill {k}: {err:#}"));
                break;
            }
        }
    }
    let (writer_ops, writer_errors) = writers.stop().await;
    cluster.teardown();
    let lat = LatencySummary::from_samples_ms(&samples);
    Ok(FailoverReport {
        kills: args.kills,
        succeeded: samples.len(),
        failures: failure_reasons.len(),
        failure_reasons,
        p50_ms: lat.p50_ms,
        p99_ms: lat.p99_ms,
        max_ms: lat.max_ms,
        samples_ms: samples,
        writer_ops,
        writer_errors,
        aborted,
        data_root: args.data_root.as_ref().map(|p| p.display().to_string()),
    })
}

/// One kill. `Ok(Ok(ms))`: measured; `Ok(Err(reason))`: no write acknowledged in time;
/// `Err`: the cell could not be brought back, so the run stops.
async fn one_kill(
    cluster: &LocalCluster,
    k: usize,
    kill_timeout: Duration,
    probe_timeout: Duration,
    catch_up: Duration,
    progress: &mut impl FnMut(String),
) -> anyhow::Result<Result<f64, String>> {
    let view = wait_until(Duration::from_secs(30), "an agreed leader", async || {
        cluster.current_leader().await
    })
    .await?;
    let victim = view.leader_id;
    let mut probes = Vec::new();
    for id in cluster.live_ids().into_iter().filter(|id| *id != victim) {
        // Connected before the kill, so the timing holds no connection set-up.
        let channel = endpoint(&cluster.addr(id)?, probe_timeout)?
            .connect()
            .await?;
        probes.push(StoreClient::new(channel));
    }
    anyhow::ensure!(!probes.is_empty(), "no surviving replica to write to");

    let t0 = Instant::now();
    cluster.kill(victim).await?;
    // The victim is dead before the first probe is sent, so an acknowledged probe was committed
    // by a leader elected after it: the time to it is the failover time.
    let outcome = first_ack(
        probes,
        t0 + kill_timeout,
        probe_timeout,
        k,
        MAX_PROBES_IN_FLIGHT,
    )
    .await;
    let result = match outcome {
        Ok(t1) => {
            let ms = round3((t1 - t0).as_secs_f64() * 1000.0);
            progress(format!(
                "kill {k}: leader {victim} (term {}) → first write after {ms} ms",
                view.term
            ));
            Ok(ms)
        }
        Err(reason) => {
            progress(format!("kill {k}: leader {victim}: FAILED: {reason}"));
            Err(reason)
        }
    };
    cluster.restart(victim).await?;
    cluster.wait_caught_up(victim, catch_up).await?;
    cluster
        .wait_for_leader(Duration::from_secs(30), None)
        .await?;
    Ok(result)
}

/// Sends a probe write to every survivor every PROBE_INTERVAL until one is acknowledged; returns
/// when that acknowledgement arrived. At most `max_in_flight` probes wait at once: when some
/// replicas hang (paused, partitioned) rather than refuse, set it above
/// `attempt_timeout / PROBE_INTERVAL × clients`, or the hung probes crowd out fresh ones.
pub(crate) async fn first_ack(
    clients: Vec<StoreClient<Channel>>,
    deadline: Instant,
    attempt_timeout: Duration,
    k: usize,
    max_in_flight: usize,
) -> Result<Instant, String> {
    let mut in_flight: JoinSet<Result<Instant, String>> = JoinSet::new();
    let mut ticker = tokio::time::interval(PROBE_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_error = String::from("none acknowledged");
    let mut sent: u64 = 0;
    let max_sends = (deadline
        .saturating_duration_since(Instant::now())
        .as_millis() as u64
        / PROBE_INTERVAL.as_millis() as u64
        + 1)
        * clients.len() as u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                return Err(format!("no write acknowledged in time ({sent} probes); last error: {last_error}"));
            }
            _ = ticker.tick(), if sent < max_sends => {
                for client in &clients {
                    if in_flight.len() >= max_in_flight {
                        break;
                    }
                    let mut client = client.clone();
                    let req = PutRequest {
                        key: format!("failover/probe/{k}").into_bytes(),
                        value: sent.to_le_bytes().to_vec(),
                        prev_kv: false,
                    };
                    sent += 1;
                    in_flight.spawn(async move {
                        match tokio::time::timeout(attempt_timeout, client.put(req)).await {
                            Ok(Ok(_)) => Ok(Instant::now()),
                            Ok(Err(status)) => Err(format!("{}: {}", status.code(), status.message())),
                            Err(_) => Err(format!("probe timed out after {attempt_timeout:?}")),
                        }
                    });
                }
            }
            Some(done) = in_flight.join_next() => {
                match done {
                    Ok(Ok(at)) => return Ok(at),
                    Ok(Err(e)) => last_error = e,
                    Err(e) => last_error = format!("probe task: {e}"),
                }
            }
        }
    }
}

/// The background write load: closed-loop writers rotating over the replicas.
struct Writers {
    stop: Arc<AtomicBool>,
    ops: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    tasks: JoinSet<()>,
}

impl Writers {
    fn start(cluster: &LocalCluster, n: usize, hard_deadline: Instant) -> anyhow::Result<Self> {
        let mut clients = Vec::new();
        for id in cluster.ids() {
            clients.push(StoreClient::new(
                endpoint(&cluster.addr(id)?, Duration::from_secs(2))?.connect_lazy(),
            ));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let mut tasks = JoinSet::new();
        for w in 0..n {
            let (clients, stop, ops, errors) =
                (clients.clone(), stop.clone(), ops.clone(), errors.clone());
            tasks.spawn(async move {
                let mut target = w % clients.len();
                let mut i: u64 = 0;
                while !stop.load(Ordering::Relaxed) && Instant::now() < hard_deadline {
                    let req = PutRequest {
                        key: format!("failover/load/{w}/{}", i % 1000).into_bytes(),
                        value: vec![0x5A; 256],
                        prev_kv: false,
                    };
                    i += 1;
                    match clients[target].clone().put(req).await {
                        Ok(_) => {
                            ops.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            target = (target + 1) % clients.len();
                            tokio::time::sleep(WRITER_ERROR_PAUSE).await;
                        }
                    }
                }
            });
        }
        Ok(Writers {
            stop,
            ops,
            errors,
            tasks,
        })
    }

    /// Stops the writers (each finishes its request in flight, ≤ 2 s) and returns (ops, errors).
    async fn stop(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let drained = tokio::time::timeout(Duration::from_secs(10), async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.tasks.abort_all();
        }
        (
            self.ops.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}
