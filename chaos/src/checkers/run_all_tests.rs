//! `run_all` on whole histories: a clean run passes every checker; a run with one anomaly of each
//! kind fails exactly the checker that owns it.

use super::test_history::TestHistory;
use super::{run_all, summary_table, Verdict};
use crate::history::{History, WatchLog};

fn clean() -> TestHistory {
    let mut t = TestHistory::new();
    t.h.cluster.replicas = vec![1, 2];
    t.h.cluster.healed_ns = Some(50_000_000);
    t.write(1, "k", "a", 0, 10, 1);
    t.read_rev(2, "k", Some("a"), Some(1), 11, 12);
    t.leader(1, (0, 1), 2, Some(1));
    t.leader(2, (0, 1), 2, Some(1));
    t.state(1, (0, 1), 0, "h0");
    t.final_state(1, (60, 61), 1, "h1");
    t.final_state(2, (60, 61), 1, "h1");
    t.final_read("k", Some("a"), Some(1), 70);
    let mut w = WatchLog::new(1, 2, "k", false, 1);
    w.push_event(5_000_000, 1, "k", Some("a".into()));
    t.h.watches.push(w);
    t
}

fn verdicts(h: &History) -> Vec<(String, Verdict)> {
    run_all(h)
        .into_iter()
        .map(|r| (r.name.clone(), r.verdict()))
        .collect()
}

#[test]
fn a_clean_history_passes_everything() {
    let results = run_all(&clean().build());
    assert_eq!(results.len(), 6);
    for r in &results {
        assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");
    }
    let table = summary_table(&results, 5);
    for name in [
        "linearizable",
        "no-lost-writes",
        "watch-order",
        "monotonic",
        "single-leader",
        "convergence",
    ] {
        assert!(table.contains(name), "{table}");
    }
}

#[test]
fn each_anomaly_fails_its_own_checker() {
    let mut t = clean();
    t.leader(2, (5, 6), 2, Some(2));
    let failed: Vec<_> = verdicts(&t.build())
        .into_iter()
        .filter(|(_, v)| *v == Verdict::Fail)
        .collect();
    assert_eq!(failed, vec![("single-leader".to_string(), Verdict::Fail)]);

    let mut t = clean();
    t.h.cluster.final_states[1].state_hash = "other".into();
    let failed: Vec<_> = verdicts(&t.build())
        .into_iter()
        .filter(|(_, v)| *v == Verdict::Fail)
        .collect();
    assert_eq!(failed, vec![("convergence".to_string(), Verdict::Fail)]);
}
