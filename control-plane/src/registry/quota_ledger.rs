//! `QuotaLedger`: ResourceQuota admission inside one transaction. The first charge in a namespace
//! reads its quotas (and compares them); every charge adds to their `status.used` and is refused
//! when an increase would pass a `spec.hard` limit; at the end the changed quotas are written
//! back in the same transaction, so usage and the objects it counts move together.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::objects::{list_prefix, KindId, RegistryTable};

use super::error::RegistryError;
use super::quota_usage::{format_amount, parse_amounts, to_json, Usage};
use super::store_view::{StoreView, StoredObject};
use super::write_set::WriteSet;

struct QuotaEntry {
    key: Vec<u8>,
    stored: StoredObject,
    hard: Usage,
    used: Usage,
    changed: bool,
}

/// The quotas of the namespaces a transaction touched.
#[derive(Default)]
pub struct QuotaLedger {
    namespaces: BTreeMap<String, Vec<QuotaEntry>>,
}

impl QuotaLedger {
    /// Adds `delta` to every quota of `namespace`. Increases past a hard limit are refused with
    /// Kubernetes' message; decreases always pass.
    pub fn charge(
        &mut self,
        view: &StoreView,
        ws: &mut WriteSet,
        namespace: &str,
        what: &str,
        delta: &Usage,
    ) -> Result<(), RegistryError> {
        if delta.is_empty() || namespace.is_empty() {
            return Ok(());
        }
        let entries = match self.namespaces.get_mut(namespace) {
            Some(e) => e,
            None => {
                let loaded = load(view, ws, namespace)?;
                self.namespaces
                    .entry(namespace.to_string())
                    .or_insert(loaded)
            }
        };
        for entry in entries.iter() {
            let mut requested = Vec::new();
            let mut used = Vec::new();
            let mut limited = Vec::new();
            for (name, amount) in delta.iter().filter(|(_, a)| **a > 0) {
                let Some(hard) = entry.hard.get(name) else {
                    continue;
                };
                let now = entry.used.get(name).copied().unwrap_or(0);
                if now + amount > *hard {
                    requested.push(format!("{name}={}", format_amount(*amount)));
                    used.push(format!("{name}={}", format_amount(now)));
                    limited.push(format!("{name}={}", format_amount(*hard)));
                }
            }
            if !requested.is_empty() {
                return Err(RegistryError::Forbidden(format!(
                    "{what} is forbidden: exceeded quota: {}, requested: {}, used: {}, limited: {}",
                    entry.stored.object.name(),
                    requested.join(","),
                    used.join(","),
                    limited.join(",")
                )));
            }
        }
        for entry in entries.iter_mut() {
            for (name, amount) in delta {
                if entry.hard.contains_key(name) {
                    let v = entry.used.entry(name.clone()).or_insert(0);
                    *v = (*v + amount).max(0);
                    entry.changed = true;
                }
            }
        }
        Ok(())
    }

    /// Writes every quota whose usage changed, unless the transaction itself writes that quota.
    pub fn finish(self, ws: &mut WriteSet) -> Result<(), RegistryError> {
        for entry in self.namespaces.into_values().flatten() {
            if !entry.changed || ws.pending(&entry.key).is_some() {
                continue;
            }
            let mut obj = entry.stored.object.clone();
            obj.clear_resource_version();
            let mut status = obj
                .status()
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()));
            if let Value::Object(map) = &mut status {
                map.insert("hard".into(), to_json(&entry.hard));
                map.insert("used".into(), to_json(&entry.used));
            }
            obj.set_status(Some(status));
            ws.put(&entry.key, obj.to_json());
        }
        Ok(())
    }
}

fn load(
    view: &StoreView,
    ws: &mut WriteSet,
    namespace: &str,
) -> Result<Vec<QuotaEntry>, RegistryError> {
    let kind = RegistryTable::get(KindId::ResourceQuota);
    let prefix = list_prefix(kind, Some(namespace))?;
    let mut out = Vec::new();
    for kv in view.scan(&prefix)? {
        let stored = StoredObject::from_kv(&kv)?;
        ws.depend_on(&kv.key, kv.mod_revision);
        let hard = parse_amounts(stored.object.field("spec.hard"));
        let used = parse_amounts(stored.object.field("status.used"));
        out.push(QuotaEntry {
            key: kv.key.clone(),
            stored,
            hard,
            used,
            changed: false,
        });
    }
    Ok(out)
}
