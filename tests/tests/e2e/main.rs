//! End-to-end tests against real `keel-server` processes with real RocksDB data dirs, on
//! 127.0.0.1. One test binary (cheap to link); each file is one area.

mod agent_support;
mod chaos_support;
mod objects_support;
mod support;

mod agents;
mod bad_input;
mod brain;
mod cell;
mod chaos_clock_skew;
mod chaos_fsync;
mod chaos_scenarios;
mod chaos_smoke;
mod chaos_stale_reads;
mod containerd_pods;
mod cronjobs;
mod failover;
mod keelctl;
mod kubectl;
mod kubectl_failover;
mod kubectl_support;
mod logs_exec;
mod membership;
mod metrics;
mod objects;
mod partitions;
mod pod_config_probes;
mod rollout;
mod services;
mod snapshots;
mod stateful;
mod top_usage;
mod watch;
mod workloads;
