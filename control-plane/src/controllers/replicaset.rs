//! The ReplicaSet controller: the reconciler shell around [`plan_replicaset`]. It creates and
//! deletes pods (deletes carry the pod's uid as a precondition) and writes the status, then
//! records one event per reconcile that changed the pod count. Pod changes wake the ReplicaSet
//! that controls the pod.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;

use crate::objects::KindId;
use crate::registry::create::unix_now;

use super::context::{ControllerContext, Write};
use super::events::{event, EventType, InvolvedObject};
use super::informer::{InformerEvent, ObjectRef};
use super::reconciler::{run_reconciler, Action, ReconcileError, Reconciler};
use super::replicaset_plan::{plan_replicaset, replicaset_requeue_after};
use super::work_queue::WorkQueue;

const COMPONENT: &str = "replicaset-controller";
/// Pod creations or deletions per log entry.
const WRITES_PER_BATCH: usize = 100;

/// The key of the object's controller of kind `kind`, from its controller ownerReference.
pub fn controller_key(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    kind: &str,
) -> Option<ObjectRef> {
    let r = meta
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true) && r.kind == kind)?;
    Some(ObjectRef::new(
        meta.namespace.clone().unwrap_or_default(),
        r.name.clone(),
    ))
}

pub struct ReplicaSetController {
    ctx: ControllerContext,
}

impl Reconciler for ReplicaSetController {
    fn name(&self) -> &'static str {
        "replicaset"
    }

    async fn reconcile(&self, key: &ObjectRef) -> Result<Action, ReconcileError> {
        let informers = &self.ctx.informers;
        let Some(rs) = informers.replicasets.get(key) else {
            return Ok(Action::Done);
        };
        let pods: Vec<Pod> = informers
            .pods
            .list_namespace(&key.namespace)
            .iter()
            .map(|p| Pod::clone(p))
            .collect();
        let now = unix_now();
        let plan = plan_replicaset(&rs, &pods, now);
        let (created, deleted) = (plan.create.len(), plan.delete.len());
        let mut writes = Vec::with_capacity(created + deleted);
        for pod in &plan.create {
            writes.push(Write::create(pod)?);
        }
        for pod in &plan.delete {
            writes.push(Write::delete(KindId::Pod, &pod.metadata, None));
        }
        let failed = self.ctx.write_each(writes, WRITES_PER_BATCH).await?;
        if created + deleted > 0 {
            let about = InvolvedObject {
                api_version: "apps/v1",
                kind: "ReplicaSet",
                namespace: &key.namespace,
                name: &key.name,
                uid: rs.metadata.uid.as_deref().unwrap_or_default(),
            };
            let (reason, message) = if created > 0 {
                (
                    "SuccessfulCreate",
                    format!("Created {} pod(s)", created - failed.len().min(created)),
                )
            } else {
                (
                    "SuccessfulDelete",
                    format!("Deleted {} pod(s)", deleted - failed.len().min(deleted)),
                )
            };
            let note = event(&about, EventType::Normal, reason, &message, COMPONENT);
            if let Err(e) = self.ctx.write(vec![Write::Create(note)]).await {
                tracing::debug!(error = %e, "recording a ReplicaSet event failed");
            }
        }
        if let Some(e) = failed.into_iter().next() {
            return Err(e);
        }
        // Status from the state after the writes above.
        if plan.status.is_some() || created + deleted > 0 {
            if let Some(fresh) = informers.replicasets.get(key) {
                let pods: Vec<Pod> = informers
                    .pods
                    .list_namespace(&key.namespace)
                    .iter()
                    .map(|p| Pod::clone(p))
                    .collect();
                let replan = plan_replicaset(&fresh, &pods, now);
                if let Some(status) = replan.status {
                    let mut updated = ReplicaSet::clone(&fresh);
                    updated.status = Some(status);
                    self.ctx
                        .write(vec![Write::update_status(&updated)?])
                        .await?;
                }
            }
        }
        Ok(match replicaset_requeue_after(&rs, &pods, now) {
            Some(s) => Action::RequeueAfter(Duration::from_secs(u64::from(s.max(1)))),
            None => Action::Done,
        })
    }

    fn all_keys(&self) -> Vec<ObjectRef> {
        self.ctx
            .informers
            .replicasets
            .list()
            .iter()
            .map(|rs| ObjectRef::of(&rs.metadata))
            .collect()
    }
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, resync: Duration) {
    let queue: WorkQueue<ObjectRef> = WorkQueue::new();
    {
        let q = queue.clone();
        ctx.informers.replicasets.on_change(move |c| {
            if let InformerEvent::Applied { new, .. } = c {
                q.add(ObjectRef::of(&new.metadata));
            }
        });
    }
    {
        let q = queue.clone();
        ctx.informers.pods.on_change(move |c| {
            let (old, new) = match c {
                InformerEvent::Applied { old, new } => (old.as_deref(), Some(new.as_ref())),
                InformerEvent::Deleted(p) => (Some(p.as_ref()), None),
            };
            for pod in [old, new].into_iter().flatten() {
                if let Some(key) = controller_key(&pod.metadata, "ReplicaSet") {
                    q.add(key);
                }
            }
        });
    }
    let token = ctx.token.clone();
    let controller = Arc::new(ReplicaSetController { ctx });
    run_reconciler(controller, queue, 4, resync, token).await;
}
