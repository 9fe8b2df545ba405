//! The Keel store as a benchmark backend: `Store.Put` and linearizable `Store.Range` over tonic
//! channels to every replica (any replica accepts any request).

use std::time::Duration;

use anyhow::Context;
use keel_proto::store::{store_client::StoreClient, PutRequest, RangeRequest};
use tonic::transport::{Channel, Endpoint};

use super::kv_backend::{KvBackend, KvClient};

/// Connections to a Keel cell: `conns_per_endpoint` HTTP/2 connections to each endpoint.
pub struct KeelBackend {
    channels: Vec<Channel>,
}

impl KeelBackend {
    /// Connects (eagerly, so an unreachable endpoint fails here) to every `http://HOST:PORT`.
    pub async fn connect(
        endpoints: &[String],
        conns_per_endpoint: usize,
        request_timeout: Duration,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!endpoints.is_empty(), "no Keel endpoints");
        let mut channels = Vec::new();
        for _ in 0..conns_per_endpoint.max(1) {
            for ep in endpoints {
                let channel = Endpoint::from_shared(ep.clone())?
                    .connect_timeout(Duration::from_secs(2))
                    .timeout(request_timeout)
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .with_context(|| format!("connecting to Keel at {ep}"))?;
                channels.push(channel);
            }
        }
        Ok(KeelBackend { channels })
    }
}

impl KvBackend for KeelBackend {
    type Client = KeelClient;

    fn name(&self) -> &'static str {
        "keel"
    }

    fn client(&self, index: usize) -> KeelClient {
        let channel = self.channels[index % self.channels.len()].clone();
        KeelClient {
            store: StoreClient::new(channel),
        }
    }
}

/// One worker's Store client.
pub struct KeelClient {
    store: StoreClient<Channel>,
}

impl KvClient for KeelClient {
    async fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(PutRequest {
                key,
                value,
                prev_kv: false,
            })
            .await?;
        Ok(())
    }

    async fn get(&mut self, key: Vec<u8>) -> anyhow::Result<()> {
        let req = RangeRequest {
            key,
            serializable: false,
            ..Default::default()
        };
        self.store.range(req).await?;
        Ok(())
    }
}
