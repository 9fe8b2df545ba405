//! Applying a [`Txn`]: compare evaluation, puts and (prefix) deletes at one shared revision.

use std::cmp::Ordering;

use rocksdb::{IteratorMode, WriteBatch};

use super::command::{Compare, CompareResult, CompareTarget, Op, Txn};
use super::encoding::{
    decode, display_key, encode, encode_u64, event_key, rev_key, HistoryRecord, KvRecord,
    CF_EVENTS, CF_KV, CF_META, CF_REV, META_REVISION,
};
use super::error::StoreError;
use super::event::{Event, EventKind, KeyValue};
use super::mvcc::Mvcc;
use super::response::{CommandResponse, OpResult, TxnResult};

impl Mvcc {
    /// Applies a validated txn (validation guarantees no key is written twice in the chosen
    /// branch, so reading the DB for each op sees exactly the pre-txn state of that key).
    pub(super) fn apply_txn(
        &self,
        txn: &Txn,
        batch: &mut WriteBatch,
    ) -> Result<(CommandResponse, Vec<Event>), StoreError> {
        let current = self.revision()?;
        let mut failed_compares = Vec::new();
        for (i, compare) in txn.compares.iter().enumerate() {
            let rec = self.get_kv(&compare.key)?;
            if let Some(line) = failed_compare(i, compare, rec.as_ref()) {
                failed_compares.push(line);
            }
        }
        let succeeded = failed_compares.is_empty();
        let ops = if succeeded {
            &txn.success
        } else {
            &txn.failure
        };

        // Every write of this txn happens at `rev`; it only becomes the store revision if
        // something was actually written.
        let rev = current + 1;
        let kv_cf = self.cf(CF_KV)?;
        let rev_cf = self.cf(CF_REV)?;
        let mut events = Vec::new();
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                Op::Put {
                    key,
                    value,
                    prev_kv,
                } => {
                    let old = self.get_kv(key)?;
                    let rec = KvRecord {
                        create_revision: old.as_ref().map_or(rev, |o| o.create_revision),
                        mod_revision: rev,
                        version: old.as_ref().map_or(1, |o| o.version + 1),
                        value: value.clone(),
                    };
                    batch.put_cf(&kv_cf, key, encode(&rec)?);
                    batch.put_cf(
                        &rev_cf,
                        rev_key(key, rev),
                        encode(&HistoryRecord::Put(rec.clone()))?,
                    );
                    let prev = old.map(|o| o.to_key_value(key));
                    responses.push(OpResult::Put {
                        prev_kv: prev.clone().filter(|_| *prev_kv),
                    });
                    events.push(Event {
                        kind: EventKind::Put,
                        kv: rec.to_key_value(key),
                        prev_kv: prev,
                    });
                }
                Op::Delete {
                    key,
                    prefix,
                    prev_kv,
                } => {
                    let victims = if *prefix {
                        self.scan_prefix(key)?
                    } else {
                        self.get_kv(key)?
                            .map(|r| r.to_key_value(key))
                            .into_iter()
                            .collect()
                    };
                    let tombstone = encode(&HistoryRecord::Tombstone)?;
                    for old in &victims {
                        batch.delete_cf(&kv_cf, &old.key);
                        batch.put_cf(&rev_cf, rev_key(&old.key, rev), &tombstone);
                        events.push(Event {
                            kind: EventKind::Delete,
                            kv: KeyValue {
                                key: old.key.clone(),
                                value: Vec::new(),
                                create_revision: 0,
                                mod_revision: rev,
                                version: 0,
                            },
                            prev_kv: Some(old.clone()),
                        });
                    }
                    responses.push(OpResult::Delete {
                        deleted: victims.len() as u64,
                        prev_kvs: if *prev_kv { victims } else { Vec::new() },
                    });
                }
            }
        }

        let revision = if events.is_empty() {
            current
        } else {
            let ev_cf = self.cf(CF_EVENTS)?;
            for (sub, event) in events.iter().enumerate() {
                let sub = u32::try_from(sub).map_err(|_| {
                    StoreError::InvalidArgument("more than 2^32 events in one revision".into())
                })?;
                batch.put_cf(&ev_cf, event_key(rev, sub), encode(event)?);
            }
            batch.put_cf(&self.cf(CF_META)?, META_REVISION, encode_u64(rev));
            rev
        };
        let result = TxnResult {
            revision,
            succeeded,
            responses,
            failed_compares,
        };
        Ok((CommandResponse::Txn(result), events))
    }

    /// Every live key starting with `prefix`, in key order (apply path: reads the DB).
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        let cf = self.cf(CF_KV)?;
        let mut out = Vec::new();
        let mode = IteratorMode::From(prefix, rocksdb::Direction::Forward);
        for item in self.db.iterator_cf(&cf, mode) {
            let (key, raw) = item?;
            if !key.starts_with(prefix) {
                break;
            }
            let rec: KvRecord = decode(CF_KV, &key, &raw)?;
            out.push(rec.to_key_value(&key));
        }
        Ok(out)
    }
}

/// `None` if the compare holds; else the line for `failed_compares`, e.g.
/// `compare[0] on key "/a": mod_revision is 0 (key does not exist), wanted EQUAL 5`.
fn failed_compare(i: usize, c: &Compare, rec: Option<&KvRecord>) -> Option<String> {
    let (name, ord, have, want) = match &c.target {
        CompareTarget::ModRevision(w) => {
            let h = rec.map_or(0, |r| r.mod_revision);
            ("mod_revision", h.cmp(w), h.to_string(), w.to_string())
        }
        CompareTarget::CreateRevision(w) => {
            let h = rec.map_or(0, |r| r.create_revision);
            ("create_revision", h.cmp(w), h.to_string(), w.to_string())
        }
        CompareTarget::Version(w) => {
            let h = rec.map_or(0, |r| r.version);
            ("version", h.cmp(w), h.to_string(), w.to_string())
        }
        CompareTarget::Value(w) => {
            let h = rec.map_or(&[][..], |r| &r.value[..]);
            ("value", h.cmp(&w[..]), preview(h), preview(w))
        }
        CompareTarget::Exists(w) => {
            let h = rec.is_some();
            ("exists", h.cmp(w), h.to_string(), w.to_string())
        }
    };
    let holds = match c.result {
        CompareResult::Equal => ord == Ordering::Equal,
        CompareResult::NotEqual => ord != Ordering::Equal,
        CompareResult::Greater => ord == Ordering::Greater,
        CompareResult::Less => ord == Ordering::Less,
    };
    if holds {
        return None;
    }
    let missing = if rec.is_none() {
        " (key does not exist)"
    } else {
        ""
    };
    let result = match c.result {
        CompareResult::Equal => "EQUAL",
        CompareResult::NotEqual => "NOT_EQUAL",
        CompareResult::Greater => "GREATER",
        CompareResult::Less => "LESS",
    };
    Some(format!(
        "compare[{i}] on key {}: {name} is {have}{missing}, wanted {result} {want}",
        display_key(&c.key)
    ))
}

/// A short printable form of a value for messages.
fn preview(v: &[u8]) -> String {
    const SHOWN: usize = 48;
    let shown = String::from_utf8_lossy(&v[..v.len().min(SHOWN)]).into_owned();
    if v.len() > SHOWN {
        format!("{shown:?}... ({} bytes)", v.len())
    } else {
        format!("{shown:?}")
    }
}
