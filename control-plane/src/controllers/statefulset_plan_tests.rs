//! Tests of [`plan_statefulset`]: ordered creation, scale-down and rolling update, driven as a
//! small simulation (the plan's writes applied, pods becoming ready or not at random) with the
//! invariants checked after every step.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use proptest::prelude::*;

use super::*;
use crate::controllers::plan_test_support::{at, labels, running, template};

fn set(replicas: i32, policy: &str, image: &str) -> StatefulSet {
    StatefulSet {
        metadata: ObjectMeta {
            name: Some("db".into()),
            namespace: Some("default".into()),
            uid: Some("uid-db".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            pod_management_policy: Some(policy.into()),
            service_name: Some("db-hl".into()),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", "web")])),
                ..Default::default()
            },
            template: template(image),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: None,
            }),
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("data".into()),
                    ..Default::default()
                },
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

/// The cluster the simulation keeps: pods by name, PVC names.
#[derive(Default)]
struct World {
    pods: Vec<Pod>,
    claims: BTreeSet<String>,
    uid: u64,
}

impl World {
    fn apply(&mut self, plan: &StatefulSetPlan) {
        for gone in &plan.delete {
            self.pods.retain(|p| p.metadata.uid != gone.metadata.uid);
        }
        for new in &plan.create {
            assert!(
                !self
                    .pods
                    .iter()
                    .any(|p| p.metadata.name == new.metadata.name),
                "created {:?} while it exists",
                new.metadata.name
            );
            self.uid += 1;
            let mut p = new.clone();
            p.metadata.uid = Some(format!("pod-{}", self.uid));
            p.status = Some(PodStatus {
                phase: Some("Pending".into()),
                ..Default::default()
            });
            self.pods.push(p);
        }
        for c in &plan.create_claims {
            assert!(self.claims.insert(c.metadata.name.clone().unwrap()));
        }
    }

    fn ordinal_ready(&self, o: i32) -> bool {
        self.pods
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(&format!("db-{o}")) && is_pod_ready(p))
    }

    fn names(&self) -> BTreeSet<String> {
        self.pods
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect()
    }
}

fn plan(s: &StatefulSet, w: &World) -> StatefulSetPlan {
    plan_statefulset(s, &w.pods, Some(&w.claims), at(1000))
}

fn make_ready(w: &mut World) {
    for p in &mut w.pods {
        if !is_pod_ready(p) {
            *p = running(p.clone(), true, 0, 0);
        }
    }
}

#[test]
fn ordinals_parse_strictly() {
    assert_eq!(ordinal_of("db", "db-0"), Some(0));
    assert_eq!(ordinal_of("db", "db-12"), Some(12));
    assert_eq!(ordinal_of("db", "db-01"), None);
    assert_eq!(ordinal_of("db", "db-x"), None);
    assert_eq!(ordinal_of("db", "dbx-1"), None);
    assert_eq!(ordinal_of("db", "db-"), None);
    assert_eq!(ordinal_of("db", "db--1"), None);
}

#[test]
fn ordered_ready_creates_one_at_a_time_with_stable_identity() {
    let s = set(3, "OrderedReady", "v1");
    let mut w = World::default();
    let mut order = Vec::new();
    for _ in 0..3 {
        let p = plan(&s, &w);
        assert_eq!(p.create.len(), 1, "{p:?}");
        order.push(p.create[0].metadata.name.clone().unwrap());
        w.apply(&p);
        // Not ready yet: nothing more.
        assert!(plan(&s, &w).create.is_empty());
        make_ready(&mut w);
    }
    assert_eq!(order, ["db-0", "db-1", "db-2"]);
    let pod = w
        .pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("db-1"))
        .unwrap();
    let l = pod.metadata.labels.as_ref().unwrap();
    assert_eq!(l[POD_NAME_LABEL], "db-1");
    assert_eq!(l[POD_INDEX_LABEL], "1");
    assert_eq!(l[REVISION_LABEL], update_revision(&s));
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("db-1"));
    assert_eq!(spec.subdomain.as_deref(), Some("db-hl"));
    let vol = &spec.volumes.as_ref().unwrap()[0];
    assert_eq!(
        vol.persistent_volume_claim.as_ref().unwrap().claim_name,
        "data-db-1"
    );
    let want = ["data-db-0", "data-db-1", "data-db-2"].map(String::from);
    assert_eq!(w.claims, BTreeSet::from(want));
    let p = plan(&s, &w);
    assert!(p.create.is_empty() && p.delete.is_empty());
    let st = p.status.unwrap();
    assert_eq!(
        (st.replicas, st.ready_replicas, st.updated_replicas),
        (3, Some(3), Some(3))
    );
}

#[test]
fn a_deleted_pod_comes_back_with_its_name_and_keeps_its_claim() {
    let s = set(3, "OrderedReady", "v1");
    let mut w = World::default();
    for _ in 0..3 {
        w.apply(&plan(&s, &w));
        make_ready(&mut w);
    }
    w.pods
        .retain(|p| p.metadata.name.as_deref() != Some("db-1"));
    let p = plan(&s, &w);
    assert_eq!(p.create.len(), 1);
    assert_eq!(p.create[0].metadata.name.as_deref(), Some("db-1"));
    assert!(p.create_claims.is_empty(), "the claim exists already");
}

#[test]
fn a_failed_pod_is_deleted_then_re_created() {
    let s = set(2, "OrderedReady", "v1");
    let mut w = World::default();
    for _ in 0..2 {
        w.apply(&plan(&s, &w));
        make_ready(&mut w);
    }
    w.pods[0].status.as_mut().unwrap().phase = Some("Failed".into());
    let p = plan(&s, &w);
    assert_eq!(p.delete.len(), 1);
    assert!(p.create.is_empty());
    w.apply(&p);
    assert_eq!(
        plan(&s, &w).create[0].metadata.name.as_deref(),
        Some("db-0")
    );
}

#[test]
fn scale_down_removes_the_highest_ordinal_first_one_at_a_time() {
    let mut s = set(4, "OrderedReady", "v1");
    let mut w = World::default();
    for _ in 0..4 {
        w.apply(&plan(&s, &w));
        make_ready(&mut w);
    }
    s.spec.as_mut().unwrap().replicas = Some(1);
    let mut removed = Vec::new();
    for _ in 0..3 {
        let p = plan(&s, &w);
        assert_eq!(p.delete.len(), 1, "{p:?}");
        removed.push(p.delete[0].metadata.name.clone().unwrap());
        w.apply(&p);
    }
    assert_eq!(removed, ["db-3", "db-2", "db-1"]);
    assert!(plan(&s, &w).delete.is_empty());
}

#[test]
fn ordered_scale_down_waits_while_a_pod_is_unready() {
    let mut s = set(3, "OrderedReady", "v1");
    let mut w = World::default();
    for _ in 0..3 {
        w.apply(&plan(&s, &w));
        make_ready(&mut w);
    }
    w.pods[0] = running(w.pods[0].clone(), false, 0, 0);
    s.spec.as_mut().unwrap().replicas = Some(2);
    assert!(plan(&s, &w).delete.is_empty());
}

#[test]
fn parallel_creates_and_deletes_everything_at_once() {
    let mut s = set(3, "Parallel", "v1");
    let mut w = World::default();
    let p = plan(&s, &w);
    assert_eq!(p.create.len(), 3);
    w.apply(&p);
    s.spec.as_mut().unwrap().replicas = Some(0);
    assert_eq!(plan(&s, &w).delete.len(), 3);
}

#[test]
fn rolling_update_goes_from_the_highest_ordinal_down_and_honours_the_partition() {
    let s1 = set(3, "OrderedReady", "v1");
    let mut w = World::default();
    for _ in 0..3 {
        w.apply(&plan(&s1, &w));
        make_ready(&mut w);
    }
    let mut s2 = set(3, "OrderedReady", "v2");
    s2.status = plan(&s1, &w).status;
    let v2 = update_revision(&s2);
    assert_ne!(v2, update_revision(&s1));
    s2.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy {
            partition: Some(1),
            max_unavailable: None,
        }),
    });
    let mut replaced = Vec::new();
    for _ in 0..5 {
        let p = plan(&s2, &w);
        for d in &p.delete {
            replaced.push(d.metadata.name.clone().unwrap());
        }
        w.apply(&p);
        // The re-creation happens on the next round; then it becomes ready.
        w.apply(&plan(&s2, &w));
        make_ready(&mut w);
    }
    assert_eq!(replaced, ["db-2", "db-1"]);
    let st = plan(&s2, &w).status.unwrap();
    assert_eq!(st.updated_replicas, Some(2));
    assert_eq!(st.update_revision.as_deref(), Some(v2.as_str()));
    assert_ne!(st.current_revision.as_deref(), Some(v2.as_str()));
}

#[test]
fn on_delete_never_replaces_a_pod_by_itself() {
    let s1 = set(2, "OrderedReady", "v1");
    let mut w = World::default();
    for _ in 0..2 {
        w.apply(&plan(&s1, &w));
        make_ready(&mut w);
    }
    let mut s2 = set(2, "OrderedReady", "v2");
    s2.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("OnDelete".into()),
        rolling_update: None,
    });
    assert!(plan(&s2, &w).delete.is_empty());
}

proptest! {
    /// Whatever the replica counts and whichever pods turn ready: no two pods ever share an
    /// ordinal, OrderedReady never creates ordinal k while a lower one is not Running and
    /// Ready, never deletes more than one pod a round, and the set converges.
    #[test]
    fn invariants_hold(
        policy in prop_oneof![Just("OrderedReady"), Just("Parallel")],
        targets in proptest::collection::vec(0i32..6, 1..4),
        readiness in proptest::collection::vec(any::<bool>(), 60),
    ) {
        let mut w = World::default();
        let mut luck = readiness.into_iter().cycle();
        for target in targets {
            let s = set(target, policy, "v1");
            for _ in 0..30 {
                let p = plan(&s, &w);
                if policy == "OrderedReady" {
                    prop_assert!(p.create.len() <= 1 && p.delete.len() <= 1);
                    for c in &p.create {
                        let k = ordinal_of("db", c.metadata.name.as_deref().unwrap()).unwrap();
                        for lower in 0..k {
                            prop_assert!(w.ordinal_ready(lower), "created {k} before {lower} ready");
                        }
                    }
                }
                w.apply(&p);
                prop_assert_eq!(w.names().len(), w.pods.len());
                for pod in &mut w.pods {
                    if !is_pod_ready(pod) && luck.next().unwrap() {
                        *pod = running(pod.clone(), true, 0, 0);
                    }
                }
            }
            make_ready(&mut w);
            for _ in 0..10 {
                w.apply(&plan(&s, &w));
                make_ready(&mut w);
            }
            let want: BTreeSet<String> = (0..target).map(|o| format!("db-{o}")).collect();
            prop_assert_eq!(w.names(), want);
        }
    }
}
