//! Range reads: limits, paging, counts, keys-only, and reads at past revisions.

use super::{kv, TestStore};
use crate::store::{RangeQuery, StoreError};

fn keys(kvs: &[crate::store::KeyValue]) -> Vec<String> {
    kvs.iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect()
}

fn prefix(p: &str) -> RangeQuery {
    RangeQuery {
        key: p.into(),
        prefix: true,
        ..RangeQuery::default()
    }
}

/// /p/a../p/e at revisions 1..5, /q/x at 6.
fn populated() -> TestStore {
    let s = TestStore::new();
    for k in ["/p/a", "/p/b", "/p/c", "/p/d", "/p/e", "/q/x"] {
        s.put(k, &format!("{k}-v1"));
    }
    s
}

#[test]
fn limit_after_key_count_and_keys_only_at_latest() {
    let s = populated();
    let r = s.mvcc.range(&prefix("/p/")).unwrap();
    assert_eq!(keys(&r.kvs), ["/p/a", "/p/b", "/p/c", "/p/d", "/p/e"]);
    assert_eq!((r.count, r.more, r.revision), (5, false, 6));

    let r = s
        .mvcc
        .range(&RangeQuery {
            limit: 2,
            ..prefix("/p/")
        })
        .unwrap();
    assert_eq!(keys(&r.kvs), ["/p/a", "/p/b"]);
    assert_eq!((r.count, r.more), (5, true));

    // Page 2: strictly after the last key of page 1; count covers the rest of the range.
    let q = RangeQuery {
        limit: 2,
        after_key: Some(b"/p/b".to_vec()),
        ..prefix("/p/")
    };
    let r = s.mvcc.range(&q).unwrap();
    assert_eq!(keys(&r.kvs), ["/p/c", "/p/d"]);
    assert_eq!((r.count, r.more), (3, true));
    let q = RangeQuery {
        limit: 2,
        after_key: Some(b"/p/d".to_vec()),
        ..prefix("/p/")
    };
    let r = s.mvcc.range(&q).unwrap();
    assert_eq!(
        (keys(&r.kvs), r.count, r.more),
        (vec!["/p/e".to_string()], 1, false)
    );

    let r = s
        .mvcc
        .range(&RangeQuery {
            keys_only: true,
            ..prefix("/p/")
        })
        .unwrap();
    assert!(r
        .kvs
        .iter()
        .all(|kv| kv.value.is_empty() && kv.version == 1));
    assert_eq!(r.kvs.len(), 5);

    let r = s
        .mvcc
        .range(&RangeQuery {
            count_only: true,
            limit: 1,
            ..prefix("/p/")
        })
        .unwrap();
    assert_eq!((r.kvs.len(), r.count, r.more), (0, 5, false));

    // An empty prefix is everything; an exact key is just that key.
    assert_eq!(s.mvcc.range(&prefix("")).unwrap().count, 6);
    let exact = RangeQuery {
        key: b"/p/c".to_vec(),
        ..RangeQuery::default()
    };
    let r = s.mvcc.range(&exact).unwrap();
    assert_eq!((r.kvs, r.count), (vec![kv("/p/c", "/p/c-v1", 3, 3, 1)], 1));
    let r = s
        .mvcc
        .range(&RangeQuery {
            key: b"/p".to_vec(),
            ..RangeQuery::default()
        })
        .unwrap();
    assert_eq!(r.count, 0);
}

#[test]
fn reads_at_a_past_revision_see_that_revisions_state() {
    let s = populated();
    s.put("/p/a", "/p/a-v2"); // 7
    s.del("/p/b", false); // 8
    s.put("/p/f", "/p/f-v1"); // 9
    s.del("/p/c", false); // 10
    s.put("/p/c", "/p/c-again"); // 11

    let at6 = s.list_at("/p/", 6).unwrap();
    assert_eq!(keys(&at6), ["/p/a", "/p/b", "/p/c", "/p/d", "/p/e"]);
    assert_eq!(at6[0], kv("/p/a", "/p/a-v1", 1, 1, 1));

    let at8 = s.list_at("/p/", 8).unwrap();
    assert_eq!(keys(&at8), ["/p/a", "/p/c", "/p/d", "/p/e"]);
    assert_eq!(at8[0], kv("/p/a", "/p/a-v2", 1, 7, 2));

    assert_eq!(
        keys(&s.list_at("/p/", 10).unwrap()),
        ["/p/a", "/p/d", "/p/e", "/p/f"]
    );
    assert_eq!(
        s.get_at("/p/c", 11).unwrap(),
        Some(kv("/p/c", "/p/c-again", 11, 11, 1))
    );
    assert_eq!(s.get("/p/c"), Some(kv("/p/c", "/p/c-again", 11, 11, 1)));

    // A deleted key is still readable at an older revision, and absent from its deletion on.
    assert_eq!(s.get("/p/b"), None);
    assert_eq!(
        s.get_at("/p/b", 7).unwrap(),
        Some(kv("/p/b", "/p/b-v1", 2, 2, 1))
    );
    assert_eq!(s.get_at("/p/b", 8).unwrap(), None);
    assert_eq!(s.get_at("/p/b", 1).unwrap(), None);

    // Paging, limit, count and keys_only work the same in the past.
    let q = RangeQuery {
        revision: 8,
        limit: 2,
        after_key: Some(b"/p/a".to_vec()),
        keys_only: true,
        ..prefix("/p/")
    };
    let r = s.mvcc.range(&q).unwrap();
    assert_eq!(keys(&r.kvs), ["/p/c", "/p/d"]);
    assert!(r.kvs.iter().all(|kv| kv.value.is_empty()));
    assert_eq!((r.count, r.more, r.revision), (3, true, 8));
}

#[test]
fn bad_ranges_are_refused() {
    let s = populated();
    let q = RangeQuery {
        revision: 7,
        ..prefix("/p/")
    };
    assert_eq!(
        s.mvcc.range(&q),
        Err(StoreError::FutureRevision {
            requested: 7,
            current: 6
        })
    );
    let q = RangeQuery {
        key: b"/a\0".to_vec(),
        ..RangeQuery::default()
    };
    assert!(matches!(
        s.mvcc.range(&q),
        Err(StoreError::InvalidArgument(_))
    ));
    let q = RangeQuery::default();
    assert!(matches!(
        s.mvcc.range(&q),
        Err(StoreError::InvalidArgument(_))
    ));
}

#[test]
fn empty_store_reads_nothing_at_revision_zero() {
    let s = TestStore::new();
    let r = s.mvcc.range(&prefix("/")).unwrap();
    assert_eq!((r.kvs.len(), r.count, r.more, r.revision), (0, 0, false, 0));
}
