//! `CellClient`: the agent's connection to the cell. Any replica answers; when the current one
//! fails the agent moves to the next in its list, and a `Redirect` from the cell moves it to the
//! replica named there.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

/// The cell asked the agent to talk to another replica: not a failure of that replica, so the
/// agent follows it instead of rotating past it.
#[derive(Debug, thiserror::Error)]
#[error("redirected to replica {replica_id} at {address}")]
pub struct Redirected {
    pub replica_id: u64,
    pub address: String,
}

#[derive(Clone)]
pub struct CellClient {
    inner: Arc<Mutex<State>>,
}

struct State {
    servers: Vec<String>,
    current: usize,
}

impl CellClient {
    pub fn new(servers: Vec<String>) -> anyhow::Result<Self> {
        anyhow::ensure!(!servers.is_empty(), "--servers: no replica address given");
        Ok(CellClient {
            inner: Arc::new(Mutex::new(State {
                servers,
                current: 0,
            })),
        })
    }

    /// The replica currently used.
    pub fn current(&self) -> String {
        self.inner
            .lock()
            .map(|s| s.servers[s.current % s.servers.len()].clone())
            .unwrap_or_default()
    }

    /// A channel to the current replica (connected on first use).
    pub fn channel(&self) -> anyhow::Result<Channel> {
        let addr = self.current();
        Ok(Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .connect_lazy())
    }

    /// Moves to the next replica after a failure.
    pub fn rotate(&self) {
        if let Ok(mut s) = self.inner.lock() {
            s.current = (s.current + 1) % s.servers.len();
        }
    }

    /// Moves to `addr` (adding it to the list if it is new).
    pub fn redirect(&self, addr: &str) {
        if let Ok(mut s) = self.inner.lock() {
            let i = match s.servers.iter().position(|a| a == addr) {
                Some(i) => i,
                None => {
                    s.servers.push(addr.to_string());
                    s.servers.len() - 1
                }
            };
            s.current = i;
        }
    }
}
