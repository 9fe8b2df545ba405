//! The StatefulSet controller: the reconciler shell around [`plan_statefulset`]. Pod changes
//! wake the StatefulSet that controls the pod. PersistentVolumeClaims from
//! `volumeClaimTemplates` are created before the pod that uses them; one that exists already
//! is kept (the create's AlreadyExists is the "once"). No storage is provisioned or bound.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use crate::objects::KindId;
use crate::registry::create::unix_now;
use crate::registry::RegistryError;

use super::context::{ControllerContext, Write};
use super::events::{event, EventType, InvolvedObject};
use super::informer::{InformerEvent, ObjectRef};
use super::reconciler::{run_reconciler, Action, ReconcileError, Reconciler};
use super::replicaset::controller_key;
use super::statefulset_plan::plan_statefulset;
use super::work_queue::WorkQueue;

const COMPONENT: &str = "statefulset-controller";

pub struct StatefulSetController {
    ctx: ControllerContext,
}

impl Reconciler for StatefulSetController {
    fn name(&self) -> &'static str {
        "statefulset"
    }

    async fn reconcile(&self, key: &ObjectRef) -> Result<Action, ReconcileError> {
        let informers = &self.ctx.informers;
        let Some(set) = informers.statefulsets.get(key) else {
            return Ok(Action::Done);
        };
        if set.metadata.deletion_timestamp.is_some() {
            return Ok(Action::Done);
        }
        let pods: Vec<Pod> = informers
            .pods
            .list_namespace(&key.namespace)
            .iter()
            .map(|p| Pod::clone(p))
            .collect();
        // Claims are not cached: every claim a new pod needs is created, and one that exists
        // already answers AlreadyExists, which is what "create once" means here.
        let plan = plan_statefulset(&set, &pods, Some(&BTreeSet::new()), unix_now());
        let claims: Vec<Write> = plan
            .create_claims
            .iter()
            .map(Write::create)
            .collect::<Result<_, _>>()?;
        for e in self.ctx.write_each(claims, 50).await? {
            if !matches!(e, ReconcileError::Registry(RegistryError::AlreadyExists(_))) {
                return Err(e);
            }
        }
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
                kind: "StatefulSet",
                namespace: &key.namespace,
                name: &key.name,
                uid: set.metadata.uid.as_deref().unwrap_or_default(),
            };
            let names = |pods: &[Pod]| {
                pods.iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (reason, message) = if created > 0 {
                (
                    "SuccessfulCreate",
                    format!("create Pod {}", names(&plan.create)),
                )
            } else {
                (
                    "SuccessfulDelete",
                    format!("delete Pod {}", names(&plan.delete)),
                )
            };
            let note = event(&about, EventType::Normal, reason, &message, COMPONENT);
            if let Err(e) = self.ctx.write(vec![Write::Create(note)]).await {
                tracing::debug!(error = %e, "recording a StatefulSet event failed");
            }
        }
        if let Some(e) = failed.into_iter().next() {
            return Err(e);
        }
        if let Some(status) = plan.status {
            let mut updated = StatefulSet::clone(&set);
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
            .statefulsets
            .list()
            .iter()
            .map(|s| ObjectRef::of(&s.metadata))
            .collect()
    }
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, resync: Duration) {
    let queue: WorkQueue<ObjectRef> = WorkQueue::new();
    {
        let q = queue.clone();
        ctx.informers.statefulsets.on_change(move |c| {
            if let InformerEvent::Applied { new, .. } = c {
                q.add(ObjectRef::of(&new.metadata));
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
            if let Some(key) = controller_key(&pod.metadata, "StatefulSet") {
                q.add(key);
            }
        });
    }
    let token = ctx.token.clone();
    let controller = Arc::new(StatefulSetController { ctx });
    run_reconciler(controller, queue, 2, resync, token).await;
}
