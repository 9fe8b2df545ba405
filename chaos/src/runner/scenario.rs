//! The named scenarios `keel-chaos list` shows: which faults, how long each is held, and how the
//! seed varies them.

use std::time::Duration;

use crate::faults::{FaultSpec, PartitionShape, Target};

/// A named fault mix. The schedule cycles through `faults` (or, when `shuffle`, picks among them
/// at random with the seed) until the duration is used up.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub faults: Vec<FaultSpec>,
    pub shuffle: bool,
    /// How long each fault is held (a seeded value in this range).
    pub hold: (Duration, Duration),
    /// Quiet time after a heal before the next fault (a seeded value in this range).
    pub gap: (Duration, Duration),
    /// The default `--duration` (the fault phase; warm-up and cool-down come on top).
    pub default_duration: Duration,
    pub replicas: usize,
    /// Reads go to a seeded random replica rather than the client's own (see
    /// `RegisterClientConfig::reads_anywhere`).
    pub reads_anywhere: bool,
    /// Raft log tuning for the replicas (`None`: keel-server's defaults).
    pub cell: CellTuning,
}

/// Server flags a scenario needs (e.g. tiny snapshot intervals so a cut-off follower must be
/// sent a snapshot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CellTuning {
    /// `--snapshot-logs`.
    pub snapshot_logs: Option<u64>,
    /// `--keep-logs`.
    pub keep_logs: Option<u64>,
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// Every scenario, in the order `keel-chaos list` shows them.
pub fn scenarios() -> Vec<Scenario> {
    use FaultSpec::*;
    let leader = Target::Leader;
    vec![
        Scenario {
            name: "smoke",
            about: "CI smoke (~90 s): leader kills, leader isolation, majority/minority, one-way, pauses",
            faults: vec![
                Kill { target: leader },
                Partition { shape: PartitionShape::IsolateLeader },
                Pause { target: leader },
                Kill { target: leader },
                Partition { shape: PartitionShape::MajorityMinority },
                Kill { target: Target::Follower },
                Partition { shape: PartitionShape::LeaderMute },
                Pause { target: Target::Follower },
            ],
            shuffle: false,
            hold: (ms(1_500), ms(2_500)),
            gap: (ms(2_500), ms(3_500)),
            default_duration: secs(65),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "leader-kill",
            about: "SIGKILL the leader, restart it, repeat",
            faults: vec![Kill { target: leader }],
            shuffle: false,
            hold: (ms(500), ms(2_000)),
            gap: (ms(2_000), ms(3_000)),
            default_duration: secs(120),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "partition",
            about: "isolate the leader, split majority/minority, mute the leader one-way, repeat",
            faults: vec![
                Partition { shape: PartitionShape::IsolateLeader },
                Partition { shape: PartitionShape::MajorityMinority },
                Partition { shape: PartitionShape::LeaderMute },
            ],
            shuffle: false,
            hold: (secs(2), secs(4)),
            gap: (secs(2), secs(3)),
            default_duration: secs(120),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "pause",
            about: "SIGSTOP the leader (or a follower) for longer than the election timeout, then SIGCONT",
            faults: vec![
                Pause { target: leader },
                Pause { target: leader },
                Pause { target: Target::Follower },
            ],
            shuffle: false,
            hold: (ms(600), ms(3_000)),
            gap: (secs(2), secs(3)),
            default_duration: secs(120),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "lossy",
            about: "30% packet loss on the leader's links, then a 64 kbit/s leader uplink",
            faults: vec![
                Loss { target: leader, percent: 30 },
                Slow { target: leader, kbit: 64 },
            ],
            shuffle: false,
            hold: (secs(3), secs(5)),
            gap: (secs(2), secs(3)),
            default_duration: secs(120),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "one-way",
            about: "the leader hears but is not heard (mute), or is heard but hears nothing (deaf)",
            faults: vec![
                Partition { shape: PartitionShape::LeaderMute },
                Partition { shape: PartitionShape::LeaderDeaf },
            ],
            shuffle: false,
            hold: (secs(2), secs(4)),
            gap: (secs(2), secs(3)),
            default_duration: secs(120),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "stale-reads",
            about: "isolate the leader while reads go to every replica; with --unsafe-local-reads \
                    the linearizability checker must fail (without it, pass)",
            faults: vec![Partition {
                shape: PartitionShape::IsolateLeader,
            }],
            shuffle: false,
            hold: (secs(4), secs(5)),
            gap: (secs(2), secs(3)),
            default_duration: secs(20),
            replicas: 3,
            reads_anywhere: true,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "client-kill",
            about: "SIGKILL exactly the replica client 0 is attached to (leader or not), restart it",
            faults: vec![Kill {
                target: Target::AttachedTo { client: 0 },
            }],
            shuffle: false,
            hold: (ms(500), ms(2_000)),
            gap: (secs(2), secs(3)),
            default_duration: secs(40),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "clock-skew",
            about: "restart a replica with its wall clock an hour ahead, or the leader's an hour \
                    behind (libfaketime), then with the true clock",
            faults: vec![
                ClockSkew {
                    target: Target::Random,
                    offset_secs: 3_600,
                },
                ClockSkew {
                    target: leader,
                    offset_secs: -3_600,
                },
            ],
            shuffle: false,
            hold: (secs(3), secs(5)),
            gap: (secs(2), secs(3)),
            default_duration: secs(40),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "slow-disk",
            about: "restart the leader with 200 ms fsyncs, or a follower with 500 ms ones \
                    (keel-server's raft-log-fsync failpoint), then with a normal disk",
            faults: vec![
                SlowFsync {
                    target: leader,
                    delay_ms: 200,
                },
                SlowFsync {
                    target: Target::Follower,
                    delay_ms: 500,
                },
            ],
            shuffle: false,
            hold: (secs(3), secs(5)),
            gap: (secs(2), secs(3)),
            default_duration: secs(40),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "membership",
            about: "replace a random voter (the leader too) by a new replica: add learner, \
                    promote, remove; then put it back the same way",
            faults: vec![MembershipSwap],
            shuffle: false,
            hold: (secs(2), secs(4)),
            gap: (secs(2), secs(3)),
            default_duration: secs(40),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
        Scenario {
            name: "snapshot",
            about: "blackhole a follower until the leader purged its log past it; after the heal \
                    it catches up by snapshot",
            faults: vec![SnapshotCatchUp],
            shuffle: false,
            // Longer than the ~10 s in which the leader gives up the cut-off follower's stream.
            hold: (secs(11), secs(12)),
            gap: (secs(2), secs(3)),
            default_duration: secs(30),
            replicas: 3,
            reads_anywhere: false,
            cell: CellTuning {
                snapshot_logs: Some(100),
                keep_logs: Some(20),
            },
        },
        Scenario {
            name: "soak",
            about: "every fault kind at random, seeded, on 5 replicas (run it for 10+ minutes)",
            faults: vec![
                Kill { target: leader },
                Kill { target: Target::Random },
                Pause { target: leader },
                Pause { target: Target::Random },
                Partition { shape: PartitionShape::IsolateLeader },
                Partition { shape: PartitionShape::MajorityMinority },
                Partition { shape: PartitionShape::LeaderMute },
                Loss { target: Target::Random, percent: 20 },
            ],
            shuffle: true,
            hold: (ms(500), secs(4)),
            gap: (secs(1), secs(3)),
            default_duration: secs(600),
            replicas: 5,
            reads_anywhere: false,
            cell: CellTuning::default(),
        },
    ]
}

/// The scenario called `name`.
pub fn find_scenario(name: &str) -> anyhow::Result<Scenario> {
    scenarios()
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = scenarios().iter().map(|s| s.name).collect();
            anyhow::anyhow!("no scenario {name:?}; scenarios: {}", names.join(", "))
        })
}

impl Scenario {
    /// Whether any of its faults needs replicas in network namespaces.
    pub fn needs_network(&self) -> bool {
        self.faults.iter().any(FaultSpec::needs_network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_the_required_ones_exist() {
        let all = scenarios();
        let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for required in [
            "smoke",
            "leader-kill",
            "partition",
            "pause",
            "stale-reads",
            "client-kill",
            "membership",
            "snapshot",
            "clock-skew",
            "slow-disk",
        ] {
            assert!(find_scenario(required).is_ok(), "{required}");
        }
        assert!(find_scenario("nope")
            .unwrap_err()
            .to_string()
            .contains("smoke"));
        assert!(find_scenario("smoke").unwrap().needs_network());
        assert!(!find_scenario("leader-kill").unwrap().needs_network());
        assert!(!find_scenario("membership").unwrap().needs_network());
        assert!(find_scenario("snapshot").unwrap().needs_network());
        assert!(find_scenario("stale-reads").unwrap().reads_anywhere);
    }
}
