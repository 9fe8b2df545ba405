//! Namespaced objects need an existing namespace that is not terminating. The namespace's
//! revision joins the transaction's compares, so a namespace marked for deletion concurrently
//! makes the create retry and fail. The bootstrap namespaces are created on first use when the
//! leader's maintenance loop has not made them yet (a cell's very first write may come first).

use serde_json::Value;

use crate::objects::{KindId, ObjectKey, RegistryTable};

use super::decision::Decision;
use super::error::RegistryError;
use super::maintenance::BOOTSTRAP_NAMESPACES;

/// Checks that `namespace` exists and accepts new content.
pub fn require_active_namespace(d: &mut Decision, namespace: &str) -> Result<(), RegistryError> {
    let key = ObjectKey::new(RegistryTable::get(KindId::Namespace), None, namespace)?;
    let Some(ns) = d.view.get(&key)? else {
        let pending = d.ws.pending(&key.to_bytes()).is_some();
        if BOOTSTRAP_NAMESPACES.contains(&namespace) && !pending {
            let obj = crate::objects::DynamicObject::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}
            }))?;
            super::create::decide_create(d, obj)?;
            return Ok(());
        }
        if pending {
            return Ok(());
        }
        return Err(RegistryError::not_found("namespaces", namespace));
    };
    d.ws.depend_on(&key.to_bytes(), ns.mod_revision);
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
