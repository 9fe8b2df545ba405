//! `WatchIndex`: one secondary value extracted from the stored values under a key prefix (for
//! Keel: a Pod's `spec.nodeName`), so that a watcher interested in one value of it skips
//! unrelated events without decoding them — the Kubernetes watch cache's "indexed triggers".
//!
//! With thousands of agents each watching the pods bound to its node, every pod write would
//! otherwise be decoded by every agent's watch. The value of each event (before and after) is
//! extracted at most once per replica, cached in the published revision and shared by all
//! watchers; a watch replaying history extracts it itself.

use std::sync::{Arc, OnceLock};

use super::event::Event;

/// Extracts the indexed value from a stored value; `None` when it has none.
pub type IndexExtractor = Arc<dyn Fn(&[u8]) -> Option<String> + Send + Sync>;

/// Which keys are indexed and how their value is extracted.
#[derive(Clone)]
pub struct WatchIndex {
    prefix: Vec<u8>,
    extract: IndexExtractor,
}

impl std::fmt::Debug for WatchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchIndex")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .finish()
    }
}

/// The indexed values of one event: before and after the change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexedValues {
    pub prev: Option<String>,
    pub new: Option<String>,
}

impl IndexedValues {
    /// Whether either side holds `value`.
    pub fn touches(&self, value: &str) -> bool {
        self.prev.as_deref() == Some(value) || self.new.as_deref() == Some(value)
    }
}

/// The indexed values of every event of one published revision, computed on first use.
pub type RevisionIndex = OnceLock<Vec<Option<IndexedValues>>>;

impl WatchIndex {
    pub fn new(prefix: impl Into<Vec<u8>>, extract: IndexExtractor) -> Self {
        WatchIndex {
            prefix: prefix.into(),
            extract,
        }
    }

    /// The values of `event`, or `None` when its key is not indexed.
    pub fn values_of(&self, event: &Event) -> Option<IndexedValues> {
        if !event.kv.key.starts_with(&self.prefix) {
            return None;
        }
        let value = |v: &[u8]| (!v.is_empty()).then(|| (self.extract)(v)).flatten();
        Some(IndexedValues {
            prev: event.prev_kv.as_ref().and_then(|kv| value(&kv.value)),
            new: value(&event.kv.value),
        })
    }

    /// The values of every event in `events`, through `cache` (shared by every watcher of the
    /// revision).
    pub fn values_of_all<'a>(
        &self,
        cache: &'a RevisionIndex,
        events: &[Event],
    ) -> &'a [Option<IndexedValues>] {
        cache.get_or_init(|| events.iter().map(|e| self.values_of(e)).collect())
    }
}

/// A watcher's interest in one value of the hub's index: indexed events pass only when their
/// value before or after is `value`; keys outside the index pass.
#[derive(Clone, Debug)]
pub struct IndexFilter {
    pub index: WatchIndex,
    pub value: String,
}

impl IndexFilter {
    /// Whether `event` (with its values, when already known) may concern this watcher.
    pub fn admits(&self, event: &Event, known: Option<&Option<IndexedValues>>) -> bool {
        match known {
            Some(Some(values)) => values.touches(&self.value),
            Some(None) => true,
            None => self
                .index
                .values_of(event)
                .is_none_or(|values| values.touches(&self.value)),
        }
    }
}
