//! Server-set metadata (`ObjectMeta`) on create and update, the spec/status split, and
//! optimistic concurrency. Pure: the caller supplies the UID, the time and the name suffix.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::{json, Value};

use super::dynamic_object::{DynamicObject, ObjectError};
use super::resource_kind::KindId;
use super::validation::{ErrorList, InvalidObject};

/// Why a create, update or delete cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("name or generateName is required")]
    NameRequired,
    #[error(transparent)]
    Invalid(#[from] InvalidObject),
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error("the server could not find the requested resource: {kind} has no status subresource")]
    NoStatusSubresource { kind: &'static str },
    #[error("an update must keep the kind: stored {stored}, sent {sent}")]
    KindChanged { stored: String, sent: String },
    /// Optimistic concurrency: the caller's resourceVersion is not the stored one. Retry on a
    /// fresh read; this is not a failure of the server.
    #[error(
        "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; \
         please apply your changes to the latest version and try again"
    )]
    Conflict { resource: String, name: String },
    #[error("metadata.resourceVersion: Invalid value: {0:?}: must be a decimal revision")]
    BadResourceVersion(String),
    #[error("timestamp out of range")]
    TimeOutOfRange,
}

/// What the proposer decided outside the pure code: the new object's UID, the current time,
/// and the random suffix used when `metadata.generateName` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateContext {
    pub uid: String,
    pub now: Time,
    pub name_suffix: String,
}

/// Which part of the object a write targets: the main resource (spec, metadata) or `/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteTarget {
    Main,
    Status,
}

/// The result of an update: write it, or (when the last finalizer of a terminating object was
/// removed) delete it.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    Write(DynamicObject),
    Delete(DynamicObject),
}

/// Fills server-set metadata on create: uid, creationTimestamp, generation 1, the name from
/// `generateName` + suffix; clears resourceVersion and deletion fields; resets status (a Pod
/// starts `Pending`); gives a Job without `manualSelector` its generated selector.
pub fn prepare_create(
    mut obj: DynamicObject,
    ctx: &CreateContext,
) -> Result<DynamicObject, MetadataError> {
    let mut meta = obj.metadata()?;
    if meta.name.as_deref().unwrap_or("").is_empty() {
        match meta.generate_name.as_deref() {
            Some(prefix) if !prefix.is_empty() => {
                meta.name = Some(format!("{prefix}{}", ctx.name_suffix));
            }
            _ => return Err(MetadataError::NameRequired),
        }
    }
    meta.uid = Some(ctx.uid.clone());
    meta.creation_timestamp = Some(ctx.now.clone());
    meta.generation = Some(1);
    meta.resource_version = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.managed_fields = None;
    obj.set_metadata(&meta)?;
    let kind = obj.resource_kind();
    if kind.has_status {
        obj.set_status(None);
    }
    match kind.id {
        KindId::Pod => obj.set_status(Some(json!({"phase": "Pending"}))),
        KindId::Namespace => obj.set_status(Some(json!({"phase": "Active"}))),
        KindId::Job => {
            generate_job_selector(&mut obj, &ctx.uid, meta.name.as_deref().unwrap_or(""))
        }
        _ => {}
    }
    Ok(obj)
}

/// Kubernetes' Job selector generation: unless `spec.manualSelector` is true, the selector is
/// the job's UID and the pod template carries the matching labels.
fn generate_job_selector(obj: &mut DynamicObject, uid: &str, name: &str) {
    let map = obj.as_map_mut();
    let Some(Value::Object(spec)) = map.get_mut("spec") else {
        return;
    };
    if spec.get("manualSelector") == Some(&Value::Bool(true)) {
        return;
    }
    spec.insert(
        "selector".into(),
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if !template.is_object() {
        return;
    }
    let meta = template
        .as_object_mut()
        .map(|t| t.entry("metadata").or_insert_with(|| json!({})));
    let Some(Value::Object(meta)) = meta else {
        return;
    };
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if let Value::Object(labels) = labels {
        for (k, v) in [
            ("batch.kubernetes.io/controller-uid", uid),
            ("batch.kubernetes.io/job-name", name),
            ("controller-uid", uid),
            ("job-name", name),
        ] {
            labels.insert(k.into(), Value::String(v.into()));
        }
    }
}

/// Optimistic concurrency: a non-empty `requested` resourceVersion must equal the stored
/// object's modify revision; an empty one is an unconditional update.
pub fn check_resource_version(
    stored: &DynamicObject,
    stored_revision: u64,
    requested: &str,
) -> Result<(), MetadataError> {
    if requested.is_empty() {
        return Ok(());
    }
    let rv: u64 = requested
        .parse()
        .map_err(|_| MetadataError::BadResourceVersion(requested.to_string()))?;
    if rv == stored_revision {
        Ok(())
    } else {
        Err(MetadataError::Conflict {
            resource: stored.resource_kind().group_resource(),
            name: stored.name().to_string(),
        })
    }
}

/// Applies Kubernetes' update rules to `new` against the stored `old`. Immutable: uid,
/// creationTimestamp, name, namespace. Main writes keep the stored status (for kinds with a
/// status subresource) and bump generation only when the desired state changed; status writes
/// keep everything but status. No finalizer may be added while the object is terminating, and
/// removing the last one from a terminating object deletes it.
pub fn prepare_update(
    old: &DynamicObject,
    new: DynamicObject,
    target: WriteTarget,
) -> Result<UpdateOutcome, MetadataError> {
    let kind = old.resource_kind();
    if new.resource_kind() != kind {
        return Err(MetadataError::KindChanged {
            stored: kind.to_string(),
            sent: new.resource_kind().to_string(),
        });
    }
    let old_meta = old.metadata()?;
    if target == WriteTarget::Status {
        if !kind.has_status {
            return Err(MetadataError::NoStatusSubresource { kind: kind.kind });
        }
        let mut out = old.clone();
        out.set_status(new.status().cloned());
        out.clear_resource_version();
        return Ok(UpdateOutcome::Write(out));
    }
    let mut meta = new.metadata()?;
    check_immutable(&old_meta, &mut meta).into_result(kind.kind, old.name())?;
    let mut out = new;
    if kind.has_status {
        out.set_status(old.status().cloned());
    }
    let old_generation = old_meta.generation.unwrap_or(1);
    meta.generation = Some(if out.desired_state() == old.desired_state() {
        old_generation
    } else {
        old_generation + 1
    });
    meta.deletion_timestamp = old_meta.deletion_timestamp.clone();
    meta.deletion_grace_period_seconds = old_meta.deletion_grace_period_seconds;
    meta.resource_version = None;
    let terminating = meta.deletion_timestamp.is_some();
    if terminating {
        let old_finalizers = old_meta.finalizers.clone().unwrap_or_default();
        let mut errs = ErrorList::new();
        for f in meta.finalizers.iter().flatten() {
            if !old_finalizers.contains(f) {
                errs.forbidden(
                    "metadata.finalizers",
                    format!("no new finalizers can be added if the object is being deleted, found new finalizers [{f:?}]"),
                );
            }
        }
        errs.into_result(kind.kind, old.name())?;
    }
    out.set_metadata(&meta)?;
    let finalizers_done = meta.finalizers.as_ref().is_none_or(Vec::is_empty);
    let grace_done = meta.deletion_grace_period_seconds.unwrap_or(0) == 0;
    if terminating && finalizers_done && grace_done {
        Ok(UpdateOutcome::Delete(out))
    } else {
        Ok(UpdateOutcome::Write(out))
    }
}

/// Fills server-set fields the client left out and reports changed immutable ones.
fn check_immutable(old: &ObjectMeta, new: &mut ObjectMeta) -> ErrorList {
    let mut errs = ErrorList::new();
    if new.uid.as_deref().unwrap_or("").is_empty() {
        new.uid = old.uid.clone();
    }
    // Kubernetes always takes creationTimestamp from the stored object.
    new.creation_timestamp = old.creation_timestamp.clone();
    let pairs = [
        ("metadata.name", &old.name, &new.name),
        ("metadata.namespace", &old.namespace, &new.namespace),
        ("metadata.uid", &old.uid, &new.uid),
    ];
    for (path, o, n) in pairs {
        let (o, n) = (o.as_deref().unwrap_or(""), n.as_deref().unwrap_or(""));
        if o != n {
            errs.immutable(path, n);
        }
    }
    errs
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
