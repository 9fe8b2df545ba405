//! Disaster recovery: seeding a new cell's state machine from a snapshot file. The new cell keeps
//! the store's revisions and history; its Raft log starts afresh.

use std::path::Path;

use rocksdb::{WriteBatch, WriteOptions, DB};

use crate::raft::snapshot_file;
use crate::store::Mvcc;

/// Replaces the (empty) state machine with the contents of `file`.
pub fn restore_from(db: &DB, mvcc: &Mvcc, file: &Path) -> Result<(), String> {
    let mut batch = WriteBatch::default();
    mvcc.clear_for_install(&mut batch)
        .map_err(|e| e.to_string())?;
    let meta = snapshot_file::load_into_batch(db, file, &mut batch)
        .map_err(|e| format!("--restore {}: {e}", file.display()))?;
    let mut opts = WriteOptions::default();
    opts.set_sync(true);
    db.write_opt(batch, &opts).map_err(|e| e.to_string())?;
    tracing::info!(file = %file.display(), source_log = ?meta.last_log_id, "restored state machine from snapshot");
    Ok(())
}
