//! `WriteSet`: the store writes one request (or one batch) decides, with the compares that make
//! them safe: every key the decision read is compared on its modify revision, so the transaction
//! commits only if nothing it depended on changed; otherwise the registry re-reads and decides
//! again. Quota charges and address claims accumulate here across a batch.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::{Compare, CompareResult, CompareTarget, Op, Txn};

use super::error::RegistryError;

/// The writes and compares of one transaction being built.
#[derive(Debug, Default)]
pub struct WriteSet {
    /// Key → the modify revision it must still have (0 = must not exist).
    expected: BTreeMap<Vec<u8>, u64>,
    /// Key → its new value (`None` = delete).
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Object keys written by a request in this set (one write per object per batch).
    objects: BTreeSet<Vec<u8>>,
}

impl WriteSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the decision depends on `key` having `mod_revision` (0 = absent).
    pub fn depend_on(&mut self, key: &[u8], mod_revision: u64) {
        self.expected.entry(key.to_vec()).or_insert(mod_revision);
    }

    /// Claims `key` as the object this request writes; a batch may write each object once.
    pub fn claim_object(&mut self, key: &[u8]) -> Result<(), RegistryError> {
        if !self.objects.insert(key.to_vec()) {
            return Err(RegistryError::BadRequest(format!(
                "a batch may write each object once; {} appears twice",
                String::from_utf8_lossy(key)
            )));
        }
        Ok(())
    }

    pub fn put(&mut self, key: &[u8], value: Vec<u8>) {
        self.writes.insert(key.to_vec(), Some(value));
    }

    pub fn delete(&mut self, key: &[u8]) {
        self.writes.insert(key.to_vec(), None);
    }

    /// The pending value of `key` in this set: `Some(None)` when it is being deleted.
    pub fn pending(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.writes.get(key).map(|v| v.as_deref())
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// The transaction: all compares must hold, then every write happens.
    pub fn into_txn(self) -> Txn {
        let compares = self
            .expected
            .into_iter()
            .map(|(key, rev)| Compare {
                key,
                target: CompareTarget::ModRevision(rev),
                result: CompareResult::Equal,
            })
            .collect();
        let success = self
            .writes
            .into_iter()
            .map(|(key, value)| match value {
                Some(value) => Op::Put {
                    key,
                    value,
                    prev_kv: false,
                },
                None => Op::Delete {
                    key,
                    prefix: false,
                    prev_kv: false,
                },
            })
            .collect();
        Txn {
            compares,
            success,
            failure: vec![],
        }
    }
}
