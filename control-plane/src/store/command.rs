//! `Command`: the replicated log payload (openraft app data) and its validation.
//!
//! Every enum here is append-only: variants are never reordered or removed, because old log
//! entries and snapshots must keep decoding to the same meaning.

use std::collections::HashMap;
use std::fmt;

use keel_proto::keys::{validate_key, validate_value};
use serde::{Deserialize, Serialize};

use super::encoding::display_key;

/// One entry of the replicated log.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Txn(Txn),
    /// Drop history older than `revision`.
    Compact {
        revision: u64,
    },
    /// Written by a new leader; changes nothing.
    Noop,
    /// A transaction decided by leader-only work (scheduler, controllers) in Raft term `term`.
    /// The state machine applies it only if the log entry carrying it has that same term:
    /// anything a deposed leader decided, but a newer leader appended, is rejected.
    Fenced {
        term: u64,
        txn: Txn,
    },
}

/// An etcd-style transaction: if every compare holds run `success`, else `failure`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Txn {
    pub compares: Vec<Compare>,
    pub success: Vec<Op>,
    pub failure: Vec<Op>,
}

/// A condition on one key's current state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    pub key: Vec<u8>,
    pub target: CompareTarget,
    pub result: CompareResult,
}

/// Which attribute of the key is compared, with the operand. A missing key has revisions 0,
/// version 0, an empty value and `Exists(false)`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CompareTarget {
    ModRevision(u64),
    CreateRevision(u64),
    Version(u64),
    Value(Vec<u8>),
    Exists(bool),
}

/// How the key's attribute must relate to the operand (`attribute <op> operand`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareResult {
    Equal,
    NotEqual,
    Greater,
    Less,
}

/// A write inside a transaction branch.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
        prev_kv: bool,
    },
    /// Deletes `key`, or every key starting with `key` when `prefix`.
    Delete {
        key: Vec<u8>,
        prefix: bool,
        prev_kv: bool,
    },
}

impl Op {
    /// The key (or prefix) the op writes, and whether it is a prefix.
    pub fn target(&self) -> (&[u8], bool) {
        match self {
            Op::Put { key, .. } => (key, false),
            Op::Delete { key, prefix, .. } => (key, *prefix),
        }
    }
}

impl Command {
    /// An unconditional put.
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Command::Txn(Txn {
            success: vec![Op::Put {
                key: key.into(),
                value: value.into(),
                prev_kv: false,
            }],
            ..Txn::default()
        })
    }

    /// An unconditional delete of `key` (or of every key under it when `prefix`).
    pub fn delete(key: impl Into<Vec<u8>>, prefix: bool) -> Self {
        Command::Txn(Txn {
            success: vec![Op::Delete {
                key: key.into(),
                prefix,
                prev_kv: false,
            }],
            ..Txn::default()
        })
    }

    /// Why the command must not be proposed, if anything. `apply` refuses (deterministically)
    /// whatever this refuses, so checking here first only saves a round through the log.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Command::Txn(txn) | Command::Fenced { txn, .. } => txn.validate(),
            Command::Compact { revision: 0 } => Err("compact revision must be > 0".into()),
            Command::Compact { .. } | Command::Noop => Ok(()),
        }
    }
}

/// A one-line summary for logs (openraft requires `Display` of its app data): op kinds and keys,
/// never values.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Txn(txn) => {
                write!(f, "txn(")?;
                if !txn.compares.is_empty() {
                    write!(f, "{} compares; ", txn.compares.len())?;
                }
                write_ops(f, "success", &txn.success)?;
                if !txn.failure.is_empty() {
                    write!(f, "; ")?;
                    write_ops(f, "failure", &txn.failure)?;
                }
                write!(f, ")")
            }
            Command::Compact { revision } => write!(f, "compact({revision})"),
            Command::Noop => write!(f, "noop"),
            Command::Fenced { term, txn } => {
                write!(f, "fenced(term {term}, ")?;
                Command::Txn(txn.clone()).fmt(f)?;
                write!(f, ")")
            }
        }
    }
}

fn write_ops(f: &mut fmt::Formatter<'_>, branch: &str, ops: &[Op]) -> fmt::Result {
    const SHOWN: usize = 4;
    write!(f, "{branch}: [")?;
    for (i, op) in ops.iter().take(SHOWN).enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        match op {
            Op::Put { key, value, .. } => {
                write!(f, "{sep}put {} ({} bytes)", display_key(key), value.len())?
            }
            Op::Delete {
                key, prefix: false, ..
            } => write!(f, "{sep}delete {}", display_key(key))?,
            Op::Delete {
                key, prefix: true, ..
            } => write!(f, "{sep}delete prefix {}", display_key(key))?,
        }
    }
    if ops.len() > SHOWN {
        write!(f, ", ... {} more", ops.len() - SHOWN)?;
    }
    write!(f, "]")
}

impl Txn {
    fn validate(&self) -> Result<(), String> {
        for (i, c) in self.compares.iter().enumerate() {
            validate_key(&c.key).map_err(|e| format!("txn compare[{i}]: {e}"))?;
            if let CompareTarget::Value(v) = &c.target {
                validate_value(v).map_err(|e| format!("txn compare[{i}]: {e}"))?;
            }
        }
        validate_branch("success", &self.success)?;
        validate_branch("failure", &self.failure)
    }
}

/// Keys and values valid, and no key written twice: no two puts/exact deletes of one key, and no
/// key (or prefix) inside a prefix delete of the same branch.
fn validate_branch(branch: &str, ops: &[Op]) -> Result<(), String> {
    let mut exact: HashMap<&[u8], usize> = HashMap::new();
    let mut prefixes: Vec<(&[u8], usize)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let (key, prefix) = op.target();
        validate_key(key).map_err(|e| format!("txn {branch}[{i}]: {e}"))?;
        if let Op::Put { value, .. } = op {
            validate_value(value).map_err(|e| format!("txn {branch}[{i}]: {e}"))?;
        }
        let dup = |j: usize, what: &str| {
            format!(
                "duplicate key {} in txn {branch}[{i}]: {what} {branch}[{j}]",
                display_key(key)
            )
        };
        if let Some((p, j)) = prefixes
            .iter()
            .find(|(p, _)| key.starts_with(p) || (prefix && p.starts_with(key)))
        {
            let what = format!("overlaps the prefix delete of {} in", display_key(p));
            return Err(dup(*j, &what));
        }
        if prefix {
            if let Some((_, j)) = exact
                .iter()
                .filter(|(k, _)| k.starts_with(key))
                .min_by_key(|e| e.1)
            {
                return Err(dup(*j, "a prefix delete covering a key already written by"));
            }
            prefixes.push((key, i));
        } else if let Some(j) = exact.insert(key, i) {
            return Err(dup(j, "already written by"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_proto::keys::MAX_VALUE_BYTES;

    fn put(k: &str) -> Op {
        Op::Put {
            key: k.into(),
            value: b"v".to_vec(),
            prev_kv: false,
        }
    }
    fn del(k: &str, prefix: bool) -> Op {
        Op::Delete {
            key: k.into(),
            prefix,
            prev_kv: false,
        }
    }
    fn txn(success: Vec<Op>, failure: Vec<Op>) -> Command {
        Command::Txn(Txn {
            compares: vec![],
            success,
            failure,
        })
    }

    #[test]
    fn accepts_ordinary_commands() {
        assert_eq!(Command::put("/a", "1").validate(), Ok(()));
        assert_eq!(Command::delete("/a/", true).validate(), Ok(()));
        assert_eq!(Command::Noop.validate(), Ok(()));
        assert_eq!(Command::Compact { revision: 3 }.validate(), Ok(()));
        // The same key in different branches is fine; only one branch runs.
        assert_eq!(txn(vec![put("/a")], vec![put("/a")]).validate(), Ok(()));
        // "/a" is not under the prefix "/a/".
        assert_eq!(
            txn(vec![del("/a/", true), put("/a")], vec![]).validate(),
            Ok(())
        );
    }

    #[test]
    fn oversized_value_mentions_limit() {
        let err = Command::put("/a", vec![0u8; MAX_VALUE_BYTES + 1])
            .validate()
            .unwrap_err();
        assert!(
            err.contains("1.5 MiB") && err.contains("success[0]"),
            "{err}"
        );
        assert_eq!(
            Command::put("/a", vec![0u8; MAX_VALUE_BYTES]).validate(),
            Ok(())
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        let err = Command::put(b"/a\0b".to_vec(), "v").validate().unwrap_err();
        assert!(err.contains("NUL"), "{err}");
        assert!(Command::put("", "v")
            .validate()
            .unwrap_err()
            .contains("empty"));
        let c = Command::Txn(Txn {
            compares: vec![Compare {
                key: b"\0".to_vec(),
                target: CompareTarget::Exists(true),
                result: CompareResult::Equal,
            }],
            ..Txn::default()
        });
        assert!(c.validate().unwrap_err().contains("compare[0]"));
    }

    #[test]
    fn duplicate_keys_name_the_op_index() {
        let err = txn(vec![put("/x"), put("/a"), put("/b"), put("/a")], vec![])
            .validate()
            .unwrap_err();
        assert!(
            err.contains("duplicate key \"/a\" in txn success[3]"),
            "{err}"
        );
        assert!(err.contains("success[1]"), "{err}");

        let err = txn(vec![], vec![del("/a/b", false), put("/a/b")])
            .validate()
            .unwrap_err();
        assert!(
            err.contains("failure[1]") && err.contains("failure[0]"),
            "{err}"
        );

        let err = txn(vec![del("/a/", true), put("/a/b")], vec![])
            .validate()
            .unwrap_err();
        assert!(
            err.contains("success[1]") && err.contains("prefix"),
            "{err}"
        );

        let err = txn(vec![put("/a/b"), del("/a/", true)], vec![])
            .validate()
            .unwrap_err();
        assert!(
            err.contains("success[1]") && err.contains("success[0]"),
            "{err}"
        );

        let err = txn(vec![del("/a/b/", true), del("/a/", true)], vec![])
            .validate()
            .unwrap_err();
        assert!(err.contains("success[1]"), "{err}");
    }

    #[test]
    fn display_summarises_without_values() {
        let c = txn(vec![put("/a"), del("/b/", true)], vec![del("/c", false)]);
        assert_eq!(
            c.to_string(),
            "txn(success: [put \"/a\" (1 bytes), delete prefix \"/b/\"]; failure: [delete \"/c\"])"
        );
        assert_eq!(Command::Compact { revision: 4 }.to_string(), "compact(4)");
        assert_eq!(Command::Noop.to_string(), "noop");
    }

    #[test]
    fn compact_zero_is_refused() {
        assert!(Command::Compact { revision: 0 }.validate().is_err());
    }

    #[test]
    fn commands_round_trip_through_bincode() {
        let c = Command::Txn(Txn {
            compares: vec![Compare {
                key: b"/a".to_vec(),
                target: CompareTarget::Value(b"x".to_vec()),
                result: CompareResult::Greater,
            }],
            success: vec![put("/a")],
            failure: vec![del("/b/", true)],
        });
        let cfg = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(&c, cfg).unwrap();
        let (back, _): (Command, usize) = bincode::serde::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, c);
    }
}
