//! The object API's pure layer: the table of served Kubernetes kinds, store keys, manifests,
//! server-set metadata, defaulting, validation, patches, selectors and quantities. No IO: callers
//! read the store (the stored object, used IPs and ports) and pass in clocks, UIDs and suffixes.
//!
//! The order a frontend runs (Kubernetes defaults before it compares specs for `generation`):
//! - create: [`parse_manifest`] or [`DynamicObject::from_json`] → set the request namespace →
//!   [`TypedObject::decode`] → [`apply_defaults`] → [`ServiceAllocator::allocate`] (Services) →
//!   [`TypedObject::to_dynamic`] → [`prepare_create`] → decode → [`validation::validate_create`]
//!   → [`DynamicObject::to_json`] under [`DynamicObject::key`].
//! - update: [`check_resource_version`] → decode → defaults → allocate (with the stored spec) →
//!   [`prepare_update`] (`WriteTarget::Main` or `Status`) → decode both →
//!   [`validation::validate_update`]; [`UpdateOutcome::Delete`] means the last finalizer went.
//! - patch: [`ObjectPatch::apply`] on the stored object, then the update chain.
//! - delete: [`plan_delete`].
//! - list/watch: [`list_prefix`], [`LabelSelector`], [`FieldSelector::parse_for`]; set
//!   `resourceVersion` on read with [`DynamicObject::set_resource_version`].

mod defaults;
mod deletion;
mod dynamic_object;
mod manifest;
mod metadata;
mod object_key;
mod object_patch;
pub mod quantity;
mod registry_table;
mod resource_kind;
pub mod selectors;
mod service_allocator;
mod typed_object;
pub mod validation;

#[cfg(test)]
mod seed_tests;

pub use defaults::{apply_defaults, default_pod_spec, default_service, image_pull_policy};
pub use deletion::{
    plan_delete, DeleteOptions, DeletePlan, PropagationPolicy, FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
};
pub use dynamic_object::{DynamicObject, ObjectError};
pub use manifest::{
    parse_manifest, ManifestDocument, ManifestError, ManifestProblem, MAX_MANIFEST_BYTES,
};
pub use metadata::{
    check_resource_version, prepare_create, prepare_update, CreateContext, MetadataError,
    UpdateOutcome, WriteTarget,
};
pub use object_key::{check_segment, list_prefix, KeyError, ObjectKey, REGISTRY_PREFIX};
pub use object_patch::{ObjectPatch, PatchError};
pub use quantity::{parse_bytes, parse_cpu_millis, Quantity, QuantityError};
pub use registry_table::{LookupError, RegistryTable};
pub use resource_kind::{KindId, ResourceKind};
pub use selectors::{FieldOp, FieldSelector, LabelSelector, SelectorError};
pub use service_allocator::{
    CidrError, Ipv4Cidr, ServiceAllocator, UsedAddresses, DEFAULT_NODE_PORTS, DEFAULT_SERVICE_CIDR,
};
pub use typed_object::{DecodeError, Decoded, FieldValidation, TypedObject};
