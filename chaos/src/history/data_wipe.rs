//! A replica whose data dir was wiped (removed from the cell, its data deleted): what it reports
//! afterwards comes from a new incarnation that starts again from an empty state.

use serde::{Deserialize, Serialize};

/// Replica `replica`'s process was stopped and its data removed at `at_ns`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataWipe {
    pub replica: u64,
    pub at_ns: u64,
}

/// Which incarnation of `replica` answered a request sent at `invoke_ns`: the number of its wipes
/// before then (0: the original).
pub fn incarnation(wipes: &[DataWipe], replica: u64, invoke_ns: u64) -> usize {
    wipes
        .iter()
        .filter(|w| w.replica == replica && w.at_ns <= invoke_ns)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_wipes_of_that_replica_before_the_request() {
        let wipes = [
            DataWipe {
                replica: 3,
                at_ns: 100,
            },
            DataWipe {
                replica: 3,
                at_ns: 300,
            },
            DataWipe {
                replica: 4,
                at_ns: 50,
            },
        ];
        assert_eq!(incarnation(&wipes, 3, 99), 0);
        assert_eq!(incarnation(&wipes, 3, 100), 1);
        assert_eq!(incarnation(&wipes, 3, 500), 2);
        assert_eq!(incarnation(&wipes, 1, 500), 0);
        assert_eq!(incarnation(&wipes, 4, 60), 1);
    }
}
