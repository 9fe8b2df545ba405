//! Pure mapping of CRI container statuses onto the agent's [`ContainerState`]: created →
//! Waiting(ContainerCreating), running → Running, exited → Terminated with the runtime's exit
//! code and reason (containerd says Completed, Error or OOMKilled), unknown → Waiting(Unknown).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_cri::v1 as cri;

use super::ContainerState;

/// CRI timestamps are nanoseconds since the epoch.
pub fn from_nanos(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// The state a CRI ContainerStatus describes.
pub fn container_state(s: &cri::ContainerStatus) -> ContainerState {
    match cri::ContainerState::try_from(s.state) {
        Ok(cri::ContainerState::ContainerRunning) => ContainerState::Running {
            started_at: from_nanos(s.started_at),
        },
        Ok(cri::ContainerState::ContainerExited) => ContainerState::Terminated {
            exit_code: s.exit_code,
            reason: if s.reason.is_empty() {
                if s.exit_code == 0 {
                    "Completed"
                } else {
                    "Error"
                }
                .to_string()
            } else {
                s.reason.clone()
            },
            started_at: from_nanos(s.started_at),
            finished_at: from_nanos(s.finished_at),
        },
        Ok(cri::ContainerState::ContainerCreated) => ContainerState::Waiting {
            reason: "ContainerCreating".into(),
            message: String::new(),
        },
        _ => ContainerState::Waiting {
            reason: "Unknown".into(),
            message: s.message.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exited_containers_keep_exit_code_reason_and_times() {
        let s = cri::ContainerStatus {
            state: cri::ContainerState::ContainerExited as i32,
            exit_code: 137,
            reason: "OOMKilled".into(),
            started_at: 1_000_000_000,
            finished_at: 3_000_000_000,
            ..Default::default()
        };
        assert_eq!(
            container_state(&s),
            ContainerState::Terminated {
                exit_code: 137,
                reason: "OOMKilled".into(),
                started_at: UNIX_EPOCH + Duration::from_secs(1),
                finished_at: UNIX_EPOCH + Duration::from_secs(3),
            }
        );
        let no_reason = cri::ContainerStatus {
            state: cri::ContainerState::ContainerExited as i32,
            exit_code: 2,
            ..Default::default()
        };
        assert!(
            matches!(container_state(&no_reason), ContainerState::Terminated { reason, .. } if reason == "Error")
        );
    }

    #[test]
    fn running_and_created_containers() {
        let running = cri::ContainerStatus {
            state: cri::ContainerState::ContainerRunning as i32,
            started_at: 5_000_000_000,
            ..Default::default()
        };
        assert_eq!(
            container_state(&running),
            ContainerState::Running {
                started_at: UNIX_EPOCH + Duration::from_secs(5)
            }
        );
        let created = cri::ContainerStatus {
            state: cri::ContainerState::ContainerCreated as i32,
            ..Default::default()
        };
        assert!(
            matches!(container_state(&created), ContainerState::Waiting { reason, .. } if reason == "ContainerCreating")
        );
    }
}
