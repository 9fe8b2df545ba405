//! One register client: a closed loop of reads, writes and compare-and-swaps on a small key set,
//! one request at a time, moving to another replica after an error.

use std::{collections::HashMap, sync::Arc, time::Duration};

use rand::{rngs::StdRng, Rng, SeedableRng};
use tokio::time::Instant;

use super::{cas, read, write, ClientAttachments, StopFlag, StoreTarget};
use crate::history::{HistoryRecorder, Outcome, Reply};

/// Pause after an error before the next request (on the next replica).
const ERROR_BACKOFF: Duration = Duration::from_millis(20);

/// How one client behaves.
#[derive(Clone, Debug)]
pub struct RegisterClientConfig {
    pub client_id: u32,
    /// The keys it works on (shared with the other clients).
    pub keys: Vec<String>,
    /// One target per replica; the client starts on `client_id % len`.
    pub targets: Vec<StoreTarget>,
    /// A request without an answer by then is recorded as unknown.
    pub op_timeout: Duration,
    /// Pause between two requests.
    pub think: Duration,
    /// Percent of reads and of blind writes; the rest are compare-and-swaps.
    pub read_percent: u32,
    pub write_percent: u32,
    pub seed: u64,
    /// Send each read to a seeded random replica (as a load-balanced client would) instead of the
    /// attached one; writes still go to the attached replica.
    pub reads_anywhere: bool,
    /// Where the client publishes the replica it is attached to.
    pub attachments: ClientAttachments,
    /// Hard bounds on the loop.
    pub max_ops: u64,
    pub deadline: Instant,
}

/// Runs the client until `stop` is set, the deadline passes or `max_ops` were sent; returns the
/// number of operations sent.
pub async fn run_register_client(
    cfg: RegisterClientConfig,
    rec: Arc<HistoryRecorder>,
    stop: StopFlag,
) -> u64 {
    if cfg.targets.is_empty() || cfg.keys.is_empty() {
        return 0;
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut targets = cfg.targets.clone();
    let mut at = cfg.client_id as usize % targets.len();
    // The last value this client saw in each key: what its compare-and-swaps expect.
    let mut seen: HashMap<String, Option<String>> = HashMap::new();
    let mut sent = 0u64;
    while !stop.is_stopped() && Instant::now() < cfg.deadline && sent < cfg.max_ops {
        cfg.attachments.attach(cfg.client_id, targets[at].replica);
        let key = cfg.keys[rng.random_range(0..cfg.keys.len())].clone();
        let value = format!("c{}-{}", cfg.client_id, sent);
        let dice = rng.random_range(0..100u32);
        let target = &mut targets[at];
        let t = cfg.op_timeout;
        // A read sent elsewhere says nothing about the attached replica.
        let read_elsewhere = cfg.reads_anywhere && dice < cfg.read_percent;
        let outcome = if dice < cfg.read_percent {
            let o = if cfg.reads_anywhere {
                let anywhere = rng.random_range(0..cfg.targets.len());
                let mut target = cfg.targets[anywhere].clone();
                read(&rec, cfg.client_id, &mut target, &key, t).await
            } else {
                read(&rec, cfg.client_id, target, &key, t).await
            };
            if let Outcome::Ok(Reply::Read { value, .. }) = &o {
                seen.insert(key.clone(), value.clone());
            }
            o
        } else if dice < cfg.read_percent + cfg.write_percent {
            let o = write(&rec, cfg.client_id, target, &key, &value, t).await;
            if matches!(o, Outcome::Ok(_)) {
                seen.insert(key.clone(), Some(value.clone()));
            }
            o
        } else {
            let expected = seen.get(&key).cloned().flatten();
            let o = cas(
                &rec,
                cfg.client_id,
                target,
                &key,
                expected.as_deref(),
                &value,
                t,
            )
            .await;
            if let Outcome::Ok(Reply::Cas { succeeded, .. }) = &o {
                if *succeeded {
                    seen.insert(key.clone(), Some(value.clone()));
                } else {
                    seen.remove(&key);
                }
            }
            o
        };
        sent += 1;
        match outcome {
            Outcome::Ok(_) => tokio::time::sleep(cfg.think).await,
            Outcome::Fail | Outcome::Unknown if read_elsewhere => {
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
            Outcome::Fail | Outcome::Unknown => {
                at = (at + 1) % targets.len();
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
    sent
}
