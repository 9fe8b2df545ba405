//! `ObjectPatch`: JSON merge patch (RFC 7386) and JSON patch (RFC 6902) applied to a stored
//! object, via the `json-patch` crate. The result must keep its apiVersion, kind and name.

use serde_json::Value;

use super::dynamic_object::{DynamicObject, ObjectError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    #[error("invalid patch: {0}")]
    BadPatch(String),
    #[error("the patch could not be applied: {0}")]
    Apply(String),
    #[error("a patch may not change {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Object(#[from] ObjectError),
}

/// A patch as sent by a client (`--type merge` or `--type json`).
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectPatch {
    Merge(Value),
    Json(json_patch::Patch),
}

impl ObjectPatch {
    /// Parses a JSON merge patch body.
    pub fn merge_from_slice(body: &[u8]) -> Result<ObjectPatch, PatchError> {
        serde_json::from_slice(body)
            .map(ObjectPatch::Merge)
            .map_err(|e| PatchError::BadPatch(e.to_string()))
    }

    /// Parses a JSON patch (a list of operations).
    pub fn json_from_slice(body: &[u8]) -> Result<ObjectPatch, PatchError> {
        serde_json::from_slice(body)
            .map(ObjectPatch::Json)
            .map_err(|e| PatchError::BadPatch(e.to_string()))
    }

    /// The patched object. The caller then runs the update pipeline on it as on a PUT.
    pub fn apply(&self, obj: &DynamicObject) -> Result<DynamicObject, PatchError> {
        let mut value = obj.to_value();
        match self {
            ObjectPatch::Merge(p) => json_patch::merge(&mut value, p),
            ObjectPatch::Json(p) => {
                json_patch::patch(&mut value, p).map_err(|e| PatchError::Apply(e.to_string()))?
            }
        }
        let out = DynamicObject::from_value(value)?;
        if out.resource_kind() != obj.resource_kind() {
            return Err(PatchError::Forbidden("apiVersion or kind"));
        }
        if out.name() != obj.name() || out.namespace() != obj.namespace() {
            return Err(PatchError::Forbidden("metadata.name or metadata.namespace"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy() -> DynamicObject {
        DynamicObject::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"a": "1"}},
            "spec": {"replicas": 1}}))
        .unwrap()
    }

    #[test]
    fn merge_patch_scales_and_removes_labels() {
        let p = ObjectPatch::merge_from_slice(
            br#"{"spec":{"replicas":5},"metadata":{"labels":{"a":null}}}"#,
        )
        .unwrap();
        let out = p.apply(&deploy()).unwrap();
        assert_eq!(out.field("spec.replicas"), Some(&json!(5)));
        assert_eq!(out.field("metadata.labels"), Some(&json!({})));
    }

    #[test]
    fn json_patch_ops_and_failures() {
        let p = ObjectPatch::json_from_slice(
            br#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/labels/b","value":"2"}]"#,
        )
        .unwrap();
        let out = p.apply(&deploy()).unwrap();
        assert_eq!(out.field("spec.replicas"), Some(&json!(3)));
        assert_eq!(out.field("metadata.labels.b"), Some(&json!("2")));
        let bad =
            ObjectPatch::json_from_slice(br#"[{"op":"remove","path":"/spec/nope"}]"#).unwrap();
        assert!(matches!(bad.apply(&deploy()), Err(PatchError::Apply(_))));
        assert!(ObjectPatch::json_from_slice(b"{}").is_err());
        let rename = ObjectPatch::merge_from_slice(br#"{"metadata":{"name":"x"}}"#).unwrap();
        assert_eq!(
            rename.apply(&deploy()),
            Err(PatchError::Forbidden("metadata.name or metadata.namespace"))
        );
        let rekind = ObjectPatch::merge_from_slice(br#"{"kind":"StatefulSet"}"#).unwrap();
        assert_eq!(
            rekind.apply(&deploy()),
            Err(PatchError::Forbidden("apiVersion or kind"))
        );
    }
}
