//! The registry: Kubernetes API semantics on the replicated store. Any replica serves it.
//!
//! A write is decided on this replica's applied state and committed as one store transaction
//! whose compares cover every key the decision read (the object, its namespace, the quotas it
//! charged, the addresses it claimed). If any of them changed before the transaction commits,
//! the registry waits for a linearizable view and decides again; a caller's explicit
//! resourceVersion that no longer matches is a Conflict instead. The transaction goes through
//! the [`Proposer`], which forwards it to the leader.
//!
//! ```text
//! request ─▶ Registry::{create,update,patch,delete,batch}
//!              └─ attempt: StoreView (local RocksDB) ─▶ Decision (create.rs / update.rs /
//!                 delete.rs; quota_ledger, address_claims, namespace_guard) ─▶ WriteSet ─▶ Txn
//!                 ─▶ Proposer ─▶ leader ─▶ Raft log ─▶ every replica's MVCC ─▶ WatchHub ─▶ watch.rs
//! ```
//!
//! Reads (get, list) are linearizable by default (a read barrier, then the local state); watches
//! follow this replica's own applied stream (watch.rs). The leader's maintenance loop
//! (maintenance.rs) creates the bootstrap namespaces, empties terminating namespaces, prunes
//! Events and recounts quota usage.

mod address_claims;
pub mod create;
mod decision;
mod delete;
mod error;
mod list;
pub mod maintenance;
mod namespace_guard;
mod pod_cidrs;
pub mod pod_node_index;
mod quota_ledger;
mod quota_recount;
mod quota_usage;
mod store_view;
mod update;
pub mod watch;
mod write_set;

use std::time::Duration;

use crate::api::Proposer;
use crate::objects::{
    DynamicObject, ObjectKey, ObjectPatch, RegistryTable, ResourceKind, WriteTarget,
};
use crate::store::{Command, CommandResponse, Mvcc, WatchHub};

pub use decision::{Decision, RegistrySettings};
pub use delete::{parse_propagation, DeleteRequest, Deleted, PROTECTED_NAMESPACES};
pub use error::RegistryError;
pub use list::{ListOptions, ListResult};
pub use pod_cidrs::{PodCidrAllocator, DEFAULT_CLUSTER_CIDR};
pub use store_view::{StoreView, StoredObject};
pub use update::Updated;

/// How many times a write is decided again after a concurrent change before giving up.
const MAX_ATTEMPTS: usize = 8;

/// One write of a batch.
#[derive(Debug, Clone)]
pub enum BatchWrite {
    Create {
        namespace: String,
        object: Vec<u8>,
    },
    Update {
        namespace: String,
        object: Vec<u8>,
        target: WriteTarget,
    },
    Delete {
        key: ObjectKey,
        request: DeleteRequest,
    },
}

/// The result of one write: the object (with its resourceVersion) and what happened.
#[derive(Debug, Clone)]
pub struct WriteResult {
    pub object: DynamicObject,
    /// The object is gone (a delete, or an update that removed the last finalizer).
    pub deleted: bool,
    pub revision: u64,
}

/// The object API of one replica.
#[derive(Clone)]
pub struct Registry {
    proposer: Proposer,
    mvcc: Mvcc,
    hub: WatchHub,
    settings: RegistrySettings,
}

/// What one decided write produced, before the revision is known.
struct Decided {
    object: DynamicObject,
    deleted: bool,
    unchanged: bool,
}

impl Registry {
    pub fn new(proposer: Proposer, mvcc: Mvcc, hub: WatchHub, settings: RegistrySettings) -> Self {
        Registry {
            proposer,
            mvcc,
            hub,
            settings,
        }
    }

    pub fn proposer(&self) -> &Proposer {
        &self.proposer
    }

    pub fn view(&self) -> StoreView {
        StoreView::new(self.mvcc.clone())
    }

    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    /// Resolves a kubectl-style resource name.
    pub fn resource(name: &str) -> Result<&'static ResourceKind, RegistryError> {
        Ok(RegistryTable::by_resource(name)?)
    }

    /// The key of `name` of `kind` in `namespace` ("" for cluster-scoped kinds).
    pub fn key(
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<ObjectKey, RegistryError> {
        if name.is_empty() {
            return Err(RegistryError::BadRequest(
                "resource name may not be empty".into(),
            ));
        }
        let ns = if kind.namespaced {
            Some(if namespace.is_empty() {
                "default"
            } else {
                namespace
            })
        } else {
            None
        };
        Ok(ObjectKey::new(kind, ns, name)?)
    }

    pub async fn create(
        &self,
        namespace: &str,
        body: &[u8],
        dry_run: bool,
    ) -> Result<WriteResult, RegistryError> {
        let write = BatchWrite::Create {
            namespace: namespace.to_string(),
            object: body.to_vec(),
        };
        self.one(write, dry_run).await
    }

    pub async fn update(
        &self,
        namespace: &str,
        body: &[u8],
        target: WriteTarget,
        dry_run: bool,
    ) -> Result<WriteResult, RegistryError> {
        let write = BatchWrite::Update {
            namespace: namespace.to_string(),
            object: body.to_vec(),
            target,
        };
        self.one(write, dry_run).await
    }

    pub async fn delete(
        &self,
        key: ObjectKey,
        request: DeleteRequest,
        dry_run: bool,
    ) -> Result<WriteResult, RegistryError> {
        self.one(BatchWrite::Delete { key, request }, dry_run).await
    }

    pub async fn patch(
        &self,
        key: &ObjectKey,
        patch: &ObjectPatch,
        target: WriteTarget,
        dry_run: bool,
    ) -> Result<WriteResult, RegistryError> {
        let mut results = self
            .commit(dry_run, None, |d| {
                let u = update::decide_patch(d, key, patch, target)?;
                Ok(vec![Decided {
                    object: u.object,
                    deleted: u.deleted,
                    unchanged: u.unchanged,
                }])
            })
            .await?;
        results
            .pop()
            .ok_or_else(|| RegistryError::Internal("patch produced no result".into()))
    }

    /// Many writes in one transaction: all commit or none do.
    pub async fn batch(
        &self,
        writes: &[BatchWrite],
        dry_run: bool,
    ) -> Result<Vec<WriteResult>, RegistryError> {
        self.commit(dry_run, None, |d| {
            writes.iter().map(|w| decide_one(d, w)).collect()
        })
        .await
    }

    /// A batch written by leader-only work (scheduler, controllers) that runs in Raft term
    /// `term`: proposed on this replica only (never forwarded) and fenced, so it is rejected if
    /// this replica is no longer the leader of that term when the entry is appended.
    pub async fn batch_as_leader(
        &self,
        term: u64,
        writes: &[BatchWrite],
    ) -> Result<Vec<WriteResult>, RegistryError> {
        self.commit(false, Some(term), |d| {
            writes.iter().map(|w| decide_one(d, w)).collect()
        })
        .await
    }

    async fn one(&self, write: BatchWrite, dry_run: bool) -> Result<WriteResult, RegistryError> {
        let mut results = self.batch(std::slice::from_ref(&write), dry_run).await?;
        results
            .pop()
            .ok_or_else(|| RegistryError::Internal("write produced no result".into()))
    }

    /// Decides with `decide` and commits, deciding again while a compared key changed.
    async fn commit(
        &self,
        dry_run: bool,
        fence: Option<u64>,
        decide: impl Fn(&mut Decision) -> Result<Vec<Decided>, RegistryError>,
    ) -> Result<Vec<WriteResult>, RegistryError> {
        let view = self.view();
        // The first attempt decides on the local state as it is: the compares make a write
        // decided on a stale view fail, never succeed wrongly. A refusal, though, is only
        // returned once decided on a linearizable view (a barrier first).
        let mut barrier = false;
        for attempt in 0..MAX_ATTEMPTS {
            if barrier {
                self.proposer.read_barrier().await?;
            }
            let mut d = Decision::new(&view, &self.settings, create::now());
            let decided = match decide(&mut d).and_then(|out| Ok((out, d.finish()?))) {
                Ok(decided) => decided,
                Err(e) if !barrier && e.may_be_stale() => {
                    barrier = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (decided, ws) = decided;
            let read_revision = view.revision()?;
            if dry_run || ws.is_empty() {
                return Ok(finish(decided, None, read_revision));
            }
            let txn = ws.into_txn();
            let response = match fence {
                None => self.proposer.propose(Command::Txn(txn)).await?,
                Some(term) => self.proposer.propose_as_leader(term, txn).await?,
            };
            match response {
                CommandResponse::Txn(r) if r.succeeded => {
                    return Ok(finish(decided, Some(r.revision), r.revision));
                }
                CommandResponse::Txn(r) => {
                    tracing::debug!(attempt, failed = ?r.failed_compares, "registry write raced; deciding again");
                    barrier = true;
                    if attempt > 2 {
                        tokio::time::sleep(Duration::from_millis(5 << attempt.min(6))).await;
                    }
                }
                CommandResponse::Rejected { reason } if fence.is_some() => {
                    return Err(RegistryError::Fenced(reason))
                }
                CommandResponse::Rejected { reason } => {
                    return Err(RegistryError::BadRequest(reason))
                }
                other => {
                    return Err(RegistryError::Internal(format!(
                        "unexpected store response {other:?}"
                    )))
                }
            }
        }
        Err(RegistryError::Conflict(
            "the objects this request depends on kept changing while this request was decided; please try again".into(),
        ))
    }

    /// Reads one object (linearizable).
    pub async fn get(&self, key: &ObjectKey) -> Result<StoredObject, RegistryError> {
        self.proposer.read_barrier().await?;
        self.view()
            .get(key)?
            .ok_or_else(|| RegistryError::not_found(&key.kind().group_resource(), key.name()))
    }

    pub async fn list(
        &self,
        kind: &'static ResourceKind,
        opts: &ListOptions,
    ) -> Result<ListResult, RegistryError> {
        list::list(self, kind, opts).await
    }

    /// Removes keys outside the object rules (the maintenance loop's finished namespaces and
    /// pruned Events). A non-zero revision must still be the key's modify revision.
    pub async fn remove_raw(&self, keys: &[(Vec<u8>, u64)]) -> Result<(), RegistryError> {
        let mut ws = write_set::WriteSet::new();
        for (key, rev) in keys {
            if *rev != 0 {
                ws.depend_on(key, *rev);
            }
            ws.delete(key);
        }
        if ws.is_empty() {
            return Ok(());
        }
        match self.proposer.propose(Command::Txn(ws.into_txn())).await? {
            CommandResponse::Txn(_) => Ok(()),
            other => Err(RegistryError::Internal(format!(
                "unexpected store response {other:?}"
            ))),
        }
    }

    pub fn hub(&self) -> &WatchHub {
        &self.hub
    }

    pub fn mvcc(&self) -> &Mvcc {
        &self.mvcc
    }
}

fn decide_one(d: &mut Decision, write: &BatchWrite) -> Result<Decided, RegistryError> {
    match write {
        BatchWrite::Create { namespace, object } => {
            let obj = place(namespace, object)?;
            let object = create::decide_create(d, obj)?;
            Ok(Decided {
                object,
                deleted: false,
                unchanged: false,
            })
        }
        BatchWrite::Update {
            namespace,
            object,
            target,
        } => {
            let obj = place(namespace, object)?;
            let u = update::decide_update(d, obj, *target)?;
            Ok(Decided {
                object: u.object,
                deleted: u.deleted,
                unchanged: u.unchanged,
            })
        }
        BatchWrite::Delete { key, request } => {
            let r = delete::decide_delete(d, key, request)?;
            Ok(Decided {
                object: r.object,
                deleted: r.deleted,
                unchanged: r.unchanged,
            })
        }
    }
}

/// Decodes a request body and puts it in its namespace: the body's, else the request's, else
/// "default"; both given and different is an error, as in Kubernetes.
fn place(namespace: &str, body: &[u8]) -> Result<DynamicObject, RegistryError> {
    let mut obj = DynamicObject::from_json(body)?;
    let kind = obj.resource_kind();
    if !kind.namespaced {
        if !obj.namespace().is_empty() {
            return Err(RegistryError::BadRequest(format!(
                "{} is cluster-scoped: metadata.namespace must be empty, not {:?}",
                kind.kind,
                obj.namespace()
            )));
        }
        return Ok(obj);
    }
    let ns = match (obj.namespace(), namespace) {
        ("", "") => "default".to_string(),
        ("", req) => req.to_string(),
        (own, "") => own.to_string(),
        (own, req) if own == req => own.to_string(),
        (own, req) => {
            return Err(RegistryError::BadRequest(format!(
                "the namespace of the provided object ({own}) does not match the namespace sent on the request ({req})"
            )))
        }
    };
    obj.set_namespace(&ns);
    Ok(obj)
}

fn finish(decided: Vec<Decided>, written: Option<u64>, read_revision: u64) -> Vec<WriteResult> {
    decided
        .into_iter()
        .map(|d| {
            let mut object = d.object;
            let revision = match written {
                Some(rev) if !d.unchanged => {
                    object.set_resource_version(rev);
                    rev
                }
                _ => read_revision,
            };
            WriteResult {
                object,
                deleted: d.deleted,
                revision,
            }
        })
        .collect()
}
