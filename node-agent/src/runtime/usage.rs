//! Resource usage as [`ContainerRuntime::stats`](super::ContainerRuntime::stats) reports it (the
//! kubelet's `/stats/summary` in small): CPU as a rate in nanocores (10^9 = one core busy)
//! averaged over a window between two samples of a cumulative counter, memory as the working set
//! (bytes in use minus inactive file cache, what the kubelet and metrics-server report).

use std::time::Duration;

/// CPU and memory of one thing (node, container).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu_nano_cores: u64,
    pub memory_working_set_bytes: u64,
}

/// One running container's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUsage {
    pub name: String,
    pub usage: Usage,
}

/// The running containers of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodUsage {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub containers: Vec<ContainerUsage>,
}

/// The node and its pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSummary {
    pub node: Usage,
    pub pods: Vec<PodUsage>,
    /// What CPU rates are averaged over; zero when usage is scripted rather than measured
    /// (the fake runtime).
    pub window: Duration,
}

/// One reading of a cumulative CPU counter: nanoseconds of CPU time used so far, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    /// Unix time of the reading, in nanoseconds.
    pub at_nanos: i64,
    pub used_core_nanos: u64,
}

/// The average rate in nanocores between two readings of the same counter; `None` when time did
/// not move forward. A counter that went backwards (the container restarted under the same id)
/// counts as zero use.
pub fn cpu_nano_cores(earlier: CpuSample, later: CpuSample) -> Option<u64> {
    let elapsed = later.at_nanos.checked_sub(earlier.at_nanos)?;
    if elapsed <= 0 {
        return None;
    }
    let used = later
        .used_core_nanos
        .saturating_sub(earlier.used_core_nanos);
    let rate = u128::from(used) * 1_000_000_000 / elapsed as u128;
    Some(u64::try_from(rate).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64, used_secs: f64) -> CpuSample {
        CpuSample {
            at_nanos: (secs * 1e9) as i64,
            used_core_nanos: (used_secs * 1e9) as u64,
        }
    }

    #[test]
    fn one_busy_core_is_a_billion_nanocores() {
        assert_eq!(
            cpu_nano_cores(at(10.0, 5.0), at(12.0, 7.0)),
            Some(1_000_000_000)
        );
        // A quarter core over four seconds.
        assert_eq!(
            cpu_nano_cores(at(0.0, 0.0), at(4.0, 1.0)),
            Some(250_000_000)
        );
        assert_eq!(cpu_nano_cores(at(0.0, 3.0), at(4.0, 3.0)), Some(0));
    }

    #[test]
    fn no_time_or_a_reset_counter_gives_no_rate_or_zero() {
        assert_eq!(cpu_nano_cores(at(5.0, 1.0), at(5.0, 2.0)), None);
        assert_eq!(cpu_nano_cores(at(6.0, 1.0), at(5.0, 2.0)), None);
        assert_eq!(cpu_nano_cores(at(1.0, 9.0), at(2.0, 1.0)), Some(0));
    }
}
