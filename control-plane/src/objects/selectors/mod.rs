//! Label selectors (equality and set-based, from strings or from a `LabelSelector`) and field
//! selectors (`metadata.name`, `metadata.namespace`, `spec.nodeName`, `status.phase`).

mod field_selector;
mod label_selector;
mod requirement;
mod selector_error;

pub use field_selector::{FieldOp, FieldRequirement, FieldSelector};
pub use label_selector::LabelSelector;
pub use requirement::{Operator, Requirement};
pub use selector_error::SelectorError;
