//! The seam between the store workload and a system under test: a backend hands out one client
//! per closed-loop worker; a client does one Put or linearizable Get at a time.

use std::future::Future;

/// A system under test (Keel, etcd) reachable over a fixed set of connections.
pub trait KvBackend {
    type Client: KvClient;

    /// `keel` or `etcd`.
    fn name(&self) -> &'static str;

    /// The client for worker `index`: workers are spread round-robin over the connections, which
    /// are themselves spread round-robin over the endpoints.
    fn client(&self, index: usize) -> Self::Client;
}

/// One worker's handle: one request at a time.
pub trait KvClient: Send + 'static {
    /// Writes `key` = `value`; `Ok` once the system acknowledged it (committed).
    fn put(
        &mut self,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// A linearizable read of `key`.
    fn get(&mut self, key: Vec<u8>) -> impl Future<Output = anyhow::Result<()>> + Send;
}
