//! `TypedObject`: an object decoded into its k8s-openapi struct (`Pod`, `Deployment`, ...), for
//! defaulting and validation, with strict detection of fields the schema does not know.

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::v2 as autoscaling;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::dynamic_object::{DynamicObject, ObjectError};
use super::registry_table::RegistryTable;
use super::resource_kind::{KindId, ResourceKind};

/// Why an object does not decode into its kind's schema. Formats like the Kubernetes API server:
/// `Deployment in version "v1" cannot be handled as a Deployment: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A field has the wrong type or an impossible value (`path` is dotted, `[i]` for lists).
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: {path}: {message}")]
    Invalid {
        kind: &'static str,
        version: &'static str,
        path: String,
        message: String,
    },
    /// Strict decoding found fields the schema does not have.
    #[error(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
        fields.iter().map(|f| format!("unknown field \"{f}\"")).collect::<Vec<_>>().join(", ")
    )]
    UnknownFields {
        kind: &'static str,
        version: &'static str,
        fields: Vec<String>,
    },
}

/// How to treat fields the schema does not know: `Strict` refuses the object (kubectl's default,
/// `--validate=strict`); `Warn` drops them and reports them in [`Decoded::unknown_fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    #[default]
    Strict,
    Warn,
}

/// A decoded object plus the unknown fields that were dropped (only in `Warn` mode).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub object: TypedObject,
    pub unknown_fields: Vec<String>,
}

macro_rules! typed_objects {
    ($($id:ident => $ty:ty),* $(,)?) => {
        /// One object of a served kind, as its k8s-openapi struct (boxed: the structs are large).
        #[derive(Debug, Clone, PartialEq)]
        pub enum TypedObject { $($id(Box<$ty>)),* }

        impl TypedObject {
            pub fn kind_id(&self) -> KindId {
                match self { $(TypedObject::$id(_) => KindId::$id),* }
            }

            pub fn metadata(&self) -> &ObjectMeta {
                match self { $(TypedObject::$id(o) => &o.metadata),* }
            }

            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self { $(TypedObject::$id(o) => &mut o.metadata),* }
            }

            fn decode_value(
                id: KindId,
                v: &Value,
            ) -> Result<TypedObject, serde_path_to_error::Error<serde_json::Error>> {
                match id {
                    $(KindId::$id => serde_path_to_error::deserialize(v)
                        .map(|o| TypedObject::$id(Box::new(o)))),*
                }
            }

            fn encode_value(&self) -> Result<Value, serde_json::Error> {
                match self { $(TypedObject::$id(o) => serde_json::to_value(o.as_ref())),* }
            }
        }
    };
}

typed_objects! {
    Namespace => core::Namespace,
    Node => core::Node,
    Pod => core::Pod,
    Service => core::Service,
    Endpoints => core::Endpoints,
    ConfigMap => core::ConfigMap,
    Secret => core::Secret,
    Event => core::Event,
    ResourceQuota => core::ResourceQuota,
    ServiceAccount => core::ServiceAccount,
    PersistentVolume => core::PersistentVolume,
    PersistentVolumeClaim => core::PersistentVolumeClaim,
    Deployment => apps::Deployment,
    ReplicaSet => apps::ReplicaSet,
    StatefulSet => apps::StatefulSet,
    DaemonSet => apps::DaemonSet,
    Job => batch::Job,
    CronJob => batch::CronJob,
    HorizontalPodAutoscaler => autoscaling::HorizontalPodAutoscaler,
    Ingress => networking::Ingress,
}

impl TypedObject {
    /// Decodes `obj` into its kind's struct. Fields the schema does not know are an error in
    /// `Strict` mode and are dropped (and listed) in `Warn` mode.
    pub fn decode(obj: &DynamicObject, mode: FieldValidation) -> Result<Decoded, DecodeError> {
        let kind = obj.resource_kind();
        let original = obj.to_value();
        let object =
            TypedObject::decode_value(kind.id, &original).map_err(|e| DecodeError::Invalid {
                kind: kind.kind,
                version: kind.version,
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        let encoded = object.encode_value().map_err(|e| DecodeError::Invalid {
            kind: kind.kind,
            version: kind.version,
            path: ".".into(),
            message: e.to_string(),
        })?;
        let mut unknown_fields = Vec::new();
        collect_unknown(&original, &encoded, &mut String::new(), &mut unknown_fields);
        if mode == FieldValidation::Strict && !unknown_fields.is_empty() {
            return Err(DecodeError::UnknownFields {
                kind: kind.kind,
                version: kind.version,
                fields: unknown_fields,
            });
        }
        Ok(Decoded {
            object,
            unknown_fields,
        })
    }

    pub fn resource_kind(&self) -> &'static ResourceKind {
        RegistryTable::get(self.kind_id())
    }

    /// Back to JSON (apiVersion and kind are always written by k8s-openapi).
    pub fn to_dynamic(&self) -> Result<DynamicObject, ObjectError> {
        let value = self
            .encode_value()
            .map_err(|e| ObjectError::Encode(e.to_string()))?;
        DynamicObject::from_value(value)
    }

    /// `metadata.name` or `""`.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or("")
    }
}

/// Paths present (and not null) in `original` but absent from `encoded`.
fn collect_unknown(original: &Value, encoded: &Value, path: &mut String, out: &mut Vec<String>) {
    match (original, encoded) {
        (Value::Object(o), Value::Object(e)) => {
            for (k, v) in o {
                if v.is_null() {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match e.get(k) {
                    None => out.push(path.clone()),
                    Some(ev) => collect_unknown(v, ev, path, out),
                }
                path.truncate(len);
            }
        }
        (Value::Array(o), Value::Array(e)) => {
            for (i, (v, ev)) in o.iter().zip(e).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                collect_unknown(v, ev, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dynamic(v: Value) -> DynamicObject {
        DynamicObject::from_value(v).unwrap()
    }

    #[test]
    fn decodes_every_kind() {
        for k in RegistryTable::all() {
            let obj = dynamic(json!({
                "apiVersion": k.api_version(), "kind": k.kind, "metadata": {"name": "x"}
            }));
            let decoded = TypedObject::decode(&obj, FieldValidation::Strict).unwrap();
            assert_eq!(decoded.object.kind_id(), k.id);
            assert_eq!(decoded.object.name(), "x");
            assert_eq!(decoded.object.resource_kind().kind, k.kind);
            let back = decoded.object.to_dynamic().unwrap();
            assert_eq!(back.resource_kind().id, k.id);
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        let obj = dynamic(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": "three", "selector": {}, "template": {}}
        }));
        let err = TypedObject::decode(&obj, FieldValidation::Strict).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "Deployment in version \"v1\" cannot be handled as a Deployment: spec.replicas: "
            ),
            "{text}"
        );
    }

    #[test]
    fn unknown_fields_strict_and_warn() {
        let obj = dynamic(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "creationTimestamp": null, "colour": "red"},
            "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolcy": "Always"}]},
            "extra": 1
        }));
        let err = TypedObject::decode(&obj, FieldValidation::Strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: \
             unknown field \"extra\", unknown field \"metadata.colour\", \
             unknown field \"spec.containers[0].imagePullPolcy\""
        );
        let ok = TypedObject::decode(&obj, FieldValidation::Warn).unwrap();
        assert_eq!(ok.unknown_fields.len(), 3);
        let back = ok.object.to_dynamic().unwrap();
        assert!(back.as_map().get("extra").is_none());
    }

    #[test]
    fn quantities_and_int_or_string_accept_numbers() {
        let obj = dynamic(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i",
                "resources": {"limits": {"cpu": 1, "memory": "128Mi"}},
                "readinessProbe": {"httpGet": {"port": 8080}}}]}
        }));
        let d = TypedObject::decode(&obj, FieldValidation::Strict).unwrap();
        let TypedObject::Pod(pod) = d.object else {
            panic!("not a pod")
        };
        let limits = pod.spec.unwrap().containers[0]
            .resources
            .clone()
            .unwrap()
            .limits
            .unwrap();
        assert_eq!(limits["cpu"].0, "1");
    }
}
