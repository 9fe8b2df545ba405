//! What the whole history says about revisions, for the register model: which revisions belong
//! to known writes, and which unanswered writes' revisions can be read off later observations.

use std::collections::{HashMap, HashSet};

use crate::history::{History, OpId, Outcome, Reply};

/// Facts about write revisions gathered across all keys (store revisions are unique).
#[derive(Debug, Default)]
pub(crate) struct RevisionFacts {
    /// The revision of a write whose answer did not carry one, when the value it wrote was later
    /// observed (read, final read or watch event) with its mod_revision and no other operation
    /// of the key could have written that value.
    pub resolved: HashMap<OpId, u64>,
    /// Every revision known to belong to a particular write: acknowledged ones and resolved ones.
    pub bound: HashSet<u64>,
}

impl RevisionFacts {
    pub(crate) fn from_history(history: &History) -> Self {
        let mut facts = RevisionFacts::default();
        // (key, value) → the operations that may have written it.
        let mut writers: HashMap<(&str, &str), Vec<OpId>> = HashMap::new();
        for (i, op) in history.ops.iter().enumerate() {
            if let Some(rev) = op.write_revision() {
                facts.bound.insert(rev);
            }
            if let (true, Some(value)) = (op.may_have_written(), op.written_value()) {
                writers.entry((&op.key, value)).or_default().push(OpId(i));
            }
        }
        // (key, value) → the mod_revisions it was observed with.
        let mut seen: HashMap<(&str, &str), HashSet<u64>> = HashMap::new();
        for op in &history.ops {
            if let Outcome::Ok(Reply::Read {
                value: Some(value),
                mod_revision: Some(rev),
            }) = &op.outcome
            {
                seen.entry((&op.key, value)).or_default().insert(*rev);
            }
        }
        for read in &history.final_reads {
            if let (Some(value), Some(rev)) = (&read.value, read.mod_revision) {
                seen.entry((&read.key, value)).or_default().insert(rev);
            }
        }
        for event in history.watches.iter().flat_map(|w| w.events()) {
            if let Some(value) = &event.value {
                seen.entry((&event.key, value))
                    .or_default()
                    .insert(event.revision);
            }
        }
        for (key_value, revs) in seen {
            let (Some([writer]), 1) = (writers.get(&key_value).map(Vec::as_slice), revs.len())
            else {
                continue;
            };
            let rev = revs.into_iter().next().unwrap_or_default();
            let answered = history.op(*writer).and_then(|op| op.write_revision());
            if answered.is_none() {
                facts.resolved.insert(*writer, rev);
                facts.bound.insert(rev);
            }
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_history::TestHistory;

    #[test]
    fn resolves_unanswered_writes_seen_later() {
        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 1, 3);
        let seen = t.write_unknown(1, "k", "b", 2, 3);
        let unseen = t.write_unknown(1, "k", "c", 2, 3);
        let twice = t.write_unknown(1, "k", "d", 2, 3);
        t.write_unknown(2, "k", "d", 2, 3);
        t.read_rev(2, "k", Some("b"), Some(5), 4, 5);
        t.read_rev(2, "k", Some("d"), Some(6), 4, 5);
        let facts = RevisionFacts::from_history(&t.build());
        assert_eq!(facts.resolved.get(&seen), Some(&5));
        assert_eq!(facts.resolved.get(&unseen), None);
        assert_eq!(facts.resolved.get(&twice), None, "two writers of \"d\"");
        assert_eq!(facts.bound, HashSet::from([3, 5]));
    }
}
