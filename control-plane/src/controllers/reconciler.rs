//! `Reconciler` and its runner: workers take keys from a [`WorkQueue`], reconcile them one at a
//! time per key, and requeue on error with back-off, on request after a delay, and all keys on
//! a periodic resync. Reconcilers are level-triggered: they read the current cached state for the
//! key and converge it, whatever events led there.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::registry::RegistryError;

use super::informer::ObjectRef;
use super::work_queue::WorkQueue;

/// What a successful reconcile asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Converged; come back when something changes.
    Done,
    /// Check again after this long (a deadline or a minReadySeconds to wait out).
    RequeueAfter(Duration),
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Other(String),
}

impl ReconcileError {
    /// This replica no longer leads the term the work runs in: stop, do not retry.
    pub fn is_fenced(&self) -> bool {
        matches!(self, ReconcileError::Registry(RegistryError::Fenced(_)))
    }
}

/// One controller's decision logic for one key.
pub trait Reconciler: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    fn reconcile(
        &self,
        key: &ObjectRef,
    ) -> impl Future<Output = Result<Action, ReconcileError>> + Send;

    /// Every key this controller is responsible for (for the start and periodic resyncs).
    fn all_keys(&self) -> Vec<ObjectRef>;
}

/// Runs `reconciler` with `workers` workers over `queue` until `token` is cancelled: queues every
/// key at once and again every `resync`.
pub async fn run_reconciler<R: Reconciler>(
    reconciler: Arc<R>,
    queue: WorkQueue<ObjectRef>,
    workers: usize,
    resync: Duration,
    token: CancellationToken,
) {
    let mut tasks = JoinSet::new();
    {
        let (reconciler, queue, token) = (reconciler.clone(), queue.clone(), token.clone());
        tasks.spawn(async move {
            let mut ticker = tokio::time::interval(resync);
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = ticker.tick() => {
                        for key in reconciler.all_keys() {
                            queue.add(key);
                        }
                    }
                }
            }
        });
    }
    for _ in 0..workers.max(1) {
        let (reconciler, queue, token) = (reconciler.clone(), queue.clone(), token.clone());
        tasks.spawn(async move { work(reconciler, queue, token).await });
    }
    token.cancelled().await;
    queue.shut_down();
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

async fn work<R: Reconciler>(
    reconciler: Arc<R>,
    queue: WorkQueue<ObjectRef>,
    token: CancellationToken,
) {
    loop {
        let key = tokio::select! {
            _ = token.cancelled() => return,
            key = queue.next() => match key {
                Some(key) => key,
                None => return,
            },
        };
        let result = reconciler.reconcile(&key).await;
        match result {
            Ok(Action::Done) => queue.forget(&key),
            Ok(Action::RequeueAfter(delay)) => {
                queue.forget(&key);
                queue.add_after(key.clone(), delay);
            }
            Err(e) if e.is_fenced() => {
                tracing::info!(controller = reconciler.name(), %key, error = %e, "deposed; stopping");
                queue.done(&key);
                return;
            }
            Err(e) => {
                tracing::debug!(controller = reconciler.name(), %key, error = %e, "reconcile failed; will retry");
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}
