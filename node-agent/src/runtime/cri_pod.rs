//! `CriPod`: what the CRI runtime remembers about one pod — its spec (absent while an adopted pod
//! waits for the cell to confirm it), sandbox, and per container the current CRI container, its
//! restart count, the last observed state and back-off — and the pure decisions made from it:
//! whether a container must be (re)started now, and the [`PodState`] reported for the pod (a
//! running container is ready unless its probes say otherwise).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::Pod;

use super::restart_backoff::restart_backoff;
use super::{ContainerState, ContainerStatus, PodState};
use crate::pods::probe_manager::ProbeView;

/// One container of a pod, across its restarts.
#[derive(Debug, Clone, Default)]
pub struct CriContainer {
    /// The current CRI container, once one was created.
    pub id: Option<String>,
    /// Restarts so far (the CRI attempt number of the current container).
    pub attempt: u32,
    pub image: String,
    pub image_id: String,
    /// The current container's state as last observed.
    pub observed: Option<ContainerState>,
    /// The state the previous container ended in.
    pub last_state: Option<ContainerState>,
    /// Why the container could not be created or started (ErrImagePull, CreateContainerError…).
    pub waiting: Option<(String, String)>,
    /// Failed attempts since the last successful start (image pulls, creates).
    pub failures: u32,
    /// No new attempt before this time.
    pub not_before: Option<SystemTime>,
    /// What the probes say of the current container (None: it has no probes).
    pub probe: Option<ProbeView>,
}

/// What to do with a container now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Running, or finished for good.
    Nothing,
    /// Create and start a container (the first, or a restart).
    Start,
    /// In back-off.
    Wait,
}

impl CriContainer {
    /// The decision for this container under `restart_policy` at `now`.
    pub fn next(&self, restart_policy: &str, now: SystemTime) -> Next {
        let in_backoff = self.not_before.is_some_and(|t| now < t);
        match (&self.id, &self.observed) {
            (None, _) => {
                if in_backoff {
                    Next::Wait
                } else {
                    Next::Start
                }
            }
            (
                Some(_),
                Some(ContainerState::Terminated {
                    exit_code,
                    finished_at,
                    ..
                }),
            ) => {
                if !restarts(restart_policy, *exit_code) {
                    return Next::Nothing;
                }
                if now < *finished_at + restart_backoff(self.attempt + 1) {
                    Next::Wait
                } else {
                    Next::Start
                }
            }
            _ => Next::Nothing,
        }
    }

    /// Records a failed attempt: `reason` shown while waiting, back-off before the next one.
    pub fn failed(&mut self, reason: &str, message: String, now: SystemTime) {
        self.failures += 1;
        self.waiting = Some((reason.to_string(), message));
        self.not_before = Some(now + restart_backoff(self.failures));
    }

    /// Records why the container cannot be created yet (a missing ConfigMap, a volume that
    /// cannot be set up): shown while waiting, tried again on the next sync without back-off.
    /// Whether the reason or message changed.
    pub fn blocked(&mut self, reason: &str, message: String) -> bool {
        let changed = self
            .waiting
            .as_ref()
            .is_none_or(|(r, m)| r != reason || *m != message);
        self.waiting = Some((reason.to_string(), message));
        changed
    }

    /// The status reported for container `name` of pod `pod_label` ("name_namespace(uid)").
    fn status(
        &self,
        name: &str,
        restart_policy: &str,
        pod_label: &str,
        now: SystemTime,
    ) -> ContainerStatus {
        let waiting = |reason: &str, message: String| ContainerState::Waiting {
            reason: reason.to_string(),
            message,
        };
        let mut last_state = self.last_state.clone();
        let state = match (&self.id, &self.observed) {
            (
                Some(_),
                Some(
                    t @ ContainerState::Terminated {
                        exit_code,
                        finished_at,
                        ..
                    },
                ),
            ) if restarts(restart_policy, *exit_code) => {
                last_state = Some(t.clone());
                let backoff = restart_backoff(self.attempt + 1);
                if now < *finished_at + backoff {
                    waiting(
                        "CrashLoopBackOff",
                        format!(
                            "back-off {}s restarting failed container={name} pod={pod_label}",
                            backoff.as_secs()
                        ),
                    )
                } else {
                    t.clone()
                }
            }
            (Some(_), Some(observed)) => observed.clone(),
            _ => match &self.waiting {
                // A failed pull is ErrImagePull; while its back-off runs, ImagePullBackOff.
                Some((reason, message))
                    if reason == "ErrImagePull"
                        && self.not_before.is_some_and(|t| now < t)
                        && self.failures > 1 =>
                {
                    waiting("ImagePullBackOff", message.clone())
                }
                Some((reason, message)) => waiting(reason, message.clone()),
                None => waiting("ContainerCreating", String::new()),
            },
        };
        ContainerStatus {
            name: name.to_string(),
            image: self.image.clone(),
            container_id: self
                .id
                .as_ref()
                .map(|id| format!("containerd://{id}"))
                .unwrap_or_default(),
            image_id: self.image_id.clone(),
            ready: matches!(state, ContainerState::Running { .. })
                && self.probe.is_none_or(|p| p.ready),
            state,
            last_state,
            restart_count: i32::try_from(self.attempt).unwrap_or(i32::MAX),
        }
    }
}

/// Whether `policy` restarts a container that exited with `exit_code`.
pub fn restarts(policy: &str, exit_code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => true,
    }
}

/// One pod held by the CRI runtime.
#[derive(Debug, Clone)]
pub struct CriPod {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    /// The pod as the cell has it; `None` for a pod adopted from the runtime and not yet seen
    /// in the cell (the agent neither restarts nor kills its containers until it knows).
    pub spec: Option<Pod>,
    pub sandbox_id: Option<String>,
    pub sandbox_attempt: u32,
    pub pod_ip: Option<Ipv4Addr>,
    pub started_at: SystemTime,
    pub containers: BTreeMap<String, CriContainer>,
}

impl CriPod {
    pub fn restart_policy(&self) -> String {
        self.spec
            .as_ref()
            .and_then(|p| p.spec.as_ref())
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    /// The container names in spec order (adopted pods: the runtime's containers).
    pub fn container_names(&self) -> Vec<String> {
        match self.spec.as_ref().and_then(|p| p.spec.as_ref()) {
            Some(spec) => spec.containers.iter().map(|c| c.name.clone()).collect(),
            None => self.containers.keys().cloned().collect(),
        }
    }

    /// The pod as reported at `now`.
    pub fn state(&self, now: SystemTime) -> PodState {
        let policy = self.restart_policy();
        let label = format!("{}_{}({})", self.name, self.namespace, self.uid);
        let containers = self
            .container_names()
            .iter()
            .map(|name| {
                let c = self.containers.get(name).cloned().unwrap_or_default();
                c.status(name, &policy, &label, now)
            })
            .collect();
        PodState {
            uid: self.uid.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            pod_ip: self.pod_ip,
            started_at: self.started_at,
            containers,
        }
    }
}

/// Seconds as a Duration, for grace periods given in whole seconds.
pub fn secs(s: i64) -> Duration {
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn exited(code: i32, finished: u64) -> CriContainer {
        CriContainer {
            id: Some("c1".into()),
            observed: Some(ContainerState::Terminated {
                exit_code: code,
                reason: "Error".into(),
                started_at: at(0),
                finished_at: at(finished),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_new_container_starts_and_a_running_one_is_left_alone() {
        let c = CriContainer::default();
        assert_eq!(c.next("Always", at(0)), Next::Start);
        let running = CriContainer {
            id: Some("c".into()),
            observed: Some(ContainerState::Running { started_at: at(0) }),
            ..Default::default()
        };
        assert_eq!(running.next("Always", at(100)), Next::Nothing);
    }

    #[test]
    fn exited_containers_restart_after_a_doubling_back_off_per_policy() {
        let mut c = exited(1, 10);
        assert_eq!(c.next("Always", at(10)), Next::Wait);
        assert_eq!(c.next("Always", at(11)), Next::Start);
        c.attempt = 3; // fourth back-off: 8 s
        assert_eq!(c.next("Always", at(17)), Next::Wait);
        assert_eq!(c.next("Always", at(18)), Next::Start);
        assert_eq!(exited(1, 10).next("Never", at(100)), Next::Nothing);
        assert_eq!(exited(0, 10).next("OnFailure", at(100)), Next::Nothing);
        assert_eq!(exited(2, 10).next("OnFailure", at(100)), Next::Start);
    }

    #[test]
    fn crash_loop_back_off_is_reported_with_the_last_termination() {
        let mut c = exited(1, 10);
        c.attempt = 1;
        let s = c.status("app", "Always", "p_ns(u)", at(11));
        assert!(
            matches!(&s.state, ContainerState::Waiting { reason, message } if reason == "CrashLoopBackOff" && message.starts_with("back-off 2s"))
        );
        assert!(matches!(
            s.last_state,
            Some(ContainerState::Terminated { exit_code: 1, .. })
        ));
        assert_eq!(s.restart_count, 1);
        assert!(!s.ready);
        let never = exited(1, 10).status("app", "Never", "p_ns(u)", at(11));
        assert!(matches!(
            never.state,
            ContainerState::Terminated { exit_code: 1, .. }
        ));
    }

    #[test]
    fn probes_gate_readiness_of_a_running_container() {
        let mut c = CriContainer {
            id: Some("c".into()),
            observed: Some(ContainerState::Running { started_at: at(0) }),
            ..Default::default()
        };
        assert!(c.status("app", "Always", "p", at(1)).ready);
        c.probe = Some(ProbeView {
            started: true,
            ready: false,
        });
        assert!(!c.status("app", "Always", "p", at(1)).ready);
        c.probe = Some(ProbeView {
            started: true,
            ready: true,
        });
        assert!(c.status("app", "Always", "p", at(1)).ready);
    }

    #[test]
    fn config_errors_wait_without_back_off() {
        let mut c = CriContainer::default();
        assert!(c.blocked(
            "CreateContainerConfigError",
            "configmaps \"x\" not found".into()
        ));
        assert!(!c.blocked(
            "CreateContainerConfigError",
            "configmaps \"x\" not found".into()
        ));
        assert_eq!(c.next("Always", at(0)), Next::Start, "tried again at once");
        let s = c.status("app", "Always", "p", at(0));
        assert!(
            matches!(&s.state, ContainerState::Waiting { reason, .. } if reason == "CreateContainerConfigError")
        );
    }

    #[test]
    fn failed_pulls_show_err_image_pull_then_image_pull_back_off() {
        let mut c = CriContainer::default();
        c.failed("ErrImagePull", "not found".into(), at(0));
        let s = c.status("app", "Always", "p", at(0));
        assert!(
            matches!(&s.state, ContainerState::Waiting { reason, message } if reason == "ErrImagePull" && message == "not found")
        );
        assert_eq!(c.next("Always", at(0)), Next::Wait);
        assert_eq!(c.next("Always", at(1)), Next::Start);
        c.failed("ErrImagePull", "not found".into(), at(1));
        let s = c.status("app", "Always", "p", at(2));
        assert!(
            matches!(&s.state, ContainerState::Waiting { reason, .. } if reason == "ImagePullBackOff")
        );
    }
}
