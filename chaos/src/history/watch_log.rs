//! Everything one watcher received, in the order it received it.

use serde::{Deserialize, Serialize};

/// One watcher's log: the key or prefix it watched, the revision it first asked for, and what it
/// received. After a forced disconnect the watcher resumes on the same log
/// (a [`WatchEntry::Reconnect`]); after the server refuses to resume (history compacted) it starts
/// a new log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchLog {
    pub watcher: u32,
    /// The replica the watch was first opened on.
    pub replica: u64,
    pub key: String,
    /// Whether `key` is a prefix (every key starting with it) or one exact key.
    pub prefix: bool,
    /// The first revision asked for (0: changes after the current revision).
    pub start_revision: u64,
    pub entries: Vec<WatchEntry>,
}

/// One thing a watcher received or did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum WatchEntry {
    Event(WatchEvent),
    /// An empty response carrying the current revision: every event up to `revision` has been
    /// delivered.
    Progress {
        at_ns: u64,
        revision: u64,
    },
    /// The stream broke and the watcher reopened it on `replica` from `start_revision`.
    Reconnect {
        at_ns: u64,
        replica: u64,
        start_revision: u64,
    },
}

/// A change to one key at one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchEvent {
    pub at_ns: u64,
    pub revision: u64,
    pub key: String,
    /// `None`: the key was deleted.
    pub value: Option<String>,
}

impl WatchLog {
    pub fn new(
        watcher: u32,
        replica: u64,
        key: impl Into<String>,
        prefix: bool,
        start_revision: u64,
    ) -> Self {
        WatchLog {
            watcher,
            replica,
            key: key.into(),
            prefix,
            start_revision,
            entries: Vec::new(),
        }
    }

    pub fn push_event(
        &mut self,
        at_ns: u64,
        revision: u64,
        key: impl Into<String>,
        value: Option<String>,
    ) {
        self.entries.push(WatchEntry::Event(WatchEvent {
            at_ns,
            revision,
            key: key.into(),
            value,
        }));
    }

    pub fn push_progress(&mut self, at_ns: u64, revision: u64) {
        self.entries.push(WatchEntry::Progress { at_ns, revision });
    }

    pub fn push_reconnect(&mut self, at_ns: u64, replica: u64, start_revision: u64) {
        self.entries.push(WatchEntry::Reconnect {
            at_ns,
            replica,
            start_revision,
        });
    }

    /// Whether this watch covers `key`.
    pub fn covers(&self, key: &str) -> bool {
        if self.prefix {
            key.starts_with(&self.key)
        } else {
            key == self.key
        }
    }

    /// The revision to resume from after a disconnect: one past the last event or progress
    /// revision received, or the first revision asked for.
    pub fn resume_revision(&self) -> u64 {
        self.last_revision()
            .map(|r| r + 1)
            .unwrap_or(self.start_revision)
    }

    /// The highest revision received in an event or a progress notification.
    pub fn last_revision(&self) -> Option<u64> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                WatchEntry::Event(ev) => Some(ev.revision),
                WatchEntry::Progress { revision, .. } => Some(*revision),
                WatchEntry::Reconnect { .. } => None,
            })
            .max()
    }

    /// The events, in the order received.
    pub fn events(&self) -> impl Iterator<Item = &WatchEvent> {
        self.entries.iter().filter_map(|e| match e {
            WatchEntry::Event(ev) => Some(ev),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_after_the_last_revision_seen() {
        let mut log = WatchLog::new(1, 1, "/k/", true, 5);
        assert_eq!(log.resume_revision(), 5);
        log.push_event(10, 7, "/k/a", Some("x".into()));
        log.push_progress(20, 9);
        assert_eq!(log.resume_revision(), 10);
        log.push_reconnect(30, 2, 10);
        assert_eq!(log.resume_revision(), 10);
        assert_eq!(log.events().count(), 1);
        assert!(log.covers("/k/a") && !log.covers("/j"));
        let one = WatchLog::new(1, 1, "k", false, 0);
        assert!(one.covers("k") && !one.covers("k2"));
    }
}
