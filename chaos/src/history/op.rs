//! One client operation on one key: what was asked, when, and how it ended.

use serde::{Deserialize, Serialize};

use super::op_kind::show_value;
use super::{format_ns, OpKind, Outcome, Reply};

/// The index of an operation in [`super::History::ops`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId(pub usize);

/// One operation. `complete_ns` is when the client gave up or got its answer (`None` while
/// pending); for an [`Outcome::Unknown`] operation the checkers ignore it and treat the operation as
/// possibly taking effect at any time after `invoke_ns`, or never.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub client: u32,
    pub key: String,
    pub kind: OpKind,
    pub invoke_ns: u64,
    pub complete_ns: Option<u64>,
    pub outcome: Outcome,
}

impl Op {
    /// When the operation's effect (if any) had certainly happened: its completion when the
    /// client got an answer, otherwise never (`u64::MAX`).
    pub fn effective_complete_ns(&self) -> u64 {
        match (&self.outcome, self.complete_ns) {
            (Outcome::Ok(_) | Outcome::Fail, Some(t)) => t,
            _ => u64::MAX,
        }
    }

    /// The value this operation writes if it takes effect.
    pub fn written_value(&self) -> Option<&str> {
        self.kind.written_value()
    }

    /// The store acknowledged that this operation wrote its value.
    pub fn is_acknowledged_write(&self) -> bool {
        match (&self.kind, &self.outcome) {
            (OpKind::Write { .. }, Outcome::Ok(Reply::Written { .. })) => true,
            (OpKind::Cas { .. }, Outcome::Ok(Reply::Cas { succeeded, .. })) => *succeeded,
            _ => false,
        }
    }

    /// The operation wrote its value, or might have (no answer).
    pub fn may_have_written(&self) -> bool {
        self.is_acknowledged_write()
            || (self.written_value().is_some() && self.outcome == Outcome::Unknown)
    }

    /// The revision of an acknowledged write, when the answer carried it.
    pub fn write_revision(&self) -> Option<u64> {
        if !self.is_acknowledged_write() {
            return None;
        }
        match &self.outcome {
            Outcome::Ok(Reply::Written { revision }) => Some(*revision),
            Outcome::Ok(Reply::Cas { revision, .. }) => *revision,
            _ => None,
        }
    }

    /// One line naming the operation for violation messages, e.g.
    /// `op #7 (client 2, key "k", write "v", 1.000ms–2.500ms, ok rev 12)`.
    pub fn describe(&self, id: OpId) -> String {
        let end = match self.complete_ns {
            Some(t) => format_ns(t),
            None => "pending".to_string(),
        };
        format!(
            "op #{} (client {}, key {:?}, {}, {}–{}, {})",
            id.0,
            self.client,
            self.key,
            self.kind,
            format_ns(self.invoke_ns),
            end,
            describe_outcome(&self.outcome)
        )
    }
}

fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Fail => "failed".to_string(),
        Outcome::Unknown => "unknown".to_string(),
        Outcome::Ok(Reply::Read {
            value,
            mod_revision,
        }) => match mod_revision {
            Some(r) => format!("ok {} mod_rev {r}", show_value(value.as_deref())),
            None => format!("ok {}", show_value(value.as_deref())),
        },
        Outcome::Ok(Reply::Written { revision }) => format!("ok rev {revision}"),
        Outcome::Ok(Reply::Cas {
            succeeded: true,
            revision,
        }) => match revision {
            Some(r) => format!("ok succeeded rev {r}"),
            None => "ok succeeded".to_string(),
        },
        Outcome::Ok(Reply::Cas {
            succeeded: false, ..
        }) => "ok compare failed".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::CasExpect;

    fn op(kind: OpKind, outcome: Outcome, complete_ns: Option<u64>) -> Op {
        Op {
            client: 2,
            key: "k".into(),
            kind,
            invoke_ns: 1_000_000,
            complete_ns,
            outcome,
        }
    }

    #[test]
    fn acknowledged_and_possible_writes() {
        let w = |v: &str| OpKind::Write { value: v.into() };
        let acked = op(w("a"), Outcome::Ok(Reply::Written { revision: 4 }), Some(9));
        assert!(acked.is_acknowledged_write() && acked.may_have_written());
        assert_eq!(acked.write_revision(), Some(4));
        assert_eq!(acked.effective_complete_ns(), 9);

        let unknown = op(w("b"), Outcome::Unknown, Some(9));
        assert!(!unknown.is_acknowledged_write() && unknown.may_have_written());
        assert_eq!(unknown.effective_complete_ns(), u64::MAX);

        let failed = op(w("c"), Outcome::Fail, Some(9));
        assert!(!failed.may_have_written());

        let cas = OpKind::Cas {
            expected: CasExpect::ModRevision(3),
            new_value: "d".into(),
        };
        let lost_compare = op(
            cas,
            Outcome::Ok(Reply::Cas {
                succeeded: false,
                revision: None,
            }),
            Some(9),
        );
        assert!(!lost_compare.may_have_written());
    }

    #[test]
    fn describes_itself() {
        let o = op(
            OpKind::Write { value: "v".into() },
            Outcome::Ok(Reply::Written { revision: 12 }),
            Some(2_500_000),
        );
        assert_eq!(
            o.describe(OpId(7)),
            "op #7 (client 2, key \"k\", write \"v\", 1.000ms–2.500ms, ok rev 12)"
        );
    }
}
