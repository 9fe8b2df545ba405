//! The back-off before a container is restarted, shared by every runtime: 1 s before the first
//! restart, doubling, at most 30 s (the kubelet starts at 10 s and stops at 5 min; tests and
//! hollow nodes want it shorter, and one policy keeps the runtimes alike).

use std::time::Duration;

/// Back-off before restart number `n` (1-based): 1 s doubling, at most 30 s.
pub fn restart_backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_up_to_thirty() {
        let secs: Vec<u64> = (1..=8).map(|n| restart_backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
