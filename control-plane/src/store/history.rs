//! Replaying watch history: `Mvcc::events_since` over the `sm_events` column family.

use keel_proto::keys::matches;
use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::encoding::{decode, decode_event_key, event_key, CF_EVENTS};
use super::error::StoreError;
use super::event::Event;
use super::mvcc::Mvcc;

impl Mvcc {
    /// Events at revisions `>= start` on `key` (or under it when `prefix`; an empty prefix matches
    /// every key), in revision then op order, read from one consistent snapshot.
    ///
    /// At most `max_revisions` distinct revisions *with matching events* are returned (0 = no
    /// limit), and a revision is never split. The returned `u64` is the revision the history has
    /// been scanned through: the snapshot's current revision when everything was returned, else
    /// the last revision included. Continue from that value + 1.
    ///
    /// `Err(Compacted)` when `start` is below the compact revision (starting *at* it is fine).
    pub fn events_since(
        &self,
        key: &[u8],
        prefix: bool,
        start: u64,
        max_revisions: usize,
    ) -> Result<(Vec<Event>, u64), StoreError> {
        let snap = self.db.snapshot();
        let (current, compacted) = self.snapshot_revisions(&snap)?;
        if start < compacted {
            return Err(StoreError::Compacted {
                requested: start,
                compacted,
            });
        }
        let cf = self.cf(CF_EVENTS)?;
        let from = event_key(start.max(1), 0);
        let mode = IteratorMode::From(&from, Direction::Forward);
        let mut events = Vec::new();
        let mut last_rev = None;
        let mut revisions = 0usize;
        for item in snap.iterator_cf_opt(&cf, ReadOptions::default(), mode) {
            let (raw_key, raw) = item?;
            let rev = decode_event_key(&raw_key)?;
            let event: Event = decode(CF_EVENTS, &raw_key, &raw)?;
            if !matches(key, prefix, &event.kv.key) {
                continue;
            }
            if last_rev != Some(rev) {
                if max_revisions != 0 && revisions == max_revisions {
                    // `last_rev` is Some here: at least one revision has been taken.
                    return Ok((events, last_rev.unwrap_or(rev)));
                }
                revisions += 1;
                last_rev = Some(rev);
            }
            events.push(event);
        }
        Ok((events, current))
    }
}
