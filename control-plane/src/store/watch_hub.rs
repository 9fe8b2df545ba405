//! `WatchHub`: live fan-out of applied revisions to this replica's watchers.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::event::Event;

/// All events of one revision, as applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionEvents {
    pub revision: u64,
    pub events: Vec<Event>,
}

impl RevisionEvents {
    /// Groups the events returned by one [`Mvcc::apply`](super::Mvcc::apply); `None` when the
    /// command wrote nothing (then there is nothing to publish).
    pub fn from_applied(events: Vec<Event>) -> Option<Self> {
        let revision = events.first()?.revision();
        Some(RevisionEvents { revision, events })
    }
}

/// Broadcasts each applied revision to every subscribed [`Watcher`](super::Watcher). A slow
/// watcher does not hold the applier back: it lags, and recovers from the stored history.
#[derive(Clone, Debug)]
pub struct WatchHub {
    tx: Arc<broadcast::Sender<Arc<RevisionEvents>>>,
}

impl WatchHub {
    /// `capacity`: revisions buffered per subscriber before it lags (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        WatchHub { tx: Arc::new(tx) }
    }

    /// Publishes one revision. Call after its batch is durably written, in revision order.
    /// Revisions without events are not sent.
    pub fn publish(&self, rev: RevisionEvents) {
        if rev.events.is_empty() {
            return;
        }
        // An error only means nobody is subscribed right now.
        let _ = self.tx.send(Arc::new(rev));
    }

    /// A receiver of every revision published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<RevisionEvents>> {
        self.tx.subscribe()
    }

    /// How many receivers are subscribed (for metrics and tests).
    pub fn receiver_count(&self) -> usize {
        self.tx.receiver_count()
    }
}
