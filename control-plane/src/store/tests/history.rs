//! `events_since`: replay order, key/prefix filters, and whole-revision limits.

use super::{put, TestStore};
use crate::store::{EventKind, Txn};

fn summary(events: &[crate::store::Event]) -> Vec<(u64, String, EventKind)> {
    events
        .iter()
        .map(|e| {
            (
                e.revision(),
                String::from_utf8_lossy(&e.kv.key).into_owned(),
                e.kind,
            )
        })
        .collect()
}

/// @1 /a/1, @2 /b/1, @3 {/a/2, /a/3, /b/2}, @4 del /a/1, @5 /a/1.
fn with_events() -> TestStore {
    let s = TestStore::new();
    s.put("/a/1", "x");
    s.put("/b/1", "x");
    s.txn(Txn {
        success: vec![put("/a/2", "x"), put("/a/3", "x"), put("/b/2", "x")],
        ..Txn::default()
    });
    s.del("/a/1", false);
    s.put("/a/1", "y");
    s
}

#[test]
fn replays_in_revision_then_op_order_with_filters() {
    let s = with_events();
    let (events, through) = s.mvcc.events_since(b"/", true, 1, 0).unwrap();
    assert_eq!(through, 5);
    assert_eq!(events.len(), 7);
    assert_eq!(
        summary(&events)[2..5],
        [
            (3, "/a/2".into(), EventKind::Put),
            (3, "/a/3".into(), EventKind::Put),
            (3, "/b/2".into(), EventKind::Put)
        ]
    );

    let (events, _) = s.mvcc.events_since(b"/a/1", false, 1, 0).unwrap();
    assert_eq!(
        summary(&events),
        [
            (1, "/a/1".into(), EventKind::Put),
            (4, "/a/1".into(), EventKind::Delete),
            (5, "/a/1".into(), EventKind::Put)
        ]
    );
    // The delete event carries the deleted version as prev_kv; the re-put has none.
    assert_eq!(events[1].prev_kv.as_ref().map(|kv| kv.version), Some(1));
    assert_eq!(events[2].prev_kv, None);

    let (events, through) = s.mvcc.events_since(b"/b/", true, 3, 0).unwrap();
    assert_eq!(
        (summary(&events), through),
        (vec![(3, "/b/2".into(), EventKind::Put)], 5)
    );

    // A start beyond the history is simply empty.
    assert_eq!(s.mvcc.events_since(b"/", true, 6, 0).unwrap(), (vec![], 5));
    assert_eq!(s.mvcc.events_since(b"/", true, 60, 0).unwrap(), (vec![], 5));
}

#[test]
fn max_revisions_never_splits_a_revision() {
    let s = with_events();
    let (events, through) = s.mvcc.events_since(b"/", true, 1, 3).unwrap();
    let revs: Vec<u64> = events.iter().map(|e| e.revision()).collect();
    assert_eq!((revs, through), (vec![1, 2, 3, 3, 3], 3));

    let (events, through) = s.mvcc.events_since(b"/", true, through + 1, 3).unwrap();
    let revs: Vec<u64> = events.iter().map(|e| e.revision()).collect();
    assert_eq!((revs, through), (vec![4, 5], 5));

    // Only revisions with matching events count towards the limit.
    let (events, through) = s.mvcc.events_since(b"/a/", true, 2, 1).unwrap();
    assert_eq!((events.len(), through), (2, 3));
}
