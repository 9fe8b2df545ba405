//! openraft's own storage test suite, run against the RocksDB log store and state machine.

use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use openraft::StorageError;
use tempfile::TempDir;

use crate::raft::log_store::RocksLogStore;
use crate::raft::rocks::open_data_dir;
use crate::raft::state_machine::KeelStateMachine;
use crate::raft::TypeConfig;
use crate::store::{Mvcc, WatchHub};

struct RocksBuilder;

fn storage_err(e: impl std::fmt::Display) -> StorageError<TypeConfig> {
    StorageError::read(TypeConfig::err_from_string(e.to_string()))
}

impl StoreBuilder<TypeConfig, RocksLogStore, KeelStateMachine, TempDir> for RocksBuilder {
    async fn build(
        &self,
    ) -> Result<(TempDir, RocksLogStore, KeelStateMachine), StorageError<TypeConfig>> {
        let dir = TempDir::new().map_err(storage_err)?;
        let opened = open_data_dir(&dir.path().join("replica"), 1, true).map_err(storage_err)?;
        let mvcc = Mvcc::new(opened.db.clone()).map_err(storage_err)?;
        let sm = KeelStateMachine::new(
            opened.db.clone(),
            mvcc,
            WatchHub::new(16),
            opened.snapshot_dir,
        )
        .map_err(storage_err)?;
        let log = RocksLogStore::new(opened.db).map_err(storage_err)?;
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite_passes_on_rocksdb() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { Suite::test_all(RocksBuilder).await.unwrap() });
}
