//! Transaction compare semantics, branch selection and prefix deletes.

use super::{kv, put, TestStore};
use crate::store::{Compare, CompareResult, CompareTarget, Event, EventKind, Op, OpResult, Txn};
use CompareResult::{Equal, Greater, Less, NotEqual};

fn cmp(key: &str, target: CompareTarget, result: CompareResult) -> Compare {
    Compare {
        key: key.into(),
        target,
        result,
    }
}

/// Runs `compare` as the only condition of a txn and reports whether `success` ran.
fn holds(s: &TestStore, compare: Compare) -> bool {
    s.txn(Txn {
        compares: vec![compare],
        ..Txn::default()
    })
    .succeeded
}

#[test]
fn every_target_and_result_on_an_existing_key() {
    let s = TestStore::new();
    s.put("/x", "filler");
    s.put("/k", "m"); // create 2
    s.put("/k", "m"); // mod 3, version 2
    use CompareTarget::*;
    let cases: Vec<(CompareTarget, [bool; 4])> = vec![
        // target, holds for [Equal, NotEqual, Greater, Less]
        (ModRevision(3), [true, false, false, false]),
        (ModRevision(2), [false, true, true, false]),
        (ModRevision(4), [false, true, false, true]),
        (CreateRevision(2), [true, false, false, false]),
        (CreateRevision(1), [false, true, true, false]),
        (Version(2), [true, false, false, false]),
        (Version(3), [false, true, false, true]),
        (Value(b"m".to_vec()), [true, false, false, false]),
        (Value(b"a".to_vec()), [false, true, true, false]),
        (Value(b"mm".to_vec()), [false, true, false, true]),
        (Exists(true), [true, false, false, false]),
        (Exists(false), [false, true, true, false]),
    ];
    for (target, expect) in cases {
        for (result, want) in [Equal, NotEqual, Greater, Less].into_iter().zip(expect) {
            assert_eq!(
                holds(&s, cmp("/k", target.clone(), result)),
                want,
                "{target:?} {result:?}"
            );
        }
    }
}

#[test]
fn missing_key_compares_as_zero_empty_and_absent() {
    let s = TestStore::new();
    use CompareTarget::*;
    assert!(holds(&s, cmp("/m", ModRevision(0), Equal)));
    assert!(holds(&s, cmp("/m", CreateRevision(0), Equal)));
    assert!(holds(&s, cmp("/m", Version(0), Equal)));
    assert!(holds(&s, cmp("/m", Version(1), Less)));
    assert!(holds(&s, cmp("/m", Value(vec![]), Equal)));
    assert!(holds(&s, cmp("/m", Value(b"a".to_vec()), Less)));
    assert!(holds(&s, cmp("/m", Exists(false), Equal)));
    assert!(!holds(&s, cmp("/m", Exists(true), Equal)));
}

#[test]
fn failure_branch_runs_and_failed_compares_explain() {
    let s = TestStore::new();
    s.put("/b", "hello");
    let r = s.txn(Txn {
        compares: vec![
            cmp("/a", CompareTarget::ModRevision(5), Equal),
            cmp("/b", CompareTarget::Version(1), Equal),
            cmp("/b", CompareTarget::Value(b"bye".to_vec()), Equal),
            cmp("/b", CompareTarget::Exists(false), Equal),
        ],
        success: vec![put("/s", "1")],
        failure: vec![put("/f", "1")],
    });
    assert!(!r.succeeded);
    assert_eq!(r.revision, 2);
    assert_eq!(
        r.failed_compares,
        vec![
            "compare[0] on key \"/a\": mod_revision is 0 (key does not exist), wanted EQUAL 5",
            "compare[2] on key \"/b\": value is \"hello\", wanted EQUAL \"bye\"",
            "compare[3] on key \"/b\": exists is true, wanted EQUAL false",
        ]
    );
    assert_eq!(r.responses, vec![OpResult::Put { prev_kv: None }]);
    assert!(s.get("/f").is_some());
    assert!(s.get("/s").is_none());

    // A CAS on the mod revision, kine-style.
    let r = s.txn(Txn {
        compares: vec![cmp("/b", CompareTarget::ModRevision(1), Equal)],
        success: vec![put("/b", "v2")],
        failure: vec![],
    });
    assert!(r.succeeded && r.failed_compares.is_empty());
    assert_eq!(s.get("/b"), Some(kv("/b", "v2", 1, 3, 2)));
}

#[test]
fn prefix_delete_removes_only_keys_under_the_prefix() {
    let s = TestStore::new();
    for k in ["/a", "/a/1", "/a/2", "/a0", "/b/1"] {
        s.put(k, "v");
    }
    let r = s.txn(Txn {
        success: vec![Op::Delete {
            key: b"/a/".to_vec(),
            prefix: true,
            prev_kv: true,
        }],
        ..Txn::default()
    });
    assert_eq!(r.revision, 6);
    assert_eq!(
        r.responses,
        vec![OpResult::Delete {
            deleted: 2,
            prev_kvs: vec![kv("/a/1", "v", 2, 2, 1), kv("/a/2", "v", 3, 3, 1)],
        }]
    );
    let keys: Vec<_> = s
        .list_at("/", 0)
        .unwrap()
        .into_iter()
        .map(|kv| kv.key)
        .collect();
    assert_eq!(
        keys,
        vec![b"/a".to_vec(), b"/a0".to_vec(), b"/b/1".to_vec()]
    );
    // Both deletions are events of revision 6, in key order.
    let (events, _) = s.mvcc.events_since(b"/a/", true, 6, 0).unwrap();
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.kv.key.clone(), e.revision()))
        .collect();
    assert_eq!(
        got,
        vec![
            (EventKind::Delete, b"/a/1".to_vec(), 6),
            (EventKind::Delete, b"/a/2".to_vec(), 6)
        ]
    );
    // Deleting the now-empty prefix writes nothing.
    assert_eq!(s.del("/a/", true).revision, 6);
}

#[test]
fn put_and_delete_in_one_txn_share_the_revision() {
    let s = TestStore::new();
    s.put("/old", "1");
    let r = s.txn(Txn {
        success: vec![
            put("/new", "1"),
            Op::Delete {
                key: b"/old".to_vec(),
                prefix: false,
                prev_kv: false,
            },
        ],
        ..Txn::default()
    });
    assert_eq!(r.revision, 2);
    let (events, through) = s.mvcc.events_since(b"/", true, 2, 0).unwrap();
    assert_eq!(through, 2);
    let kinds: Vec<(EventKind, u64)> = events
        .iter()
        .map(|e: &Event| (e.kind, e.revision()))
        .collect();
    assert_eq!(kinds, vec![(EventKind::Put, 2), (EventKind::Delete, 2)]);
}
