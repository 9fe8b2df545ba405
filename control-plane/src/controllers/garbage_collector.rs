//! The garbage collector, over the kinds the brain caches (Deployments, ReplicaSets, DaemonSets,
//! StatefulSets, Jobs, CronJobs, Pods):
//! - background: a dependent whose every owner (by uid, among the cached kinds) is gone is
//!   deleted;
//! - foreground: an owner marked with the `foregroundDeletion` finalizer has its dependents
//!   deleted first (in foreground too), and loses the finalizer when none remain, which lets
//!   the registry remove it;
//! - orphan: an owner marked with the `orphan` finalizer has its ownerReference removed from
//!   every dependent, then loses the finalizer.
//!
//! Owners of kinds the brain does not cache (ControllerRevision, custom kinds, ...) are never judged: a
//! dependent of such an owner is left alone. Before deleting a dependent as orphaned, the
//! owner's absence is confirmed on the store itself, not just on a cache that may lag.
//!
//! [`plan_collection`] is pure; [`run`] sweeps on changes and periodically.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::Value;
use tokio::sync::Notify;

use crate::objects::{
    KindId, PropagationPolicy, RegistryTable, FOREGROUND_FINALIZER, ORPHAN_FINALIZER,
};
use crate::registry::Registry;

use super::context::{ControllerContext, Write};
use super::informer::InformerEvent;

/// Shortest pause between sweeps (changes arrive in bursts).
const DEBOUNCE: Duration = Duration::from_millis(100);

/// One cached object as the collector sees it.
#[derive(Debug, Clone)]
pub struct Item {
    pub kind: KindId,
    pub meta: ObjectMeta,
    /// The whole object (for updates that strip a reference or a finalizer).
    pub object: Value,
}

/// What a sweep decided.
#[derive(Debug, Default)]
pub struct Collection {
    /// Dependents to delete, with the propagation to use.
    pub delete: Vec<(Item, Option<PropagationPolicy>)>,
    /// Objects to write back (references or finalizers removed).
    pub update: Vec<Value>,
}

fn kind_of(reference: &OwnerReference) -> Option<KindId> {
    match (reference.api_version.as_str(), reference.kind.as_str()) {
        ("apps/v1", "Deployment") => Some(KindId::Deployment),
        ("apps/v1", "ReplicaSet") => Some(KindId::ReplicaSet),
        ("apps/v1", "DaemonSet") => Some(KindId::DaemonSet),
        ("apps/v1", "StatefulSet") => Some(KindId::StatefulSet),
        ("batch/v1", "Job") => Some(KindId::Job),
        ("batch/v1", "CronJob") => Some(KindId::CronJob),
        ("v1", "Pod") => Some(KindId::Pod),
        _ => None,
    }
}

fn has_finalizer(meta: &ObjectMeta, name: &str) -> bool {
    meta.finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == name))
}

fn without_finalizer(object: &Value, name: &str) -> Value {
    let mut out = object.clone();
    if let Some(list) = out
        .pointer_mut("/metadata/finalizers")
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f.as_str() != Some(name));
    }
    out
}

fn without_owner(object: &Value, owner_uid: &str) -> Value {
    let mut out = object.clone();
    if let Some(list) = out
        .pointer_mut("/metadata/ownerReferences")
        .and_then(Value::as_array_mut)
    {
        list.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
    }
    out
}

/// Decides a sweep over `items` (every cached object of the collected kinds).
pub fn plan_collection(items: &[Item]) -> Collection {
    let live: HashSet<&str> = items.iter().filter_map(|i| i.meta.uid.as_deref()).collect();
    let mut dependents: HashMap<&str, Vec<&Item>> = HashMap::new();
    for item in items {
        for r in item.meta.owner_references.iter().flatten() {
            dependents.entry(r.uid.as_str()).or_default().push(item);
        }
    }
    let mut out = Collection::default();
    let mut deleting: HashSet<&str> = HashSet::new();
    // Owners being deleted in foreground or orphan mode.
    for owner in items.iter().filter(|i| i.meta.deletion_timestamp.is_some()) {
        let uid = owner.meta.uid.as_deref().unwrap_or_default();
        let deps = dependents.get(uid).cloned().unwrap_or_default();
        if has_finalizer(&owner.meta, ORPHAN_FINALIZER) {
            for d in &deps {
                out.update.push(without_owner(&d.object, uid));
            }
            if deps.is_empty() {
                out.update
                    .push(without_finalizer(&owner.object, ORPHAN_FINALIZER));
            }
        } else if has_finalizer(&owner.meta, FOREGROUND_FINALIZER) {
            let mut waiting = false;
            for d in &deps {
                waiting = true;
                let d_uid = d.meta.uid.as_deref().unwrap_or_default();
                if d.meta.deletion_timestamp.is_none() && deleting.insert(d_uid) {
                    out.delete
                        .push(((*d).clone(), Some(PropagationPolicy::Foreground)));
                }
            }
            if !waiting {
                out.update
                    .push(without_finalizer(&owner.object, FOREGROUND_FINALIZER));
            }
        }
    }
    // Background: dependents whose every owner is gone.
    for item in items {
        let refs = match item.meta.owner_references.as_deref() {
            Some(refs) if !refs.is_empty() => refs,
            _ => continue,
        };
        let uid = item.meta.uid.as_deref().unwrap_or_default();
        if item.meta.deletion_timestamp.is_some() || deleting.contains(uid) {
            continue;
        }
        let judged = refs.iter().all(|r| kind_of(r).is_some());
        let orphaned = refs.iter().all(|r| !live.contains(r.uid.as_str()));
        if judged && orphaned {
            deleting.insert(uid);
            out.delete.push((item.clone(), None));
        }
    }
    out
}

/// Whether every owner of `item` is really absent from the store (not only from a lagging
/// cache).
fn owners_gone(registry: &Registry, item: &Item) -> bool {
    let view = registry.view();
    item.meta.owner_references.iter().flatten().all(|r| {
        let Some(kind) = kind_of(r) else {
            return false;
        };
        let kind = RegistryTable::get(kind);
        let ns = item.meta.namespace.as_deref();
        let Ok(key) = crate::objects::ObjectKey::new(
            kind,
            kind.namespaced.then_some(ns.unwrap_or("default")),
            &r.name,
        ) else {
            return false;
        };
        match view.get(&key) {
            Ok(None) => true,
            Ok(Some(stored)) => stored.object.uid() != r.uid,
            Err(_) => false,
        }
    })
}

fn items(ctx: &ControllerContext) -> Vec<Item> {
    fn push<T: serde::Serialize + k8s_openapi::Metadata<Ty = ObjectMeta>>(
        out: &mut Vec<Item>,
        kind: KindId,
        list: Vec<Arc<T>>,
    ) {
        for obj in list {
            if let Ok(object) = serde_json::to_value(obj.as_ref()) {
                out.push(Item {
                    kind,
                    meta: obj.metadata().clone(),
                    object,
                });
            }
        }
    }
    let mut out = Vec::new();
    push(
        &mut out,
        KindId::Deployment,
        ctx.informers.deployments.list(),
    );
    push(
        &mut out,
        KindId::ReplicaSet,
        ctx.informers.replicasets.list(),
    );
    push(&mut out, KindId::DaemonSet, ctx.informers.daemonsets.list());
    push(
        &mut out,
        KindId::StatefulSet,
        ctx.informers.statefulsets.list(),
    );
    push(&mut out, KindId::Job, ctx.informers.jobs.list());
    push(&mut out, KindId::CronJob, ctx.informers.cronjobs.list());
    push(&mut out, KindId::Pod, ctx.informers.pods.list());
    out
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, resync: Duration) {
    let wake = Arc::new(Notify::new());
    let interesting =
        |meta: &ObjectMeta| meta.deletion_timestamp.is_some() || meta.owner_references.is_some();
    {
        let w = wake.clone();
        ctx.informers.deployments.on_change(move |c| match c {
            InformerEvent::Deleted(_) => w.notify_one(),
            InformerEvent::Applied { new, .. } if interesting(&new.metadata) => w.notify_one(),
            _ => {}
        });
        let w = wake.clone();
        ctx.informers.replicasets.on_change(move |c| match c {
            InformerEvent::Deleted(_) => w.notify_one(),
            InformerEvent::Applied { new, .. } if interesting(&new.metadata) => w.notify_one(),
            _ => {}
        });
        let w = wake.clone();
        ctx.informers.daemonsets.on_change(move |c| match c {
            InformerEvent::Deleted(_) => w.notify_one(),
            InformerEvent::Applied { new, .. } if interesting(&new.metadata) => w.notify_one(),
            _ => {}
        });
        let w = wake.clone();
        ctx.informers.jobs.on_change(move |c| match c {
            InformerEvent::Deleted(_) => w.notify_one(),
            InformerEvent::Applied { new, .. } if interesting(&new.metadata) => w.notify_one(),
            _ => {}
        });
        let w = wake.clone();
        ctx.informers.statefulsets.on_change(move |c| match c {
            InformerEvent::Deleted(_) => w.notify_one(),
            InformerEvent::Applied { new, .. } if interesting(&new.metadata) => w.notify_one(),
            _ => {}
        });
        let w = wake.clone();
        ctx.informers.cronjobs.on_change(move |c| match c {
            InformerEvent::Deleted(_) => w.notify_one(),
            InformerEvent::Applied { new, .. } if interesting(&new.metadata) => w.notify_one(),
            _ => {}
        });
        let w = wake.clone();
        ctx.informers.pods.on_change(move |c| match c {
            InformerEvent::Deleted(_) => w.notify_one(),
            InformerEvent::Applied { new, old }
                if new.metadata.deletion_timestamp.is_some()
                    || old.is_none() && new.metadata.owner_references.is_some() =>
            {
                w.notify_one()
            }
            _ => {}
        });
    }
    loop {
        let collection = plan_collection(&items(&ctx));
        let mut writes = Vec::new();
        for (item, propagation) in collection.delete {
            if propagation.is_none() && !owners_gone(&ctx.registry, &item) {
                continue;
            }
            tracing::info!(kind = ?item.kind, name = ?item.meta.name, namespace = ?item.meta.namespace, "garbage collecting a dependent");
            writes.push(Write::delete(item.kind, &item.meta, propagation));
        }
        for object in collection.update {
            writes.push(Write::Update(object, crate::objects::WriteTarget::Main));
        }
        match ctx.write_each(writes, 200).await {
            Ok(failed) => {
                for e in failed {
                    tracing::debug!(error = %e, "garbage collector write failed; next sweep retries");
                }
            }
            Err(_) => return,
        }
        tokio::select! {
            _ = ctx.token.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(resync.min(Duration::from_secs(5))) => {}
        }
        tokio::time::sleep(DEBOUNCE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(kind: KindId, name: &str, owners: &[(&str, &str, &str)], extra: Value) -> Item {
        let refs: Vec<Value> = owners
            .iter()
            .map(|(api, k, uid)| json!({"apiVersion": api, "kind": k, "name": format!("owner-of-{name}"), "uid": uid, "controller": true}))
            .collect();
        let mut object = json!({"metadata": {"name": name, "namespace": "default", "uid": name, "ownerReferences": refs}});
        if let Some(m) = extra.as_object() {
            for (k, v) in m {
                object["metadata"][k] = v.clone();
            }
        }
        Item {
            kind,
            meta: serde_json::from_value(object["metadata"].clone()).unwrap(),
            object,
        }
    }

    fn names(c: &Collection) -> Vec<String> {
        c.delete
            .iter()
            .map(|(i, _)| i.meta.name.clone().unwrap())
            .collect()
    }

    #[test]
    fn dependents_of_a_gone_owner_are_collected_and_others_kept() {
        let rs = item(KindId::ReplicaSet, "rs1", &[], json!({}));
        let kept = item(
            KindId::Pod,
            "p1",
            &[("apps/v1", "ReplicaSet", "rs1")],
            json!({}),
        );
        let orphan = item(
            KindId::Pod,
            "p2",
            &[("apps/v1", "ReplicaSet", "gone")],
            json!({}),
        );
        let foreign = item(
            KindId::Pod,
            "p3",
            &[("example.com/v1", "Widget", "gone")],
            json!({}),
        );
        let of_a_gone_set = item(
            KindId::Pod,
            "p4",
            &[("apps/v1", "StatefulSet", "gone")],
            json!({}),
        );
        let c = plan_collection(&[rs, kept, orphan, foreign, of_a_gone_set]);
        assert_eq!(names(&c), vec!["p2", "p4"]);
    }

    #[test]
    fn foreground_deletes_dependents_first_then_releases_the_owner() {
        let owner = item(
            KindId::Deployment,
            "d1",
            &[],
            json!({"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": [FOREGROUND_FINALIZER]}),
        );
        let rs = item(
            KindId::ReplicaSet,
            "rs1",
            &[("apps/v1", "Deployment", "d1")],
            json!({}),
        );
        let c = plan_collection(&[owner.clone(), rs]);
        assert_eq!(names(&c), vec!["rs1"]);
        assert_eq!(c.delete[0].1, Some(PropagationPolicy::Foreground));
        assert!(c.update.is_empty(), "the owner waits for its dependents");
        let c = plan_collection(&[owner]);
        assert_eq!(c.update.len(), 1);
        assert_eq!(c.update[0]["metadata"]["finalizers"], json!([]));
    }

    #[test]
    fn orphan_strips_the_reference_then_the_finalizer() {
        let owner = item(
            KindId::ReplicaSet,
            "rs1",
            &[],
            json!({"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": [ORPHAN_FINALIZER]}),
        );
        let pod = item(
            KindId::Pod,
            "p1",
            &[("apps/v1", "ReplicaSet", "rs1")],
            json!({}),
        );
        let c = plan_collection(&[owner.clone(), pod]);
        assert!(c.delete.is_empty());
        assert_eq!(c.update.len(), 1);
        assert_eq!(c.update[0]["metadata"]["ownerReferences"], json!([]));
        let c = plan_collection(&[owner]);
        assert_eq!(c.update[0]["metadata"]["finalizers"], json!([]));
    }
}
