//! The seeded fault schedule of a run: when each fault starts and how long it is held. Faults never
//! overlap: each is healed, and the cell given a gap, before the next.

use std::time::Duration;

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::Scenario;
use crate::faults::FaultSpec;

/// One fault of the schedule, with offsets from the start of the fault phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledFault {
    pub at: Duration,
    pub hold: Duration,
    pub spec: FaultSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSchedule {
    pub faults: Vec<ScheduledFault>,
}

/// Most faults one schedule holds, whatever the duration.
const MAX_FAULTS: usize = 10_000;

fn between(rng: &mut StdRng, (lo, hi): (Duration, Duration)) -> Duration {
    if hi <= lo {
        return lo;
    }
    let span = (hi - lo).as_millis() as u64;
    lo + Duration::from_millis(rng.random_range(0..=span))
}

impl FaultSchedule {
    /// Faults of `scenario` laid out over `duration` with `seed`: each starts after the previous
    /// one's hold plus a gap, and only if its hold ends within `duration`. Expected extra time
    /// per fault for healing (restart, catch-up) is `heal_allowance`.
    pub fn build(
        scenario: &Scenario,
        seed: u64,
        duration: Duration,
        heal_allowance: Duration,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_fa17);
        let mut faults = Vec::new();
        let mut t = Duration::ZERO;
        while faults.len() < MAX_FAULTS && !scenario.faults.is_empty() {
            let spec = if scenario.shuffle {
                scenario.faults[rng.random_range(0..scenario.faults.len())].clone()
            } else {
                scenario.faults[faults.len() % scenario.faults.len()].clone()
            };
            let hold = between(&mut rng, scenario.hold);
            if t + hold > duration {
                break;
            }
            faults.push(ScheduledFault { at: t, hold, spec });
            t += hold + heal_allowance + between(&mut rng, scenario.gap);
        }
        FaultSchedule { faults }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::find_scenario;

    #[test]
    fn seeded_non_overlapping_and_within_the_duration() {
        let s = find_scenario("smoke").unwrap();
        let d = Duration::from_secs(45);
        let a = FaultSchedule::build(&s, 7, d, Duration::from_secs(1));
        let b = FaultSchedule::build(&s, 7, d, Duration::from_secs(1));
        let c = FaultSchedule::build(&s, 8, d, Duration::from_secs(1));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.faults.len() >= 5, "{a:?}");
        for w in a.faults.windows(2) {
            assert!(w[0].at + w[0].hold < w[1].at);
        }
        let last = a.faults.last().unwrap();
        assert!(last.at + last.hold <= d);
        let soak = find_scenario("soak").unwrap();
        let long = FaultSchedule::build(&soak, 1, Duration::from_secs(600), Duration::ZERO);
        assert!(long.faults.len() > 50);
    }
}
