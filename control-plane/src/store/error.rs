//! `StoreError`: everything the state machine, its reads and its watches can fail with.

/// Errors from the MVCC store. `Compacted` and `FutureRevision` are the client's to handle (retry at
/// a newer revision / relist); `Storage` and `Corrupt` mean the replica's disk state cannot be
/// trusted and the caller must stop applying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A read or watch asked for history that compaction has already dropped.
    #[error("required revision {requested} has been compacted; compact revision is {compacted}")]
    Compacted { requested: u64, compacted: u64 },
    /// A read asked for a revision this replica has not reached yet.
    #[error("required revision {requested} is a future revision; current revision is {current}")]
    FutureRevision { requested: u64, current: u64 },
    /// The request itself is malformed (bad key, bad range).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// RocksDB reported an error (text of the RocksDB error).
    #[error("storage error: {0}")]
    Storage(String),
    /// A stored record could not be decoded; names the column family and key.
    #[error("corrupt state-machine record: {0}")]
    Corrupt(String),
    /// The watch hub was dropped (the replica is shutting down); the watch cannot continue here.
    #[error("watch hub closed: the replica is shutting down")]
    Closed,
}

impl From<rocksdb::Error> for StoreError {
    fn from(e: rocksdb::Error) -> Self {
        StoreError::Storage(e.into_string())
    }
}
