//! Tests of [`plan_cronjob`] on an explicit clock.

use k8s_openapi::api::batch::v1::{
    CronJob, CronJobSpec, CronJobStatus, Job, JobCondition, JobStatus, JobTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;

/// Minute `m` of 2026-01-01 (UTC).
fn minute(m: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + m * 60).unwrap()
}

fn cronjob(schedule: &str, policy: &str) -> CronJob {
    CronJob {
        metadata: ObjectMeta {
            name: Some("tick".into()),
            namespace: Some("default".into()),
            uid: Some("uid-tick".into()),
            creation_timestamp: Some(Time(minute(0))),
            ..Default::default()
        },
        spec: Some(CronJobSpec {
            schedule: schedule.into(),
            concurrency_policy: Some(policy.into()),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some([("app".to_string(), "tick".to_string())].into()),
                    ..Default::default()
                }),
                spec: Some(Default::default()),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// The Job the CronJob made for `scheduled`, as the store holds it (uid set), `state` one of
/// "active", "ok", "failed", finished at `done`.
fn job_at(cj: &CronJob, scheduled: Timestamp, state: &str, done: Timestamp) -> Job {
    let mut j = new_job(cj, scheduled);
    j.metadata.uid = Some(format!("uid-{}", j.metadata.name.clone().unwrap()));
    j.metadata.creation_timestamp = Some(Time(scheduled));
    let cond = |t: &str| {
        Some(vec![JobCondition {
            type_: t.into(),
            status: "True".into(),
            ..Default::default()
        }])
    };
    j.status = Some(match state {
        "ok" => JobStatus {
            conditions: cond("Complete"),
            completion_time: Some(Time(done)),
            ..Default::default()
        },
        "failed" => JobStatus {
            conditions: cond("Failed"),
            ..Default::default()
        },
        _ => JobStatus::default(),
    });
    j
}

fn scheduled_at(cj: &mut CronJob, t: Timestamp) {
    cj.status = Some(CronJobStatus {
        last_schedule_time: Some(Time(t)),
        ..Default::default()
    });
}

#[test]
fn nothing_runs_before_the_first_time_and_the_requeue_is_that_time() {
    let cj = cronjob("*/5 * * * *", "Allow");
    let p = plan_cronjob(&cj, &[], minute(3));
    assert!(p.create.is_none());
    assert_eq!(p.requeue_at, Some(minute(5)));
}

#[test]
fn a_due_time_creates_the_job_named_by_its_minute_with_an_owner() {
    let cj = cronjob("*/5 * * * *", "Allow");
    let p = plan_cronjob(
        &cj,
        &[],
        minute(5) + k8s_openapi::jiff::SignedDuration::from_secs(7),
    );
    let job = p.create.expect("a job");
    let expected = format!("tick-{}", minute(5).as_second() / 60);
    assert_eq!(job.metadata.name.as_deref(), Some(expected.as_str()));
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("CronJob", "uid-tick", Some(true))
    );
    assert_eq!(job.metadata.labels.as_ref().unwrap()["app"], "tick");
    assert_eq!(
        job.metadata.annotations.as_ref().unwrap()[SCHEDULED_TIMESTAMP],
        minute(5).to_string()
    );
    let st = p.status.unwrap();
    assert_eq!(st.last_schedule_time, Some(Time(minute(5))));
    assert_eq!(p.requeue_at, Some(minute(10)));
}

#[test]
fn a_time_that_already_ran_does_not_run_again() {
    let mut cj = cronjob("*/5 * * * *", "Allow");
    let done = job_at(&cj, minute(5), "active", minute(5));
    scheduled_at(&mut cj, minute(5));
    let p = plan_cronjob(&cj, std::slice::from_ref(&done), minute(6));
    assert!(p.create.is_none());
    // Even if the status write was lost, the Job's name says the time ran.
    cj.status = None;
    assert!(plan_cronjob(&cj, &[done], minute(6)).create.is_none());
}

#[test]
fn after_a_leader_gap_only_the_most_recent_missed_time_runs() {
    let mut cj = cronjob("* * * * *", "Allow");
    scheduled_at(&mut cj, minute(10));
    let p = plan_cronjob(&cj, &[], minute(20));
    assert_eq!(
        p.create.unwrap().metadata.name,
        new_job(&cj, minute(20)).metadata.name
    );
    assert_eq!(p.status.unwrap().last_schedule_time, Some(Time(minute(20))));
}

#[test]
fn more_than_a_hundred_missed_times_is_an_event_and_no_run() {
    let mut cj = cronjob("* * * * *", "Allow");
    scheduled_at(&mut cj, minute(0));
    let p = plan_cronjob(&cj, &[], minute(101));
    assert!(p.create.is_none());
    assert_eq!(p.events[0].reason, "TooManyMissedTimes");
    // Exactly 100 still runs.
    assert!(plan_cronjob(&cj, &[], minute(100)).create.is_some());
    // A starting deadline bounds the count: only the last 5 minutes are considered.
    cj.spec.as_mut().unwrap().starting_deadline_seconds = Some(300);
    let p = plan_cronjob(&cj, &[], minute(500));
    assert_eq!(
        p.create.unwrap().metadata.name,
        new_job(&cj, minute(500)).metadata.name
    );
}

#[test]
fn a_time_past_its_starting_deadline_is_missed() {
    let mut cj = cronjob("0 * * * *", "Allow");
    cj.spec.as_mut().unwrap().starting_deadline_seconds = Some(30);
    // Due at minute 60; at minute 60 + 20 s it still runs, at minute 61 it is missed.
    let p = plan_cronjob(
        &cj,
        &[],
        minute(60) + k8s_openapi::jiff::SignedDuration::from_secs(20),
    );
    assert!(p.create.is_some());
    let p = plan_cronjob(&cj, &[], minute(61));
    assert!(p.create.is_none());
    assert!(p.events.iter().all(|e| e.reason != "SuccessfulCreate"));
}

#[test]
fn forbid_skips_while_a_job_is_active_and_replace_deletes_it() {
    let mut cj = cronjob("*/5 * * * *", "Forbid");
    let running = job_at(&cj, minute(5), "active", minute(5));
    scheduled_at(&mut cj, minute(5));
    let p = plan_cronjob(&cj, std::slice::from_ref(&running), minute(10));
    assert!(p.create.is_none());
    assert_eq!(p.events[0].reason, "JobAlreadyActive");
    let st = p.status.unwrap();
    assert_eq!(st.active.unwrap()[0].name, running.metadata.name);

    cj.spec.as_mut().unwrap().concurrency_policy = Some("Replace".into());
    let p = plan_cronjob(&cj, std::slice::from_ref(&running), minute(10));
    assert_eq!(p.replace, vec![running.clone()]);
    assert!(p.create.is_some());

    cj.spec.as_mut().unwrap().concurrency_policy = Some("Allow".into());
    let p = plan_cronjob(&cj, &[running], minute(10));
    assert!(p.replace.is_empty() && p.create.is_some());
}

#[test]
fn suspend_stops_runs_but_not_pruning() {
    let mut cj = cronjob("* * * * *", "Allow");
    cj.spec.as_mut().unwrap().suspend = Some(true);
    cj.spec.as_mut().unwrap().failed_jobs_history_limit = Some(0);
    let failed = job_at(&cj, minute(1), "failed", minute(1));
    let p = plan_cronjob(&cj, std::slice::from_ref(&failed), minute(5));
    assert!(p.create.is_none());
    assert_eq!(p.prune, vec![failed]);
}

#[test]
fn history_limits_prune_the_oldest_and_last_successful_time_is_the_latest() {
    let mut cj = cronjob("* * * * *", "Allow");
    cj.spec.as_mut().unwrap().successful_jobs_history_limit = Some(2);
    let jobs: Vec<Job> = (1..=4)
        .map(|m| {
            job_at(
                &cj,
                minute(m),
                "ok",
                minute(m) + k8s_openapi::jiff::SignedDuration::from_secs(30),
            )
        })
        .chain([
            job_at(&cj, minute(5), "failed", minute(5)),
            job_at(&cj, minute(6), "failed", minute(6)),
        ])
        .collect();
    scheduled_at(&mut cj, minute(6));
    let p = plan_cronjob(&cj, &jobs, minute(6));
    let pruned: Vec<_> = p
        .prune
        .iter()
        .map(|j| j.metadata.name.clone().unwrap())
        .collect();
    let name = |m| new_job(&cj, minute(m)).metadata.name.unwrap();
    assert_eq!(pruned, [name(1), name(2), name(5)]);
    assert_eq!(
        p.status.unwrap().last_successful_time,
        Some(Time(
            minute(4) + k8s_openapi::jiff::SignedDuration::from_secs(30)
        ))
    );
}

#[test]
fn jobs_of_others_are_not_counted() {
    let mut cj = cronjob("*/5 * * * *", "Forbid");
    let mut stranger = job_at(&cj, minute(5), "active", minute(5));
    stranger.metadata.owner_references = None;
    stranger.metadata.name = Some("other".into());
    scheduled_at(&mut cj, minute(5));
    let p = plan_cronjob(&cj, &[stranger], minute(10));
    assert!(p.create.is_some());
}

#[test]
fn an_unparseable_schedule_is_an_event() {
    let cj = cronjob("every minute", "Allow");
    let p = plan_cronjob(&cj, &[], minute(10));
    assert!(p.create.is_none());
    assert_eq!(p.events[0].reason, "UnparseableSchedule");
}
