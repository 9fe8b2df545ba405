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
    /// One channel per replica address, reused by every call: HTTP/2 multiplexes the report
    /// stream, the pod watch and unary calls over one connection, which reconnects by itself.
    /// (A connection per call would leave thousands of sockets in TIME_WAIT when many hollow
    /// nodes retry at once, until connects fail for want of local ports.)
    channels: std::collections::HashMap<String, Channel>,
}

impl CellClient {
    pub fn new(servers: Vec<String>) -> anyhow::Result<Self> {
        anyhow::ensure!(!servers.is_empty(), "--servers: no replica address given");
        Ok(CellClient {
            inner: Arc::new(Mutex::new(State {
                servers,
                current: 0,
                channels: std::collections::HashMap::new(),
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

    /// A channel to the current replica (connected on first use, then shared).
    pub fn channel(&self) -> anyhow::Result<Channel> {
        let addr = self.current();
        let mut state = self
            .inner
            .lock()
            .map_err(|_| anyhow::anyhow!("the cell client's state was poisoned"))?;
        if let Some(ch) = state.channels.get(&addr) {
            return Ok(ch.clone());
        }
        let ch = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .connect_lazy();
        state.channels.insert(addr, ch.clone());
        Ok(ch)
    }

    /// Moves to the next replica after a failure; the failed replica's channel is dropped, so a
    /// connection that went bad is never reused.
    pub fn rotate(&self) {
        if let Ok(mut s) = self.inner.lock() {
            let failed = s.servers[s.current % s.servers.len()].clone();
            s.channels.remove(&failed);
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
