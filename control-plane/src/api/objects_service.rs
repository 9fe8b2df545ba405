//! The `Objects` gRPC service: the registry's verbs on the wire. Objects travel as JSON bytes;
//! errors become statuses carrying the Kubernetes reason (see `registry::RegistryError`).

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use keel_proto::objects as pb;
use keel_proto::objects::objects_server::Objects;
use tonic::{Request, Response, Status};

use crate::objects::{ObjectPatch, RegistryTable, WriteTarget};
use crate::registry::watch::{ObjectWatch, WatchOptions};
use crate::registry::{
    parse_propagation, BatchWrite, DeleteRequest, ListOptions, Registry, RegistryError, WriteResult,
};

/// The Objects service of one replica.
pub struct ObjectsService {
    pub registry: Registry,
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEvent, Status>> + Send>>;

const DEFAULT_BOOKMARK: Duration = Duration::from_secs(10);

fn response(r: WriteResult) -> pb::ObjectResponse {
    pb::ObjectResponse {
        object: r.object.to_json(),
        revision: r.revision,
    }
}

fn delete_request(
    d: &pb::DeleteRequest,
) -> Result<(crate::objects::ObjectKey, DeleteRequest), RegistryError> {
    let kind = Registry::resource(&d.resource)?;
    let key = Registry::key(kind, &d.namespace, &d.name)?;
    Ok((
        key,
        DeleteRequest {
            propagation: parse_propagation(&d.propagation_policy)?,
            grace_period_seconds: d.grace_period_seconds,
            resource_version: d.resource_version.clone(),
            uid: d.uid.clone(),
        },
    ))
}

impl ObjectsService {
    async fn update_target(
        &self,
        r: pb::UpdateRequest,
        target: WriteTarget,
    ) -> Result<Response<pb::ObjectResponse>, Status> {
        let out = self
            .registry
            .update(&r.namespace, &r.object, target, r.dry_run)
            .await?;
        Ok(Response::new(response(out)))
    }
}

#[tonic::async_trait]
impl Objects for ObjectsService {
    async fn create(
        &self,
        req: Request<pb::CreateRequest>,
    ) -> Result<Response<pb::ObjectResponse>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "Create");
        let r = req.into_inner();
        let out = self
            .registry
            .create(&r.namespace, &r.object, r.dry_run)
            .await?;
        Ok(Response::new(response(out)))
    }

    async fn get(
        &self,
        req: Request<pb::GetRequest>,
    ) -> Result<Response<pb::ObjectResponse>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "Get");
        let r = req.into_inner();
        let kind = Registry::resource(&r.resource)?;
        let key = Registry::key(kind, &r.namespace, &r.name)?;
        let stored = self.registry.get(&key).await?;
        Ok(Response::new(pb::ObjectResponse {
            object: stored.object.to_json(),
            revision: stored.mod_revision,
        }))
    }

    async fn list(
        &self,
        req: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListResponse>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "List");
        let r = req.into_inner();
        let kind = Registry::resource(&r.resource)?;
        let opts = ListOptions {
            namespace: r.namespace,
            label_selector: r.label_selector,
            field_selector: r.field_selector,
            limit: r.limit,
            continue_token: r.continue_token,
            resource_version: r.resource_version,
        };
        let listed = self.registry.list(kind, &opts).await?;
        Ok(Response::new(pb::ListResponse {
            api_version: kind.api_version(),
            kind: format!("{}List", kind.kind),
            items: listed
                .items
                .into_iter()
                .map(|s| s.object.to_json())
                .collect(),
            resource_version: listed.revision.to_string(),
            continue_token: listed.continue_token,
            remaining_item_count: listed.remaining.unwrap_or(0),
        }))
    }

    async fn update(
        &self,
        req: Request<pb::UpdateRequest>,
    ) -> Result<Response<pb::ObjectResponse>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "Update");
        self.update_target(req.into_inner(), WriteTarget::Main)
            .await
    }

    async fn update_status(
        &self,
        req: Request<pb::UpdateRequest>,
    ) -> Result<Response<pb::ObjectResponse>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "UpdateStatus");
        self.update_target(req.into_inner(), WriteTarget::Status)
            .await
    }

    async fn patch(
        &self,
        req: Request<pb::PatchRequest>,
    ) -> Result<Response<pb::ObjectResponse>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "Patch");
        let r = req.into_inner();
        let kind = Registry::resource(&r.resource)?;
        let key = Registry::key(kind, &r.namespace, &r.name)?;
        let patch = match pb::PatchType::try_from(r.patch_type) {
            Ok(pb::PatchType::Merge) => ObjectPatch::merge_from_slice(&r.patch),
            Ok(pb::PatchType::Json) => ObjectPatch::json_from_slice(&r.patch),
            _ => {
                return Err(
                    RegistryError::BadRequest("patch_type: must be MERGE or JSON".into()).into(),
                )
            }
        }
        .map_err(RegistryError::from)?;
        let target = if r.status {
            WriteTarget::Status
        } else {
            WriteTarget::Main
        };
        let out = self.registry.patch(&key, &patch, target, r.dry_run).await?;
        Ok(Response::new(response(out)))
    }

    async fn delete(
        &self,
        req: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "Delete");
        let r = req.into_inner();
        let (key, request) = delete_request(&r)?;
        let out = self.registry.delete(key, request, r.dry_run).await?;
        Ok(Response::new(pb::DeleteResponse {
            object: out.object.to_json(),
            deleted: out.deleted,
            revision: out.revision,
        }))
    }

    type WatchStream = WatchStream;

    async fn watch(&self, req: Request<pb::WatchRequest>) -> Result<Response<WatchStream>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "Watch");
        let r = req.into_inner();
        let kind = Registry::resource(&r.resource)?;
        let opts = WatchOptions {
            namespace: r.namespace,
            label_selector: r.label_selector,
            field_selector: r.field_selector,
            resource_version: r.resource_version,
        };
        let mut watch = ObjectWatch::start(&self.registry, kind, &opts).await?;
        let bookmarks = r.allow_bookmarks.then(|| match r.bookmark_interval_ms {
            0 => DEFAULT_BOOKMARK,
            ms => Duration::from_millis(u64::from(ms)),
        });
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::WatchEvent, Status>>(64);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(bookmarks.unwrap_or(Duration::from_secs(3600)));
            ticker.tick().await;
            loop {
                let events = tokio::select! {
                    batch = watch.next() => batch,
                    _ = ticker.tick(), if bookmarks.is_some() => Ok(vec![watch.bookmark()]),
                    _ = tx.closed() => return,
                };
                match events {
                    Ok(events) => {
                        for e in events {
                            let msg = pb::WatchEvent {
                                r#type: e.kind.to_string(),
                                object: serde_json::to_vec(&e.object).unwrap_or_default(),
                            };
                            if tx.send(Ok(msg)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn batch(
        &self,
        req: Request<pb::BatchRequest>,
    ) -> Result<Response<pb::BatchResponse>, Status> {
        let _timer = crate::metrics::time_request("keel.objects.v1.Objects", "Batch");
        let r = req.into_inner();
        let mut writes = Vec::with_capacity(r.writes.len());
        for (i, w) in r.writes.into_iter().enumerate() {
            let write = match w.write {
                Some(pb::batch_write::Write::Create(c)) => BatchWrite::Create {
                    namespace: c.namespace,
                    object: c.object,
                },
                Some(pb::batch_write::Write::Update(u)) => BatchWrite::Update {
                    namespace: u.namespace,
                    object: u.object,
                    target: WriteTarget::Main,
                },
                Some(pb::batch_write::Write::UpdateStatus(u)) => BatchWrite::Update {
                    namespace: u.namespace,
                    object: u.object,
                    target: WriteTarget::Status,
                },
                Some(pb::batch_write::Write::Delete(d)) => {
                    let (key, request) = delete_request(&d)?;
                    BatchWrite::Delete { key, request }
                }
                None => {
                    return Err(
                        RegistryError::BadRequest(format!("writes[{i}]: empty write")).into(),
                    )
                }
            };
            writes.push(write);
        }
        let results = self.registry.batch(&writes, false).await?;
        let revision = results.iter().map(|r| r.revision).max().unwrap_or(0);
        Ok(Response::new(pb::BatchResponse {
            results: results.into_iter().map(response).collect(),
            revision,
        }))
    }
}

/// Every kind the service serves (for discovery by clients linking this crate).
pub fn served_kinds() -> &'static [crate::objects::ResourceKind] {
    RegistryTable::all()
}
