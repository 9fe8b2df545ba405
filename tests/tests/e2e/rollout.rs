//! `keelctl rollout status|history|undo|pause|resume|restart` against a real cell with hollow
//! agents, a Deployment of 3 (maxSurge 1, maxUnavailable 1) watched from before it exists: at
//! every stored state of its pods there are at most 4 live ones and, once it first came up, at
//! least 2 Ready live ones. `set image` makes revision 2; `undo` restores revision 1's
//! template (pods back on the old image, the old ReplicaSet becomes revision 3); `pause` holds
//! a template change (no new ReplicaSet, no pod moves) and refuses `undo`; `resume` rolls it
//! out; `restart` replaces every pod with the same image.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_chaos::{ClusterOptions, LocalCluster};
use keel_proto::objects as pb;
use serde_json::{json, Value};

use crate::agent_support::spawn_agent;
use crate::kubectl_support::Keelctl;
use crate::objects_support::*;
use crate::support::cell;

const REPLICAS: usize = 3;
const MAX_SURGE: usize = 1;
const MAX_UNAVAILABLE: usize = 1;

fn ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// The pods as the watch shows them (live = no deletionTimestamp) and every bound broken.
#[derive(Debug, Default)]
struct Bounds {
    /// name -> (live, ready)
    pods: BTreeMap<String, (bool, bool)>,
    /// The Deployment has been fully up once: the lower bound applies from then on.
    came_up: bool,
    events: usize,
    max_live: usize,
    min_ready_after_up: Option<usize>,
    violations: Vec<String>,
}

impl Bounds {
    fn apply(&mut self, kind: &str, pod: &Value) {
        self.events += 1;
        let name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if kind == "DELETED" {
            self.pods.remove(&name);
        } else {
            let live = pod["metadata"]["deletionTimestamp"].is_null();
            self.pods.insert(name, (live, live && ready(pod)));
        }
        let live = self.pods.values().filter(|(l, _)| *l).count();
        let ready = self.pods.values().filter(|(_, r)| *r).count();
        self.max_live = self.max_live.max(live);
        if live > REPLICAS + MAX_SURGE {
            self.violations.push(format!(
                "{live} live pods > replicas + maxSurge: {:?}",
                self.pods
            ));
        }
        if self.came_up {
            self.min_ready_after_up = Some(self.min_ready_after_up.map_or(ready, |m| m.min(ready)));
            if ready + MAX_UNAVAILABLE < REPLICAS {
                self.violations.push(format!(
                    "{ready} ready pods < replicas - maxUnavailable: {:?}",
                    self.pods
                ));
            }
        } else if ready == REPLICAS {
            self.came_up = true;
        }
    }
}

/// The watch task, stopped when the test ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn watch_bounds(cluster: &LocalCluster, bounds: Arc<Mutex<Bounds>>) -> AbortOnDrop {
    let mut stream = client(cluster, 1)
        .watch(pb::WatchRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "app=web".into(),
            ..Default::default()
        })
        .await
        .expect("watch opens")
        .into_inner();
    AbortOnDrop(tokio::spawn(async move {
        loop {
            let event = stream.message().await;
            let mut b = bounds.lock().expect("bounds lock");
            match event {
                Ok(Some(e)) => b.apply(&e.r#type, &json(&e.object)),
                Ok(None) => return b.violations.push("the watch ended".into()),
                Err(s) => return b.violations.push(format!("the watch failed: {s}")),
            }
        }
    }))
}

/// Live pods: (name, uid, image).
async fn web_pods(cluster: &LocalCluster) -> Vec<(String, String, String)> {
    let (items, _) = list(
        cluster,
        1,
        pb::ListRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "app=web".into(),
            ..Default::default()
        },
    )
    .await
    .expect("list pods");
    items
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                s(&p["metadata"]["name"]),
                s(&p["metadata"]["uid"]),
                s(&p["spec"]["containers"][0]["image"]),
            )
        })
        .collect()
}

async fn images(cluster: &LocalCluster) -> Vec<String> {
    let mut images: Vec<String> = web_pods(cluster).await.into_iter().map(|p| p.2).collect();
    images.sort();
    images
}

/// `keelctl rollout status` until done (it polls once a second), on a blocking thread.
async fn rollout_status(k: &Arc<Keelctl>) -> String {
    let k = k.clone();
    tokio::task::spawn_blocking(move || {
        k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
    })
    .await
    .expect("keelctl runs")
}

fn history_revisions(table: &str) -> Vec<String> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_rollout_undoes_pauses_resumes_and_restarts_within_the_surge_bounds() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let addrs = cluster.addrs();
    let _a = spawn_agent(&cluster, "node-a", &addrs, &[]);
    let _b = spawn_agent(&cluster, "node-b", &addrs, &[]);
    let k = Arc::new(Keelctl::new(&addrs.join(",")));
    let bounds = Arc::new(Mutex::new(Bounds::default()));
    let _watch = watch_bounds(&cluster, bounds.clone()).await;

    create(
        &cluster,
        1,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {"kubernetes.io/change-cause": "first"}},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": MAX_SURGE, "maxUnavailable": MAX_UNAVAILABLE}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "keel/app:1"}]}}}}),
    )
    .await
    .expect("deployment");
    let out = rollout_status(&k).await;
    assert!(out.contains("successfully rolled out"), "{out}");
    assert_eq!(images(&cluster).await, ["keel/app:1"; 3]);

    // Revision 2: a new image.
    k.ok(&["set", "image", "deployment/web", "c=keel/app:2"]);
    rollout_status(&k).await;
    assert_eq!(images(&cluster).await, ["keel/app:2"; 3]);
    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert_eq!(history_revisions(&history), ["1", "2"], "{history}");
    assert!(history.contains("first"), "the change cause: {history}");

    // Undo: revision 1's template comes back (as revision 3) and the pods follow.
    let out = k.ok(&["rollout", "undo", "deployment/web"]);
    assert!(out.contains("rolled back"), "{out}");
    rollout_status(&k).await;
    assert_eq!(images(&cluster).await, ["keel/app:1"; 3]);
    let d = get(&cluster, 1, "deployments", "default", "web")
        .await
        .expect("deployment");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "keel/app:1"
    );
    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert_eq!(history_revisions(&history), ["2", "3"], "{history}");

    // Pause: a template change waits; undo is refused while paused.
    let out = k.ok(&["rollout", "pause", "deployment/web"]);
    assert!(out.contains("paused"), "{out}");
    k.ok(&["set", "image", "deployment/web", "c=keel/app:3"]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        images(&cluster).await,
        ["keel/app:1"; 3],
        "a paused rollout moved"
    );
    let (rs, _) = list(
        &cluster,
        1,
        pb::ListRequest {
            resource: "replicasets".into(),
            namespace: "default".into(),
            ..Default::default()
        },
    )
    .await
    .expect("replicasets");
    assert!(
        rs.iter()
            .all(|r| r["spec"]["template"]["spec"]["containers"][0]["image"] != "keel/app:3"),
        "a ReplicaSet for the paused template: {:?}",
        names(&rs)
    );
    let err = k.fails(&["rollout", "undo", "deployment/web"]);
    assert!(err.contains("paused"), "{err}");

    // Resume: the held change rolls out.
    let out = k.ok(&["rollout", "resume", "deployment/web"]);
    assert!(out.contains("resumed"), "{out}");
    rollout_status(&k).await;
    assert_eq!(images(&cluster).await, ["keel/app:3"; 3]);

    // Restart: every pod replaced, same image.
    let before: Vec<String> = web_pods(&cluster).await.into_iter().map(|p| p.1).collect();
    let out = k.ok(&["rollout", "restart", "deployment/web"]);
    assert!(out.contains("restarted"), "{out}");
    rollout_status(&k).await;
    let after = web_pods(&cluster).await;
    assert_eq!(after.len(), REPLICAS);
    assert!(
        after
            .iter()
            .all(|p| !before.contains(&p.1) && p.2 == "keel/app:3"),
        "before {before:?}, after {after:?}"
    );
    let d = get(&cluster, 1, "deployments", "default", "web")
        .await
        .expect("deployment");
    assert!(
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string(),
        "{}",
        d["spec"]["template"]
    );

    let b = bounds.lock().expect("bounds lock");
    eprintln!(
        "watch: {} pod events, at most {} live, at least {:?} ready after coming up",
        b.events, b.max_live, b.min_ready_after_up
    );
    assert!(
        b.came_up && b.events > 30,
        "the watch saw the rollouts: {b:?}"
    );
    assert!(b.violations.is_empty(), "violations: {:#?}", b.violations);
    drop(b);
    cluster.teardown();
}
