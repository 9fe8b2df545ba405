//! The StatefulSet controller on a real cell with a hollow agent, observed through a watch on
//! its pods from before the set exists to its deletion, so every stored state is seen in
//! revision order. At every instant: no two pods hold one ordinal, and an ordinal's pod is
//! created only while every lower ordinal's pod is Running and Ready (OrderedReady). Through
//! scale up (0 -> 3 -> 5), scale down (5 -> 2: ordinals 4, 3, 2, in that order, each only once
//! the one above is gone), and a RollingUpdate with a partition (partition 2 of 4 replaces
//! ordinals 3 then 2 and leaves 0 and 1 on the old revision; partition 0 then replaces 1 then
//! 0; one pod at a time, each while every other pod is Ready). Also: stable identity labels,
//! hostname/subdomain, a deleted pod comes back under its name, deleting the set collects its
//! pods.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions, LocalCluster};
use keel_proto::objects as pb;
use serde_json::{json, Value};

use crate::agent_support::spawn_agent;
use crate::objects_support::*;
use crate::support::cell;

const INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
const REVISION_LABEL: &str = "controller-revision-hash";

fn ready(p: &Value) -> bool {
    p["metadata"]["deletionTimestamp"].is_null()
        && p["status"]["phase"] == "Running"
        && p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// A pod as the watch last showed it.
#[derive(Debug, Clone)]
struct SeenPod {
    uid: String,
    ordinal: i64,
    ready: bool,
    deleting: bool,
    revision: String,
}

impl SeenPod {
    fn of(p: &Value) -> SeenPod {
        let labels = &p["metadata"]["labels"];
        SeenPod {
            uid: p["metadata"]["uid"].as_str().unwrap_or_default().into(),
            ordinal: labels[INDEX_LABEL]
                .as_str()
                .and_then(|o| o.parse().ok())
                .unwrap_or(-1),
            ready: ready(p),
            deleting: !p["metadata"]["deletionTimestamp"].is_null(),
            revision: labels[REVISION_LABEL].as_str().unwrap_or_default().into(),
        }
    }
}

/// A pod's deletion starting (deletionTimestamp first seen, or DELETED without one).
#[derive(Debug, Clone)]
struct DeletionStart {
    phase: &'static str,
    ordinal: i64,
    revision: String,
    /// Another pod was missing its readiness or being deleted at that instant.
    others_unsettled: Vec<String>,
    /// Pods with a higher ordinal present at that instant.
    higher_present: Vec<i64>,
}

/// Everything the watch saw, checked event by event.
#[derive(Debug, Default)]
struct Timeline {
    phase: &'static str,
    present: BTreeMap<String, SeenPod>,
    events: usize,
    /// (phase, ordinal) of every pod creation, in order.
    additions: Vec<(&'static str, i64)>,
    deletions: Vec<DeletionStart>,
    violations: Vec<String>,
}

impl Timeline {
    fn deletion_starts(&mut self, name: &str, pod: &SeenPod) {
        let others_unsettled = self
            .present
            .iter()
            .filter(|(n, p)| n.as_str() != name && (!p.ready || p.deleting))
            .map(|(n, _)| n.clone())
            .collect();
        let higher_present = self
            .present
            .values()
            .map(|p| p.ordinal)
            .filter(|o| *o > pod.ordinal)
            .collect();
        self.deletions.push(DeletionStart {
            phase: self.phase,
            ordinal: pod.ordinal,
            revision: pod.revision.clone(),
            others_unsettled,
            higher_present,
        });
    }

    fn apply(&mut self, kind: &str, object: &Value) {
        self.events += 1;
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pod = SeenPod::of(object);
        match kind {
            "ADDED" => {
                if let Some(old) = self.present.get(&name) {
                    self.violations.push(format!(
                        "{name} added (uid {}) while {} still exists",
                        pod.uid, old.uid
                    ));
                }
                for lower in 0..pod.ordinal {
                    let ok = self
                        .present
                        .values()
                        .any(|p| p.ordinal == lower && p.ready && !p.deleting);
                    if !ok {
                        self.violations.push(format!(
                            "{name} created while ordinal {lower} was not Running and Ready: {:?}",
                            self.present
                        ));
                    }
                }
                self.additions.push((self.phase, pod.ordinal));
                self.present.insert(name, pod);
            }
            "MODIFIED" => {
                match self.present.get(&name) {
                    None => self
                        .violations
                        .push(format!("{name} modified but never added")),
                    Some(old) if old.uid != pod.uid => self.violations.push(format!(
                        "{name} changed uid {} -> {} without a deletion",
                        old.uid, pod.uid
                    )),
                    Some(old) if pod.deleting && !old.deleting => self.deletion_starts(&name, &pod),
                    Some(_) => {}
                }
                self.present.insert(name, pod);
            }
            "DELETED" => {
                match self.present.get(&name) {
                    Some(old) if !old.deleting => {
                        let old = old.clone();
                        self.deletion_starts(&name, &old)
                    }
                    Some(_) => {}
                    None => self
                        .violations
                        .push(format!("{name} deleted but never added")),
                }
                self.present.remove(&name);
            }
            _ => {}
        }
        let mut holders: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (n, p) in &self.present {
            holders.entry(p.ordinal).or_default().push(n);
        }
        for (ordinal, names) in holders.into_iter().filter(|(_, n)| n.len() > 1) {
            self.violations
                .push(format!("ordinal {ordinal} held by {names:?} at once"));
        }
    }
}

/// Watches the `app=db` pods from now on and feeds every event to the timeline.
async fn watch_pods(cluster: &LocalCluster, timeline: Arc<Mutex<Timeline>>) -> AbortOnDrop {
    let mut stream = client(cluster, 1)
        .watch(pb::WatchRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "app=db".into(),
            ..Default::default()
        })
        .await
        .expect("watch opens")
        .into_inner();
    let task = tokio::spawn(async move {
        loop {
            let event = stream.message().await;
            let mut t = timeline.lock().expect("timeline lock");
            match event {
                Ok(Some(e)) => t.apply(&e.r#type, &json(&e.object)),
                Ok(None) => {
                    t.violations.push("the watch ended".into());
                    return;
                }
                Err(status) => {
                    t.violations.push(format!("the watch failed: {status}"));
                    return;
                }
            }
        }
    });
    AbortOnDrop(task)
}

/// The watch task, stopped when the test ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn set_phase(timeline: &Arc<Mutex<Timeline>>, phase: &'static str) {
    timeline.lock().expect("timeline lock").phase = phase;
}

/// The db pods, from the API: (name, ready, uid, revision), by ordinal.
async fn db_pods(cluster: &LocalCluster) -> anyhow::Result<Vec<(String, bool, String, String)>> {
    let (items, _) = list(
        cluster,
        1,
        pb::ListRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "app=db".into(),
            ..Default::default()
        },
    )
    .await?;
    let mut pods: Vec<(i64, (String, bool, String, String))> = items
        .iter()
        .map(|p| {
            let seen = SeenPod::of(p);
            let name = p["metadata"]["name"].as_str().unwrap_or_default().into();
            (seen.ordinal, (name, seen.ready, seen.uid, seen.revision))
        })
        .collect();
    pods.sort_by_key(|(o, _)| *o);
    Ok(pods.into_iter().map(|(_, p)| p).collect())
}

/// Waits until the set has `replicas` ready pods db-0.. and a status that says so; returns
/// the set.
async fn wait_settled(cluster: &LocalCluster, replicas: usize, what: &str) -> Value {
    wait_until(Duration::from_secs(30), what, async || {
        let pods = db_pods(cluster).await?;
        let names: Vec<String> = (0..replicas).map(|o| format!("db-{o}")).collect();
        anyhow::ensure!(
            pods.iter().map(|p| &p.0).eq(names.iter()) && pods.iter().all(|p| p.1),
            "pods {pods:?}"
        );
        let set = get(cluster, 1, "statefulsets", "default", "db").await?;
        let s = &set["status"];
        anyhow::ensure!(
            s["readyReplicas"] == replicas as u64
                && s["replicas"] == replicas as u64
                && s["observedGeneration"] == set["metadata"]["generation"],
            "status {s}"
        );
        Ok(set)
    })
    .await
    .expect("the set settles")
}

async fn patch_set(cluster: &LocalCluster, spec: Value) {
    patch(
        cluster,
        1,
        "statefulsets",
        "default",
        "db",
        pb::PatchType::Merge,
        &json!({ "spec": spec }),
    )
    .await
    .expect("patch the set");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statefulset_never_shows_two_pods_of_one_ordinal_through_scaling_and_a_partitioned_update(
) {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let _a = spawn_agent(&cluster, "node-a", &cluster.addrs(), &[]);
    let timeline = Arc::new(Mutex::new(Timeline::default()));
    let _watch = watch_pods(&cluster, timeline.clone()).await;

    // Scale up from nothing: 0 -> 3, then 3 -> 5.
    set_phase(&timeline, "create");
    create(
        &cluster,
        1,
        &json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"replicas": 3, "serviceName": "db", "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "c", "image": "keel/app:1",
                        "resources": {"requests": {"cpu": "100m"}}}]}}}}),
    )
    .await
    .expect("statefulset");
    let set = wait_settled(&cluster, 3, "3 ordered pods ready").await;
    let first_revision = set["status"]["updateRevision"]
        .as_str()
        .expect("an update revision")
        .to_string();
    let pod1 = get(&cluster, 1, "pods", "default", "db-1")
        .await
        .expect("db-1");
    let labels = &pod1["metadata"]["labels"];
    assert_eq!(labels["statefulset.kubernetes.io/pod-name"], "db-1");
    assert_eq!(labels[INDEX_LABEL], "1");
    assert_eq!(labels[REVISION_LABEL], first_revision.as_str());
    assert_eq!(pod1["spec"]["hostname"], "db-1");
    assert_eq!(pod1["spec"]["subdomain"], "db");
    assert_eq!(set["status"]["currentRevision"], first_revision.as_str());

    set_phase(&timeline, "scale-up");
    patch_set(&cluster, json!({"replicas": 5})).await;
    wait_settled(&cluster, 5, "5 ordered pods ready").await;

    // Scale down 5 -> 2: ordinals 4, 3, 2, one at a time from the top.
    set_phase(&timeline, "scale-down");
    patch_set(&cluster, json!({"replicas": 2})).await;
    wait_settled(&cluster, 2, "scaled down to 2").await;

    // Back to 4, then a new template with partition 2: only ordinals >= 2 move.
    set_phase(&timeline, "scale-up-again");
    patch_set(&cluster, json!({"replicas": 4})).await;
    wait_settled(&cluster, 4, "4 pods again").await;
    set_phase(&timeline, "partitioned-update");
    patch_set(
        &cluster,
        json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            "template": {"spec": {"containers": [{"name": "c", "image": "keel/app:2",
                "resources": {"requests": {"cpu": "100m"}}}]}}}),
    )
    .await;
    let new_revision = wait_until(
        Duration::from_secs(30),
        "ordinals 2 and 3 on the new revision",
        async || {
            let set = get(&cluster, 1, "statefulsets", "default", "db").await?;
            let update = set["status"]["updateRevision"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            anyhow::ensure!(update != first_revision, "no new revision yet");
            let pods = db_pods(&cluster).await?;
            let revisions: Vec<&str> = pods.iter().map(|p| p.3.as_str()).collect();
            anyhow::ensure!(
                pods.len() == 4
                    && pods.iter().all(|p| p.1)
                    && revisions[..2] == [first_revision.as_str(); 2]
                    && revisions[2..] == [update.as_str(); 2]
                    && set["status"]["updatedReplicas"] == 2,
                "pods {pods:?}, status {}",
                set["status"]
            );
            Ok(update)
        },
    )
    .await
    .expect("the partitioned update reaches the partition");
    // The partition holds: a while later, 0 and 1 are still on the old revision.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pods = db_pods(&cluster).await.expect("pods");
    assert!(
        pods[..2].iter().all(|p| p.3 == first_revision),
        "the partition was crossed: {pods:?}"
    );

    set_phase(&timeline, "full-update");
    patch_set(
        &cluster,
        json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}),
    )
    .await;
    wait_until(
        Duration::from_secs(30),
        "every ordinal updated",
        async || {
            let set = get(&cluster, 1, "statefulsets", "default", "db").await?;
            let pods = db_pods(&cluster).await?;
            anyhow::ensure!(
                pods.len() == 4
                    && pods.iter().all(|p| p.1 && p.3 == new_revision)
                    && set["status"]["currentRevision"] == new_revision.as_str()
                    && set["status"]["updatedReplicas"] == 4,
                "pods {pods:?}, status {}",
                set["status"]
            );
            Ok(())
        },
    )
    .await
    .expect("the update completes");

    // A deleted pod comes back under its name (a new uid).
    set_phase(&timeline, "pod-deleted");
    let old_uid = db_pods(&cluster).await.expect("pods")[1].2.clone();
    delete(&cluster, 1, "pods", "default", "db-1")
        .await
        .expect("delete db-1");
    wait_until(Duration::from_secs(30), "db-1 re-created", async || {
        let pods = db_pods(&cluster).await?;
        let again = pods.iter().find(|p| p.0 == "db-1");
        anyhow::ensure!(again.is_some_and(|p| p.1 && p.2 != old_uid), "{pods:?}");
        Ok(())
    })
    .await
    .expect("db-1 comes back");

    // Deleting the set takes its pods along (the garbage collector knows StatefulSet owners).
    set_phase(&timeline, "set-deleted");
    delete(&cluster, 1, "statefulsets", "default", "db")
        .await
        .expect("delete set");
    wait_until(Duration::from_secs(20), "pods collected", async || {
        let n = db_pods(&cluster).await?.len();
        anyhow::ensure!(n == 0, "{n} pods left");
        Ok(())
    })
    .await
    .expect("garbage collected");
    // The watch has seen the last deletion too.
    wait_until(
        Duration::from_secs(10),
        "the watch catches up",
        async || {
            let t = timeline.lock().expect("timeline lock");
            anyhow::ensure!(t.present.is_empty(), "still present: {:?}", t.present);
            Ok(())
        },
    )
    .await
    .expect("the watch sees every pod go");

    let t = timeline.lock().expect("timeline lock");
    eprintln!(
        "watch: {} events, {} creations, {} deletions",
        t.events,
        t.additions.len(),
        t.deletions.len()
    );
    assert!(t.violations.is_empty(), "violations: {:#?}", t.violations);
    let added = |phase: &str| -> Vec<i64> {
        t.additions
            .iter()
            .filter(|(p, _)| *p == phase)
            .map(|(_, o)| *o)
            .collect()
    };
    let deleted = |phase: &str| -> Vec<&DeletionStart> {
        t.deletions.iter().filter(|d| d.phase == phase).collect()
    };
    assert_eq!(added("create"), [0, 1, 2]);
    assert_eq!(added("scale-up"), [3, 4]);
    assert_eq!(added("scale-up-again"), [2, 3]);
    assert_eq!(added("pod-deleted"), [1]);

    let down = deleted("scale-down");
    assert_eq!(
        down.iter().map(|d| d.ordinal).collect::<Vec<_>>(),
        [4, 3, 2],
        "scale-down order"
    );
    for d in &down {
        assert!(
            d.higher_present.is_empty() && d.others_unsettled.is_empty(),
            "ordinal {} went while {:?} (higher) or {:?} (unsettled) remained",
            d.ordinal,
            d.higher_present,
            d.others_unsettled
        );
    }

    // The updates: from the top down, each while every other pod is Ready, never below the
    // partition, each pod re-created at once under its name.
    for (phase, ordinals) in [("partitioned-update", [3, 2]), ("full-update", [1, 0])] {
        let replaced = deleted(phase);
        assert_eq!(
            replaced.iter().map(|d| d.ordinal).collect::<Vec<_>>(),
            ordinals,
            "{phase} order"
        );
        for d in &replaced {
            assert_eq!(d.revision, first_revision, "{phase}: only stale pods go");
            assert!(
                d.others_unsettled.is_empty(),
                "{phase}: ordinal {} went while {:?} were not Ready",
                d.ordinal,
                d.others_unsettled
            );
        }
        assert_eq!(
            added(phase),
            ordinals,
            "{phase}: re-created under their names"
        );
    }
    drop(t);
    cluster.teardown();
}
