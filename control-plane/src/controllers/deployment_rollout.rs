//! The Deployment strategies on a [`Rollout`] in progress — RollingUpdate (rolling.go),
//! Recreate (recreate.go) and scaling the Deployment (sync.go's `scale`, with proportional
//! scaling during a RollingUpdate). Each returns the old ReplicaSets to delete (history cleanup,
//! only once the rollout is complete) or the name collision of a new ReplicaSet.

use std::cmp::Ordering;

use super::deployment_annotations::{
    int_annotation, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION,
};
use super::deployment_plan::{Collision, Rollout};
use super::rollout_limits::{is_recreate, max_unavailable};

impl Rollout<'_> {
    /// One RollingUpdate step: create or scale up the new ReplicaSet within maxSurge; if it
    /// did not grow, scale old ones down as availability allows (unhealthy replicas first);
    /// if nothing moved and the rollout is complete, clean up history.
    pub(super) fn rolling(&mut self) -> Result<Vec<usize>, Collision> {
        self.sync_revision(true)?;
        if self.reconcile_new() || self.reconcile_old() {
            return Ok(Vec::new());
        }
        Ok(self.cleanup_if_complete())
    }

    /// One Recreate step: scale every old ReplicaSet to 0; once none of their pods remain
    /// (terminating ones included), create or scale up the new one.
    pub(super) fn recreate(&mut self) -> Result<Vec<usize>, Collision> {
        self.sync_revision(false)?;
        let mut scaled = false;
        for i in self.old_indices() {
            if self.spec(i) > 0 {
                scaled |= self.scale_rs(i, 0);
            }
        }
        if scaled || self.old_pods_running() {
            return Ok(Vec::new());
        }
        match self.new_idx {
            None => self.sync_revision(true)?,
            Some(i) => {
                self.scale_rs(i, self.replicas);
            }
        }
        Ok(self.cleanup_if_complete())
    }

    fn cleanup_if_complete(&self) -> Vec<usize> {
        if self.is_complete() {
            self.cleanup_candidates()
        } else {
            Vec::new()
        }
    }

    fn old_pods_running(&self) -> bool {
        self.old_indices().into_iter().any(|i| {
            self.counts[i].present > 0
                || self.rss[i].status.as_ref().is_some_and(|s| s.replicas > 0)
        })
    }

    /// Scales the new ReplicaSet toward `spec.replicas` within maxSurge (down at once when
    /// above); returns whether its size changed.
    fn reconcile_new(&mut self) -> bool {
        let Some(i) = self.new_idx else {
            return false;
        };
        let current = self.spec(i);
        if current == self.replicas {
            return false;
        }
        if current > self.replicas {
            return self.scale_rs(i, self.replicas);
        }
        let footprint: i32 = (0..self.rss.len()).map(|j| self.footprint(j)).sum();
        let room = self.replicas + self.surge - footprint;
        if room <= 0 {
            return false;
        }
        self.scale_rs(i, current + room.min(self.replicas - current))
    }

    /// Scales old ReplicaSets down as far as `spec.replicas - maxUnavailable` available pods
    /// allow; returns whether any shrank.
    fn reconcile_old(&mut self) -> bool {
        let olds = self.old_indices();
        if olds.iter().map(|&i| self.spec(i)).sum::<i32>() == 0 {
            return false;
        }
        let all: i32 = (0..self.rss.len()).map(|i| self.spec(i)).sum();
        let min_available = self.replicas - max_unavailable(self.d);
        let new_unavailable = self
            .new_idx
            .map(|i| (self.spec(i) - self.guaranteed_available(i)).max(0))
            .unwrap_or(0);
        let max_scaled_down = all - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        let cleaned = self.cleanup_unhealthy(&olds, max_scaled_down);
        let scaled = self.scale_down_old(&olds, min_available);
        cleaned + scaled > 0
    }

    /// Removes old replicas that are not available (oldest ReplicaSet first), at most `limit`:
    /// they would otherwise block the rollout.
    fn cleanup_unhealthy(&mut self, olds: &[usize], limit: i32) -> i32 {
        let mut total = 0;
        for &i in olds {
            if total >= limit {
                break;
            }
            let spec = self.spec(i);
            let unhealthy = spec - self.guaranteed_available(i).min(spec);
            if spec == 0 || unhealthy == 0 {
                continue;
            }
            let n = unhealthy.min(limit - total);
            self.scale_rs(i, spec - n);
            total += n;
        }
        total
    }

    /// Scales old ReplicaSets down (oldest first) by the available pods above `min_available`.
    fn scale_down_old(&mut self, olds: &[usize], min_available: i32) -> i32 {
        let available: i32 = (0..self.rss.len())
            .map(|i| self.guaranteed_available(i))
            .sum();
        let budget = available - min_available;
        let mut total = 0;
        for &i in olds {
            if total >= budget {
                break;
            }
            let spec = self.spec(i);
            if spec == 0 {
                continue;
            }
            let n = spec.min(budget - total);
            self.scale_rs(i, spec - n);
            total += n;
        }
        total.max(0)
    }

    /// `spec.replicas` changed without a template change (or the Deployment is paused): the
    /// only active ReplicaSet takes the new size; a saturated new ReplicaSet retires the old
    /// ones; during a RollingUpdate the difference is spread over the active ReplicaSets in
    /// proportion to their size, leftovers to the largest.
    pub(super) fn scale(&mut self) {
        if let Some(i) = self.active_or_latest() {
            // Also when the size is right: the bookkeeping annotations end the scaling event.
            self.scale_rs(i, self.replicas);
            return;
        }
        if self.is_saturated() {
            for i in self.old_indices() {
                if self.spec(i) > 0 {
                    self.scale_rs(i, 0);
                }
            }
            return;
        }
        if is_recreate(self.d) {
            return;
        }
        let mut active: Vec<usize> = (0..self.rss.len()).filter(|&i| self.spec(i) > 0).collect();
        let total: i32 = active.iter().map(|&i| self.spec(i)).sum();
        let allowed = if self.replicas > 0 {
            self.replicas + self.surge
        } else {
            0
        };
        let to_add = allowed - total;
        // Larger first; among equals, newer first when growing and older first when shrinking
        // (`active` is oldest first, and the sort is stable).
        active.sort_by_key(|&i| std::cmp::Reverse(self.spec(i)));
        if to_add > 0 {
            active.sort_by(|&a, &b| match self.spec(b).cmp(&self.spec(a)) {
                Ordering::Equal => b.cmp(&a),
                o => o,
            });
        }
        let mut added = 0;
        let mut sizes = Vec::with_capacity(active.len());
        for &i in &active {
            let proportion = if to_add != 0 {
                self.proportion(i, to_add, added)
            } else {
                0
            };
            added += proportion;
            sizes.push(self.spec(i) + proportion);
        }
        for (k, &i) in active.iter().enumerate() {
            let mut size = sizes[k];
            if k == 0 && to_add != 0 {
                size = (size + to_add - added).max(0);
            }
            self.scale_rs(i, size);
        }
    }

    /// The one ReplicaSet with replicas; with none, the new one or else the newest.
    fn active_or_latest(&self) -> Option<usize> {
        let active: Vec<usize> = (0..self.rss.len()).filter(|&i| self.spec(i) > 0).collect();
        match active.len() {
            0 => self.new_idx.or_else(|| self.old_indices().last().copied()),
            1 => Some(active[0]),
            _ => None,
        }
    }

    fn is_saturated(&self) -> bool {
        self.new_idx.is_some_and(|i| {
            self.spec(i) == self.replicas
                && int_annotation(&self.rss[i], DESIRED_REPLICAS_ANNOTATION) == Some(self.replicas)
                && self.counts[i].available >= self.replicas
        })
    }

    /// Kubernetes' `GetProportion`: the ReplicaSet's share of `to_add` by its size against the
    /// size the Deployment allowed when it last scaled it, bounded by what is left to add.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let spec = self.spec(i);
        if spec == 0 || to_add == added {
            return 0;
        }
        let fraction = if self.replicas == 0 {
            -spec
        } else {
            let allowed = i64::from(self.replicas + self.surge);
            let annotated = int_annotation(&self.rss[i], MAX_REPLICAS_ANNOTATION)
                .or(self.d.status.as_ref().and_then(|s| s.replicas))
                .unwrap_or(0);
            if annotated <= 0 {
                0
            } else {
                let scaled = (i64::from(spec) * allowed * 2 + i64::from(annotated))
                    / (2 * i64::from(annotated));
                i32::try_from(scaled).unwrap_or(i32::MAX) - spec
            }
        };
        let left = to_add - added;
        if to_add > 0 {
            fraction.min(left)
        } else {
            fraction.max(left)
        }
    }
}
