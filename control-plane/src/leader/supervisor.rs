//! `run_supervisor`: starts the brain for each term this replica leads and stops it at once
//! when the term ends here.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::nodes::NodeLiveness;
use crate::registry::Registry;

use super::brain::{self, BrainConfig};

/// How often leadership is checked (a metrics read, no IO).
const CHECK_EVERY: Duration = Duration::from_millis(10);
/// Pause between failed barrier attempts.
const BARRIER_RETRY: Duration = Duration::from_millis(20);

struct Running {
    term: u64,
    token: CancellationToken,
    handle: JoinHandle<()>,
}

/// Runs until the process exits.
pub async fn run_supervisor(registry: Registry, config: BrainConfig, liveness: NodeLiveness) {
    let mut ticker = tokio::time::interval(CHECK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut running: Option<Running> = None;
    loop {
        ticker.tick().await;
        let proposer = registry.proposer();
        let leading = proposer.is_leader().then(|| proposer.term());
        if running.as_ref().map(|r| r.term) == leading {
            continue;
        }
        if let Some(r) = running.take() {
            r.token.cancel();
            r.handle.abort();
            let _ = r.handle.await;
            tracing::info!(term = r.term, "leader work stopped");
        }
        if let Some(term) = leading {
            let token = CancellationToken::new();
            let handle = tokio::spawn(lead(
                registry.clone(),
                term,
                token.clone(),
                config.clone(),
                liveness.clone(),
            ));
            running = Some(Running {
                term,
                token,
                handle,
            });
        }
    }
}

/// Leads term `term`: barrier, then the brain until `token` is cancelled.
async fn lead(
    registry: Registry,
    term: u64,
    token: CancellationToken,
    config: BrainConfig,
    liveness: NodeLiveness,
) {
    let noticed = Instant::now();
    loop {
        if token.is_cancelled() {
            return;
        }
        match registry.proposer().read_barrier().await {
            Ok(_) => break,
            Err(e) => {
                tracing::debug!(term, error = %e, "leader barrier failed; retrying");
                tokio::time::sleep(BARRIER_RETRY).await;
            }
        }
    }
    tracing::info!(
        term,
        barrier_ms = noticed.elapsed().as_secs_f64() * 1000.0,
        "leader barrier passed; starting the scheduler and controllers"
    );
    while !token.is_cancelled() {
        if let Err(e) = brain::run(
            registry.clone(),
            term,
            token.clone(),
            config.clone(),
            liveness.clone(),
        )
        .await
        {
            tracing::warn!(term, error = %e, "leader work failed to start; retrying");
            tokio::time::sleep(BARRIER_RETRY * 10).await;
        }
    }
}
