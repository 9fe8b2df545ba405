//! `ProbeManager`: one worker task per running container that has probes, as the kubelet's
//! prober runs them. A worker runs the probes when [`ContainerProbes`] says they are due, records
//! an Unhealthy event when a probe starts failing, publishes the container's started/ready view
//! (read by the runtime's sync into the pod status), and when the liveness or startup probe
//! fails for good records a Killing event and stops the container within its grace period —
//! the runtime's restart policy and back-off then bring it back. Workers end with their
//! container: when it is replaced, killed, or its pod goes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Container;

use super::cluster_api::{ClusterApi, PodEvent};
use super::probe_action::{run_probe, ProbeTarget};
use super::probe_state::{ContainerProbes, ProbeKind, Verdict};
use crate::runtime::cri_client::CriClient;

/// What the probes say about one container instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeView {
    pub started: bool,
    pub ready: bool,
}

/// A running container to probe.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    pub uid: String,
    pub namespace: String,
    pub pod_name: String,
    pub container: Container,
    pub container_id: String,
    pub pod_ip: String,
    pub started_at: SystemTime,
    /// How long a killed container may take to stop.
    pub grace: Duration,
}

struct Worker {
    uid: String,
    task: tokio::task::AbortHandle,
}

/// The probe workers of a node. Clones share state.
#[derive(Clone)]
pub struct ProbeManager {
    cri: CriClient,
    api: Arc<dyn ClusterApi>,
    workers: Arc<Mutex<HashMap<String, Worker>>>,
    views: Arc<Mutex<HashMap<String, ProbeView>>>,
}

impl ProbeManager {
    pub fn new(cri: CriClient, api: Arc<dyn ClusterApi>) -> ProbeManager {
        ProbeManager {
            cri,
            api,
            workers: Arc::default(),
            views: Arc::default(),
        }
    }

    /// Whether `c` has any probe.
    pub fn has_probes(c: &Container) -> bool {
        c.liveness_probe.is_some() || c.readiness_probe.is_some() || c.startup_probe.is_some()
    }

    /// Starts probing `req.container_id` unless a worker already does.
    pub fn ensure(&self, req: ProbeRequest) {
        let Ok(mut workers) = self.workers.lock() else {
            return;
        };
        if workers.contains_key(&req.container_id) {
            return;
        }
        let probes = ContainerProbes::new(&req.container);
        self.set_view(&req.container_id, &probes);
        let id = req.container_id.clone();
        let uid = req.uid.clone();
        let me = self.clone();
        let task = tokio::spawn(async move { me.work(req, probes).await }).abort_handle();
        workers.insert(id, Worker { uid, task });
    }

    /// The view of container `id`, if it is probed.
    pub fn view(&self, container_id: &str) -> Option<ProbeView> {
        self.views.lock().ok()?.get(container_id).copied()
    }

    /// Stops the workers of pod `uid` whose container is not in `current`.
    pub fn retain(&self, uid: &str, current: &BTreeSet<String>) {
        self.stop_where(|id, w| w.uid == uid && !current.contains(id));
    }

    /// Stops every worker of pod `uid`.
    pub fn forget_pod(&self, uid: &str) {
        self.stop_where(|_, w| w.uid == uid);
    }

    fn stop_where(&self, gone: impl Fn(&String, &Worker) -> bool) {
        let Ok(mut workers) = self.workers.lock() else {
            return;
        };
        let ids: Vec<String> = workers
            .iter()
            .filter(|(id, w)| gone(id, w))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some(w) = workers.remove(&id) {
                w.task.abort();
            }
            if let Ok(mut v) = self.views.lock() {
                v.remove(&id);
            }
        }
    }

    fn set_view(&self, id: &str, probes: &ContainerProbes) {
        if let Ok(mut v) = self.views.lock() {
            v.insert(
                id.to_string(),
                ProbeView {
                    started: probes.started(),
                    ready: probes.ready(),
                },
            );
        }
    }

    fn event(&self, req: &ProbeRequest, type_: &'static str, reason: &str, message: String) {
        let e = PodEvent {
            namespace: req.namespace.clone(),
            pod_name: req.pod_name.clone(),
            pod_uid: req.uid.clone(),
            type_,
            reason: reason.to_string(),
            message,
            field_path: Some(format!("spec.containers{{{}}}", req.container.name)),
        };
        let api = self.api.clone();
        tokio::spawn(async move { api.record_event(e).await });
    }

    async fn work(self, req: ProbeRequest, mut probes: ContainerProbes) {
        let since = |t: SystemTime| t.duration_since(req.started_at).unwrap_or_default();
        // The last failure reported per probe: an event when a probe starts failing or fails
        // for another reason (the kubelet records every failure and lets events aggregate).
        let mut failing: BTreeMap<ProbeKind, String> = BTreeMap::new();
        loop {
            let at = since(SystemTime::now());
            for spec in probes.due(at) {
                let target = ProbeTarget {
                    cri: &self.cri,
                    container_id: &req.container_id,
                    pod_ip: &req.pod_ip,
                };
                let result = run_probe(&spec, &target).await;
                match &result {
                    Err(why) if failing.get(&spec.kind) != Some(why) => {
                        failing.insert(spec.kind, why.clone());
                        tracing::info!(uid = %req.uid, container = %req.container.name, kind = spec.kind.name(), %why, "probe failed");
                        self.event(
                            &req,
                            "Warning",
                            "Unhealthy",
                            format!("{} probe failed: {why}", spec.kind.name()),
                        );
                    }
                    Ok(()) => {
                        failing.remove(&spec.kind);
                    }
                    Err(_) => {}
                }
                if let Verdict::Kill(kind) = probes.record(spec.kind, result.is_ok(), at) {
                    self.set_view(&req.container_id, &probes);
                    self.kill(&req, kind).await;
                    return;
                }
            }
            self.set_view(&req.container_id, &probes);
            let Some(next) = probes.next_due() else {
                return;
            };
            let wait = next.saturating_sub(since(SystemTime::now()));
            tokio::time::sleep(wait.max(Duration::from_millis(50))).await;
        }
    }

    async fn kill(&self, req: &ProbeRequest, kind: ProbeKind) {
        let message = format!(
            "Container {} failed {} probe, will be restarted",
            req.container.name,
            kind.name().to_lowercase()
        );
        tracing::info!(uid = %req.uid, container = %req.container.name, "{message}");
        self.event(req, "Normal", "Killing", message);
        let stop = cri::StopContainerRequest {
            container_id: req.container_id.clone(),
            timeout: i64::try_from(req.grace.as_secs()).unwrap_or(i64::MAX),
        };
        if let Err(e) = self.cri.runtime.clone().stop_container(stop).await {
            tracing::warn!(uid = %req.uid, container = %req.container.name, error = %e, "StopContainer after a failed probe failed");
        }
    }
}
