//! `PodSetup`: what the CRI runtime does for a pod besides sandbox and containers — fetches the
//! ConfigMaps and Secrets it refers to, sets up and refreshes its volumes, resolves each
//! container's env and mounts (or says why the container must wait, with the kubelet's reason
//! and an Event), keeps a probe worker on every running container that has probes, and removes
//! the pod's volumes when it goes.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};

use super::cri_client::CriClient;
use super::cri_pod::CriPod;
use super::ContainerState;
use crate::pods::cluster_api::{ClusterApi, PodEvent};
use crate::pods::env::{container_env, EnvError, PodFields};
use crate::pods::pod_objects::{referenced, PodObjects};
use crate::pods::probe_manager::{ProbeManager, ProbeRequest};
use crate::pods::volume_manager::VolumeManager;
use crate::pods::volume_plan::{container_mounts, plan_volumes, PlannedVolume, VolumeError};

/// Kubernetes' default terminationGracePeriodSeconds.
const DEFAULT_GRACE: i64 = 30;

/// Why a container cannot be created now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The container's waiting reason.
    pub reason: &'static str,
    pub message: String,
    /// The Warning event's reason and message.
    pub event_reason: &'static str,
    pub event_message: String,
}

/// A container's resolved environment and CRI mounts.
pub type ContainerInputs = (Vec<(String, String)>, Vec<cri::Mount>);

/// A pod's objects and volumes as of this sync.
pub struct Prepared {
    objects: PodObjects,
    volumes: Result<Vec<PlannedVolume>, VolumeError>,
}

impl Prepared {
    /// Env and mounts for container `c`, or why it must wait.
    pub fn container(
        &self,
        pod: &Pod,
        c: &Container,
        fields: &PodFields<'_>,
    ) -> Result<ContainerInputs, Blocked> {
        let volumes = self.volumes.as_ref().map_err(|e| Blocked {
            reason: "ContainerCreating",
            message: e.to_string(),
            event_reason: "FailedMount",
            event_message: e.to_string(),
        })?;
        let config_error = |message: String| Blocked {
            reason: "CreateContainerConfigError",
            event_message: format!("Error: {message}"),
            message,
            event_reason: "Failed",
        };
        let env = container_env(pod, c, &self.objects, fields).map_err(|e| match e {
            EnvError::Missing(m) | EnvError::Unavailable(m) => config_error(m),
        })?;
        let mounts = container_mounts(c, volumes).map_err(config_error)?;
        Ok((env, mounts))
    }
}

/// Which pod an event is about.
#[derive(Debug, Clone)]
pub struct PodRef {
    pub uid: String,
    pub namespace: String,
    pub name: String,
}

impl PodRef {
    pub fn of(pod: &CriPod) -> PodRef {
        PodRef {
            uid: pod.uid.clone(),
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
        }
    }
}

/// Objects, volumes and probes of the runtime's pods. Clones share state.
#[derive(Clone)]
pub struct PodSetup {
    api: Arc<dyn ClusterApi>,
    volumes: VolumeManager,
    probes: ProbeManager,
}

impl PodSetup {
    /// Pods' volumes go under `volume_root/<uid>/`.
    pub fn new(cri: CriClient, api: Arc<dyn ClusterApi>, volume_root: PathBuf) -> PodSetup {
        PodSetup {
            probes: ProbeManager::new(cri, api.clone()),
            volumes: VolumeManager::new(volume_root),
            api,
        }
    }

    /// Fetches the pod's objects and sets up (or refreshes) its volumes.
    pub async fn prepare(&self, pod: &CriPod, spec: &Pod) -> Prepared {
        let objects = if referenced(spec).is_empty() {
            PodObjects::new(&pod.namespace)
        } else {
            PodObjects::fetch(self.api.as_ref(), spec).await
        };
        let volumes = plan_volumes(spec, &self.volumes.pod_dir(&pod.uid), &objects)
            .and_then(|v| self.volumes.setup(&v).map(|()| v));
        if let Err(e) = &volumes {
            tracing::debug!(uid = %pod.uid, error = %e, "volumes not ready");
        }
        Prepared { objects, volumes }
    }

    /// Records a Warning event that container `container` of `pod` waits because of `b`.
    pub fn blocked_event(&self, pod: &PodRef, container: &str, b: &Blocked) {
        tracing::warn!(uid = %pod.uid, container, reason = b.reason, message = %b.message, "container cannot be created");
        self.event(
            pod,
            Some(container),
            b.event_reason,
            b.event_message.clone(),
        );
    }

    fn event(&self, pod: &PodRef, container: Option<&str>, reason: &str, message: String) {
        let e = PodEvent {
            namespace: pod.namespace.clone(),
            pod_name: pod.name.clone(),
            pod_uid: pod.uid.clone(),
            type_: "Warning",
            reason: reason.to_string(),
            message,
            field_path: container.map(|c| format!("spec.containers{{{c}}}")),
        };
        let api = self.api.clone();
        tokio::spawn(async move { api.record_event(e).await });
    }

    /// Keeps one probe worker per running container with probes and copies their views into
    /// the pod's container states.
    pub fn sync_probes(&self, pod: &mut CriPod, spec: &Pod) {
        let containers = spec
            .spec
            .as_ref()
            .map(|s| s.containers.as_slice())
            .unwrap_or_default();
        let pod_grace = spec
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(DEFAULT_GRACE);
        let pod_ip = pod.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let mut current = BTreeSet::new();
        for c in containers {
            let Some(state) = pod.containers.get_mut(&c.name) else {
                continue;
            };
            state.probe = None;
            if !ProbeManager::has_probes(c) {
                continue;
            }
            let (Some(id), Some(ContainerState::Running { started_at })) =
                (&state.id, &state.observed)
            else {
                continue;
            };
            current.insert(id.clone());
            let grace = c
                .liveness_probe
                .as_ref()
                .and_then(|p| p.termination_grace_period_seconds)
                .unwrap_or(pod_grace);
            self.probes.ensure(ProbeRequest {
                uid: pod.uid.clone(),
                namespace: pod.namespace.clone(),
                pod_name: pod.name.clone(),
                container: c.clone(),
                container_id: id.clone(),
                pod_ip: pod_ip.clone(),
                started_at: *started_at,
                grace: Duration::from_secs(u64::try_from(grace).unwrap_or(0)),
            });
            state.probe = self.probes.view(id);
        }
        self.probes.retain(&pod.uid, &current);
    }

    /// Removes what the pod had: probe workers and volumes.
    pub fn teardown(&self, uid: &str) {
        self.probes.forget_pod(uid);
        self.volumes.teardown(uid);
    }

    /// Removes the volumes of pods other than `keep` (gone while the agent was down).
    pub fn sweep(&self, keep: &BTreeSet<String>) {
        self.volumes.sweep(keep);
    }
}
