//! The Deployment controller's decision, pure: given a Deployment, every ReplicaSet and pod of
//! its namespace and the clock, which ReplicaSet to create, which to rescale or re-annotate,
//! which old ones to delete, the status to write and when to look again — Kubernetes'
//! `syncDeployment` (sync.go, rolling.go, recreate.go, progress.go) in one pass.
//!
//! Keel's choices, where Kubernetes leaves room:
//! - Only ReplicaSets *controlled* by the Deployment count (no adoption or release by selector).
//! - Counts come from the pods, not from the ReplicaSets' (lagging) status: a ReplicaSet's pod
//!   footprint is max(spec.replicas, its active pods), so a surge decision also covers pods a
//!   scale-down has not removed yet; its availability is the worst case after its pending
//!   scale-down (available pods minus the surplus over spec.replicas). Terminating pods are
//!   not counted, as in Kubernetes.
//! - Scaling the Deployment (a changed `spec.replicas` with the same template) goes to the only
//!   active ReplicaSet, or is spread over the active ones in proportion to their size during a
//!   RollingUpdate (Kubernetes' proportional scaling, leftovers to the largest).
//! - `spec.rollbackTo` does not exist in apps/v1: `keelctl rollout undo` writes the old template
//!   into the Deployment, and this plan then treats it like any template change (the matching
//!   old ReplicaSet becomes the new one and takes the next revision).
//! - The Deployment's own `deployment.kubernetes.io/revision` annotation is not written (the plan
//!   writes no Deployment spec/metadata); `keelctl rollout history` reads the ReplicaSets.
//! - A name collision of the new ReplicaSet bumps `status.collisionCount` (the hash changes).

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::controller_ref::{controller_uid, is_controlled_by};
use super::deployment_annotations::{
    int_annotation, replicas_annotations_need_update, set_replicas_annotations,
    DESIRED_REPLICAS_ANNOTATION,
};
use super::deployment_status::{
    calculate_status, check_paused_conditions, deployment_complete, same_status,
    stuck_requeue_after, sync_progress, RolloutCounts,
};
use super::pod_readiness::{
    is_pod_active, is_pod_available, is_pod_ready, pod_phase, seconds_until_available,
};
use super::pod_template_hash::templates_equal_ignoring_hash;
use super::replicaset_plan::desired_replicas;
use super::rollout_limits::{deployment_replicas, is_recreate, max_surge, max_unavailable};

/// What one reconcile of a Deployment should do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentPlan {
    /// The new ReplicaSet for the current template, when it does not exist yet.
    pub create_replicaset: Option<ReplicaSet>,
    /// Existing ReplicaSets with a changed `spec.replicas` and/or annotations (full objects
    /// with the resourceVersion they were read at, so the update is a compare-and-swap).
    pub update_replicasets: Vec<ReplicaSet>,
    /// Old ReplicaSets beyond `revisionHistoryLimit`, scaled to 0 and without pods.
    pub delete_replicasets: Vec<ReplicaSet>,
    /// The status to write, only when it changed.
    pub status: Option<DeploymentStatus>,
    /// Look again after this many seconds (a pod becoming available after minReadySeconds,
    /// a progress deadline to check).
    pub requeue_after_seconds: Option<u32>,
}

/// The pods of one ReplicaSet, counted.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PodCounts {
    pub active: i32,
    pub ready: i32,
    pub available: i32,
    /// Not finished (Succeeded/Failed), terminating ones included.
    pub present: i32,
}

/// The new ReplicaSet's name is taken by a ReplicaSet with another template.
pub(super) struct Collision;

/// A reconcile in progress: working copies of the owned ReplicaSets (oldest first; a created
/// one last) and the working status.
pub(super) struct Rollout<'a> {
    pub d: &'a Deployment,
    pub now: Timestamp,
    pub replicas: i32,
    pub surge: i32,
    pub rss: Vec<ReplicaSet>,
    pub originals: Vec<ReplicaSet>,
    pub counts: Vec<PodCounts>,
    pub new_idx: Option<usize>,
    pub status: DeploymentStatus,
    pub namespace_rs_names: Vec<&'a str>,
}

/// Plans one reconcile of `d`. `replicasets` and `pods` are every one of its namespace
/// (unfiltered). A Deployment being deleted plans nothing.
pub fn plan_deployment(
    d: &Deployment,
    replicasets: &[ReplicaSet],
    pods: &[Pod],
    now: Timestamp,
) -> DeploymentPlan {
    if d.metadata.deletion_timestamp.is_some() || d.spec.is_none() {
        return DeploymentPlan::default();
    }
    let mut r = Rollout::new(d, replicasets, pods, now);
    check_paused_conditions(d, &mut r.status, now);
    let paused = d.spec.as_ref().and_then(|s| s.paused) == Some(true);
    let outcome = if paused || r.is_scaling_event() {
        r.sync_revision(false).map(|()| {
            r.scale();
            if paused {
                r.cleanup_candidates()
            } else {
                Vec::new()
            }
        })
    } else if is_recreate(d) {
        r.recreate()
    } else {
        r.rolling()
    };
    match outcome {
        Ok(deletes) => r.finish(!paused, deletes, pods),
        Err(Collision) => r.collided(),
    }
}

impl<'a> Rollout<'a> {
    fn new(
        d: &'a Deployment,
        replicasets: &'a [ReplicaSet],
        pods: &[Pod],
        now: Timestamp,
    ) -> Rollout<'a> {
        let uid = d.metadata.uid.as_deref().unwrap_or("");
        let mut rss: Vec<ReplicaSet> = replicasets
            .iter()
            .filter(|rs| is_controlled_by(&rs.metadata, uid))
            .cloned()
            .collect();
        rss.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        let min_ready = d
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0);
        let counts = rss
            .iter()
            .map(|rs| count_pods(rs, pods, min_ready, now))
            .collect();
        let template = d.spec.as_ref().map(|s| &s.template);
        let new_idx = rss.iter().position(|rs| {
            match (template, rs.spec.as_ref().and_then(|s| s.template.as_ref())) {
                (Some(t), Some(rt)) => templates_equal_ignoring_hash(t, rt),
                _ => false,
            }
        });
        Rollout {
            d,
            now,
            replicas: deployment_replicas(d),
            surge: max_surge(d),
            originals: rss.clone(),
            rss,
            counts,
            new_idx,
            status: d.status.clone().unwrap_or_default(),
            namespace_rs_names: replicasets
                .iter()
                .filter_map(|rs| rs.metadata.name.as_deref())
                .collect(),
        }
    }

    pub fn spec(&self, i: usize) -> i32 {
        desired_replicas(&self.rss[i])
    }

    /// Pods the ReplicaSet may have: its spec, or more while a scale-down is pending.
    pub fn footprint(&self, i: usize) -> i32 {
        self.spec(i).max(self.counts[i].active)
    }

    /// Available pods that survive the ReplicaSet's pending scale-down whatever it deletes.
    pub fn guaranteed_available(&self, i: usize) -> i32 {
        let surplus = (self.counts[i].active - self.spec(i)).max(0);
        (self.counts[i].available - surplus).max(0)
    }

    pub fn old_indices(&self) -> Vec<usize> {
        (0..self.rss.len())
            .filter(|i| Some(*i) != self.new_idx)
            .collect()
    }

    /// Sets the ReplicaSet's size, with the Deployment's replica bookkeeping annotations;
    /// returns whether the size changed.
    pub fn scale_rs(&mut self, i: usize, size: i32) -> bool {
        let size = size.max(0);
        let max = self.replicas + self.surge;
        let resized = self.spec(i) != size;
        if resized || replicas_annotations_need_update(&self.rss[i], self.replicas, max) {
            self.rss[i]
                .spec
                .get_or_insert_with(ReplicaSetSpec::default)
                .replicas = Some(size);
            set_replicas_annotations(&mut self.rss[i], self.replicas, max);
        }
        resized
    }

    /// A ReplicaSet with replicas whose desired-replicas annotation differs from the
    /// Deployment's replicas: the user scaled the Deployment.
    fn is_scaling_event(&self) -> bool {
        (0..self.rss.len()).any(|i| {
            self.spec(i) > 0
                && int_annotation(&self.rss[i], DESIRED_REPLICAS_ANNOTATION)
                    .is_some_and(|want| want != self.replicas)
        })
    }

    fn counts(&self) -> RolloutCounts {
        let mut c = RolloutCounts::default();
        for (i, pc) in self.counts.iter().enumerate() {
            c.replicas += pc.active;
            c.ready += pc.ready;
            c.available += pc.available;
            c.desired_total += self.spec(i);
            if Some(i) == self.new_idx {
                c.updated = pc.active;
            }
        }
        c
    }

    /// The status the working ReplicaSets and pods give (without progress conditions).
    pub fn current_status(&self) -> DeploymentStatus {
        calculate_status(
            self.d,
            &self.status,
            self.counts(),
            max_unavailable(self.d),
            self.now,
        )
    }

    pub fn is_complete(&self) -> bool {
        deployment_complete(self.d, &self.current_status())
    }

    fn finish(self, rollout: bool, deletes: Vec<usize>, pods: &[Pod]) -> DeploymentPlan {
        let previous = self.status.clone();
        let mut status = self.current_status();
        if rollout {
            let new_name = self
                .new_idx
                .and_then(|i| self.rss[i].metadata.name.as_deref());
            sync_progress(self.d, &previous, &mut status, new_name, self.now);
        }
        let original = self.d.status.clone().unwrap_or_default();
        let stuck = if rollout {
            stuck_requeue_after(self.d, &original, &status, self.now)
        } else {
            None
        };
        let min_ready = self
            .d
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0);
        let uids: Vec<&str> = self
            .rss
            .iter()
            .filter_map(|rs| rs.metadata.uid.as_deref())
            .collect();
        let available_soon = pods
            .iter()
            .filter(|p| is_pod_active(p))
            .filter(|p| controller_uid(&p.metadata).is_some_and(|u| uids.contains(&u)))
            .filter_map(|p| seconds_until_available(p, min_ready, self.now))
            .min();
        let mut plan = DeploymentPlan {
            requeue_after_seconds: [stuck, available_soon].into_iter().flatten().min(),
            status: (!same_status(&original, &status)).then_some(status),
            ..Default::default()
        };
        for (i, rs) in self.rss.into_iter().enumerate() {
            match self.originals.get(i) {
                None => plan.create_replicaset = Some(rs),
                Some(_) if deletes.contains(&i) => plan.delete_replicasets.push(rs),
                Some(orig) if *orig != rs => plan.update_replicasets.push(rs),
                Some(_) => {}
            }
        }
        plan
    }

    /// The new ReplicaSet's name is taken: change the hash by counting the collision.
    fn collided(self) -> DeploymentPlan {
        let mut status = self.d.status.clone().unwrap_or_default();
        status.collision_count = Some(status.collision_count.unwrap_or(0).saturating_add(1));
        DeploymentPlan {
            status: Some(status),
            requeue_after_seconds: Some(1),
            ..Default::default()
        }
    }
}

fn count_pods(rs: &ReplicaSet, pods: &[Pod], min_ready: i32, now: Timestamp) -> PodCounts {
    let uid = rs.metadata.uid.as_deref().unwrap_or("");
    let mut c = PodCounts::default();
    for p in pods.iter().filter(|p| is_controlled_by(&p.metadata, uid)) {
        if !matches!(pod_phase(p), "Succeeded" | "Failed") {
            c.present += 1;
        }
        if !is_pod_active(p) {
            continue;
        }
        c.active += 1;
        c.ready += i32::from(is_pod_ready(p));
        c.available += i32::from(is_pod_available(p, min_ready, now));
    }
    c
}

#[cfg(test)]
#[path = "deployment_plan_tests.rs"]
mod tests;
