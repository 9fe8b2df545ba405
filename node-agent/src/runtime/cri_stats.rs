//! `CriStats`: the node's and its pods' resource usage from CRI `ListContainerStats` (each
//! container's cumulative CPU time and memory working set, as containerd reads them from the
//! container's cgroup) and /proc for the whole machine. CPU rates need two readings: the last
//! reading is kept, and a call compares against it when it is recent (at most [`MAX_AGE`]) and
//! covers every container; otherwise the call reads twice, [`MIN_WINDOW`] apart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_cri::v1 as cri;
use tokio::time::Instant;

use super::cri_client::CriClient;
use super::cri_spec::{
    LABEL_CONTAINER_NAME, LABEL_MANAGED_BY, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID,
    MANAGED_BY,
};
use super::node_usage;
use super::usage::{cpu_nano_cores, ContainerUsage, CpuSample, PodUsage, Usage, UsageSummary};
use super::RuntimeError;

/// The shortest window a CPU rate is averaged over.
pub const MIN_WINDOW: Duration = Duration::from_secs(1);
/// The oldest kept reading a CPU rate is computed against.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// One container's counters at one reading.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerReading {
    pub id: String,
    pub pod_uid: String,
    pub pod_namespace: String,
    pub pod_name: String,
    pub name: String,
    pub attempt: u32,
    pub cpu: CpuSample,
    pub memory_working_set_bytes: u64,
}

/// Everything read at one moment.
#[derive(Debug, Clone)]
pub struct Reading {
    pub at: Instant,
    pub node_cpu: Option<CpuSample>,
    pub node_memory_working_set_bytes: u64,
    pub containers: Vec<ContainerReading>,
}

impl Reading {
    /// Whether `later` can take its rates from this reading: every container in it was seen here.
    fn covers(&self, later: &Reading) -> bool {
        let ids: std::collections::HashSet<&str> =
            self.containers.iter().map(|c| c.id.as_str()).collect();
        later.containers.iter().all(|c| ids.contains(c.id.as_str()))
    }
}

/// A container's reading from its CRI stats; `None` without CPU counters (not running) or
/// without keel-agent's labels.
pub fn container_reading(stats: &cri::ContainerStats) -> Option<ContainerReading> {
    let attributes = stats.attributes.as_ref()?;
    let label = |k: &str| attributes.labels.get(k).cloned();
    let cpu = stats.cpu.as_ref()?;
    Some(ContainerReading {
        id: attributes.id.clone(),
        pod_uid: label(LABEL_POD_UID)?,
        pod_namespace: label(LABEL_POD_NAMESPACE).unwrap_or_default(),
        pod_name: label(LABEL_POD_NAME).unwrap_or_default(),
        name: label(LABEL_CONTAINER_NAME)
            .or_else(|| attributes.metadata.as_ref().map(|m| m.name.clone()))?,
        attempt: attributes.metadata.as_ref().map_or(0, |m| m.attempt),
        cpu: CpuSample {
            at_nanos: cpu.timestamp,
            used_core_nanos: cpu.usage_core_nano_seconds.as_ref()?.value,
        },
        memory_working_set_bytes: stats
            .memory
            .as_ref()
            .and_then(|m| m.working_set_bytes.as_ref())
            .map_or(0, |v| v.value),
    })
}

/// The summary between two readings: per pod, the latest attempt of each container that has a
/// CPU rate (a container seen in both readings); the node's rate from /proc.
pub fn summarise(earlier: &Reading, later: &Reading) -> UsageSummary {
    let before: HashMap<&str, CpuSample> = earlier
        .containers
        .iter()
        .map(|c| (c.id.as_str(), c.cpu))
        .collect();
    // (pod uid, container name) → its latest attempt.
    let mut latest: BTreeMap<(&str, &str), &ContainerReading> = BTreeMap::new();
    for c in &later.containers {
        let slot = latest
            .entry((c.pod_uid.as_str(), c.name.as_str()))
            .or_insert(c);
        if c.attempt > slot.attempt {
            *slot = c;
        }
    }
    let mut pods: BTreeMap<&str, PodUsage> = BTreeMap::new();
    for c in latest.values() {
        let Some(rate) = before
            .get(c.id.as_str())
            .and_then(|b| cpu_nano_cores(*b, c.cpu))
        else {
            continue;
        };
        pods.entry(c.pod_uid.as_str())
            .or_insert_with(|| PodUsage {
                uid: c.pod_uid.clone(),
                namespace: c.pod_namespace.clone(),
                name: c.pod_name.clone(),
                containers: Vec::new(),
            })
            .containers
            .push(ContainerUsage {
                name: c.name.clone(),
                usage: Usage {
                    cpu_nano_cores: rate,
                    memory_working_set_bytes: c.memory_working_set_bytes,
                },
            });
    }
    let node_cpu = match (earlier.node_cpu, later.node_cpu) {
        (Some(a), Some(b)) => cpu_nano_cores(a, b).unwrap_or(0),
        _ => 0,
    };
    UsageSummary {
        node: Usage {
            cpu_nano_cores: node_cpu,
            memory_working_set_bytes: later.node_memory_working_set_bytes,
        },
        pods: pods.into_values().collect(),
        window: later.at.saturating_duration_since(earlier.at),
    }
}

/// Reads and keeps CRI and /proc readings. Clones share the kept reading.
#[derive(Clone)]
pub struct CriStats {
    cri: CriClient,
    last: Arc<tokio::sync::Mutex<Option<Reading>>>,
}

impl CriStats {
    pub fn new(cri: CriClient) -> CriStats {
        CriStats {
            cri,
            last: Arc::default(),
        }
    }

    /// Reads every keel-agent container's stats and the machine's counters now.
    async fn read(&self) -> Result<Reading, RuntimeError> {
        let filter = cri::ContainerStatsFilter {
            label_selector: HashMap::from([(LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string())]),
            ..Default::default()
        };
        let stats = self
            .cri
            .runtime
            .clone()
            .list_container_stats(cri::ListContainerStatsRequest {
                filter: Some(filter),
            })
            .await
            .map_err(RuntimeError::cri("ListContainerStats"))?
            .into_inner()
            .stats;
        Ok(Reading {
            at: Instant::now(),
            node_cpu: node_usage::cpu_sample(),
            node_memory_working_set_bytes: node_usage::memory_working_set().unwrap_or(0),
            containers: stats.iter().filter_map(container_reading).collect(),
        })
    }

    /// The usage summary now (see the module doc for the window).
    pub async fn summary(&self) -> Result<UsageSummary, RuntimeError> {
        // One call at a time: each compares against the reading the previous one kept.
        let mut last = self.last.lock().await;
        let mut later = self.read().await?;
        let earlier = match last.take() {
            Some(kept)
                if later.at.saturating_duration_since(kept.at) <= MAX_AGE
                    && kept.covers(&later) =>
            {
                kept
            }
            _ => {
                let first = later;
                tokio::time::sleep(MIN_WINDOW).await;
                later = self.read().await?;
                first
            }
        };
        let waited = later.at.saturating_duration_since(earlier.at);
        if waited < MIN_WINDOW {
            tokio::time::sleep(MIN_WINDOW - waited).await;
            later = self.read().await?;
        }
        let summary = summarise(&earlier, &later);
        *last = Some(later);
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(
        id: &str,
        pod: &str,
        name: &str,
        attempt: u32,
        at: i64,
        used: u64,
    ) -> ContainerReading {
        ContainerReading {
            id: id.into(),
            pod_uid: pod.into(),
            pod_namespace: "default".into(),
            pod_name: format!("name-{pod}"),
            name: name.into(),
            attempt,
            cpu: CpuSample {
                at_nanos: at,
                used_core_nanos: used,
            },
            memory_working_set_bytes: 1000 + u64::from(attempt),
        }
    }

    fn reading(at: Instant, node_used: u64, containers: Vec<ContainerReading>) -> Reading {
        Reading {
            at,
            node_cpu: Some(CpuSample {
                at_nanos: (at.elapsed().as_nanos() as i64).max(0),
                used_core_nanos: node_used,
            }),
            node_memory_working_set_bytes: 77,
            containers,
        }
    }

    const S: i64 = 1_000_000_000;

    #[test]
    fn rates_come_from_the_same_container_in_both_readings() {
        let t0 = Instant::now();
        let earlier = reading(
            t0,
            0,
            vec![
                container("a", "p1", "web", 0, 0, 0),
                container("b", "p1", "side", 0, 0, 5 * S as u64),
            ],
        );
        let later = reading(
            t0 + Duration::from_secs(2),
            0,
            vec![
                // Half a core over two seconds.
                container("a", "p1", "web", 0, 2 * S, S as u64),
                // Idle.
                container("b", "p1", "side", 0, 2 * S, 5 * S as u64),
                // New since the earlier reading: no rate yet.
                container("c", "p2", "web", 0, 2 * S, S as u64),
            ],
        );
        let s = summarise(&earlier, &later);
        assert_eq!(s.window, Duration::from_secs(2));
        assert_eq!(s.pods.len(), 1);
        let p = &s.pods[0];
        assert_eq!((p.uid.as_str(), p.name.as_str()), ("p1", "name-p1"));
        let usage: Vec<(&str, u64, u64)> = p
            .containers
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.usage.cpu_nano_cores,
                    c.usage.memory_working_set_bytes,
                )
            })
            .collect();
        assert_eq!(usage, vec![("side", 0, 1000), ("web", 500_000_000, 1000)]);
        assert_eq!(s.node.memory_working_set_bytes, 77);
        assert!(!earlier.covers(&later));
    }

    #[test]
    fn a_restarted_container_reports_its_latest_attempt() {
        let t0 = Instant::now();
        let earlier = reading(
            t0,
            0,
            vec![
                container("old", "p", "web", 0, 0, 9 * S as u64),
                container("new", "p", "web", 1, 0, 0),
            ],
        );
        let later = reading(
            t0 + Duration::from_secs(1),
            0,
            vec![
                container("old", "p", "web", 0, S, 9 * S as u64),
                container("new", "p", "web", 1, S, (S / 4) as u64),
            ],
        );
        let s = summarise(&earlier, &later);
        assert_eq!(s.pods[0].containers.len(), 1);
        assert_eq!(s.pods[0].containers[0].usage.cpu_nano_cores, 250_000_000);
        assert_eq!(s.pods[0].containers[0].usage.memory_working_set_bytes, 1001);
        assert!(earlier.covers(&later));
    }

    #[test]
    fn only_labelled_containers_with_cpu_counters_are_read() {
        let labels = HashMap::from([
            (LABEL_POD_UID.to_string(), "u".to_string()),
            (LABEL_POD_NAME.to_string(), "p".to_string()),
            (LABEL_POD_NAMESPACE.to_string(), "ns".to_string()),
            (LABEL_CONTAINER_NAME.to_string(), "c".to_string()),
        ]);
        let mut stats = cri::ContainerStats {
            attributes: Some(cri::ContainerAttributes {
                id: "id1".into(),
                metadata: Some(cri::ContainerMetadata {
                    name: "c".into(),
                    attempt: 2,
                }),
                labels,
                annotations: HashMap::new(),
            }),
            cpu: Some(cri::CpuUsage {
                timestamp: 42,
                usage_core_nano_seconds: Some(cri::UInt64Value { value: 7 }),
                usage_nano_cores: None,
            }),
            memory: Some(cri::MemoryUsage {
                working_set_bytes: Some(cri::UInt64Value { value: 4096 }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = container_reading(&stats).expect("a reading");
        assert_eq!(
            (
                r.pod_uid.as_str(),
                r.pod_namespace.as_str(),
                r.name.as_str(),
                r.attempt
            ),
            ("u", "ns", "c", 2)
        );
        assert_eq!(
            r.cpu,
            CpuSample {
                at_nanos: 42,
                used_core_nanos: 7
            }
        );
        assert_eq!(r.memory_working_set_bytes, 4096);
        stats.cpu = None;
        assert_eq!(container_reading(&stats), None);
    }
}
