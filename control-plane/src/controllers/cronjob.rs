//! The CronJob controller: the reconciler shell around [`plan_cronjob`]. A CronJob is looked at
//! again at its next scheduled time (a requeue), and whenever one of its Jobs changes. Jobs it
//! deletes (Replace, history pruning) go with background propagation, so their pods follow.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};

use crate::objects::{KindId, PropagationPolicy};
use crate::registry::create::unix_now;

use super::context::{ControllerContext, Write};
use super::cronjob_plan::plan_cronjob;
use super::events::{event, EventType, InvolvedObject};
use super::informer::{InformerEvent, ObjectRef};
use super::reconciler::{run_reconciler, Action, ReconcileError, Reconciler};
use super::replicaset::controller_key;
use super::work_queue::WorkQueue;

const COMPONENT: &str = "cronjob-controller";

pub struct CronJobController {
    ctx: ControllerContext,
}

impl Reconciler for CronJobController {
    fn name(&self) -> &'static str {
        "cronjob"
    }

    async fn reconcile(&self, key: &ObjectRef) -> Result<Action, ReconcileError> {
        let informers = &self.ctx.informers;
        let Some(cj) = informers.cronjobs.get(key) else {
            return Ok(Action::Done);
        };
        let jobs: Vec<Job> = informers
            .jobs
            .list_namespace(&key.namespace)
            .iter()
            .map(|j| Job::clone(j))
            .collect();
        let now = unix_now();
        let plan = plan_cronjob(&cj, &jobs, now);
        let mut deletes = Vec::new();
        for job in plan.replace.iter().chain(&plan.prune) {
            deletes.push(Write::delete(
                KindId::Job,
                &job.metadata,
                Some(PropagationPolicy::Background),
            ));
        }
        let failed = self.ctx.write_each(deletes, 50).await?;
        if let Some(job) = &plan.create {
            self.ctx.write(vec![Write::create(job)?]).await?;
        }
        let about = InvolvedObject {
            api_version: "batch/v1",
            kind: "CronJob",
            namespace: &key.namespace,
            name: &key.name,
            uid: cj.metadata.uid.as_deref().unwrap_or_default(),
        };
        for e in &plan.events {
            let kind = if e.warning {
                EventType::Warning
            } else {
                EventType::Normal
            };
            let note = event(&about, kind, e.reason, &e.message, COMPONENT);
            if let Err(err) = self.ctx.write(vec![Write::Create(note)]).await {
                tracing::debug!(error = %err, "recording a CronJob event failed");
            }
        }
        if let Some(e) = failed.into_iter().next() {
            return Err(e);
        }
        if let Some(status) = plan.status {
            let mut updated = CronJob::clone(&cj);
            updated.status = Some(status);
            self.ctx
                .write(vec![Write::update_status(&updated)?])
                .await?;
        }
        Ok(match plan.requeue_at {
            Some(at) => {
                let millis = (at.as_millisecond() - now.as_millisecond()).max(0) as u64;
                // A little after the time, so the clock has surely passed it.
                Action::RequeueAfter(Duration::from_millis(millis + 200))
            }
            None => Action::Done,
        })
    }

    fn all_keys(&self) -> Vec<ObjectRef> {
        self.ctx
            .informers
            .cronjobs
            .list()
            .iter()
            .map(|c| ObjectRef::of(&c.metadata))
            .collect()
    }
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, resync: Duration) {
    let queue: WorkQueue<ObjectRef> = WorkQueue::new();
    {
        let q = queue.clone();
        ctx.informers.cronjobs.on_change(move |c| {
            if let InformerEvent::Applied { new, .. } = c {
                q.add(ObjectRef::of(&new.metadata));
            }
        });
    }
    {
        let q = queue.clone();
        ctx.informers.jobs.on_change(move |c| {
            let job = match c {
                InformerEvent::Applied { new, .. } => new,
                InformerEvent::Deleted(j) => j,
            };
            if let Some(key) = controller_key(&job.metadata, "CronJob") {
                q.add(key);
            }
        });
    }
    let token = ctx.token.clone();
    let controller = Arc::new(CronJobController { ctx });
    run_reconciler(controller, queue, 2, resync, token).await;
}
