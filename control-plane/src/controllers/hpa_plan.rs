//! The HorizontalPodAutoscaler's arithmetic (Kubernetes' replica calculator for a CPU
//! utilisation target), pure: utilisation = the pods' CPU in use over the sum of their requests;
//! within 10 % of the target nothing changes, else desired = ceil(measured pods × usage/target);
//! the result is held to [minReplicas, maxReplicas] and to at most max(2 × current, 4) in one step
//! up; a scale down takes the highest recommendation of the stabilisation window (default 300 s),
//! so a dip does not shrink the workload at once.

/// Usage within this fraction of the target leaves the replicas as they are.
pub const TOLERANCE: f64 = 0.1;
/// Default `behavior.scaleDown.stabilizationWindowSeconds`.
pub const DEFAULT_SCALE_DOWN_WINDOW_SECONDS: u64 = 300;

/// The CPU of the pods that report usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuMeasure {
    /// Pods that report usage (and have CPU requests).
    pub pods: i32,
    /// Their CPU in use, summed, in millicores.
    pub usage_millis: i64,
    /// Their CPU requests, summed, in millicores.
    pub request_millis: i64,
}

impl CpuMeasure {
    /// Usage as a whole percentage of requests (Kubernetes' integer utilisation); `None` without
    /// requests.
    pub fn utilization_percent(&self) -> Option<i64> {
        (self.request_millis > 0).then(|| self.usage_millis * 100 / self.request_millis)
    }
}

/// The raw recommendation: `current` when usage is within [`TOLERANCE`] of `target_percent` (or
/// nothing is measured), else ceil(measured pods × utilisation / target).
pub fn recommend(current: i32, m: CpuMeasure, target_percent: i32) -> i32 {
    let Some(utilization) = m.utilization_percent() else {
        return current;
    };
    if m.pods <= 0 || target_percent <= 0 {
        return current;
    }
    let ratio = utilization as f64 / f64::from(target_percent);
    if (ratio - 1.0).abs() <= TOLERANCE {
        return current;
    }
    let desired = (ratio * f64::from(m.pods)).ceil();
    if desired >= f64::from(i32::MAX) {
        i32::MAX
    } else {
        desired as i32
    }
}

/// `desired` held to the bounds: [min, max], and at most max(2 × current, 4) when scaling up.
pub fn bound(desired: i32, current: i32, min: i32, max: i32) -> i32 {
    let up_limit = current.saturating_mul(2).max(4);
    desired.min(up_limit).clamp(min.max(1).min(max), max)
}

/// A recommendation made at `at_seconds` (any monotonic clock in seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recommendation {
    pub at_seconds: u64,
    pub replicas: i32,
}

/// Scale-down stabilisation: the highest of `recommended` and every recommendation of the last
/// `window_seconds` in `history`, never above `recommended` when that scales up.
pub fn stabilize(
    recommended: i32,
    current: i32,
    history: &[Recommendation],
    now_seconds: u64,
    window_seconds: u64,
) -> i32 {
    if recommended >= current {
        return recommended;
    }
    let highest_recent = history
        .iter()
        .filter(|r| now_seconds.saturating_sub(r.at_seconds) <= window_seconds)
        .map(|r| r.replicas)
        .max()
        .unwrap_or(recommended);
    recommended.max(highest_recent).min(current)
}

/// The history to keep: recommendations inside the window, plus `latest`.
pub fn remember(
    history: &[Recommendation],
    latest: Recommendation,
    window_seconds: u64,
) -> Vec<Recommendation> {
    history
        .iter()
        .copied()
        .filter(|r| latest.at_seconds.saturating_sub(r.at_seconds) <= window_seconds)
        .chain(std::iter::once(latest))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cpu(pods: i32, usage: i64, request: i64) -> CpuMeasure {
        CpuMeasure {
            pods,
            usage_millis: usage,
            request_millis: request,
        }
    }

    #[test]
    fn kubernetes_examples() {
        // 2 pods at 200m of 100m each = 200 % against 50 %: 2 × 4 = 8.
        assert_eq!(recommend(2, cpu(2, 400, 200), 50), 8);
        // 3 pods at 30 % against 60 %: ceil(3 × 0.5) = 2.
        assert_eq!(recommend(3, cpu(3, 90, 300), 60), 2);
        // 105 % of the target: inside the tolerance.
        assert_eq!(recommend(4, cpu(4, 210, 400), 50), 4);
        // 112 %: outside: ceil(4 × 1.12) = 5.
        assert_eq!(recommend(4, cpu(4, 224, 400), 50), 5);
        // No requests, nothing measured: unchanged.
        assert_eq!(recommend(3, cpu(3, 500, 0), 50), 3);
        assert_eq!(recommend(3, cpu(0, 0, 0), 50), 3);
    }

    #[test]
    fn bounds_and_the_step_up_limit() {
        assert_eq!(bound(8, 2, 1, 10), 4);
        assert_eq!(bound(8, 3, 1, 10), 6);
        assert_eq!(bound(20, 8, 1, 10), 10);
        assert_eq!(bound(0, 3, 2, 10), 2);
        assert_eq!(bound(1, 3, 0, 10), 1);
    }

    #[test]
    fn a_scale_down_waits_for_the_window() {
        let history = [
            Recommendation {
                at_seconds: 100,
                replicas: 6,
            },
            Recommendation {
                at_seconds: 350,
                replicas: 4,
            },
        ];
        // At 380 the 6 from 100 is still inside a 300 s window.
        assert_eq!(stabilize(2, 6, &history, 380, 300), 6);
        // At 420 it has left; the 4 from 350 holds.
        assert_eq!(stabilize(2, 6, &history, 420, 300), 4);
        // With a zero window only the recommendation itself counts.
        assert_eq!(stabilize(2, 6, &history, 420, 0), 2);
        // Scaling up is never held back.
        assert_eq!(stabilize(8, 6, &history, 380, 300), 8);
        let kept = remember(
            &history,
            Recommendation {
                at_seconds: 420,
                replicas: 2,
            },
            300,
        );
        assert_eq!(
            kept.iter().map(|r| r.at_seconds).collect::<Vec<_>>(),
            [350, 420]
        );
    }

    proptest! {
        #[test]
        fn the_outcome_stays_in_bounds_and_moves_the_right_way(
            current in 1i32..50,
            pods in 1i32..50,
            usage in 0i64..100_000,
            request in 1i64..100_000,
            target in 1i32..200,
            min in 1i32..10,
            extra in 0i32..40,
        ) {
            let max = min + extra;
            let m = cpu(pods, usage, request);
            let raw = recommend(current, m, target);
            let out = bound(raw, current, min, max);
            prop_assert!(out >= min && out <= max);
            prop_assert!(raw >= 0);
            let utilization = m.utilization_percent().unwrap_or(0);
            let ratio = utilization as f64 / f64::from(target);
            if (ratio - 1.0).abs() <= TOLERANCE {
                prop_assert_eq!(raw, current);
            } else if ratio > 1.0 {
                prop_assert!(raw >= pods);
            } else {
                prop_assert!(raw <= pods);
            }
            // Stabilised, a scale down never goes below the raw recommendation nor above current.
            let h = [Recommendation { at_seconds: 0, replicas: current }];
            let s = stabilize(out, current, &h, 10, 300);
            if out < current {
                prop_assert!(s >= out && s <= current);
            } else {
                prop_assert_eq!(s, out);
            }
        }
    }
}
