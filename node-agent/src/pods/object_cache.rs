//! `CachedObjects`: a [`ClusterApi`] that answers the runtime's Gets of ConfigMaps and Secrets
//! from memory, so a pod sync (every second, for every pod, under the runtime's pods lock) never
//! waits on the cell for an object it has seen before.
//!
//! Each object looked up is kept with what the cell last said (found or not found; "unavailable"
//! is never kept). The first lookup of an object waits for the cell; later ones are answered at
//! once, and when the answer is older than `fresh_for` one background Get per object refreshes
//! it (the kubelet's TTL cache, stale-while-revalidate) — so volume files and env still follow
//! updates of their objects within about `fresh_for` plus a sync, and a pod waiting for a
//! missing ConfigMap starts once it exists. An object no pod has looked up for `forget_after`
//! is dropped. Events go straight through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::cluster_api::{ClusterApi, Lookup, PodEvent};

/// Resource, namespace, name.
type CacheKey = (String, String, String);

struct Entry {
    value: Lookup,
    fetched_at: Instant,
    used_at: Instant,
    refreshing: bool,
}

/// The cache in front of another [`ClusterApi`]. Clones share entries.
#[derive(Clone)]
pub struct CachedObjects {
    inner: Arc<dyn ClusterApi>,
    entries: Arc<Mutex<HashMap<CacheKey, Entry>>>,
    fresh_for: Duration,
    forget_after: Duration,
}

/// What a lookup found in the cache.
enum Cached {
    /// Fresh enough, or stale with a refresh started: answer with it.
    Answer(Lookup, bool),
    Absent,
}

impl CachedObjects {
    pub fn new(
        inner: Arc<dyn ClusterApi>,
        fresh_for: Duration,
        forget_after: Duration,
    ) -> CachedObjects {
        CachedObjects {
            inner,
            entries: Arc::default(),
            fresh_for,
            forget_after,
        }
    }

    /// How many objects are cached (for tests and logs).
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, key: &CacheKey, now: Instant) -> Cached {
        let Ok(mut entries) = self.entries.lock() else {
            return Cached::Absent;
        };
        let forget_after = self.forget_after;
        entries.retain(|_, e| now.duration_since(e.used_at) < forget_after || e.refreshing);
        let Some(e) = entries.get_mut(key) else {
            return Cached::Absent;
        };
        e.used_at = now;
        let refresh = !e.refreshing && now.duration_since(e.fetched_at) >= self.fresh_for;
        if refresh {
            e.refreshing = true;
        }
        Cached::Answer(e.value.clone(), refresh)
    }

    /// Records what the cell said for `key` (an unavailable answer keeps the old value and
    /// lets the next lookup try again).
    fn store(&self, key: CacheKey, value: Lookup, now: Instant) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if matches!(value, Lookup::Unavailable(_)) {
            if let Some(e) = entries.get_mut(&key) {
                e.refreshing = false;
            }
            return;
        }
        let used_at = entries.get(&key).map_or(now, |e| e.used_at);
        entries.insert(
            key,
            Entry {
                value,
                fetched_at: now,
                used_at,
                refreshing: false,
            },
        );
    }

    fn refresh_in_background(&self, key: CacheKey) {
        let me = self.clone();
        tokio::spawn(async move {
            let value = me.inner.get(&key.0, &key.1, &key.2).await;
            me.store(key, value, Instant::now());
        });
    }
}

impl ClusterApi for CachedObjects {
    fn get<'a>(
        &'a self,
        resource: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Lookup> {
        Box::pin(async move {
            let key = (
                resource.to_string(),
                namespace.to_string(),
                name.to_string(),
            );
            match self.lookup(&key, Instant::now()) {
                Cached::Answer(value, refresh) => {
                    if refresh {
                        self.refresh_in_background(key);
                    }
                    value
                }
                Cached::Absent => {
                    let value = self.inner.get(resource, namespace, name).await;
                    self.store(key, value.clone(), Instant::now());
                    value
                }
            }
        })
    }

    fn record_event(&self, event: PodEvent) -> BoxFuture<'_, ()> {
        self.inner.record_event(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A cell whose ConfigMap `c` holds `value`, counting Gets.
    #[derive(Default)]
    struct Counting {
        value: Mutex<Option<String>>,
        gets: AtomicUsize,
    }

    impl ClusterApi for Counting {
        fn get<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> BoxFuture<'a, Lookup> {
            Box::pin(async move {
                self.gets.fetch_add(1, Ordering::SeqCst);
                match self.value.lock().unwrap().clone() {
                    Some(v) => Lookup::Found(json!({"data": {"k": v}})),
                    None => Lookup::NotFound,
                }
            })
        }

        fn record_event(&self, _: PodEvent) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
    }

    /// Lets a background refresh finish.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    const FRESH: Duration = Duration::from_millis(100);
    const FORGET: Duration = Duration::from_millis(400);

    #[tokio::test]
    async fn repeated_lookups_are_answered_from_memory_and_refreshed_in_the_background() {
        let cell = Arc::new(Counting::default());
        let cache = CachedObjects::new(cell.clone(), FRESH, FORGET);
        assert_eq!(
            cache.get("configmaps", "default", "c").await,
            Lookup::NotFound
        );
        for _ in 0..20 {
            assert_eq!(
                cache.get("configmaps", "default", "c").await,
                Lookup::NotFound
            );
        }
        assert_eq!(
            cell.gets.load(Ordering::SeqCst),
            1,
            "one Get for 21 lookups"
        );
        // The object appears: a stale answer starts one refresh, the next lookup sees it.
        *cell.value.lock().unwrap() = Some("v1".into());
        tokio::time::sleep(FRESH + Duration::from_millis(20)).await;
        assert_eq!(
            cache.get("configmaps", "default", "c").await,
            Lookup::NotFound
        );
        settle().await;
        assert_eq!(
            cache.get("configmaps", "default", "c").await,
            Lookup::Found(json!({"data": {"k": "v1"}}))
        );
        assert_eq!(cell.gets.load(Ordering::SeqCst), 2);
        // An update is followed the same way.
        *cell.value.lock().unwrap() = Some("v2".into());
        tokio::time::sleep(FRESH + Duration::from_millis(20)).await;
        cache.get("configmaps", "default", "c").await;
        settle().await;
        assert_eq!(
            cache.get("configmaps", "default", "c").await,
            Lookup::Found(json!({"data": {"k": "v2"}}))
        );
    }

    #[tokio::test]
    async fn unused_objects_are_forgotten_and_unavailable_answers_never_kept() {
        struct Down;
        impl ClusterApi for Down {
            fn get<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> BoxFuture<'a, Lookup> {
                Box::pin(async { Lookup::Unavailable("no replica".into()) })
            }
            fn record_event(&self, _: PodEvent) -> BoxFuture<'_, ()> {
                Box::pin(async {})
            }
        }
        let down = CachedObjects::new(Arc::new(Down), FRESH, FORGET);
        down.get("secrets", "default", "s").await;
        assert!(down.is_empty(), "unavailable is not an answer to keep");

        let cell = Arc::new(Counting::default());
        let cache = CachedObjects::new(cell.clone(), FRESH, FORGET);
        cache.get("configmaps", "default", "a").await;
        tokio::time::sleep(FORGET + Duration::from_millis(50)).await;
        cache.get("configmaps", "default", "b").await;
        assert_eq!(
            cache.len(),
            1,
            "a was not looked up for longer than forget_after"
        );
    }
}
