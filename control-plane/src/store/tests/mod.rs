//! Tests of the store on real temporary RocksDB instances, one file per concern.

mod compaction;
mod history;
mod props;
mod range;
mod revisions;
mod txn;
mod watcher;

use rocksdb::WriteBatch;
use tempfile::TempDir;

use super::{
    open_state_machine_cfs_for_tests, Command, CommandResponse, KeyValue, Mvcc, Op, RangeQuery,
    RevisionEvents, StoreError, Txn, TxnResult, WatchHub,
};

/// A state machine on a fresh temp DB, applying the way the Raft layer does: apply one command
/// into a batch, write the batch, publish the events.
pub(super) struct TestStore {
    _dir: TempDir,
    pub mvcc: Mvcc,
    pub hub: WatchHub,
}

impl TestStore {
    pub fn new() -> Self {
        Self::with_hub_capacity(1024)
    }

    pub fn with_hub_capacity(capacity: usize) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open_state_machine_cfs_for_tests(dir.path()).expect("open db");
        let mvcc = Mvcc::new(db).expect("mvcc");
        TestStore {
            _dir: dir,
            mvcc,
            hub: WatchHub::new(capacity),
        }
    }

    /// Applies and writes `cmd`, without publishing its events.
    pub fn apply_unpublished(&self, cmd: &Command) -> (CommandResponse, Option<RevisionEvents>) {
        let mut batch = WriteBatch::default();
        let (resp, events) = self.mvcc.apply(cmd, &mut batch).expect("apply");
        self.mvcc.db.write(batch).expect("write batch");
        (resp, RevisionEvents::from_applied(events))
    }

    pub fn apply(&self, cmd: &Command) -> CommandResponse {
        let (resp, events) = self.apply_unpublished(cmd);
        if let Some(events) = events {
            self.hub.publish(events);
        }
        resp
    }

    pub fn txn(&self, txn: Txn) -> TxnResult {
        match self.apply(&Command::Txn(txn)) {
            CommandResponse::Txn(r) => r,
            other => panic!("expected a txn result, got {other:?}"),
        }
    }

    pub fn put(&self, key: &str, value: &str) -> TxnResult {
        self.txn(Txn {
            success: vec![put(key, value)],
            ..Txn::default()
        })
    }

    pub fn del(&self, key: &str, prefix: bool) -> TxnResult {
        self.txn(Txn {
            success: vec![Op::Delete {
                key: key.into(),
                prefix,
                prev_kv: true,
            }],
            ..Txn::default()
        })
    }

    pub fn get_at(&self, key: &str, revision: u64) -> Result<Option<KeyValue>, StoreError> {
        let q = RangeQuery {
            key: key.into(),
            revision,
            ..RangeQuery::default()
        };
        Ok(self.mvcc.range(&q)?.kvs.into_iter().next())
    }

    pub fn get(&self, key: &str) -> Option<KeyValue> {
        self.get_at(key, 0).expect("read latest")
    }

    pub fn list_at(&self, prefix: &str, revision: u64) -> Result<Vec<KeyValue>, StoreError> {
        let q = RangeQuery {
            key: prefix.into(),
            prefix: true,
            revision,
            ..RangeQuery::default()
        };
        Ok(self.mvcc.range(&q)?.kvs)
    }

    /// Number of entries in a column family.
    pub fn cf_len(&self, cf: &str) -> usize {
        let handle = self.mvcc.db.cf_handle(cf).expect("cf");
        self.mvcc
            .db
            .iterator_cf(&handle, rocksdb::IteratorMode::Start)
            .count()
    }
}

pub(super) fn put(key: &str, value: &str) -> Op {
    Op::Put {
        key: key.into(),
        value: value.into(),
        prev_kv: true,
    }
}

pub(super) fn kv(key: &str, value: &str, create: u64, modr: u64, version: u64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
        create_revision: create,
        mod_revision: modr,
        version,
    }
}
