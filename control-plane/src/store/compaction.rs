//! Applying `Compact { revision }`: dropping watch history and key versions older than it.
//!
//! After compacting at `c`, every read at a revision `>= c` still answers exactly as before, and
//! watches from `c` on still replay: events of revisions `< c` go, and per key only the newest
//! version `<= c` survives among the versions `<= c` (and not even that one if it is a tombstone).
//! Reads and watches below `c` fail with [`StoreError::Compacted`].

use std::collections::BTreeSet;

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::encoding::{
    decode, decode_event_key, decode_rev_key, encode_u64, event_key, rev_key, HistoryRecord,
    CF_EVENTS, CF_META, CF_REV, META_COMPACT_REVISION,
};
use super::error::StoreError;
use super::event::Event;
use super::mvcc::Mvcc;
use super::response::CommandResponse;

impl Mvcc {
    pub(super) fn apply_compact(
        &self,
        target: u64,
        batch: &mut WriteBatch,
    ) -> Result<(CommandResponse, Vec<Event>), StoreError> {
        let current = self.revision()?;
        let compacted = self.compact_revision()?;
        if target > current {
            let reason =
                format!("compact revision {target} is beyond the current revision {current}");
            return Ok((CommandResponse::Rejected { reason }, Vec::new()));
        }
        if target <= compacted {
            let reason =
                format!("revision {target} is already compacted (compact revision {compacted})");
            return Ok((CommandResponse::Rejected { reason }, Vec::new()));
        }

        // The previous compaction left at most one version <= `compacted` per key, so only keys
        // written in (compacted, target] can have versions to drop now. Their events are still
        // in the history (it holds every revision >= `compacted`).
        let ev_cf = self.cf(CF_EVENTS)?;
        let mut touched = BTreeSet::new();
        let start = event_key(compacted + 1, 0);
        for item in self
            .db
            .iterator_cf(&ev_cf, IteratorMode::From(&start, Direction::Forward))
        {
            let (key, raw) = item?;
            if decode_event_key(&key)? > target {
                break;
            }
            let event: Event = decode(CF_EVENTS, &key, &raw)?;
            touched.insert(event.kv.key);
        }

        let rev_cf = self.cf(CF_REV)?;
        for user_key in &touched {
            // Versions of `user_key` at revisions <= target, oldest first.
            let mut versions: Vec<(Box<[u8]>, bool)> = Vec::new();
            let from = rev_key(user_key, 0);
            for item in self
                .db
                .iterator_cf(&rev_cf, IteratorMode::From(&from, Direction::Forward))
            {
                let (key, raw) = item?;
                let (k, rev) = decode_rev_key(&key)?;
                if k != &user_key[..] || rev > target {
                    break;
                }
                let record: HistoryRecord = decode(CF_REV, &key, &raw)?;
                versions.push((key, record == HistoryRecord::Tombstone));
            }
            let keep_newest = versions.last().is_some_and(|(_, tombstone)| !tombstone);
            let drop = versions.len() - usize::from(keep_newest);
            for (key, _) in &versions[..drop] {
                batch.delete_cf(&rev_cf, key);
            }
        }

        batch.delete_range_cf(&ev_cf, event_key(0, 0), event_key(target, 0));
        batch.put_cf(
            &self.cf(CF_META)?,
            META_COMPACT_REVISION,
            encode_u64(target),
        );
        Ok((CommandResponse::Compact { revision: target }, Vec::new()))
    }
}
