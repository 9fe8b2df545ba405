//! Prometheus metrics of one replica: one [`Metrics`] registry (prometheus-client) per process.
//!
//! The registry is a single process-wide `OnceLock` ([`global`]): the recorders sit deep in the
//! Raft log's flusher thread, the node plane and the scheduler, and threading an `Arc` through
//! all their constructors would touch every caller for no gain (one replica per process). Values
//! that already live elsewhere (Raft's term and indexes, the partition a replica owns) are not
//! recorded twice: the HTTP endpoint ([`http`]) samples them into gauges just before rendering.
//! Recording is one atomic operation (a histogram observe is a bucket scan plus two atomics).

pub mod health;
pub mod http;

use std::sync::OnceLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of an API request: gRPC service and method.
pub type MethodLabels = Vec<(&'static str, &'static str)>;

/// Every metric a replica exports, registered in one registry.
pub struct Metrics {
    registry: Registry,
    /// Raft: current term (sampled).
    pub raft_term: Gauge,
    /// Raft: index of the last log entry (sampled).
    pub raft_last_log_index: Gauge,
    /// Raft: committed index this replica knows (sampled).
    pub raft_committed_index: Gauge,
    /// Raft: index applied to the state machine (sampled).
    pub raft_applied_index: Gauge,
    /// Raft: 1 on the leader, 0 elsewhere (sampled).
    pub raft_is_leader: Gauge,
    /// Raft log: entries appended to the local log.
    pub raft_log_entries_appended: Counter,
    /// Raft log: bytes appended to the local log (encoded entries).
    pub raft_log_bytes_appended: Counter,
    /// Raft log: duration of each WAL fsync of the flusher.
    pub raft_log_fsync_seconds: Histogram,
    /// Node plane: agents that reported here within the silence window (sampled).
    pub node_agents_reporting: Gauge,
    /// Node plane: registered nodes this replica owns by the partition table (sampled).
    pub node_nodes_owned: Gauge,
    /// Node plane: agent reports received.
    pub node_reports_received: Counter,
    /// Node plane: status objects handed to the status batcher.
    pub node_status_queued: Counter,
    /// Node plane: status objects forwarded (written) by the batcher.
    pub node_status_forwarded: Counter,
    /// Node plane: objects per status batch.
    pub node_status_batch_size: Histogram,
    /// Node plane: partition summaries sent to the leader.
    pub node_summaries_sent: Counter,
    /// Node plane: partition summaries received (on the leader).
    pub node_summaries_received: Counter,
    /// API: gRPC request latency per service and method.
    pub api_request_seconds: Family<MethodLabels, Histogram, fn() -> Histogram>,
    /// Scheduler: pods bound to a node.
    pub scheduler_pods_bound: Counter,
    /// Scheduler: pods waiting for a node at the last scheduling pass.
    pub scheduler_pending_pods: Gauge,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Metrics {
    /// A fresh registry with every metric registered (tests build their own; the server uses
    /// [`global`]).
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("keel");
        let m = Metrics {
            raft_term: Gauge::default(),
            raft_last_log_index: Gauge::default(),
            raft_committed_index: Gauge::default(),
            raft_applied_index: Gauge::default(),
            raft_is_leader: Gauge::default(),
            raft_log_entries_appended: Counter::default(),
            raft_log_bytes_appended: Counter::default(),
            raft_log_fsync_seconds: latency_histogram(),
            node_agents_reporting: Gauge::default(),
            node_nodes_owned: Gauge::default(),
            node_reports_received: Counter::default(),
            node_status_queued: Counter::default(),
            node_status_forwarded: Counter::default(),
            node_status_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            node_summaries_sent: Counter::default(),
            node_summaries_received: Counter::default(),
            api_request_seconds: Family::new_with_constructor(latency_histogram),
            scheduler_pods_bound: Counter::default(),
            scheduler_pending_pods: Gauge::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register("raft_term", "Current Raft term", m.raft_term.clone());
        r.register(
            "raft_last_log_index",
            "Index of the last entry in the local Raft log",
            m.raft_last_log_index.clone(),
        );
        r.register(
            "raft_committed_index",
            "Committed Raft index known to this replica",
            m.raft_committed_index.clone(),
        );
        r.register(
            "raft_applied_index",
            "Raft index applied to the state machine",
            m.raft_applied_index.clone(),
        );
        r.register(
            "raft_is_leader",
            "1 if this replica is the Raft leader",
            m.raft_is_leader.clone(),
        );
        r.register(
            "raft_log_entries_appended",
            "Entries appended to the local Raft log",
            m.raft_log_entries_appended.clone(),
        );
        r.register(
            "raft_log_bytes_appended",
            "Encoded bytes appended to the local Raft log",
            m.raft_log_bytes_appended.clone(),
        );
        r.register(
            "raft_log_fsync_seconds",
            "Duration of each Raft log WAL fsync",
            m.raft_log_fsync_seconds.clone(),
        );
        r.register(
            "node_agents_reporting",
            "Agents that reported to this replica recently",
            m.node_agents_reporting.clone(),
        );
        r.register(
            "node_nodes_owned",
            "Registered nodes this replica owns by the partition table",
            m.node_nodes_owned.clone(),
        );
        r.register(
            "node_reports_received",
            "Node agent reports received",
            m.node_reports_received.clone(),
        );
        r.register(
            "node_status_queued",
            "Status objects queued to the status batcher",
            m.node_status_queued.clone(),
        );
        r.register(
            "node_status_forwarded",
            "Status objects written by the status batcher",
            m.node_status_forwarded.clone(),
        );
        r.register(
            "node_status_batch_size",
            "Objects per status batch",
            m.node_status_batch_size.clone(),
        );
        r.register(
            "node_partition_summaries_sent",
            "Partition summaries sent to the leader",
            m.node_summaries_sent.clone(),
        );
        r.register(
            "node_partition_summaries_received",
            "Partition summaries received by the leader",
            m.node_summaries_received.clone(),
        );
        r.register(
            "api_request_seconds",
            "gRPC request latency by service and method",
            m.api_request_seconds.clone(),
        );
        r.register(
            "scheduler_pods_bound",
            "Pods bound to a node by the scheduler",
            m.scheduler_pods_bound.clone(),
        );
        r.register(
            "scheduler_pending_pods",
            "Pods without a node at the last scheduling pass",
            m.scheduler_pending_pods.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The process's registry, created on first use.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Observes the time from its creation to its drop in `api_request_seconds{service,method}`;
/// a handler holds one for its whole body.
pub struct RequestTimer {
    labels: MethodLabels,
    started: std::time::Instant,
}

/// Starts timing one request of `service`/`method`.
pub fn time_request(service: &'static str, method: &'static str) -> RequestTimer {
    RequestTimer {
        labels: vec![("service", service), ("method", method)],
        started: std::time::Instant::now(),
    }
}

impl Drop for RequestTimer {
    fn drop(&mut self) {
        global()
            .api_request_seconds
            .get_or_create(&self.labels)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

/// Sets a gauge from an unsigned value (Raft indexes), saturating.
pub fn set_u64(gauge: &Gauge, value: u64) {
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_registered_metrics_with_values() {
        let m = Metrics::new();
        m.raft_term.set(7);
        m.raft_is_leader.set(1);
        m.raft_log_entries_appended.inc_by(3);
        m.raft_log_fsync_seconds.observe(0.002);
        m.api_request_seconds
            .get_or_create(&vec![
                ("service", "keel.objects.v1.Objects"),
                ("method", "Create"),
            ])
            .observe(0.01);
        let text = m.render();
        assert!(text.contains("keel_raft_term 7\n"), "{text}");
        assert!(text.contains("keel_raft_is_leader 1\n"), "{text}");
        assert!(
            text.contains("keel_raft_log_entries_appended_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("keel_raft_log_fsync_seconds_count 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE keel_raft_log_fsync_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains(
                "keel_api_request_seconds_count{service=\"keel.objects.v1.Objects\",method=\"Create\"} 1"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn a_request_timer_observes_once_when_dropped() {
        drop(time_request("keel.test.Svc", "Timed"));
        let text = global().render();
        assert!(
            text.contains(
                "keel_api_request_seconds_count{service=\"keel.test.Svc\",method=\"Timed\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn unused_metrics_still_render_as_zero() {
        let text = Metrics::new().render();
        for name in [
            "keel_raft_applied_index 0",
            "keel_node_reports_received_total 0",
            "keel_scheduler_pods_bound_total 0",
            "keel_node_status_batch_size_count 0",
        ] {
            assert!(text.contains(name), "missing {name}: {text}");
        }
    }
}
