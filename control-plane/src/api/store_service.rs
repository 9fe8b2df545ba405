//! The `Store` gRPC service: Put, Range, Delete, Txn, Watch and Compact, served by every replica.
//! Writes go through the [`Proposer`] (forwarded to the leader); reads are linearizable unless the
//! request asks for `serializable` (or the replica runs with the testing aid
//! `--unsafe-local-reads`, which answers them locally and may be stale); watches are served from
//! this replica's own applied state.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use keel_proto::store as pb;
use keel_proto::store::store_server::Store;
use tonic::{Request, Response, Status};

use crate::api::convert::{self, event_to_pb, kv_to_pb, single_result};
use crate::api::{ApiError, Proposer};
use crate::raft::codec::{decode, encode};
use crate::store::{Command, CommandResponse, Mvcc, RangeQuery, Txn, TxnResult, WatchHub, Watcher};

/// The Store service of one replica.
pub struct StoreService {
    pub proposer: Proposer,
    pub mvcc: Mvcc,
    pub hub: WatchHub,
    /// `keel-server --unsafe-local-reads` (a testing aid): linearizable reads skip the read
    /// barrier and answer from the local state machine, so they may be stale.
    pub unsafe_local_reads: bool,
}

/// What a continue token carries: the revision of the first page and the last key returned.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    revision: u64,
    after_key: Vec<u8>,
}

impl StoreService {
    fn header(&self, revision: u64) -> pb::ResponseHeader {
        pb::ResponseHeader {
            revision,
            member_id: self.proposer.id(),
            raft_term: self.proposer.term(),
        }
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResult, ApiError> {
        let cmd = Command::Txn(txn);
        cmd.validate().map_err(ApiError::InvalidArgument)?;
        match self.proposer.propose(cmd).await? {
            CommandResponse::Txn(r) => Ok(r),
            CommandResponse::Rejected { reason } => Err(ApiError::FailedPrecondition(reason)),
            other => Err(ApiError::Internal(format!(
                "unexpected store response {other:?}"
            ))),
        }
    }
}

impl StoreService {
    /// A Put or Delete: one unconditional operation, committed as a transaction.
    async fn single_op(
        &self,
        op: crate::store::Op,
    ) -> Result<(u64, crate::store::OpResult), ApiError> {
        let result = self
            .txn(Txn {
                compares: vec![],
                success: vec![op],
                failure: vec![],
            })
            .await?;
        single_result(result)
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Store for StoreService {
    async fn put(&self, req: Request<pb::PutRequest>) -> Result<Response<pb::PutResponse>, Status> {
        let op = convert::put_op(req.into_inner());
        let (revision, op) = self.single_op(op).await?;
        let prev_kv = match op {
            crate::store::OpResult::Put { prev_kv } => prev_kv.map(kv_to_pb),
            _ => None,
        };
        Ok(Response::new(pb::PutResponse {
            header: Some(self.header(revision)),
            prev_kv,
            revision,
        }))
    }

    async fn range(
        &self,
        req: Request<pb::RangeRequest>,
    ) -> Result<Response<pb::RangeResponse>, Status> {
        let req = req.into_inner();
        keel_proto::keys::validate_key(&req.key)
            .map_err(|m| ApiError::InvalidArgument(format!("key: {m}")))?;
        if !req.serializable && !self.unsafe_local_reads {
            self.proposer.read_barrier().await?;
        }
        let (revision, after_key) = if req.continue_token.is_empty() {
            (req.revision, None)
        } else {
            let token: ContinueToken = decode(&req.continue_token).map_err(|_| {
                ApiError::InvalidArgument("continue_token: not a token this server issued".into())
            })?;
            (token.revision, Some(token.after_key))
        };
        let query = RangeQuery {
            key: req.key,
            prefix: req.prefix,
            revision,
            limit: req.limit,
            after_key,
            keys_only: req.keys_only,
            count_only: req.count_only,
        };
        let mvcc = self.mvcc.clone();
        let result = tokio::task::spawn_blocking(move || mvcc.range(&query))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(ApiError::from)?;
        let continue_token = match (result.more, result.kvs.last()) {
            (true, Some(last)) => encode(&ContinueToken {
                revision: result.revision,
                after_key: last.key.clone(),
            })
            .map_err(|e| Status::internal(e.to_string()))?,
            _ => Vec::new(),
        };
        Ok(Response::new(pb::RangeResponse {
            header: Some(self.header(result.revision)),
            kvs: result.kvs.into_iter().map(kv_to_pb).collect(),
            more: result.more,
            count: result.count,
            continue_token,
        }))
    }

    async fn delete(
        &self,
        req: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let op = convert::delete_op(req.into_inner());
        let (revision, op) = self.single_op(op).await?;
        let (deleted, prev_kvs) = match op {
            crate::store::OpResult::Delete { deleted, prev_kvs } => (deleted, prev_kvs),
            _ => (0, vec![]),
        };
        Ok(Response::new(pb::DeleteResponse {
            header: Some(self.header(revision)),
            deleted,
            prev_kvs: prev_kvs.into_iter().map(kv_to_pb).collect(),
            revision,
        }))
    }

    async fn txn(&self, req: Request<pb::TxnRequest>) -> Result<Response<pb::TxnResponse>, Status> {
        let Command::Txn(txn) = convert::txn_from_pb(req.into_inner())? else {
            return Err(Status::internal(
                "txn conversion produced a non-txn command",
            ));
        };
        let r = self.txn(txn).await?;
        let header = self.header(r.revision);
        Ok(Response::new(pb::TxnResponse {
            header: Some(header),
            succeeded: r.succeeded,
            responses: r
                .responses
                .into_iter()
                .map(|op| convert::op_result_to_pb(op, &header, r.revision))
                .collect(),
            failed_compares: r.failed_compares,
            revision: r.revision,
        }))
    }

    type WatchStream = WatchStream;

    async fn watch(&self, req: Request<pb::WatchRequest>) -> Result<Response<WatchStream>, Status> {
        let req = req.into_inner();
        keel_proto::keys::validate_key(&req.key)
            .map_err(|m| ApiError::InvalidArgument(format!("key: {m}")))?;
        let mut watcher = Watcher::new(
            self.mvcc.clone(),
            &self.hub,
            req.key,
            req.prefix,
            req.start_revision,
        );
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::WatchResponse, Status>>(64);
        let (member_id, proposer) = (self.proposer.id(), self.proposer.clone());
        let progress =
            (req.progress_notify_ms > 0).then(|| Duration::from_millis(req.progress_notify_ms));
        let with_prev = req.prev_kv;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(progress.unwrap_or(Duration::from_secs(3600)));
            ticker.tick().await;
            loop {
                let next = tokio::select! {
                    batch = watcher.next() => Some(batch),
                    _ = ticker.tick(), if progress.is_some() => None,
                    _ = tx.closed() => return,
                };
                let header = |revision| pb::ResponseHeader {
                    revision,
                    member_id,
                    raft_term: proposer.term(),
                };
                let msg = match next {
                    // Progress: every event up to the revision in the header has been sent. That
                    // is what this watcher has consumed (everything below its next revision), not
                    // what the replica has applied: events of applied revisions may still wait in
                    // its receiver or its history replay.
                    None => Ok(pb::WatchResponse {
                        header: Some(header(
                            watcher
                                .next_revision()
                                .saturating_sub(1)
                                .min(proposer.applied_now().revision),
                        )),
                        events: vec![],
                    }),
                    Some(Ok(batch)) => Ok(pb::WatchResponse {
                        header: Some(header(batch.revision)),
                        events: batch
                            .events
                            .into_iter()
                            .map(|mut e| {
                                if !with_prev {
                                    e.prev_kv = None;
                                }
                                event_to_pb(e)
                            })
                            .collect(),
                    }),
                    Some(Err(e)) => Err(Status::from(ApiError::from(e))),
                };
                let stop = msg.is_err();
                if tx.send(msg).await.is_err() || stop {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn compact(
        &self,
        req: Request<pb::CompactRequest>,
    ) -> Result<Response<pb::CompactResponse>, Status> {
        let revision = req.into_inner().revision;
        let cmd = Command::Compact { revision };
        cmd.validate().map_err(ApiError::InvalidArgument)?;
        match self.proposer.propose(cmd).await? {
            CommandResponse::Compact { revision } => Ok(Response::new(pb::CompactResponse {
                header: Some(self.header(self.proposer.applied_now().revision)),
                compact_revision: revision,
            })),
            CommandResponse::Rejected { reason } => {
                Err(ApiError::FailedPrecondition(reason).into())
            }
            other => Err(Status::internal(format!(
                "unexpected store response {other:?}"
            ))),
        }
    }
}
