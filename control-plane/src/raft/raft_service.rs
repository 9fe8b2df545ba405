//! The server side of the replica plane (`keel.raft.v1`): hands openraft RPCs to the local Raft,
//! receives streamed snapshots into files, and serves in-cell forwarding (proposals and read
//! indexes from followers).

use std::path::PathBuf;

use keel_proto::raft::raft_server::Raft as RaftRpc;
use keel_proto::raft::{RaftMessage, ReadIndexResponse};
use openraft::alias::{SnapshotMetaOf, SnapshotOf, VoteOf};
use openraft::raft::AppendEntriesRequest;
use tokio::io::AsyncWriteExt;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::api::proposer::Proposer;
use crate::raft::codec::{decode, encode};
use crate::raft::snapshot_file::SnapshotFile;
use crate::raft::{KeelRaft, NodeId, TypeConfig};
use crate::store::Command;

/// gRPC service for peers.
pub struct RaftService {
    pub id: NodeId,
    pub raft: KeelRaft,
    pub snapshot_dir: PathBuf,
    pub proposer: Proposer,
}

impl RaftService {
    fn check_target(&self, msg: &RaftMessage) -> Result<(), Status> {
        if msg.target != self.id {
            return Err(Status::failed_precondition(format!(
                "this is replica {}, not replica {} (message from replica {}); check --initial-cluster / member addresses",
                self.id, msg.target, msg.from
            )));
        }
        Ok(())
    }

    fn reply<T: serde::Serialize>(
        &self,
        to: NodeId,
        value: &T,
    ) -> Result<Response<RaftMessage>, Status> {
        let payload = encode(value).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(RaftMessage {
            target: to,
            from: self.id,
            payload,
        }))
    }
}

impl RaftService {
    /// One request-response Raft RPC: check the target, decode, hand to openraft, encode.
    async fn unary<Req, Resp, E, Fut>(
        &self,
        req: Request<RaftMessage>,
        call: impl FnOnce(Req) -> Fut,
    ) -> Result<Response<RaftMessage>, Status>
    where
        Req: serde::de::DeserializeOwned,
        Resp: serde::Serialize,
        E: std::fmt::Display,
        Fut: std::future::Future<Output = Result<Resp, E>>,
    {
        let msg = req.into_inner();
        self.check_target(&msg)?;
        let rpc = decode(&msg.payload).map_err(bad_payload)?;
        let resp = call(rpc).await.map_err(fatal)?;
        self.reply(msg.from, &resp)
    }
}

fn bad_payload(e: std::io::Error) -> Status {
    Status::invalid_argument(format!("undecodable raft payload: {e}"))
}

fn fatal(e: impl std::fmt::Display) -> Status {
    Status::unavailable(format!("raft is not running: {e}"))
}

type MessageStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<RaftMessage, Status>> + Send>>;

#[tonic::async_trait]
impl RaftRpc for RaftService {
    type StreamAppendStream = MessageStream;

    async fn stream_append(
        &self,
        req: Request<Streaming<RaftMessage>>,
    ) -> Result<Response<MessageStream>, Status> {
        let (id, raft) = (self.id, self.raft.clone());
        // Requests are decoded as they arrive; a misaddressed or undecodable one ends the stream.
        let input = req.into_inner().map_while(move |msg| {
            let msg = msg.ok()?;
            if msg.target != id {
                tracing::warn!(
                    target = msg.target,
                    from = msg.from,
                    "stream_append for another replica"
                );
                return None;
            }
            decode::<AppendEntriesRequest<TypeConfig>>(&msg.payload).ok()
        });
        let output = raft.stream_append(input).map(move |result| {
            let result = result.map_err(fatal)?;
            let payload = encode(&result).map_err(|e| Status::internal(e.to_string()))?;
            Ok(RaftMessage {
                target: 0,
                from: id,
                payload,
            })
        });
        Ok(Response::new(Box::pin(output)))
    }

    async fn append_entries(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let raft = self.raft.clone();
        self.unary(req, |rpc| async move { raft.append_entries(rpc).await })
            .await
    }

    async fn vote(&self, req: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let raft = self.raft.clone();
        self.unary(req, |rpc| async move { raft.vote(rpc).await })
            .await
    }

    async fn pre_vote(&self, req: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let raft = self.raft.clone();
        self.unary(req, |rpc| async move { raft.pre_vote(rpc).await })
            .await
    }

    async fn transfer_leader(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let raft = self.raft.clone();
        self.unary(
            req,
            |rpc| async move { raft.handle_transfer_leader(rpc).await },
        )
        .await
    }

    async fn install_snapshot(
        &self,
        req: Request<Streaming<RaftMessage>>,
    ) -> Result<Response<RaftMessage>, Status> {
        let mut stream = req.into_inner();
        let first = stream
            .next()
            .await
            .ok_or_else(|| Status::invalid_argument("empty snapshot stream"))??;
        self.check_target(&first)?;
        let (vote, meta): (VoteOf<TypeConfig>, SnapshotMetaOf<TypeConfig>) =
            decode(&first.payload).map_err(bad_payload)?;
        let path = self.snapshot_dir.join(format!(
            "incoming-{}-{}.part",
            first.from,
            rand::random::<u64>()
        ));
        let written = receive_into(&path, &mut stream).await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        let snapshot = SnapshotOf::<TypeConfig, SnapshotFile> {
            meta,
            snapshot: SnapshotFile { path },
        };
        let resp = self
            .raft
            .install_full_snapshot(vote, snapshot)
            .await
            .map_err(fatal)?;
        self.reply(first.from, &resp)
    }

    async fn forward(&self, req: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let msg = req.into_inner();
        self.check_target(&msg)?;
        let cmd: Command = decode(&msg.payload).map_err(bad_payload)?;
        let resp = self.proposer.propose_local(cmd).await;
        self.reply(msg.from, &resp)
    }

    async fn read_index(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<ReadIndexResponse>, Status> {
        let msg = req.into_inner();
        self.check_target(&msg)?;
        let read_index = self.proposer.local_read_index().await?;
        Ok(Response::new(ReadIndexResponse { read_index }))
    }
}

async fn receive_into(path: &PathBuf, stream: &mut Streaming<RaftMessage>) -> Result<(), Status> {
    let io = |e: std::io::Error| Status::internal(format!("writing {}: {e}", path.display()));
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk?.payload).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok(())
}
