//! The `Cluster` gRPC service: status, membership changes, leadership transfer and snapshots.
//! Membership changes must run on the leader; a follower forwards them there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use keel_proto::cluster as pb;
use keel_proto::cluster::cluster_client::ClusterClient;
use keel_proto::cluster::cluster_server::Cluster;
use openraft::async_runtime::WatchReceiver;
use openraft::{BasicNode, ChangeMembers, ServerState};
use tokio::io::AsyncReadExt;
use tonic::{Request, Response, Status};

use crate::api::Proposer;
use crate::raft::network::PeerChannels;
use crate::raft::{snapshot_file, KeelRaft, NodeId};
use crate::store::Mvcc;

/// The Cluster service of one replica.
pub struct ClusterService {
    pub id: NodeId,
    pub addr: String,
    pub raft: KeelRaft,
    pub mvcc: Mvcc,
    pub proposer: Proposer,
    pub channels: PeerChannels,
    pub db: std::sync::Arc<rocksdb::DB>,
    pub export_dir: PathBuf,
    pub registry: crate::registry::Registry,
    pub liveness: crate::nodes::NodeLiveness,
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<pb::SnapshotChunk, Status>> + Send>>;

fn role_name(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}

fn raft_err(e: impl std::fmt::Display) -> Status {
    Status::failed_precondition(e.to_string())
}

impl ClusterService {
    fn members(&self) -> Vec<pb::Member> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow_watched();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let matched: BTreeMap<NodeId, u64> = m
            .replication
            .as_ref()
            .map(|r| {
                r.iter()
                    .map(|(id, l)| (*id, l.as_ref().map(|l| l.index()).unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        membership
            .nodes()
            .map(|(id, node)| pb::Member {
                id: *id,
                addr: node.addr.clone(),
                role: if voters.contains(id) {
                    "voter"
                } else {
                    "learner"
                }
                .to_string(),
                matched_index: matched.get(id).copied().unwrap_or(0),
            })
            .collect()
    }

    /// A client of the leader's Cluster service, or None when this replica is the leader.
    fn leader_client(&self) -> Result<Option<ClusterClient<tonic::transport::Channel>>, Status> {
        let leader = self.raft.metrics().borrow_watched().current_leader;
        match leader {
            Some(l) if l == self.id => Ok(None),
            Some(l) => {
                let addr = self.proposer.member_addr(l).ok_or_else(|| {
                    Status::unavailable(format!("leader {l} has no known address"))
                })?;
                let ch = self
                    .channels
                    .get(&addr)
                    .map_err(|e| Status::unavailable(e.to_string()))?;
                Ok(Some(ClusterClient::new(ch)))
            }
            None => Err(Status::unavailable("no leader is known yet; retry shortly")),
        }
    }

    /// The partition table this replica reads, the registered nodes it owns by it and how many
    /// of those reported here in the last two seconds.
    pub fn partition_info(&self) -> (String, u32, u32) {
        use crate::objects::{list_prefix, KindId, ObjectKey, RegistryTable};
        let Some(table) = crate::nodes::ownership::load(&self.registry) else {
            return (String::new(), 0, 0);
        };
        let owners: Vec<String> = table.owners.iter().map(u64::to_string).collect();
        let nodes: Vec<String> = list_prefix(RegistryTable::get(KindId::Node), None)
            .ok()
            .and_then(|prefix| self.registry.view().scan(&prefix).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|kv| ObjectKey::parse(&kv.key).ok())
            .map(|k| k.name().to_string())
            .collect();
        let owned: std::collections::HashSet<&str> = nodes
            .iter()
            .map(String::as_str)
            .filter(|n| table.owner_of(n) == self.id)
            .collect();
        let reporting = self
            .liveness
            .direct()
            .iter()
            .filter(|(n, at)| {
                owned.contains(n.as_str())
                    && at.elapsed() < crate::nodes::partition_summary::SILENCE
            })
            .count();
        (owners.join(","), owned.len() as u32, reporting as u32)
    }

    async fn membership_response(&self, log_index: u64) -> pb::MembershipResponse {
        pb::MembershipResponse {
            members: self.members(),
            log_index,
        }
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn status(
        &self,
        _req: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        let (state, leader, term, last_log, committed, applied, snapshot, purged) = {
            let metrics = self.raft.metrics();
            let m = metrics.borrow_watched();
            (
                m.state,
                m.current_leader,
                m.current_term,
                m.last_log_index.unwrap_or(0),
                m.local_committed.as_ref().map(|l| l.index()).unwrap_or(0),
                m.last_applied.as_ref().map(|l| l.index()).unwrap_or(0),
                m.snapshot.as_ref().map(|l| l.index()).unwrap_or(0),
                m.purged.as_ref().map(|l| l.index()).unwrap_or(0),
            )
        };
        let mvcc = self.mvcc.clone();
        let (revision, compact_revision, state_hash) = tokio::task::spawn_blocking(move || {
            Ok::<_, crate::store::StoreError>((
                mvcc.revision()?,
                mvcc.compact_revision()?,
                mvcc.state_hash()?,
            ))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| Status::internal(e.to_string()))?;
        let (partition_owners, nodes_owned, agents_reporting) = self.partition_info();
        Ok(Response::new(pb::StatusResponse {
            id: self.id,
            addr: self.addr.clone(),
            state: role_name(state).to_string(),
            leader_id: leader.unwrap_or(0),
            has_leader: leader.is_some(),
            term,
            last_log_index: last_log,
            commit_index: committed,
            applied_index: applied,
            snapshot_index: snapshot,
            purged_index: purged,
            members: self.members(),
            revision,
            compact_revision,
            state_hash,
            partition_owners,
            nodes_owned,
            agents_reporting,
        }))
    }

    async fn add_learner(
        &self,
        req: Request<pb::AddLearnerRequest>,
    ) -> Result<Response<pb::MembershipResponse>, Status> {
        if let Some(mut leader) = self.leader_client()? {
            return leader.add_learner(req).await;
        }
        let req = req.into_inner();
        if req.id == 0 || req.addr.is_empty() {
            return Err(Status::invalid_argument(
                "add-learner needs a non-zero id and an address",
            ));
        }
        let resp = self
            .raft
            .add_learner(req.id, BasicNode { addr: req.addr }, true)
            .await
            .map_err(raft_err)?;
        Ok(Response::new(
            self.membership_response(resp.log_id.index()).await,
        ))
    }

    async fn promote(
        &self,
        req: Request<pb::PromoteRequest>,
    ) -> Result<Response<pb::MembershipResponse>, Status> {
        if let Some(mut leader) = self.leader_client()? {
            return leader.promote(req).await;
        }
        let id = req.into_inner().id;
        let known = self
            .members()
            .iter()
            .any(|m| m.id == id && m.role == "learner");
        if !known {
            return Err(Status::failed_precondition(format!(
                "replica {id} is not a learner of this cell"
            )));
        }
        let ids: BTreeSet<NodeId> = [id].into();
        let resp = self
            .raft
            .change_membership(ChangeMembers::AddVoterIds(ids), true)
            .await
            .map_err(raft_err)?;
        Ok(Response::new(
            self.membership_response(resp.log_id.index()).await,
        ))
    }

    async fn remove(
        &self,
        req: Request<pb::RemoveRequest>,
    ) -> Result<Response<pb::MembershipResponse>, Status> {
        if let Some(mut leader) = self.leader_client()? {
            return leader.remove(req).await;
        }
        let id = req.into_inner().id;
        let member = self.members().into_iter().find(|m| m.id == id);
        let Some(member) = member else {
            return Err(Status::not_found(format!(
                "replica {id} is not a member of this cell"
            )));
        };
        let ids: BTreeSet<NodeId> = [id].into();
        if member.role == "voter" {
            self.raft
                .change_membership(ChangeMembers::RemoveVoters(ids.clone()), true)
                .await
                .map_err(raft_err)?;
        }
        let resp = self
            .raft
            .change_membership(ChangeMembers::RemoveNodes(ids), false)
            .await
            .map_err(raft_err)?;
        Ok(Response::new(
            self.membership_response(resp.log_id.index()).await,
        ))
    }

    async fn transfer_leader(
        &self,
        req: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        if let Some(mut leader) = self.leader_client()? {
            return leader.transfer_leader(req).await;
        }
        let to = req.into_inner().to;
        if !self
            .members()
            .iter()
            .any(|m| m.id == to && m.role == "voter")
        {
            return Err(Status::failed_precondition(format!(
                "replica {to} is not a voter of this cell"
            )));
        }
        self.raft
            .trigger()
            .transfer_leader(to)
            .await
            .map_err(raft_err)?;
        let mut rx = self.raft.metrics();
        let waited = tokio::time::timeout(
            Duration::from_secs(5),
            rx.wait_until(|m| m.current_leader == Some(to)),
        )
        .await;
        match waited {
            Ok(Ok(_)) => Ok(Response::new(pb::TransferLeaderResponse { leader_id: to })),
            _ => Err(Status::deadline_exceeded(format!(
                "replica {to} did not take over within 5 s"
            ))),
        }
    }

    async fn trigger_snapshot(
        &self,
        _req: Request<pb::TriggerSnapshotRequest>,
    ) -> Result<Response<pb::TriggerSnapshotResponse>, Status> {
        let applied = self
            .raft
            .metrics()
            .borrow_watched()
            .last_applied
            .as_ref()
            .map(|l| l.index())
            .unwrap_or(0);
        self.raft.trigger().snapshot().await.map_err(raft_err)?;
        let mut rx = self.raft.metrics();
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            rx.wait_until(|m| m.snapshot.as_ref().map(|l| l.index()).unwrap_or(0) >= applied),
        )
        .await;
        match waited {
            Ok(Ok(m)) => Ok(Response::new(pb::TriggerSnapshotResponse {
                snapshot_index: m.snapshot.as_ref().map(|l| l.index()).unwrap_or(0),
            })),
            _ => Err(Status::deadline_exceeded("snapshot not built within 30 s")),
        }
    }

    type SaveSnapshotStream = ChunkStream;

    async fn save_snapshot(
        &self,
        _req: Request<pb::SaveSnapshotRequest>,
    ) -> Result<Response<ChunkStream>, Status> {
        let db = self.db.clone();
        let dir = self
            .export_dir
            .join(format!("export-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).map_err(|e| Status::internal(e.to_string()))?;
        let build_dir = dir.clone();
        let (_, file) =
            tokio::task::spawn_blocking(move || snapshot_file::write_snapshot(&db, &build_dir))
                .await
                .map_err(|e| Status::internal(e.to_string()))?
                .map_err(|e| Status::internal(format!("building snapshot: {e}")))?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let result = async {
                let mut f = tokio::fs::File::open(&file.path).await?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, std::io::Error>(());
                    }
                    if tx
                        .send(Ok(pb::SnapshotChunk {
                            data: buf[..n].to_vec(),
                        }))
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                }
            }
            .await;
            if let Err(e) = result {
                let _ = tx
                    .send(Err(Status::internal(format!("reading snapshot: {e}"))))
                    .await;
            }
            let _ = tokio::fs::remove_dir_all(&dir).await;
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
