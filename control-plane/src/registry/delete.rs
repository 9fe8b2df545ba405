//! Deciding a delete: preconditions (resourceVersion, uid), graceful deletion and finalizers
//! (a delete that must wait marks the object terminating), namespaces (always marked
//! Terminating; the maintenance loop empties and removes them), and the protected namespaces.

use serde_json::{json, Value};

use crate::objects::{
    plan_delete, DeleteOptions, DeletePlan, DynamicObject, KindId, ObjectKey, PropagationPolicy,
};

use super::decision::Decision;
use super::error::RegistryError;

/// Namespaces that exist from bootstrap and may not be deleted.
pub const PROTECTED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// A delete request's options.
#[derive(Debug, Clone, Default)]
pub struct DeleteRequest {
    pub propagation: Option<PropagationPolicy>,
    pub grace_period_seconds: Option<i64>,
    pub resource_version: String,
    pub uid: String,
}

/// What a delete did.
#[derive(Debug, Clone)]
pub struct Deleted {
    pub object: DynamicObject,
    /// False when the object was only marked for deletion.
    pub deleted: bool,
    /// Already terminating: nothing was written.
    pub unchanged: bool,
}

pub fn parse_propagation(s: &str) -> Result<Option<PropagationPolicy>, RegistryError> {
    match s {
        "" => Ok(None),
        "Orphan" => Ok(Some(PropagationPolicy::Orphan)),
        "Background" => Ok(Some(PropagationPolicy::Background)),
        "Foreground" => Ok(Some(PropagationPolicy::Foreground)),
        other => Err(RegistryError::BadRequest(format!(
            "propagationPolicy: Unsupported value: {other:?}: supported values: \"Orphan\", \"Background\", \"Foreground\""
        ))),
    }
}

pub fn decide_delete(
    d: &mut Decision,
    key: &ObjectKey,
    req: &DeleteRequest,
) -> Result<Deleted, RegistryError> {
    let kind = key.kind();
    let stored = d
        .view
        .get(key)?
        .ok_or_else(|| RegistryError::not_found(&kind.group_resource(), key.name()))?;
    let obj = &stored.object;
    if !req.uid.is_empty() && req.uid != obj.uid() {
        return Err(RegistryError::Conflict(format!(
            "Precondition failed: UID in precondition: {}, UID in object meta: {}",
            req.uid,
            obj.uid()
        )));
    }
    if !req.resource_version.is_empty() && req.resource_version != obj.resource_version() {
        return Err(RegistryError::Conflict(format!(
            "Precondition failed: ResourceVersion in precondition: {}, ResourceVersion in object meta: {}",
            req.resource_version,
            obj.resource_version()
        )));
    }
    if kind.id == KindId::Namespace {
        return mark_namespace_terminating(d, key, &stored);
    }
    let plan = plan_delete(
        obj,
        &DeleteOptions {
            now: d.now.clone(),
            grace_period_seconds: req.grace_period_seconds,
            propagation: req.propagation,
        },
    )?;
    let bytes = key.to_bytes();
    match plan {
        DeletePlan::DeleteNow => {
            d.write_object(&bytes, Some(&stored), None)?;
            Ok(Deleted {
                object: obj.clone(),
                deleted: true,
                unchanged: false,
            })
        }
        DeletePlan::MarkTerminating(marked) => {
            d.write_object(&bytes, Some(&stored), Some(&marked))?;
            Ok(Deleted {
                object: marked,
                deleted: false,
                unchanged: false,
            })
        }
        DeletePlan::AlreadyTerminating => Ok(Deleted {
            object: obj.clone(),
            deleted: false,
            unchanged: true,
        }),
    }
}

fn mark_namespace_terminating(
    d: &mut Decision,
    key: &ObjectKey,
    stored: &super::store_view::StoredObject,
) -> Result<Deleted, RegistryError> {
    if PROTECTED_NAMESPACES.contains(&key.name()) {
        return Err(RegistryError::Forbidden(format!(
            "namespaces \"{}\" is forbidden: this namespace may not be deleted",
            key.name()
        )));
    }
    if super::namespace_guard::is_terminating(&stored.object) {
        return Ok(Deleted {
            object: stored.object.clone(),
            deleted: false,
            unchanged: true,
        });
    }
    let mut marked = stored.object.clone();
    let mut meta = marked.metadata()?;
    meta.deletion_timestamp = Some(d.now.clone());
    meta.deletion_grace_period_seconds = Some(0);
    marked.set_metadata(&meta)?;
    let mut status = marked
        .status()
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    status["phase"] = json!("Terminating");
    marked.set_status(Some(status));
    d.write_object(&key.to_bytes(), Some(stored), Some(&marked))?;
    Ok(Deleted {
        object: marked,
        deleted: false,
        unchanged: false,
    })
}
