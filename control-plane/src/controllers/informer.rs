//! `Informer<T>`: a typed, always-current cache of every object of one kind on this replica, fed
//! by a local watch (list at this replica's revision, then the applied stream from there), with
//! change handlers that map each change to work-queue keys. Controllers read only the cache; a
//! controller that wrote at revision R waits for [`Informer::wait_for_revision`] so its next
//! reconcile sees its own write (what client-go's "expectations" are for).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::objects::{KindId, RegistryTable};
use crate::registry::watch::{ObjectWatch, WatchEvent, WatchOptions};
use crate::registry::{Registry, RegistryError};

/// An object's namespace ("" when cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectRef {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The reference of a typed object's metadata.
    pub fn of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Self {
        ObjectRef::new(
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// One change the informer applied to its cache.
#[derive(Debug)]
pub enum InformerEvent<T> {
    /// Created or modified; `old` is the cached state before, if any.
    Applied {
        old: Option<Arc<T>>,
        new: Arc<T>,
    },
    Deleted(Arc<T>),
}

type Handler<T> = Box<dyn Fn(&InformerEvent<T>) + Send + Sync>;

struct Shared<T> {
    cache: RwLock<BTreeMap<ObjectRef, Arc<T>>>,
    handlers: RwLock<Vec<Handler<T>>>,
}

/// A cheap-to-clone handle on one kind's cache.
pub struct Informer<T> {
    kind: KindId,
    shared: Arc<Shared<T>>,
    revision: watch::Receiver<u64>,
}

impl<T> Clone for Informer<T> {
    fn clone(&self) -> Self {
        Informer {
            kind: self.kind,
            shared: self.shared.clone(),
            revision: self.revision.clone(),
        }
    }
}

/// Pause before listing again after the watch failed (e.g. fell behind compaction).
const RELIST_PAUSE: Duration = Duration::from_millis(200);

impl<T> Informer<T>
where
    T: DeserializeOwned
        + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>
        + Send
        + Sync
        + 'static,
{
    /// Lists `kind` from this replica's state and keeps the cache current until `token` is
    /// cancelled. Returns once the cache holds the initial list.
    pub async fn start(
        registry: &Registry,
        kind: KindId,
        token: CancellationToken,
    ) -> Result<Informer<T>, RegistryError> {
        let shared = Arc::new(Shared {
            cache: RwLock::new(BTreeMap::new()),
            handlers: RwLock::new(Vec::new()),
        });
        let watch = open_watch(registry, kind).await?;
        let (rev_tx, rev_rx) = watch::channel(0);
        let informer = Informer {
            kind,
            shared,
            revision: rev_rx,
        };
        let first = informer.clone();
        let registry = registry.clone();
        let (synced_tx, synced_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = first.run(registry, watch, rev_tx, synced_tx) => {}
            }
        });
        // The first batch of a watch opened without a revision is the whole list.
        let _ = synced_rx.await;
        Ok(informer)
    }

    async fn run(
        &self,
        registry: Registry,
        mut watch: ObjectWatch,
        rev_tx: watch::Sender<u64>,
        synced: tokio::sync::oneshot::Sender<()>,
    ) {
        let mut synced = Some(synced);
        let mut relisting = true;
        loop {
            if relisting {
                // The list: replace the cache wholesale.
                let events = watch.take_initial();
                self.replace(events);
                rev_tx.send_replace(watch.seen_revision());
                relisting = false;
                if let Some(s) = synced.take() {
                    let _ = s.send(());
                }
                continue;
            }
            match watch.next().await {
                Ok(events) => {
                    for event in events {
                        self.apply(event);
                    }
                    rev_tx.send_replace(watch.seen_revision());
                }
                Err(e) => {
                    tracing::warn!(kind = ?self.kind, error = %e, "informer watch failed; listing again");
                    tokio::time::sleep(RELIST_PAUSE).await;
                    match open_watch(&registry, self.kind).await {
                        Ok(w) => {
                            watch = w;
                            relisting = true;
                        }
                        Err(e) => {
                            tracing::warn!(kind = ?self.kind, error = %e, "informer relist failed")
                        }
                    }
                }
            }
        }
    }

    fn decode(&self, object: serde_json::Value) -> Option<Arc<T>> {
        match serde_json::from_value::<T>(object) {
            Ok(t) => Some(Arc::new(t)),
            Err(e) => {
                tracing::warn!(kind = ?self.kind, error = %e, "informer skips an object that does not decode");
                None
            }
        }
    }

    fn replace(&self, events: Vec<WatchEvent>) {
        let mut fresh = BTreeMap::new();
        for e in events {
            if let Some(obj) = self.decode(e.object) {
                fresh.insert(ObjectRef::of(obj.metadata()), obj);
            }
        }
        let old = {
            let mut cache = self.write_cache();
            std::mem::replace(&mut *cache, fresh.clone())
        };
        for (key, obj) in &fresh {
            self.notify(&InformerEvent::Applied {
                old: old.get(key).cloned(),
                new: obj.clone(),
            });
        }
        for (key, obj) in old {
            if !fresh.contains_key(&key) {
                self.notify(&InformerEvent::Deleted(obj));
            }
        }
    }

    fn apply(&self, event: WatchEvent) {
        let Some(obj) = self.decode(event.object) else {
            return;
        };
        let key = ObjectRef::of(obj.metadata());
        let change = match event.kind {
            "DELETED" => {
                self.write_cache().remove(&key);
                InformerEvent::Deleted(obj)
            }
            "ADDED" | "MODIFIED" => {
                let old = self.write_cache().insert(key, obj.clone());
                InformerEvent::Applied { old, new: obj }
            }
            _ => return,
        };
        self.notify(&change);
    }

    fn notify(&self, change: &InformerEvent<T>) {
        let handlers = self
            .shared
            .handlers
            .read()
            .unwrap_or_else(|p| p.into_inner());
        for h in handlers.iter() {
            h(change);
        }
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<ObjectRef, Arc<T>>> {
        self.shared.cache.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<ObjectRef, Arc<T>>> {
        self.shared.cache.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls `handler` for every later change (and for nothing already cached: pair it with a
    /// resync of [`Self::list`]).
    pub fn on_change(&self, handler: impl Fn(&InformerEvent<T>) + Send + Sync + 'static) {
        self.shared
            .handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(handler));
    }

    pub fn get(&self, key: &ObjectRef) -> Option<Arc<T>> {
        self.read_cache().get(key).cloned()
    }

    /// Every cached object, in key order.
    pub fn list(&self) -> Vec<Arc<T>> {
        self.read_cache().values().cloned().collect()
    }

    /// The cached objects of one namespace.
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<T>> {
        let start = ObjectRef::new(namespace, "");
        self.read_cache()
            .range(start..)
            .take_while(|(k, _)| k.namespace == namespace)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.read_cache().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store revision the cache reflects (every change of this kind up to it is applied).
    pub fn revision(&self) -> u64 {
        *self.revision.borrow()
    }

    /// Waits until the cache reflects revision `revision` (a write of this kind that committed
    /// at `revision`), or `timeout` passes.
    pub async fn wait_for_revision(&self, revision: u64, timeout: Duration) -> bool {
        let mut rx = self.revision.clone();
        tokio::time::timeout(timeout, rx.wait_for(|r| *r >= revision))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

async fn open_watch(registry: &Registry, kind: KindId) -> Result<ObjectWatch, RegistryError> {
    let kind = RegistryTable::get(kind);
    ObjectWatch::start(
        registry,
        kind,
        &WatchOptions {
            resource_version: "0".into(),
            ..Default::default()
        },
    )
    .await
}
