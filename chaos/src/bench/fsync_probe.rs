//! One fdatasync on this disk: the floor under any fsync'd commit, measured where the data lives
//! so that "single-client commit latency ≤ 1.5× one fdatasync" can be judged.
//!
//! Measured twice: with the machine otherwise idle, and with one thread spinning. On a virtual
//! machine the idle figure can be dominated by the vCPU's wake-up from halt when the flush
//! completes (measured here: ~4 ms idle against ~0.25 ms with a busy CPU), so both are reported.

use std::{
    fs::OpenOptions,
    io::Write,
    os::unix::fs::FileExt,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde::Serialize;

use super::latency::{nearest_rank, round3};

const BLOCK: usize = 4096;
/// The spinning thread stops after this long even if nobody stops it.
const SPIN_LIMIT: Duration = Duration::from_secs(60);

/// Latency of `write 4 KiB + fdatasync`, three ways.
#[derive(Clone, Debug, Serialize)]
pub struct FsyncReport {
    /// Directory measured (the benchmark's data root).
    pub dir: String,
    pub samples: usize,
    /// Appending to a growing file (as a log that is not preallocated): median and p99.
    pub median_ms: f64,
    pub p99_ms: f64,
    /// Overwriting blocks of a preallocated file (no size change to persist): median.
    pub preallocated_median_ms: f64,
    /// Appending, while another thread keeps a CPU busy: median and p99.
    pub busy_cpu_median_ms: f64,
    pub busy_cpu_p99_ms: f64,
}

/// Writes 4 KiB and calls fdatasync `samples` times in `dir`: appending; over a preallocated
/// file; appending with a CPU kept busy. Removes its files afterwards. Blocking IO: call from a
/// blocking context.
pub fn measure_fdatasync(dir: &Path, samples: usize) -> anyhow::Result<FsyncReport> {
    anyhow::ensure!(samples > 0, "samples must be positive");
    let appended = append_and_sync(dir, samples)?;
    let overwritten = overwrite_and_sync(dir, samples)?;
    let busy = {
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < SPIN_LIMIT {
                    std::hint::spin_loop();
                }
            })
        };
        let busy = append_and_sync(dir, samples);
        stop.store(true, Ordering::Relaxed);
        let _ = spinner.join();
        busy?
    };
    Ok(FsyncReport {
        dir: dir.display().to_string(),
        samples,
        median_ms: round3(nearest_rank(&appended, 0.5)),
        p99_ms: round3(nearest_rank(&appended, 0.99)),
        preallocated_median_ms: round3(nearest_rank(&overwritten, 0.5)),
        busy_cpu_median_ms: round3(nearest_rank(&busy, 0.5)),
        busy_cpu_p99_ms: round3(nearest_rank(&busy, 0.99)),
    })
}

/// Sorted ms of `samples` × (append 4 KiB + fdatasync) to a new file.
fn append_and_sync(dir: &Path, samples: usize) -> anyhow::Result<Vec<f64>> {
    let block = vec![0xA5u8; BLOCK];
    let path = dir.join("fsync-probe-append");
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(file);
    std::fs::remove_file(&path)?;
    times.sort_by(f64::total_cmp);
    Ok(times)
}

/// Sorted ms of `samples` × (overwrite 4 KiB + fdatasync) in a preallocated, synced file.
fn overwrite_and_sync(dir: &Path, samples: usize) -> anyhow::Result<Vec<f64>> {
    let block = vec![0xA5u8; BLOCK];
    let path = dir.join("fsync-probe-preallocated");
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    for i in 0..samples {
        file.write_all_at(&block, (i * BLOCK) as u64)?;
    }
    file.sync_all()?;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let t = Instant::now();
        file.write_all_at(&block, (i * BLOCK) as u64)?;
        file.sync_data()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(file);
    std::fs::remove_file(&path)?;
    times.sort_by(f64::total_cmp);
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let r = measure_fdatasync(dir.path(), 5).unwrap();
        assert_eq!(r.samples, 5);
        assert!(r.median_ms >= 0.0 && r.p99_ms >= r.median_ms);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
