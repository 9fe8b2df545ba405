//! The closed-loop store workload: C workers, each with one request in flight, writing random
//! keys (and reading a fraction of them linearizably) for a warm-up and then a measured window.

use std::time::Duration;

use rand::{rngs::SmallRng, Rng, RngCore, SeedableRng};
use serde::Serialize;
use tokio::time::Instant;

use super::{
    kv_backend::{KvBackend, KvClient},
    latency::{new_histogram, record, round3, LatencySummary},
};

/// Most requests one worker makes in one run: a guard, far above what a run can reach.
const MAX_OPS_PER_WORKER: u64 = 50_000_000;
/// Pause after a failed request, so a failing system is not hammered in a tight loop.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// One run's parameters.
#[derive(Clone, Debug)]
pub struct StoreWorkload {
    /// Concurrent workers (closed loop: one request in flight each).
    pub clients: usize,
    /// Bytes per value (random, incompressible).
    pub value_size: usize,
    /// Keys are `bench/00000000` .. `bench/<keys-1>`, chosen uniformly.
    pub keys: u64,
    /// Fraction of requests that are linearizable reads (0.0 ..= 1.0).
    pub read_fraction: f64,
    /// Requests before the window are not counted.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// One request's time limit (a timeout counts as an error).
    pub request_timeout: Duration,
    /// Seed of the workers' key and operation choices (worker i uses seed + i).
    pub seed: u64,
}

/// What one (backend, clients) run measured; printed as one JSON line.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadResult {
    pub backend: String,
    pub clients: usize,
    pub value_size: usize,
    pub read_fraction: f64,
    pub duration_s: f64,
    /// Requests acknowledged within the window (started after the warm-up, done before the end).
    pub ops: u64,
    pub reads: u64,
    pub writes: u64,
    /// Requests that failed or timed out within the window.
    pub errors: u64,
    pub throughput_ops_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

struct WorkerTally {
    hist: hdrhistogram::Histogram<u64>,
    reads: u64,
    writes: u64,
    errors: u64,
}

impl StoreWorkload {
    /// Runs the workload against `backend` and returns its measurements.
    pub async fn run<B: KvBackend>(&self, backend: &B) -> anyhow::Result<WorkloadResult> {
        anyhow::ensure!(self.clients > 0, "clients must be positive");
        anyhow::ensure!(self.keys > 0, "keys must be positive");
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.read_fraction),
            "read fraction must be in 0..=1"
        );
        let start = Instant::now();
        let window_start = start + self.warmup;
        let window_end = window_start + self.duration;
        let mut workers = tokio::task::JoinSet::new();
        for i in 0..self.clients {
            let client = backend.client(i);
            let params = self.clone();
            workers.spawn(worker(client, params, i, window_start, window_end));
        }
        let mut hist = new_histogram();
        let (mut reads, mut writes, mut errors) = (0, 0, 0);
        while let Some(joined) = workers.join_next().await {
            let tally = joined?;
            hist.add(&tally.hist)?;
            reads += tally.reads;
            writes += tally.writes;
            errors += tally.errors;
        }
        let lat = LatencySummary::from_histogram(&hist);
        let secs = self.duration.as_secs_f64();
        let ops = reads + writes;
        Ok(WorkloadResult {
            backend: backend.name().to_string(),
            clients: self.clients,
            value_size: self.value_size,
            read_fraction: self.read_fraction,
            duration_s: secs,
            ops,
            reads,
            writes,
            errors,
            throughput_ops_s: round3(ops as f64 / secs),
            p50_ms: lat.p50_ms,
            p99_ms: lat.p99_ms,
            p999_ms: lat.p999_ms,
            max_ms: lat.max_ms,
        })
    }
}

/// The benchmark key with index `i`.
pub fn key_name(i: u64) -> Vec<u8> {
    format!("bench/{i:08}").into_bytes()
}

async fn worker<C: KvClient>(
    mut client: C,
    p: StoreWorkload,
    index: usize,
    window_start: Instant,
    window_end: Instant,
) -> WorkerTally {
    let mut rng = SmallRng::seed_from_u64(p.seed.wrapping_add(index as u64));
    let mut value = vec![0u8; p.value_size];
    rng.fill_bytes(&mut value);
    let mut tally = WorkerTally {
        hist: new_histogram(),
        reads: 0,
        writes: 0,
        errors: 0,
    };
    for _ in 0..MAX_OPS_PER_WORKER {
        let began = Instant::now();
        if began >= window_end {
            break;
        }
        let key = key_name(rng.random_range(0..p.keys));
        let is_read = p.read_fraction > 0.0 && rng.random_bool(p.read_fraction);
        let outcome = if is_read {
            tokio::time::timeout(p.request_timeout, client.get(key)).await
        } else {
            tokio::time::timeout(p.request_timeout, client.put(key, value.clone())).await
        };
        let done = Instant::now();
        let counted = began >= window_start && done <= window_end;
        match outcome {
            Ok(Ok(())) => {
                if counted {
                    record(&mut tally.hist, done - began);
                    if is_read {
                        tally.reads += 1;
                    } else {
                        tally.writes += 1;
                    }
                }
            }
            Ok(Err(_)) | Err(_) => {
                if counted {
                    tally.errors += 1;
                }
                let left = window_end.saturating_duration_since(Instant::now());
                tokio::time::sleep(ERROR_PAUSE.min(left)).await;
            }
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::kv_backend::KvBackend;
    use std::sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    };

    /// A backend whose requests take ~1 ms and every 10th put fails.
    struct Fake(Arc<AtomicU64>);
    struct FakeClient(Arc<AtomicU64>);

    impl KvBackend for Fake {
        type Client = FakeClient;
        fn name(&self) -> &'static str {
            "fake"
        }
        fn client(&self, _: usize) -> FakeClient {
            FakeClient(self.0.clone())
        }
    }

    impl KvClient for FakeClient {
        async fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> anyhow::Result<()> {
            assert!(key.starts_with(b"bench/"));
            assert_eq!(value.len(), 16);
            tokio::time::sleep(Duration::from_millis(1)).await;
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            anyhow::ensure!(n % 10 != 9, "injected");
            Ok(())
        }
        async fn get(&mut self, _: Vec<u8>) -> anyhow::Result<()> {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(())
        }
    }

    #[tokio::test]
    async fn counts_ops_errors_and_latency() {
        let w = StoreWorkload {
            clients: 4,
            value_size: 16,
            keys: 100,
            read_fraction: 0.5,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(300),
            request_timeout: Duration::from_secs(1),
            seed: 7,
        };
        let r = w.run(&Fake(Arc::new(AtomicU64::new(0)))).await.unwrap();
        assert_eq!(r.backend, "fake");
        assert!(r.ops > 50, "{r:?}");
        assert!(r.reads > 0 && r.writes > 0, "{r:?}");
        assert!(r.errors > 0, "{r:?}");
        assert!(r.p50_ms >= 1.0 && r.p50_ms < 100.0, "{r:?}");
        assert!(r.max_ms >= r.p99_ms && r.p99_ms >= r.p50_ms, "{r:?}");
    }

    #[test]
    fn keys_are_fixed_width() {
        assert_eq!(key_name(42), b"bench/00000042");
    }
}
