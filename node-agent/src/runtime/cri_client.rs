//! `CriClient`: the CRI `runtime.v1` RuntimeService and ImageService clients over one tonic
//! channel to a unix socket (containerd's, or any CRI runtime's). The channel connects lazily and
//! reconnects by itself, so a restarted containerd is picked up without rebuilding the client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::VersionRequest;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// Both CRI services on one channel. Cheap to clone.
#[derive(Clone)]
pub struct CriClient {
    pub runtime: RuntimeServiceClient<Channel>,
    pub images: ImageServiceClient<Channel>,
    socket: PathBuf,
}

impl CriClient {
    /// A client for the CRI socket at `socket`; nothing is dialled until the first call.
    pub fn new(socket: &Path) -> CriClient {
        let path = socket.to_path_buf();
        // The URI is required by tonic but unused: the connector dials the socket.
        let channel =
            Endpoint::from_static("http://[::]:50051")
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(120))
                .connect_with_connector_lazy(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?))
                    }
                }));
        CriClient {
            runtime: RuntimeServiceClient::new(channel.clone()),
            images: ImageServiceClient::new(channel),
            socket: socket.to_path_buf(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The runtime's name and version (`containerd 1.6.20`), or the error of the call.
    pub async fn version(&self) -> Result<String, tonic::Status> {
        let v = self
            .runtime
            .clone()
            .version(VersionRequest {
                version: "v1".into(),
            })
            .await?
            .into_inner();
        Ok(format!("{} {}", v.runtime_name, v.runtime_version))
    }

    /// Waits until the runtime answers `Version`, for at most `within`.
    pub async fn wait_ready(&self, within: Duration) -> Result<String, tonic::Status> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match self.version().await {
                Ok(v) => return Ok(v),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}
