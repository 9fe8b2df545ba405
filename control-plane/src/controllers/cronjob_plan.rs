//! The CronJob controller's decision (pure, driven by an explicit clock). Like Kubernetes'
//! CronJob controller:
//! - the schedule's times since `status.lastScheduleTime` (or the CronJob's creation) up to now
//!   are the missed ones; with `startingDeadlineSeconds` only those inside the deadline count.
//!   Only the most recent runs (at most one catch-up run, e.g. after a leader change); more than
//!   100 missed times is an event (`TooManyMissedTimes`) and no run;
//! - a due time whose deadline passed is an event (`MissSchedule`) and no run;
//! - the Job is `<name>-<scheduled time in minutes since the epoch>`, from `jobTemplate`, with a
//!   controller ownerReference; an existing Job of that name means the time already ran;
//! - `concurrencyPolicy`: `Allow` runs alongside active Jobs, `Forbid` skips the time while one
//!   is active, `Replace` deletes the active Jobs and runs;
//! - `suspend` stops new runs (status and history pruning go on);
//! - finished Jobs beyond `successfulJobsHistoryLimit` (3) / `failedJobsHistoryLimit` (1) are
//!   deleted, oldest first;
//! - status: `active` (unfinished owned Jobs), `lastScheduleTime`, `lastSuccessfulTime`.

use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job, JobStatus};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use super::controller_ref::{controller_ref, is_controlled_by};
use super::cron_schedule::{time_zone, CronSchedule};

/// The annotation Kubernetes puts on a CronJob's Job: the scheduled time (RFC 3339).
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// More missed times than this and nothing runs.
pub const MAX_MISSED: usize = 100;

/// An event the plan wants recorded: (Warning?, reason, message).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CronJobPlan {
    pub create: Option<Job>,
    /// Active Jobs to delete (Replace).
    pub replace: Vec<Job>,
    /// Finished Jobs beyond the history limits.
    pub prune: Vec<Job>,
    pub status: Option<CronJobStatus>,
    pub events: Vec<PlanEvent>,
    /// When to look again (the next scheduled time).
    pub requeue_at: Option<Timestamp>,
}

fn finished(job: &Job) -> Option<bool> {
    let conds = job.status.as_ref()?.conditions.as_ref()?;
    for c in conds.iter().filter(|c| c.status == "True") {
        match c.type_.as_str() {
            "Complete" => return Some(true),
            "Failed" => return Some(false),
            _ => {}
        }
    }
    None
}

fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..Default::default()
    }
}

fn finish_time(job: &Job) -> Option<Timestamp> {
    let s: &JobStatus = job.status.as_ref()?;
    s.completion_time
        .as_ref()
        .or(job.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
}

/// The Job for the time `scheduled`.
pub fn new_job(cj: &CronJob, scheduled: Timestamp) -> Job {
    let name = cj.metadata.name.clone().unwrap_or_default();
    let template = cj
        .spec
        .as_ref()
        .map(|s| s.job_template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut annotations = tmeta.annotations.unwrap_or_default();
    annotations.insert(SCHEDULED_TIMESTAMP.into(), scheduled.to_string());
    Job {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{}", scheduled.as_second().div_euclid(60))),
            namespace: cj.metadata.namespace.clone(),
            labels: tmeta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![controller_ref("batch/v1", "CronJob", &cj.metadata)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// Plans one reconcile of `cj` at `now`; `jobs` are the Jobs of its namespace (unfiltered).
pub fn plan_cronjob(cj: &CronJob, jobs: &[Job], now: Timestamp) -> CronJobPlan {
    let mut plan = CronJobPlan::default();
    let uid = cj.metadata.uid.as_deref().unwrap_or_default();
    let name = cj.metadata.name.as_deref().unwrap_or_default();
    let spec = cj.spec.clone().unwrap_or_default();
    let old = cj.status.clone().unwrap_or_default();
    let owned: Vec<&Job> = jobs
        .iter()
        .filter(|j| is_controlled_by(&j.metadata, uid))
        .collect();
    let mut active: Vec<&Job> = owned
        .iter()
        .copied()
        .filter(|j| finished(j).is_none() && j.metadata.deletion_timestamp.is_none())
        .collect();

    // History: successful and failed Jobs beyond their limits, oldest first.
    for (ok, limit) in [
        (true, spec.successful_jobs_history_limit.unwrap_or(3)),
        (false, spec.failed_jobs_history_limit.unwrap_or(1)),
    ] {
        let mut done: Vec<&Job> = owned
            .iter()
            .copied()
            .filter(|j| finished(j) == Some(ok) && j.metadata.deletion_timestamp.is_none())
            .collect();
        done.sort_by_key(|j| (finish_time(j), j.metadata.name.clone()));
        let excess = done.len().saturating_sub(limit.max(0) as usize);
        plan.prune.extend(done[..excess].iter().copied().cloned());
    }
    let last_successful = owned
        .iter()
        .filter(|j| finished(j) == Some(true))
        .filter_map(|j| j.status.as_ref()?.completion_time.clone())
        .chain(old.last_successful_time.clone())
        .max_by_key(|t| t.0);
    let mut last_schedule = old.last_schedule_time.clone();

    let suspended = spec.suspend == Some(true) || cj.metadata.deletion_timestamp.is_some();
    let parsed = CronSchedule::parse(&spec.schedule)
        .map_err(|e| e.to_string())
        .and_then(|s| Ok((s, time_zone(spec.time_zone.as_deref())?)));
    match parsed {
        Err(e) => plan.events.push(PlanEvent {
            warning: true,
            reason: "UnparseableSchedule",
            message: format!("{e} ({:?})", spec.schedule),
        }),
        Ok(_) if suspended => {}
        Ok((schedule, tz)) => {
            let deadline = spec.starting_deadline_seconds;
            let mut earliest = last_schedule
                .as_ref()
                .or(cj.metadata.creation_timestamp.as_ref())
                .map(|t| t.0)
                .unwrap_or(now);
            if let Some(d) = deadline {
                let window = Timestamp::from_second(now.as_second() - d).unwrap_or(now);
                earliest = earliest.max(window);
            }
            // The missed times in (earliest, now]: count them, keep the most recent.
            let (mut missed, mut most_recent) = (0usize, None);
            let mut t = earliest;
            while let Some(next) = schedule.next_after(t, &tz).filter(|n| *n <= now) {
                missed += 1;
                most_recent = Some(next);
                t = next;
                if missed > MAX_MISSED {
                    break;
                }
            }
            plan.requeue_at = schedule.next_after(now, &tz);
            if missed > MAX_MISSED {
                plan.events.push(PlanEvent {
                    warning: true,
                    reason: "TooManyMissedTimes",
                    message: format!(
                        "too many missed start times (> {MAX_MISSED}); set or decrease \
                         .spec.startingDeadlineSeconds or check clock skew"
                    ),
                });
            } else if let Some(scheduled) = most_recent {
                let too_late =
                    deadline.is_some_and(|d| scheduled.as_second() + d < now.as_second());
                let job = new_job(cj, scheduled);
                let exists = jobs.iter().any(|j| j.metadata.name == job.metadata.name);
                let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
                if too_late {
                    plan.events.push(PlanEvent {
                        warning: true,
                        reason: "MissSchedule",
                        message: format!("missed scheduled time to start a job: {scheduled}"),
                    });
                } else if exists {
                    // Already ran (or a Job of that name is in the way); nothing to do.
                } else if policy == "Forbid" && !active.is_empty() {
                    plan.events.push(PlanEvent {
                        warning: false,
                        reason: "JobAlreadyActive",
                        message: format!("not starting job for {name} at {scheduled}: one is still active (Forbid)"),
                    });
                    // Look again when the active Job finishes (it wakes the CronJob) or soon.
                    plan.requeue_at =
                        Some(Timestamp::from_second(now.as_second() + 10).unwrap_or(now));
                } else {
                    if policy == "Replace" {
                        plan.replace = active.iter().copied().cloned().collect();
                        active.clear();
                    }
                    plan.events.push(PlanEvent {
                        warning: false,
                        reason: "SuccessfulCreate",
                        message: format!(
                            "Created job {}",
                            job.metadata.name.as_deref().unwrap_or_default()
                        ),
                    });
                    plan.create = Some(job);
                    last_schedule = Some(Time(scheduled));
                }
            }
        }
    }

    let mut refs: Vec<ObjectReference> = active.iter().map(|j| job_ref(j)).collect();
    refs.sort_by(|a, b| a.name.cmp(&b.name));
    let status = CronJobStatus {
        active: (!refs.is_empty()).then_some(refs),
        last_schedule_time: last_schedule,
        last_successful_time: last_successful,
    };
    if cj.status.as_ref().unwrap_or(&CronJobStatus::default()) != &status {
        plan.status = Some(status);
    }
    plan
}

#[cfg(test)]
#[path = "cronjob_plan_tests.rs"]
mod tests;
