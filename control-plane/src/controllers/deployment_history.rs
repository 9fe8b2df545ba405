//! The new ReplicaSet and the revision history of a [`Rollout`] in progress: the new
//! ReplicaSet takes the next revision and the Deployment's annotations (created with the
//! pod-template-hash when missing), and old ReplicaSets beyond `revisionHistoryLimit` go.

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::controller_ref::controller_ref;
use super::deployment_annotations::{
    copy_deployment_annotations, raise_revision, revision_of, set_replicas_annotations,
};
use super::deployment_plan::{Collision, PodCounts, Rollout};
use super::deployment_status::{
    condition, new_condition, progress_deadline, set_condition, FOUND_NEW_RS, NEW_RS_CREATED,
    PROGRESSING,
};
use super::pod_template_hash::{labels_with_hash, pod_template_hash};
use super::rollout_limits::is_recreate;

/// Kubernetes' default `revisionHistoryLimit`.
const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;

impl Rollout<'_> {
    /// Kubernetes' `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet takes the next
    /// revision and the Deployment's annotations; with `create`, a missing one is created.
    pub fn sync_revision(&mut self, create: bool) -> Result<(), Collision> {
        let next_revision = self
            .old_indices()
            .iter()
            .map(|&i| revision_of(&self.rss[i]))
            .max()
            .unwrap_or(0)
            + 1;
        let has_deadline = progress_deadline(self.d).is_some();
        let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
        if let Some(i) = self.new_idx {
            let rs = &mut self.rss[i];
            copy_deployment_annotations(self.d.metadata.annotations.as_ref(), rs);
            raise_revision(rs, next_revision);
            let spec = rs.spec.get_or_insert_with(ReplicaSetSpec::default);
            if spec.min_ready_seconds.unwrap_or(0) != min_ready.unwrap_or(0) {
                spec.min_ready_seconds = min_ready;
            }
            if has_deadline && condition(&self.status, PROGRESSING).is_none() {
                let name = rs.metadata.name.clone().unwrap_or_default();
                let msg = format!("Found new replica set \"{name}\"");
                let cond = new_condition(PROGRESSING, "True", FOUND_NEW_RS, msg, self.now);
                set_condition(&mut self.status, cond);
            }
            return Ok(());
        }
        if !create {
            return Ok(());
        }
        let rs = self.new_replicaset(next_revision)?;
        if has_deadline {
            let name = rs.metadata.name.clone().unwrap_or_default();
            let msg = format!("Created new replica set \"{name}\"");
            let cond = new_condition(PROGRESSING, "True", NEW_RS_CREATED, msg, self.now);
            set_condition(&mut self.status, cond);
        }
        self.rss.push(rs);
        self.counts.push(PodCounts::default());
        self.new_idx = Some(self.rss.len() - 1);
        Ok(())
    }

    fn new_replicaset(&self, revision: i64) -> Result<ReplicaSet, Collision> {
        let Some(spec) = self.d.spec.as_ref() else {
            return Err(Collision);
        };
        let hash = pod_template_hash(&spec.template, self.status.collision_count);
        let name = format!(
            "{}-{hash}",
            self.d.metadata.name.as_deref().unwrap_or_default()
        );
        if self.namespace_rs_names.contains(&name.as_str()) {
            return Err(Collision);
        }
        let mut template = spec.template.clone();
        let tmeta = template.metadata.get_or_insert_with(ObjectMeta::default);
        let labels = labels_with_hash(tmeta.labels.as_ref(), &hash);
        tmeta.labels = Some(labels.clone());
        let mut selector = spec.selector.clone();
        selector.match_labels = Some(labels_with_hash(selector.match_labels.as_ref(), &hash));
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: self.d.metadata.namespace.clone(),
                labels: Some(labels),
                owner_references: Some(vec![controller_ref(
                    "apps/v1",
                    "Deployment",
                    &self.d.metadata,
                )]),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        copy_deployment_annotations(self.d.metadata.annotations.as_ref(), &mut rs);
        raise_revision(&mut rs, revision);
        set_replicas_annotations(&mut rs, self.replicas, self.replicas + self.surge);
        let size = if is_recreate(self.d) {
            self.replicas
        } else {
            let current: i32 = (0..self.rss.len()).map(|i| self.footprint(i)).sum();
            (self.replicas + self.surge - current).clamp(0, self.replicas)
        };
        if let Some(s) = rs.spec.as_mut() {
            s.replicas = Some(size);
        }
        Ok(rs)
    }

    /// `cleanupDeployment`: old ReplicaSets beyond the history limit, lowest revision first,
    /// that are scaled to 0, have no pods, saw their last change, and are not changed now.
    pub fn cleanup_candidates(&self) -> Vec<usize> {
        let limit = self
            .d
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT)
            .max(0);
        let mut cleanable: Vec<usize> = self
            .old_indices()
            .into_iter()
            .filter(|&i| self.rss[i].metadata.deletion_timestamp.is_none())
            .collect();
        let excess = cleanable
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        cleanable.sort_by_key(|&i| revision_of(&self.rss[i]));
        cleanable
            .into_iter()
            .take(excess)
            .filter(|&i| {
                let rs = &self.rss[i];
                let status = rs.status.clone().unwrap_or_default();
                self.spec(i) == 0
                    && status.replicas == 0
                    && rs.metadata.generation.unwrap_or(0)
                        <= status.observed_generation.unwrap_or(0)
                    && self.counts[i].present == 0
                    && self.rss[i] == self.originals[i]
            })
            .collect()
    }
}
