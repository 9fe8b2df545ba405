//! Namespaced objects need an existing namespace that is not terminating. The namespace's
//! revision joins the transaction's compares, so a namespace marked for deletion concurrently
//! makes the create retry and fail.

use serde_json::Value;

use crate::objects::{KindId, ObjectKey, RegistryTable};

use super::error::RegistryError;
use super::store_view::StoreView;
use super::write_set::WriteSet;

/// Checks that `namespace` exists and accepts new content.
pub fn require_active_namespace(
    view: &StoreView,
    ws: &mut WriteSet,
    namespace: &str,
) -> Result<(), RegistryError> {
    let key = ObjectKey::new(RegistryTable::get(KindId::Namespace), None, namespace)?;
    let Some(ns) = view.get(&key)? else {
        return Err(RegistryError::not_found("namespaces", namespace));
    };
    ws.expect(&key.to_bytes(), ns.mod_revision);
    if is_terminating(&ns.object) {
        return Err(RegistryError::Forbidden(format!(
            "unable to create new content in namespace {namespace} because it is being terminated"
        )));
    }
    Ok(())
}

/// True once a namespace (or any object) has been marked for deletion.
pub fn is_terminating(obj: &crate::objects::DynamicObject) -> bool {
    obj.field("metadata.deletionTimestamp")
        .is_some_and(|v| !v.is_null())
        || obj.field("status.phase").and_then(Value::as_str) == Some("Terminating")
}
