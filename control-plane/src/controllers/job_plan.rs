//! The Job controller's decision (pure): how many pods run at once (`parallelism`), when the Job
//! is complete (`completions` pods Succeeded; without `completions`, the first success), when it
//! has failed (more failed pods than `backoffLimit`, or `activeDeadlineSeconds` passed since it
//! started), and its status (active/succeeded/failed counts, startTime, completionTime,
//! Complete/Failed conditions). A finished Job stops its remaining pods.
//!
//! Left out (said here so nobody assumes it): the exponential delay before re-creating a failed
//! pod, indexed completion mode, pod failure policies, suspend, and success policies.

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use super::controller_ref::{controller_ref, is_controlled_by};
use super::pod_readiness::{is_pod_active, pod_phase};

/// The label Kubernetes puts on a Job's pods.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobPlan {
    pub create: Vec<Pod>,
    pub delete: Vec<Pod>,
    pub status: Option<JobStatus>,
    /// Seconds until `activeDeadlineSeconds` runs out (to check again then).
    pub requeue_after_seconds: Option<u32>,
}

fn condition_true(status: Option<&JobStatus>, type_: &str) -> bool {
    status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == type_ && c.status == "True"))
}

/// Whether the Job has finished (Complete or Failed).
pub fn is_finished(job: &Job) -> bool {
    condition_true(job.status.as_ref(), "Complete") || condition_true(job.status.as_ref(), "Failed")
}

fn condition(type_: &str, reason: &str, message: &str, now: &Time) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

fn new_pod(job: &Job) -> Pod {
    let template = job.spec.as_ref().map(|s| &s.template);
    let tmeta = template.and_then(|t| t.metadata.as_ref());
    let name = job.metadata.name.clone().unwrap_or_default();
    let mut labels = tmeta.and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert(JOB_NAME_LABEL.into(), name.clone());
    labels.insert("job-name".into(), name.clone());
    if let Some(uid) = &job.metadata.uid {
        labels.insert(CONTROLLER_UID_LABEL.into(), uid.clone());
    }
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tmeta.and_then(|m| m.annotations.clone()),
            owner_references: Some(vec![controller_ref("batch/v1", "Job", &job.metadata)]),
            ..Default::default()
        },
        spec: template.and_then(|t| t.spec.clone()),
        status: None,
    }
}

/// Plans one reconcile of `job`; `pods` are the pods of its namespace (unfiltered).
pub fn plan_job(job: &Job, pods: &[Pod], now: Timestamp) -> JobPlan {
    let now_time = Time(now);
    let uid = job.metadata.uid.as_deref().unwrap_or_default();
    let owned: Vec<&Pod> = pods
        .iter()
        .filter(|p| is_controlled_by(&p.metadata, uid))
        .collect();
    let active: Vec<&Pod> = owned.iter().copied().filter(|p| is_pod_active(p)).collect();
    let succeeded = owned.iter().filter(|p| pod_phase(p) == "Succeeded").count() as i32;
    let failed = owned.iter().filter(|p| pod_phase(p) == "Failed").count() as i32;
    let spec = job.spec.clone().unwrap_or_default();
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let backoff_limit = spec.backoff_limit.unwrap_or(6).max(0);
    let old = job.status.clone().unwrap_or_default();
    let mut status = JobStatus {
        active: Some(active.len() as i32),
        succeeded: Some(succeeded),
        failed: Some(failed),
        start_time: old.start_time.clone().or_else(|| Some(now_time.clone())),
        completion_time: old.completion_time.clone(),
        conditions: old.conditions.clone(),
        ready: Some(
            active
                .iter()
                .filter(|p| super::pod_readiness::is_pod_ready(p))
                .count() as i32,
        ),
        ..old.clone()
    };
    let mut plan = JobPlan::default();
    let finished = is_finished(job);
    let started_secs = status
        .start_time
        .as_ref()
        .map_or(now.as_second(), |t| t.0.as_second());
    let deadline = spec.active_deadline_seconds.map(|d| started_secs + d);
    let complete = match spec.completions {
        Some(c) => succeeded >= c,
        None => succeeded >= 1 && active.is_empty(),
    };
    if !finished {
        let failure = if failed > backoff_limit {
            Some((
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit".to_string(),
            ))
        } else if deadline.is_some_and(|d| now.as_second() >= d) {
            Some((
                "DeadlineExceeded",
                "Job was active longer than specified deadline".to_string(),
            ))
        } else {
            None
        };
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        if let Some((reason, message)) = failure {
            conditions.push(condition("Failed", reason, &message, &now_time));
            plan.delete = active.iter().map(|p| (*p).clone()).collect();
        } else if complete {
            conditions.push(condition(
                "Complete",
                "Completed",
                "Job completed",
                &now_time,
            ));
            status.completion_time = Some(now_time.clone());
            plan.delete = active.iter().map(|p| (*p).clone()).collect();
        } else {
            let remaining = match spec.completions {
                Some(c) => (c - succeeded).max(0),
                None => parallelism,
            };
            let wanted = parallelism.min(remaining) as usize;
            if active.len() < wanted {
                plan.create = (active.len()..wanted).map(|_| new_pod(job)).collect();
            } else if active.len() > wanted {
                plan.delete = active[wanted..].iter().map(|p| (*p).clone()).collect();
            }
            plan.requeue_after_seconds =
                deadline.map(|d| u32::try_from((d - now.as_second()).max(1)).unwrap_or(u32::MAX));
        }
    } else {
        // Finished: nothing may keep running.
        plan.delete = active.iter().map(|p| (*p).clone()).collect();
    }
    if status.conditions.as_ref().is_some_and(|c| c.is_empty()) {
        status.conditions = None;
    }
    if status != old {
        plan.status = Some(status);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(spec: serde_json::Value) -> Job {
        let mut spec = spec;
        spec["template"] = json!({"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}});
        serde_json::from_value(json!({
            "metadata": {"name": "pi", "namespace": "default", "uid": "job-uid"},
            "spec": spec
        }))
        .unwrap()
    }

    fn pod(name: &str, phase: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "uid": name,
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "job-uid", "controller": true}]},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": phase}
        }))
        .unwrap()
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn with_status(mut j: Job, plan: &JobPlan) -> Job {
        j.status = plan.status.clone().or(j.status);
        j
    }

    #[test]
    fn runs_parallelism_pods_until_completions_succeed() {
        let j = job(json!({"completions": 3, "parallelism": 2}));
        let plan = plan_job(&j, &[], at(100));
        assert_eq!(plan.create.len(), 2);
        let p = &plan.create[0];
        assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-"));
        assert_eq!(p.metadata.labels.as_ref().unwrap()[JOB_NAME_LABEL], "pi");
        assert_eq!(
            plan.status.as_ref().unwrap().start_time,
            Some(Time(at(100)))
        );
        let j = with_status(j, &plan);
        // Two succeeded: one more to go, one at a time.
        let pods = [pod("a", "Succeeded"), pod("b", "Succeeded")];
        let plan = plan_job(&j, &pods, at(110));
        assert_eq!(plan.create.len(), 1);
        let pods = [
            pod("a", "Succeeded"),
            pod("b", "Succeeded"),
            pod("c", "Succeeded"),
        ];
        let plan = plan_job(&j, &pods, at(120));
        assert!(plan.create.is_empty());
        let status = plan.status.unwrap();
        assert_eq!(status.succeeded, Some(3));
        assert_eq!(status.completion_time, Some(Time(at(120))));
        assert!(status
            .conditions
            .unwrap()
            .iter()
            .any(|c| c.type_ == "Complete"));
    }

    #[test]
    fn more_failures_than_the_backoff_limit_fail_the_job_and_stop_its_pods() {
        let j = job(json!({"backoffLimit": 2}));
        let pods = [pod("a", "Failed"), pod("b", "Failed")];
        let plan = plan_job(&j, &pods, at(100));
        assert_eq!(plan.create.len(), 1, "two failures are within a limit of 2");
        let pods = [
            pod("a", "Failed"),
            pod("b", "Failed"),
            pod("c", "Failed"),
            pod("d", "Running"),
        ];
        let plan = plan_job(&j, &pods, at(100));
        assert!(plan.create.is_empty());
        assert_eq!(plan.delete.len(), 1);
        let status = plan.status.unwrap();
        let failed = status
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Failed")
            .unwrap();
        assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert_eq!(status.failed, Some(3));
    }

    #[test]
    fn the_active_deadline_fails_a_running_job() {
        let mut j = job(json!({"activeDeadlineSeconds": 30}));
        j.status = Some(JobStatus {
            start_time: Some(Time(at(100))),
            ..Default::default()
        });
        let pods = [pod("a", "Running")];
        let early = plan_job(&j, &pods, at(110));
        assert!(early.delete.is_empty());
        assert_eq!(early.requeue_after_seconds, Some(20));
        let late = plan_job(&j, &pods, at(131));
        assert_eq!(late.delete.len(), 1);
        let reason = late.status.unwrap().conditions.unwrap()[0].reason.clone();
        assert_eq!(reason.as_deref(), Some("DeadlineExceeded"));
    }

    #[test]
    fn a_finished_job_creates_nothing_more() {
        let j = job(json!({}));
        let plan = plan_job(&j, &[pod("a", "Succeeded")], at(100));
        let j = with_status(j, &plan);
        assert!(is_finished(&j));
        let again = plan_job(&j, &[pod("a", "Succeeded")], at(200));
        assert_eq!(again, JobPlan::default(), "a finished job is stable");
    }
}
