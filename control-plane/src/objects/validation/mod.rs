//! Validation with Kubernetes' rules: every offending field is reported with its path, and the
//! list formats like kubectl (`The Deployment "web" is invalid: ...`).

mod field_error;
mod meta_validation;
pub mod names;
mod object_validator;
mod pod_validation;
mod service_validation;
mod workload_validation;

pub use field_error::{
    index, join, key, ErrorList, FieldError, FieldErrorKind, InvalidObject, Shown,
};
pub use meta_validation::{
    name_rule, validate_label_selector, validate_labels, MAX_ANNOTATIONS_BYTES,
};
pub use object_validator::{validate_create, validate_update};
pub use pod_validation::{validate_pod_spec, validate_resources};
pub use service_validation::MAX_DATA_BYTES;
