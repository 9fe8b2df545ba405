//! Property tests of the linearizability checker: histories simulated from a sequential register
//! with random real-time overlaps always pass; with one read's answer corrupted, the checker
//! agrees with a brute-force search on small histories, and always flags a value never written.

use proptest::prelude::*;

use super::revision_facts::RevisionFacts;
use super::{Checker, Linearizable, Verdict};
use crate::history::{CasExpect, History, Op, OpId, OpKind, Outcome, Reply};

/// One simulated operation: what it is and how it overlaps its neighbours.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spec {
    /// 0 read, 1 write, 2 CAS on the value, 3 CAS on the mod_revision.
    pub kind: u8,
    pub key: u8,
    /// How long before / after its linearization point the operation was invoked / answered.
    pub pre: u64,
    pub post: u64,
    /// 0: no answer but applied; 1: no answer, not applied; 2: failed; otherwise answered.
    pub fate: u8,
    /// Which compare a CAS uses.
    pub pick: u8,
}

pub(crate) fn spec(keys: u8) -> impl Strategy<Value = Spec> {
    (0..4u8, 0..keys, 0..250u64, 0..250u64, 0..12u8, 0..4u8).prop_map(
        |(kind, key, pre, post, fate, pick)| Spec {
            kind,
            key,
            pre,
            post,
            fate,
            pick,
        },
    )
}

/// Runs `specs` against a sequential register (keys start absent; one global revision), placing
/// operation i's effect at time 1000 + 100·i inside its interval (`pre` must stay below 1000).
pub(crate) fn simulate(specs: &[Spec], clients: u32) -> History {
    let mut state: Vec<(Option<String>, u64)> = Vec::new();
    let mut revision = 0u64;
    let mut history = History::default();
    for (i, s) in specs.iter().enumerate() {
        let key = s.key as usize;
        if state.len() <= key {
            state.resize(key + 1, (None, 0));
        }
        let at = 1_000 + 100 * i as u64;
        let (current, mod_rev) = state[key].clone();
        let new_value = format!("v{i}");
        let kind = match s.kind {
            0 => OpKind::Read,
            1 => OpKind::Write { value: new_value },
            k => {
                let expected = match (k, s.pick) {
                    (2, 1) => CasExpect::Value(None),
                    (2, 2) => CasExpect::Value(Some(format!("v{}", i / 2))),
                    (2, _) => CasExpect::Value(current.clone()),
                    (_, 1) => CasExpect::ModRevision(0),
                    (_, 2) => CasExpect::ModRevision(mod_rev + 1),
                    _ => CasExpect::ModRevision(mod_rev),
                };
                OpKind::Cas {
                    expected,
                    new_value,
                }
            }
        };
        let holds = match &kind {
            OpKind::Read => false,
            OpKind::Write { .. } => true,
            OpKind::Cas {
                expected: CasExpect::Value(v),
                ..
            } => *v == current,
            OpKind::Cas {
                expected: CasExpect::ModRevision(r),
                ..
            } => *r == mod_rev,
        };
        let applied = holds && (s.fate == 0 || s.fate > 2);
        if applied {
            revision += 1;
            state[key] = (kind.written_value().map(str::to_string), revision);
        }
        let outcome = match (s.fate, &kind) {
            (0 | 1, _) => Outcome::Unknown,
            (2, _) => Outcome::Fail,
            (_, OpKind::Read) => Outcome::Ok(Reply::Read {
                value: current,
                mod_revision: Some(mod_rev),
            }),
            (_, OpKind::Write { .. }) => Outcome::Ok(Reply::Written { revision }),
            (_, OpKind::Cas { .. }) => Outcome::Ok(Reply::Cas {
                succeeded: holds,
                revision: holds.then_some(revision),
            }),
        };
        history.ops.push(Op {
            client: i as u32 % clients,
            key: format!("k{key}"),
            kind,
            invoke_ns: at - s.pre,
            complete_ns: Some(at + s.post),
            outcome,
        });
    }
    history
}

/// Replaces the answer of the `which`-th answered read (if any) with `value`; returns whether a
/// read was corrupted. `value`: `None` picks another value written to the key, or absence.
fn corrupt_read(history: &mut History, which: usize, value: Option<&str>) -> bool {
    let reads: Vec<usize> = (0..history.ops.len())
        .filter(|&i| matches!(history.ops[i].outcome, Outcome::Ok(Reply::Read { .. })))
        .collect();
    if reads.is_empty() {
        return false;
    }
    let i = reads[which % reads.len()];
    let Outcome::Ok(Reply::Read { value: seen, .. }) = history.ops[i].outcome.clone() else {
        return false;
    };
    let key = history.ops[i].key.clone();
    let new = match value {
        Some(v) => Some(v.to_string()),
        None => {
            let mut others: Vec<Option<String>> = vec![None];
            others.extend(
                history
                    .ops
                    .iter()
                    .filter(|o| o.key == key)
                    .filter_map(|o| o.written_value().map(|v| Some(v.to_string()))),
            );
            others.retain(|v| *v != seen);
            match others.get(which % others.len().max(1)) {
                Some(v) => v.clone(),
                None => return false,
            }
        }
    };
    history.ops[i].outcome = Outcome::Ok(Reply::Read {
        value: new,
        mod_revision: None,
    });
    true
}

/// A brute-force linearizability check of a small single-key history: tries every order real
/// time allows (unanswered operations may be left out), without memoisation. Revisions of
/// writes without an answer come from [`RevisionFacts`] (tested on its own); a register whose
/// revision is unknown matches any revision not bound to another write.
fn brute_force(history: &History) -> bool {
    let facts = RevisionFacts::from_history(history);
    let ops: Vec<(&Op, Option<u64>)> = history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.outcome != Outcome::Fail)
        .filter(|(_, o)| !(o.kind == OpKind::Read && o.outcome == Outcome::Unknown))
        .map(|(i, o)| {
            (
                o,
                o.write_revision().or(facts.resolved.get(&OpId(i)).copied()),
            )
        })
        .collect();
    let unknown = |r: u64| r != 0 && !facts.bound.contains(&r);
    brute_force_from(&ops, 0, (None, Some(0)), &unknown)
}

/// Register: (value, mod_revision; `None` unknown).
type Register = (Option<String>, Option<u64>);

fn brute_force_from(
    ops: &[(&Op, Option<u64>)],
    done: u32,
    (value, rev): Register,
    unknown: &dyn Fn(u64) -> bool,
) -> bool {
    let pending = |i: usize| done & (1 << i) == 0;
    if !(0..ops.len()).any(|i| pending(i) && ops[i].0.outcome != Outcome::Unknown) {
        return true;
    }
    for i in (0..ops.len()).filter(|&i| pending(i)) {
        let (op, written_rev) = ops[i];
        let blocked =
            (0..ops.len()).any(|j| pending(j) && ops[j].0.effective_complete_ns() < op.invoke_ns);
        if blocked {
            continue;
        }
        let rev_matches = |r: u64| match rev {
            None => unknown(r),
            Some(cur) => cur == r,
        };
        let next: Option<Register> = match (&op.kind, &op.outcome) {
            (
                OpKind::Read,
                Outcome::Ok(Reply::Read {
                    value: v,
                    mod_revision,
                }),
            ) => {
                let ok = *v == value && mod_revision.is_none_or(rev_matches);
                ok.then(|| (value.clone(), mod_revision.or(rev)))
            }
            (OpKind::Write { value: v }, _) => Some((Some(v.clone()), written_rev)),
            (
                OpKind::Cas {
                    expected,
                    new_value,
                },
                outcome,
            ) => {
                let (may_hold, may_fail) = match expected {
                    CasExpect::Value(e) => (*e == value, *e != value),
                    CasExpect::ModRevision(r) => (rev_matches(*r), rev != Some(*r)),
                };
                let failed = matches!(
                    outcome,
                    Outcome::Ok(Reply::Cas {
                        succeeded: false,
                        ..
                    })
                );
                if failed {
                    may_fail.then(|| (value.clone(), rev))
                } else {
                    may_hold.then(|| (Some(new_value.clone()), written_rev))
                }
            }
            _ => None,
        };
        if let Some(next) = next {
            if brute_force_from(ops, done | (1 << i), next, unknown) {
                return true;
            }
        }
    }
    false
}

fn verdict(history: &History) -> Verdict {
    Linearizable::default().check(history).verdict()
}

proptest! {
    #[test]
    fn simulated_histories_are_linearizable(specs in prop::collection::vec(spec(3), 1..150)) {
        let history = simulate(&specs, 5);
        let result = Linearizable::default().check(&history);
        prop_assert_eq!(result.verdict(), Verdict::Pass, "{:?}", result);
    }

    #[test]
    fn a_corrupted_read_is_flagged_exactly_when_brute_force_says_so(
        specs in prop::collection::vec(spec(1), 1..9),
        which in 0..64usize,
    ) {
        let mut history = simulate(&specs, 3);
        prop_assert!(brute_force(&history), "the reference rejects a simulated history");
        prop_assert_eq!(verdict(&history), Verdict::Pass);
        if corrupt_read(&mut history, which, None) {
            let expected = if brute_force(&history) { Verdict::Pass } else { Verdict::Fail };
            prop_assert_eq!(verdict(&history), expected, "{:#?}", history.ops);
        }
    }

    #[test]
    fn a_read_of_a_value_never_written_is_flagged(
        specs in prop::collection::vec(spec(2), 1..150),
        which in 0..1000usize,
    ) {
        let mut history = simulate(&specs, 5);
        if corrupt_read(&mut history, which, Some("never-written")) {
            prop_assert_eq!(verdict(&history), Verdict::Fail);
        }
    }
}

/// The differential property above is not vacuous: over many small histories, corrupting a read
/// yields both flagged and unflagged (still explainable) histories, and the checker always
/// agrees with the brute force.
#[test]
fn corruption_is_sometimes_observable_and_sometimes_not() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    let mut rng = StdRng::seed_from_u64(11);
    let (mut flagged, mut explained) = (0, 0);
    for _ in 0..500 {
        let n = rng.random_range(2..9);
        let specs: Vec<Spec> = (0..n)
            .map(|_| Spec {
                kind: rng.random_range(0..4),
                key: 0,
                pre: rng.random_range(0..250),
                post: rng.random_range(0..250),
                fate: rng.random_range(0..12),
                pick: rng.random_range(0..4),
            })
            .collect();
        let mut history = simulate(&specs, 3);
        if !corrupt_read(&mut history, rng.random_range(0..64), None) {
            continue;
        }
        let expected = brute_force(&history);
        assert_eq!(
            verdict(&history) == Verdict::Pass,
            expected,
            "{:#?}",
            history.ops
        );
        if expected {
            explained += 1;
        } else {
            flagged += 1;
        }
    }
    assert!(
        flagged > 50 && explained > 10,
        "flagged {flagged}, explained {explained}"
    );
}
