//! Watch guarantees: every watcher gets the changes under its prefix in revision order, each
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
/// keys are under the prefix; revisions never decrease and no (revision, key) comes twice; no
/// event at or below a progress notification arrives later; a reconnect asks for exactly one
/// past the last revision seen; and no committed change under the prefix between the first
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
    let mut learn = |rev: u64, key: &str, value: Option<String>, source: String| {
        match committed.get(&(rev, key.to_string())) {
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
            let source = format!("{} (received at {})", watcher_name(log), format_ns(ev.at_ns));
            learn(ev.revision, &ev.key, ev.value.clone(), source);
        }
    }
    committed
}

fn watcher_name(log: &WatchLog) -> String {
    format!(
        "watcher {} (prefix {:?}, opened on replica {})",
        log.watcher, log.prefix, log.replica
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
                if !key.starts_with(&log.prefix) {
                    result.violation(format!(
                        "{name}: at {at} got rev {rev} of key {key:?}, outside the watched prefix"
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
    // Gaps: committed changes under the prefix inside the window this watcher vouched for.
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
        if !key.starts_with(&log.prefix) || seen.contains(&(*rev, key.clone())) {
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
