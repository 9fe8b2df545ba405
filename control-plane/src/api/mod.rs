//! The gRPC services clients talk to (`Store`, `Cluster`, `Objects`), the proposer that forwards writes and
//! read indexes inside the cell, and the one place where errors become gRPC statuses.

pub mod cluster_service;
pub mod convert;
pub mod error;
pub mod node_service;
pub mod objects_service;
pub mod proposer;
pub mod store_service;

pub use error::ApiError;
pub use proposer::Proposer;
