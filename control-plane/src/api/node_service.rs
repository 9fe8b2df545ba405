//! The `NodePlane` gRPC service (Borg's link shard). Agents register their Node (the registry
//! hands out its pod CIDR) with any replica and stream full status reports to the node's owner
//! (see [`crate::nodes::ownership`]); any other replica answers with a Redirect to the owner.
//! The owner keeps liveness in memory and forwards only what changed — pod statuses whose
//! content differs from the stored one, node status when anything but heartbeat times changed —
//! through the [`StatusBatcher`], many agents' changes per log entry. Owners summarise their
//! partition's liveness to the leader once a second (`Summarize`). An owner that has lost the
//! leader turns agents away so that they re-home.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use keel_proto::node as pb;
use keel_proto::node::node_plane_server::NodePlane;
use serde_json::Value;
use tonic::{Request, Response, Status, Streaming};

use crate::nodes::{ownership, summary_sender, NodeLiveness, StatusBatcher, SummaryOutcome};
use crate::objects::{DynamicObject, KindId, RegistryTable, WriteTarget};
use crate::registry::{BatchWrite, Registry, RegistryError};

/// How often agents report.
pub const REPORT_INTERVAL_MS: u32 = 1000;

/// An owner that has not heard from the leader for this long turns its agents away.
const LEADER_CONTACT: std::time::Duration = std::time::Duration::from_secs(3);

pub struct NodeService {
    pub registry: Registry,
    pub liveness: NodeLiveness,
    pub batcher: StatusBatcher,
    /// Forward only changes, batched (the design). `false`: write every report through the log,
    /// heartbeat times included, kept only to measure what aggregation saves.
    pub aggregate: bool,
    /// Registrations in flight on this replica (each is several forwarded writes): thousands of
    /// agents registering at once queue here instead of flooding the leader, as kube-apiserver's
    /// max-inflight limit does.
    pub registrations: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Registrations one replica works on at once.
pub const REGISTRATIONS_IN_FLIGHT: usize = 32;

type AckStream = Pin<Box<dyn Stream<Item = Result<pb::ReportAck, Status>> + Send>>;

#[tonic::async_trait]
impl NodePlane for NodeService {
    async fn register(
        &self,
        req: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let body = req.into_inner().node;
        let node = DynamicObject::from_json(&body).map_err(RegistryError::from)?;
        if node.resource_kind().id != KindId::Node || node.name().is_empty() {
            return Err(RegistryError::BadRequest(
                "register: the body must be a Node with metadata.name".into(),
            )
            .into());
        }
        let name = node.name().to_string();
        let _slot = self
            .registrations
            .acquire()
            .await
            .map_err(|_| Status::unavailable("this replica is shutting down"))?;
        let stored = register_node(&self.registry, node).await?;
        Ok(Response::new(pb::RegisterResponse {
            node: stored.to_json(),
            report_interval_ms: REPORT_INTERVAL_MS,
            redirect: owner_redirect(&self.registry, &name),
        }))
    }

    async fn summarize(
        &self,
        req: Request<pb::PartitionSummary>,
    ) -> Result<Response<pb::SummaryAck>, Status> {
        if !self.registry.proposer().is_leader() {
            return Err(Status::failed_precondition(
                "partition summaries go to the leader; this replica does not lead",
            ));
        }
        let s = req.into_inner();
        crate::metrics::global().node_summaries_received.inc();
        let outcome = self.liveness.apply_summary(
            s.replica_id,
            s.seq,
            s.full,
            s.changes.iter().map(summary_sender::from_proto),
        );
        Ok(Response::new(pb::SummaryAck {
            need_full: outcome == SummaryOutcome::NeedFull,
        }))
    }

    type ReportStream = AckStream;

    async fn report(
        &self,
        req: Request<Streaming<pb::NodeReport>>,
    ) -> Result<Response<AckStream>, Status> {
        let mut reports = req.into_inner();
        let registry = self.registry.clone();
        let liveness = self.liveness.clone();
        let batcher = self.batcher.clone();
        let aggregate = self.aggregate;
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            while let Some(report) = reports.next().await {
                let Ok(r) = report else { return };
                crate::metrics::global().node_reports_received.inc();
                let ack = if let Some(redirect) = owner_redirect(&registry, &r.node_name) {
                    Ok(pb::ReportAck {
                        written: 0,
                        redirect: Some(redirect),
                    })
                } else if !registry.proposer().is_leader()
                    && !liveness.in_contact_with_leader(LEADER_CONTACT)
                {
                    Err(Status::unavailable(
                        "this replica has lost the leader; report to another replica",
                    ))
                } else {
                    liveness.seen(&r.node_name);
                    let written = if aggregate {
                        queue_changes(&registry, &batcher, &r)
                    } else {
                        write_whole_report(&registry, &r).await
                    };
                    written
                        .map(|written| pb::ReportAck {
                            written,
                            redirect: None,
                        })
                        .map_err(Status::from)
                };
                let failed = ack.is_err();
                if tx.send(ack).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// Where the agent of `node` should report instead of here: its owner by the partition table
/// (before any table exists: the leader). `None` when this replica is the one, or when the
/// owner's address is unknown.
fn owner_redirect(registry: &Registry, node: &str) -> Option<pb::Redirect> {
    let proposer = registry.proposer();
    let owner = match ownership::load(registry) {
        Some(table) => table.owner_of(node),
        None => proposer.leader()?,
    };
    if owner == proposer.id() {
        return None;
    }
    let address = proposer.member_addr(owner)?;
    Some(pb::Redirect {
        replica_id: owner,
        address,
    })
}

/// Creates the Node, or refreshes the labels and status of an existing one.
async fn register_node(
    registry: &Registry,
    node: DynamicObject,
) -> Result<DynamicObject, RegistryError> {
    let kind = RegistryTable::get(KindId::Node);
    let key = Registry::key(kind, "", node.name())?;
    match registry.get(&key).await {
        Err(RegistryError::NotFound(_)) => {
            match registry.create("", &node.to_json(), false).await {
                Ok(r) => return Ok(r.object),
                Err(RegistryError::AlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let stored = registry.get(&key).await?.object;
    let mut updated = stored.clone();
    if let Some(labels) = node.field("metadata.labels").cloned() {
        let mut meta = updated.metadata()?;
        meta.labels = serde_json::from_value(labels).ok();
        updated.set_metadata(&meta)?;
    }
    updated.clear_resource_version();
    let out = registry
        .update("", &updated.to_json(), WriteTarget::Main, false)
        .await?;
    let mut with_status = out.object.clone();
    with_status.set_status(node.status().cloned());
    with_status.clear_resource_version();
    Ok(registry
        .update("", &with_status.to_json(), WriteTarget::Status, false)
        .await?
        .object)
}

/// One object's status to write.
struct StatusChange {
    key: String,
    /// What the batcher compares to drop repeats (the node's without heartbeat times).
    compared: Value,
    write: BatchWrite,
}

/// Queues the pod and node statuses of `report` that differ from the stored ones; returns how
/// many objects changed.
fn queue_changes(
    registry: &Registry,
    batcher: &StatusBatcher,
    report: &pb::NodeReport,
) -> Result<u32, RegistryError> {
    let changes = status_changes(registry, report, false)?;
    let count = changes.len() as u32;
    for c in changes {
        batcher.submit(c.key, &c.compared, c.write);
    }
    Ok(count)
}

/// The pod statuses of `report` that differ from the stored ones, and the node's status when
/// anything but its heartbeat times changed — or always, with `every_heartbeat`.
fn status_changes(
    registry: &Registry,
    report: &pb::NodeReport,
    every_heartbeat: bool,
) -> Result<Vec<StatusChange>, RegistryError> {
    let view = registry.view();
    let mut changes = Vec::new();
    let pod_kind = RegistryTable::get(KindId::Pod);
    for p in &report.pods {
        let Ok(key) = Registry::key(pod_kind, &p.namespace, &p.name) else {
            continue;
        };
        let Some(stored) = view.get(&key)? else {
            continue;
        };
        if stored.object.uid() != p.uid {
            continue;
        }
        let status: Value = serde_json::from_slice(&p.status)
            .map_err(|e| RegistryError::BadRequest(format!("pods[{}].status: {e}", p.name)))?;
        if stored.object.status() == Some(&status) {
            continue;
        }
        let mut obj = stored.object.clone();
        obj.set_status(Some(status.clone()));
        changes.push(StatusChange {
            key: key.to_string(),
            compared: status,
            write: BatchWrite::Update {
                namespace: p.namespace.clone(),
                object: obj.to_json(),
                target: WriteTarget::Status,
            },
        });
    }
    let node_key = Registry::key(RegistryTable::get(KindId::Node), "", &report.node_name)?;
    if let Some(stored) = view.get(&node_key)? {
        let status: Value = serde_json::from_slice(&report.node_status)
            .map_err(|e| RegistryError::BadRequest(format!("node_status: {e}")))?;
        let compared = without_heartbeats(&status);
        let unchanged = stored
            .object
            .status()
            .is_some_and(|s| without_heartbeats(s) == compared);
        if every_heartbeat || !unchanged {
            let mut obj = stored.object.clone();
            obj.set_status(Some(status));
            changes.push(StatusChange {
                key: node_key.to_string(),
                compared,
                write: BatchWrite::Update {
                    namespace: String::new(),
                    object: obj.to_json(),
                    target: WriteTarget::Status,
                },
            });
        }
    }
    Ok(changes)
}

/// Without aggregation (`--no-node-aggregation`): the whole report — node status with its
/// heartbeat times, and every pod status that differs — in one log entry, awaited.
async fn write_whole_report(
    registry: &Registry,
    report: &pb::NodeReport,
) -> Result<u32, RegistryError> {
    let writes: Vec<BatchWrite> = status_changes(registry, report, true)?
        .into_iter()
        .map(|c| c.write)
        .collect();
    if !writes.is_empty() {
        registry.batch(&writes, false).await?;
    }
    Ok(writes.len() as u32)
}

/// A node status without its conditions' heartbeat times (they change on every report and are
/// not worth a log entry).
fn without_heartbeats(status: &Value) -> Value {
    let mut s = status.clone();
    if let Some(conds) = s.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conds {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastHeartbeatTime");
            }
        }
    }
    s
}
