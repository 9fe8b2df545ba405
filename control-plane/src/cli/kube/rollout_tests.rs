//! Golden tests of `keelctl rollout`'s pure parts: status lines, the history table, the
//! revision `undo` picks, `--timeout` and `restartedAt`.

use k8s_openapi::api::apps::v1::DeploymentStatus;

use super::*;
use crate::controllers::deployment_annotations::REVISION_ANNOTATION;
use crate::controllers::deployment_status::{new_condition, set_condition, RS_UPDATED};
use crate::controllers::pod_template_hash::{labels_with_hash, POD_TEMPLATE_HASH_LABEL};

fn deployment_with(generation: i64, observed: i64, counts: (i32, i32, i32)) -> Deployment {
    let mut d = deployment_fixture();
    d.metadata.generation = Some(generation);
    d.status = Some(DeploymentStatus {
        observed_generation: Some(observed),
        updated_replicas: Some(counts.0),
        replicas: Some(counts.1),
        available_replicas: Some(counts.2),
        ..Default::default()
    });
    d
}

fn deployment_fixture() -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "uid": "uid-web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "v1"}]}}}
    }))
    .unwrap()
}

fn rs(name: &str, uid_owner: &str, revision: &str, cause: Option<&str>) -> ReplicaSet {
    let mut rs: ReplicaSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "annotations": {REVISION_ANNOTATION: revision},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                "uid": uid_owner, "controller": true}]},
        "spec": {"selector": {}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": name}]}}}
    }))
    .unwrap();
    if let Some(c) = cause {
        rs.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert(CHANGE_CAUSE_ANNOTATION.into(), c.into());
    }
    rs
}

#[test]
fn status_lines_follow_the_rollout() {
    let msg = |d: &Deployment| status_message(d).unwrap();
    assert_eq!(
        msg(&deployment_with(2, 1, (3, 3, 3))),
        (
            "Waiting for deployment spec update to be observed...".into(),
            false
        )
    );
    assert_eq!(
        msg(&deployment_with(2, 2, (1, 4, 3))),
        (
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
                .into(),
            false
        )
    );
    assert_eq!(
        msg(&deployment_with(2, 2, (3, 4, 3))).0,
        "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
    );
    assert_eq!(
        msg(&deployment_with(2, 2, (3, 3, 2))).0,
        "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available..."
    );
    assert_eq!(
        msg(&deployment_with(2, 2, (3, 3, 3))),
        ("deployment \"web\" successfully rolled out".into(), true)
    );
    let mut stuck = deployment_with(2, 2, (1, 4, 3));
    let status = stuck.status.as_mut().unwrap();
    let now = Timestamp::from_second(0).unwrap();
    set_condition(
        status,
        new_condition(PROGRESSING, "True", RS_UPDATED, "x".into(), now),
    );
    assert!(status_message(&stuck).is_ok());
    let status = stuck.status.as_mut().unwrap();
    set_condition(
        status,
        new_condition(PROGRESSING, "False", TIMED_OUT, "x".into(), now),
    );
    assert_eq!(
        status_message(&stuck).unwrap_err().to_string(),
        "deployment \"web\" exceeded its progress deadline"
    );
}

#[test]
fn history_lists_owned_revisions_in_order() {
    let d = deployment_fixture();
    let all = vec![
        rs(
            "web-c",
            "uid-web",
            "10",
            Some("keelctl set image deploy/web web=v3"),
        ),
        rs("web-a", "uid-web", "2", None),
        rs("other", "uid-other", "1", None),
        rs("web-b", "uid-web", "3", Some("")),
    ];
    let owned = owned_revisions(&d, &all);
    assert_eq!(
        history_table(&owned),
        "REVISION  CHANGE-CAUSE\n\
         2         <none>\n\
         3         <none>\n\
         10        keelctl set image deploy/web web=v3\n"
    );
}

#[test]
fn undo_picks_the_previous_or_the_named_revision() {
    let d = deployment_fixture();
    let all = vec![
        rs("web-a", "uid-web", "1", None),
        rs("web-b", "uid-web", "2", None),
        rs("web-c", "uid-web", "3", None),
    ];
    let owned = owned_revisions(&d, &all);
    let name = |r: &ReplicaSet| r.metadata.name.clone().unwrap();
    assert_eq!(name(rollback_target("web", &owned, 0).unwrap()), "web-b");
    assert_eq!(name(rollback_target("web", &owned, 1).unwrap()), "web-a");
    assert_eq!(
        rollback_target("web", &owned, 7).unwrap_err().to_string(),
        "unable to find specified revision 7 in history"
    );
    assert_eq!(
        rollback_target("web", &owned[2..], 0)
            .unwrap_err()
            .to_string(),
        "no rollout history found for deployment \"web\""
    );
}

#[test]
fn the_undo_template_drops_the_hash_label() {
    let mut r = rs("web-a", "uid-web", "1", None);
    let t = r.spec.as_mut().unwrap().template.as_mut().unwrap();
    let m = t.metadata.as_mut().unwrap();
    m.labels = Some(labels_with_hash(m.labels.as_ref(), "abc"));
    let undone = undo_template(&r);
    let labels = undone.metadata.unwrap().labels.unwrap();
    assert!(!labels.contains_key(POD_TEMPLATE_HASH_LABEL));
    assert_eq!(labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(
        undone.spec.unwrap().containers[0].image.as_deref(),
        Some("web-a")
    );
}

#[test]
fn timeouts_and_restart_stamps() {
    assert_eq!(
        parse_timeout("10m").unwrap(),
        Some(Duration::from_secs(600))
    );
    assert_eq!(
        parse_timeout("1h30m").unwrap(),
        Some(Duration::from_secs(5400))
    );
    assert_eq!(parse_timeout("45").unwrap(), Some(Duration::from_secs(45)));
    assert_eq!(parse_timeout("0").unwrap(), None);
    assert!(parse_timeout("5d").is_err());
    assert!(parse_timeout("").is_err());
    let now: Timestamp = "2026-01-02T03:04:05.678Z".parse().unwrap();
    assert_eq!(restarted_at(now), "2026-01-02T03:04:05Z");
}
