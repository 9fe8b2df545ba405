//! On-disk layout of the state machine: column family names, key encodings and record codecs.
//!
//! | CF          | key                          | value                                   |
//! |-------------|------------------------------|-----------------------------------------|
//! | `sm_kv`     | user key                     | [`KvRecord`] (latest version)           |
//! | `sm_rev`    | user key ++ 0x00 ++ rev_be8  | [`HistoryRecord`] (put or tombstone)    |
//! | `sm_events` | rev_be8 ++ sub_be4           | [`Event`] (watch history)               |
//! | `sm_meta`   | `sm/revision`, `sm/compact_revision` | u64 big-endian                  |
//!
//! User keys never contain 0x00 (validated), so in `sm_rev` all versions of one key are contiguous
//! and sorted by revision, and keys sort in user-key order. Keys under `raft/` in `sm_meta` belong
//! to the Raft layer and are never read or written here.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::error::StoreError;
use super::event::KeyValue;

/// Latest value per user key.
pub const CF_KV: &str = "sm_kv";
/// Versioned history per user key, for reads at a past revision.
pub const CF_REV: &str = "sm_rev";
/// Watch history, one entry per event.
pub const CF_EVENTS: &str = "sm_events";
/// State-machine metadata (revision, compact revision); also holds the Raft layer's `raft/` keys.
pub const CF_META: &str = "sm_meta";
/// Every column family the state machine owns; the opener must create them.
pub const STATE_MACHINE_CFS: [&str; 4] = [CF_KV, CF_REV, CF_EVENTS, CF_META];

/// Key prefix in `sm_meta` reserved for the Raft layer.
pub const RAFT_META_PREFIX: &[u8] = b"raft/";
/// `sm_meta` key of the current revision.
pub const META_REVISION: &[u8] = b"sm/revision";
/// `sm_meta` key of the compact revision.
pub const META_COMPACT_REVISION: &[u8] = b"sm/compact_revision";

/// The stored form of a live key (in `sm_kv`, and as the put case in `sm_rev`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KvRecord {
    pub create_revision: u64,
    pub mod_revision: u64,
    pub version: u64,
    pub value: Vec<u8>,
}

impl KvRecord {
    /// The client-facing view of this record under `key`.
    pub fn to_key_value(&self, key: &[u8]) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            value: self.value.clone(),
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
            version: self.version,
        }
    }
}

/// One version of a key in `sm_rev`. Append-only enum: never reorder or remove variants.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum HistoryRecord {
    Put(KvRecord),
    Tombstone,
}

/// `sm_rev` key: `key ++ 0x00 ++ rev_be8`.
pub fn rev_key(key: &[u8], revision: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 9);
    out.extend_from_slice(key);
    out.push(0);
    out.extend_from_slice(&revision.to_be_bytes());
    out
}

/// Splits an `sm_rev` key into the user key and the revision.
pub fn decode_rev_key(raw: &[u8]) -> Result<(&[u8], u64), StoreError> {
    let bad = || StoreError::Corrupt(format!("{CF_REV}: malformed key {}", hex::encode(raw)));
    if raw.len() < 9 {
        return Err(bad());
    }
    let (key, rest) = raw.split_at(raw.len() - 9);
    if rest[0] != 0 {
        return Err(bad());
    }
    let rev: [u8; 8] = rest[1..].try_into().map_err(|_| bad())?;
    Ok((key, u64::from_be_bytes(rev)))
}

/// `sm_events` key: `rev_be8 ++ sub_be4`.
pub fn event_key(revision: u64, sub: u32) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&revision.to_be_bytes());
    out[8..].copy_from_slice(&sub.to_be_bytes());
    out
}

/// The revision part of an `sm_events` key.
pub fn decode_event_key(raw: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = raw
        .get(..8)
        .filter(|_| raw.len() == 12)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!("{CF_EVENTS}: malformed key {}", hex::encode(raw)))
        })?;
    Ok(u64::from_be_bytes(bytes))
}

/// A u64 meta value.
pub fn encode_u64(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

/// Decodes a u64 meta value stored under `key`.
pub fn decode_u64(key: &[u8], raw: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = raw.try_into().map_err(|_| {
        StoreError::Corrupt(format!(
            "{CF_META}: key {:?} holds {} bytes, expected 8",
            String::from_utf8_lossy(key),
            raw.len()
        ))
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// Serializes a record with bincode (standard config).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| StoreError::Corrupt(format!("cannot encode record: {e}")))
}

/// Deserializes a record read from `cf` under `key`; a failure names both.
pub fn decode<T: DeserializeOwned>(cf: &str, key: &[u8], raw: &[u8]) -> Result<T, StoreError> {
    match bincode::serde::decode_from_slice::<T, _>(raw, bincode::config::standard()) {
        Ok((value, read)) if read == raw.len() => Ok(value),
        Ok((_, read)) => Err(StoreError::Corrupt(format!(
            "{cf}: record under key {} has {} trailing bytes",
            display_key(key),
            raw.len() - read
        ))),
        Err(e) => Err(StoreError::Corrupt(format!(
            "{cf}: cannot decode record under key {}: {e}",
            display_key(key)
        ))),
    }
}

/// A key for messages: quoted text when printable UTF-8, else hex.
pub fn display_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if !s.chars().any(char::is_control) => format!("{s:?}"),
        _ => format!("0x{}", hex::encode(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rev_keys_round_trip_and_sort_by_user_key_then_revision() {
        let a1 = rev_key(b"/a", 1);
        let a2 = rev_key(b"/a", 256);
        let ab = rev_key(b"/ab", 0);
        assert!(a1 < a2 && a2 < ab);
        assert_eq!(decode_rev_key(&a2).ok(), Some((&b"/a"[..], 256)));
        assert!(decode_rev_key(b"short").is_err());
    }

    #[test]
    fn event_keys_sort_by_revision_then_sub() {
        assert!(event_key(1, 5) < event_key(2, 0));
        assert!(event_key(2, 0) < event_key(2, 1));
        assert_eq!(decode_event_key(&event_key(7, 3)).ok(), Some(7));
        assert!(decode_event_key(b"1234").is_err());
    }

    #[test]
    fn decode_names_cf_and_key() {
        let err = decode::<KvRecord>(CF_KV, b"/x", &[0xff])
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(msg.contains("sm_kv") && msg.contains("\"/x\""), "{msg}");
    }
}
