//! The Deployment controller: the reconciler shell around [`plan_deployment`]. One reconcile
//! creates the new ReplicaSet, rescales or annotates existing ones, deletes history beyond the
//! limit and writes the status — each step a fenced compare-and-swap, so a reconcile decided on
//! a stale view fails and is retried on the fresh one. ReplicaSet and pod changes wake the
//! Deployment that controls them.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use crate::objects::KindId;
use crate::registry::create::unix_now;

use super::context::{ControllerContext, Informers, Write};
use super::deployment_plan::plan_deployment;
use super::events::{event, EventType, InvolvedObject};
use super::informer::{InformerEvent, ObjectRef};
use super::reconciler::{run_reconciler, Action, ReconcileError, Reconciler};
use super::replicaset::controller_key;
use super::work_queue::WorkQueue;

const COMPONENT: &str = "deployment-controller";

pub struct DeploymentController {
    ctx: ControllerContext,
}

fn namespace_state(informers: &Informers, namespace: &str) -> (Vec<ReplicaSet>, Vec<Pod>) {
    let replicasets = informers
        .replicasets
        .list_namespace(namespace)
        .iter()
        .map(|r| ReplicaSet::clone(r))
        .collect();
    let pods = informers
        .pods
        .list_namespace(namespace)
        .iter()
        .map(|p| Pod::clone(p))
        .collect();
    (replicasets, pods)
}

fn replicas_of(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

impl Reconciler for DeploymentController {
    fn name(&self) -> &'static str {
        "deployment"
    }

    async fn reconcile(&self, key: &ObjectRef) -> Result<Action, ReconcileError> {
        let informers = &self.ctx.informers;
        let Some(deployment) = informers.deployments.get(key) else {
            return Ok(Action::Done);
        };
        let (replicasets, pods) = namespace_state(informers, &key.namespace);
        let plan = plan_deployment(&deployment, &replicasets, &pods, unix_now());
        let about = InvolvedObject {
            api_version: "apps/v1",
            kind: "Deployment",
            namespace: &key.namespace,
            name: &key.name,
            uid: deployment.metadata.uid.as_deref().unwrap_or_default(),
        };
        let mut notes = Vec::new();
        let mut writes = Vec::new();
        if let Some(rs) = &plan.create_replicaset {
            writes.push(Write::create(rs)?);
            notes.push(format!(
                "Scaled up replica set {} to {}",
                rs.metadata.name.as_deref().unwrap_or_default(),
                replicas_of(rs)
            ));
        }
        for rs in &plan.update_replicasets {
            let before = replicasets
                .iter()
                .find(|r| r.metadata.uid == rs.metadata.uid)
                .map(replicas_of);
            let after = replicas_of(rs);
            if let Some(before) = before.filter(|b| *b != after) {
                let verb = if after > before { "up" } else { "down" };
                notes.push(format!(
                    "Scaled {verb} replica set {} from {before} to {after}",
                    rs.metadata.name.as_deref().unwrap_or_default()
                ));
            }
            writes.push(Write::update(rs)?);
        }
        for rs in &plan.delete_replicasets {
            writes.push(Write::delete(KindId::ReplicaSet, &rs.metadata, None));
        }
        // The ReplicaSet changes commit together: a rollout step is all or nothing.
        self.ctx.write(writes).await?;
        for message in notes {
            let note = event(
                &about,
                EventType::Normal,
                "ScalingReplicaSet",
                &message,
                COMPONENT,
            );
            if let Err(e) = self.ctx.write(vec![Write::Create(note)]).await {
                tracing::debug!(error = %e, "recording a Deployment event failed");
            }
        }
        if let Some(status) = plan.status {
            if let Some(fresh) = informers.deployments.get(key) {
                let mut updated = Deployment::clone(&fresh);
                updated.status = Some(status);
                self.ctx
                    .write(vec![Write::update_status(&updated)?])
                    .await?;
            }
        }
        Ok(match plan.requeue_after_seconds {
            Some(s) => Action::RequeueAfter(Duration::from_secs(u64::from(s.max(1)))),
            None => Action::Done,
        })
    }

    fn all_keys(&self) -> Vec<ObjectRef> {
        self.ctx
            .informers
            .deployments
            .list()
            .iter()
            .map(|d| ObjectRef::of(&d.metadata))
            .collect()
    }
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, resync: Duration) {
    let queue: WorkQueue<ObjectRef> = WorkQueue::new();
    {
        let q = queue.clone();
        ctx.informers.deployments.on_change(move |c| {
            if let InformerEvent::Applied { new, .. } = c {
                q.add(ObjectRef::of(&new.metadata));
            }
        });
    }
    {
        let q = queue.clone();
        ctx.informers.replicasets.on_change(move |c| {
            let (old, new) = match c {
                InformerEvent::Applied { old, new } => (old.as_deref(), Some(new.as_ref())),
                InformerEvent::Deleted(r) => (Some(r.as_ref()), None),
            };
            for rs in [old, new].into_iter().flatten() {
                if let Some(key) = controller_key(&rs.metadata, "Deployment") {
                    q.add(key);
                }
            }
        });
    }
    {
        // A pod's readiness moves its Deployment's availability: wake the Deployment that
        // controls the pod's ReplicaSet.
        let (q, replicasets) = (queue.clone(), ctx.informers.replicasets.clone());
        ctx.informers.pods.on_change(move |c| {
            let pod = match c {
                InformerEvent::Applied { new, .. } => new,
                InformerEvent::Deleted(p) => p,
            };
            let Some(rs_key) = controller_key(&pod.metadata, "ReplicaSet") else {
                return;
            };
            if let Some(rs) = replicasets.get(&rs_key) {
                if let Some(key) = controller_key(&rs.metadata, "Deployment") {
                    q.add(key);
                }
            }
        });
    }
    let token = ctx.token.clone();
    let controller = Arc::new(DeploymentController { ctx });
    run_reconciler(controller, queue, 4, resync, token).await;
}
