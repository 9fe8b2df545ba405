//! Deciding a create: decode, default, allocate Service addresses, set server metadata,
//! validate, check the namespace and quota, and claim the key (it must not exist).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use rand::Rng;

use crate::objects::validation::validate_create;
use crate::objects::{
    apply_defaults, prepare_create, CreateContext, DynamicObject, FieldValidation, KindId,
    TypedObject,
};

use super::decision::Decision;
use super::error::RegistryError;
use super::namespace_guard::require_active_namespace;

/// Decides the create of `obj` (already placed in its namespace); returns the object to store.
pub fn decide_create(d: &mut Decision, obj: DynamicObject) -> Result<DynamicObject, RegistryError> {
    let ctx = CreateContext {
        uid: uuid::Uuid::new_v4().to_string(),
        now: d.now.clone(),
        name_suffix: random_suffix(),
    };
    decide_create_with(d, obj, &ctx)
}

/// [`decide_create`] with the UID, clock and name suffix given.
pub fn decide_create_with(
    d: &mut Decision,
    obj: DynamicObject,
    ctx: &CreateContext,
) -> Result<DynamicObject, RegistryError> {
    let mut typed = TypedObject::decode(&obj, FieldValidation::Strict)?.object;
    apply_defaults(&mut typed);
    if let TypedObject::Service(svc) = &mut typed {
        let used = d.used_addresses()?;
        if let Some(spec) = svc.spec.as_mut() {
            if let Err(errs) = d.settings.allocator.allocate(spec, None, &used) {
                errs.into_result("Service", &name_for_errors(&obj))?;
            }
        }
    }
    let obj = prepare_create(typed.to_dynamic()?, ctx)?;
    let typed = TypedObject::decode(&obj, FieldValidation::Strict)?.object;
    validate_create(&typed)?;
    let key = obj.key()?;
    let kind = obj.resource_kind();
    if kind.namespaced {
        require_active_namespace(d, obj.namespace())?;
    }
    if d.view.get(&key)?.is_some() {
        return Err(RegistryError::AlreadyExists(format!(
            "{} \"{}\" already exists",
            kind.group_resource(),
            obj.name()
        )));
    }
    let mut obj = obj;
    if kind.id == KindId::Node
        && obj
            .field("spec.podCIDR")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .is_empty()
    {
        let cidr = d.allocate_pod_cidr(&key.to_bytes())?;
        let map = obj.as_map_mut();
        let spec = map.entry("spec").or_insert_with(|| serde_json::json!({}));
        spec["podCIDR"] = serde_json::json!(cidr);
        spec["podCIDRs"] = serde_json::json!([cidr]);
    }
    if kind.id == KindId::ResourceQuota {
        // A new quota starts from what the namespace already holds.
        let used = super::quota_recount::namespace_usage(d.view, obj.namespace())?;
        let obj = super::quota_recount::with_usage(obj, &used);
        d.write_object(&key.to_bytes(), None, Some(&obj))?;
        return Ok(obj);
    }
    d.write_object(&key.to_bytes(), None, Some(&obj))?;
    Ok(obj)
}

fn name_for_errors(obj: &DynamicObject) -> String {
    if obj.name().is_empty() {
        obj.generate_name().to_string()
    } else {
        obj.name().to_string()
    }
}

/// Kubernetes' generateName suffix: five characters from an alphabet without vowels.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The current time as Kubernetes metadata holds it (whole seconds).
pub fn now() -> Time {
    Time(unix_now())
}

/// The wall clock as a Timestamp, in whole seconds.
pub fn unix_now() -> k8s_openapi::jiff::Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    k8s_openapi::jiff::Timestamp::from_second(secs).unwrap_or_default()
}
