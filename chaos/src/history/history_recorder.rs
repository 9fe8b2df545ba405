//! The thread-safe recorder that workload clients, watchers and samplers write into while a run
//! goes on.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::{FinalRead, History, LeaderSample, Op, OpId, OpKind, Outcome, StateSample, WatchLog};

/// Records a [`History`] as it happens. Cheap to share (`Arc<HistoryRecorder>`); every method takes
/// `&self`. Times come from one monotonic clock that starts at `start`.
///
/// A client calls [`invoke`](Self::invoke) right before sending a request and
/// [`complete`](Self::complete) right after the answer (or the timeout). An operation never
/// completed stays [`Outcome::Unknown`].
#[derive(Debug)]
pub struct HistoryRecorder {
    start: Instant,
    history: Mutex<History>,
}

impl Default for HistoryRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl HistoryRecorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Self::with_start(Instant::now())
    }

    /// A recorder whose clock starts at `start` (e.g. shared with a fault timeline).
    pub fn with_start(start: Instant) -> Self {
        HistoryRecorder {
            start,
            history: Mutex::new(History::default()),
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// Nanoseconds since `start` on the monotonic clock.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records that `client` is about to send `kind` on `key`; returns the id to complete.
    pub fn invoke(&self, client: u32, key: impl Into<String>, kind: OpKind) -> OpId {
        let key = key.into();
        let mut h = self.lock();
        // Read the clock under the lock so that ids are in invocation order.
        let invoke_ns = self.now_ns();
        h.ops.push(Op {
            client,
            key,
            kind,
            invoke_ns,
            complete_ns: None,
            outcome: Outcome::Unknown,
        });
        OpId(h.ops.len() - 1)
    }

    /// Records how operation `id` ended, now. Returns false (and records nothing) when `id` was
    /// not handed out by this recorder or was already completed.
    pub fn complete(&self, id: OpId, outcome: Outcome) -> bool {
        let complete_ns = self.now_ns();
        let mut h = self.lock();
        match h.ops.get_mut(id.0) {
            Some(op) if op.complete_ns.is_none() => {
                op.complete_ns = Some(complete_ns);
                op.outcome = outcome;
                true
            }
            _ => false,
        }
    }

    /// Adds a watcher's log (watchers keep their own [`WatchLog`] and hand it over at the end).
    pub fn add_watch_log(&self, log: WatchLog) {
        self.lock().watches.push(log);
    }

    pub fn record_leader_sample(&self, sample: LeaderSample) {
        self.lock().cluster.leader_samples.push(sample);
    }

    pub fn record_state_sample(&self, sample: StateSample) {
        self.lock().cluster.state_samples.push(sample);
    }

    /// Sets the replica ids of the cell (the ones expected at the final check).
    pub fn set_replicas(&self, replicas: Vec<u64>) {
        self.lock().cluster.replicas = replicas;
    }

    /// Records that replica `replica` was stopped and its data removed, now.
    pub fn record_wipe(&self, replica: u64) {
        let at_ns = self.now_ns();
        self.lock()
            .cluster
            .wipes
            .push(super::DataWipe { replica, at_ns });
    }

    /// Records that the last fault was healed, now.
    pub fn mark_healed(&self) {
        let now = self.now_ns();
        self.lock().cluster.healed_ns = Some(now);
    }

    /// Records one replica's sample at the final check (replacing an earlier one of the same
    /// replica, so a runner may retry the check until the replicas agree).
    pub fn record_final_state(&self, sample: StateSample) {
        let mut h = self.lock();
        h.cluster
            .final_states
            .retain(|s| s.replica != sample.replica);
        h.cluster.final_states.push(sample);
    }

    /// Records the linearizable read of `key` made after healing, now.
    pub fn record_final_read(
        &self,
        key: impl Into<String>,
        value: Option<String>,
        mod_revision: Option<u64>,
    ) {
        let read = FinalRead {
            key: key.into(),
            value,
            mod_revision,
            at_ns: self.now_ns(),
        };
        self.lock().final_reads.push(read);
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> History {
        self.lock().clone()
    }

    /// The recorded history (pending operations stay [`Outcome::Unknown`]).
    pub fn into_history(self) -> History {
        self.history
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // A panicking client thread must not hide the history of the others.
    fn lock(&self) -> MutexGuard<'_, History> {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::history::Reply;

    #[test]
    fn records_concurrent_clients() {
        let rec = Arc::new(HistoryRecorder::new());
        let threads: Vec<_> = (0..4u32)
            .map(|c| {
                let rec = Arc::clone(&rec);
                std::thread::spawn(move || {
                    for i in 0..50u64 {
                        let value = format!("c{c}-{i}");
                        let id = rec.invoke(c, "k", OpKind::Write { value });
                        assert!(rec.complete(id, Outcome::Ok(Reply::Written { revision: i })));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("client thread");
        }
        let h = Arc::try_unwrap(rec).expect("sole owner").into_history();
        assert_eq!(h.ops.len(), 200);
        assert!(h.ops.windows(2).all(|w| w[0].invoke_ns <= w[1].invoke_ns));
        assert!(h
            .ops
            .iter()
            .all(|o| o.complete_ns.is_some_and(|c| c >= o.invoke_ns)));
    }

    #[test]
    fn pending_ops_stay_unknown_and_complete_once() {
        let rec = HistoryRecorder::new();
        let a = rec.invoke(1, "k", OpKind::Read);
        let b = rec.invoke(2, "k", OpKind::Read);
        let read = Reply::Read {
            value: None,
            mod_revision: Some(0),
        };
        assert!(rec.complete(a, Outcome::Ok(read.clone())));
        assert!(!rec.complete(a, Outcome::Fail));
        assert!(!rec.complete(OpId(9), Outcome::Fail));
        let h = rec.snapshot();
        assert_eq!(h.ops[0].outcome, Outcome::Ok(read));
        assert_eq!(h.ops[b.0].outcome, Outcome::Unknown);
        assert_eq!(h.ops[b.0].complete_ns, None);
    }

    #[test]
    fn final_states_keep_the_latest_per_replica_and_history_round_trips() {
        let rec = HistoryRecorder::new();
        rec.set_replicas(vec![1, 2]);
        let s = |replica, revision| StateSample {
            replica,
            invoke_ns: 0,
            complete_ns: 1,
            revision,
            state_hash: format!("h{revision}"),
        };
        rec.record_final_state(s(1, 5));
        rec.record_final_state(s(1, 6));
        rec.record_final_state(s(2, 6));
        rec.mark_healed();
        rec.record_final_read("k", Some("v".into()), Some(6));
        let h = rec.into_history();
        assert_eq!(h.cluster.final_states, vec![s(1, 6), s(2, 6)]);
        let json = h.to_json().expect("serialise");
        assert_eq!(History::from_json(&json).expect("parse"), h);
    }
}
