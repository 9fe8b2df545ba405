//! The Raft log in RocksDB, with group commit: `append` writes entries (readable at once) and hands
//! the durability callback to one flusher thread, which fsyncs the WAL once for every callback
//! queued behind it. Many concurrent proposals therefore share one fsync. A failed fsync stops the
//! process: a replica never acknowledges a write it could not make durable.

use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Weak};

use openraft::alias::{EntryOf, LogIdOf, VoteOf};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader};
use rocksdb::{WriteBatch, WriteOptions, DB};

use crate::raft::codec::{decode, encode};
use crate::raft::rocks::{CF_RAFT_LOG, CF_RAFT_META};
use crate::raft::TypeConfig;

const KEY_VOTE: &[u8] = b"vote";
const KEY_LAST_PURGED: &[u8] = b"last_purged";
const KEY_COMMITTED: &[u8] = b"committed";

/// Exit code of a replica that stopped because its disk failed.
pub const EXIT_DISK_FAILURE: i32 = 74;

/// RocksDB-backed Raft log of one replica.
#[derive(Clone)]
pub struct RocksLogStore {
    db: Arc<DB>,
    flusher: mpsc::Sender<IOFlushed<TypeConfig>>,
    stats: Arc<LogStats>,
}

/// Counters of the log's write path: how many appends shared how many WAL fsyncs.
#[derive(Debug, Default)]
pub struct LogStats {
    pub appends: AtomicU64,
    pub fsyncs: AtomicU64,
}

impl RocksLogStore {
    /// Creates the store and starts its flusher thread.
    pub fn new(db: Arc<DB>) -> io::Result<Self> {
        for cf in [CF_RAFT_LOG, CF_RAFT_META] {
            if db.cf_handle(cf).is_none() {
                return Err(io::Error::other(format!("column family {cf} missing")));
            }
        }
        let (tx, rx) = mpsc::channel::<IOFlushed<TypeConfig>>();
        // The flusher holds only a weak handle: the DB is closed by whoever drops the last
        // store handle, never by a detached thread racing the process's exit (RocksDB aborts
        // with "pthread lock: Invalid argument" when a DB closes after its statics are gone).
        let flush_db = Arc::downgrade(&db);
        let stats = Arc::new(LogStats::default());
        let flush_stats = stats.clone();
        std::thread::Builder::new()
            .name("raft-log-fsync".into())
            .spawn(move || run_flusher(flush_db, rx, flush_stats))?;
        Ok(Self {
            db,
            flusher: tx,
            stats,
        })
    }

    /// The write-path counters.
    pub fn stats(&self) -> &LogStats {
        &self.stats
    }

    fn get_meta<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> io::Result<Option<T>> {
        let cf = cf(&self.db, CF_RAFT_META)?;
        match self.db.get_cf(cf, key).map_err(io::Error::other)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some),
        }
    }

    fn put_meta<T: serde::Serialize>(&self, key: &[u8], value: &T) -> io::Result<()> {
        let cf = cf(&self.db, CF_RAFT_META)?;
        self.db
            .put_cf(cf, key, encode(value)?)
            .map_err(io::Error::other)
    }

    fn sync_wal(&self) -> io::Result<()> {
        sync_or_die(&self.db)
    }
}

fn cf<'a>(db: &'a DB, name: &str) -> io::Result<&'a rocksdb::ColumnFamily> {
    db.cf_handle(name)
        .ok_or_else(|| io::Error::other(format!("column family {name} missing")))
}

/// The `raft-log-fsync` failpoint (feature `failpoints`, armed by `FAILPOINTS` at startup):
/// `sleep(MS)` delays every fsync of the Raft log, `return` fails it.
fn fsync_failpoint() -> io::Result<()> {
    fail::fail_point!("raft-log-fsync", |_| {
        Err(io::Error::other("failpoint raft-log-fsync"))
    });
    Ok(())
}

/// fsyncs the WAL; on failure logs and exits the process (never continue on a lie).
fn sync_or_die(db: &DB) -> io::Result<()> {
    let synced = fsync_failpoint().and_then(|()| db.flush_wal(true).map_err(io::Error::other));
    if let Err(e) = synced {
        tracing::error!(error = %e, "fsync of the Raft log failed; stopping this replica");
        eprintln!("keel-server: fsync of the Raft log failed ({e}); stopping this replica");
        std::process::exit(EXIT_DISK_FAILURE);
    }
    Ok(())
}

fn run_flusher(db: Weak<DB>, rx: mpsc::Receiver<IOFlushed<TypeConfig>>, stats: Arc<LogStats>) {
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        while let Ok(more) = rx.try_recv() {
            waiting.push(more);
        }
        let outcome = match db.upgrade() {
            Some(db) => {
                let started = std::time::Instant::now();
                let _ = sync_or_die(&db);
                crate::metrics::global()
                    .raft_log_fsync_seconds
                    .observe(started.elapsed().as_secs_f64());
                stats.fsyncs.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            None => Err(io::Error::other("the Raft log was closed before its fsync")),
        };
        for callback in waiting {
            let result = match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            callback.io_completed(result);
        }
    }
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn key_index(key: &[u8]) -> io::Result<u64> {
    let arr: [u8; 8] = key
        .try_into()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "raft_log key is not 8 bytes"))?;
    Ok(u64::from_be_bytes(arr))
}

impl RaftLogReader<TypeConfig> for RocksLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<EntryOf<TypeConfig>>, io::Error> {
        let start = match range.start_bound() {
            std::ops::Bound::Included(x) => *x,
            std::ops::Bound::Excluded(x) => x + 1,
            std::ops::Bound::Unbounded => 0,
        };
        let cf = cf(&self.db, CF_RAFT_LOG)?;
        let mut out = Vec::new();
        let mode = rocksdb::IteratorMode::From(&index_key(start), rocksdb::Direction::Forward);
        for item in self.db.iterator_cf(cf, mode) {
            let (key, value) = item.map_err(io::Error::other)?;
            let index = key_index(&key)?;
            if !range.contains(&index) {
                break;
            }
            let entry: EntryOf<TypeConfig> = decode(&value)?;
            if entry.index() != index {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("raft_log key {index} holds entry {}", entry.index()),
                ));
            }
            out.push(entry);
        }
        Ok(out)
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<TypeConfig>>, io::Error> {
        self.get_meta(KEY_VOTE)
    }
}

impl RaftLogStorage<TypeConfig> for RocksLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let cf = cf(&self.db, CF_RAFT_LOG)?;
        let last = match self.db.iterator_cf(cf, rocksdb::IteratorMode::End).next() {
            None => None,
            Some(item) => {
                let (_, value) = item.map_err(io::Error::other)?;
                let entry: EntryOf<TypeConfig> = decode(&value)?;
                Some(entry.log_id())
            }
        };
        let last_purged_log_id: Option<LogIdOf<TypeConfig>> = self.get_meta(KEY_LAST_PURGED)?;
        let last_log_id = last.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<TypeConfig>) -> Result<(), io::Error> {
        self.put_meta(KEY_VOTE, vote)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.sync_wal())
            .await
            .map_err(io::Error::other)?
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogIdOf<TypeConfig>>,
    ) -> Result<(), io::Error> {
        // Not synced: losing it only means re-applying from the last applied entry.
        self.put_meta(KEY_COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogIdOf<TypeConfig>>, io::Error> {
        Ok(self
            .get_meta::<Option<LogIdOf<TypeConfig>>>(KEY_COMMITTED)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = EntryOf<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let cf = cf(&self.db, CF_RAFT_LOG)?;
        let mut batch = WriteBatch::default();
        let (mut count, mut bytes) = (0u64, 0u64);
        for entry in entries {
            let value = encode(&entry)?;
            count += 1;
            bytes += value.len() as u64;
            batch.put_cf(cf, index_key(entry.index()), value);
        }
        let metrics = crate::metrics::global();
        metrics.raft_log_entries_appended.inc_by(count);
        metrics.raft_log_bytes_appended.inc_by(bytes);
        // Written (readable) now; durable when the flusher's fsync covering it completes.
        let mut opts = WriteOptions::default();
        opts.set_sync(false);
        self.db.write_opt(batch, &opts).map_err(io::Error::other)?;
        self.stats.appends.fetch_add(1, Ordering::Relaxed);
        self.flusher
            .send(callback)
            .map_err(|_| io::Error::other("raft log flusher thread stopped"))
    }

    async fn truncate_after(
        &mut self,
        last_log_id: Option<LogIdOf<TypeConfig>>,
    ) -> Result<(), io::Error> {
        let from = last_log_id.map(|id| id.index() + 1).unwrap_or(0);
        let cf = cf(&self.db, CF_RAFT_LOG)?;
        self.db
            .delete_range_cf(cf, index_key(from), index_key(u64::MAX))
            .map_err(io::Error::other)?;
        // The truncated tail must not come back after a crash ahead of newer appends: sync.
        self.sync_wal()
    }

    async fn purge(&mut self, log_id: LogIdOf<TypeConfig>) -> Result<(), io::Error> {
        // Record the purge point first: entries at or below it are ignored even if still present.
        self.put_meta(KEY_LAST_PURGED, &log_id)?;
        let cf = cf(&self.db, CF_RAFT_LOG)?;
        self.db
            .delete_range_cf(cf, index_key(0), index_key(log_id.index() + 1))
            .map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use openraft::testing::log_id;
    use openraft::type_config::TypeConfigExt;

    use super::*;
    use crate::raft::rocks::open_data_dir;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_share_fsyncs_and_are_durable_when_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let opened = open_data_dir(&dir.path().join("r"), 1, true).unwrap();
        let mut store = RocksLogStore::new(opened.db.clone()).unwrap();
        let mut acks = Vec::new();
        for index in 1..=200u64 {
            let (tx, rx) = TypeConfig::oneshot();
            let entry = EntryOf::<TypeConfig>::new_blank(log_id::<TypeConfig>(1, 1, index));
            store.append([entry], IOFlushed::signal(tx)).await.unwrap();
            acks.push(rx);
        }
        for rx in acks {
            rx.await.unwrap().unwrap();
        }
        let (appends, fsyncs) = (
            store.stats().appends.load(Ordering::Relaxed),
            store.stats().fsyncs.load(Ordering::Relaxed),
        );
        assert_eq!(appends, 200);
        assert!(
            fsyncs >= 1 && fsyncs < appends,
            "200 appends took {fsyncs} fsyncs: no group commit"
        );
        let entries = store.try_get_log_entries(1..=200).await.unwrap();
        assert_eq!(entries.len(), 200);
    }
}
