//! The brain of one term: the informers over this replica's state, the scheduling loop and every
//! controller, all stopped together by the term's cancellation token.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::controller_set::ControllerSet;
use crate::controllers::{
    cronjob, daemonset, deployment, endpoints, garbage_collector, job, node_lifecycle, replicaset,
    scheduling_loop, statefulset, ControllerContext, Informers,
};
use crate::nodes::NodeLiveness;
use crate::registry::{Registry, RegistryError};
use crate::scheduler::SchedulerConfig;

/// Settings of the leader's work.
#[derive(Debug, Clone)]
pub struct BrainConfig {
    pub scheduler: SchedulerConfig,
    /// A node whose Ready condition was not refreshed for this long is marked Unknown and
    /// tainted unreachable.
    pub node_monitor_grace: Duration,
    /// How long pods on an unreachable or not-ready node are tolerated by default before they
    /// are evicted (Kubernetes' default toleration is 300 s; Keel's default is short so a dead
    /// node's pods run elsewhere within seconds).
    pub default_eviction_toleration: Duration,
    /// Every controller re-queues all its objects this often.
    pub resync: Duration,
    /// Which loops run (`--controllers`).
    pub controllers: ControllerSet,
}

impl Default for BrainConfig {
    fn default() -> Self {
        BrainConfig {
            scheduler: SchedulerConfig::default(),
            node_monitor_grace: Duration::from_secs(6),
            default_eviction_toleration: Duration::from_secs(4),
            resync: Duration::from_secs(30),
            controllers: ControllerSet::all(),
        }
    }
}

/// Runs the brain of `term` until `token` is cancelled. An error means it could not start.
pub async fn run(
    registry: Registry,
    term: u64,
    token: CancellationToken,
    config: BrainConfig,
    liveness: NodeLiveness,
) -> Result<(), RegistryError> {
    let informers = Arc::new(Informers::start(&registry, &token).await?);
    let ctx = ControllerContext {
        registry,
        term,
        token: token.clone(),
        informers,
        liveness,
        term_started: tokio::time::Instant::now(),
    };
    let mut tasks = JoinSet::new();
    let on = |name| config.controllers.enabled(name);
    if on("scheduler") {
        tasks.spawn(scheduling_loop::run(ctx.clone(), config.scheduler.clone()));
    }
    if on("garbage-collector") {
        tasks.spawn(garbage_collector::run(ctx.clone(), config.resync));
    }
    if on("endpoints") {
        tasks.spawn(endpoints::run(ctx.clone(), config.resync));
    }
    if on("replicaset") {
        tasks.spawn(replicaset::run(ctx.clone(), config.resync));
    }
    if on("deployment") {
        tasks.spawn(deployment::run(ctx.clone(), config.resync));
    }
    if on("daemonset") {
        tasks.spawn(daemonset::run(ctx.clone(), config.resync));
    }
    if on("job") {
        tasks.spawn(job::run(ctx.clone(), config.resync));
    }
    if on("statefulset") {
        tasks.spawn(statefulset::run(ctx.clone(), config.resync));
    }
    if on("cronjob") {
        tasks.spawn(cronjob::run(ctx.clone(), config.resync));
    }
    if on("partitioner") {
        tasks.spawn(super::partitioner::run(ctx.clone()));
    }
    if on("node-lifecycle") {
        tasks.spawn(node_lifecycle::run(ctx.clone(), config.clone()));
    }
    tracing::info!(term, controllers = %config.controllers, "scheduler and controllers running");
    token.cancelled().await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(())
}
