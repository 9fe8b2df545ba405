//! Batching an owner's status changes into few Raft entries. Reports from every agent of the
//! partition feed one queue; a batch is sent to the leader (one transaction, one log entry) when
//! it holds `max_batch` objects or its first change has waited `max_delay`. A newer status for
//! the same object replaces the queued one, and a status identical to one written moments ago is
//! dropped (the replica's local view may not show it applied yet).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::registry::{BatchWrite, Registry};

/// How long a written status suppresses an identical one.
const RECENT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct StatusBatcher {
    tx: mpsc::UnboundedSender<(String, u64, BatchWrite)>,
}

impl StatusBatcher {
    /// Starts the batching task on `registry`.
    pub fn start(registry: Registry, max_delay: Duration, max_batch: usize) -> StatusBatcher {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(registry, rx, max_delay, max_batch.max(1)));
        StatusBatcher { tx }
    }

    /// Queues `write` for the object at `key` whose new status is `status`.
    pub fn submit(&self, key: String, status: &serde_json::Value, write: BatchWrite) {
        crate::metrics::global().node_status_queued.inc();
        let _ = self.tx.send((key, content_hash(status), write));
    }
}

fn content_hash(v: &serde_json::Value) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

async fn run(
    registry: Registry,
    mut rx: mpsc::UnboundedReceiver<(String, u64, BatchWrite)>,
    max_delay: Duration,
    max_batch: usize,
) {
    let mut recent: HashMap<String, (u64, Instant)> = HashMap::new();
    while let Some(first) = rx.recv().await {
        let deadline = Instant::now() + max_delay;
        let mut batch: HashMap<String, (u64, BatchWrite)> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut next = Some(first);
        while let Some((key, hash, write)) = next.take() {
            let fresh = !recent
                .get(&key)
                .is_some_and(|(h, at)| *h == hash && at.elapsed() < RECENT);
            if fresh && batch.insert(key.clone(), (hash, write)).is_none() {
                order.push(key);
            }
            if order.len() >= max_batch {
                break;
            }
            if let Ok(Some(item)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                next = Some(item);
            }
        }
        if order.is_empty() {
            continue;
        }
        let writes: Vec<BatchWrite> = order
            .iter()
            .filter_map(|k| batch.get(k).map(|(_, w)| w.clone()))
            .collect();
        let mut written: Vec<&String> = Vec::new();
        match registry.batch(&writes, false).await {
            Ok(_) => written.extend(order.iter()),
            // An object went away or changed meanwhile: write the others one by one. What fails
            // here is written again from the agent's next report.
            Err(e) => {
                tracing::debug!(error = %e, objects = writes.len(), "status batch refused; writing one by one");
                for (key, w) in order.iter().zip(&writes) {
                    if registry.batch(std::slice::from_ref(w), false).await.is_ok() {
                        written.push(key);
                    }
                }
            }
        }
        let metrics = crate::metrics::global();
        metrics.node_status_batch_size.observe(writes.len() as f64);
        metrics.node_status_forwarded.inc_by(written.len() as u64);
        tracing::trace!(
            objects = writes.len(),
            written = written.len(),
            "status batch"
        );
        let now = Instant::now();
        recent.retain(|_, (_, at)| at.elapsed() < RECENT);
        for key in written {
            if let Some((hash, _)) = batch.get(key) {
                recent.insert(key.clone(), (*hash, now));
            }
        }
    }
}
