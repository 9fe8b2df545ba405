//! The DaemonSet controller: the reconciler shell around [`plan_daemonset`]. Node changes wake
//! every DaemonSet (a node came, went, or changed labels or taints); pod changes wake the
//! DaemonSet that controls the pod.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};

use crate::objects::KindId;

use super::context::{ControllerContext, Write};
use super::daemonset_plan::plan_daemonset;
use super::events::{event, EventType, InvolvedObject};
use super::informer::{InformerEvent, ObjectRef};
use super::reconciler::{run_reconciler, Action, ReconcileError, Reconciler};
use super::replicaset::controller_key;
use super::work_queue::WorkQueue;

const COMPONENT: &str = "daemonset-controller";

pub struct DaemonSetController {
    ctx: ControllerContext,
}

impl Reconciler for DaemonSetController {
    fn name(&self) -> &'static str {
        "daemonset"
    }

    async fn reconcile(&self, key: &ObjectRef) -> Result<Action, ReconcileError> {
        let informers = &self.ctx.informers;
        let Some(ds) = informers.daemonsets.get(key) else {
            return Ok(Action::Done);
        };
        let nodes: Vec<Node> = informers
            .nodes
            .list()
            .iter()
            .map(|n| Node::clone(n))
            .collect();
        let pods: Vec<Pod> = informers
            .pods
            .list_namespace(&key.namespace)
            .iter()
            .map(|p| Pod::clone(p))
            .collect();
        let plan = plan_daemonset(&ds, &nodes, &pods);
        let (created, deleted) = (plan.create.len(), plan.delete.len());
        let mut writes = Vec::new();
        for pod in &plan.create {
            writes.push(Write::create(pod)?);
        }
        for pod in &plan.delete {
            writes.push(Write::delete(KindId::Pod, &pod.metadata, None));
        }
        let failed = self.ctx.write_each(writes, 100).await?;
        if created + deleted > 0 {
            let about = InvolvedObject {
                api_version: "apps/v1",
                kind: "DaemonSet",
                namespace: &key.namespace,
                name: &key.name,
                uid: ds.metadata.uid.as_deref().unwrap_or_default(),
            };
            let (reason, message) = if created > 0 {
                ("SuccessfulCreate", format!("Created {created} pod(s)"))
            } else {
                ("SuccessfulDelete", format!("Deleted {deleted} pod(s)"))
            };
            let note = event(&about, EventType::Normal, reason, &message, COMPONENT);
            if let Err(e) = self.ctx.write(vec![Write::Create(note)]).await {
                tracing::debug!(error = %e, "recording a DaemonSet event failed");
            }
        }
        if let Some(e) = failed.into_iter().next() {
            return Err(e);
        }
        if let Some(status) = plan.status {
            let mut updated = DaemonSet::clone(&ds);
            updated.status = Some(status);
            self.ctx
                .write(vec![Write::update_status(&updated)?])
                .await?;
        }
        Ok(Action::Done)
    }

    fn all_keys(&self) -> Vec<ObjectRef> {
        self.ctx
            .informers
            .daemonsets
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
        ctx.informers.daemonsets.on_change(move |c| {
            if let InformerEvent::Applied { new, .. } = c {
                q.add(ObjectRef::of(&new.metadata));
            }
        });
    }
    {
        let (q, daemonsets) = (queue.clone(), ctx.informers.daemonsets.clone());
        ctx.informers.nodes.on_change(move |c| {
            let relevant = match c {
                InformerEvent::Applied {
                    old: Some(old),
                    new,
                } => old.metadata.labels != new.metadata.labels || old.spec != new.spec,
                _ => true,
            };
            if relevant {
                for ds in daemonsets.list() {
                    q.add(ObjectRef::of(&ds.metadata));
                }
            }
        });
    }
    {
        let q = queue.clone();
        ctx.informers.pods.on_change(move |c| {
            let pod = match c {
                InformerEvent::Applied { new, .. } => new,
                InformerEvent::Deleted(p) => p,
            };
            if let Some(key) = controller_key(&pod.metadata, "DaemonSet") {
                q.add(key);
            }
        });
    }
    let token = ctx.token.clone();
    let controller = Arc::new(DaemonSetController { ctx });
    run_reconciler(controller, queue, 2, resync, token).await;
}
