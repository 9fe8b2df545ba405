//! One key's operations as a read/write/CAS register for the linearizability search: which
//! operations take part, their intervals, and the register's sequential specification.

use std::collections::HashMap;

use super::revision_facts::RevisionFacts;
use super::wgl_search::SearchOp;
use crate::history::{CasExpect, History, OpId, OpKind, Outcome, Reply};

/// A mod_revision not known to the model (written by an operation that got no answer): it matches
/// any revision a later read or compare reports, except 0 and the revisions known to belong to
/// other writes (revisions are unique across the store).
const UNKNOWN_REV: u64 = u64::MAX;

/// The register: a value id (0: the key does not exist) and its mod_revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RegState {
    value: u32,
    rev: u64,
}

impl RegState {
    /// A key that does not exist yet.
    pub(crate) const ABSENT: RegState = RegState { value: 0, rev: 0 };
}

#[derive(Clone, Copy, Debug)]
enum Compare {
    Value(u32),
    ModRevision(u64),
}

#[derive(Clone, Copy, Debug)]
enum CasResult {
    Held,
    Failed,
    Unanswered,
}

#[derive(Clone, Copy, Debug)]
enum ModelOp {
    Read {
        value: u32,
        mod_rev: Option<u64>,
    },
    Write {
        value: u32,
        rev: u64,
    },
    Cas {
        compare: Compare,
        new: u32,
        rev: u64,
        result: CasResult,
    },
}

/// The operations of one key that constrain the register, ready for the search. Failed
/// operations (certainly not applied) and unanswered reads constrain nothing and are left out.
#[derive(Debug)]
pub(crate) struct RegisterHistory<'h> {
    /// The history's id of each operation taking part.
    pub ids: Vec<OpId>,
    pub intervals: Vec<SearchOp>,
    /// Operations whose recorded answer does not fit their kind (a bug in the recorder).
    pub malformed: Vec<OpId>,
    ops: Vec<ModelOp>,
    /// Value id → value (id 0 is "absent").
    values: Vec<String>,
    /// What the whole history says about revisions.
    facts: &'h RevisionFacts,
}

impl<'h> RegisterHistory<'h> {
    /// The register history of the operations `ids` of `history` (all on one key).
    pub(crate) fn build(history: &History, ids: &[OpId], facts: &'h RevisionFacts) -> Self {
        let mut reg = RegisterHistory {
            ids: Vec::new(),
            intervals: Vec::new(),
            malformed: Vec::new(),
            ops: Vec::new(),
            values: vec![String::new()],
            facts,
        };
        let mut value_ids: HashMap<String, u32> = HashMap::new();
        for &id in ids {
            let Some(op) = history.op(id) else { continue };
            let unknown_rev = facts.resolved.get(&id).copied().unwrap_or(UNKNOWN_REV);
            let mut intern = |v: Option<&str>| -> u32 {
                let Some(v) = v else { return 0 };
                if let Some(&i) = value_ids.get(v) {
                    return i;
                }
                let i = u32::try_from(reg.values.len()).unwrap_or(u32::MAX);
                reg.values.push(v.to_string());
                value_ids.insert(v.to_string(), i);
                i
            };
            let model_op = match (&op.kind, &op.outcome) {
                (_, Outcome::Fail) | (OpKind::Read, Outcome::Unknown) => continue,
                (
                    OpKind::Read,
                    Outcome::Ok(Reply::Read {
                        value,
                        mod_revision,
                    }),
                ) => ModelOp::Read {
                    value: intern(value.as_deref()),
                    mod_rev: *mod_revision,
                },
                (OpKind::Write { value }, Outcome::Ok(Reply::Written { revision })) => {
                    ModelOp::Write {
                        value: intern(Some(value)),
                        rev: *revision,
                    }
                }
                (OpKind::Write { value }, Outcome::Unknown) => ModelOp::Write {
                    value: intern(Some(value)),
                    rev: unknown_rev,
                },
                (
                    OpKind::Cas {
                        expected,
                        new_value,
                    },
                    outcome,
                ) => {
                    let (result, rev) = match outcome {
                        Outcome::Ok(Reply::Cas {
                            succeeded: true,
                            revision,
                        }) => (CasResult::Held, revision.unwrap_or(unknown_rev)),
                        Outcome::Ok(Reply::Cas {
                            succeeded: false, ..
                        }) => (CasResult::Failed, UNKNOWN_REV),
                        Outcome::Unknown => (CasResult::Unanswered, unknown_rev),
                        _ => {
                            reg.malformed.push(id);
                            continue;
                        }
                    };
                    let compare = match expected {
                        CasExpect::Value(v) => Compare::Value(intern(v.as_deref())),
                        CasExpect::ModRevision(r) => Compare::ModRevision(*r),
                    };
                    ModelOp::Cas {
                        compare,
                        new: intern(Some(new_value)),
                        rev,
                        result,
                    }
                }
                _ => {
                    reg.malformed.push(id);
                    continue;
                }
            };
            let complete = match op.outcome {
                Outcome::Unknown => None,
                _ => match op.complete_ns {
                    Some(t) => Some(t),
                    None => {
                        reg.malformed.push(id);
                        continue;
                    }
                },
            };
            reg.ids.push(id);
            reg.ops.push(model_op);
            reg.intervals.push(SearchOp {
                invoke: op.invoke_ns,
                complete,
                blind: matches!(model_op, ModelOp::Write { .. }),
            });
        }
        reg
    }

    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }

    /// Operations that got no answer (and so may or may not have taken effect).
    pub(crate) fn unanswered(&self) -> usize {
        self.intervals
            .iter()
            .filter(|i| i.complete.is_none())
            .count()
    }

    /// The register after operation `i` takes effect in `s`, or `None` if its recorded answer is
    /// impossible in `s`.
    pub(crate) fn step(&self, s: RegState, i: usize) -> Option<RegState> {
        match self.ops[i] {
            ModelOp::Read { value, mod_rev } => {
                if s.value != value {
                    return None;
                }
                match mod_rev {
                    None => Some(s),
                    Some(r) if s.rev == r || (s.rev == UNKNOWN_REV && self.may_be_unknown(r)) => {
                        Some(RegState { value, rev: r })
                    }
                    Some(_) => None,
                }
            }
            ModelOp::Write { value, rev } => Some(RegState { value, rev }),
            ModelOp::Cas {
                compare,
                new,
                rev,
                result,
            } => {
                let (may_hold, may_fail) = match compare {
                    Compare::Value(v) => (s.value == v, s.value != v),
                    Compare::ModRevision(r) if s.rev == UNKNOWN_REV => {
                        (self.may_be_unknown(r), true)
                    }
                    Compare::ModRevision(r) => (s.rev == r, s.rev != r),
                };
                let written = RegState { value: new, rev };
                match result {
                    CasResult::Held | CasResult::Unanswered => may_hold.then_some(written),
                    // An unanswered CAS whose compare fails changes nothing: the search covers it
                    // by not linearizing the operation at all.
                    CasResult::Failed => may_fail.then_some(s),
                }
            }
        }
    }

    /// Whether `rev` may be the revision of a write whose revision was not recorded.
    fn may_be_unknown(&self, rev: u64) -> bool {
        rev != 0 && !self.facts.bound.contains(&rev)
    }

    /// The register for messages, e.g. `"v3" mod_rev 17` or `absent mod_rev 0`.
    pub(crate) fn describe(&self, s: RegState) -> String {
        let value = match s.value {
            0 => "absent".to_string(),
            v => format!("{:?}", self.values[v as usize]),
        };
        if s.rev == UNKNOWN_REV {
            format!("{value} mod_rev unknown")
        } else {
            format!("{value} mod_rev {}", s.rev)
        }
    }
}
