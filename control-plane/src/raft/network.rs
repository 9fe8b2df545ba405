//! The replica-to-replica transport: openraft's `RaftNetworkV2` over gRPC (`keel.raft.v1`).
//! Messages carry bincode-encoded openraft types and name their target replica, which refuses
//! messages meant for another id. Channels are lazily connected and shared per address.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use keel_proto::raft::raft_client::RaftClient;
use keel_proto::raft::RaftMessage;
use openraft::alias::{SnapshotOf, VoteOf};
use openraft::base::{BoxFuture, BoxStream};
use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::StreamAppendResult;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, OptionalSend};
use tokio::io::AsyncReadExt;
use tonic::transport::{Channel, Endpoint};

use crate::raft::codec::{decode, encode};
use crate::raft::snapshot_file::SnapshotFile;
use crate::raft::{NodeId, TypeConfig};

/// Size of one snapshot chunk on the wire.
const SNAPSHOT_CHUNK: usize = 1 << 20;

/// Shared, lazily connected gRPC channels keyed by peer address.
#[derive(Clone, Default)]
pub struct PeerChannels {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl PeerChannels {
    /// The channel to `addr` (created on first use; connects lazily).
    pub fn get(&self, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ch) = map.get(addr) {
            return Ok(ch.clone());
        }
        let ch = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_millis(500))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .connect_lazy();
        map.insert(addr.to_string(), ch.clone());
        Ok(ch)
    }
}

/// Creates one [`PeerConnection`] per target replica.
#[derive(Clone)]
pub struct KeelNetwork {
    pub self_id: NodeId,
    pub channels: PeerChannels,
}

impl RaftNetworkFactory<TypeConfig> for KeelNetwork {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerConnection {
        PeerConnection {
            from: self.self_id,
            target,
            addr: node.addr.clone(),
            channels: self.channels.clone(),
        }
    }
}

/// A client for the Raft RPCs to one target replica.
pub struct PeerConnection {
    from: NodeId,
    target: NodeId,
    addr: String,
    channels: PeerChannels,
}

fn unreachable(e: impl std::fmt::Display) -> RPCError<TypeConfig> {
    RPCError::Unreachable(Unreachable::from_string(e.to_string()))
}

fn network(e: impl std::fmt::Display) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::from_string(e.to_string()))
}

/// Maps a gRPC failure: a transport that could not connect is `Unreachable` (openraft backs off),
/// anything else is a retryable network error.
fn from_status(s: tonic::Status) -> RPCError<TypeConfig> {
    match s.code() {
        tonic::Code::Unavailable | tonic::Code::Unknown if s.message().contains("connect") => {
            unreachable(format!("{}: {}", s.code(), s.message()))
        }
        tonic::Code::Unavailable => unreachable(format!("{}: {}", s.code(), s.message())),
        _ => network(format!("{}: {}", s.code(), s.message())),
    }
}

impl PeerConnection {
    fn client(&self) -> Result<RaftClient<Channel>, RPCError<TypeConfig>> {
        let ch = self.channels.get(&self.addr).map_err(unreachable)?;
        Ok(RaftClient::new(ch)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20))
    }

    fn message<T: serde::Serialize>(&self, value: &T) -> Result<RaftMessage, RPCError<TypeConfig>> {
        Ok(RaftMessage {
            target: self.target,
            from: self.from,
            payload: encode(value).map_err(network)?,
        })
    }

    async fn unary<Req, Resp, F, Fut>(
        &self,
        req: &Req,
        option: &RPCOption,
        call: F,
    ) -> Result<Resp, RPCError<TypeConfig>>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
        F: FnOnce(RaftClient<Channel>, RaftMessage) -> Fut,
        Fut: Future<Output = Result<tonic::Response<RaftMessage>, tonic::Status>>,
    {
        let msg = self.message(req)?;
        let client = self.client()?;
        let resp = tokio::time::timeout(option.hard_ttl(), call(client, msg))
            .await
            .map_err(|_| {
                network(format!(
                    "rpc to replica {} at {} timed out",
                    self.target, self.addr
                ))
            })?
            .map_err(from_status)?;
        decode(&resp.into_inner().payload).map_err(network)
    }
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = SnapshotFile;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(&rpc, &option, |mut c, m| async move {
            c.append_entries(m).await
        })
        .await
    }

    fn stream_append<'s, S>(
        &'s mut self,
        input: S,
        _option: RPCOption,
    ) -> BoxFuture<
        's,
        Result<
            BoxStream<'s, Result<StreamAppendResult<TypeConfig>, RPCError<TypeConfig>>>,
            RPCError<TypeConfig>,
        >,
    >
    where
        S: Stream<Item = AppendEntriesRequest<TypeConfig>> + OptionalSend + Unpin + 'static,
    {
        Box::pin(async move {
            let mut client = self.client()?;
            let (target, from) = (self.target, self.from);
            let requests = input.filter_map(move |req| {
                let msg = match encode(&req) {
                    Ok(payload) => Some(RaftMessage {
                        target,
                        from,
                        payload,
                    }),
                    Err(e) => {
                        tracing::error!(error = %e, "encoding AppendEntries");
                        None
                    }
                };
                futures::future::ready(msg)
            });
            let responses = client
                .stream_append(requests)
                .await
                .map_err(from_status)?
                .into_inner();
            let results = responses.map(|item| {
                let msg = item.map_err(from_status)?;
                decode::<StreamAppendResult<TypeConfig>>(&msg.payload).map_err(network)
            });
            Ok(Box::pin(results) as BoxStream<'s, _>)
        })
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(&rpc, &option, |mut c, m| async move { c.vote(m).await })
            .await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(&rpc, &option, |mut c, m| async move { c.pre_vote(m).await })
            .await
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(&req, &option, |mut c, m| async move {
            c.transfer_leader(m).await
        })
        .await
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: SnapshotOf<TypeConfig, SnapshotFile>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let first = self.message(&(vote, snapshot.meta.clone()))?;
        let mut file = tokio::fs::File::open(&snapshot.snapshot.path)
            .await
            .map_err(|e| StreamingError::from(network(format!("open snapshot: {e}"))))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<RaftMessage>(4);
        let (target, from) = (self.target, self.from);
        let reader = tokio::spawn(async move {
            if tx.send(first).await.is_err() {
                return;
            }
            let mut buf = vec![0u8; SNAPSHOT_CHUNK];
            loop {
                match file.read(&mut buf).await {
                    Ok(0) => return,
                    Ok(n) => {
                        let chunk = RaftMessage {
                            target,
                            from,
                            payload: buf[..n].to_vec(),
                        };
                        if tx.send(chunk).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading snapshot file for transfer");
                        return;
                    }
                }
            }
        });
        let mut client = self.client()?;
        let send = client.install_snapshot(tokio_stream::wrappers::ReceiverStream::new(rx));
        let result = tokio::select! {
            closed = cancel => {
                reader.abort();
                return Err(StreamingError::Closed(closed));
            }
            r = send => r,
        };
        let resp = result.map_err(|s| StreamingError::from(from_status(s)))?;
        decode(&resp.into_inner().payload).map_err(|e| StreamingError::from(network(e)))
    }
}
