//! The `NodePlane` gRPC service: agents register their Node (the registry hands out its pod
//! CIDR) and stream full status reports; this replica writes only what changed — pod statuses
//! whose content differs from the stored one, and node status when anything but heartbeat times
//! changed — batched into one transaction per report. (Partitioned ownership with redirects and
//! liveness without log writes come with the aggregation issue; `Redirect` is already in the
//! protocol and the agent follows it.)

use std::pin::Pin;

use futures::{Stream, StreamExt};
use keel_proto::node as pb;
use keel_proto::node::node_plane_server::NodePlane;
use serde_json::Value;
use tonic::{Request, Response, Status, Streaming};

use crate::nodes::NodeLiveness;
use crate::objects::{DynamicObject, KindId, RegistryTable, WriteTarget};
use crate::registry::{BatchWrite, Registry, RegistryError};

/// How often agents report.
pub const REPORT_INTERVAL_MS: u32 = 1000;

pub struct NodeService {
    pub registry: Registry,
    pub liveness: NodeLiveness,
}

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
        let stored = register_node(&self.registry, node).await?;
        Ok(Response::new(pb::RegisterResponse {
            node: stored.to_json(),
            report_interval_ms: REPORT_INTERVAL_MS,
            redirect: None,
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
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            while let Some(report) = reports.next().await {
                let ack = match report {
                    Ok(r) => match leader_redirect(&registry) {
                        Some(redirect) => Ok(pb::ReportAck {
                            written: 0,
                            redirect: Some(redirect),
                        }),
                        None => {
                            liveness.seen(&r.node_name);
                            write_report(&registry, &r)
                                .await
                                .map(|written| pb::ReportAck {
                                    written,
                                    redirect: None,
                                })
                        }
                    },
                    Err(_) => return,
                };
                if tx.send(ack.map_err(Status::from)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// Where an agent reporting to this replica should go instead: the leader, which owns every
/// node's liveness until partitioned ownership assigns nodes to followers. `None` when this
/// replica leads or no leader is known (then it takes the report itself).
fn leader_redirect(registry: &Registry) -> Option<pb::Redirect> {
    let proposer = registry.proposer();
    if proposer.is_leader() {
        return None;
    }
    let leader = proposer.leader()?;
    let address = proposer.member_addr(leader)?;
    Some(pb::Redirect {
        replica_id: leader,
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

/// Writes the pod and node statuses of `report` that differ from the stored ones; returns how
/// many objects were written.
async fn write_report(registry: &Registry, report: &pb::NodeReport) -> Result<u32, RegistryError> {
    let view = registry.view();
    let mut writes = Vec::new();
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
        obj.set_status(Some(status));
        writes.push(BatchWrite::Update {
            namespace: p.namespace.clone(),
            object: obj.to_json(),
            target: WriteTarget::Status,
        });
    }
    let node_key = Registry::key(RegistryTable::get(KindId::Node), "", &report.node_name)?;
    if let Some(stored) = view.get(&node_key)? {
        let status: Value = serde_json::from_slice(&report.node_status)
            .map_err(|e| RegistryError::BadRequest(format!("node_status: {e}")))?;
        let unchanged = stored
            .object
            .status()
            .is_some_and(|s| without_heartbeats(s) == without_heartbeats(&status));
        if !unchanged {
            let mut obj = stored.object.clone();
            obj.set_status(Some(status));
            writes.push(BatchWrite::Update {
                namespace: String::new(),
                object: obj.to_json(),
                target: WriteTarget::Status,
            });
        }
    }
    if writes.is_empty() {
        return Ok(0);
    }
    let count = writes.len() as u32;
    match registry.batch(&writes, false).await {
        Ok(_) => Ok(count),
        // One pod went away or changed meanwhile: write the others one by one.
        Err(_) => {
            let mut written = 0;
            for w in &writes {
                if registry.batch(std::slice::from_ref(w), false).await.is_ok() {
                    written += 1;
                }
            }
            Ok(written)
        }
    }
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
