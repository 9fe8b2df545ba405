//! `Watcher`: one gap-free, duplicate-free watch on a key or prefix, from history into live events.
//!
//! It subscribes to the [`WatchHub`] *before* reading history, so every revision is either in the
//! history it reads or in its receiver; live revisions it has already seen are skipped. When the
//! receiver lags (or a revision is missing from the live stream, e.g. after a snapshot install) it
//! reads the history again from the next revision it needs.
//!
//! A watcher may filter on one value of the hub's [`WatchIndex`](super::WatchIndex) (e.g. the
//! pods of one node): events whose indexed value is something else are skipped before they are
//! copied, using values extracted once per revision for all watchers.

use std::sync::Arc;

use keel_proto::keys::matches;
use tokio::sync::broadcast::{self, error::RecvError};

use super::error::StoreError;
use super::event::Event;
use super::mvcc::Mvcc;
use super::watch_hub::{RevisionEvents, WatchHub};
use super::watch_index::IndexFilter;

/// Most revisions replayed from history in one batch.
const REPLAY_REVISIONS: usize = 256;

/// Events delivered together. Never splits a revision; `revision` is the revision the watcher has
/// now seen everything up to (resume a new watch from `revision + 1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchBatch {
    pub revision: u64,
    pub events: Vec<Event>,
}

/// A watch on `key` (or every key under it when `prefix`).
pub struct Watcher {
    mvcc: Mvcc,
    rx: broadcast::Receiver<Arc<RevisionEvents>>,
    key: Vec<u8>,
    prefix: bool,
    /// Next revision to deliver; every revision below it has been delivered or did not match.
    next_rev: u64,
    /// Read the stored history from `next_rev` before following the live stream.
    catch_up: bool,
    /// A watch that failed keeps failing with the same error.
    failed: Option<StoreError>,
    /// Only indexed events with this value (see [`Watcher::only_index_value`]).
    filter: Option<IndexFilter>,
    /// The hub's index, for [`Watcher::only_index_value`].
    index: Option<super::watch_index::WatchIndex>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("key", &String::from_utf8_lossy(&self.key))
            .field("prefix", &self.prefix)
            .field("next_rev", &self.next_rev)
            .field("catch_up", &self.catch_up)
            .field("filter", &self.filter.as_ref().map(|f| &f.value))
            .finish()
    }
}

impl Watcher {
    /// Starts a watch delivering revisions `>= start`; `start == 0` means after the current
    /// revision (only future changes).
    pub fn new(mvcc: Mvcc, hub: &WatchHub, key: Vec<u8>, prefix: bool, start: u64) -> Self {
        let rx = hub.subscribe();
        let (next_rev, failed) = match start {
            0 => match mvcc.revision() {
                Ok(current) => (current + 1, None),
                Err(e) => (1, Some(e)),
            },
            start => (start, None),
        };
        Watcher {
            mvcc,
            rx,
            key,
            prefix,
            next_rev,
            catch_up: true,
            failed,
            filter: None,
            index: hub.index().cloned(),
        }
    }

    /// Delivers, of the keys the hub indexes, only events whose indexed value before or after
    /// is `value` (other keys are unaffected). Without an index on the hub this changes nothing.
    /// The caller still checks each event: this only skips events that cannot concern it.
    pub fn only_index_value(mut self, value: String) -> Self {
        self.filter = self.index.clone().map(|index| IndexFilter { index, value });
        self
    }

    /// The next revision this watch will deliver.
    pub fn next_revision(&self) -> u64 {
        self.next_rev
    }

    /// Waits for the next non-empty batch. Errors: `Compacted` when the needed history is gone
    /// (start too old, or the watch lagged behind a compaction), `Closed` when the hub is gone,
    /// storage errors. After an error the watch is finished and returns that error again.
    ///
    /// Cancel-safe. History reads are short synchronous RocksDB reads on the calling task.
    pub async fn next(&mut self) -> Result<WatchBatch, StoreError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.next_inner().await;
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    async fn next_inner(&mut self) -> Result<WatchBatch, StoreError> {
        loop {
            if self.catch_up {
                let (events, through) = self.mvcc.events_since(
                    &self.key,
                    self.prefix,
                    self.next_rev,
                    REPLAY_REVISIONS,
                )?;
                // A full batch may have stopped early: read again before going live.
                self.catch_up = distinct_revisions(&events) >= REPLAY_REVISIONS;
                // `through` is below `next_rev - 1` only when the watch starts in the future.
                self.next_rev = self.next_rev.max(through + 1);
                let events: Vec<Event> = match &self.filter {
                    Some(f) => events.into_iter().filter(|e| f.admits(e, None)).collect(),
                    None => events,
                };
                if !events.is_empty() {
                    return Ok(WatchBatch {
                        revision: through,
                        events,
                    });
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(rev) if rev.revision < self.next_rev => {}
                Ok(rev) if rev.revision > self.next_rev => {
                    // Revisions are published contiguously, so something was missed: recover
                    // from the history, which already holds everything published.
                    tracing::debug!(
                        got = rev.revision,
                        want = self.next_rev,
                        "watch saw a gap in the live stream; replaying history"
                    );
                    self.catch_up = true;
                }
                Ok(rev) => {
                    self.next_rev = rev.revision + 1;
                    let known = self
                        .filter
                        .as_ref()
                        .map(|f| f.index.values_of_all(&rev.index, &rev.events));
                    let events: Vec<Event> = rev
                        .events
                        .iter()
                        .enumerate()
                        .filter(|(i, e)| {
                            matches(&self.key, self.prefix, &e.kv.key)
                                && self
                                    .filter
                                    .as_ref()
                                    .is_none_or(|f| f.admits(e, known.and_then(|k| k.get(*i))))
                        })
                        .map(|(_, e)| e.clone())
                        .collect();
                    if !events.is_empty() {
                        return Ok(WatchBatch {
                            revision: rev.revision,
                            events,
                        });
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(
                        skipped,
                        from = self.next_rev,
                        "watch lagged; replaying history"
                    );
                    self.catch_up = true;
                }
                Err(RecvError::Closed) => return Err(StoreError::Closed),
            }
        }
    }
}

fn distinct_revisions(events: &[Event]) -> usize {
    let mut count = 0;
    let mut last = None;
    for e in events {
        if last != Some(e.revision()) {
            count += 1;
            last = Some(e.revision());
        }
    }
    count
}
