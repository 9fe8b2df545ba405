//! `WatchHub`: live fan-out of applied revisions to this replica's watchers.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::event::Event;
use super::watch_index::{RevisionIndex, WatchIndex};

/// All events of one revision, as applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionEvents {
    pub revision: u64,
    pub events: Vec<Event>,
    /// The hub index's values of `events`, computed by the first watcher that needs them.
    pub index: RevisionIndex,
}

impl RevisionEvents {
    pub fn new(revision: u64, events: Vec<Event>) -> Self {
        RevisionEvents {
            revision,
            events,
            index: RevisionIndex::new(),
        }
    }

    /// Groups the events returned by one [`Mvcc::apply`](super::Mvcc::apply); `None` when the
    /// command wrote nothing (then there is nothing to publish).
    pub fn from_applied(events: Vec<Event>) -> Option<Self> {
        let revision = events.first()?.revision();
        Some(RevisionEvents::new(revision, events))
    }
}

/// Broadcasts each applied revision to every subscribed [`Watcher`](super::Watcher). A slow
/// watcher does not hold the applier back: it lags, and recovers from the stored history.
#[derive(Clone, Debug)]
pub struct WatchHub {
    tx: Arc<broadcast::Sender<Arc<RevisionEvents>>>,
    index: Option<WatchIndex>,
}

impl WatchHub {
    /// `capacity`: revisions buffered per subscriber before it lags (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        WatchHub {
            tx: Arc::new(tx),
            index: None,
        }
    }

    /// The same hub with a secondary index that watchers may filter on.
    pub fn with_index(mut self, index: WatchIndex) -> Self {
        self.index = Some(index);
        self
    }

    /// The secondary index, if any.
    pub fn index(&self) -> Option<&WatchIndex> {
        self.index.as_ref()
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
