//! The scheduling loop: the IO shell around the pure scheduler. Each round takes the pending
//! pods (no `spec.nodeName`, not terminating, for the default scheduler) from the informer
//! cache, plans them on a [`ClusterView`] built from the same cache, and commits the bindings in
//! batches fenced by the term (each binding is a compare-and-swap on the pod's resourceVersion).
//! Pods that fit nowhere get PodScheduled=False with kube-scheduler's message and a
//! FailedScheduling event, and are tried again when the cluster changes (a node changes, or a
//! bound pod goes away), or every [`RETRY_UNSCHEDULABLE`] anyway.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::registry::create::now;
use crate::scheduler::{
    mark_unschedulable, ClusterView, Decision, PodInfo, Scheduler, SchedulerConfig,
};

use super::context::{ControllerContext, Write};
use super::events::{event, EventType, InvolvedObject};
use super::informer::InformerEvent;

/// Bindings per log entry.
const BINDINGS_PER_BATCH: usize = 1000;
/// Unschedulable pods are tried again at least this often.
const RETRY_UNSCHEDULABLE: Duration = Duration::from_secs(5);
/// The loop wakes at least this often.
const IDLE_WAKE: Duration = Duration::from_secs(1);
/// Schedulers whose pods this one places.
const SCHEDULER_NAMES: [&str; 2] = ["default-scheduler", "keel-scheduler"];
const COMPONENT: &str = "default-scheduler";

/// Whether `pod` waits for this scheduler.
pub fn is_pending(pod: &Pod) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let unbound = spec.node_name.as_deref().unwrap_or_default().is_empty();
    let ours = spec
        .scheduler_name
        .as_deref()
        .is_none_or(|n| SCHEDULER_NAMES.contains(&n));
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    let finished = matches!(phase, Some("Succeeded") | Some("Failed"));
    unbound && ours && !finished && pod.metadata.deletion_timestamp.is_none()
}

fn holds_resources(pod: &Pod) -> bool {
    let bound = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    bound && !matches!(phase, Some("Succeeded") | Some("Failed"))
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, config: SchedulerConfig) {
    let wake = Arc::new(Notify::new());
    // Bumped whenever capacity may have appeared: unschedulable pods are worth another try.
    let cluster_generation = Arc::new(AtomicU64::new(0));
    {
        let (wake, generation) = (wake.clone(), cluster_generation.clone());
        ctx.informers.pods.on_change(move |change| {
            let freed = match change {
                InformerEvent::Deleted(pod) => holds_resources(pod),
                InformerEvent::Applied { old, new } => {
                    old.as_deref().is_some_and(holds_resources) && !holds_resources(new)
                }
            };
            if freed {
                generation.fetch_add(1, Ordering::Relaxed);
                wake.notify_one();
            } else if let InformerEvent::Applied { new, .. } = change {
                if is_pending(new) {
                    wake.notify_one();
                }
            }
        });
    }
    {
        let (wake, generation) = (wake.clone(), cluster_generation.clone());
        ctx.informers.nodes.on_change(move |change| {
            // A node's status heartbeat changes nothing the scheduler reads; spec, labels,
            // allocatable and conditions do.
            let relevant = match change {
                InformerEvent::Applied {
                    old: Some(old),
                    new,
                } => {
                    old.spec != new.spec
                        || old.metadata.labels != new.metadata.labels
                        || old.status.as_ref().map(|s| {
                            (
                                &s.allocatable,
                                s.conditions.as_ref().map(|c| {
                                    c.iter().map(|c| (&c.type_, &c.status)).collect::<Vec<_>>()
                                }),
                            )
                        }) != new.status.as_ref().map(|s| {
                            (
                                &s.allocatable,
                                s.conditions.as_ref().map(|c| {
                                    c.iter().map(|c| (&c.type_, &c.status)).collect::<Vec<_>>()
                                }),
                            )
                        })
                }
                _ => true,
            };
            if relevant {
                generation.fetch_add(1, Ordering::Relaxed);
                wake.notify_one();
            }
        });
    }
    let mut scheduler = Scheduler::new(config);
    // uid → (cluster generation, time) of the pod's last unschedulable verdict.
    let mut parked: HashMap<String, (u64, Instant)> = HashMap::new();
    loop {
        tokio::select! {
            _ = ctx.token.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(IDLE_WAKE) => {}
        }
        let generation = cluster_generation.load(Ordering::Relaxed);
        match round(&ctx, &mut scheduler, &mut parked, generation).await {
            Ok(()) => {}
            Err(e) if e.is_fenced() => return,
            Err(e) => tracing::warn!(error = %e, "scheduling round failed; will retry"),
        }
    }
}

async fn round(
    ctx: &ControllerContext,
    scheduler: &mut Scheduler,
    parked: &mut HashMap<String, (u64, Instant)>,
    generation: u64,
) -> Result<(), super::ReconcileError> {
    let started = Instant::now();
    let pods = ctx.informers.pods.list();
    let metrics = crate::metrics::global();
    metrics
        .scheduler_pending_pods
        .set(pods.iter().filter(|p| is_pending(p)).count() as i64);
    let mut pending: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| is_pending(p))
        .filter(|p| {
            let uid = p.metadata.uid.as_deref().unwrap_or_default();
            match parked.get(uid) {
                Some((g, at)) => *g != generation || at.elapsed() >= RETRY_UNSCHEDULABLE,
                None => true,
            }
        })
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    // Oldest first, as kube's FIFO without priorities.
    pending.sort_by(|a, b| {
        a.metadata
            .creation_timestamp
            .cmp(&b.metadata.creation_timestamp)
    });
    let nodes = ctx.informers.nodes.list();
    let mut view = ClusterView::build(
        nodes.iter().map(|n| n.as_ref()),
        pods.iter().map(|p| p.as_ref()),
    );
    let infos: Vec<Arc<PodInfo>> = pending
        .iter()
        .map(|p| Arc::new(PodInfo::from_pod(p)))
        .collect();
    let by_key: HashMap<_, &Arc<Pod>> = infos
        .iter()
        .zip(pending.iter())
        .map(|(info, pod)| (info.key.clone(), *pod))
        .collect();
    let plan = scheduler.plan(&mut view, &infos);
    let mut writes = Vec::with_capacity(plan.batch.len() + plan.unschedulable.len());
    for binding in plan.batch.bindings() {
        let Some(pod) = by_key.get(&binding.pod.key) else {
            continue;
        };
        let mut bound = Pod::clone(pod);
        if let Some(spec) = bound.spec.as_mut() {
            spec.node_name = Some(binding.node.clone());
        }
        writes.push(Write::update(&bound)?);
        parked.remove(pod.metadata.uid.as_deref().unwrap_or_default());
    }
    let bindings = writes.len();
    for (info, decision) in &plan.unschedulable {
        let (Some(pod), Decision::Unschedulable { message, .. }) =
            (by_key.get(&info.key), decision)
        else {
            continue;
        };
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        parked.insert(uid.clone(), (generation, Instant::now()));
        let mut marked = Pod::clone(pod);
        let status = marked.status.get_or_insert_with(Default::default);
        if mark_unschedulable(status, message, now()) {
            writes.push(Write::update_status(&marked)?);
            let about = InvolvedObject {
                api_version: "v1",
                kind: "Pod",
                namespace: info.key.namespace.as_str(),
                name: info.key.name.as_str(),
                uid: &uid,
            };
            writes.push(Write::Create(event(
                &about,
                EventType::Warning,
                "FailedScheduling",
                message,
                COMPONENT,
            )));
        }
    }
    if !parked.is_empty() {
        // Forget pods that are gone (a set: a scan of `pods` per parked pod is quadratic).
        let live: HashSet<&str> = pods
            .iter()
            .filter_map(|p| p.metadata.uid.as_deref())
            .collect();
        parked.retain(|uid, _| live.contains(uid.as_str()));
    }
    let failed = ctx.write_each(writes, BINDINGS_PER_BATCH).await?;
    // A failed write may have been a binding: count only what surely committed.
    metrics
        .scheduler_pods_bound
        .inc_by(bindings.saturating_sub(failed.len()) as u64);
    for e in &failed {
        tracing::warn!(error = %e, "a scheduling write failed; the next round retries");
    }
    tracing::debug!(
        bindings,
        unschedulable = plan.unschedulable.len(),
        failed = failed.len(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "scheduling round"
    );
    Ok(())
}
