//! `SelectorError`: why a label or field selector was refused.

/// A selector that does not parse or names something unsupported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("unable to parse requirement: {reason} in selector {input:?}")]
    Syntax { input: String, reason: String },
    #[error("invalid label key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("invalid label value {value:?}: {reason}")]
    InvalidValue { value: String, reason: String },
    #[error("{operator:?} is not a valid label selector operator")]
    InvalidOperator { operator: String },
    #[error("\"{field}\" is not a known field selector for {kind}: only {}",
        supported.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "))]
    UnsupportedField {
        field: String,
        kind: String,
        supported: Vec<String>,
    },
}
