//! `Mvcc`: the deterministic etcd-style MVCC state machine over the `sm_*` column families.
//!
//! The whole state lives in RocksDB (see [`encoding`](super::encoding)); `Mvcc` holds nothing but
//! the DB handle, so any number of clones may read concurrently while the single applier writes.
//! Applying is split over `txn_apply.rs` and `compaction.rs`, reads over `range.rs` and
//! `history.rs`.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{AsColumnFamilyRef, IteratorMode, Options, ReadOptions, Snapshot, WriteBatch, DB};
use sha2::{Digest, Sha256};

use super::command::Command;
use super::encoding::{
    decode, decode_u64, KvRecord, CF_EVENTS, CF_KV, CF_META, CF_REV, META_COMPACT_REVISION,
    META_REVISION, RAFT_META_PREFIX, STATE_MACHINE_CFS,
};
use super::error::StoreError;
use super::event::Event;
use super::response::CommandResponse;

/// Handle on the replicated key-value state. Cheap to clone.
#[derive(Clone)]
pub struct Mvcc {
    pub(super) db: Arc<DB>,
}

impl std::fmt::Debug for Mvcc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mvcc")
            .field("path", &self.db.path())
            .finish()
    }
}

impl Mvcc {
    /// Wraps a DB opened with every CF in [`STATE_MACHINE_CFS`]; fails if one is missing.
    pub fn new(db: Arc<DB>) -> Result<Self, StoreError> {
        let mvcc = Mvcc { db };
        for name in STATE_MACHINE_CFS {
            mvcc.cf(name)?;
        }
        Ok(mvcc)
    }

    /// Applies one committed command, adding its writes to `batch`.
    ///
    /// Contract: the caller writes `batch` (with its own additions) atomically before applying the
    /// next command, then publishes the returned events (if any) to the
    /// [`WatchHub`](super::WatchHub). Reads the DB directly, so it sees every earlier command.
    /// A command that fails [`Command::validate`] is answered `Rejected` and writes nothing.
    /// `Err` means storage failure or corruption: the replica must stop applying.
    pub fn apply(
        &self,
        cmd: &Command,
        batch: &mut WriteBatch,
    ) -> Result<(CommandResponse, Vec<Event>), StoreError> {
        if let Err(reason) = cmd.validate() {
            return Ok((CommandResponse::Rejected { reason }, Vec::new()));
        }
        match cmd {
            // The term of a fenced command is checked by the Raft state machine, which knows the
            // entry's term.
            Command::Txn(txn) | Command::Fenced { txn, .. } => self.apply_txn(txn, batch),
            Command::Compact { revision } => self.apply_compact(*revision, batch),
            Command::Noop => Ok((CommandResponse::Noop, Vec::new())),
        }
    }

    /// The current revision (0 on an empty store).
    pub fn revision(&self) -> Result<u64, StoreError> {
        self.meta_u64(META_REVISION)
    }

    /// The compact revision (0 if never compacted). Reads and watches below it fail.
    pub fn compact_revision(&self) -> Result<u64, StoreError> {
        self.meta_u64(META_COMPACT_REVISION)
    }

    /// sha256 (hex) over the revision, the compact revision and every live key with its
    /// revisions, version and value, in key order. Equal on replicas that applied the same log.
    pub fn state_hash(&self) -> Result<String, StoreError> {
        let snap = self.db.snapshot();
        let kv = self.cf(CF_KV)?;
        let (revision, compacted) = self.snapshot_revisions(&snap)?;
        let mut hash = Sha256::new();
        hash.update(b"keel-store-state-v1");
        hash.update(revision.to_be_bytes());
        hash.update(compacted.to_be_bytes());
        for item in snap.iterator_cf_opt(&kv, ReadOptions::default(), IteratorMode::Start) {
            let (key, raw) = item?;
            let rec: KvRecord = decode(CF_KV, &key, &raw)?;
            hash.update((key.len() as u64).to_be_bytes());
            hash.update(&key);
            hash.update(rec.create_revision.to_be_bytes());
            hash.update(rec.mod_revision.to_be_bytes());
            hash.update(rec.version.to_be_bytes());
            hash.update((rec.value.len() as u64).to_be_bytes());
            hash.update(&rec.value);
        }
        Ok(hex::encode(hash.finalize()))
    }

    /// Adds to `batch` the removal of all state-machine data: every entry of `sm_kv`, `sm_rev`,
    /// `sm_events`, and every `sm_meta` key outside `raft/`. Used when installing a snapshot: add
    /// the snapshot's records to the same batch *after* calling this (a batch applies in order).
    pub fn clear_for_install(&self, batch: &mut WriteBatch) -> Result<(), StoreError> {
        for name in [CF_KV, CF_REV, CF_EVENTS] {
            let cf = self.cf(name)?;
            if let Some(item) = self.db.iterator_cf(&cf, IteratorMode::End).next() {
                let (last, _) = item?;
                // DeleteRange's end is exclusive: one range tombstone, then the last key itself.
                batch.delete_range_cf(&cf, &b""[..], &last[..]);
                batch.delete_cf(&cf, &last);
            }
        }
        let meta = self.cf(CF_META)?;
        for item in self.db.iterator_cf(&meta, IteratorMode::Start) {
            let (key, _) = item?;
            if !key.starts_with(RAFT_META_PREFIX) {
                batch.delete_cf(&meta, &key);
            }
        }
        Ok(())
    }

    /// The handle of one of our column families.
    pub(super) fn cf(&self, name: &str) -> Result<impl AsColumnFamilyRef + '_, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StoreError::Storage(format!("column family {name} is missing")))
    }

    /// Latest record of `key` (reads the DB, not a snapshot: apply path).
    pub(super) fn get_kv(&self, key: &[u8]) -> Result<Option<KvRecord>, StoreError> {
        let cf = self.cf(CF_KV)?;
        match self.db.get_pinned_cf(&cf, key)? {
            Some(raw) => Ok(Some(decode(CF_KV, key, &raw)?)),
            None => Ok(None),
        }
    }

    /// (current revision, compact revision) as of `snap`.
    pub(super) fn snapshot_revisions(&self, snap: &Snapshot<'_>) -> Result<(u64, u64), StoreError> {
        let cf = self.cf(CF_META)?;
        let mut out = [0u64; 2];
        for (slot, key) in out.iter_mut().zip([META_REVISION, META_COMPACT_REVISION]) {
            if let Some(raw) = snap.get_pinned_cf(&cf, key)? {
                *slot = decode_u64(key, &raw)?;
            }
        }
        Ok((out[0], out[1]))
    }

    fn meta_u64(&self, key: &[u8]) -> Result<u64, StoreError> {
        let cf = self.cf(CF_META)?;
        match self.db.get_pinned_cf(&cf, key)? {
            Some(raw) => decode_u64(key, &raw),
            None => Ok(0),
        }
    }
}

/// Opens (creating if needed) a RocksDB at `path` with the state-machine column families. For
/// tests and tools; the server's opener lives in the Raft layer and adds its own CFs.
pub fn open_state_machine_cfs_for_tests(path: &Path) -> Result<Arc<DB>, StoreError> {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    Ok(Arc::new(DB::open_cf(&opts, path, STATE_MACHINE_CFS)?))
}
