//! Tests of `plan_deployment`: single plans, and rollouts driven through the in-memory world
//! of `rollout_sim_tests`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::{self, Int};

use super::*;
use crate::controllers::deployment_annotations::{
    DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, REVISION_ANNOTATION,
    REVISION_HISTORY_ANNOTATION,
};
use crate::controllers::deployment_status::{
    condition, AVAILABLE, NEW_RS_AVAILABLE, NEW_RS_CREATED, PAUSED, PROGRESSING, TIMED_OUT,
};
use crate::controllers::plan_test_support::*;
use crate::controllers::pod_template_hash::{pod_template_hash, POD_TEMPLATE_HASH_LABEL};
use crate::controllers::rollout_sim_tests::{assert_rolled_out, settled_world, World};

fn ann<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn cond_reason(d: &Deployment, type_: &str) -> Option<String> {
    d.status
        .as_ref()
        .and_then(|s| condition(s, type_))
        .and_then(|c| c.reason.clone())
}

fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.into())
}

fn image_of_rs(rs: &ReplicaSet) -> &str {
    rs.spec
        .as_ref()
        .unwrap()
        .template
        .as_ref()
        .unwrap()
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .as_deref()
        .unwrap()
}

#[test]
fn a_fresh_deployment_creates_its_first_replicaset() {
    let mut d = deployment(3, "v1", pct("25%"), pct("25%"));
    d.metadata.annotations = Some(labels(&[(
        crate::controllers::deployment_annotations::CHANGE_CAUSE_ANNOTATION,
        "first",
    )]));
    let plan = plan_deployment(&d, &[], &[], at(100));
    let rs = plan.create_replicaset.expect("a new ReplicaSet");
    let hash = pod_template_hash(&d.spec.as_ref().unwrap().template, None);
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    assert_eq!(rs.metadata.namespace.as_deref(), Some("default"));
    let spec = rs.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(3));
    let with_hash = labels(&[("app", "web"), (POD_TEMPLATE_HASH_LABEL, &hash)]);
    assert_eq!(spec.selector.match_labels.as_ref(), Some(&with_hash));
    assert_eq!(
        spec.template
            .as_ref()
            .unwrap()
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref(),
        Some(&with_hash)
    );
    assert_eq!(rs.metadata.labels.as_ref(), Some(&with_hash));
    let owner = &rs.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("Deployment", "uid-web")
    );
    assert_eq!(owner.controller, Some(true));
    assert_eq!(ann(&rs, REVISION_ANNOTATION), Some("1"));
    assert_eq!(ann(&rs, DESIRED_REPLICAS_ANNOTATION), Some("3"));
    assert_eq!(ann(&rs, MAX_REPLICAS_ANNOTATION), Some("4"));
    assert_eq!(ann(&rs, "kubernetes.io/change-cause"), Some("first"));
    assert!(plan.update_replicasets.is_empty() && plan.delete_replicasets.is_empty());
    let status = plan.status.expect("a first status");
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.replicas, Some(0));
    assert_eq!(status.unavailable_replicas, Some(3));
    let progressing = condition(&status, PROGRESSING).unwrap();
    assert_eq!(progressing.reason.as_deref(), Some(NEW_RS_CREATED));
    assert_eq!(
        progressing.message.as_deref(),
        Some(format!("Created new replica set \"web-{hash}\"").as_str())
    );
    let available = condition(&status, AVAILABLE).unwrap();
    assert_eq!(
        (available.status.as_str(), available.reason.as_deref()),
        ("False", Some("MinimumReplicasUnavailable"))
    );
}

#[test]
fn a_deployment_reaches_its_replicas_and_reports_complete() {
    let w = settled_world(3, pct("25%"), pct("25%"));
    assert_rolled_out(&w, "v1");
    assert_eq!(
        cond_reason(&w.deployment, PROGRESSING).as_deref(),
        Some(NEW_RS_AVAILABLE)
    );
    assert_eq!(
        cond_reason(&w.deployment, AVAILABLE).as_deref(),
        Some("MinimumReplicasAvailable")
    );
    // Steady state: nothing more to do.
    let plan = plan_deployment(&w.deployment, &w.replicasets, &w.pods, at(w.now));
    assert_eq!(plan, DeploymentPlan::default());
}

#[test]
fn scaling_goes_to_the_current_replicaset() {
    let mut w = settled_world(3, Int(1), Int(0));
    w.set_replicas(6);
    w.settle(100, |w| assert!(w.active_pods().len() <= 6));
    assert_rolled_out(&w, "v1");
    assert_eq!(w.replicasets.len(), 1);
    assert_eq!(
        ann(&w.replicasets[0], DESIRED_REPLICAS_ANNOTATION),
        Some("6")
    );
    w.set_replicas(2);
    w.settle(100, |_| {});
    assert_rolled_out(&w, "v1");
}

#[test]
fn scaling_mid_rollout_is_proportional() {
    let mut w = settled_world(10, Int(3), Int(0));
    w.set_image("v2");
    // One Deployment step: the new ReplicaSet gets the surge.
    w.sync_deployment();
    w.sync_replicasets();
    let sizes = |w: &World| -> Vec<(String, i32)> {
        w.replicasets
            .iter()
            .map(|r| {
                (
                    image_of_rs(r).to_string(),
                    r.spec.as_ref().unwrap().replicas.unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        sizes(&w),
        vec![("v1".to_string(), 10), ("v2".to_string(), 3)]
    );
    w.set_replicas(20);
    w.sync_deployment();
    // 20 + 3 allowed: v1 10→20 ((10*23/13)≈18, v2 3→5, leftover to the largest).
    let after = sizes(&w);
    assert_eq!(after.iter().map(|(_, n)| n).sum::<i32>(), 23);
    assert!(after[0].1 > 10 && after[1].1 > 3, "{after:?}");
    w.settle(300, |w| w.check_rolling_bounds(false));
    assert_rolled_out(&w, "v2");
}

#[test]
fn old_replicasets_beyond_the_history_limit_are_deleted() {
    let mut w = settled_world(2, Int(1), Int(0));
    w.deployment.spec.as_mut().unwrap().revision_history_limit = Some(1);
    for image in ["v2", "v3", "v4"] {
        w.set_image(image);
        w.settle(200, |_| {});
        assert_rolled_out(&w, image);
    }
    let mut kept: Vec<(String, String)> = w
        .replicasets
        .iter()
        .map(|r| {
            (
                image_of_rs(r).to_string(),
                ann(r, REVISION_ANNOTATION).unwrap().to_string(),
            )
        })
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        vec![("v3".into(), "3".into()), ("v4".into(), "4".into())]
    );
}

#[test]
fn rolling_back_reuses_the_old_replicaset_with_the_next_revision() {
    let mut w = settled_world(2, Int(1), Int(0));
    w.set_image("v2");
    w.settle(200, |_| {});
    w.set_image("v1");
    w.settle(200, |w| w.check_rolling_bounds(true));
    assert_rolled_out(&w, "v1");
    assert_eq!(w.replicasets.len(), 2);
    let v1 = w
        .replicasets
        .iter()
        .find(|r| image_of_rs(r) == "v1")
        .unwrap();
    assert_eq!(ann(v1, REVISION_ANNOTATION), Some("3"));
    assert_eq!(ann(v1, REVISION_HISTORY_ANNOTATION), Some("1"));
}

#[test]
fn a_paused_deployment_scales_but_does_not_roll_out() {
    let mut w = settled_world(3, Int(1), Int(0));
    w.deployment.spec.as_mut().unwrap().paused = Some(true);
    w.set_image("v2");
    w.settle(100, |_| {});
    assert_eq!(w.replicasets.len(), 1);
    assert_eq!(w.pods_with_image("v2"), 0);
    assert_eq!(
        cond_reason(&w.deployment, PROGRESSING).as_deref(),
        Some(PAUSED)
    );
    w.set_replicas(5);
    w.settle(100, |_| {});
    assert_eq!(w.pods_with_image("v1"), 5);
    assert_eq!(
        w.deployment.status.as_ref().unwrap().observed_generation,
        w.deployment.metadata.generation
    );
    w.deployment.spec.as_mut().unwrap().paused = Some(false);
    w.bump_generation();
    w.settle(200, |w| w.check_rolling_bounds(true));
    assert_rolled_out(&w, "v2");
}

#[test]
fn a_stalled_rollout_exceeds_its_progress_deadline() {
    let mut w = settled_world(2, Int(1), Int(0));
    w.deployment
        .spec
        .as_mut()
        .unwrap()
        .progress_deadline_seconds = Some(30);
    w.broken_images = vec!["v2".into()];
    w.set_image("v2");
    w.settle(100, |w| w.check_rolling_bounds(true));
    assert_eq!(w.pods_with_image("v1"), 2);
    assert_eq!(w.pods_with_image("v2"), 1);
    let since = w.now;
    let plan = plan_deployment(&w.deployment, &w.replicasets, &w.pods, at(w.now));
    assert_eq!(plan.status, None);
    let wait = plan.requeue_after_seconds.expect("a deadline to check");
    assert!(wait <= 31, "{wait}");
    w.now = since + i64::from(wait);
    w.sync_deployment();
    let progressing = condition(w.deployment.status.as_ref().unwrap(), PROGRESSING).unwrap();
    assert_eq!(
        (progressing.status.as_str(), progressing.reason.as_deref()),
        ("False", Some(TIMED_OUT))
    );
    assert!(progressing
        .message
        .as_deref()
        .unwrap()
        .ends_with("has timed out progressing."));
    let plan = plan_deployment(&w.deployment, &w.replicasets, &w.pods, at(w.now + 100));
    assert_eq!(plan.status, None);
    assert_eq!(plan.requeue_after_seconds, None);
}

#[test]
fn unhealthy_old_replicas_do_not_block_a_rollout() {
    let mut d = deployment(3, "v1", Int(1), Int(0));
    d.spec.as_mut().unwrap().progress_deadline_seconds = Some(600);
    let mut w = World::new(d);
    w.broken_images = vec!["v1".into()];
    w.settle(100, |_| {});
    assert_eq!(w.pods_with_image("v1"), 3);
    assert_eq!(w.available_pods(), 0);
    w.set_image("v2");
    w.settle(200, |w| w.check_rolling_bounds(false));
    assert_rolled_out(&w, "v2");
}

#[test]
fn min_ready_seconds_delays_availability_and_asks_for_a_requeue() {
    let mut d = deployment(2, "v1", Int(1), Int(0));
    d.spec.as_mut().unwrap().min_ready_seconds = Some(5);
    let mut w = World::new(d);
    for _ in 0..4 {
        w.sync_deployment();
        w.sync_replicasets();
        w.tick(1);
    }
    assert_eq!(w.active_pods().len(), 2);
    assert_eq!(w.available_pods(), 0);
    let plan = plan_deployment(&w.deployment, &w.replicasets, &w.pods, at(w.now));
    let wait = plan
        .requeue_after_seconds
        .expect("requeue for minReadySeconds");
    assert!((1..=6).contains(&wait), "{wait}");
    // Nothing moves until the clock passes the requeue, as the controller would wait.
    w.settle(100, |_| {});
    assert_eq!(w.available_pods(), 0);
    w.tick(i64::from(wait));
    w.settle(100, |_| {});
    assert_rolled_out(&w, "v1");
}

#[test]
fn a_taken_name_counts_a_collision_instead_of_creating() {
    let d = deployment(1, "v1", Int(1), Int(0));
    let hash = pod_template_hash(&d.spec.as_ref().unwrap().template, None);
    let squatter = replicaset(&format!("web-{hash}"), 1, "other");
    let plan = plan_deployment(&d, std::slice::from_ref(&squatter), &[], at(0));
    assert!(plan.create_replicaset.is_none());
    let status = plan.status.unwrap();
    assert_eq!(status.collision_count, Some(1));
    let mut d2 = d.clone();
    d2.status = Some(status);
    let plan = plan_deployment(&d2, &[squatter], &[], at(0));
    let created = plan.create_replicaset.expect("created under another hash");
    assert_ne!(created.metadata.name, Some(format!("web-{hash}")));
}

#[test]
fn a_deployment_being_deleted_plans_nothing() {
    let mut w = settled_world(2, Int(1), Int(0));
    w.deployment.metadata.deletion_timestamp = Some(Time(at(w.now)));
    w.set_replicas(5);
    let plan = plan_deployment(&w.deployment, &w.replicasets, &w.pods, at(w.now));
    assert_eq!(plan, DeploymentPlan::default());
}
