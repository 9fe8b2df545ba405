//! No acknowledged write is lost: after healing, each key holds the value of one of the writes
//! that may legitimately be last.

use super::{CheckResult, Checker};
use crate::history::{format_ns, show_value, FinalRead, History, Op, OpId};

/// At most this many candidate writes are named in one violation.
const LISTED_CANDIDATES: usize = 5;

/// Checks each key's final read (made after healing) against its writes. A write may be last
/// unless another acknowledged write of the key was invoked strictly after it completed; a write
/// without an answer may be last whenever. The final value must be the value of one of those
/// writes (with its revision, when both are known), or absent when the key has no acknowledged
/// write and no unanswered write could have been applied. Sound, and simple: it does not use the
/// order reads imply (the linearizability checker does).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLostWrites;

impl Checker for NoLostWrites {
    fn name(&self) -> &'static str {
        "no-lost-writes"
    }

    fn check(&self, history: &History) -> CheckResult {
        let mut result = CheckResult::new(self.name());
        let by_key = history.ops_by_key();
        let (mut checked, mut acknowledged, mut unread) = (0u64, 0u64, Vec::new());
        for (key, ids) in &by_key {
            let writes: Vec<(OpId, &Op)> = ids
                .iter()
                .filter_map(|&id| history.op(id).map(|op| (id, op)))
                .filter(|(_, op)| op.may_have_written())
                .collect();
            let acked = writes
                .iter()
                .filter(|(_, w)| w.is_acknowledged_write())
                .count();
            acknowledged += acked as u64;
            let reads: Vec<&FinalRead> = history
                .final_reads
                .iter()
                .filter(|r| r.key == *key)
                .collect();
            if reads.is_empty() {
                if acked > 0 {
                    unread.push(*key);
                }
                continue;
            }
            let last_ack_invoke = writes
                .iter()
                .filter(|(_, w)| w.is_acknowledged_write())
                .map(|(_, w)| w.invoke_ns)
                .max();
            let candidates: Vec<(OpId, &Op)> = writes
                .iter()
                .copied()
                .filter(|(_, w)| last_ack_invoke.is_none_or(|t| w.effective_complete_ns() >= t))
                .collect();
            for read in reads {
                checked += 1;
                if !explains(read, last_ack_invoke.is_none(), &candidates) {
                    result.violation(lost_write_message(read, &candidates));
                }
            }
        }
        // Final reads of keys no operation touched: those keys must still be absent.
        for read in &history.final_reads {
            if !by_key.contains_key(read.key.as_str()) {
                checked += 1;
                if !explains(read, true, &[]) {
                    result.violation(lost_write_message(read, &[]));
                }
            }
        }
        if !unread.is_empty() {
            result.inconclusive(format!(
                "{} key(s) with acknowledged writes have no final read: {}",
                unread.len(),
                unread
                    .iter()
                    .take(10)
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        result.stat("final_reads_checked", checked);
        result.stat("acknowledged_writes", acknowledged);
        result.stat("keys_without_final_read", unread.len() as u64);
        result
    }
}

/// Whether `read` is the value of a candidate write, or the initial absence when that may last.
fn explains(read: &FinalRead, absent_may_last: bool, candidates: &[(OpId, &Op)]) -> bool {
    if read.value.is_none() && absent_may_last && read.mod_revision.unwrap_or(0) == 0 {
        return true;
    }
    candidates.iter().any(|(_, w)| {
        read.value.as_deref() == w.written_value()
            && match (read.mod_revision, w.write_revision()) {
                (Some(seen), Some(written)) => seen == written,
                _ => true,
            }
    })
}

fn lost_write_message(read: &FinalRead, candidates: &[(OpId, &Op)]) -> String {
    let rev = read
        .mod_revision
        .map(|r| format!(" mod_rev {r}"))
        .unwrap_or_default();
    let seen = format!(
        "key {:?}: the final read at {} returned {}{rev}",
        read.key,
        format_ns(read.at_ns),
        show_value(read.value.as_deref())
    );
    if candidates.is_empty() {
        return format!("{seen}, but no write of it may be last (it should be absent)");
    }
    let mut named: Vec<String> = candidates
        .iter()
        .take(LISTED_CANDIDATES)
        .map(|(id, w)| w.describe(*id))
        .collect();
    if candidates.len() > LISTED_CANDIDATES {
        named.push(format!("and {} more", candidates.len() - LISTED_CANDIDATES));
    }
    format!(
        "{seen}, which is none of the writes that may be last: {} — an acknowledged write was lost",
        named.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_history::TestHistory;
    use crate::checkers::Verdict;

    fn check(t: TestHistory) -> CheckResult {
        NoLostWrites.check(&t.build())
    }

    #[test]
    fn passes_when_the_last_write_survives() {
        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 10, 1);
        t.write(2, "k", "b", 20, 30, 2);
        t.final_read("k", Some("b"), Some(2), 100);
        let r = check(t);
        assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");
        assert_eq!(r.stats["acknowledged_writes"], 2);
    }

    #[test]
    fn flags_a_lost_acknowledged_write() {
        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 10, 1);
        t.write(2, "k", "b", 20, 30, 2);
        t.final_read("k", Some("a"), Some(1), 100);
        let r = check(t);
        assert_eq!(r.verdict(), Verdict::Fail);
        let msg = &r.violations[0];
        assert!(
            msg.contains("final read at 100.000ms returned \"a\" mod_rev 1"),
            "{msg}"
        );
        assert!(
            msg.contains("op #1 (client 2, key \"k\", write \"b\""),
            "{msg}"
        );

        // Or the key vanished.
        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 10, 1);
        t.final_read("k", None, None, 100);
        assert_eq!(check(t).verdict(), Verdict::Fail);
    }

    #[test]
    fn concurrent_writes_may_either_be_last() {
        for last in ["a", "b"] {
            let mut t = TestHistory::new();
            t.write(1, "k", "a", 0, 30, 1);
            t.write(2, "k", "b", 10, 20, 2);
            t.final_read("k", Some(last), None, 100);
            assert_eq!(check(t).verdict(), Verdict::Pass, "{last}");
        }
    }

    #[test]
    fn unanswered_writes_may_be_last_but_do_not_excuse_absence() {
        for (last, verdict) in [
            (Some("x"), Verdict::Pass),
            (Some("a"), Verdict::Pass),
            (None, Verdict::Fail),
        ] {
            let mut t = TestHistory::new();
            t.write(1, "k", "a", 0, 10, 1);
            t.write_unknown(2, "k", "x", 20, 30);
            t.write_failed(2, "k", "f", 40, 50);
            t.final_read("k", last, None, 100);
            assert_eq!(check(t).verdict(), verdict, "{last:?}");
        }
        // A failed write is never last.
        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 10, 1);
        t.write_failed(2, "k", "f", 40, 50);
        t.final_read("k", Some("f"), None, 100);
        assert_eq!(check(t).verdict(), Verdict::Fail);
    }

    #[test]
    fn the_revision_must_match_too() {
        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 10, 1);
        t.final_read("k", Some("a"), Some(7), 100);
        assert_eq!(check(t).verdict(), Verdict::Fail);
    }

    #[test]
    fn untouched_keys_stay_absent_and_unread_keys_are_inconclusive() {
        let mut t = TestHistory::new();
        t.final_read("other", None, Some(0), 100);
        assert_eq!(check(t).verdict(), Verdict::Pass);

        let mut t = TestHistory::new();
        t.final_read("other", Some("ghost"), None, 100);
        assert_eq!(check(t).verdict(), Verdict::Fail);

        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 10, 1);
        let r = check(t);
        assert_eq!(r.verdict(), Verdict::Inconclusive);
        assert!(r.inconclusive[0].contains("\"k\""), "{r:?}");
    }
}
