//! `RetryBackoff`: the pause between an agent's attempts to reach the cell — exponential with
//! "equal jitter" (a random point in the upper half of the current step), reset by a success.
//!
//! Thousands of agents lose their replica at the same moment when it dies or is overloaded; a
//! fixed pause would bring them back in lock-step and keep an overloaded cell overloaded (a
//! metastable retry storm). Growing, desynchronised pauses let it recover.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub struct RetryBackoff {
    first: Duration,
    max: Duration,
    step: Duration,
}

impl RetryBackoff {
    /// Pauses start around `first` and grow to at most `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        RetryBackoff {
            first,
            max: max.max(first),
            step: first,
        }
    }

    /// The pause before the next attempt, after a failure.
    pub fn next_pause(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        let half = step / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }

    /// After a success: the next failure starts from the first step again.
    pub fn reset(&mut self) {
        self.step = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_cap_within_their_jitter_and_reset() {
        let mut b = RetryBackoff::new(Duration::from_millis(200), Duration::from_secs(5));
        let mut step = Duration::from_millis(200);
        for _ in 0..10 {
            let p = b.next_pause();
            assert!(
                p >= step / 2 && p <= step,
                "{p:?} outside [{:?}, {step:?}]",
                step / 2
            );
            step = (step * 2).min(Duration::from_secs(5));
        }
        b.reset();
        assert!(b.next_pause() <= Duration::from_millis(200));
    }

    #[test]
    fn pauses_of_many_agents_spread_out() {
        let pauses: std::collections::BTreeSet<Duration> = (0..100)
            .map(|_| {
                let mut b = RetryBackoff::new(Duration::from_secs(2), Duration::from_secs(2));
                b.next_pause()
            })
            .collect();
        assert!(pauses.len() > 50, "only {} distinct pauses", pauses.len());
    }
}
