//! API errors and their one mapping to gRPC statuses. A retry/forward case (no leader yet,
//! unknown outcome) is distinct from a caller's mistake (invalid argument, compacted revision).

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    /// A revision older than the retained history was asked for.
    #[error("{0}")]
    Compacted(String),
    /// The request is valid but the state does not allow it (e.g. compacting the future).
    #[error("{0}")]
    FailedPrecondition(String),
    /// No leader could be reached in time; nothing was written. Safe to retry.
    #[error("{0}")]
    Unavailable(String),
    /// The write was sent to the leader but no answer came back: it may or may not be applied.
    #[error("{0}")]
    OutcomeUnknown(String),
    /// The replica's storage failed.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Compacted { .. } => ApiError::Compacted(e.to_string()),
            StoreError::FutureRevision { .. } => ApiError::FailedPrecondition(e.to_string()),
            StoreError::InvalidArgument(m) => ApiError::InvalidArgument(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::InvalidArgument(m) => tonic::Status::invalid_argument(m),
            ApiError::Compacted(m) => tonic::Status::out_of_range(m),
            ApiError::FailedPrecondition(m) => tonic::Status::failed_precondition(m),
            ApiError::Unavailable(m) => tonic::Status::unavailable(m),
            ApiError::OutcomeUnknown(m) => tonic::Status::deadline_exceeded(m),
            ApiError::Internal(m) => tonic::Status::internal(m),
        }
    }
}
