//! The Job controller: the reconciler shell around [`plan_job`], plus `ttlSecondsAfterFinished`
//! (a finished Job is deleted, with its pods in the background, that long after it finished).
//! Pod changes wake the Job that controls the pod.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use crate::objects::{KindId, PropagationPolicy};
use crate::registry::create::unix_now;

use super::context::{ControllerContext, Write};
use super::events::{event, EventType, InvolvedObject};
use super::informer::{InformerEvent, ObjectRef};
use super::job_plan::{is_finished, plan_job};
use super::reconciler::{run_reconciler, Action, ReconcileError, Reconciler};
use super::replicaset::controller_key;
use super::work_queue::WorkQueue;

const COMPONENT: &str = "job-controller";

/// When a finished Job finished (its Complete or Failed condition's transition), in seconds.
fn finished_at(job: &Job) -> Option<i64> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .filter(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .filter_map(|c| c.last_transition_time.as_ref())
        .map(|t| t.0.as_second())
        .min()
}

pub struct JobController {
    ctx: ControllerContext,
}

impl Reconciler for JobController {
    fn name(&self) -> &'static str {
        "job"
    }

    async fn reconcile(&self, key: &ObjectRef) -> Result<Action, ReconcileError> {
        let informers = &self.ctx.informers;
        let Some(job) = informers.jobs.get(key) else {
            return Ok(Action::Done);
        };
        if job.metadata.deletion_timestamp.is_some() {
            return Ok(Action::Done);
        }
        let now = unix_now();
        if is_finished(&job) {
            let ttl = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished);
            if let (Some(ttl), Some(at)) = (ttl, finished_at(&job)) {
                let left = at + i64::from(ttl) - now.as_second();
                if left > 0 {
                    return Ok(Action::RequeueAfter(Duration::from_secs(left as u64)));
                }
                self.ctx
                    .write(vec![Write::delete(
                        KindId::Job,
                        &job.metadata,
                        Some(PropagationPolicy::Background),
                    )])
                    .await?;
                return Ok(Action::Done);
            }
        }
        let pods: Vec<Pod> = informers
            .pods
            .list_namespace(&key.namespace)
            .iter()
            .map(|p| Pod::clone(p))
            .collect();
        let plan = plan_job(&job, &pods, now);
        let mut writes = Vec::new();
        for pod in &plan.create {
            writes.push(Write::create(pod)?);
        }
        for pod in &plan.delete {
            writes.push(Write::delete(KindId::Pod, &pod.metadata, None));
        }
        let created = plan.create.len();
        if let Some(e) = self.ctx.write_each(writes, 100).await?.into_iter().next() {
            return Err(e);
        }
        let about = InvolvedObject {
            api_version: "batch/v1",
            kind: "Job",
            namespace: &key.namespace,
            name: &key.name,
            uid: job.metadata.uid.as_deref().unwrap_or_default(),
        };
        let mut notes = Vec::new();
        if created > 0 {
            notes.push((
                EventType::Normal,
                "SuccessfulCreate".to_string(),
                format!("Created {created} pod(s)"),
            ));
        }
        if let Some(status) = &plan.status {
            let was = job
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .map_or(0, |c| c.len());
            for c in status.conditions.iter().flatten().skip(was) {
                let kind = if c.type_ == "Failed" {
                    EventType::Warning
                } else {
                    EventType::Normal
                };
                notes.push((
                    kind,
                    c.reason.clone().unwrap_or_else(|| c.type_.clone()),
                    c.message.clone().unwrap_or_default(),
                ));
            }
            let mut updated = Job::clone(&job);
            updated.status = Some(status.clone());
            self.ctx
                .write(vec![Write::update_status(&updated)?])
                .await?;
        }
        for (kind, reason, message) in notes {
            let note = event(&about, kind, &reason, &message, COMPONENT);
            if let Err(e) = self.ctx.write(vec![Write::Create(note)]).await {
                tracing::debug!(error = %e, "recording a Job event failed");
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
            .jobs
            .list()
            .iter()
            .map(|j| ObjectRef::of(&j.metadata))
            .collect()
    }
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, resync: Duration) {
    let queue: WorkQueue<ObjectRef> = WorkQueue::new();
    {
        let q = queue.clone();
        ctx.informers.jobs.on_change(move |c| {
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
            if let Some(key) = controller_key(&pod.metadata, "Job") {
                q.add(key);
            }
        });
    }
    let token = ctx.token.clone();
    let controller = Arc::new(JobController { ctx });
    run_reconciler(controller, queue, 2, resync, token).await;
}
