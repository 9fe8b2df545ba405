//! Deletion planning: graceful deletion and finalizers. A delete either removes the object now
//! or marks it terminating (deletionTimestamp, deletionGracePeriodSeconds, propagation
//! finalizer); the last finalizer's removal then deletes it (see `metadata::prepare_update`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::SignedDuration;
use serde_json::Value;

use super::dynamic_object::DynamicObject;
use super::metadata::MetadataError;
use super::resource_kind::KindId;

/// Finalizer the garbage collector honours for `Orphan` propagation.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// Finalizer the garbage collector honours for `Foreground` propagation.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Kubernetes' propagation policies; the policy is recorded as a finalizer when the garbage
/// collector has work to do before the object may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropagationPolicy {
    Orphan,
    Background,
    Foreground,
}

/// A delete request, with the time supplied by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteOptions {
    pub now: Time,
    /// `None`: the kind's default (a pod's terminationGracePeriodSeconds, else 0).
    pub grace_period_seconds: Option<i64>,
    /// `None`: Background.
    pub propagation: Option<PropagationPolicy>,
}

/// What to do with the stored object.
#[derive(Debug, Clone, PartialEq)]
pub enum DeletePlan {
    /// Remove the key now.
    DeleteNow,
    /// Write this terminating object (finalizers or a grace period remain).
    MarkTerminating(DynamicObject),
    /// Already terminating and nothing changes.
    AlreadyTerminating,
}

/// Decides a delete. Pods that are bound to a node and not finished get a grace period (the
/// agent deletes them at the end of it); finalizers keep any object until they are removed.
pub fn plan_delete(obj: &DynamicObject, opts: &DeleteOptions) -> Result<DeletePlan, MetadataError> {
    let mut meta = obj.metadata()?;
    let grace = grace_period(obj, opts.grace_period_seconds).max(0);
    let mut finalizers = meta.finalizers.clone().unwrap_or_default();
    let policy_finalizer = match opts.propagation {
        Some(PropagationPolicy::Orphan) => Some(ORPHAN_FINALIZER),
        Some(PropagationPolicy::Foreground) => Some(FOREGROUND_FINALIZER),
        Some(PropagationPolicy::Background) | None => None,
    };
    if let Some(f) = policy_finalizer {
        if !finalizers.iter().any(|x| x == f) {
            finalizers.push(f.to_string());
        }
    }
    if let Some(existing_grace) = meta
        .deletion_grace_period_seconds
        .filter(|_| meta.deletion_timestamp.is_some())
    {
        // Already terminating: only a shorter grace period changes anything.
        if grace >= existing_grace || opts.grace_period_seconds.is_none() {
            return Ok(DeletePlan::AlreadyTerminating);
        }
    } else if meta.deletion_timestamp.is_some() {
        return Ok(DeletePlan::AlreadyTerminating);
    }
    if finalizers.is_empty() && grace == 0 {
        return Ok(DeletePlan::DeleteNow);
    }
    let at = opts
        .now
        .0
        .checked_add(SignedDuration::from_secs(grace))
        .map_err(|_| MetadataError::TimeOutOfRange)?;
    meta.deletion_timestamp = Some(Time(at));
    meta.deletion_grace_period_seconds = Some(grace);
    meta.finalizers = Some(finalizers);
    meta.generation = Some(meta.generation.unwrap_or(1) + 1);
    meta.resource_version = None;
    let mut out = obj.clone();
    out.set_metadata(&meta)?;
    Ok(DeletePlan::MarkTerminating(out))
}

/// The grace period Kubernetes applies: pods not yet bound or already finished go at once.
fn grace_period(obj: &DynamicObject, requested: Option<i64>) -> i64 {
    if obj.resource_kind().id != KindId::Pod {
        return requested.unwrap_or(0);
    }
    let node = obj
        .field("spec.nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let phase = obj
        .field("status.phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() || phase == "Succeeded" || phase == "Failed" {
        return 0;
    }
    requested.unwrap_or_else(|| {
        obj.field("spec.terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(30)
    })
}
