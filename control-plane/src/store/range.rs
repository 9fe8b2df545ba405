//! `RangeQuery` / `RangeResult`: consistent reads of one key or a prefix, now or at a past revision.

use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::encoding::{decode, decode_rev_key, rev_key, HistoryRecord, KvRecord, CF_KV, CF_REV};
use super::error::StoreError;
use super::event::KeyValue;
use super::mvcc::Mvcc;

/// What to read.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RangeQuery {
    /// The key, or the prefix when `prefix` (an empty prefix selects every key).
    pub key: Vec<u8>,
    pub prefix: bool,
    /// Revision to read at; 0 = latest.
    pub revision: u64,
    /// Most kvs to return; 0 = no limit.
    pub limit: u64,
    /// Resume strictly after this key (for paging through a prefix).
    pub after_key: Option<Vec<u8>>,
    /// Return keys with empty values.
    pub keys_only: bool,
    /// Return only `count`, no kvs.
    pub count_only: bool,
}

/// What was read.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RangeResult {
    /// Matching kvs in key order (at most `limit`; none when `count_only`).
    pub kvs: Vec<KeyValue>,
    /// True when more keys matched than were returned (never set for `count_only`).
    pub more: bool,
    /// How many keys match the range after `after_key`, ignoring `limit` (etcd's count for a range
    /// starting at the resume point), so `count - kvs.len()` keys remain.
    pub count: u64,
    /// The revision the read was served at.
    pub revision: u64,
}

/// Accumulates matches under `limit` / `keys_only` / `count_only`.
struct Collector<'q> {
    q: &'q RangeQuery,
    out: RangeResult,
}

impl Collector<'_> {
    /// Whether `key` is in range; `Err(())` once iteration has passed the range.
    fn in_range(&self, key: &[u8]) -> Result<bool, ()> {
        let within = if self.q.prefix {
            key.starts_with(&self.q.key)
        } else {
            key == self.q.key
        };
        if !within {
            return Err(());
        }
        Ok(self.q.after_key.as_deref().is_none_or(|after| key > after))
    }

    /// Whether the next match will be returned (else it is only counted).
    fn wants_kv(&self) -> bool {
        !self.q.count_only && (self.q.limit == 0 || (self.out.kvs.len() as u64) < self.q.limit)
    }

    fn push(&mut self, key: &[u8], rec: &KvRecord) {
        self.out.count += 1;
        if self.wants_kv() {
            let mut kv = rec.to_key_value(key);
            if self.q.keys_only {
                kv.value = Vec::new();
            }
            self.out.kvs.push(kv);
        }
    }

    fn finish(mut self) -> RangeResult {
        self.out.more = !self.q.count_only && self.out.count > self.out.kvs.len() as u64;
        self.out
    }
}

impl Mvcc {
    /// Reads from one consistent RocksDB snapshot. Errors: `InvalidArgument` for a bad key,
    /// `FutureRevision` above the current revision, `Compacted` below the compact revision (reading
    /// *at* the compact revision is allowed).
    pub fn range(&self, q: &RangeQuery) -> Result<RangeResult, StoreError> {
        if q.key.contains(&0) {
            return Err(StoreError::InvalidArgument(
                "range key contains a NUL byte".into(),
            ));
        }
        if !q.prefix && q.key.is_empty() {
            return Err(StoreError::InvalidArgument("range key is empty".into()));
        }
        let snap = self.db.snapshot();
        let (current, compacted) = self.snapshot_revisions(&snap)?;
        let revision = if q.revision == 0 { current } else { q.revision };
        if revision > current {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current,
            });
        }
        if revision < compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                compacted,
            });
        }
        let mut c = Collector {
            q,
            out: RangeResult {
                revision,
                ..RangeResult::default()
            },
        };
        // Start at the range start or just after `after_key`, whichever is later.
        let start = match &q.after_key {
            Some(after) if after[..] > q.key[..] => after.clone(),
            _ => q.key.clone(),
        };

        if revision == current {
            let cf = self.cf(CF_KV)?;
            let mode = IteratorMode::From(&start, Direction::Forward);
            for item in snap.iterator_cf_opt(&cf, ReadOptions::default(), mode) {
                let (key, raw) = item?;
                match c.in_range(&key) {
                    Err(()) => break,
                    Ok(false) => continue,
                    // Matches past the limit are only counted: no need to decode them.
                    Ok(true) if !c.wants_kv() => c.out.count += 1,
                    Ok(true) => c.push(&key, &decode(CF_KV, &key, &raw)?),
                }
            }
            return Ok(c.finish());
        }

        // Past revision: per user key, the newest history entry at or below `revision`.
        let cf = self.cf(CF_REV)?;
        let seek = if q.prefix { start } else { rev_key(&start, 0) };
        let mode = IteratorMode::From(&seek, Direction::Forward);
        let mut current_key: Option<(Vec<u8>, Option<KvRecord>)> = None;
        for item in snap.iterator_cf_opt(&cf, ReadOptions::default(), mode) {
            let (raw_key, raw) = item?;
            let (key, rev) = decode_rev_key(&raw_key)?;
            match c.in_range(key) {
                Err(()) => break,
                Ok(false) => continue,
                Ok(true) => {}
            }
            if current_key.as_ref().is_none_or(|(k, _)| k[..] != key[..]) {
                if let Some((k, Some(rec))) = current_key.take() {
                    c.push(&k, &rec);
                }
                current_key = Some((key.to_vec(), None));
            }
            if rev <= revision {
                if let Some((_, visible)) = current_key.as_mut() {
                    *visible = match decode(CF_REV, &raw_key, &raw)? {
                        HistoryRecord::Put(rec) => Some(rec),
                        HistoryRecord::Tombstone => None,
                    };
                }
            }
        }
        if let Some((k, Some(rec))) = current_key {
            c.push(&k, &rec);
        }
        Ok(c.finish())
    }
}
