//! `FakeRuntime`: pods "run" in memory, no containers — the runtime of hollow nodes in scale and
//! controller tests. Behaviour is scripted by pod annotations:
//! - `fake.keel.dev/exit-after-seconds: "N"` — every container exits N s after it starts,
//!   with `fake.keel.dev/exit-code` (default 0); restartPolicy then decides what happens next
//!   (Always, or OnFailure with a non-zero code: restarted after a back-off of 1 s doubling to
//!   30 s, shown as CrashLoopBackOff while waiting);
//! - `fake.keel.dev/not-ready: "true"` — containers run but never become ready;
//! - `fake.keel.dev/ready-flip-seconds: "N"` — running containers are ready for N s, then not
//!   ready for N s, and so on (a steady source of pod status changes for scale benchmarks);
//! - `fake.keel.dev/start-error: "MSG"` — containers stay Waiting with reason
//!   CreateContainerError and message MSG;
//! - `fake.keel.dev/cpu-millicores: "N"` and `fake.keel.dev/memory-bytes: "B"` — what each
//!   running container reports as its usage in `stats` (default 0); the node's usage is the sum.
//!
//! State is computed from the clock on every `list`, so a fake pod costs nothing between reports.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::Pod;

use super::restart_backoff::restart_backoff as backoff;
use super::usage::{ContainerUsage, PodUsage, Usage, UsageSummary};
use super::{ContainerRuntime, ContainerState, ContainerStatus, PodState, RuntimeError};

const EXIT_AFTER: &str = "fake.keel.dev/exit-after-seconds";
const EXIT_CODE: &str = "fake.keel.dev/exit-code";
const NOT_READY: &str = "fake.keel.dev/not-ready";
const READY_FLIP: &str = "fake.keel.dev/ready-flip-seconds";
const START_ERROR: &str = "fake.keel.dev/start-error";
const CPU_MILLICORES: &str = "fake.keel.dev/cpu-millicores";
const MEMORY_BYTES: &str = "fake.keel.dev/memory-bytes";

#[derive(Debug, Clone)]
struct Script {
    exit_after: Option<Duration>,
    exit_code: i32,
    ready: bool,
    /// Readiness alternates every this long while running.
    ready_flip: Option<Duration>,
    start_error: Option<String>,
    restart_policy: String,
    /// Each running container's scripted usage.
    usage: Usage,
}

#[derive(Debug, Clone)]
struct FakePod {
    namespace: String,
    name: String,
    pod_ip: Ipv4Addr,
    started_at: SystemTime,
    containers: Vec<(String, String)>,
    script: Script,
}

/// The in-memory runtime. Clones share state.
#[derive(Clone, Default)]
pub struct FakeRuntime {
    pods: Arc<Mutex<BTreeMap<String, FakePod>>>,
}

impl FakeRuntime {
    pub fn new() -> Self {
        Self::default()
    }
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

fn script(pod: &Pod) -> Script {
    Script {
        exit_after: annotation(pod, EXIT_AFTER)
            .and_then(|s| s.parse::<f64>().ok())
            .map(Duration::from_secs_f64),
        exit_code: annotation(pod, EXIT_CODE)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        ready: annotation(pod, NOT_READY) != Some("true"),
        ready_flip: annotation(pod, READY_FLIP)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64),
        start_error: annotation(pod, START_ERROR).map(str::to_string),
        restart_policy: pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into()),
        usage: Usage {
            cpu_nano_cores: annotation(pod, CPU_MILLICORES)
                .and_then(|s| s.parse::<u64>().ok())
                .map_or(0, |m| m.saturating_mul(1_000_000)),
            memory_working_set_bytes: annotation(pod, MEMORY_BYTES)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
        },
    }
}

/// The scripted usage of `pod`'s running containers `now`; `None` when none runs.
fn pod_usage(pod: &FakePod, uid: &str, now: SystemTime) -> Option<PodUsage> {
    let containers: Vec<ContainerUsage> = (0..pod.containers.len())
        .map(|i| container_status(pod, uid, i, now))
        .filter(|c| matches!(c.state, ContainerState::Running { .. }))
        .map(|c| ContainerUsage {
            name: c.name,
            usage: pod.script.usage,
        })
        .collect();
    (!containers.is_empty()).then(|| PodUsage {
        uid: uid.to_string(),
        namespace: pod.namespace.clone(),
        name: pod.name.clone(),
        containers,
    })
}

/// Whether a container scripted to flip readiness every `flip` since `started` is ready `now`:
/// ready in the even periods, not in the odd ones.
fn flipped_ready(flip: Option<Duration>, started: SystemTime, now: SystemTime) -> bool {
    let Some(flip) = flip else { return true };
    let elapsed = now.duration_since(started).unwrap_or_default();
    (elapsed.as_nanos() / flip.as_nanos().max(1)).is_multiple_of(2)
}

/// A container's status `now`, replaying its scripted life since the pod started.
fn container_status(pod: &FakePod, uid: &str, index: usize, now: SystemTime) -> ContainerStatus {
    let (name, image) = &pod.containers[index];
    let s = &pod.script;
    let container_id = format!("fake://{uid}/{name}");
    let base = |state, last_state, restart_count, ready| ContainerStatus {
        name: name.clone(),
        image: image.clone(),
        container_id: container_id.clone(),
        image_id: format!("fake://{image}"),
        state,
        last_state,
        restart_count,
        ready,
    };
    if let Some(msg) = &s.start_error {
        let waiting = ContainerState::Waiting {
            reason: "CreateContainerError".into(),
            message: msg.clone(),
        };
        return base(waiting, None, 0, false);
    }
    let Some(run) = s.exit_after else {
        let ready = s.ready && flipped_ready(s.ready_flip, pod.started_at, now);
        return base(
            ContainerState::Running {
                started_at: pod.started_at,
            },
            None,
            0,
            ready,
        );
    };
    let restarts_allowed = match s.restart_policy.as_str() {
        "Always" => true,
        "OnFailure" => s.exit_code != 0,
        _ => false,
    };
    let mut started = pod.started_at;
    let mut restarts: u32 = 0;
    let mut last = None;
    loop {
        let finished = started + run;
        if now < finished {
            let running = ContainerState::Running {
                started_at: started,
            };
            return base(running, last, restarts as i32, s.ready);
        }
        let terminated = ContainerState::Terminated {
            exit_code: s.exit_code,
            reason: if s.exit_code == 0 {
                "Completed"
            } else {
                "Error"
            }
            .into(),
            started_at: started,
            finished_at: finished,
        };
        if !restarts_allowed {
            return base(terminated, last, restarts as i32, false);
        }
        let next = finished + backoff(restarts + 1);
        if now < next {
            let waiting = ContainerState::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: format!(
                    "back-off {}s restarting failed container={name} pod={}_{}({uid})",
                    backoff(restarts + 1).as_secs(),
                    pod.name,
                    pod.namespace
                ),
            };
            return base(waiting, Some(terminated), restarts as i32, false);
        }
        restarts += 1;
        last = Some(terminated);
        started = next;
    }
}

impl ContainerRuntime for FakeRuntime {
    async fn start_pod(&self, pod: &Pod, pod_ip: Option<Ipv4Addr>) -> Result<(), RuntimeError> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let pod_ip = pod_ip.ok_or_else(|| {
            RuntimeError::Pod(uid.clone(), "the fake runtime needs a pod IP".into())
        })?;
        let containers = pod
            .spec
            .as_ref()
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let mut pods = self
            .pods
            .lock()
            .map_err(|_| RuntimeError::Pod(uid.clone(), "runtime state poisoned".into()))?;
        pods.entry(uid).or_insert_with(|| FakePod {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            pod_ip,
            started_at: SystemTime::now(),
            containers,
            script: script(pod),
        });
        Ok(())
    }

    async fn stop_pod(&self, uid: &str, _grace: Duration) -> Result<(), RuntimeError> {
        let mut pods = self
            .pods
            .lock()
            .map_err(|_| RuntimeError::Pod(uid.to_string(), "runtime state poisoned".into()))?;
        pods.remove(uid);
        Ok(())
    }

    async fn list(&self) -> Vec<PodState> {
        let now = SystemTime::now();
        let Ok(pods) = self.pods.lock() else {
            return Vec::new();
        };
        pods.iter()
            .map(|(uid, p)| PodState {
                uid: uid.clone(),
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                pod_ip: Some(p.pod_ip),
                started_at: p.started_at,
                containers: (0..p.containers.len())
                    .map(|i| container_status(p, uid, i, now))
                    .collect(),
            })
            .collect()
    }

    async fn stats(&self) -> Result<UsageSummary, RuntimeError> {
        let now = SystemTime::now();
        let pods: Vec<PodUsage> = self
            .pods
            .lock()
            .map_err(|_| RuntimeError::Pod(String::new(), "runtime state poisoned".into()))?
            .iter()
            .filter_map(|(uid, p)| pod_usage(p, uid, now))
            .collect();
        let mut node = Usage::default();
        for c in pods.iter().flat_map(|p| &p.containers) {
            node.cpu_nano_cores = node.cpu_nano_cores.saturating_add(c.usage.cpu_nano_cores);
            node.memory_working_set_bytes = node
                .memory_working_set_bytes
                .saturating_add(c.usage.memory_working_set_bytes);
        }
        Ok(UsageSummary {
            node,
            pods,
            window: Duration::ZERO,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(annotations: &[(&str, &str)], policy: &str) -> FakePod {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "d", "uid": "u",
                "annotations": annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()},
            "spec": {"restartPolicy": policy, "containers": [{"name": "c", "image": "i"}]}
        }))
        .expect("pod");
        FakePod {
            namespace: "d".into(),
            name: "p".into(),
            pod_ip: Ipv4Addr::LOCALHOST,
            started_at: SystemTime::UNIX_EPOCH,
            containers: vec![("c".into(), "i".into())],
            script: script(&pod),
        }
    }

    fn at(secs: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs)
    }

    #[test]
    fn an_unscripted_container_runs_and_is_ready() {
        let s = container_status(&fake(&[], "Always"), "u", 0, at(100.0));
        assert!(matches!(s.state, ContainerState::Running { .. }));
        assert!(s.ready);
    }

    #[test]
    fn a_flipping_container_alternates_readiness_while_it_runs() {
        let p = fake(&[(READY_FLIP, "10")], "Always");
        let ready = |t| container_status(&p, "u", 0, at(t)).ready;
        assert!(ready(0.0) && ready(9.9));
        assert!(!ready(10.0) && !ready(19.9));
        assert!(ready(20.0));
        assert!(matches!(
            container_status(&p, "u", 0, at(15.0)).state,
            ContainerState::Running { .. }
        ));
    }

    #[test]
    fn a_crashing_container_restarts_with_growing_back_off() {
        let p = fake(&[(EXIT_AFTER, "2"), (EXIT_CODE, "1")], "Always");
        // Runs 0-2, back-off 1 s, runs 3-5, back-off 2 s, runs 7-9, back-off 4 s ...
        let s = container_status(&p, "u", 0, at(2.5));
        assert!(
            matches!(&s.state, ContainerState::Waiting { reason, .. } if reason == "CrashLoopBackOff")
        );
        assert_eq!(s.restart_count, 0);
        assert!(matches!(
            s.last_state,
            Some(ContainerState::Terminated { exit_code: 1, .. })
        ));
        assert_eq!(container_status(&p, "u", 0, at(4.0)).restart_count, 1);
        let s = container_status(&p, "u", 0, at(8.0));
        assert_eq!(s.restart_count, 2);
        assert!(matches!(s.state, ContainerState::Running { .. }));
        let s = container_status(&p, "u", 0, at(10.0));
        assert!(
            matches!(&s.state, ContainerState::Waiting { message, .. } if message.starts_with("back-off 4s"))
        );
    }

    #[test]
    fn restart_policy_never_and_on_failure_stop_at_termination() {
        let done = container_status(&fake(&[(EXIT_AFTER, "1")], "OnFailure"), "u", 0, at(50.0));
        assert!(matches!(
            done.state,
            ContainerState::Terminated { exit_code: 0, .. }
        ));
        let failed = fake(&[(EXIT_AFTER, "1"), (EXIT_CODE, "3")], "Never");
        let s = container_status(&failed, "u", 0, at(50.0));
        assert!(matches!(
            s.state,
            ContainerState::Terminated { exit_code: 3, .. }
        ));
        assert_eq!(s.restart_count, 0);
    }

    #[test]
    fn not_ready_and_start_errors_are_scripted() {
        assert!(!container_status(&fake(&[(NOT_READY, "true")], "Always"), "u", 0, at(1.0)).ready);
        let s = container_status(
            &fake(&[(START_ERROR, "no such image")], "Always"),
            "u",
            0,
            at(1.0),
        );
        assert!(
            matches!(&s.state, ContainerState::Waiting { reason, message } if reason == "CreateContainerError" && message == "no such image")
        );
    }

    #[test]
    fn running_containers_report_their_scripted_usage() {
        let p = fake(
            &[(CPU_MILLICORES, "250"), (MEMORY_BYTES, "1048576")],
            "Always",
        );
        let u = pod_usage(&p, "u", at(5.0)).expect("running");
        assert_eq!(u.containers.len(), 1);
        assert_eq!(
            u.containers[0].usage,
            Usage {
                cpu_nano_cores: 250_000_000,
                memory_working_set_bytes: 1_048_576
            }
        );
        let done = fake(&[(CPU_MILLICORES, "250"), (EXIT_AFTER, "1")], "Never");
        assert_eq!(pod_usage(&done, "u", at(5.0)), None);
        let unscripted = pod_usage(&fake(&[], "Always"), "u", at(5.0)).expect("running");
        assert_eq!(unscripted.containers[0].usage, Usage::default());
    }

    #[tokio::test]
    async fn the_node_reports_the_sum_of_its_pods() {
        let rt = FakeRuntime::new();
        for (uid, cpu) in [("a", "100"), ("b", "300")] {
            let pod: Pod = serde_json::from_value(serde_json::json!({
                "metadata": {"name": uid, "namespace": "d", "uid": uid,
                    "annotations": {CPU_MILLICORES: cpu, MEMORY_BYTES: "10"}},
                "spec": {"containers": [{"name": "c", "image": "i"}, {"name": "s", "image": "i"}]}
            }))
            .expect("pod");
            rt.start_pod(&pod, Some(Ipv4Addr::LOCALHOST))
                .await
                .expect("started");
        }
        let s = rt.stats().await.expect("stats");
        assert_eq!(s.pods.len(), 2);
        assert_eq!(s.node.cpu_nano_cores, 2 * 400_000_000);
        assert_eq!(s.node.memory_working_set_bytes, 40);
    }
}
