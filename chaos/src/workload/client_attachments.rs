//! Which replica each register client is attached to right now (the one its writes go to), so a
//! fault can hit exactly the replica a client talks to.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

/// Cheap to clone; all clones see one table.
#[derive(Clone, Debug, Default)]
pub struct ClientAttachments(Arc<Mutex<BTreeMap<u32, u64>>>);

impl ClientAttachments {
    pub fn new() -> Self {
        Self::default()
    }

    /// Client `client` now talks to `replica`.
    pub fn attach(&self, client: u32, replica: u64) {
        self.lock().insert(client, replica);
    }

    /// The replica client `client` talks to, if it has started.
    pub fn replica_of(&self, client: u32) -> Option<u64> {
        self.lock().get(&client).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, u64>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_attachment_wins_and_clones_share_it() {
        let table = ClientAttachments::new();
        let seen_by_fault = table.clone();
        assert_eq!(seen_by_fault.replica_of(0), None);
        table.attach(0, 2);
        table.attach(0, 3);
        table.attach(1, 1);
        assert_eq!(seen_by_fault.replica_of(0), Some(3));
        assert_eq!(seen_by_fault.replica_of(1), Some(1));
    }
}
