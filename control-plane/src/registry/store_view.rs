//! `StoreView`: reads of stored objects from this replica's applied state. Objects are stored
//! without `metadata.resourceVersion`; a read sets it from the key's modify revision.

use crate::objects::{DynamicObject, ObjectKey};
use crate::store::{KeyValue, Mvcc, RangeQuery};

use super::error::RegistryError;

/// One stored object with the store facts the write path compares against.
#[derive(Debug, Clone)]
pub struct StoredObject {
    /// With `metadata.resourceVersion` set to `mod_revision`.
    pub object: DynamicObject,
    pub mod_revision: u64,
    pub create_revision: u64,
}

impl StoredObject {
    /// Decodes a stored key-value; a value that is not an object means the store is corrupt.
    pub fn from_kv(kv: &KeyValue) -> Result<StoredObject, RegistryError> {
        let mut object = DynamicObject::from_json(&kv.value).map_err(|e| {
            RegistryError::Internal(format!(
                "stored object {} does not decode: {e}",
                String::from_utf8_lossy(&kv.key)
            ))
        })?;
        object.set_resource_version(kv.mod_revision);
        Ok(StoredObject {
            object,
            mod_revision: kv.mod_revision,
            create_revision: kv.create_revision,
        })
    }
}

/// Reads at this replica's latest applied revision (or a given past revision).
#[derive(Clone)]
pub struct StoreView {
    mvcc: Mvcc,
}

impl StoreView {
    pub fn new(mvcc: Mvcc) -> Self {
        StoreView { mvcc }
    }

    pub fn mvcc(&self) -> &Mvcc {
        &self.mvcc
    }

    /// The latest applied revision.
    pub fn revision(&self) -> Result<u64, RegistryError> {
        Ok(self.mvcc.revision()?)
    }

    /// The raw value under `key` with its revisions, if present.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<KeyValue>, RegistryError> {
        let result = self.mvcc.range(&RangeQuery {
            key: key.to_vec(),
            ..Default::default()
        })?;
        Ok(result.kvs.into_iter().next())
    }

    /// The stored object under `key`, if present.
    pub fn get(&self, key: &ObjectKey) -> Result<Option<StoredObject>, RegistryError> {
        self.get_raw(&key.to_bytes())?
            .map(|kv| StoredObject::from_kv(&kv))
            .transpose()
    }

    /// Every key-value under `prefix` at the latest revision.
    pub fn scan(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, RegistryError> {
        Ok(self
            .mvcc
            .range(&RangeQuery {
                key: prefix.to_vec(),
                prefix: true,
                ..Default::default()
            })?
            .kvs)
    }

    /// Whether any key exists under `prefix`.
    pub fn any_under(&self, prefix: &[u8]) -> Result<bool, RegistryError> {
        let r = self.mvcc.range(&RangeQuery {
            key: prefix.to_vec(),
            prefix: true,
            count_only: true,
            ..Default::default()
        })?;
        Ok(r.count > 0)
    }
}
