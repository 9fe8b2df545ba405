//! `NodeAgentService`: the agent's `keel.agent.v1.NodeAgent` gRPC service. Logs come from the
//! CRI log files under the agent's pod log root; exec runs CRI ExecSync in the pod's running
//! container, found by the labels the agent puts on every container; the usage summary comes
//! from the runtime's `stats`. A hollow node (no CRI) answers only the summary.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_cri::v1 as cri;
use k8s_openapi::jiff::Timestamp;
use keel_proto::agent::node_agent_server::NodeAgent;
use keel_proto::agent::{
    ExecRequest, ExecResponse, LogChunk, LogsRequest, PodRef, SummaryRequest, SummaryResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::cri_log::LogFilter;
use super::log_files::{attempts, choose_attempt, log_file, pod_log_dir, Run};
use super::log_stream::stream_log;
use super::summary::summary_response;
use crate::runtime::cri_client::CriClient;
use crate::runtime::cri_spec::{
    LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID,
};
use crate::runtime::ContainerRuntime;

/// Logs and exec: a CRI runtime and the pod log root.
#[derive(Clone)]
struct Containers {
    cri: CriClient,
    log_root: PathBuf,
}

/// The service over one node's runtime.
#[derive(Clone)]
pub struct NodeAgentService<R> {
    node_name: String,
    runtime: R,
    /// `None` on a hollow node.
    containers: Option<Containers>,
}

impl<R: ContainerRuntime> NodeAgentService<R> {
    /// Everything, over a CRI runtime (`runtime` drives `cri`).
    pub fn new(node_name: &str, runtime: R, cri: CriClient, log_root: PathBuf) -> Self {
        NodeAgentService {
            node_name: node_name.to_string(),
            runtime,
            containers: Some(Containers { cri, log_root }),
        }
    }

    /// The usage summary only (a hollow node's fake runtime has no logs or processes).
    pub fn hollow(node_name: &str, runtime: R) -> Self {
        NodeAgentService {
            node_name: node_name.to_string(),
            runtime,
            containers: None,
        }
    }

    fn containers(&self) -> Result<&Containers, Status> {
        self.containers.as_ref().ok_or_else(|| {
            Status::unimplemented(format!(
                "node {} is a hollow node: its containers have no logs and run no commands",
                self.node_name
            ))
        })
    }
}

fn pod_of(pod: Option<PodRef>) -> Result<PodRef, Status> {
    let pod = pod.ok_or_else(|| Status::invalid_argument("pod is required"))?;
    if pod.name.is_empty() || pod.namespace.is_empty() {
        return Err(Status::invalid_argument(
            "pod namespace and name are required",
        ));
    }
    Ok(pod)
}

fn required_container(c: &str) -> Result<(), Status> {
    if c.is_empty() {
        return Err(Status::invalid_argument("container is required"));
    }
    Ok(())
}

/// Labels selecting `container` of `pod` (by uid when given, else by namespace and name).
fn container_labels(pod: &PodRef, container: &str) -> HashMap<String, String> {
    let mut labels = HashMap::from([(LABEL_CONTAINER_NAME.to_string(), container.to_string())]);
    if pod.uid.is_empty() {
        labels.insert(LABEL_POD_NAMESPACE.to_string(), pod.namespace.clone());
        labels.insert(LABEL_POD_NAME.to_string(), pod.name.clone());
    } else {
        labels.insert(LABEL_POD_UID.to_string(), pod.uid.clone());
    }
    labels
}

/// The running containers matching `labels`.
async fn running_containers(
    cri: &CriClient,
    labels: HashMap<String, String>,
) -> Result<Vec<cri::Container>, Status> {
    let filter = cri::ContainerFilter {
        state: Some(cri::ContainerStateValue {
            state: cri::ContainerState::ContainerRunning as i32,
        }),
        label_selector: labels,
        ..Default::default()
    };
    Ok(cri
        .runtime
        .clone()
        .list_containers(cri::ListContainersRequest {
            filter: Some(filter),
        })
        .await?
        .into_inner()
        .containers)
}

fn log_filter(r: &LogsRequest) -> LogFilter {
    let since = (r.since_seconds > 0).then(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let cut = now.as_secs() as i64 - r.since_seconds;
        Timestamp::new(cut, now.subsec_nanos() as i32).unwrap_or(Timestamp::UNIX_EPOCH)
    });
    LogFilter {
        tail: usize::try_from(r.tail_lines).ok(),
        since,
    }
}

#[tonic::async_trait]
impl<R: ContainerRuntime> NodeAgent for NodeAgentService<R> {
    type LogsStream = ReceiverStream<Result<LogChunk, Status>>;

    async fn logs(
        &self,
        request: Request<LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        let containers = self.containers()?;
        let r = request.into_inner();
        let pod = pod_of(r.pod.clone())?;
        required_container(&r.container)?;
        let dir = pod_log_dir(&containers.log_root, &pod.namespace, &pod.name, &pod.uid)
            .ok_or_else(|| {
                Status::not_found(format!(
                    "pod \"{}\" has no logs on this node (not started yet?)",
                    pod.name
                ))
            })?;
        let run = if r.previous {
            Run::Previous
        } else {
            Run::Current
        };
        let attempt =
            choose_attempt(&attempts(&dir, &r.container), run).ok_or_else(|| match run {
                Run::Previous => Status::not_found(format!(
                    "previous terminated container \"{}\" in pod \"{}\" not found",
                    r.container, pod.name
                )),
                Run::Current => Status::not_found(format!(
                    "container \"{}\" in pod \"{}\" has not started yet",
                    r.container, pod.name
                )),
            })?;
        let path = log_file(&dir, &r.container, attempt);
        let filter = log_filter(&r);
        let (tx, rx) = mpsc::channel(16);
        let follow = r.follow && !r.previous;
        let cri = containers.cri.clone();
        let labels = container_labels(&pod, &r.container);
        tokio::spawn(async move {
            // The run goes on while a running container of this attempt exists; a failed CRI
            // call counts as running (the file is still there to follow).
            let running = move || {
                let (cri, labels) = (cri.clone(), labels.clone());
                async move {
                    running_containers(&cri, labels).await.map_or(true, |cs| {
                        cs.iter()
                            .any(|c| c.metadata.as_ref().is_some_and(|m| m.attempt == attempt))
                    })
                }
            };
            stream_log(&path, filter, follow.then_some(running), tx).await;
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn exec(&self, request: Request<ExecRequest>) -> Result<Response<ExecResponse>, Status> {
        let cri = &self.containers()?.cri;
        let r = request.into_inner();
        let pod = pod_of(r.pod.clone())?;
        required_container(&r.container)?;
        if r.command.is_empty() {
            return Err(Status::invalid_argument("command is required"));
        }
        let container = running_containers(cri, container_labels(&pod, &r.container))
            .await?
            .into_iter()
            .max_by_key(|c| c.metadata.as_ref().map_or(0, |m| m.attempt))
            .ok_or_else(|| {
                Status::failed_precondition(format!(
                    "container \"{}\" in pod \"{}\" is not running",
                    r.container, pod.name
                ))
            })?;
        tracing::info!(pod = %format!("{}/{}", pod.namespace, pod.name), container = %r.container,
            command = ?r.command, "exec");
        let mut runtime = cri.runtime.clone();
        let mut call = Request::new(cri::ExecSyncRequest {
            container_id: container.id,
            cmd: r.command,
            timeout: r.timeout_seconds.max(0),
        });
        if r.timeout_seconds > 0 {
            // Past the command's own timeout, give the runtime a moment to report it.
            call.set_timeout(Duration::from_secs(r.timeout_seconds.unsigned_abs() + 5));
        }
        let out = runtime.exec_sync(call).await?.into_inner();
        Ok(Response::new(ExecResponse {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
        }))
    }

    async fn summary(
        &self,
        _request: Request<SummaryRequest>,
    ) -> Result<Response<SummaryResponse>, Status> {
        let usage = self
            .runtime
            .stats()
            .await
            .map_err(|e| Status::unavailable(format!("reading resource usage: {e}")))?;
        Ok(Response::new(summary_response(
            &self.node_name,
            usage,
            SystemTime::now(),
        )))
    }
}
