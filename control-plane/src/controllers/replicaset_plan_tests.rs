//! Tests of `plan_replicaset`: creates, deletion order, status with minReadySeconds.

use k8s_openapi::api::apps::v1::ReplicaSetStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use proptest::prelude::*;

use super::*;
use crate::controllers::plan_test_support::*;

fn names(pods: &[Pod]) -> Vec<&str> {
    pods.iter()
        .map(|p| p.metadata.name.as_deref().unwrap_or(""))
        .collect()
}

#[test]
fn a_new_replicaset_creates_its_pods_from_the_template() {
    let mut rs = replicaset("web-abc", 3, "nginx:1");
    if let Some(m) = rs
        .spec
        .as_mut()
        .and_then(|s| s.template.as_mut())
        .and_then(|t| t.metadata.as_mut())
    {
        m.annotations = Some(labels(&[("note", "x")]));
    }
    let plan = plan_replicaset(&rs, &[], at(100));
    assert_eq!(plan.create.len(), 3);
    assert!(plan.delete.is_empty());
    let p = &plan.create[0];
    assert_eq!(p.metadata.generate_name.as_deref(), Some("web-abc-"));
    assert_eq!(p.metadata.name, None);
    assert_eq!(p.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(p.metadata.labels, Some(labels(&[("app", "web")])));
    assert_eq!(p.metadata.annotations, Some(labels(&[("note", "x")])));
    let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str()
        ),
        ("apps/v1", "ReplicaSet", "web-abc", "uid-web-abc")
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    assert_eq!(
        p.spec.as_ref().unwrap().containers[0].image.as_deref(),
        Some("nginx:1")
    );
    let status = plan.status.expect("first status");
    assert_eq!(status.replicas, 0);
    assert_eq!(status.observed_generation, Some(1));
}

#[test]
fn creates_are_capped_per_reconcile() {
    let rs = replicaset("big", 1200, "x");
    assert_eq!(
        plan_replicaset(&rs, &[], at(0)).create.len(),
        BURST_REPLICAS
    );
}

#[test]
fn only_active_pods_it_controls_count() {
    let rs = replicaset("web-abc", 2, "x");
    let other = replicaset("other", 1, "x");
    let mut terminating = pod_of(&rs.metadata, "t", 1);
    terminating.metadata.deletion_timestamp = Some(Time(at(5)));
    let mut failed = pod_of(&rs.metadata, "f", 1);
    failed.status.as_mut().unwrap().phase = Some("Failed".into());
    let mut not_controller = pod_of(&rs.metadata, "n", 1);
    not_controller.metadata.owner_references.as_mut().unwrap()[0].controller = None;
    let pods = vec![
        pod_of(&rs.metadata, "mine", 1),
        pod_of(&other.metadata, "theirs", 1),
        terminating,
        failed,
        not_controller,
    ];
    let plan = plan_replicaset(&rs, &pods, at(10));
    assert_eq!(plan.create.len(), 1);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.status.unwrap().replicas, 1);
}

#[test]
fn deletion_prefers_unscheduled_pending_unready_recent_restarting_new_pods() {
    let rs = replicaset("web-abc", 0, "x");
    let m = &rs.metadata;
    // Listed in the order they must be deleted.
    let pods = vec![
        pod_of(m, "unscheduled", 1),
        scheduled(pod_of(m, "pending", 1), "n1"),
        {
            let mut p = scheduled(pod_of(m, "unknown", 1), "n1");
            p.status.as_mut().unwrap().phase = Some("Unknown".into());
            p
        },
        running(scheduled(pod_of(m, "not-ready", 1), "n1"), false, 50, 0),
        running(scheduled(pod_of(m, "ready-recently", 1), "n1"), true, 90, 0),
        running(
            scheduled(pod_of(m, "ready-long-restarts", 1), "n1"),
            true,
            10,
            3,
        ),
        running(
            scheduled(pod_of(m, "ready-long-newer", 5), "n1"),
            true,
            10,
            0,
        ),
        running(
            scheduled(pod_of(m, "ready-long-older", 2), "n1"),
            true,
            10,
            0,
        ),
    ];
    let mut shuffled = pods.clone();
    shuffled.reverse();
    shuffled.swap(1, 5);
    let plan = plan_replicaset(&rs, &shuffled, at(100));
    assert_eq!(names(&plan.delete), names(&pods));

    let mut rs2 = rs.clone();
    rs2.spec.as_mut().unwrap().replicas = Some(6);
    let plan = plan_replicaset(&rs2, &shuffled, at(100));
    assert_eq!(names(&plan.delete), vec!["unscheduled", "pending"]);
}

#[test]
fn status_counts_ready_and_available_after_min_ready_seconds() {
    let mut rs = replicaset("web-abc", 3, "x");
    rs.spec.as_mut().unwrap().min_ready_seconds = Some(10);
    rs.metadata.generation = Some(4);
    let m = &rs.metadata;
    let mut unlabeled = running(pod_of(m, "c", 1), true, 95, 0);
    unlabeled.metadata.labels = None;
    let pods = vec![
        running(pod_of(m, "a", 1), true, 50, 0),
        running(pod_of(m, "b", 1), false, 50, 0),
        unlabeled,
    ];
    let plan = plan_replicaset(&rs, &pods, at(100));
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    let status = plan.status.unwrap();
    assert_eq!(status.replicas, 3);
    assert_eq!(status.fully_labeled_replicas, Some(2));
    assert_eq!(status.ready_replicas, Some(2));
    assert_eq!(status.available_replicas, Some(1));
    assert_eq!(status.observed_generation, Some(4));
    // Pod c became ready at 95: available strictly after 105.
    assert_eq!(replicaset_requeue_after(&rs, &pods, at(100)), Some(6));
    assert_eq!(
        plan_replicaset(&rs, &pods, at(106))
            .status
            .unwrap()
            .available_replicas,
        Some(2)
    );
    // Written back, the same status is not planned again.
    rs.status = Some(status);
    assert_eq!(plan_replicaset(&rs, &pods, at(100)).status, None);
}

#[test]
fn zero_counts_match_an_api_status_that_omits_them() {
    let mut rs = replicaset("web-abc", 0, "x");
    rs.status = Some(ReplicaSetStatus {
        replicas: 0,
        observed_generation: Some(1),
        ..Default::default()
    });
    assert_eq!(plan_replicaset(&rs, &[], at(0)), ReplicaSetPlan::default());
}

#[test]
fn a_replicaset_being_deleted_plans_only_its_status() {
    let mut rs = replicaset("web-abc", 1, "x");
    rs.metadata.deletion_timestamp = Some(Time(at(1)));
    let plan = plan_replicaset(&rs, &[], at(2));
    assert!(plan.create.is_empty());
    assert!(plan.status.is_some());
    rs.spec.as_mut().unwrap().replicas = Some(0);
    let pods = vec![pod_of(&rs.metadata, "a", 1)];
    assert!(plan_replicaset(&rs, &pods, at(2)).delete.is_empty());
}

proptest! {
    /// Whatever the pods, the plan brings the active owned pods to `replicas` (within the
    /// burst cap), deletes only active owned pods, and never keeps a pod it prefers to delete.
    #[test]
    fn plans_converge_and_delete_the_most_expendable(
        replicas in 0i32..12,
        specs in proptest::collection::vec(
            (0u8..5, any::<bool>(), any::<bool>(), 0u8..3, 0i64..50, 0i64..50),
            0..14,
        ),
    ) {
        let rs = replicaset("web-abc", replicas, "x");
        let other = replicaset("other", 1, "x");
        let pods: Vec<Pod> = specs.iter().enumerate().map(|(i, &(kind, on_node, ready, restarts, created, since))| {
            let owner = if kind == 4 { &other.metadata } else { &rs.metadata };
            let mut p = pod_of(owner, &format!("p{i}"), created);
            if on_node { p = scheduled(p, "n1"); }
            match kind {
                0 => {}
                1 => p = running(p, ready, since, i32::from(restarts)),
                2 => p.status.as_mut().unwrap().phase = Some("Succeeded".into()),
                3 => p.metadata.deletion_timestamp = Some(Time(at(60))),
                _ => p = running(p, ready, since, 0),
            }
            p
        }).collect();
        let owned: Vec<&Pod> = owned_active_pods(&rs, &pods);
        let plan = plan_replicaset(&rs, &pods, at(100));
        let after = owned.len() as i64 + plan.create.len() as i64 - plan.delete.len() as i64;
        prop_assert_eq!(after, i64::from(replicas).max(0));
        prop_assert!(plan.create.is_empty() || plan.delete.is_empty());
        for d in &plan.delete {
            prop_assert!(owned.iter().any(|o| o.metadata.uid == d.metadata.uid));
            for kept in owned.iter().filter(|o| !plan.delete.iter().any(|x| x.metadata.uid == o.metadata.uid)) {
                prop_assert_ne!(delete_first(kept, d), Ordering::Less);
            }
        }
    }
}
