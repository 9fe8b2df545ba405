//! A flag every workload task checks between requests: the run is over.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

/// Cheap to clone; all clones see one flag.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
