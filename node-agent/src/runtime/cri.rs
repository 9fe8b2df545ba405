//! `CriRuntime`: [`ContainerRuntime`] over the Kubernetes CRI (`runtime.v1`), as the kubelet
//! drives containerd: RunPodSandbox (CNI gives the pod its IP), PullImage per imagePullPolicy,
//! CreateContainer/StartContainer, restarts with back-off per restartPolicy, StopContainer with
//! the grace period, StopPodSandbox/RemovePodSandbox.
//!
//! One sync loop (every second, and at once for a new pod) observes the runtime and acts; each
//! pod has its own lock, so a pod is synced by one task at a time while pods are started and
//! synced side by side (a new pod never waits for the others). Results are kept as
//! [`PodState`] snapshots, so `list` never waits on the runtime. On start the runtime adopts the sandboxes labelled as keel-agent's: a
//! ready sandbox becomes a pod awaiting confirmation (nothing is restarted or killed until the
//! cell's pod list says whether it should run); a dead one is removed.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Pod;

use super::cri_client::CriClient;
use super::cri_pod::{CriContainer, CriPod, Next};
use super::cri_pod_setup::{PodRef, PodSetup, Prepared};
use super::cri_spec::{
    container_config, pod_identity, sandbox_config, LABEL_CONTAINER_NAME, LABEL_MANAGED_BY,
    LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, MANAGED_BY,
};
use super::cri_stats::CriStats;
use super::cri_status::{container_state, from_nanos};
use super::usage::UsageSummary;
use super::{ContainerRuntime, PodState, RuntimeError};
use crate::pods::cluster_api::ClusterApi;
use crate::pods::env::PodFields;
use crate::pods::object_cache::CachedObjects;

/// How often every pod is looked at again (restarts, exits, back-offs ending).
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// How old a cached ConfigMap or Secret may be before a lookup refreshes it in the background.
const OBJECTS_FRESH_FOR: Duration = Duration::from_secs(2);

/// A cached ConfigMap or Secret no pod looked up for this long is dropped.
const OBJECTS_FORGOTTEN_AFTER: Duration = Duration::from_secs(60);

/// A sync of every pod taking longer than this is logged (it delays restarts and status).
const SLOW_SYNC: Duration = Duration::from_secs(2);

/// How many pods the periodic sync works on at once.
const SYNC_PARALLEL: usize = 4;

/// One pod, locked while a task syncs it; `None` once the pod was stopped (a sync that was
/// waiting for the lock then leaves it alone).
type PodCell = Arc<tokio::sync::Mutex<Option<CriPod>>>;

#[derive(Debug, Clone)]
pub struct CriOptions {
    /// Pods' log directories go under here.
    pub log_root: PathBuf,
    /// This node's name (for `spec.nodeName` fieldRefs).
    pub node_name: String,
    /// Pods' volumes go under here, one directory per pod uid.
    pub volume_root: PathBuf,
}

/// The CRI runtime. Clones share state.
#[derive(Clone)]
pub struct CriRuntime {
    cri: CriClient,
    opts: Arc<CriOptions>,
    /// The pods and what is known of them. The map's lock is never held across an await; a
    /// pod's own lock is held while it is synced.
    pods: Arc<Mutex<BTreeMap<String, PodCell>>>,
    /// What `list` answers: each pod's state after its last sync.
    snapshots: Arc<Mutex<BTreeMap<String, PodState>>>,
    /// Objects, volumes and probes.
    setup: PodSetup,
    /// Resource usage (keeps the last reading for CPU rates).
    stats: CriStats,
}

impl CriRuntime {
    /// Adopts the pods the runtime already runs for keel-agent, then starts the sync loop;
    /// `api` answers for the ConfigMaps and Secrets pods refer to and records events.
    pub async fn start(
        cri: CriClient,
        opts: CriOptions,
        api: Arc<dyn ClusterApi>,
    ) -> Result<CriRuntime, RuntimeError> {
        // Pods' ConfigMaps and Secrets come from memory; the cell is asked in the background.
        let api: Arc<dyn ClusterApi> = Arc::new(CachedObjects::new(
            api,
            OBJECTS_FRESH_FOR,
            OBJECTS_FORGOTTEN_AFTER,
        ));
        let setup = PodSetup::new(cri.clone(), api, opts.volume_root.clone());
        let rt = CriRuntime {
            stats: CriStats::new(cri.clone()),
            cri,
            opts: Arc::new(opts),
            pods: Arc::default(),
            snapshots: Arc::default(),
            setup,
        };
        rt.adopt().await?;
        let adopted = rt.pod_uids();
        rt.setup.sweep(&adopted);
        let looping = rt.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SYNC_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                looping.sync_all().await;
            }
        });
        Ok(rt)
    }

    fn cri(&self) -> CriClient {
        self.cri.clone()
    }

    fn pod_uids(&self) -> std::collections::BTreeSet<String> {
        self.pods
            .lock()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn pod_cells(&self) -> Vec<PodCell> {
        self.pods
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Rebuilds the view from sandbox and container labels.
    async fn adopt(&self) -> Result<(), RuntimeError> {
        let sandboxes = self.sandboxes(&[(LABEL_MANAGED_BY, MANAGED_BY)]).await?;
        let mut pods: BTreeMap<String, CriPod> = BTreeMap::new();
        for sb in sandboxes {
            let label = |k: &str| sb.labels.get(k).cloned().unwrap_or_default();
            let uid = label(LABEL_POD_UID);
            if sb.state != cri::PodSandboxState::SandboxReady as i32 || pods.contains_key(&uid) {
                tracing::info!(sandbox = %sb.id, %uid, "removing a dead or duplicate sandbox");
                self.remove_sandbox(&sb.id, Duration::ZERO).await;
                continue;
            }
            let mut pod = CriPod {
                uid: uid.clone(),
                namespace: label(LABEL_POD_NAMESPACE),
                name: label(LABEL_POD_NAME),
                spec: None,
                sandbox_id: Some(sb.id.clone()),
                sandbox_attempt: sb.metadata.as_ref().map_or(0, |m| m.attempt),
                pod_ip: None,
                started_at: from_nanos(sb.created_at),
                containers: BTreeMap::new(),
            };
            for c in self.containers_of(&sb.id).await? {
                let name = c
                    .labels
                    .get(LABEL_CONTAINER_NAME)
                    .cloned()
                    .unwrap_or_default();
                let attempt = c.metadata.as_ref().map_or(0, |m| m.attempt);
                let newer = pod
                    .containers
                    .get(&name)
                    .is_none_or(|known| known.attempt <= attempt);
                if newer {
                    pod.containers.insert(
                        name,
                        CriContainer {
                            id: Some(c.id.clone()),
                            attempt,
                            image: c
                                .image
                                .as_ref()
                                .map(|i| i.image.clone())
                                .unwrap_or_default(),
                            image_id: c.image_ref.clone(),
                            ..Default::default()
                        },
                    );
                }
            }
            self.observe(&mut pod).await;
            tracing::info!(%uid, pod = %format!("{}/{}", pod.namespace, pod.name),
                containers = pod.containers.len(), "adopted a running pod");
            self.publish(&pod);
            pods.insert(uid, pod);
        }
        if let Ok(mut cells) = self.pods.lock() {
            for (uid, pod) in pods {
                cells.insert(uid, Arc::new(tokio::sync::Mutex::new(Some(pod))));
            }
        }
        Ok(())
    }

    async fn sandboxes(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<cri::PodSandbox>, RuntimeError> {
        let filter = cri::PodSandboxFilter {
            label_selector: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        Ok(self
            .cri()
            .runtime
            .list_pod_sandbox(cri::ListPodSandboxRequest {
                filter: Some(filter),
            })
            .await
            .map_err(RuntimeError::cri("ListPodSandbox"))?
            .into_inner()
            .items)
    }

    async fn containers_of(&self, sandbox_id: &str) -> Result<Vec<cri::Container>, RuntimeError> {
        let filter = cri::ContainerFilter {
            pod_sandbox_id: sandbox_id.to_string(),
            ..Default::default()
        };
        Ok(self
            .cri()
            .runtime
            .list_containers(cri::ListContainersRequest {
                filter: Some(filter),
            })
            .await
            .map_err(RuntimeError::cri("ListContainers"))?
            .into_inner()
            .containers)
    }

    /// Stops a sandbox's containers within `grace`, then stops and removes the sandbox (which
    /// removes its containers). Errors are logged: the next sync or stop tries again.
    async fn remove_sandbox(&self, sandbox_id: &str, grace: Duration) {
        let mut rt = self.cri().runtime;
        if let Ok(containers) = self.containers_of(sandbox_id).await {
            let stops = containers.iter().map(|c| {
                let mut rt = rt.clone();
                let req = cri::StopContainerRequest {
                    container_id: c.id.clone(),
                    timeout: i64::try_from(grace.as_secs()).unwrap_or(i64::MAX),
                };
                async move { rt.stop_container(req).await }
            });
            for r in futures::future::join_all(stops).await {
                if let Err(e) = r {
                    tracing::warn!(sandbox = sandbox_id, error = %e, "StopContainer failed");
                }
            }
        }
        let id = sandbox_id.to_string();
        if let Err(e) = rt
            .stop_pod_sandbox(cri::StopPodSandboxRequest {
                pod_sandbox_id: id.clone(),
            })
            .await
        {
            tracing::warn!(sandbox = sandbox_id, error = %e, "StopPodSandbox failed");
        }
        if let Err(e) = rt
            .remove_pod_sandbox(cri::RemovePodSandboxRequest { pod_sandbox_id: id })
            .await
        {
            tracing::warn!(sandbox = sandbox_id, error = %e, "RemovePodSandbox failed");
        }
    }

    /// Refreshes the sandbox's IP and readiness and every current container's state.
    async fn observe(&self, pod: &mut CriPod) {
        let mut rt = self.cri().runtime;
        if let Some(sb) = pod.sandbox_id.clone() {
            match rt
                .pod_sandbox_status(cri::PodSandboxStatusRequest {
                    pod_sandbox_id: sb.clone(),
                    verbose: false,
                })
                .await
            {
                Ok(r) => {
                    let status = r.into_inner().status.unwrap_or_default();
                    pod.pod_ip = status.network.as_ref().and_then(|n| n.ip.parse().ok());
                    if status.state != cri::PodSandboxState::SandboxReady as i32
                        && pod.spec.is_some()
                    {
                        tracing::warn!(uid = %pod.uid, sandbox = %sb, "sandbox is not ready: re-creating the pod's sandbox");
                        self.remove_sandbox(&sb, Duration::ZERO).await;
                        pod.sandbox_id = None;
                        pod.sandbox_attempt += 1;
                        for c in pod.containers.values_mut() {
                            c.last_state = c.observed.take().or(c.last_state.take());
                            c.id = None;
                        }
                        return;
                    }
                }
                Err(e) if e.code() == tonic::Code::NotFound => {
                    pod.sandbox_id = None;
                    pod.sandbox_attempt += 1;
                    for c in pod.containers.values_mut() {
                        c.id = None;
                        c.observed = None;
                    }
                    return;
                }
                Err(e) => tracing::warn!(uid = %pod.uid, error = %e, "PodSandboxStatus failed"),
            }
        }
        for c in pod.containers.values_mut() {
            let Some(id) = c.id.clone() else { continue };
            match rt
                .container_status(cri::ContainerStatusRequest {
                    container_id: id,
                    verbose: false,
                })
                .await
            {
                Ok(r) => {
                    if let Some(s) = r.into_inner().status {
                        c.observed = Some(container_state(&s));
                        if !s.image_ref.is_empty() {
                            c.image_id = s.image_ref;
                        }
                    }
                }
                Err(e) if e.code() == tonic::Code::NotFound => {
                    c.id = None;
                    c.observed = None;
                }
                Err(e) => tracing::warn!(uid = %pod.uid, error = %e, "ContainerStatus failed"),
            }
        }
    }

    fn publish(&self, pod: &CriPod) {
        if let Ok(mut s) = self.snapshots.lock() {
            s.insert(pod.uid.clone(), pod.state(SystemTime::now()));
        }
    }

    async fn sync_all(&self) {
        use futures::StreamExt;
        let started = tokio::time::Instant::now();
        let cells = self.pod_cells();
        let count = cells.len();
        futures::stream::iter(cells)
            .for_each_concurrent(SYNC_PARALLEL, |cell| async move {
                if let Some(pod) = cell.lock().await.as_mut() {
                    self.sync(pod).await;
                }
            })
            .await;
        let took = started.elapsed();
        if took > SLOW_SYNC {
            tracing::warn!(
                pods = count,
                took_ms = took.as_millis() as u64,
                "a sync of every pod was slow"
            );
        }
    }

    /// Observes one pod and brings it in line with its spec.
    async fn sync(&self, pod: &mut CriPod) {
        self.observe(pod).await;
        if let Some(spec) = pod.spec.clone() {
            let started = tokio::time::Instant::now();
            let new_sandbox = pod.sandbox_id.is_none();
            if new_sandbox {
                self.run_sandbox(pod, &spec).await;
            }
            let sandbox_done = started.elapsed();
            if pod.sandbox_id.is_some() {
                let prepared = self.setup.prepare(pod, &spec).await;
                self.sync_containers(pod, &spec, &prepared).await;
            }
            if new_sandbox {
                tracing::debug!(uid = %pod.uid, sandbox_ms = sandbox_done.as_millis() as u64,
                    containers_ms = (started.elapsed() - sandbox_done).as_millis() as u64,
                    "ran a sandbox and its containers");
            }
            self.setup.sync_probes(pod, &spec);
        }
        self.publish(pod);
    }

    async fn run_sandbox(&self, pod: &mut CriPod, spec: &Pod) {
        let config = sandbox_config(spec, pod.sandbox_attempt, &self.opts.log_root);
        if let Err(e) = std::fs::create_dir_all(&config.log_directory) {
            tracing::warn!(uid = %pod.uid, error = %e, "cannot create the pod's log directory");
        }
        let r = self
            .cri()
            .runtime
            .run_pod_sandbox(cri::RunPodSandboxRequest {
                config: Some(config),
                runtime_handler: String::new(),
            })
            .await;
        match r {
            Ok(r) => {
                pod.sandbox_id = Some(r.into_inner().pod_sandbox_id);
                self.observe(pod).await;
            }
            Err(e) => {
                tracing::warn!(uid = %pod.uid, error = %e, "RunPodSandbox failed");
                let now = SystemTime::now();
                for name in pod.container_names() {
                    let c = pod.containers.entry(name).or_default();
                    c.failed(
                        "ContainerCreating",
                        format!("RunPodSandbox: {}", e.message()),
                        now,
                    );
                }
            }
        }
    }

    async fn sync_containers(&self, pod: &mut CriPod, spec: &Pod, prepared: &Prepared) {
        let policy = pod.restart_policy();
        let containers = spec
            .spec
            .as_ref()
            .map(|s| s.containers.clone())
            .unwrap_or_default();
        let sandbox_id = pod.sandbox_id.clone().unwrap_or_default();
        let pod_ip = pod.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let who = PodRef::of(pod);
        for c in &containers {
            let now = SystemTime::now();
            let state = pod.containers.entry(c.name.clone()).or_default();
            state.image = c.image.clone().unwrap_or_default();
            if state.next(&policy, now) != Next::Start {
                continue;
            }
            let fields = PodFields {
                pod_ip: &pod_ip,
                node_name: &self.opts.node_name,
            };
            let (env, mounts) = match prepared.container(spec, c, &fields) {
                Ok(ready) => ready,
                Err(blocked) => {
                    if state.blocked(blocked.reason, blocked.message.clone()) {
                        self.setup.blocked_event(&who, &c.name, &blocked);
                    }
                    continue;
                }
            };
            let image = match self.ensure_image(c).await {
                Ok(image) => image,
                Err((reason, message)) => {
                    tracing::warn!(uid = %pod.uid, container = %c.name, %reason, %message, "image not available");
                    state.failed(&reason, message, now);
                    continue;
                }
            };
            let restart = state.id.is_some();
            let attempt = if restart {
                state.attempt + 1
            } else {
                state.attempt
            };
            let config = container_config(spec, c, attempt, &image, env, mounts);
            let sandbox_config = sandbox_config(spec, pod.sandbox_attempt, &self.opts.log_root);
            let mut rt = self.cri().runtime;
            let created = rt
                .create_container(cri::CreateContainerRequest {
                    pod_sandbox_id: sandbox_id.clone(),
                    config: Some(config),
                    sandbox_config: Some(sandbox_config),
                })
                .await;
            let id = match created {
                Ok(r) => r.into_inner().container_id,
                Err(e) => {
                    state.failed("CreateContainerError", e.message().to_string(), now);
                    continue;
                }
            };
            if let Err(e) = rt
                .start_container(cri::StartContainerRequest {
                    container_id: id.clone(),
                })
                .await
            {
                state.failed("RunContainerError", e.message().to_string(), now);
                let _ = rt
                    .remove_container(cri::RemoveContainerRequest { container_id: id })
                    .await;
                continue;
            }
            // The previous container is kept only as lastState.
            if let Some(old) = state.id.replace(id) {
                state.last_state = state.observed.take();
                if let Err(e) = rt
                    .remove_container(cri::RemoveContainerRequest { container_id: old })
                    .await
                {
                    tracing::warn!(uid = %pod.uid, error = %e, "RemoveContainer failed");
                }
            }
            state.attempt = attempt;
            state.observed = None;
            state.waiting = None;
            state.failures = 0;
            state.not_before = None;
            if restart {
                tracing::info!(uid = %pod.uid, container = %c.name, attempt, "restarted a container");
            }
        }
        self.observe(pod).await;
    }

    /// The image reference to create `c` from, pulled as its imagePullPolicy says; on failure
    /// the waiting reason and message.
    async fn ensure_image(
        &self,
        c: &k8s_openapi::api::core::v1::Container,
    ) -> Result<String, (String, String)> {
        let image = c.image.clone().unwrap_or_default();
        if image.is_empty() {
            return Err((
                "InvalidImageName".into(),
                "the container has no image".into(),
            ));
        }
        let spec = cri::ImageSpec {
            image: image.clone(),
            ..Default::default()
        };
        let policy = c.image_pull_policy.as_deref().unwrap_or("IfNotPresent");
        let mut images = self.cri().images;
        if policy != "Always" {
            let present = images
                .image_status(cri::ImageStatusRequest {
                    image: Some(spec.clone()),
                    verbose: false,
                })
                .await
                .map_err(|e| ("ErrImagePull".to_string(), e.message().to_string()))?
                .into_inner()
                .image;
            if let Some(img) = present {
                return Ok(img.id);
            }
            if policy == "Never" {
                return Err((
                    "ErrImageNeverPull".into(),
                    format!("Container image \"{image}\" is not present with pull policy of Never"),
                ));
            }
        }
        let pulled = images
            .pull_image(cri::PullImageRequest {
                image: Some(spec),
                auth: None,
                sandbox_config: None,
            })
            .await
            .map_err(|e| {
                (
                    "ErrImagePull".to_string(),
                    format!("failed to pull image \"{image}\": {}", e.message()),
                )
            })?;
        Ok(pulled.into_inner().image_ref)
    }

    /// Pulls `image` now (the sandbox image at startup, so no pod waits for it).
    pub async fn pull(cri: &CriClient, image: &str) -> Result<String, RuntimeError> {
        let spec = cri::ImageSpec {
            image: image.to_string(),
            ..Default::default()
        };
        Ok(cri
            .images
            .clone()
            .pull_image(cri::PullImageRequest {
                image: Some(spec),
                auth: None,
                sandbox_config: None,
            })
            .await
            .map_err(RuntimeError::cri("PullImage"))?
            .into_inner()
            .image_ref)
    }
}

impl ContainerRuntime for CriRuntime {
    fn assigns_pod_ips(&self) -> bool {
        true
    }

    async fn start_pod(&self, pod: &Pod, _pod_ip: Option<Ipv4Addr>) -> Result<(), RuntimeError> {
        let (uid, namespace, name) = pod_identity(pod);
        if uid.is_empty() {
            return Err(RuntimeError::Pod(name, "the pod has no uid".into()));
        }
        let cell = {
            let mut pods = self
                .pods
                .lock()
                .map_err(|_| RuntimeError::Pod(name.clone(), "the pod table is poisoned".into()))?;
            pods.entry(uid.clone())
                .or_insert_with(|| {
                    Arc::new(tokio::sync::Mutex::new(Some(CriPod {
                        uid: uid.clone(),
                        namespace,
                        name,
                        spec: None,
                        sandbox_id: None,
                        sandbox_attempt: 0,
                        pod_ip: None,
                        started_at: SystemTime::now(),
                        containers: BTreeMap::new(),
                    })))
                })
                .clone()
        };
        let mut guard = cell.lock().await;
        // Stopped while this call waited: nothing to start.
        let Some(entry) = guard.as_mut() else {
            return Ok(());
        };
        // A new or just-confirmed adopted pod is synced now; a known one on the next tick.
        let first = entry.spec.is_none();
        entry.spec = Some(pod.clone());
        if first {
            self.sync(entry).await;
        }
        Ok(())
    }

    async fn stop_pod(&self, uid: &str, grace: Duration) -> Result<(), RuntimeError> {
        let cell = self.pods.lock().ok().and_then(|mut p| p.remove(uid));
        if let Some(cell) = cell {
            // Waits for a sync in progress; once emptied, no sync touches the pod again.
            cell.lock().await.take();
        }
        if let Ok(mut s) = self.snapshots.lock() {
            s.remove(uid);
        }
        tracing::info!(uid, grace_seconds = grace.as_secs(), "stopping a pod");
        for sb in self
            .sandboxes(&[(LABEL_POD_UID, uid), (LABEL_MANAGED_BY, MANAGED_BY)])
            .await?
        {
            self.remove_sandbox(&sb.id, grace).await;
        }
        self.setup.teardown(uid);
        Ok(())
    }

    async fn list(&self) -> Vec<PodState> {
        self.snapshots
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    async fn stats(&self) -> Result<UsageSummary, RuntimeError> {
        self.stats.summary().await
    }
}

/// Labels of a sandbox as a map, for callers outside this module (tests, tools).
pub fn managed_selector(uid: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_POD_UID.to_string(), uid.to_string()),
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
    ])
}
