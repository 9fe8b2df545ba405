//! The agent's own API (`keel.agent.v1.NodeAgent`): container logs and exec for keelctl, and
//! resource usage for `keelctl top` and the HorizontalPodAutoscaler, served on the node address
//! and the port the agent reports in its Node's `status.daemonEndpoints.kubeletEndpoint` — as a
//! kubelet serves them on its port 10250. Hollow nodes (fake runtime) serve usage only.
//!
//! `cri_log` parses the CRI log format (pure), `log_files` finds a container run's log file,
//! `log_stream` sends one (following it if asked), `summary` turns the runtime's usage into the
//! API's, `service` answers the calls.

pub mod cri_log;
pub mod log_files;
pub mod log_stream;
pub mod service;
pub mod summary;

use keel_proto::agent::node_agent_server::NodeAgentServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub use service::NodeAgentService;

use crate::runtime::ContainerRuntime;

/// Serves `service` on `listener` until the process ends.
pub async fn serve<R: ContainerRuntime>(
    listener: TcpListener,
    service: NodeAgentService<R>,
) -> anyhow::Result<()> {
    tonic::transport::Server::builder()
        .add_service(NodeAgentServer::new(service))
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await?;
    Ok(())
}
