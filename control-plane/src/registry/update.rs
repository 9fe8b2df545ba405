//! Deciding an update, a status update and a patch: optimistic concurrency on resourceVersion,
//! Kubernetes' update rules (status split, generation, immutable fields, finalizers), Service
//! address carry-over, validation, quota; a no-op update writes nothing.

use crate::objects::validation::validate_update;
use crate::objects::{
    apply_defaults, check_resource_version, prepare_update, DynamicObject, FieldValidation, KindId,
    ObjectKey, ObjectPatch, TypedObject, UpdateOutcome, WriteTarget,
};

use super::decision::Decision;
use super::error::RegistryError;
use super::quota_recount::{namespace_usage, with_usage};
use super::store_view::StoredObject;

/// What an update did.
#[derive(Debug, Clone)]
pub struct Updated {
    /// The object as written (no resourceVersion yet), or the stored one when unchanged.
    pub object: DynamicObject,
    /// The last finalizer of a terminating object went: the object was deleted.
    pub deleted: bool,
    /// Nothing changed; nothing was written.
    pub unchanged: bool,
}

/// Decides replacing the stored object with `obj` (placed in its namespace).
pub fn decide_update(
    d: &mut Decision,
    obj: DynamicObject,
    target: WriteTarget,
) -> Result<Updated, RegistryError> {
    let key = obj.key()?;
    let stored = load(d, &key)?;
    check_resource_version(&stored.object, stored.mod_revision, obj.resource_version())?;
    decide_replace(d, &key, &stored, obj, target)
}

/// Decides a patch of the stored object.
pub fn decide_patch(
    d: &mut Decision,
    key: &ObjectKey,
    patch: &ObjectPatch,
    target: WriteTarget,
) -> Result<Updated, RegistryError> {
    let stored = load(d, key)?;
    let patched = patch.apply(&stored.object)?;
    check_resource_version(
        &stored.object,
        stored.mod_revision,
        patched.resource_version(),
    )?;
    decide_replace(d, key, &stored, patched, target)
}

fn load(d: &Decision, key: &ObjectKey) -> Result<StoredObject, RegistryError> {
    d.view
        .get(key)?
        .ok_or_else(|| RegistryError::not_found(&key.kind().group_resource(), key.name()))
}

fn decide_replace(
    d: &mut Decision,
    key: &ObjectKey,
    stored: &StoredObject,
    new: DynamicObject,
    target: WriteTarget,
) -> Result<Updated, RegistryError> {
    let new = match target {
        WriteTarget::Main => {
            let mut typed = TypedObject::decode(&new, FieldValidation::Strict)?.object;
            apply_defaults(&mut typed);
            if let TypedObject::Service(svc) = &mut typed {
                let old: k8s_openapi::api::core::v1::Service =
                    serde_json::from_value(stored.object.to_value()).map_err(|e| {
                        RegistryError::Internal(format!("stored Service does not decode: {e}"))
                    })?;
                let mut used = d.used_addresses()?;
                // The Service's own addresses are not in use by someone else.
                let own = super::address_claims::HeldAddresses::of(old.spec.as_ref());
                used.cluster_ips.retain(|ip| !own.ips.contains(ip));
                used.node_ports.retain(|p| !own.ports.contains(p));
                if let Some(spec) = svc.spec.as_mut() {
                    if let Err(errs) = d
                        .settings
                        .allocator
                        .allocate(spec, old.spec.as_ref(), &used)
                    {
                        errs.into_result("Service", key.name())?;
                    }
                }
            }
            typed.to_dynamic()?
        }
        WriteTarget::Status => {
            TypedObject::decode(&new, FieldValidation::Strict)?;
            new
        }
    };
    let new = keep_pod_cidr(&stored.object, new)?;
    let outcome = prepare_update(&stored.object, new, target)?;
    let (mut object, deleted) = match outcome {
        UpdateOutcome::Write(o) => (o, false),
        UpdateOutcome::Delete(o) => (o, true),
    };
    let old_typed = TypedObject::decode(&stored.object, FieldValidation::Warn)?.object;
    let new_typed = TypedObject::decode(&object, FieldValidation::Strict)?.object;
    validate_update(&old_typed, &new_typed)?;
    if object.resource_kind().id == KindId::ResourceQuota && target == WriteTarget::Main {
        let hard_changed = object.field("spec.hard") != stored.object.field("spec.hard");
        if hard_changed {
            let used = namespace_usage(d.view, object.namespace())?;
            object = with_usage(object, &used);
        }
    }
    let bytes = key.to_bytes();
    if deleted {
        d.write_object(&bytes, Some(stored), None)?;
        return Ok(Updated {
            object,
            deleted: true,
            unchanged: false,
        });
    }
    let mut current = stored.object.clone();
    current.clear_resource_version();
    let mut candidate = object.clone();
    candidate.clear_resource_version();
    if current == candidate {
        return Ok(Updated {
            object: stored.object.clone(),
            deleted: false,
            unchanged: true,
        });
    }
    d.write_object(&bytes, Some(stored), Some(&object))?;
    Ok(Updated {
        object,
        deleted: false,
        unchanged: false,
    })
}

/// A Node's pod CIDR is fixed once given: an update may leave it out (it is kept) but not change it.
fn keep_pod_cidr(
    old: &DynamicObject,
    mut new: DynamicObject,
) -> Result<DynamicObject, RegistryError> {
    if old.resource_kind().id != KindId::Node {
        return Ok(new);
    }
    let cidr = |o: &DynamicObject| {
        o.field("spec.podCIDR")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (was, now) = (cidr(old), cidr(&new));
    if was.is_empty() || was == now {
        return Ok(new);
    }
    if !now.is_empty() {
        return Err(RegistryError::Invalid(format!(
            "Node \"{}\" is invalid: spec.podCIDR: Forbidden: node updates may not change podCIDR except from \"\" to valid",
            old.name()
        )));
    }
    let map = new.as_map_mut();
    let spec = map.entry("spec").or_insert_with(|| serde_json::json!({}));
    spec["podCIDR"] = serde_json::json!(was);
    spec["podCIDRs"] = serde_json::json!([was]);
    Ok(new)
}
