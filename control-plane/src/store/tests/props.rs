//! Property tests: replicas applying the same random log agree exactly, and match a simple
//! in-memory model of etcd semantics at every retained revision.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use proptest::prelude::*;

use super::TestStore;
use crate::store::{
    Command, CommandResponse, Compare, CompareResult, CompareTarget, KeyValue, Op, StoreError, Txn,
};

const KEYS: [&str; 6] = ["/a", "/a/", "/a/x", "/a/y", "/b", "/b/z"];

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(&KEYS[..]).prop_map(|k| k.as_bytes().to_vec())
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(&["", "1", "2", "33"][..]).prop_map(|v| v.as_bytes().to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (key(), value(), any::<bool>())
            .prop_map(|(key, value, prev_kv)| Op::Put { key, value, prev_kv }),
        1 => (key(), any::<bool>(), any::<bool>())
            .prop_map(|(key, prefix, prev_kv)| Op::Delete { key, prefix, prev_kv }),
    ]
}

fn compare() -> impl Strategy<Value = Compare> {
    let target = prop_oneof![
        (0u64..8).prop_map(CompareTarget::ModRevision),
        (0u64..8).prop_map(CompareTarget::CreateRevision),
        (0u64..4).prop_map(CompareTarget::Version),
        value().prop_map(CompareTarget::Value),
        any::<bool>().prop_map(CompareTarget::Exists),
    ];
    let result = prop::sample::select(
        &[
            CompareResult::Equal,
            CompareResult::NotEqual,
            CompareResult::Greater,
            CompareResult::Less,
        ][..],
    );
    (key(), target, result).prop_map(|(key, target, result)| Compare {
        key,
        target,
        result,
    })
}

fn command() -> impl Strategy<Value = Command> {
    let txn = (
        prop::collection::vec(compare(), 0..3),
        prop::collection::vec(op(), 0..4),
        prop::collection::vec(op(), 0..3),
    )
        .prop_map(|(compares, success, failure)| {
            Command::Txn(Txn {
                compares,
                success,
                failure,
            })
        });
    prop_oneof![8 => txn, 2 => (0u64..14).prop_map(|revision| Command::Compact { revision }), 1 => Just(Command::Noop)]
}

/// etcd semantics, the naive way: the whole key space cloned at every revision.
#[derive(Default)]
struct Model {
    compacted: u64,
    /// `states[r]` = live keys at revision r.
    states: Vec<BTreeMap<Vec<u8>, KeyValue>>,
}

impl Model {
    fn revision(&self) -> u64 {
        self.states.len() as u64 - 1
    }

    fn apply(&mut self, cmd: &Command) {
        if cmd.validate().is_err() {
            return;
        }
        match cmd {
            Command::Noop => {}
            Command::Compact { revision } => {
                if *revision <= self.revision() && *revision > self.compacted {
                    self.compacted = *revision;
                }
            }
            Command::Txn(txn) | Command::Fenced { txn, .. } => {
                let rev = self.revision() + 1;
                let mut live = self.states[self.states.len() - 1].clone();
                let ok = txn.compares.iter().all(|c| holds(c, live.get(&c.key)));
                let mut wrote = false;
                for op in if ok { &txn.success } else { &txn.failure } {
                    match op {
                        Op::Put { key, value, .. } => {
                            let (create, version) = live
                                .get(key)
                                .map_or((rev, 1), |kv| (kv.create_revision, kv.version + 1));
                            let kv = KeyValue {
                                key: key.clone(),
                                value: value.clone(),
                                create_revision: create,
                                mod_revision: rev,
                                version,
                            };
                            live.insert(key.clone(), kv);
                            wrote = true;
                        }
                        Op::Delete { key, prefix, .. } => {
                            let before = live.len();
                            live.retain(|k, _| !keel_proto::keys::matches(key, *prefix, k));
                            wrote |= live.len() != before;
                        }
                    }
                }
                if wrote {
                    self.states.push(live);
                }
            }
        }
    }
}

fn holds(c: &Compare, kv: Option<&KeyValue>) -> bool {
    let ord = match &c.target {
        CompareTarget::ModRevision(w) => kv.map_or(0, |kv| kv.mod_revision).cmp(w),
        CompareTarget::CreateRevision(w) => kv.map_or(0, |kv| kv.create_revision).cmp(w),
        CompareTarget::Version(w) => kv.map_or(0, |kv| kv.version).cmp(w),
        CompareTarget::Value(w) => kv.map_or(&[][..], |kv| &kv.value[..]).cmp(&w[..]),
        CompareTarget::Exists(w) => kv.is_some().cmp(w),
    };
    match c.result {
        CompareResult::Equal => ord == Ordering::Equal,
        CompareResult::NotEqual => ord != Ordering::Equal,
        CompareResult::Greater => ord == Ordering::Greater,
        CompareResult::Less => ord == Ordering::Less,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replicas_agree_and_match_the_model(cmds in prop::collection::vec(command(), 1..40)) {
        let (a, b) = (TestStore::new(), TestStore::new());
        let mut model = Model { states: vec![BTreeMap::new()], ..Model::default() };
        let mut last_revision = 0;
        for cmd in &cmds {
            let ra = a.apply(cmd);
            let rb = b.apply(cmd);
            prop_assert_eq!(&ra, &rb);
            prop_assert_eq!(a.mvcc.state_hash().unwrap(), b.mvcc.state_hash().unwrap());
            model.apply(cmd);

            let revision = a.mvcc.revision().unwrap();
            prop_assert!(revision >= last_revision);
            last_revision = revision;
            prop_assert_eq!(revision, model.revision());
            prop_assert_eq!(a.mvcc.compact_revision().unwrap(), model.compacted);
            if let CommandResponse::Txn(r) = &ra {
                prop_assert_eq!(r.revision, revision);
            }
            let latest: Vec<KeyValue> = model.states[revision as usize].values().cloned().collect();
            prop_assert_eq!(a.list_at("/", 0), Ok(latest));
            for rev in 1..=revision {
                let got = a.list_at("/", rev);
                if rev < model.compacted {
                    prop_assert_eq!(got, Err(StoreError::Compacted { requested: rev, compacted: model.compacted }));
                } else {
                    let want: Vec<KeyValue> = model.states[rev as usize].values().cloned().collect();
                    prop_assert_eq!(got, Ok(want), "at revision {}", rev);
                }
            }
        }
        let from = model.compacted;
        prop_assert_eq!(a.mvcc.events_since(b"/", true, from, 0), b.mvcc.events_since(b"/", true, from, 0));
    }
}
