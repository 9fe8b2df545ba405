//! Revision counting and per-key create/mod/version tracking.

use super::{kv, put, TestStore};
use crate::store::{
    Command, CommandResponse, Compare, CompareResult, CompareTarget, Event, EventKind, KeyValue,
    Op, OpResult, Txn,
};
use rocksdb::WriteBatch;

#[test]
fn revision_bumps_once_per_writing_command() {
    let s = TestStore::new();
    assert_eq!(s.mvcc.revision().unwrap(), 0);
    assert_eq!(s.mvcc.compact_revision().unwrap(), 0);

    assert_eq!(s.put("/a", "1").revision, 1);
    assert_eq!(s.put("/b", "1").revision, 2);

    // Several writes in one txn share one revision.
    let r = s.txn(Txn {
        success: vec![put("/c", "1"), put("/d", "1")],
        ..Txn::default()
    });
    assert_eq!(r.revision, 3);
    assert_eq!(s.get("/c").unwrap().mod_revision, 3);
    assert_eq!(s.get("/d").unwrap().mod_revision, 3);

    // Deleting a missing key writes nothing and does not bump.
    let r = s.del("/missing", false);
    assert_eq!((r.revision, r.succeeded), (3, true));
    assert_eq!(
        r.responses,
        vec![OpResult::Delete {
            deleted: 0,
            prev_kvs: vec![]
        }]
    );

    // Noop, an empty txn and a failed txn with an empty failure branch do not bump either.
    assert_eq!(s.apply(&Command::Noop), CommandResponse::Noop);
    assert_eq!(s.txn(Txn::default()).revision, 3);
    let failing = Txn {
        compares: vec![Compare {
            key: b"/a".to_vec(),
            target: CompareTarget::Version(9),
            result: CompareResult::Equal,
        }],
        success: vec![put("/a", "2")],
        failure: vec![],
    };
    let r = s.txn(failing);
    assert_eq!((r.revision, r.succeeded), (3, false));
    assert_eq!(s.mvcc.revision().unwrap(), 3);

    assert_eq!(s.put("/a", "2").revision, 4);
    assert_eq!(s.mvcc.revision().unwrap(), 4);
}

#[test]
fn create_mod_version_track_puts_deletes_and_recreation() {
    let s = TestStore::new();
    s.put("/a", "1");
    assert_eq!(s.get("/a"), Some(kv("/a", "1", 1, 1, 1)));
    s.put("/other", "x");
    s.put("/a", "2");
    assert_eq!(s.get("/a"), Some(kv("/a", "2", 1, 3, 2)));

    let r = s.del("/a", false);
    assert_eq!(r.revision, 4);
    assert_eq!(
        r.responses,
        vec![OpResult::Delete {
            deleted: 1,
            prev_kvs: vec![kv("/a", "2", 1, 3, 2)]
        }]
    );
    assert_eq!(s.get("/a"), None);

    // Recreated: version restarts at 1 with a new create revision.
    s.put("/a", "3");
    assert_eq!(s.get("/a"), Some(kv("/a", "3", 5, 5, 1)));
}

#[test]
fn apply_returns_events_in_op_order_with_prev_kv() {
    let s = TestStore::new();
    s.put("/b", "old");
    let mut batch = WriteBatch::default();
    let txn = Txn {
        success: vec![
            put("/z", "1"),
            Op::Put {
                key: b"/b".to_vec(),
                value: b"new".to_vec(),
                prev_kv: false,
            },
            Op::Delete {
                key: b"/nothing".to_vec(),
                prefix: false,
                prev_kv: true,
            },
        ],
        ..Txn::default()
    };
    let (resp, events) = s.mvcc.apply(&Command::Txn(txn), &mut batch).unwrap();
    s.mvcc.db.write(batch).unwrap();
    assert_eq!(
        events,
        vec![
            Event {
                kind: EventKind::Put,
                kv: kv("/z", "1", 2, 2, 1),
                prev_kv: None
            },
            Event {
                kind: EventKind::Put,
                kv: kv("/b", "new", 1, 2, 2),
                prev_kv: Some(kv("/b", "old", 1, 1, 1)),
            },
        ]
    );
    let CommandResponse::Txn(r) = resp else {
        panic!("{resp:?}")
    };
    // prev_kv is returned only where asked for.
    assert_eq!(
        r.responses,
        vec![
            OpResult::Put { prev_kv: None },
            OpResult::Put { prev_kv: None },
            OpResult::Delete {
                deleted: 0,
                prev_kvs: vec![]
            },
        ]
    );
    let r = s.txn(Txn {
        success: vec![put("/b", "newer")],
        ..Txn::default()
    });
    assert_eq!(
        r.responses,
        vec![OpResult::Put {
            prev_kv: Some(kv("/b", "new", 1, 2, 2))
        }]
    );
}

#[test]
fn delete_event_carries_deleting_revision_and_prev() {
    let s = TestStore::new();
    s.put("/a", "1");
    let mut batch = WriteBatch::default();
    let (_, events) = s
        .mvcc
        .apply(&Command::delete("/a", false), &mut batch)
        .unwrap();
    let expected_kv = KeyValue {
        key: b"/a".to_vec(),
        value: vec![],
        create_revision: 0,
        mod_revision: 2,
        version: 0,
    };
    assert_eq!(
        events,
        vec![Event {
            kind: EventKind::Delete,
            kv: expected_kv,
            prev_kv: Some(kv("/a", "1", 1, 1, 1))
        }]
    );
}

#[test]
fn invalid_commands_are_rejected_without_writing() {
    let s = TestStore::new();
    let dup = Command::Txn(Txn {
        success: vec![put("/a", "1"), put("/a", "2")],
        ..Txn::default()
    });
    let CommandResponse::Rejected { reason } = s.apply(&dup) else {
        panic!("not rejected")
    };
    assert!(
        reason.contains("duplicate key \"/a\" in txn success[1]"),
        "{reason}"
    );
    assert!(matches!(
        s.apply(&Command::Compact { revision: 0 }),
        CommandResponse::Rejected { .. }
    ));
    assert_eq!(s.mvcc.revision().unwrap(), 0);
    assert_eq!(s.get("/a"), None);
}

#[test]
fn new_requires_the_column_families() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(true);
    let db = std::sync::Arc::new(rocksdb::DB::open(&opts, dir.path()).unwrap());
    let err = crate::store::Mvcc::new(db).err().unwrap();
    assert!(err.to_string().contains("sm_kv"), "{err}");
}

#[test]
fn clear_for_install_keeps_raft_meta_only() {
    let s = TestStore::new();
    s.put("/a", "1");
    s.put("/b", "1");
    s.del("/a", false);
    let meta = s.mvcc.db.cf_handle(crate::store::CF_META).unwrap();
    s.mvcc.db.put_cf(&meta, b"raft/vote", b"v").unwrap();
    let mut batch = WriteBatch::default();
    s.mvcc.clear_for_install(&mut batch).unwrap();
    s.mvcc.db.write(batch).unwrap();
    for cf in ["sm_kv", "sm_rev", "sm_events"] {
        assert_eq!(s.cf_len(cf), 0, "{cf}");
    }
    assert_eq!(s.cf_len("sm_meta"), 1);
    assert_eq!(
        s.mvcc.db.get_cf(&meta, b"raft/vote").unwrap(),
        Some(b"v".to_vec())
    );
    assert_eq!(s.mvcc.revision().unwrap(), 0);
    // The cleared store hashes like a fresh one.
    assert_eq!(
        s.mvcc.state_hash().unwrap(),
        TestStore::new().mvcc.state_hash().unwrap()
    );
}
