//! The leader's housekeeping for the object API, run every few seconds while this replica leads:
//! create the bootstrap namespaces, empty and remove terminating namespaces, prune Events past
//! their TTL or beyond the retention count, and recount ResourceQuota usage (correcting drift
//! from writes that raced a quota's creation). Every write goes through the registry, so it is
//! checked and committed like any client's.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::objects::{list_prefix, KindId, RegistryTable};

use super::delete::DeleteRequest;
use super::namespace_guard::is_terminating;
use super::quota_recount::{namespace_usage, with_usage};
use super::store_view::StoredObject;
use super::{Registry, RegistryError};
use crate::objects::WriteTarget;

/// Namespaces every cell has.
pub const BOOTSTRAP_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// How often the leader checks for missing bootstrap namespaces (so they exist moments after a
/// cell first elects a leader).
const BOOTSTRAP_CHECK: Duration = Duration::from_millis(200);

/// Runs until the process exits; the full round runs every `every`.
pub async fn run(registry: Registry, every: Duration) {
    let mut ticker = tokio::time::interval(BOOTSTRAP_CHECK);
    let mut last_round: Option<tokio::time::Instant> = None;
    let mut bootstrapped_term = None;
    loop {
        ticker.tick().await;
        if !registry.proposer().is_leader() {
            continue;
        }
        let term = registry.proposer().term();
        if bootstrapped_term != Some(term) {
            match ensure_namespaces(&registry).await {
                Ok(()) => bootstrapped_term = Some(term),
                Err(e) => {
                    tracing::warn!(error = %e, "creating bootstrap namespaces failed; will retry")
                }
            }
        }
        if last_round.is_some_and(|t| t.elapsed() < every) {
            continue;
        }
        last_round = Some(tokio::time::Instant::now());
        if let Err(e) = tick(&registry).await {
            tracing::warn!(error = %e, "object maintenance failed; will retry");
        }
    }
}

/// One round of housekeeping.
pub async fn tick(registry: &Registry) -> Result<(), RegistryError> {
    finalize_namespaces(registry).await?;
    prune_events(registry).await?;
    recount_quotas(registry).await?;
    Ok(())
}

async fn ensure_namespaces(registry: &Registry) -> Result<(), RegistryError> {
    let kind = RegistryTable::get(KindId::Namespace);
    for name in BOOTSTRAP_NAMESPACES {
        let key = Registry::key(kind, "", name)?;
        if registry.view().get(&key)?.is_some() {
            continue;
        }
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match registry
            .create("", body.to_string().as_bytes(), false)
            .await
        {
            Ok(_) | Err(RegistryError::AlreadyExists(_)) => {
                tracing::info!(namespace = name, "created bootstrap namespace")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Deletes everything in each terminating namespace, then the namespace once it is empty.
async fn finalize_namespaces(registry: &Registry) -> Result<(), RegistryError> {
    let ns_kind = RegistryTable::get(KindId::Namespace);
    let view = registry.view();
    for kv in view.scan(&list_prefix(ns_kind, None)?)? {
        let ns = StoredObject::from_kv(&kv)?;
        if !is_terminating(&ns.object) {
            continue;
        }
        let name = ns.object.name().to_string();
        let mut empty = true;
        for kind in RegistryTable::all().iter().filter(|k| k.namespaced) {
            for kv in view.scan(&list_prefix(kind, Some(&name))?)? {
                empty = false;
                let obj = StoredObject::from_kv(&kv)?;
                if obj.object.field("metadata.deletionTimestamp").is_some() {
                    continue;
                }
                let key = Registry::key(kind, &name, obj.object.name())?;
                let request = DeleteRequest {
                    grace_period_seconds: Some(0),
                    ..Default::default()
                };
                match registry.delete(key, request, false).await {
                    Ok(_) | Err(RegistryError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if empty {
            let key = Registry::key(ns_kind, "", &name)?;
            registry
                .remove_raw(&[(key.to_bytes(), ns.mod_revision)])
                .await?;
            tracing::info!(namespace = name, "namespace deleted");
        }
    }
    Ok(())
}

/// Prunes Events older than the TTL and the oldest beyond the retention count.
async fn prune_events(registry: &Registry) -> Result<(), RegistryError> {
    let kind = RegistryTable::get(KindId::Event);
    let settings = registry.settings().clone();
    let mut events: Vec<(u64, Vec<u8>, Option<Timestamp>)> = registry
        .view()
        .scan(&list_prefix(kind, None)?)?
        .into_iter()
        .map(|kv| {
            let at = StoredObject::from_kv(&kv).ok().and_then(|o| event_time(&o));
            (kv.create_revision, kv.key, at)
        })
        .collect();
    if events.is_empty() {
        return Ok(());
    }
    events.sort();
    let ttl = SignedDuration::try_from(settings.event_ttl).unwrap_or(SignedDuration::MAX);
    let cutoff = super::create::unix_now().checked_sub(ttl).ok();
    let excess = events.len().saturating_sub(settings.max_events);
    let doomed: Vec<Vec<u8>> = events
        .into_iter()
        .enumerate()
        .filter(|(i, (_, _, at))| {
            *i < excess || matches!((at, cutoff), (Some(a), Some(c)) if *a < c)
        })
        .map(|(_, (_, key, _))| key)
        .collect();
    for chunk in doomed.chunks(256) {
        let keys: Vec<(Vec<u8>, u64)> = chunk.iter().map(|k| (k.clone(), 0)).collect();
        registry.remove_raw(&keys).await?;
    }
    Ok(())
}

fn event_time(obj: &StoredObject) -> Option<Timestamp> {
    ["lastTimestamp", "eventTime", "metadata.creationTimestamp"]
        .iter()
        .filter_map(|f| obj.object.field(f)?.as_str())
        .find_map(|s| s.parse().ok())
}

/// Rewrites each quota whose recorded usage differs from a fresh count.
async fn recount_quotas(registry: &Registry) -> Result<(), RegistryError> {
    let kind = RegistryTable::get(KindId::ResourceQuota);
    let view = registry.view();
    for kv in view.scan(&list_prefix(kind, None)?)? {
        let quota = StoredObject::from_kv(&kv)?;
        let ns = quota.object.namespace().to_string();
        let used = namespace_usage(&view, &ns)?;
        let fresh = with_usage(quota.object.clone(), &used);
        if fresh.status() == quota.object.status() {
            continue;
        }
        let body = fresh.to_json();
        match registry
            .update(&ns, &body, WriteTarget::Status, false)
            .await
        {
            Ok(_) | Err(RegistryError::Conflict(_)) | Err(RegistryError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
