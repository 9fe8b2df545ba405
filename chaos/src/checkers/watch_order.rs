//! Watch guarantees: every watcher gets the changes to what it watches in revision order, each
//! once, without gaps, and resumes after a reconnect exactly after the last revision it saw.

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckResult, Checker};
use crate::history::{format_ns, show_value, History, WatchEntry, WatchLog};

/// A committed change and where the checker learnt of it.
struct Committed {
    value: Option<String>,
    source: String,
}

/// Checks every [`WatchLog`] against the committed changes known from the whole history:
/// acknowledged writes whose revision is known, and events any watcher received. For each log:
/// every key is one it watches; revisions never decrease and no (revision, key) comes twice; no
/// event at or below a progress notification arrives later; a reconnect asks for exactly one
/// past the last revision seen; and no committed change it watches between the first
/// revision asked for (or first received) and the last revision seen is missing. Also checks that
/// everyone agrees on the value of each (revision, key).
#[derive(Clone, Copy, Debug, Default)]
pub struct WatchOrder;

impl Checker for WatchOrder {
    fn name(&self) -> &'static str {
        "watch-order"
    }

    fn check(&self, history: &History) -> CheckResult {
        let mut result = CheckResult::new(self.name());
        let committed = committed_changes(history, &mut result);
        let (mut events, mut reconnects) = (0u64, 0u64);
        for log in &history.watches {
            events += log.events().count() as u64;
            reconnects += log
                .entries
                .iter()
                .filter(|e| matches!(e, WatchEntry::Reconnect { .. }))
                .count() as u64;
            check_log(log, &committed, &mut result);
        }
        result.stat("watchers", history.watches.len() as u64);
        result.stat("events", events);
        result.stat("reconnects", reconnects);
        result.stat("committed_changes_known", committed.len() as u64);
        result
    }
}

/// Every (revision, key) known to be committed, with its value; disagreements are violations.
fn committed_changes(
    history: &History,
    result: &mut CheckResult,
) -> BTreeMap<(u64, String), Committed> {
    let mut committed: BTreeMap<(u64, String), Committed> = BTreeMap::new();
    let mut learn = |rev: u64, key: &str, value: Option<String>, source: String| match committed
        .get(&(rev, key.to_string()))
    {
        Some(known) if known.value != value => result.violation(format!(
            "revision {rev} of key {key:?} is {} according to {source} but {} according to {}",
            show_value(value.as_deref()),
            show_value(known.value.as_deref()),
            known.source
        )),
        Some(_) => {}
        None => {
            committed.insert((rev, key.to_string()), Committed { value, source });
        }
    };
    for (i, op) in history.ops.iter().enumerate() {
        if let (Some(rev), Some(value)) = (op.write_revision(), op.written_value()) {
            let source = op.describe(crate::history::OpId(i));
            learn(rev, &op.key, Some(value.to_string()), source);
        }
    }
    for log in &history.watches {
        for ev in log.events() {
            let source = format!(
                "{} (received at {})",
                watcher_name(log),
                format_ns(ev.at_ns)
            );
            learn(ev.revision, &ev.key, ev.value.clone(), source);
        }
    }
    committed
}

fn watcher_name(log: &WatchLog) -> String {
    format!(
        "watcher {} ({} {:?}, opened on replica {})",
        log.watcher,
        if log.prefix { "prefix" } else { "key" },
        log.key,
        log.replica
    )
}

fn check_log(
    log: &WatchLog,
    committed: &BTreeMap<(u64, String), Committed>,
    result: &mut CheckResult,
) {
    let name = watcher_name(log);
    let mut seen: BTreeSet<(u64, String)> = BTreeSet::new();
    // Highest event revision, highest revision covered (events and progress), and the revision
    // the current connection asked for.
    let (mut last_event, mut covered): (Option<u64>, Option<u64>) = (None, None);
    let mut asked = log.start_revision;
    let mut first_event: Option<u64> = None;
    for entry in &log.entries {
        match entry {
            WatchEntry::Event(ev) => {
                let at = format_ns(ev.at_ns);
                let (rev, key) = (ev.revision, &ev.key);
                first_event.get_or_insert(rev);
                if !log.covers(key) {
                    result.violation(format!(
                        "{name}: at {at} got rev {rev} of key {key:?}, which it does not watch"
                    ));
                }
                if !seen.insert((rev, key.clone())) {
                    result.violation(format!(
                        "{name}: at {at} got rev {rev} of key {key:?} a second time (duplicate)"
                    ));
                } else if let Some(last) = last_event.filter(|&l| rev < l) {
                    result.violation(format!(
                        "{name}: at {at} got rev {rev} of key {key:?} after rev {last} (out of order)"
                    ));
                } else if let Some(p) = covered.filter(|&c| rev <= c && last_event != Some(rev)) {
                    result.violation(format!(
                        "{name}: at {at} got rev {rev} of key {key:?} after being told every event \
                         up to rev {p} had been delivered (late event)"
                    ));
                }
                if asked > 0 && rev < asked {
                    result.violation(format!(
                        "{name}: at {at} got rev {rev} of key {key:?}, before the revision {asked} \
                         the stream asked for"
                    ));
                }
                last_event = last_event.max(Some(rev));
                covered = covered.max(Some(rev));
            }
            WatchEntry::Progress { revision, .. } => covered = covered.max(Some(*revision)),
            WatchEntry::Reconnect {
                at_ns,
                replica,
                start_revision,
            } => {
                let expected = covered.map(|c| c + 1).unwrap_or(log.start_revision);
                if expected > 0 && *start_revision != expected {
                    result.violation(format!(
                        "{name}: at {} reconnected to replica {replica} from rev {start_revision}, \
                         but the last revision seen was {} (must resume from rev {expected})",
                        format_ns(*at_ns),
                        covered.map_or("none".to_string(), |c| c.to_string()),
                    ));
                }
                asked = *start_revision;
            }
        }
    }
    // Gaps: committed changes it watches inside the window this watcher vouched for.
    let lo = if log.start_revision > 0 {
        Some(log.start_revision)
    } else {
        first_event
    };
    let (Some(lo), Some(hi)) = (lo, covered) else {
        return;
    };
    let received: BTreeSet<u64> = seen.iter().map(|(r, _)| *r).collect();
    for ((rev, key), change) in committed.range((lo, String::new())..) {
        if *rev > hi {
            break;
        }
        if !log.covers(key) || seen.contains(&(*rev, key.clone())) {
            continue;
        }
        let before = received.range(..*rev).next_back();
        let after = received.range(*rev + 1..).next();
        result.violation(format!(
            "{name}: missing rev {rev} of key {key:?} ({}, known from {}) — received revs {} and \
             {} around it, and vouched for everything from rev {lo} to {hi} (gap)",
            show_value(change.value.as_deref()),
            change.source,
            before.map_or("none".to_string(), |r| r.to_string()),
            after.map_or("none".to_string(), |r| r.to_string()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_history::TestHistory;
    use crate::checkers::Verdict;

    /// Acknowledged writes: /p/a at rev 1, /p/b at rev 2, /q/x at rev 3, /p/a at rev 4.
    fn writes() -> TestHistory {
        let mut t = TestHistory::new();
        t.write(1, "/p/a", "a1", 0, 1, 1);
        t.write(1, "/p/b", "b1", 2, 3, 2);
        t.write(2, "/q/x", "x1", 4, 5, 3);
        t.write(2, "/p/a", "a2", 6, 7, 4);
        t
    }

    fn log(events: &[(u64, &str, &str)]) -> WatchLog {
        let mut log = WatchLog::new(7, 2, "/p/", true, 1);
        for (i, (rev, key, value)) in events.iter().enumerate() {
            log.push_event(i as u64, *rev, *key, Some(value.to_string()));
        }
        log
    }

    fn check(t: TestHistory, logs: Vec<WatchLog>) -> CheckResult {
        let mut h = t.build();
        h.watches = logs;
        WatchOrder.check(&h)
    }

    #[test]
    fn passes_complete_ordered_logs_with_a_clean_resume() {
        let full = log(&[(1, "/p/a", "a1"), (2, "/p/b", "b1"), (4, "/p/a", "a2")]);
        let mut resumed = log(&[(1, "/p/a", "a1"), (2, "/p/b", "b1")]);
        resumed.push_progress(10, 3);
        resumed.push_reconnect(11, 3, resumed.resume_revision());
        resumed.push_event(12, 4, "/p/a", Some("a2".into()));
        // A transaction's keys share one revision.
        let mut txn = WatchLog::new(8, 1, "/t/", true, 10);
        txn.push_event(1, 10, "/t/a", None);
        txn.push_event(1, 10, "/t/b", Some("v".into()));
        let r = check(writes(), vec![full, resumed, txn]);
        assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");
        assert_eq!(r.stats["reconnects"], 1);
    }

    #[test]
    fn flags_a_gap_against_acknowledged_writes() {
        let r = check(writes(), vec![log(&[(1, "/p/a", "a1"), (4, "/p/a", "a2")])]);
        assert_eq!(r.verdict(), Verdict::Fail);
        let msg = &r.violations[0];
        assert!(
            msg.starts_with(
                "watcher 7 (prefix \"/p/\", opened on replica 2): missing rev 2 of key \"/p/b\""
            ),
            "{msg}"
        );
        assert!(msg.contains("received revs 1 and 4 around it"), "{msg}");
        assert!(msg.contains("op #1 (client 1"), "{msg}");
    }

    #[test]
    fn flags_a_gap_against_another_watcher() {
        let t = TestHistory::new();
        let mut other = WatchLog::new(9, 1, "/", true, 1);
        other.push_event(0, 1, "/p/a", Some("a".into()));
        other.push_event(0, 2, "/p/b", Some("b".into()));
        other.push_event(0, 3, "/p/c", Some("c".into()));
        let r = check(t, vec![other, log(&[(1, "/p/a", "a"), (3, "/p/c", "c")])]);
        assert_eq!(r.violation_count, 1, "{r:?}");
        assert!(
            r.violations[0].contains("missing rev 2 of key \"/p/b\""),
            "{r:?}"
        );
    }

    #[test]
    fn a_gap_before_a_progress_notification_counts() {
        let mut l = log(&[(1, "/p/a", "a1")]);
        l.push_progress(5, 2);
        let r = check(writes(), vec![l]);
        assert!(r.violations[0].contains("missing rev 2"), "{r:?}");
    }

    #[test]
    fn flags_duplicates_and_disorder() {
        let r = check(
            writes(),
            vec![log(&[
                (1, "/p/a", "a1"),
                (2, "/p/b", "b1"),
                (2, "/p/b", "b1"),
            ])],
        );
        assert!(
            r.violations[0].contains("a second time (duplicate)"),
            "{r:?}"
        );

        let r = check(writes(), vec![log(&[(2, "/p/b", "b1"), (1, "/p/a", "a1")])]);
        assert!(
            r.violations[0].contains("got rev 1 of key \"/p/a\" after rev 2 (out of order)"),
            "{r:?}"
        );

        let mut l = log(&[(1, "/p/a", "a1")]);
        l.push_progress(3, 2);
        l.push_event(4, 2, "/p/b", Some("b1".into()));
        let r = check(writes(), vec![l]);
        assert!(r.violations[0].contains("(late event)"), "{r:?}");
    }

    #[test]
    fn flags_a_resume_that_skips_or_repeats() {
        for start in [4, 2] {
            let mut l = log(&[(1, "/p/a", "a1"), (2, "/p/b", "b1")]);
            l.push_reconnect(10, 1, start);
            let r = check(writes(), vec![l]);
            assert!(
                r.violations[0].contains(&format!(
                    "from rev {start}, but the last revision seen was 2 (must resume from rev 3)"
                )),
                "{r:?}"
            );
        }
        // The server must not deliver events before the revision asked for.
        let mut l = log(&[(1, "/p/a", "a1")]);
        l.push_reconnect(10, 1, 2);
        l.push_event(11, 1, "/p/z", Some("z".into()));
        let r = check(TestHistory::new(), vec![l]);
        assert!(
            r.violations
                .iter()
                .any(|v| v.contains("before the revision 2 the stream asked for")),
            "{r:?}"
        );
    }

    #[test]
    fn flags_wrong_values_and_foreign_keys() {
        let r = check(writes(), vec![log(&[(1, "/p/a", "zz"), (2, "/p/b", "b1")])]);
        assert!(
            r.violations[0]
                .starts_with("revision 1 of key \"/p/a\" is \"zz\" according to watcher 7"),
            "{r:?}"
        );

        let r = check(writes(), vec![log(&[(1, "/p/a", "a1"), (3, "/q/x", "x1")])]);
        assert!(r.violations[0].contains("which it does not watch"), "{r:?}");
    }
}
