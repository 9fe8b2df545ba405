//! `ContainerRuntime`: what the agent needs from a container runtime — start a pod, stop it,
//! and report the state of its containers. The kubelet's CRI calls map onto it one to one
//! (RunPodSandbox + CreateContainer/StartContainer; StopContainer/StopPodSandbox/Remove*;
//! ListContainers/ContainerStatus; ListContainerStats for `stats`). Runtimes: `fake` (in memory) and `cri` (containerd or any
//! CRI runtime over a unix socket).

pub mod cri;
pub mod cri_client;
pub mod cri_pod;
pub mod cri_pod_setup;
pub mod cri_spec;
pub mod cri_stats;
pub mod cri_status;
pub mod fake;
pub mod node_usage;
pub mod restart_backoff;
pub mod usage;

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::Pod;

/// The state of one container as the runtime sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerState {
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        started_at: SystemTime,
    },
    Terminated {
        exit_code: i32,
        reason: String,
        started_at: SystemTime,
        finished_at: SystemTime,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerStatus {
    pub name: String,
    pub image: String,
    pub container_id: String,
    /// The image the container runs, as the runtime resolved it (digest), for `imageID`.
    pub image_id: String,
    pub state: ContainerState,
    /// The state before the last restart, if any.
    pub last_state: Option<ContainerState>,
    pub restart_count: i32,
    pub ready: bool,
}

/// One pod as the runtime sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PodState {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub pod_ip: Option<Ipv4Addr>,
    pub started_at: SystemTime,
    pub containers: Vec<ContainerStatus>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("pod {0}: {1}")]
    Pod(String, String),
    /// A CRI call failed (the runtime answered with an error, or could not be reached).
    #[error("{call}: {status}")]
    Cri {
        call: &'static str,
        status: Box<tonic::Status>,
    },
}

impl RuntimeError {
    /// Wraps a failed CRI call.
    pub fn cri(call: &'static str) -> impl FnOnce(tonic::Status) -> RuntimeError {
        move |status| RuntimeError::Cri {
            call,
            status: Box::new(status),
        }
    }
}

/// A container runtime. Implementations are cheap to clone and safe to share.
pub trait ContainerRuntime: Clone + Send + Sync + 'static {
    /// Whether the runtime gives pods their IPs itself (CNI's IPAM under CRI); when it does not,
    /// the agent hands each pod one from the node's pod CIDR.
    fn assigns_pod_ips(&self) -> bool {
        false
    }

    /// Starts `pod` (sandbox and containers), with `pod_ip` when the agent chose one (see
    /// [`ContainerRuntime::assigns_pod_ips`]). Starting a running pod is a no-op; a runtime
    /// may also use the call to bring a pod's containers back in line with its spec.
    fn start_pod(
        &self,
        pod: &Pod,
        pod_ip: Option<Ipv4Addr>,
    ) -> impl std::future::Future<Output = Result<(), RuntimeError>> + Send;

    /// Stops the pod's containers within `grace` and removes the pod.
    fn stop_pod(
        &self,
        uid: &str,
        grace: Duration,
    ) -> impl std::future::Future<Output = Result<(), RuntimeError>> + Send;

    /// Every pod the runtime holds.
    fn list(&self) -> impl std::future::Future<Output = Vec<PodState>> + Send;

    /// CPU and memory of the node and of its pods' running containers (see [`usage`]).
    fn stats(
        &self,
    ) -> impl std::future::Future<Output = Result<usage::UsageSummary, RuntimeError>> + Send;
}
