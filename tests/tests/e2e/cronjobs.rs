//! The CronJob controller on a real cell with a hollow agent, against the wall clock (cron's
//! unit is the minute, so these tests wait for minute boundaries, at most ~65 s):
//! - a CronJob scheduled every minute fires at the next minute boundary, not before and within
//!   seconds after it: one Job named by its minute, carrying the scheduled time, whose pod runs
//!   and completes, and the CronJob's lastScheduleTime/lastSuccessfulTime record it;
//! - a CronJob that missed its times (lastScheduleTime set hours back, as after a leader gap)
//!   runs once, for the most recent one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keel_chaos::{wait_until, ClusterOptions, LocalCluster};
use serde_json::{json, Value};

use crate::agent_support::spawn_agent;
use crate::objects_support::*;
use crate::support::cell;

async fn listed(
    cluster: &LocalCluster,
    resource: &str,
    selector: &str,
) -> anyhow::Result<Vec<Value>> {
    let (items, _) = list(
        cluster,
        1,
        keel_proto::objects::ListRequest {
            resource: resource.into(),
            namespace: "default".into(),
            label_selector: selector.into(),
            ..Default::default()
        },
    )
    .await?;
    Ok(items)
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (days to civil date: Hinnant's algorithm).
fn rfc3339(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

fn cronjob(name: &str, schedule: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
        "spec": {"schedule": schedule, "concurrencyPolicy": "Allow",
            "jobTemplate": {"metadata": {"labels": {"app": name}},
                "spec": {"template": {"metadata": {"annotations": {"fake.keel.dev/exit-after-seconds": "0.5"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "keel/app:1",
                        "resources": {"requests": {"cpu": "100m"}}}]}}}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cronjob_every_minute_fires_at_the_minute_boundary() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let _a = spawn_agent(&cluster, "node-a", &cluster.addrs(), &[]);
    create(&cluster, 1, &cronjob("every", "* * * * *"))
        .await
        .expect("cronjob");
    let created_at = now_secs();
    // The first time due is the next minute boundary after the creation.
    let due_minute = created_at / 60 + 1;
    let due = due_minute * 60;
    eprintln!(
        "created at {created_at}, due at {due} ({}s ahead)",
        due - created_at
    );

    // Until the boundary: no Job. From it: one Job, named by the minute, within seconds.
    let fired = wait_until(
        Duration::from_secs(75),
        "the Job of the first minute boundary",
        async || {
            let jobs = listed(&cluster, "jobs", "app=every").await?;
            let seen_at = now_secs();
            if seen_at < due {
                assert!(
                    jobs.is_empty(),
                    "a Job {:?} before the boundary {due} (now {seen_at})",
                    names(&jobs)
                );
            }
            anyhow::ensure!(!jobs.is_empty(), "no Job yet (now {seen_at}, due {due})");
            Ok((jobs, seen_at))
        },
    )
    .await
    .expect("the cronjob fires");
    let (jobs, seen_at) = fired;
    eprintln!(
        "Job seen at {seen_at}, {}s after the boundary",
        seen_at - due
    );
    assert_eq!(names(&jobs), [format!("every-{due_minute}")]);
    let job = &jobs[0];
    assert_eq!(
        job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"].as_str(),
        Some(rfc3339(due).as_str()),
        "the Job carries its scheduled time"
    );
    assert!(
        seen_at <= due + 5,
        "the Job appeared {}s after its time",
        seen_at - due
    );
    let owner = &job["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["controller"].as_bool()),
        (Some("CronJob"), Some(true))
    );

    // Its pod runs and exits 0 (the fake runtime's exit-after), the Job completes, and the
    // CronJob's status records both times.
    let status = wait_until(
        Duration::from_secs(20),
        "the Job completes and the CronJob records it",
        async || {
            let cj = get(&cluster, 1, "cronjobs", "default", "every").await?;
            let s = cj["status"].clone();
            anyhow::ensure!(
                s["lastScheduleTime"] == rfc3339(due).as_str()
                    && s["lastSuccessfulTime"].is_string()
                    && s["active"].as_array().is_none_or(|a| a.is_empty()),
                "status {s}"
            );
            Ok(s)
        },
    )
    .await
    .expect("the run completes");
    eprintln!("CronJob status after the run: {status}");
    let jobs = listed(&cluster, "jobs", "app=every").await.expect("jobs");
    assert!(
        jobs.len() == 1 || now_secs() >= due + 60,
        "a second Job before the next minute: {:?}",
        names(&jobs)
    );
    cluster.teardown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cronjob_that_missed_its_times_runs_once_for_the_latest() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let _a = spawn_agent(&cluster, "node-a", &cluster.addrs(), &[]);
    // Hourly at the minute two minutes ago: the next regular run is ~58 minutes away, so the
    // only run this test can see is the catch-up one.
    let due = now_secs() / 60 - 2;
    let schedule = format!("{} * * * *", due % 60);
    create(&cluster, 1, &cronjob("tick", &schedule))
        .await
        .expect("cronjob");
    // Created now, nothing is due yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let jobs = listed(&cluster, "jobs", "app=tick").await.expect("jobs");
    assert!(
        jobs.is_empty(),
        "a job before any time was due: {:?}",
        names(&jobs)
    );

    // As after a leader gap: the last run was three hours back, so three times were missed.
    let last_rfc = rfc3339((due - 180) * 60);
    let mut cj = get(&cluster, 1, "cronjobs", "default", "tick")
        .await
        .expect("get");
    cj["status"] = json!({"lastScheduleTime": last_rfc});
    update_status(&cluster, 1, &cj).await.expect("status");

    let cj = wait_until(Duration::from_secs(20), "a catch-up job", async || {
        let cj = get(&cluster, 1, "cronjobs", "default", "tick").await?;
        anyhow::ensure!(
            cj["status"]["lastScheduleTime"] != last_rfc.as_str(),
            "status {}",
            cj["status"]
        );
        Ok(cj)
    })
    .await
    .expect("the cronjob runs");
    assert_eq!(
        cj["status"]["lastScheduleTime"].as_str(),
        Some(rfc3339(due * 60).as_str()),
        "the most recent missed time ran"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let jobs = listed(&cluster, "jobs", "app=tick").await.expect("jobs");
    assert_eq!(
        names(&jobs),
        [format!("tick-{due}")],
        "exactly one catch-up run"
    );
    let owner = &jobs[0]["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["controller"].as_bool()),
        (Some("CronJob"), Some(true))
    );
    cluster.teardown();
}
