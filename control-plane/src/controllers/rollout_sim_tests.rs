//! An in-memory world for the workload plans: a Deployment, its ReplicaSets and pods, a
//! clock. Each step applies one plan the way the controllers' shells do (create, CAS update,
//! delete, status), or advances the clock so that pods start and become ready. Tests drive it
//! in fixed or random interleavings and check rollout invariants after every step.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use proptest::prelude::*;

use super::controller_ref::is_controlled_by;
use super::deployment_plan::plan_deployment;
use super::plan_test_support::*;
use super::pod_readiness::{is_pod_active, is_pod_available};
use super::replicaset_plan::plan_replicaset;
use super::rollout_limits::{deployment_replicas, max_surge, max_unavailable};

/// The simulated namespace.
#[derive(Debug, Clone)]
pub struct World {
    /// Seconds since the epoch.
    pub now: i64,
    pub deployment: Deployment,
    pub replicasets: Vec<ReplicaSet>,
    pub pods: Vec<Pod>,
    /// A pod becomes Running and Ready this many seconds after its creation.
    pub ready_after: i64,
    /// Pods running these images start but never become ready.
    pub broken_images: Vec<String>,
    next_id: u64,
}

fn image_of(p: &Pod) -> &str {
    p.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.as_deref())
        .unwrap_or("")
}

impl World {
    pub fn new(deployment: Deployment) -> World {
        World {
            now: 1_000,
            deployment,
            replicasets: Vec::new(),
            pods: Vec::new(),
            ready_after: 1,
            broken_images: Vec::new(),
            next_id: 0,
        }
    }

    fn next_version(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Runs the Deployment plan and applies it; returns whether anything was written.
    pub fn sync_deployment(&mut self) -> bool {
        let plan = plan_deployment(
            &self.deployment,
            &self.replicasets,
            &self.pods,
            at(self.now),
        );
        let mut wrote = false;
        if let Some(mut rs) = plan.create_replicaset {
            let name = rs.metadata.name.clone().unwrap();
            assert!(
                !self
                    .replicasets
                    .iter()
                    .any(|r| r.metadata.name.as_deref() == Some(&name)),
                "{name} exists"
            );
            rs.metadata.uid = Some(format!("uid-{name}"));
            rs.metadata.creation_timestamp = Some(Time(at(self.now)));
            rs.metadata.generation = Some(1);
            rs.metadata.resource_version = Some(self.next_version());
            self.replicasets.push(rs);
            wrote = true;
        }
        for rs in plan.update_replicasets {
            let version = self.next_version();
            let slot = self
                .replicasets
                .iter_mut()
                .find(|r| r.metadata.uid == rs.metadata.uid)
                .expect("updated ReplicaSet exists");
            assert_eq!(
                slot.metadata.resource_version, rs.metadata.resource_version,
                "CAS"
            );
            let generation =
                slot.metadata.generation.unwrap_or(1) + i64::from(slot.spec != rs.spec);
            *slot = rs;
            slot.metadata.generation = Some(generation);
            slot.metadata.resource_version = Some(version);
            wrote = true;
        }
        for rs in plan.delete_replicasets {
            self.replicasets
                .retain(|r| r.metadata.uid != rs.metadata.uid);
            let uid = rs.metadata.uid.clone().unwrap_or_default();
            self.pods.retain(|p| !is_controlled_by(&p.metadata, &uid));
            wrote = true;
        }
        if let Some(status) = plan.status {
            self.deployment.status = Some(status);
            wrote = true;
        }
        wrote
    }

    /// Runs the plan of the `i`th ReplicaSet and applies it.
    pub fn sync_replicaset(&mut self, i: usize) -> bool {
        let plan = plan_replicaset(&self.replicasets[i], &self.pods, at(self.now));
        let mut wrote = false;
        for mut p in plan.create {
            self.next_id += 1;
            let name = format!(
                "{}{}",
                p.metadata.generate_name.clone().unwrap_or_default(),
                self.next_id
            );
            p.metadata.uid = Some(format!("uid-{name}"));
            p.metadata.name = Some(name);
            p.metadata.creation_timestamp = Some(Time(at(self.now)));
            p.status = Some(PodStatus {
                phase: Some("Pending".into()),
                ..Default::default()
            });
            self.pods.push(p);
            wrote = true;
        }
        for p in plan.delete {
            self.pods.retain(|q| q.metadata.uid != p.metadata.uid);
            wrote = true;
        }
        if let Some(status) = plan.status {
            self.replicasets[i].status = Some(status);
            wrote = true;
        }
        wrote
    }

    pub fn sync_replicasets(&mut self) -> bool {
        let mut wrote = false;
        for i in 0..self.replicasets.len() {
            wrote |= self.sync_replicaset(i);
        }
        wrote
    }

    /// Advances the clock; pods old enough start, and become ready unless their image is
    /// broken. Returns whether a pod changed.
    pub fn tick(&mut self, seconds: i64) -> bool {
        self.now += seconds;
        let (now, ready_after) = (self.now, self.ready_after);
        let mut changed = false;
        for p in &mut self.pods {
            let created = p
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(0, |t| t.0.as_second());
            let phase = p.status.as_ref().and_then(|s| s.phase.clone());
            if phase.as_deref() != Some("Pending") || now < created + ready_after {
                continue;
            }
            let ready = !self.broken_images.iter().any(|b| b == image_of(p));
            if let Some(s) = p.spec.as_mut() {
                s.node_name = Some("node-1".into());
            }
            p.status = Some(PodStatus {
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    last_transition_time: Some(Time(at(now))),
                    ..Default::default()
                }]),
                ..Default::default()
            });
            changed = true;
        }
        changed
    }

    /// Steps (Deployment, every ReplicaSet, one second) until a round changes nothing,
    /// calling `check` after every step; panics after `max_rounds`.
    pub fn settle(&mut self, max_rounds: usize, mut check: impl FnMut(&World)) {
        for _ in 0..max_rounds {
            let mut changed = self.sync_deployment();
            check(self);
            for i in 0..self.replicasets.len() {
                changed |= self.sync_replicaset(i);
                check(self);
            }
            changed |= self.tick(1);
            check(self);
            if !changed {
                return;
            }
        }
        panic!("no steady state after {max_rounds} rounds: {self:#?}");
    }

    pub fn active_pods(&self) -> Vec<&Pod> {
        self.pods.iter().filter(|p| is_pod_active(p)).collect()
    }

    pub fn available_pods(&self) -> usize {
        let min_ready = self
            .deployment
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0);
        self.active_pods()
            .into_iter()
            .filter(|p| is_pod_available(p, min_ready, at(self.now)))
            .count()
    }

    /// Active pods running `image`.
    pub fn pods_with_image(&self, image: &str) -> usize {
        self.active_pods()
            .into_iter()
            .filter(|p| image_of(p) == image)
            .count()
    }

    pub fn set_image(&mut self, image: &str) {
        let spec = self.deployment.spec.as_mut().unwrap();
        spec.template.spec.as_mut().unwrap().containers[0].image = Some(image.into());
        self.bump_generation();
    }

    pub fn set_replicas(&mut self, replicas: i32) {
        self.deployment.spec.as_mut().unwrap().replicas = Some(replicas);
        self.bump_generation();
    }

    pub fn bump_generation(&mut self) {
        let g = self.deployment.metadata.generation.unwrap_or(1);
        self.deployment.metadata.generation = Some(g + 1);
    }

    /// The rolling-update bounds, checked against the pods that exist.
    pub fn check_rolling_bounds(&self, min_available_from_now: bool) {
        let d = &self.deployment;
        let replicas = deployment_replicas(d) as usize;
        let ceiling = replicas + max_surge(d) as usize;
        let active = self.active_pods().len();
        assert!(
            active <= ceiling,
            "{active} pods > {ceiling} at t={}",
            self.now
        );
        if min_available_from_now {
            let floor = replicas.saturating_sub(max_unavailable(d) as usize);
            let available = self.available_pods();
            assert!(
                available >= floor,
                "{available} available < {floor} at t={}",
                self.now
            );
        }
    }
}

/// A Deployment brought to `replicas` ready pods of `v1`.
pub fn settled_world(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> World {
    let mut w = World::new(deployment(replicas, "v1", surge, unavailable));
    w.settle(200, |_| {});
    assert_eq!(w.pods_with_image("v1"), replicas as usize);
    assert_eq!(w.available_pods(), replicas as usize);
    w
}

/// The rollout finished: every pod runs `image`, all available, status complete.
pub fn assert_rolled_out(w: &World, image: &str) {
    let replicas = deployment_replicas(&w.deployment) as usize;
    assert_eq!(w.active_pods().len(), replicas, "{w:#?}");
    assert_eq!(w.pods_with_image(image), replicas);
    assert_eq!(w.available_pods(), replicas);
    let status = w.deployment.status.clone().unwrap();
    assert_eq!(status.updated_replicas, Some(replicas as i32));
    assert_eq!(status.available_replicas, Some(replicas as i32));
    assert_eq!(status.observed_generation, w.deployment.metadata.generation);
}

fn bound() -> impl Strategy<Value = IntOrString> {
    prop_oneof![
        (0i32..4).prop_map(IntOrString::Int),
        prop::sample::select(vec!["0%", "10%", "25%", "50%", "100%"])
            .prop_map(|s| IntOrString::String(s.into())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A rolling update in lock-step rounds never exceeds replicas+maxSurge pods nor drops
    /// below replicas-maxUnavailable available ones, and finishes on the new template.
    #[test]
    fn rolling_update_respects_surge_and_unavailability(
        replicas in 0i32..9,
        surge in bound(),
        unavailable in bound(),
    ) {
        let mut w = settled_world(replicas, surge, unavailable);
        w.set_image("v2");
        w.settle(400, |w| w.check_rolling_bounds(true));
        assert_rolled_out(&w, "v2");
    }

    /// The same bounds hold when the Deployment, the ReplicaSets and the clock take turns in
    /// any order (a ReplicaSet may lag behind the Deployment's decisions, and the reverse).
    #[test]
    fn rolling_update_bounds_hold_in_any_interleaving(
        replicas in 1i32..8,
        surge in bound(),
        unavailable in bound(),
        steps in prop::collection::vec(0u8..8, 0..300),
    ) {
        let mut w = settled_world(replicas, surge, unavailable);
        w.set_image("v2");
        for s in steps {
            match s {
                0 | 1 => { w.sync_deployment(); }
                7 => { w.tick(1); }
                k => {
                    let n = w.replicasets.len();
                    if n > 0 {
                        w.sync_replicaset(usize::from(k) % n);
                    }
                }
            }
            w.check_rolling_bounds(true);
        }
        w.settle(400, |w| w.check_rolling_bounds(true));
        assert_rolled_out(&w, "v2");
    }

    /// Recreate never runs old and new pods at once, in any interleaving.
    #[test]
    fn recreate_never_mixes_templates(
        replicas in 1i32..6,
        steps in prop::collection::vec(0u8..8, 0..200),
    ) {
        let mut d = deployment(replicas, "v1", IntOrString::Int(1), IntOrString::Int(1));
        let strategy = d.spec.as_mut().unwrap().strategy.as_mut().unwrap();
        strategy.type_ = Some("Recreate".into());
        strategy.rolling_update = None;
        let mut w = World::new(d);
        w.settle(200, |_| {});
        w.set_image("v2");
        let never_mixed = |w: &World| {
            assert!(
                w.pods_with_image("v1") == 0 || w.pods_with_image("v2") == 0,
                "old and new pods at t={}", w.now
            );
        };
        for s in steps {
            match s {
                0 | 1 => { w.sync_deployment(); }
                7 => { w.tick(1); }
                k => {
                    let n = w.replicasets.len();
                    if n > 0 {
                        w.sync_replicaset(usize::from(k) % n);
                    }
                }
            }
            never_mixed(&w);
        }
        w.settle(200, never_mixed);
        assert_rolled_out(&w, "v2");
    }
}
