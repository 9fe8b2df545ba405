//! etcd as a benchmark backend: KV Put and linearizable Range through `etcd-client`, one client
//! (one HTTP/2 connection) per endpoint and connection slot, like the Keel backend.

use std::time::Duration;

use anyhow::Context;
use etcd_client::{Client, ConnectOptions, KvClient as EtcdKv};

use super::kv_backend::{KvBackend, KvClient};

/// Connections to an etcd cluster: `conns_per_endpoint` clients pinned to each endpoint.
pub struct EtcdBackend {
    clients: Vec<Client>,
}

impl EtcdBackend {
    /// Connects to every `http://HOST:PORT` and checks each answers a Status.
    pub async fn connect(
        endpoints: &[String],
        conns_per_endpoint: usize,
        request_timeout: Duration,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!endpoints.is_empty(), "no etcd endpoints");
        let mut clients = Vec::new();
        for _ in 0..conns_per_endpoint.max(1) {
            for ep in endpoints {
                let options = ConnectOptions::new()
                    .with_connect_timeout(Duration::from_secs(2))
                    .with_timeout(request_timeout);
                let mut client = Client::connect([ep.as_str()], Some(options))
                    .await
                    .with_context(|| format!("connecting to etcd at {ep}"))?;
                client
                    .status()
                    .await
                    .with_context(|| format!("etcd at {ep} did not answer Status"))?;
                clients.push(client);
            }
        }
        Ok(EtcdBackend { clients })
    }
}

impl KvBackend for EtcdBackend {
    type Client = EtcdClient;

    fn name(&self) -> &'static str {
        "etcd"
    }

    fn client(&self, index: usize) -> EtcdClient {
        EtcdClient {
            kv: self.clients[index % self.clients.len()].kv_client(),
        }
    }
}

/// One worker's etcd KV client.
pub struct EtcdClient {
    kv: EtcdKv,
}

impl KvClient for EtcdClient {
    async fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> anyhow::Result<()> {
        self.kv.put(key, value, None).await?;
        Ok(())
    }

    async fn get(&mut self, key: Vec<u8>) -> anyhow::Result<()> {
        // etcd's Range is linearizable unless `serializable` is set.
        self.kv.get(key, None).await?;
        Ok(())
    }
}
