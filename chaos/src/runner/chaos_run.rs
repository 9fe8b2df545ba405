//! One `keel-chaos run`: start the cell, run the workload, inject and heal the scheduled faults
//! (timing failover with probe writes), heal everything, take the final samples and reads, run
//! the checkers, and write the report.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use keel_proto::store::{store_client::StoreClient, RangeRequest};
use tokio::time::Instant;

use super::{
    compute_metrics, draw_timeline, workload_set::WorkloadSet, FaultRecord, NetworkMode, Report,
    RunArgs, Scenario, ScheduledFault,
};
use crate::{
    bench::failover::first_ack,
    checkers::{run_all, summary_table, CheckResult},
    faults::FaultEnv,
    history::{HistoryRecorder, StateSample},
    network::NetnsLab,
    replica_rpc::{endpoint, status_at},
    runner::FaultSchedule,
    wait_until,
    workload::ClientAttachments,
    ClusterOptions, LocalCluster,
};

/// Workload before the first fault (the "before" success rate) and after the last heal.
const WARMUP: Duration = Duration::from_secs(3);
const COOLDOWN: Duration = Duration::from_secs(3);
/// Time the schedule leaves after each heal for restarts and catch-up.
const HEAL_ALLOWANCE: Duration = Duration::from_secs(2);
/// Longest wait for the cell to recover (leader agreed, replicas caught up) after one heal.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(20);
/// A failover probe gives up this long after the heal.
const PROBE_AFTER_HEAL: Duration = Duration::from_secs(10);
/// Time limit of one probe write.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Probes per replica that may wait at once: one every 10 ms for the whole probe timeout, so
/// probes hung on a paused or cut-off replica never delay fresh ones to the others.
const PROBES_IN_FLIGHT_PER_REPLICA: usize = 128;
/// How long the final check may wait for every replica to agree.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub report: Report,
    /// The checkers' table (and listed violations).
    pub summary: String,
    pub passed: bool,
}

/// Runs `scenario` as `args` say. `lab` must be given for [`NetworkMode::Netns`] (and this
/// thread already in its hub). `progress` gets one line per step.
pub async fn run_chaos(
    args: &RunArgs,
    scenario: &Scenario,
    network: NetworkMode,
    lab: Option<Arc<NetnsLab>>,
    mut progress: impl FnMut(String),
) -> anyhow::Result<RunOutcome> {
    let duration = args.duration.unwrap_or(scenario.default_duration);
    let replicas = args.replicas.unwrap_or(scenario.replicas);
    anyhow::ensure!(
        !(scenario.needs_network() && lab.is_none()),
        "scenario {} has network faults: it needs --network netns (as root)",
        scenario.name
    );
    let command = args.reproduce_command(duration, network, replicas);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let root = args.out.join("cluster");
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    let mut extra_args = Vec::new();
    if args.unsafe_local_reads {
        extra_args.push("--unsafe-local-reads".to_string());
    }
    let opts = ClusterOptions {
        replicas,
        root: Some(root.clone()),
        rust_log: Some("info".into()),
        netns: lab.clone(),
        request_timeout: Duration::from_secs(2),
        snapshot_logs: scenario.cell.snapshot_logs,
        keep_logs: scenario.cell.keep_logs,
        extra_args,
        ..Default::default()
    };
    let cluster = Arc::new(LocalCluster::start(opts).await?);
    progress(format!(
        "cell of {replicas} up ({}) under {}",
        cluster.addrs().join(" "),
        root.display()
    ));
    let rec = Arc::new(HistoryRecorder::new());
    rec.set_replicas(cluster.ids());
    let schedule = FaultSchedule::build(scenario, args.seed, duration, HEAL_ALLOWANCE);
    progress(format!(
        "{} faults over {duration:?} (seed {})",
        schedule.faults.len(),
        args.seed
    ));
    let hard_deadline = Instant::now() + duration * 3 + Duration::from_secs(180);
    let attachments = ClientAttachments::new();
    let mut workload = WorkloadSet::start(
        &cluster,
        &rec,
        args,
        scenario.reads_anywhere,
        &attachments,
        hard_deadline,
    )?;
    let env = FaultEnv::new(
        cluster.clone(),
        lab.clone(),
        attachments,
        rec.clone(),
        args.seed,
    );

    tokio::time::sleep(WARMUP).await;
    let phase_start = Instant::now();
    let mut records = Vec::new();
    for (k, sf) in schedule.faults.iter().enumerate() {
        tokio::time::sleep_until(phase_start + sf.at).await;
        let record = run_one_fault(&env, &rec, sf, k).await;
        progress(describe(&record));
        records.push(record);
    }
    let heal_errors = heal_everything(&env).await;
    rec.mark_healed();
    tokio::time::sleep(COOLDOWN).await;
    let ops = workload
        .stop_clients(Duration::from_millis(args.op_timeout_ms) + Duration::from_secs(2))
        .await;
    progress(format!("workload stopped after {ops} operations"));
    // Membership faults may have changed who the replicas are: judge the final members.
    rec.set_replicas(cluster.ids());
    let converged = final_check(&cluster, &rec, workload.keys()).await;
    workload
        .finish_watchers(converged.map(|c| c.0), Duration::from_secs(10))
        .await;
    workload.stop_sampler().await;
    cluster.teardown();
    if let Some(lab) = &lab {
        lab.heal_all()?;
    }

    let history = rec.snapshot();
    progress(format!(
        "checking {} operations, {} watch logs",
        history.ops.len(),
        history.watches.len()
    ));
    let checked = history.clone();
    let results: Vec<CheckResult> = tokio::task::spawn_blocking(move || run_all(&checked)).await?;
    let mut metrics = compute_metrics(&history, &mut records, &results);
    metrics.converge_after_load_stop_ms = converged.map(|c| c.1.as_secs_f64() * 1000.0);
    let passed = results.iter().all(|r| r.ok) && heal_errors.is_empty();
    let report = Report::new(
        args,
        scenario,
        network,
        replicas,
        duration,
        command,
        schedule,
        records,
        metrics,
        results,
        heal_errors,
    );
    report.write(&args.out)?;
    std::fs::write(args.out.join("history.json"), history.to_json()?)?;
    if let Err(e) = draw_timeline(&history, &report, &args.out) {
        progress(format!("timeline picture not drawn: {e:#}"));
    }
    if passed && !args.keep_data {
        let _ = std::fs::remove_dir_all(&root);
    }
    let summary = summary_table(&report.checkers, 5);
    Ok(RunOutcome {
        report,
        summary,
        passed,
    })
}

fn describe(r: &FaultRecord) -> String {
    let mut line = format!("{} at {:.1}s: {}", r.name, r.inject_ms / 1000.0, r.target);
    if let Some(f) = r.failover_ms {
        line.push_str(&format!("; first write after {f:.1} ms"));
    }
    if let Some(c) = r.catch_up_ms {
        line.push_str(&format!("; caught up {c:.0} ms after heal"));
    }
    for e in &r.errors {
        line.push_str(&format!("; ERROR {e}"));
    }
    line
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Injects one fault, probes for the first committed write if it took the leader away, heals it
/// after its hold, and waits for the cell to recover.
async fn run_one_fault(
    env: &FaultEnv,
    rec: &HistoryRecorder,
    sf: &ScheduledFault,
    k: usize,
) -> FaultRecord {
    let mut fault = sf.spec.build();
    let mut record = FaultRecord {
        name: fault.name(),
        ..Default::default()
    };
    let injected = fault.inject(env).await;
    let t0 = Instant::now();
    record.inject_ms = ms(rec.now_ns());
    match injected {
        Ok(target) => record.target = target,
        Err(e) => {
            record.errors.push(format!("inject: {e:#}"));
            if let Err(e) = fault.heal(env).await {
                record.errors.push(format!("heal: {e:#}"));
            }
            return record;
        }
    }
    record.hits_leader = fault.hits_leader();
    let probe = if record.hits_leader {
        let mut clients = Vec::new();
        for id in env.cluster.ids() {
            if let Ok(addr) = env.cluster.addr(id) {
                if let Ok(ep) = endpoint(&addr, PROBE_TIMEOUT) {
                    clients.push(StoreClient::new(ep.connect_lazy()));
                }
            }
        }
        let deadline = t0 + sf.hold + PROBE_AFTER_HEAL;
        let max_in_flight = clients.len() * PROBES_IN_FLIGHT_PER_REPLICA;
        Some(tokio::spawn(first_ack(
            clients,
            deadline,
            PROBE_TIMEOUT,
            k,
            max_in_flight,
        )))
    } else {
        None
    };
    tokio::time::sleep_until(t0 + sf.hold).await;
    let target_rev = max_revision(&env.cluster).await;
    let healed = fault.heal(env).await;
    record.heal_ms = Some(ms(rec.now_ns()));
    let healed_at = Instant::now();
    if let Err(e) = healed {
        record.errors.push(format!("heal: {e:#}"));
    }
    if let Some(probe) = probe {
        match probe.await {
            Ok(Ok(at)) => record.failover_ms = Some((at - t0).as_secs_f64() * 1000.0),
            Ok(Err(e)) => record.errors.push(format!("failover probe: {e}")),
            Err(e) => record.errors.push(format!("failover probe task: {e}")),
        }
    }
    match recover(&env.cluster, target_rev).await {
        Ok(()) => record.catch_up_ms = Some(healed_at.elapsed().as_secs_f64() * 1000.0),
        Err(e) => record.errors.push(format!("recovery: {e:#}")),
    }
    record
}

/// The highest applied revision any live replica reports now.
async fn max_revision(cluster: &LocalCluster) -> u64 {
    cluster
        .statuses()
        .await
        .into_iter()
        .filter_map(|(_, s)| s.ok().map(|s| s.revision))
        .max()
        .unwrap_or(0)
}

/// Waits until a leader is agreed and every replica is live and has applied `revision`.
async fn recover(cluster: &LocalCluster, revision: u64) -> anyhow::Result<()> {
    wait_until(
        RECOVERY_TIMEOUT,
        format!("every replica live at revision ≥ {revision} with an agreed leader"),
        async || {
            anyhow::ensure!(
                cluster.live_ids().len() == cluster.ids().len(),
                "not every replica is live"
            );
            cluster.current_leader().await?;
            for (id, s) in cluster.statuses().await {
                let rev = s?.revision;
                anyhow::ensure!(rev >= revision, "replica {id} is at revision {rev}");
            }
            Ok(())
        },
    )
    .await
}

/// Undoes anything a fault may have left behind: opens every link, continues paused replicas and
/// restarts dead ones. Returns what failed.
async fn heal_everything(env: &FaultEnv) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(lab) = &env.lab {
        if let Err(e) = lab.heal_all() {
            errors.push(format!("{e:#}"));
        }
    }
    for id in env.cluster.ids() {
        if env.cluster.is_paused(id) {
            if let Err(e) = env.cluster.resume(id) {
                errors.push(format!("resume {id}: {e:#}"));
            }
        } else if !env.cluster.is_running(id) {
            if let Err(e) = env.cluster.restart(id).await {
                errors.push(format!("restart {id}: {e:#}"));
            }
        }
    }
    errors
}

/// After the workload stopped: samples every replica until they agree on revision and state hash
/// (recording each round as the final states), then reads every key linearizably. Returns the
/// revision they agreed on and how long agreeing took.
async fn final_check(
    cluster: &LocalCluster,
    rec: &HistoryRecorder,
    keys: &[String],
) -> Option<(u64, Duration)> {
    let started = Instant::now();
    let agreed = wait_until(
        CONVERGE_TIMEOUT,
        "every replica at one revision and state hash",
        async || {
            let mut seen = Vec::new();
            for id in cluster.ids() {
                let addr = cluster.addr(id)?;
                let invoke_ns = rec.now_ns();
                let s = status_at(&addr, Duration::from_secs(1)).await?;
                let sample = StateSample {
                    replica: id,
                    invoke_ns,
                    complete_ns: rec.now_ns(),
                    revision: s.revision,
                    state_hash: s.state_hash,
                };
                rec.record_final_state(sample.clone());
                seen.push(sample);
            }
            let first = seen.first().context("no replica")?;
            anyhow::ensure!(
                seen.iter()
                    .all(|s| s.revision == first.revision && s.state_hash == first.state_hash),
                "replicas differ"
            );
            Ok(first.revision)
        },
    )
    .await
    .ok()
    .map(|rev| (rev, started.elapsed()));
    for key in keys {
        let read = wait_until(
            Duration::from_secs(5),
            format!("a final read of {key}"),
            async || {
                let mut last = None;
                for id in cluster.ids() {
                    let mut client = cluster.store_client(id)?;
                    let req = RangeRequest {
                        key: key.as_bytes().to_vec(),
                        ..Default::default()
                    };
                    match client.range(req).await {
                        Ok(resp) => return Ok(resp.into_inner().kvs.into_iter().next()),
                        Err(e) => last = Some(e),
                    }
                }
                Err(anyhow::anyhow!("no replica answered: {last:?}"))
            },
        )
        .await;
        if let Ok(kv) = read {
            let value = kv
                .as_ref()
                .map(|kv| String::from_utf8_lossy(&kv.value).to_string());
            let rev = kv.map(|kv| kv.mod_revision).unwrap_or(0);
            rec.record_final_read(key.clone(), value, Some(rev));
        }
    }
    agreed
}
