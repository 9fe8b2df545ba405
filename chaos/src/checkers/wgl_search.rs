//! The Wing–Gong linearizability search with Lowe's memoisation (the algorithm of Porcupine and
//! Knossos' "linear"), generic over the model's state: pure, bounded by a step budget.
//!
//! Call and return events of all operations sit in one time-ordered doubly-linked list. The search
//! walks it from the head: a call may be linearized next if the model accepts it in the current
//! state and the pair (set of linearized operations, new state) has not been explored before; a
//! linearized operation is lifted out of the list with its return. Reaching a return means that
//! operation should already have taken effect, so the search backtracks. An operation without a
//! return time (no answer) has its return at +∞: it may take effect at any point after its call,
//! and it never has to, since the search succeeds once every operation with a return is placed.

use std::hash::Hash;

use super::event_list::{EventList, HEAD, NIL};
use super::search_memo::SearchMemo;

/// One operation's interval. `complete: None` means "may take effect any time after `invoke`, or
/// never". `blind`: the model always accepts the operation and its new state does not depend on
/// the old one (a plain write), which lets the search skip orders that cannot matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SearchOp {
    pub invoke: u64,
    pub complete: Option<u64>,
    pub blind: bool,
}

/// Where the search got furthest before failing, to explain a violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Deepest<S> {
    /// How many operations were linearized.
    pub linearized: usize,
    /// The operation whose return was reached before it could be linearized.
    pub blocked_op: usize,
    /// The model state at that point, and the operation linearized last.
    pub state: S,
    pub last_op: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SearchOutcome<S> {
    Linearizable {
        steps: u64,
    },
    NotLinearizable {
        steps: u64,
        deepest: Deepest<S>,
    },
    /// The step budget ran out first.
    Inconclusive {
        steps: u64,
    },
}

/// Searches for a linearization of `ops` from `init`, where `step(state, i)` is the model's state
/// after operation `i` takes effect in `state`, or `None` if it cannot (its recorded answer is
/// impossible there). Gives up after `budget` steps.
///
/// Optional operations (without a return time) can always be skipped, so the search (a) tries
/// them only after every other candidate at each point, (b) treats a configuration as explored
/// when one with the same required operations, the same state and a subset of its optional
/// operations was, and (c) never places a blind operation right after an optional one (the
/// optional one would be overwritten unseen). Without these, every unanswered write multiplies
/// the configurations to explore for the rest of the history.
pub(crate) fn search<S, F>(ops: &[SearchOp], init: S, mut step: F, budget: u64) -> SearchOutcome<S>
where
    S: Copy + Eq + Hash,
    F: FnMut(S, usize) -> Option<S>,
{
    let mut list = EventList::new(ops);
    let optional: Vec<bool> = ops.iter().map(|o| o.complete.is_none()).collect();
    let mut required_left = optional.iter().filter(|&&o| !o).count();
    let mut memo = SearchMemo::new(&optional);
    let mut linearized = vec![0u64; ops.len().div_ceil(64)];
    // The stack of linearized calls, with the state and phase before each.
    let mut calls: Vec<(usize, S, Phase)> = Vec::new();
    let mut state = init;
    let mut phase = Phase::Required;
    let mut deepest: Option<Deepest<S>> = None;
    let mut steps = 0u64;
    let mut node = list.next[HEAD];
    loop {
        if required_left == 0 {
            return SearchOutcome::Linearizable { steps };
        }
        steps += 1;
        if steps > budget {
            return SearchOutcome::Inconclusive { steps };
        }
        if node != NIL && list.is_call[node] {
            let op = list.op[node];
            // An optional operation directly followed by a blind one changes nothing: the same
            // order without it is tried elsewhere.
            let redundant =
                ops[op].blind && calls.last().is_some_and(|&(n, _, _)| optional[list.op[n]]);
            if optional[op] != (phase == Phase::Optional) || redundant {
                node = list.next[node];
                continue;
            }
            let accepted = step(state, op).filter(|&next| {
                linearized[op / 64] |= 1 << (op % 64);
                let new = memo.visit(&linearized, next);
                linearized[op / 64] &= !(1 << (op % 64));
                new
            });
            match accepted {
                Some(next) => {
                    calls.push((node, state, phase));
                    state = next;
                    linearized[op / 64] |= 1 << (op % 64);
                    if !optional[op] {
                        required_left -= 1;
                    }
                    list.lift(node);
                    node = list.next[HEAD];
                    phase = Phase::Required;
                }
                None => node = list.next[node],
            }
            continue;
        }
        // A return (or the end): the operation it belongs to should have taken effect already.
        // Try the optional candidates before it, then backtrack.
        if phase == Phase::Required {
            phase = Phase::Optional;
            node = list.next[HEAD];
            continue;
        }
        if node != NIL && deepest.is_none_or(|d| calls.len() > d.linearized) {
            deepest = Some(Deepest {
                linearized: calls.len(),
                blocked_op: list.op[node],
                state,
                last_op: calls.last().map(|&(n, _, _)| list.op[n]),
            });
        }
        let Some((call, before, before_phase)) = calls.pop() else {
            let deepest = deepest.unwrap_or(Deepest {
                linearized: 0,
                blocked_op: 0,
                state: init,
                last_op: None,
            });
            return SearchOutcome::NotLinearizable { steps, deepest };
        };
        let op = list.op[call];
        state = before;
        phase = before_phase;
        linearized[op / 64] &= !(1 << (op % 64));
        if !optional[op] {
            required_left += 1;
        }
        list.unlift(call);
        node = list.next[call];
    }
}

/// Which candidates are being tried at the current point: those with a return time first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Required,
    Optional,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(invoke: u64, complete: Option<u64>) -> SearchOp {
        SearchOp {
            invoke,
            complete,
            blind: false,
        }
    }

    // A counter model: op i adds `deltas[i]`; a check op (delta 0) expects `expect[i]`.
    fn counter(deltas: &[i64], expect: &[Option<i64>]) -> impl FnMut(i64, usize) -> Option<i64> {
        let (d, e) = (deltas.to_vec(), expect.to_vec());
        move |s, i| match e[i] {
            Some(v) if v != s => None,
            _ => Some(s + d[i]),
        }
    }

    #[test]
    fn finds_an_order_that_real_time_allows() {
        // add 1 [0,10], read 1 [5,20] (concurrent with the add).
        let ops = [op(0, Some(10)), op(5, Some(20))];
        let r = search(&ops, 0, counter(&[1, 0], &[None, Some(1)]), 1000);
        assert!(matches!(r, SearchOutcome::Linearizable { .. }));
    }

    #[test]
    fn rejects_an_order_that_real_time_forbids() {
        // add 1 [0,10], then read 0 [20,30]: the read must see the add.
        let ops = [op(0, Some(10)), op(20, Some(30))];
        let r = search(&ops, 0, counter(&[1, 0], &[None, Some(0)]), 1000);
        let SearchOutcome::NotLinearizable { deepest, .. } = r else {
            panic!("expected a violation, got {r:?}");
        };
        assert_eq!(deepest.blocked_op, 1);
        assert_eq!(deepest.state, 1);
        assert_eq!(deepest.last_op, Some(0));
    }

    #[test]
    fn unanswered_ops_may_happen_late_or_never() {
        // add 1 without answer from t=0; read 0 at [5,6]; read 1 at [10,11]: happened in between.
        let ops = [op(0, None), op(5, Some(6)), op(10, Some(11))];
        let r = search(
            &ops,
            0,
            counter(&[1, 0, 0], &[None, Some(0), Some(1)]),
            1000,
        );
        assert!(matches!(r, SearchOutcome::Linearizable { .. }));
        // Never: both reads see 0.
        let r = search(
            &ops,
            0,
            counter(&[1, 0, 0], &[None, Some(0), Some(0)]),
            1000,
        );
        assert!(matches!(r, SearchOutcome::Linearizable { .. }));
        // But not before its invocation.
        let ops = [op(20, None), op(5, Some(6))];
        let r = search(&ops, 0, counter(&[1, 0], &[None, Some(1)]), 1000);
        assert!(matches!(r, SearchOutcome::NotLinearizable { .. }));
    }

    #[test]
    fn runs_out_of_budget_explicitly() {
        let ops: Vec<SearchOp> = (0..30).map(|_| op(0, Some(100))).collect();
        // Every op must add exactly 1 and a final read expects 31: impossible, and 30 concurrent
        // ops make 2^30 subsets; a budget of 100 steps cannot decide it.
        let mut all = ops.clone();
        all.push(op(200, Some(300)));
        let mut deltas = vec![1; 30];
        deltas.push(0);
        let mut expect = vec![None; 30];
        expect.push(Some(31));
        let r = search(&all, 0, counter(&deltas, &expect), 100);
        assert!(matches!(r, SearchOutcome::Inconclusive { .. }));
    }

    #[test]
    fn nothing_to_place_is_linearizable() {
        let r = search(&[], 0, counter(&[], &[]), 10);
        assert!(matches!(r, SearchOutcome::Linearizable { .. }));
        let r = search(&[op(3, None)], 0, counter(&[1], &[Some(9)]), 10);
        assert!(matches!(r, SearchOutcome::Linearizable { .. }));
    }
}
