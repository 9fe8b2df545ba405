//! A Deployment's rollout bounds: its strategy, and `maxSurge`/`maxUnavailable` resolved against
//! `spec.replicas` as Kubernetes does (`ResolveFenceposts`): integers as they are, percentages
//! of the replicas with surge rounded up and unavailability rounded down; when both come out 0,
//! one pod may be unavailable (a rollout must be able to move).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Kubernetes' default for both `maxSurge` and `maxUnavailable`.
const DEFAULT_PERCENT: &str = "25%";

/// `spec.replicas` (default 1, never negative).
pub fn deployment_replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0)
}

/// Whether the strategy is Recreate (anything else, including unset, is RollingUpdate).
pub fn is_recreate(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some("Recreate")
}

/// `value` against `total`: an int as it is, `"N%"` as N% of total rounded up or down. An
/// unreadable value falls back to 25%. Never negative.
pub fn scaled_value(value: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    let percent_of = |s: &str| -> Option<i32> {
        let n: i64 = s.strip_suffix('%')?.trim().parse().ok()?;
        let product = n * i64::from(total);
        let v = if round_up {
            (product + 99).div_euclid(100)
        } else {
            product.div_euclid(100)
        };
        i32::try_from(v).ok()
    };
    let v = match value {
        Some(IntOrString::Int(i)) => Some(*i),
        Some(IntOrString::String(s)) => percent_of(s),
        None => None,
    };
    v.or_else(|| percent_of(DEFAULT_PERCENT))
        .unwrap_or(0)
        .max(0)
}

/// `(maxSurge, maxUnavailable)` of a RollingUpdate Deployment, resolved; `(0, 0)` for Recreate.
pub fn surge_and_unavailable(d: &Deployment) -> (i32, i32) {
    if is_recreate(d) {
        return (0, 0);
    }
    let replicas = deployment_replicas(d);
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let surge = scaled_value(ru.and_then(|r| r.max_surge.as_ref()), replicas, true);
    let unavailable = scaled_value(ru.and_then(|r| r.max_unavailable.as_ref()), replicas, false);
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

/// How many pods above `spec.replicas` a rollout may run (0 for Recreate).
pub fn max_surge(d: &Deployment) -> i32 {
    surge_and_unavailable(d).0
}

/// How many of `spec.replicas` may be unavailable during a rollout, at most all of them (0 for
/// Recreate and for 0 replicas).
pub fn max_unavailable(d: &Deployment) -> i32 {
    let replicas = deployment_replicas(d);
    if replicas == 0 {
        return 0;
    }
    surge_and_unavailable(d).1.min(replicas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::plan_test_support::deployment;
    use IntOrString::{Int, String as Pct};

    fn pct(s: &str) -> IntOrString {
        Pct(s.into())
    }

    #[test]
    fn percentages_round_surge_up_and_unavailability_down() {
        let d = deployment(10, "x", pct("25%"), pct("25%"));
        assert_eq!(surge_and_unavailable(&d), (3, 2));
        let d = deployment(3, "x", pct("50%"), pct("50%"));
        assert_eq!(surge_and_unavailable(&d), (2, 1));
        let d = deployment(4, "x", Int(0), Int(2));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 2));
        let d = deployment(4, "x", Int(1), Int(9));
        assert_eq!(max_unavailable(&d), 4);
    }

    #[test]
    fn zero_surge_and_unavailability_allow_one_unavailable() {
        let d = deployment(3, "x", Int(0), Int(0));
        assert_eq!(surge_and_unavailable(&d), (0, 1));
        let d = deployment(1, "x", pct("0%"), pct("10%"));
        assert_eq!(surge_and_unavailable(&d), (0, 1));
        let d = deployment(0, "x", Int(0), Int(0));
        assert_eq!(max_unavailable(&d), 0);
    }

    #[test]
    fn recreate_and_defaults() {
        let mut d = deployment(8, "x", Int(1), Int(1));
        d.spec
            .as_mut()
            .unwrap()
            .strategy
            .as_mut()
            .unwrap()
            .rolling_update = None;
        assert_eq!(surge_and_unavailable(&d), (2, 2));
        d.spec.as_mut().unwrap().strategy.as_mut().unwrap().type_ = Some("Recreate".into());
        assert!(is_recreate(&d));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 0));
        assert_eq!(scaled_value(Some(&pct("bogus")), 8, true), 2);
    }
}
