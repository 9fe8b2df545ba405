//! Counting a namespace's usage from scratch: when a ResourceQuota is created or its limits
//! change, and when the leader's maintenance loop corrects drift (usage charged by writes that
//! raced the quota's own creation).

use serde_json::Value;

use crate::objects::{list_prefix, DynamicObject, RegistryTable};

use super::error::RegistryError;
use super::quota_usage::{parse_amounts, to_json, usage_of, Usage};
use super::store_view::{StoreView, StoredObject};

/// What every object in `namespace` uses.
pub fn namespace_usage(view: &StoreView, namespace: &str) -> Result<Usage, RegistryError> {
    let mut total = Usage::new();
    for kind in RegistryTable::all().iter().filter(|k| k.namespaced) {
        let prefix = list_prefix(kind, Some(namespace))?;
        for kv in view.scan(&prefix)? {
            let stored = StoredObject::from_kv(&kv)?;
            for (name, amount) in usage_of(&stored.object) {
                *total.entry(name).or_insert(0) += amount;
            }
        }
    }
    Ok(total)
}

/// `quota` with `status.hard` = `spec.hard` and `status.used` = `used` for the limited names.
pub fn with_usage(mut quota: DynamicObject, used: &Usage) -> DynamicObject {
    let hard = parse_amounts(quota.field("spec.hard"));
    let limited: Usage = hard
        .keys()
        .map(|k| (k.clone(), used.get(k).copied().unwrap_or(0)))
        .collect();
    let mut status = quota
        .status()
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Default::default()));
    if let Value::Object(map) = &mut status {
        map.insert("hard".into(), to_json(&hard));
        map.insert("used".into(), to_json(&limited));
    }
    quota.set_status(Some(status));
    quota
}
