//! The agent's own API (`keel.agent.v1.NodeAgent`): container logs and exec for keelctl, served
//! on the node address and the port the agent reports in its Node's
//! `status.daemonEndpoints.kubeletEndpoint` — as a kubelet serves them on its port 10250.
//!
//! `cri_log` parses the CRI log format (pure), `log_files` finds a container run's log file,
//! `log_stream` sends one (following it if asked), `service` answers the calls.

pub mod cri_log;
pub mod log_files;
pub mod log_stream;
pub mod service;

use keel_proto::agent::node_agent_server::NodeAgentServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub use service::NodeAgentService;

/// Serves `service` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, service: NodeAgentService) -> anyhow::Result<()> {
    tonic::transport::Server::builder()
        .add_service(NodeAgentServer::new(service))
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await?;
    Ok(())
}
