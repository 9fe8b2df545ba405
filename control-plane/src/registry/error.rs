//! `RegistryError`: why an object request failed, with the Kubernetes reason and HTTP code kubectl
//! shows, and its one mapping to a gRPC status (reason and code travel as `keel-reason` and
//! `keel-code` metadata so clients can print "Error from server (NotFound): ...").

use crate::api::ApiError;
use crate::objects::validation::InvalidObject;
use crate::objects::{
    DecodeError, KeyError, LookupError, MetadataError, ObjectError, PatchError, SelectorError,
};
use crate::store::StoreError;

/// A failed object request. Every message is what kubectl prints after "Error from server (..):".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Conflict(String),
    /// The object breaks validation; the message lists every offending field.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    BadRequest(String),
    /// The watch or list asked for history that was compacted away.
    #[error("{0}")]
    Gone(String),
    /// The request is well formed but not allowed now (terminating namespace, exceeded quota).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// No leader reached in time; nothing was written.
    #[error("{0}")]
    Unavailable(String),
    /// The write may or may not have been applied.
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Internal(String),
    /// Leader-only work from a term that is over: this replica no longer leads it.
    #[error("{0}")]
    Fenced(String),
}

impl RegistryError {
    /// Kubernetes' `StatusReason` and HTTP code.
    pub fn reason(&self) -> (&'static str, u16) {
        match self {
            RegistryError::NotFound(_) => ("NotFound", 404),
            RegistryError::AlreadyExists(_) => ("AlreadyExists", 409),
            RegistryError::Conflict(_) => ("Conflict", 409),
            RegistryError::Invalid(_) => ("Invalid", 422),
            RegistryError::BadRequest(_) => ("BadRequest", 400),
            RegistryError::Gone(_) => ("Expired", 410),
            RegistryError::Forbidden(_) => ("Forbidden", 403),
            RegistryError::MethodNotAllowed(_) => ("MethodNotAllowed", 405),
            RegistryError::Unavailable(_) => ("ServiceUnavailable", 503),
            RegistryError::Timeout(_) => ("Timeout", 504),
            RegistryError::Internal(_) => ("InternalError", 500),
            RegistryError::Fenced(_) => ("ServiceUnavailable", 503),
        }
    }

    /// Whether deciding again on a newer view could change the answer (the state it depends on
    /// may have changed); malformed requests and invalid objects stay wrong.
    pub fn may_be_stale(&self) -> bool {
        matches!(
            self,
            RegistryError::NotFound(_)
                | RegistryError::AlreadyExists(_)
                | RegistryError::Conflict(_)
                | RegistryError::Forbidden(_)
                | RegistryError::Invalid(_)
        )
    }

    pub fn not_found(resource: &str, name: &str) -> Self {
        RegistryError::NotFound(format!("{resource} \"{name}\" not found"))
    }
}

impl From<RegistryError> for tonic::Status {
    fn from(e: RegistryError) -> Self {
        use tonic::Code;
        let code = match &e {
            RegistryError::NotFound(_) => Code::NotFound,
            RegistryError::AlreadyExists(_) => Code::AlreadyExists,
            RegistryError::Conflict(_) => Code::Aborted,
            RegistryError::Invalid(_) | RegistryError::BadRequest(_) => Code::InvalidArgument,
            RegistryError::Gone(_) => Code::OutOfRange,
            RegistryError::Forbidden(_) => Code::FailedPrecondition,
            RegistryError::MethodNotAllowed(_) => Code::Unimplemented,
            RegistryError::Unavailable(_) => Code::Unavailable,
            RegistryError::Timeout(_) => Code::DeadlineExceeded,
            RegistryError::Internal(_) => Code::Internal,
            RegistryError::Fenced(_) => Code::Unavailable,
        };
        let (reason, http) = e.reason();
        let mut status = tonic::Status::new(code, e.to_string());
        let meta = status.metadata_mut();
        meta.insert(
            "keel-reason",
            tonic::metadata::MetadataValue::from_static(reason),
        );
        if let Ok(v) = http.to_string().parse() {
            meta.insert("keel-code", v);
        }
        status
    }
}

impl From<ApiError> for RegistryError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::InvalidArgument(m) => RegistryError::BadRequest(m),
            ApiError::Compacted(m) => RegistryError::Gone(m),
            ApiError::FailedPrecondition(m) => RegistryError::BadRequest(m),
            ApiError::Unavailable(m) => RegistryError::Unavailable(m),
            ApiError::OutcomeUnknown(m) => RegistryError::Timeout(m),
            ApiError::Internal(m) => RegistryError::Internal(m),
        }
    }
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<MetadataError> for RegistryError {
    fn from(e: MetadataError) -> Self {
        match e {
            MetadataError::Conflict { .. } => RegistryError::Conflict(e.to_string()),
            MetadataError::Invalid(inv) => inv.into(),
            MetadataError::NoStatusSubresource { .. } => RegistryError::NotFound(e.to_string()),
            MetadataError::NameRequired => {
                RegistryError::Invalid(format!("metadata.name: Required value: {e}"))
            }
            other => RegistryError::BadRequest(other.to_string()),
        }
    }
}

impl From<InvalidObject> for RegistryError {
    fn from(e: InvalidObject) -> Self {
        RegistryError::Invalid(e.to_string())
    }
}

impl From<DecodeError> for RegistryError {
    fn from(e: DecodeError) -> Self {
        RegistryError::BadRequest(e.to_string())
    }
}

impl From<ObjectError> for RegistryError {
    fn from(e: ObjectError) -> Self {
        match e {
            ObjectError::UnknownKind(l) => l.into(),
            other => RegistryError::BadRequest(other.to_string()),
        }
    }
}

impl From<LookupError> for RegistryError {
    fn from(e: LookupError) -> Self {
        RegistryError::NotFound(e.to_string())
    }
}

impl From<KeyError> for RegistryError {
    fn from(e: KeyError) -> Self {
        RegistryError::BadRequest(e.to_string())
    }
}

impl From<PatchError> for RegistryError {
    fn from(e: PatchError) -> Self {
        match e {
            PatchError::Object(o) => o.into(),
            other => RegistryError::BadRequest(other.to_string()),
        }
    }
}

impl From<SelectorError> for RegistryError {
    fn from(e: SelectorError) -> Self {
        RegistryError::BadRequest(e.to_string())
    }
}
