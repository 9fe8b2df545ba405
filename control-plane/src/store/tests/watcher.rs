//! `Watcher`: replay then live, resuming, filtering, compaction, lag and gap recovery.

use std::time::Duration;

use super::{put, TestStore};
use crate::store::{Command, StoreError, Txn, WatchBatch, WatchHub, Watcher};

const DEADLINE: Duration = Duration::from_secs(10);

async fn next(w: &mut Watcher) -> Result<WatchBatch, StoreError> {
    tokio::time::timeout(DEADLINE, w.next())
        .await
        .expect("watch batch within the deadline")
}

/// (revision, key) of every event of a batch.
fn seen(b: &WatchBatch) -> Vec<(u64, String)> {
    b.events
        .iter()
        .map(|e| {
            (
                e.revision(),
                String::from_utf8_lossy(&e.kv.key).into_owned(),
            )
        })
        .collect()
}

fn watch(s: &TestStore, key: &str, prefix: bool, start: u64) -> Watcher {
    Watcher::new(s.mvcc.clone(), &s.hub, key.into(), prefix, start)
}

#[tokio::test]
async fn replays_history_then_follows_live() {
    let s = TestStore::new();
    s.put("/w/a", "1");
    s.put("/other", "1");
    s.put("/w/b", "1");
    let mut w = watch(&s, "/w/", true, 1);

    let b = next(&mut w).await.unwrap();
    assert_eq!(seen(&b), [(1, "/w/a".into()), (3, "/w/b".into())]);
    assert_eq!(b.revision, 3);

    s.put("/other", "2"); // 4: filtered out
    s.txn(Txn {
        success: vec![put("/w/c", "1"), put("/w/d", "1")],
        ..Txn::default()
    }); // 5
    let b = next(&mut w).await.unwrap();
    assert_eq!(b.revision, 5);
    assert_eq!(seen(&b), [(5, "/w/c".into()), (5, "/w/d".into())]);

    s.del("/w/", true); // 6
    let b = next(&mut w).await.unwrap();
    assert_eq!(b.events.len(), 4);
    assert!(b
        .events
        .iter()
        .all(|e| e.revision() == 6 && e.prev_kv.is_some()));
    assert_eq!(w.next_revision(), 7);
}

#[tokio::test]
async fn start_zero_sees_only_future_changes() {
    let s = TestStore::new();
    s.put("/a", "old");
    let mut w = watch(&s, "/a", false, 0);
    s.put("/a", "new");
    let b = next(&mut w).await.unwrap();
    assert_eq!(seen(&b), [(2, "/a".into())]);
    assert_eq!(b.events[0].kv.value, b"new");
}

#[tokio::test]
async fn resumes_from_a_given_revision() {
    let s = TestStore::new();
    for i in 1..=5 {
        s.put("/r", &i.to_string());
    }
    let mut w = watch(&s, "/r", false, 4);
    let b = next(&mut w).await.unwrap();
    assert_eq!(seen(&b), [(4, "/r".into()), (5, "/r".into())]);
    s.put("/r", "6");
    assert_eq!(seen(&next(&mut w).await.unwrap()), [(6, "/r".into())]);

    // A start in the future waits for that revision.
    let mut w = watch(&s, "/r", false, 8);
    s.put("/r", "7");
    s.put("/r", "8");
    assert_eq!(seen(&next(&mut w).await.unwrap()), [(8, "/r".into())]);
}

#[tokio::test]
async fn start_below_the_compact_revision_fails_but_at_it_replays() {
    let s = TestStore::new();
    for i in 1..=4 {
        s.put("/c", &i.to_string());
    }
    s.apply(&Command::Compact { revision: 3 });
    let mut w = watch(&s, "/c", false, 2);
    let err = next(&mut w).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Compacted {
            requested: 2,
            compacted: 3
        }
    );
    // The failed watch stays failed.
    assert_eq!(next(&mut w).await.unwrap_err(), err);

    let mut w = watch(&s, "/c", false, 3);
    assert_eq!(
        seen(&next(&mut w).await.unwrap()),
        [(3, "/c".into()), (4, "/c".into())]
    );
}

#[tokio::test]
async fn a_lagging_watcher_recovers_from_history_without_gaps_or_duplicates() {
    let s = TestStore::with_hub_capacity(1);
    let mut w = watch(&s, "/l/", true, 0);
    s.put("/l/first", "v");
    assert_eq!(seen(&next(&mut w).await.unwrap()), [(1, "/l/first".into())]);
    // Now following the live stream; 20 revisions overflow the one-slot buffer.
    for i in 0..20 {
        s.put(&format!("/l/{i:02}"), "v");
    }
    let mut got = Vec::new();
    while got.len() < 20 {
        got.extend(seen(&next(&mut w).await.unwrap()));
    }
    let want: Vec<(u64, String)> = (0..20).map(|i| (i + 2, format!("/l/{i:02}"))).collect();
    assert_eq!(got, want);

    // Back on the live stream: exactly the next change, nothing replayed twice.
    s.put("/l/marker", "v");
    assert_eq!(
        seen(&next(&mut w).await.unwrap()),
        [(22, "/l/marker".into())]
    );
}

#[tokio::test]
async fn a_watcher_lagging_behind_a_compaction_gets_compacted() {
    let s = TestStore::with_hub_capacity(1);
    let mut w = watch(&s, "/k", false, 0);
    s.put("/k", "1");
    assert_eq!(seen(&next(&mut w).await.unwrap()), [(1, "/k".into())]);
    for i in 2..=6 {
        s.put("/k", &i.to_string());
    }
    s.apply(&Command::Compact { revision: 5 });
    assert_eq!(
        next(&mut w).await.unwrap_err(),
        StoreError::Compacted {
            requested: 2,
            compacted: 5
        }
    );
}

#[tokio::test]
async fn a_revision_missing_from_the_live_stream_is_read_from_history() {
    let s = TestStore::new();
    let mut w = watch(&s, "/g", true, 0);
    s.put("/g0", "v");
    assert_eq!(seen(&next(&mut w).await.unwrap()), [(1, "/g0".into())]);
    // Revision 2 is written but never published (as around a snapshot install); 3 is published.
    s.apply_unpublished(&Command::put("/g1", "v"));
    s.put("/g2", "v");
    let b = next(&mut w).await.unwrap();
    assert_eq!(seen(&b), [(2, "/g1".into()), (3, "/g2".into())]);
    s.put("/g3", "v");
    assert_eq!(seen(&next(&mut w).await.unwrap()), [(4, "/g3".into())]);
}

#[tokio::test]
async fn a_dropped_hub_closes_the_watch() {
    let s = TestStore::new();
    let hub = WatchHub::new(4);
    let mut w = Watcher::new(s.mvcc.clone(), &hub, b"/x".to_vec(), false, 0);
    drop(hub);
    assert_eq!(next(&mut w).await.unwrap_err(), StoreError::Closed);
}

/// An index on `/p/` whose value is the stored value itself (a node name, say).
fn indexed_store() -> TestStore {
    let mut s = TestStore::new();
    s.hub = s.hub.clone().with_index(crate::store::WatchIndex::new(
        "/p/",
        std::sync::Arc::new(|v: &[u8]| Some(String::from_utf8_lossy(v).into_owned())),
    ));
    s
}

#[tokio::test]
async fn an_index_filter_delivers_only_events_touching_its_value_live_and_replayed() {
    let s = indexed_store();
    s.put("/p/a", "n1"); // 1
    s.put("/p/b", "n2"); // 2
                         // Replayed from history: only /p/a concerns n1.
    let mut w1 = watch(&s, "/p/", true, 1).only_index_value("n1".into());
    assert_eq!(seen(&next(&mut w1).await.unwrap()), [(1, "/p/a".into())]);
    let mut w2 = watch(&s, "/p/", true, 0).only_index_value("n2".into());
    // Live: a move from n2 to n1 concerns both (before and after), n3 neither.
    s.put("/p/c", "n3"); // 3
    s.put("/p/b", "n1"); // 4
    assert_eq!(seen(&next(&mut w1).await.unwrap()), [(4, "/p/b".into())]);
    assert_eq!(seen(&next(&mut w2).await.unwrap()), [(4, "/p/b".into())]);
    // A delete concerns the value it had.
    s.del("/p/a", false); // 5
    s.put("/p/d", "n2"); // 6
    assert_eq!(seen(&next(&mut w1).await.unwrap()), [(5, "/p/a".into())]);
    assert_eq!(seen(&next(&mut w2).await.unwrap()), [(6, "/p/d".into())]);
}

#[tokio::test]
async fn keys_outside_the_index_pass_an_index_filter() {
    let s = indexed_store();
    let mut w = watch(&s, "/", true, 0).only_index_value("n1".into());
    s.put("/p/a", "n2"); // 1: indexed, other value
    s.put("/q/a", "n2"); // 2: not indexed
    assert_eq!(seen(&next(&mut w).await.unwrap()), [(2, "/q/a".into())]);
}
