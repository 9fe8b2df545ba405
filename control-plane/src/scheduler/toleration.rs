//! Toleration matching (kube's `ToleratesTaint`), shared by the taint filter and by the filters
//! that stand for the taints the node lifecycle controller adds (not-ready, unschedulable).

use k8s_openapi::api::core::v1::Toleration;

pub const EFFECT_NO_SCHEDULE: &str = "NoSchedule";
pub const EFFECT_NO_EXECUTE: &str = "NoExecute";
pub const EFFECT_PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";

/// Whether one toleration tolerates the taint `key=value:effect`: an empty effect matches every
/// effect, an empty key (with `Exists`) every key; `Exists` ignores the value, `Equal` (the
/// default) compares it.
pub fn toleration_matches(t: &Toleration, key: &str, value: &str, effect: &str) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty()) {
        if e != effect {
            return false;
        }
    }
    if let Some(k) = t.key.as_deref().filter(|k| !k.is_empty()) {
        if k != key {
            return false;
        }
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == value,
        "Exists" => true,
        _ => false,
    }
}

/// Whether any of `tolerations` tolerates the taint.
pub fn tolerated(tolerations: &[Toleration], key: &str, value: &str, effect: &str) -> bool {
    tolerations
        .iter()
        .any(|t| toleration_matches(t, key, value, effect))
}
