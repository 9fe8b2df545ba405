//! `ControllerContext`: what every piece of leader-only work shares for one term — the registry,
//! the term its writes are fenced with, the cancellation token, and the informers over the kinds
//! the brain reads. Writes go through [`ControllerContext::write`], which commits a batch fenced
//! by the term and waits until the informers of the written kinds have seen it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::nodes::NodeLiveness;
use crate::objects::{KindId, ObjectKey, PropagationPolicy, RegistryTable, WriteTarget};
use crate::registry::DeleteRequest;
use crate::registry::{BatchWrite, Registry, RegistryError, WriteResult};

use super::informer::Informer;
use super::reconciler::ReconcileError;

/// How long a writer waits for its own write to reach the informers.
const READ_YOUR_WRITE: Duration = Duration::from_secs(5);

/// The caches the brain reads, one per kind.
#[derive(Clone)]
pub struct Informers {
    pub pods: Informer<Pod>,
    pub nodes: Informer<Node>,
    pub replicasets: Informer<ReplicaSet>,
    pub deployments: Informer<Deployment>,
    pub services: Informer<Service>,
    pub endpoints: Informer<Endpoints>,
    pub daemonsets: Informer<DaemonSet>,
    pub jobs: Informer<Job>,
    pub statefulsets: Informer<StatefulSet>,
    pub cronjobs: Informer<CronJob>,
}

impl Informers {
    /// Starts every informer on this replica's state; returns once each holds its initial list.
    pub async fn start(
        registry: &Registry,
        token: &CancellationToken,
    ) -> Result<Informers, RegistryError> {
        let (
            pods,
            nodes,
            replicasets,
            deployments,
            services,
            endpoints,
            daemonsets,
            jobs,
            statefulsets,
            cronjobs,
        ) = tokio::try_join!(
            Informer::start(registry, KindId::Pod, token.clone()),
            Informer::start(registry, KindId::Node, token.clone()),
            Informer::start(registry, KindId::ReplicaSet, token.clone()),
            Informer::start(registry, KindId::Deployment, token.clone()),
            Informer::start(registry, KindId::Service, token.clone()),
            Informer::start(registry, KindId::Endpoints, token.clone()),
            Informer::start(registry, KindId::DaemonSet, token.clone()),
            Informer::start(registry, KindId::Job, token.clone()),
            Informer::start(registry, KindId::StatefulSet, token.clone()),
            Informer::start(registry, KindId::CronJob, token.clone()),
        )?;
        Ok(Informers {
            pods,
            nodes,
            replicasets,
            deployments,
            services,
            endpoints,
            daemonsets,
            jobs,
            statefulsets,
            cronjobs,
        })
    }

    async fn wait_for(&self, kind: KindId, revision: u64) {
        let reached = match kind {
            KindId::Pod => self.pods.wait_for_revision(revision, READ_YOUR_WRITE).await,
            KindId::Node => {
                self.nodes
                    .wait_for_revision(revision, READ_YOUR_WRITE)
                    .await
            }
            KindId::ReplicaSet => {
                self.replicasets
                    .wait_for_revision(revision, READ_YOUR_WRITE)
                    .await
            }
            KindId::Deployment => {
                self.deployments
                    .wait_for_revision(revision, READ_YOUR_WRITE)
                    .await
            }
            KindId::Service => {
                self.services
                    .wait_for_revision(revision, READ_YOUR_WRITE)
                    .await
            }
            KindId::Endpoints => {
                self.endpoints
                    .wait_for_revision(revision, READ_YOUR_WRITE)
                    .await
            }
            KindId::DaemonSet => {
                self.daemonsets
                    .wait_for_revision(revision, READ_YOUR_WRITE)
                    .await
            }
            KindId::Job => self.jobs.wait_for_revision(revision, READ_YOUR_WRITE).await,
            KindId::StatefulSet => {
                self.statefulsets
                    .wait_for_revision(revision, READ_YOUR_WRITE)
                    .await
            }
            KindId::CronJob => {
                self.cronjobs
                    .wait_for_revision(revision, READ_YOUR_WRITE)
                    .await
            }
            _ => true,
        };
        if !reached {
            tracing::warn!(
                ?kind,
                revision,
                "informer did not see a committed write in time"
            );
        }
    }
}

/// Leader-only work's view of one term.
#[derive(Clone)]
pub struct ControllerContext {
    pub registry: Registry,
    pub term: u64,
    pub token: CancellationToken,
    pub informers: Arc<Informers>,
    /// When each node's agent last reported to this replica.
    pub liveness: NodeLiveness,
    /// When this brain started (every node counts as seen then).
    pub term_started: tokio::time::Instant,
}

/// One write a controller wants committed.
#[derive(Debug, Clone)]
pub enum Write {
    Create(serde_json::Value),
    /// A full object carrying the resourceVersion it was decided on (a compare-and-swap).
    Update(serde_json::Value, WriteTarget),
    /// Delete `name` of `kind` in `namespace` if its uid is still `uid`.
    Delete {
        kind: KindId,
        namespace: String,
        name: String,
        uid: String,
        propagation: Option<PropagationPolicy>,
    },
}

impl Write {
    pub fn create(obj: &impl Serialize) -> Result<Write, ReconcileError> {
        Ok(Write::Create(to_value(obj)?))
    }

    pub fn update(obj: &impl Serialize) -> Result<Write, ReconcileError> {
        Ok(Write::Update(to_value(obj)?, WriteTarget::Main))
    }

    pub fn update_status(obj: &impl Serialize) -> Result<Write, ReconcileError> {
        Ok(Write::Update(to_value(obj)?, WriteTarget::Status))
    }

    /// Deletes the object `meta` describes, only if it is still the same object (uid).
    pub fn delete(
        kind: KindId,
        meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
        propagation: Option<PropagationPolicy>,
    ) -> Write {
        Write::Delete {
            kind,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            propagation,
        }
    }

    fn kind(&self) -> Option<KindId> {
        match self {
            Write::Create(v) | Write::Update(v, _) => {
                let kind = v.get("kind")?.as_str()?;
                RegistryTable::by_kind(kind).ok().map(|k| k.id)
            }
            Write::Delete { kind, .. } => Some(*kind),
        }
    }

    fn into_batch_write(self) -> Result<BatchWrite, ReconcileError> {
        Ok(match self {
            Write::Create(v) => BatchWrite::Create {
                namespace: namespace_of(&v),
                object: v.to_string().into_bytes(),
            },
            Write::Update(v, target) => BatchWrite::Update {
                namespace: namespace_of(&v),
                object: v.to_string().into_bytes(),
                target,
            },
            Write::Delete {
                kind,
                namespace,
                name,
                uid,
                propagation,
            } => BatchWrite::Delete {
                key: ObjectKey::new(
                    RegistryTable::get(kind),
                    RegistryTable::get(kind)
                        .namespaced
                        .then_some(namespace.as_str()),
                    &name,
                )
                .map_err(|e| ReconcileError::Other(e.to_string()))?,
                request: DeleteRequest {
                    propagation,
                    uid,
                    ..Default::default()
                },
            },
        })
    }
}

fn to_value(obj: &impl Serialize) -> Result<serde_json::Value, ReconcileError> {
    serde_json::to_value(obj).map_err(|e| ReconcileError::Other(format!("encoding an object: {e}")))
}

fn namespace_of(v: &serde_json::Value) -> String {
    v.pointer("/metadata/namespace")
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_string()
}

impl ControllerContext {
    /// Commits `writes` as one batch fenced by this context's term (all or none), then waits
    /// until the informers of the written kinds reflect it. Returns the commit revision (0 when
    /// nothing needed writing).
    pub async fn write(&self, writes: Vec<Write>) -> Result<u64, ReconcileError> {
        if writes.is_empty() {
            return Ok(0);
        }
        let mut kinds: Vec<KindId> = writes.iter().filter_map(Write::kind).collect();
        kinds.dedup();
        let batch = writes
            .into_iter()
            .map(Write::into_batch_write)
            .collect::<Result<Vec<_>, _>>()?;
        let results: Vec<WriteResult> = self.registry.batch_as_leader(self.term, &batch).await?;
        let revision = results.iter().map(|r| r.revision).max().unwrap_or(0);
        for kind in kinds {
            self.informers.wait_for(kind, revision).await;
        }
        Ok(revision)
    }

    /// Like [`Self::write`] for writes that do not depend on each other: commits them in
    /// batches of `chunk`; a batch that fails is retried one write at a time so one stale
    /// object does not hold back the rest. Returns the writes that failed, with their errors.
    pub async fn write_each(
        &self,
        writes: Vec<Write>,
        chunk: usize,
    ) -> Result<Vec<ReconcileError>, ReconcileError> {
        let mut failed = Vec::new();
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            let batch: Vec<Write> = writes.by_ref().take(chunk.max(1)).collect();
            match self.write(batch.clone()).await {
                Ok(_) => {}
                Err(e) if e.is_fenced() => return Err(e),
                Err(_) => {
                    for w in batch {
                        match self.write(vec![w]).await {
                            Ok(_) => {}
                            Err(e) if e.is_fenced() => return Err(e),
                            Err(e) => failed.push(e),
                        }
                    }
                }
            }
        }
        Ok(failed)
    }
}
