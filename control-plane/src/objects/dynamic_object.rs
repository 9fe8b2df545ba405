//! `DynamicObject`: a Kubernetes object held as JSON (`serde_json::Value`) whose apiVersion and
//! kind are known to the [`RegistryTable`], with typed access to its `ObjectMeta`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value};

use super::object_key::{KeyError, ObjectKey};
use super::registry_table::{LookupError, RegistryTable};
use super::resource_kind::ResourceKind;

/// Why a JSON value is not a usable object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("an object must be a JSON/YAML mapping, not {0}")]
    NotAnObject(&'static str),
    #[error("Object 'apiVersion' is missing")]
    MissingApiVersion,
    #[error("Object 'Kind' is missing")]
    MissingKind,
    #[error(transparent)]
    UnknownKind(#[from] LookupError),
    #[error("metadata: {0}")]
    BadMetadata(String),
    #[error("object is not valid JSON: {0}")]
    BadJson(String),
    #[error("could not encode the object: {0}")]
    Encode(String),
}

/// An object of a served kind, as JSON. The JSON is always a mapping whose `apiVersion` and
/// `kind` name the row in [`DynamicObject::resource_kind`].
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicObject {
    kind: &'static ResourceKind,
    value: Map<String, Value>,
}

impl DynamicObject {
    /// Checks that `value` is a mapping with a served apiVersion + kind.
    pub fn from_value(value: Value) -> Result<DynamicObject, ObjectError> {
        let map = match value {
            Value::Object(map) => map,
            other => return Err(ObjectError::NotAnObject(json_type(&other))),
        };
        let api_version = match map.get("apiVersion") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            _ => return Err(ObjectError::MissingApiVersion),
        };
        let kind_name = match map.get("kind") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            _ => return Err(ObjectError::MissingKind),
        };
        let kind = RegistryTable::by_api_version_kind(api_version, kind_name)?;
        Ok(DynamicObject { kind, value: map })
    }

    /// Decodes stored or wire JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<DynamicObject, ObjectError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ObjectError::BadJson(e.to_string()))?;
        DynamicObject::from_value(value)
    }

    /// Compact JSON bytes, as stored.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a Map<String, Value> cannot fail (string keys, finite JSON numbers).
        serde_json::to_vec(&self.value).unwrap_or_default()
    }

    pub fn resource_kind(&self) -> &'static ResourceKind {
        self.kind
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.value
    }

    /// Mutable access to the JSON; callers must not change `apiVersion` or `kind`.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.value
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.value)
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.value.clone())
    }

    /// `metadata.name`, or `""` when unset.
    pub fn name(&self) -> &str {
        self.meta_str("name")
    }

    /// `metadata.namespace`, or `""` when unset.
    pub fn namespace(&self) -> &str {
        self.meta_str("namespace")
    }

    /// `metadata.generateName`, or `""` when unset.
    pub fn generate_name(&self) -> &str {
        self.meta_str("generateName")
    }

    /// `metadata.resourceVersion`, or `""` when unset.
    pub fn resource_version(&self) -> &str {
        self.meta_str("resourceVersion")
    }

    /// `metadata.uid`, or `""` when unset.
    pub fn uid(&self) -> &str {
        self.meta_str("uid")
    }

    /// Sets `metadata.namespace` (creating `metadata` if needed).
    pub fn set_namespace(&mut self, namespace: &str) {
        self.with_meta_map(|m| {
            m.insert("namespace".into(), Value::String(namespace.into()));
        });
    }

    /// Sets `metadata.resourceVersion` to the store's modify revision, as on every read.
    pub fn set_resource_version(&mut self, revision: u64) {
        self.with_meta_map(|m| {
            m.insert(
                "resourceVersion".into(),
                Value::String(revision.to_string()),
            );
        });
    }

    /// Removes `metadata.resourceVersion`: the store's revision is the truth, so stored JSON
    /// never carries one.
    pub fn clear_resource_version(&mut self) {
        if let Some(Value::Object(meta)) = self.value.get_mut("metadata") {
            meta.remove("resourceVersion");
        }
    }

    /// `metadata.labels` as (key, value) pairs; non-string values are skipped.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.value
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|labels| labels.iter())
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
    }

    /// Typed `metadata` (empty when absent).
    pub fn metadata(&self) -> Result<ObjectMeta, ObjectError> {
        match self.value.get("metadata") {
            None | Some(Value::Null) => Ok(ObjectMeta::default()),
            Some(v) => serde_path_to_error::deserialize(v)
                .map_err(|e| ObjectError::BadMetadata(format!("{}: {}", e.path(), e.inner()))),
        }
    }

    /// Replaces `metadata` with `meta`.
    pub fn set_metadata(&mut self, meta: &ObjectMeta) -> Result<(), ObjectError> {
        let v = serde_json::to_value(meta).map_err(|e| ObjectError::Encode(e.to_string()))?;
        self.value.insert("metadata".into(), v);
        Ok(())
    }

    /// The store key for this object (uses `metadata.namespace` and `metadata.name`).
    pub fn key(&self) -> Result<ObjectKey, KeyError> {
        ObjectKey::new(self.kind, Some(self.namespace()), self.name())
    }

    /// The value at a dotted path (`spec.nodeName`, `status.phase`), if present.
    pub fn field(&self, dotted: &str) -> Option<&Value> {
        let mut parts = dotted.split('.');
        let mut cur = self.value.get(parts.next()?)?;
        for p in parts {
            cur = cur.get(p)?;
        }
        Some(cur)
    }

    /// Top-level `status`, if any.
    pub fn status(&self) -> Option<&Value> {
        self.value.get("status")
    }

    /// Replaces (or with `None` removes) top-level `status`.
    pub fn set_status(&mut self, status: Option<Value>) {
        match status {
            Some(s) => self.value.insert("status".into(), s),
            None => self.value.remove("status"),
        };
    }

    /// Everything the user owns besides metadata: all top-level fields except `apiVersion`,
    /// `kind`, `metadata` and `status` (`spec`, or `data` for a ConfigMap). A change here bumps
    /// `metadata.generation`.
    pub fn desired_state(&self) -> Map<String, Value> {
        self.value
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Replaces the desired state (see [`DynamicObject::desired_state`]) with `other`'s.
    pub fn set_desired_state_from(&mut self, other: &DynamicObject) {
        self.value
            .retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
        for (k, v) in other.desired_state() {
            self.value.insert(k, v);
        }
    }

    fn meta_str(&self, field: &str) -> &str {
        self.value
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Runs `f` on `metadata` as a mapping (created, or replacing a non-mapping, if needed).
    fn with_meta_map(&mut self, f: impl FnOnce(&mut Map<String, Value>)) {
        let mut meta = match self.value.remove("metadata") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        f(&mut meta);
        self.value.insert("metadata".into(), Value::Object(meta));
    }
}

/// The JSON type name of `v`, for messages.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy() -> DynamicObject {
        DynamicObject::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "n": 1}},
            "spec": {"replicas": 2}, "status": {"replicas": 1}
        }))
        .unwrap()
    }

    #[test]
    fn requires_mapping_api_version_and_served_kind() {
        assert_eq!(
            DynamicObject::from_value(json!([1])),
            Err(ObjectError::NotAnObject("a list"))
        );
        assert_eq!(
            DynamicObject::from_value(json!({"kind": "Pod"})),
            Err(ObjectError::MissingApiVersion)
        );
        assert_eq!(
            DynamicObject::from_value(json!({"apiVersion": "v1", "kind": ""})),
            Err(ObjectError::MissingKind)
        );
        let err =
            DynamicObject::from_value(json!({"apiVersion": "v1", "kind": "Foo"})).unwrap_err();
        assert_eq!(err.to_string(), "unknown kind Foo in apiVersion v1");
    }

    #[test]
    fn metadata_accessors() {
        let mut d = deploy();
        assert_eq!(d.resource_kind().kind, "Deployment");
        assert_eq!((d.name(), d.namespace(), d.uid()), ("web", "default", ""));
        assert_eq!(d.labels().collect::<Vec<_>>(), vec![("app", "web")]);
        assert_eq!(
            d.key().unwrap().to_string(),
            "/registry/apps/deployments/default/web"
        );
        d.set_resource_version(42);
        assert_eq!(d.resource_version(), "42");
        d.clear_resource_version();
        assert_eq!(d.resource_version(), "");
        assert_eq!(d.field("spec.replicas"), Some(&json!(2)));
        assert_eq!(d.field("spec.nodeName"), None);
    }

    #[test]
    fn typed_metadata_round_trip() {
        let mut d = deploy();
        let err = d.metadata().unwrap_err();
        assert!(err.to_string().contains("labels.n"), "{err}");
        d.as_map_mut()["metadata"]["labels"]["n"] = json!("1");
        let mut meta = d.metadata().unwrap();
        meta.generation = Some(3);
        d.set_metadata(&meta).unwrap();
        assert_eq!(d.field("metadata.generation"), Some(&json!(3)));
        let back = DynamicObject::from_json(&d.to_json()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn desired_state_excludes_metadata_and_status() {
        let mut d = deploy();
        assert_eq!(d.desired_state().keys().collect::<Vec<_>>(), vec!["spec"]);
        let mut other = deploy();
        other
            .as_map_mut()
            .insert("spec".into(), json!({"replicas": 5}));
        other.set_status(None);
        d.set_desired_state_from(&other);
        assert_eq!(d.field("spec.replicas"), Some(&json!(5)));
        assert_eq!(d.status(), Some(&json!({"replicas": 1})));
        let mut fresh =
            DynamicObject::from_value(json!({"apiVersion": "v1", "kind": "Pod"})).unwrap();
        fresh.set_namespace("ns1");
        assert_eq!(fresh.namespace(), "ns1");
    }
}
