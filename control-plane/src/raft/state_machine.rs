//! openraft's state machine for Keel: applies committed `Command`s to the MVCC store in RocksDB
//! (each entry atomically with its log id), publishes watch events, and builds/installs snapshot
//! files.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use futures::{Stream, TryStreamExt};
use openraft::alias::{EntryPayloadOf, LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::vote::RaftLeaderId;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use rocksdb::{WriteBatch, WriteOptions, DB};
use tokio::sync::watch;

use crate::raft::codec::encode;
use crate::raft::snapshot_file::{
    self, SnapshotFile, KEY_LAST_APPLIED, KEY_MEMBERSHIP, SM_META_CF,
};
use crate::raft::TypeConfig;
use crate::store::{Command, CommandResponse, Mvcc, RevisionEvents, WatchHub};

/// Progress of this replica's state machine, for readers waiting on a read index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Last applied Raft log index (0 before the first).
    pub index: u64,
    /// Store revision after it.
    pub revision: u64,
}

/// The state machine of one replica. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct KeelStateMachine {
    db: Arc<DB>,
    mvcc: Mvcc,
    hub: WatchHub,
    snapshot_dir: PathBuf,
    applied: Arc<watch::Sender<Applied>>,
}

impl KeelStateMachine {
    pub fn new(db: Arc<DB>, mvcc: Mvcc, hub: WatchHub, snapshot_dir: PathBuf) -> io::Result<Self> {
        let (last, _) = snapshot_file::read_applied(&db, None)?;
        let revision = mvcc.revision().map_err(io::Error::other)?;
        let index = last.map(|id| id.index()).unwrap_or(0);
        let (tx, _) = watch::channel(Applied { index, revision });
        Ok(Self {
            db,
            mvcc,
            hub,
            snapshot_dir,
            applied: Arc::new(tx),
        })
    }

    /// Subscribes to applied-progress updates.
    pub fn applied(&self) -> watch::Receiver<Applied> {
        self.applied.subscribe()
    }

    fn sm_meta(&self) -> io::Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(SM_META_CF)
            .ok_or_else(|| io::Error::other("sm_meta missing"))
    }

    fn apply_one(
        &self,
        log_id: &LogIdOf<TypeConfig>,
        payload: &EntryPayloadOf<TypeConfig>,
    ) -> io::Result<CommandResponse> {
        let mut batch = WriteBatch::default();
        let (response, events) = match payload {
            EntryPayload::Blank => (CommandResponse::Noop, Vec::new()),
            EntryPayload::Normal(Command::Fenced { term, .. })
                if *term != log_id.committed_leader_id().term() =>
            {
                let reason = format!(
                    "fenced: decided in term {term} but appended in term {}; a newer leader is in charge",
                    log_id.committed_leader_id().term()
                );
                (CommandResponse::Rejected { reason }, Vec::new())
            }
            EntryPayload::Normal(cmd) => {
                self.mvcc.apply(cmd, &mut batch).map_err(io::Error::other)?
            }
            EntryPayload::Membership(m) => {
                let stored = StoredMembershipOf::<TypeConfig>::new(Some(*log_id), m.clone());
                batch.put_cf(self.sm_meta()?, KEY_MEMBERSHIP, encode(&stored)?);
                (CommandResponse::Noop, Vec::new())
            }
        };
        batch.put_cf(self.sm_meta()?, KEY_LAST_APPLIED, encode(log_id)?);
        // Not synced: the Raft log is durable, and the log id applied is in the same atomic batch,
        // so after a crash the state machine resumes from exactly what it stored.
        self.db
            .write_opt(batch, &WriteOptions::default())
            .map_err(io::Error::other)?;
        let revision = match (&response, events.first()) {
            (_, Some(first)) => first.kv.mod_revision,
            _ => self.applied.borrow().revision,
        };
        if !events.is_empty() {
            self.hub.publish(RevisionEvents::new(revision, events));
        }
        self.applied.send_replace(Applied {
            index: log_id.index(),
            revision,
        });
        Ok(response)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for KeelStateMachine {
    type SnapshotData = SnapshotFile;

    async fn build_snapshot(&mut self) -> Result<SnapshotOf<TypeConfig, SnapshotFile>, io::Error> {
        let db = self.db.clone();
        let dir = self.snapshot_dir.clone();
        let (meta, file) = tokio::task::spawn_blocking(move || {
            let built = snapshot_file::write_snapshot(&db, &dir)?;
            snapshot_file::remove_others(&dir, &built.1.path)?;
            Ok::<_, io::Error>(built)
        })
        .await
        .map_err(io::Error::other)??;
        tracing::info!(path = %file.path.display(), last = ?meta.last_log_id, "built snapshot");
        Ok(SnapshotOf::<TypeConfig, SnapshotFile> {
            meta,
            snapshot: file,
        })
    }
}

impl RaftStateMachine<TypeConfig> for KeelStateMachine {
    type SnapshotData = SnapshotFile;
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogIdOf<TypeConfig>>, StoredMembershipOf<TypeConfig>), io::Error> {
        snapshot_file::read_applied(&self.db, None)
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let response = self.apply_one(&entry.log_id(), &entry.payload)?;
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TypeConfig>,
        snapshot: SnapshotFile,
    ) -> Result<(), io::Error> {
        let db = self.db.clone();
        let mvcc = self.mvcc.clone();
        let dir = self.snapshot_dir.clone();
        let meta = meta.clone();
        let installed_meta = meta.clone();
        tokio::task::spawn_blocking(move || {
            // One atomic batch replaces the whole state machine, so a crash leaves either the old
            // state or the new one.
            let mut batch = WriteBatch::default();
            mvcc.clear_for_install(&mut batch)
                .map_err(io::Error::other)?;
            snapshot_file::load_into_batch(&db, &snapshot.path, &mut batch)?;
            let cf = db
                .cf_handle(SM_META_CF)
                .ok_or_else(|| io::Error::other("sm_meta missing"))?;
            match &meta.last_log_id {
                Some(id) => batch.put_cf(&cf, KEY_LAST_APPLIED, encode(id)?),
                None => batch.delete_cf(&cf, KEY_LAST_APPLIED),
            }
            batch.put_cf(&cf, KEY_MEMBERSHIP, encode(&meta.last_membership)?);
            let mut opts = WriteOptions::default();
            opts.set_sync(true);
            db.write_opt(batch, &opts).map_err(io::Error::other)?;
            let path = dir.join(snapshot_file::file_name(&meta));
            if snapshot.path != path {
                std::fs::rename(&snapshot.path, &path)?;
            }
            snapshot_file::remove_others(&dir, &path)
        })
        .await
        .map_err(io::Error::other)??;
        let revision = self.mvcc.revision().map_err(io::Error::other)?;
        let index = installed_meta
            .last_log_id
            .as_ref()
            .map(|id| id.index())
            .unwrap_or(0);
        tracing::info!(index, revision, "installed snapshot");
        self.applied.send_replace(Applied { index, revision });
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<SnapshotOf<TypeConfig, SnapshotFile>>, io::Error> {
        let Some(path) = snapshot_file::latest_in(&self.snapshot_dir)? else {
            return Ok(None);
        };
        let meta = snapshot_file::read_meta(&path)?;
        Ok(Some(SnapshotOf::<TypeConfig, SnapshotFile> {
            meta,
            snapshot: SnapshotFile { path },
        }))
    }
}

#[cfg(test)]
mod fencing_tests {
    use super::*;
    use crate::raft::rocks::open_data_dir;
    use crate::store::{Op, Txn};
    use openraft::testing::log_id;

    fn put(key: &str) -> Txn {
        Txn {
            success: vec![Op::Put {
                key: key.as_bytes().to_vec(),
                value: b"v".to_vec(),
                prev_kv: false,
            }],
            ..Txn::default()
        }
    }

    #[test]
    fn a_fenced_command_applies_only_in_the_term_it_was_decided_in() {
        let dir = tempfile::tempdir().unwrap();
        let opened = open_data_dir(&dir.path().join("d"), 1, true).unwrap();
        let mvcc = Mvcc::new(opened.db.clone()).unwrap();
        let sm = KeelStateMachine::new(
            opened.db.clone(),
            mvcc.clone(),
            WatchHub::new(16),
            opened.snapshot_dir.clone(),
        )
        .unwrap();
        let current = EntryPayload::Normal(Command::Fenced {
            term: 3,
            txn: put("/now"),
        });
        let r = sm
            .apply_one(&log_id::<TypeConfig>(3, 1, 1), &current)
            .unwrap();
        assert!(
            matches!(r, CommandResponse::Txn(ref t) if t.succeeded),
            "{r:?}"
        );
        let stale = EntryPayload::Normal(Command::Fenced {
            term: 2,
            txn: put("/stale"),
        });
        let r = sm
            .apply_one(&log_id::<TypeConfig>(3, 2, 2), &stale)
            .unwrap();
        assert!(
            matches!(r, CommandResponse::Rejected { ref reason } if reason.contains("decided in term 2 but appended in term 3")),
            "{r:?}"
        );
        assert_eq!(
            mvcc.revision().unwrap(),
            1,
            "the stale command wrote nothing"
        );
        // The rejection is deterministic: every replica applies the same entry the same way.
        let r2 = sm
            .apply_one(&log_id::<TypeConfig>(3, 2, 3), &stale)
            .unwrap();
        assert_eq!(format!("{r:?}"), format!("{r2:?}"));
    }
}
