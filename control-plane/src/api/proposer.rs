//! Getting a command committed and a read linearized from any replica. Writes go to the local
//! Raft when this replica leads and are forwarded to the leader otherwise; a follower's
//! linearizable read asks the leader for its read index and waits for the local state machine to
//! apply up to it.

use std::time::Duration;

use keel_proto::raft::raft_client::RaftClient;
use keel_proto::raft::RaftMessage;
use openraft::async_runtime::WatchReceiver;
use openraft::ReadPolicy;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::ApiError;
use crate::raft::codec::{decode, encode};
use crate::raft::network::PeerChannels;
use crate::raft::state_machine::Applied;
use crate::raft::{KeelRaft, NodeId};
use crate::store::{Command, CommandResponse};

/// What a leader answers to a forwarded command.
#[derive(Debug, Serialize, Deserialize)]
pub enum ForwardOutcome {
    Applied(CommandResponse),
    /// The receiver is not (or no longer) the leader; nothing was written.
    NotLeader {
        leader: Option<NodeId>,
    },
    Failed(String),
}

/// Proposes commands and linearizes reads on behalf of clients of this replica.
#[derive(Clone)]
pub struct Proposer {
    id: NodeId,
    raft: KeelRaft,
    channels: PeerChannels,
    applied: watch::Receiver<Applied>,
    timeout: Duration,
}

const RETRY_PAUSE: Duration = Duration::from_millis(20);

impl Proposer {
    pub fn new(
        id: NodeId,
        raft: KeelRaft,
        channels: PeerChannels,
        applied: watch::Receiver<Applied>,
    ) -> Self {
        Self {
            id,
            raft,
            channels,
            applied,
            timeout: Duration::from_secs(5),
        }
    }

    /// Commits `cmd` through the leader, wherever it is, and returns its result.
    pub async fn propose(&self, cmd: Command) -> Result<CommandResponse, ApiError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let local = tokio::time::timeout_at(deadline, self.propose_local(cmd.clone())).await;
            let Ok(local) = local else {
                return Err(ApiError::OutcomeUnknown(format!(
                    "the write was not committed within {:?}: it may or may not be applied",
                    self.timeout
                )));
            };
            let leader = match local {
                ForwardOutcome::Applied(r) => return Ok(r),
                ForwardOutcome::Failed(m) => return Err(ApiError::Unavailable(m)),
                ForwardOutcome::NotLeader { leader } => leader,
            };
            if let Some(leader) = leader.filter(|l| *l != self.id) {
                match self.forward(leader, &cmd, deadline).await {
                    Ok(ForwardOutcome::Applied(r)) => return Ok(r),
                    Ok(ForwardOutcome::Failed(m)) => return Err(ApiError::Unavailable(m)),
                    Ok(ForwardOutcome::NotLeader { .. }) => {}
                    Err(status) if never_sent(&status) => {}
                    Err(status) => {
                        return Err(ApiError::OutcomeUnknown(format!(
                            "write forwarded to leader {leader} got no answer ({}): it may or may not have been applied",
                            status.message()
                        )))
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(ApiError::Unavailable(format!(
                    "no leader accepted the write within {:?}; nothing was written",
                    self.timeout
                )));
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// Commits `cmd` if this replica is the leader.
    pub async fn propose_local(&self, cmd: Command) -> ForwardOutcome {
        match self.raft.client_write(cmd).await {
            Ok(resp) => ForwardOutcome::Applied(resp.data),
            Err(e) => match e.forward_to_leader() {
                Some(fwd) => ForwardOutcome::NotLeader {
                    leader: fwd.leader_id,
                },
                None => ForwardOutcome::Failed(format!("raft write failed: {e}")),
            },
        }
    }

    /// Proposes `txn` for leader-only work running in `term`, on this replica only: fenced so the
    /// state machine rejects it unless it is appended in that same term.
    pub async fn propose_as_leader(
        &self,
        term: u64,
        txn: crate::store::Txn,
    ) -> Result<CommandResponse, ApiError> {
        let cmd = Command::Fenced { term, txn };
        match tokio::time::timeout(self.timeout, self.propose_local(cmd)).await {
            Ok(ForwardOutcome::Applied(r)) => Ok(r),
            Ok(ForwardOutcome::NotLeader { leader }) => Err(ApiError::Unavailable(format!(
                "not the leader any more (leader: {leader:?}); leader-only work of term {term} stops"
            ))),
            Ok(ForwardOutcome::Failed(m)) => Err(ApiError::Unavailable(m)),
            Err(_) => Err(ApiError::OutcomeUnknown(format!(
                "the fenced write was not committed within {:?}",
                self.timeout
            ))),
        }
    }

    async fn forward(
        &self,
        leader: NodeId,
        cmd: &Command,
        deadline: Instant,
    ) -> Result<ForwardOutcome, tonic::Status> {
        let mut client = self.peer_client(leader)?;
        let payload = encode(cmd).map_err(|e| tonic::Status::internal(e.to_string()))?;
        let call = client.forward(RaftMessage {
            target: leader,
            from: self.id,
            payload,
        });
        let resp = tokio::time::timeout_at(deadline, call)
            .await
            .map_err(|_| {
                tonic::Status::deadline_exceeded(format!("leader {leader} did not answer in time"))
            })??;
        decode(&resp.into_inner().payload).map_err(|e| tonic::Status::internal(e.to_string()))
    }

    fn peer_client(
        &self,
        peer: NodeId,
    ) -> Result<RaftClient<tonic::transport::Channel>, tonic::Status> {
        let addr = self.member_addr(peer).ok_or_else(|| {
            tonic::Status::unavailable(format!("replica {peer} has no known address"))
        })?;
        let ch = self
            .channels
            .get(&addr)
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        Ok(RaftClient::new(ch)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20))
    }

    /// A channel to another replica of the cell (shared with Raft's own traffic).
    pub fn peer_channel(&self, peer: NodeId) -> Result<tonic::transport::Channel, tonic::Status> {
        let addr = self.member_addr(peer).ok_or_else(|| {
            tonic::Status::unavailable(format!("replica {peer} has no known address"))
        })?;
        self.channels
            .get(&addr)
            .map_err(|e| tonic::Status::unavailable(e.to_string()))
    }

    /// On the leader: the voters other than itself that acknowledged a heartbeat or an append
    /// within `within`. Empty on a follower.
    pub fn healthy_followers(&self, within: Duration) -> Vec<NodeId> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow_watched();
        let Some(heartbeats) = m.heartbeat.as_ref() else {
            return Vec::new();
        };
        m.membership_config
            .membership()
            .voter_ids()
            .filter(|id| *id != self.id)
            .filter(|id| {
                heartbeats
                    .get(id)
                    .and_then(|at| at.as_ref())
                    .is_some_and(|at| openraft::Instant::elapsed(&**at) < within)
            })
            .collect()
    }

    /// The address of a member, from the membership this replica knows.
    pub fn member_addr(&self, id: NodeId) -> Option<String> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow_watched();
        m.membership_config
            .membership()
            .get_node(&id)
            .map(|n| n.addr.clone())
    }

    /// The leader's read index, when this replica is the leader (ReadIndex: confirmed by a quorum).
    pub async fn local_read_index(&self) -> Result<u64, tonic::Status> {
        match self.raft.ensure_linearizable(ReadPolicy::ReadIndex).await {
            Ok(read) => Ok(read.log_id().index()),
            Err(e) => match e.forward_to_leader() {
                Some(f) => Err(tonic::Status::failed_precondition(format!(
                    "not the leader (leader: {:?})",
                    f.leader_id
                ))),
                None => Err(tonic::Status::unavailable(e.to_string())),
            },
        }
    }

    /// Waits until a read on this replica's state machine is linearizable; returns the progress.
    pub async fn read_barrier(&self) -> Result<Applied, ApiError> {
        let deadline = Instant::now() + self.timeout;
        let index = loop {
            let leader = self.raft.metrics().borrow_watched().current_leader;
            let attempt = match leader {
                Some(l) if l == self.id => self.local_read_index().await,
                Some(l) => tokio::time::timeout_at(deadline, self.remote_read_index(l))
                    .await
                    .unwrap_or_else(|_| {
                        Err(tonic::Status::unavailable("leader did not answer in time"))
                    }),
                None => Err(tonic::Status::unavailable("no leader")),
            };
            match attempt {
                Ok(index) => break index,
                Err(status) if Instant::now() >= deadline => {
                    return Err(ApiError::Unavailable(format!(
                        "could not get a read index from the leader within {:?}: {}",
                        self.timeout,
                        status.message()
                    )))
                }
                Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
            }
        };
        self.wait_applied(index, deadline).await
    }

    async fn remote_read_index(&self, leader: NodeId) -> Result<u64, tonic::Status> {
        let mut client = self.peer_client(leader)?;
        let resp = client
            .read_index(RaftMessage {
                target: leader,
                from: self.id,
                payload: vec![],
            })
            .await?;
        Ok(resp.into_inner().read_index)
    }

    /// Waits until the local state machine has applied log index `index`.
    pub async fn wait_applied(&self, index: u64, deadline: Instant) -> Result<Applied, ApiError> {
        let mut rx = self.applied.clone();
        let waited = tokio::time::timeout_at(deadline, rx.wait_for(|a| a.index >= index)).await;
        match waited {
            Ok(Ok(applied)) => Ok(*applied),
            Ok(Err(_)) => Err(ApiError::Internal("state machine stopped".into())),
            Err(_) => Err(ApiError::Unavailable(format!(
                "this replica did not apply up to the read index {index} in time"
            ))),
        }
    }

    /// The latest applied progress, without waiting.
    pub fn applied_now(&self) -> Applied {
        *self.applied.borrow()
    }

    /// The Raft term this replica knows.
    pub fn term(&self) -> u64 {
        self.raft.metrics().borrow_watched().current_term
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The leader this replica knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow_watched().current_leader
    }

    /// Whether this replica believes it leads (its applied state is then the newest there is,
    /// up to entries still being applied).
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow_watched().current_leader == Some(self.id)
    }
}

/// True when the failure happened before the request could reach the peer (safe to retry).
fn never_sent(status: &tonic::Status) -> bool {
    let source = std::error::Error::source(status)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let text = format!("{} {source}", status.message());
    status.code() == tonic::Code::Unavailable
        && (text.contains("connect") || text.contains("Connection refused") || text.contains("dns"))
}
