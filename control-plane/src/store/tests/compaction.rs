//! Compaction: rejected cases, the read boundary, and what history is dropped.

use super::{kv, TestStore};
use crate::store::{Command, CommandResponse, StoreError};

/// a@1, a@2, b@3, b deleted @4, c@5, a@6.
fn with_history() -> TestStore {
    let s = TestStore::new();
    s.put("/a", "a1");
    s.put("/a", "a2");
    s.put("/b", "b1");
    s.del("/b", false);
    s.put("/c", "c1");
    s.put("/a", "a3");
    s
}

fn compact(s: &TestStore, revision: u64) -> CommandResponse {
    s.apply(&Command::Compact { revision })
}

#[test]
fn out_of_range_compactions_are_rejected() {
    let s = with_history();
    assert_eq!(
        compact(&s, 9),
        CommandResponse::Rejected {
            reason: "compact revision 9 is beyond the current revision 6".into()
        }
    );
    assert_eq!(compact(&s, 4), CommandResponse::Compact { revision: 4 });
    assert_eq!(
        compact(&s, 3),
        CommandResponse::Rejected {
            reason: "revision 3 is already compacted (compact revision 4)".into()
        }
    );
    assert!(matches!(compact(&s, 4), CommandResponse::Rejected { .. }));
    // Compaction never bumps the revision.
    assert_eq!(s.mvcc.revision().unwrap(), 6);
    assert_eq!(s.mvcc.compact_revision().unwrap(), 4);
}

#[test]
fn reads_below_fail_and_reads_at_or_above_are_unchanged() {
    let s = with_history();
    let before: Vec<_> = (4..=6).map(|rev| s.list_at("/", rev).unwrap()).collect();
    assert_eq!(compact(&s, 4), CommandResponse::Compact { revision: 4 });

    for rev in 1..4 {
        assert_eq!(
            s.list_at("/", rev),
            Err(StoreError::Compacted {
                requested: rev,
                compacted: 4
            })
        );
    }
    let after: Vec<_> = (4..=6).map(|rev| s.list_at("/", rev).unwrap()).collect();
    assert_eq!(before, after);
    assert_eq!(after[0], vec![kv("/a", "a2", 1, 2, 2)]);
    assert_eq!(s.get_at("/b", 4).unwrap(), None);
    assert_eq!(s.get("/a"), Some(kv("/a", "a3", 1, 6, 3)));
    let err = s.get_at("/a", 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "required revision 3 has been compacted; compact revision is 4"
    );
}

#[test]
fn history_older_than_the_compact_revision_is_dropped() {
    let s = with_history();
    assert_eq!(s.cf_len("sm_rev"), 6);
    assert_eq!(s.cf_len("sm_events"), 6);
    compact(&s, 4);
    // /a keeps @2 (visible at 4) and @6; /b's put @3 and tombstone @4 go; /c keeps @5.
    assert_eq!(s.cf_len("sm_rev"), 3);
    // Events of revisions 4, 5 and 6 remain, so a watch from 4 still replays.
    assert_eq!(s.cf_len("sm_events"), 3);
    assert_eq!(
        s.mvcc.events_since(b"/", true, 3, 0),
        Err(StoreError::Compacted {
            requested: 3,
            compacted: 4
        })
    );
    let (events, through) = s.mvcc.events_since(b"/", true, 4, 0).unwrap();
    let revs: Vec<u64> = events.iter().map(|e| e.revision()).collect();
    assert_eq!((revs, through), (vec![4, 5, 6], 6));

    // Compacting up to the current revision keeps exactly the live versions.
    assert_eq!(compact(&s, 6), CommandResponse::Compact { revision: 6 });
    assert_eq!(s.cf_len("sm_rev"), 2);
    assert_eq!(s.cf_len("sm_events"), 1);
    assert_eq!(
        s.list_at("/", 6).unwrap(),
        vec![kv("/a", "a3", 1, 6, 3), kv("/c", "c1", 5, 5, 1)]
    );
    // Writing on after a compaction still keeps a correct history.
    s.put("/c", "c2");
    assert_eq!(s.get_at("/c", 6).unwrap(), Some(kv("/c", "c1", 5, 5, 1)));
    assert_eq!(s.get("/c"), Some(kv("/c", "c2", 5, 7, 2)));
}

#[test]
fn compaction_changes_the_state_hash_identically_on_replicas() {
    let (a, b) = (with_history(), with_history());
    assert_eq!(a.mvcc.state_hash().unwrap(), b.mvcc.state_hash().unwrap());
    let before = a.mvcc.state_hash().unwrap();
    compact(&a, 5);
    assert_ne!(a.mvcc.state_hash().unwrap(), before);
    compact(&b, 5);
    assert_eq!(a.mvcc.state_hash().unwrap(), b.mvcc.state_hash().unwrap());
}
