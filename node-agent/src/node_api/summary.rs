//! The runtime's [`UsageSummary`] as the agent API's `SummaryResponse`.

use std::time::SystemTime;

use keel_proto::agent as pb;

use crate::runtime::usage::{Usage, UsageSummary};

fn usage(u: Usage) -> pb::Usage {
    pb::Usage {
        cpu_nano_cores: u.cpu_nano_cores,
        memory_working_set_bytes: u.memory_working_set_bytes,
    }
}

/// The response for `node_name`, stamped `at`.
pub fn summary_response(node_name: &str, s: UsageSummary, at: SystemTime) -> pb::SummaryResponse {
    let unix_ms = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    pb::SummaryResponse {
        node_name: node_name.to_string(),
        node: Some(usage(s.node)),
        pods: s
            .pods
            .into_iter()
            .map(|p| pb::PodUsage {
                pod: Some(pb::PodRef {
                    namespace: p.namespace,
                    name: p.name,
                    uid: p.uid,
                }),
                containers: p
                    .containers
                    .into_iter()
                    .map(|c| pb::ContainerUsage {
                        name: c.name,
                        usage: Some(usage(c.usage)),
                    })
                    .collect(),
            })
            .collect(),
        timestamp_unix_ms: unix_ms,
        window_ms: i64::try_from(s.window.as_millis()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runtime::usage::{ContainerUsage, PodUsage};

    #[test]
    fn pods_and_containers_carry_over() {
        let s = UsageSummary {
            node: Usage {
                cpu_nano_cores: 5,
                memory_working_set_bytes: 6,
            },
            pods: vec![PodUsage {
                uid: "u".into(),
                namespace: "ns".into(),
                name: "p".into(),
                containers: vec![ContainerUsage {
                    name: "c".into(),
                    usage: Usage {
                        cpu_nano_cores: 1,
                        memory_working_set_bytes: 2,
                    },
                }],
            }],
            window: Duration::from_millis(1500),
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(3);
        let r = summary_response("n1", s, at);
        assert_eq!(r.node_name, "n1");
        assert_eq!(r.timestamp_unix_ms, 3000);
        assert_eq!(r.window_ms, 1500);
        assert_eq!(r.node.map(|u| u.cpu_nano_cores), Some(5));
        let pod = &r.pods[0];
        assert_eq!(pod.pod.as_ref().map(|p| p.uid.as_str()), Some("u"));
        assert_eq!(
            pod.containers[0].usage.map(|u| u.memory_working_set_bytes),
            Some(2)
        );
    }
}
