//! Hand-built histories for the linearizability checker: correct ones pass, and the anomalies a
//! faulty store produces (stale reads, lost or phantom writes, wrong CAS answers) are flagged.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::linearizable_proptest::{simulate, Spec};
use super::test_history::TestHistory;
use super::{CheckResult, Checker, Linearizable, Verdict};
use crate::history::CasExpect;

fn check(t: TestHistory) -> CheckResult {
    Linearizable::default().check(&t.build())
}

#[test]
fn passes_a_sequential_history() {
    let mut t = TestHistory::new();
    t.read_rev(1, "k", None, Some(0), 0, 1);
    t.write(1, "k", "a", 2, 3, 1);
    t.read_rev(2, "k", Some("a"), Some(1), 4, 5);
    t.cas(
        2,
        "k",
        CasExpect::Value(Some("a".into())),
        "b",
        (6, 7),
        Some((true, Some(2))),
    );
    t.cas(
        1,
        "k",
        CasExpect::ModRevision(1),
        "c",
        (8, 9),
        Some((false, None)),
    );
    t.cas(
        1,
        "k",
        CasExpect::ModRevision(2),
        "d",
        (10, 11),
        Some((true, Some(3))),
    );
    t.read_rev(2, "k", Some("d"), Some(3), 12, 13);
    let r = check(t);
    assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");
    assert_eq!(r.stats["ops_checked"], 7);
}

#[test]
fn flags_a_stale_read_after_an_acknowledged_write() {
    // What a replica serving unsafe local reads produces: a read that starts after write "2" was
    // acknowledged still returns "1".
    let mut t = TestHistory::new();
    t.write(1, "k", "1", 0, 10, 1);
    t.write(1, "k", "2", 20, 30, 2);
    t.read(2, "k", Some("1"), 40, 50);
    let r = check(t);
    assert_eq!(r.verdict(), Verdict::Fail, "{r:?}");
    assert_eq!(r.stats["keys_not_linearizable"], 1);
    let msg = &r.violations[0];
    assert!(msg.contains("key \"k\" is not linearizable"), "{msg}");
    assert!(
        msg.contains("op #2 (client 2, key \"k\", read, 40.000ms–50.000ms, ok \"1\")"),
        "{msg}"
    );
}

#[test]
fn a_read_concurrent_with_a_write_may_see_either_value() {
    for seen in ["1", "2"] {
        let mut t = TestHistory::new();
        t.write(1, "k", "1", 0, 10, 1);
        t.write(1, "k", "2", 20, 30, 2);
        t.read(2, "k", Some(seen), 25, 35);
        assert_eq!(check(t).verdict(), Verdict::Pass, "reading {seen}");
    }
}

#[test]
fn reads_must_agree_with_each_other() {
    // Two reads concurrent with a write, but one sees the new value strictly before the other
    // sees the old one: no single order explains it.
    let mut t = TestHistory::new();
    t.write(1, "k", "1", 0, 1, 1);
    t.write(1, "k", "2", 10, 100, 2);
    t.read(2, "k", Some("2"), 20, 30);
    t.read(3, "k", Some("1"), 40, 50);
    assert_eq!(check(t).verdict(), Verdict::Fail);
}

#[test]
fn an_unanswered_write_may_take_effect_late_or_never() {
    let mut t = TestHistory::new();
    t.write_unknown(1, "k", "x", 10, 20);
    t.read(2, "k", None, 30, 31);
    t.read(2, "k", Some("x"), 100, 101);
    assert_eq!(check(t).verdict(), Verdict::Pass);

    let mut t = TestHistory::new();
    t.write_unknown(1, "k", "x", 10, 20);
    t.read(2, "k", None, 30, 31);
    t.read(2, "k", None, 100, 101);
    assert_eq!(check(t).verdict(), Verdict::Pass);

    // Once seen, it cannot be undone.
    let mut t = TestHistory::new();
    t.write_unknown(1, "k", "x", 10, 20);
    t.read(2, "k", Some("x"), 30, 31);
    t.read(2, "k", None, 100, 101);
    assert_eq!(check(t).verdict(), Verdict::Fail);

    // Nor seen before it was invoked.
    let mut t = TestHistory::new();
    t.read(2, "k", Some("x"), 0, 5);
    t.write_unknown(1, "k", "x", 10, 20);
    assert_eq!(check(t).verdict(), Verdict::Fail);
}

#[test]
fn a_failed_write_is_never_visible() {
    let mut t = TestHistory::new();
    t.write_failed(1, "k", "f", 0, 10);
    t.read(2, "k", Some("f"), 20, 30);
    assert_eq!(check(t).verdict(), Verdict::Fail);
}

#[test]
fn flags_wrong_cas_answers() {
    // Succeeded although the register held another value.
    let mut t = TestHistory::new();
    t.write(1, "k", "a", 0, 1, 1);
    t.write(1, "k", "b", 2, 3, 2);
    t.cas(
        2,
        "k",
        CasExpect::Value(Some("a".into())),
        "c",
        (4, 5),
        Some((true, Some(3))),
    );
    assert_eq!(check(t).verdict(), Verdict::Fail);

    // Failed although the compare held.
    let mut t = TestHistory::new();
    t.write(1, "k", "a", 0, 1, 1);
    t.cas(
        2,
        "k",
        CasExpect::Value(Some("a".into())),
        "c",
        (4, 5),
        Some((false, None)),
    );
    assert_eq!(check(t).verdict(), Verdict::Fail);

    // Succeeded on a stale mod_revision.
    let mut t = TestHistory::new();
    t.write(1, "k", "a", 0, 1, 5);
    t.write(1, "k", "b", 2, 3, 7);
    t.cas(
        2,
        "k",
        CasExpect::ModRevision(5),
        "c",
        (4, 5),
        Some((true, Some(8))),
    );
    assert_eq!(check(t).verdict(), Verdict::Fail);

    // A CAS creating the key (mod_revision 0) succeeds once only.
    let mut t = TestHistory::new();
    t.cas(
        1,
        "k",
        CasExpect::ModRevision(0),
        "a",
        (0, 1),
        Some((true, Some(1))),
    );
    t.cas(
        2,
        "k",
        CasExpect::ModRevision(0),
        "b",
        (2, 3),
        Some((true, Some(2))),
    );
    assert_eq!(check(t).verdict(), Verdict::Fail);
}

#[test]
fn a_read_must_report_the_writes_revision() {
    let mut t = TestHistory::new();
    t.write(1, "k", "a", 0, 1, 3);
    t.read_rev(2, "k", Some("a"), Some(4), 2, 3);
    assert_eq!(check(t).verdict(), Verdict::Fail);

    // An unanswered write's revision is learnt from the read that sees it.
    let mut t = TestHistory::new();
    t.write_unknown(1, "k", "a", 0, 1);
    t.read_rev(2, "k", Some("a"), Some(4), 2, 3);
    t.cas(
        2,
        "k",
        CasExpect::ModRevision(4),
        "b",
        (4, 5),
        Some((true, Some(5))),
    );
    assert_eq!(check(t).verdict(), Verdict::Pass);
}

#[test]
fn keys_are_independent_registers() {
    let mut t = TestHistory::new();
    t.write(1, "a", "1", 0, 1, 1);
    t.read(2, "b", None, 2, 3);
    t.read(2, "a", Some("1"), 4, 5);
    let r = check(t);
    assert_eq!(r.verdict(), Verdict::Pass);
    assert_eq!(r.stats["keys"], 2);
}

#[test]
fn says_inconclusive_when_the_budget_runs_out() {
    // 20 concurrent acknowledged writes and a read of a value nobody wrote: refuting it means
    // trying every subset of the writes, far beyond a budget of 1,000 steps.
    let mut t = TestHistory::new();
    for c in 0..20 {
        t.write(c, "k", &format!("w{c}"), 0, 10, u64::from(c) + 1);
    }
    t.read(99, "k", Some("nobody"), 20, 30);
    let h = t.build();
    let tight = Linearizable {
        step_budget_per_key: 1_000,
        ..Linearizable::default()
    };
    let r = tight.check(&h);
    assert_eq!(r.verdict(), Verdict::Inconclusive, "{r:?}");
    assert!(r.ok && r.violations.is_empty());
    assert!(
        r.inconclusive[0].contains("budget of 1000 steps exhausted"),
        "{r:?}"
    );

    let few = Linearizable {
        max_ops_per_key: 5,
        ..Linearizable::default()
    };
    let r = few.check(&h);
    assert_eq!(r.verdict(), Verdict::Inconclusive);
    assert!(r.inconclusive[0].contains("exceed the limit of 5"), "{r:?}");
}

#[test]
fn flags_a_malformed_history() {
    let mut t = TestHistory::new();
    let id = t.write(1, "k", "a", 0, 1, 1);
    t.h.ops[id.0].kind = crate::history::OpKind::Read;
    let r = check(t);
    assert_eq!(r.verdict(), Verdict::Fail);
    assert!(r.violations[0].contains("malformed"), "{r:?}");
}

#[test]
fn decides_hundreds_of_concurrent_ops_on_one_key_quickly() {
    let mut rng = StdRng::seed_from_u64(7);
    let specs: Vec<Spec> = (0..600)
        .map(|_| Spec {
            kind: rng.random_range(0..4),
            key: 0,
            pre: rng.random_range(0..400),
            post: rng.random_range(0..400),
            // About 1 in 25 unanswered, half of them applied.
            fate: if rng.random_range(0..25) == 0 {
                rng.random_range(0..2)
            } else {
                3
            },
            pick: rng.random_range(0..4),
        })
        .collect();
    let history = simulate(&specs, 8);
    let started = std::time::Instant::now();
    let r = Linearizable::default().check(&history);
    assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");
    // A stale read after the last acknowledged write: the value of an acknowledged write that
    // completed before that one began. The search must exhaust the alternatives to refute it.
    let last = history
        .ops
        .iter()
        .rposition(|o| o.is_acknowledged_write())
        .expect("a write");
    let last_invoke = history.ops[last].invoke_ns;
    let stale = history
        .ops
        .iter()
        .rev()
        .find(|o| o.is_acknowledged_write() && o.complete_ns.is_some_and(|c| c < last_invoke))
        .and_then(|o| o.written_value())
        .expect("an earlier write")
        .to_string();
    let mut t = TestHistory { h: history };
    t.read(99, "k0", Some(&stale), 1, 2);
    let r = Linearizable::default().check(&t.build());
    assert_eq!(r.verdict(), Verdict::Fail, "{r:?}");
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}
