//! The object API on a real 3-replica cell: Kubernetes semantics for create, get, update,
//! status, patch, delete, finalizers, namespaces, services, quota, batches, list and watch,
//! through followers and the leader alike.

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions};
use keel_proto::objects as pb;
use serde_json::{json, Value};

use crate::objects_support::*;
use crate::support::{api_only_cell, follower};

fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.14.2"}]}
            }
        }
    })
}

fn pod(name: &str, namespace: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
            "resources": {"requests": {"cpu": "100m", "memory": "16Mi"}}}]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_follow_kubernetes_semantics() {
    let cluster = api_only_cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let f = follower(&cluster).await;
    let leader = cluster.leader_id().await.expect("leader");

    // Create through a follower; server-set metadata and defaults.
    let created = create(&cluster, f, &deployment("web", 3))
        .await
        .expect("create");
    let meta = &created["metadata"];
    assert_eq!(meta["namespace"], "default");
    assert_eq!(meta["generation"], 1);
    assert!(
        meta["uid"].as_str().is_some_and(|u| u.len() == 36),
        "{meta}"
    );
    assert!(meta["creationTimestamp"].is_string());
    let rv1: u64 = meta["resourceVersion"].as_str().unwrap().parse().unwrap();
    assert_eq!(created["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(created["spec"]["revisionHistoryLimit"], 10);

    // Read back from the leader: identical.
    let got = get(&cluster, leader, "deploy", "default", "web")
        .await
        .expect("get");
    assert_eq!(got, created);

    // Create again: AlreadyExists.
    let again = create(&cluster, leader, &deployment("web", 3))
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "AlreadyExists", "{again:?}");
    assert!(
        again
            .message()
            .contains("deployments.apps \"web\" already exists"),
        "{again:?}"
    );

    // Spec change bumps generation; a stale resourceVersion is a Conflict.
    let mut scaled = got.clone();
    scaled["spec"]["replicas"] = json!(5);
    let updated = update(&cluster, f, &scaled).await.expect("update");
    assert_eq!(updated["metadata"]["generation"], 2);
    let rv2: u64 = updated["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    let stale = update(&cluster, f, &scaled).await.unwrap_err();
    assert_eq!(reason(&stale), "Conflict", "{stale:?}");
    assert!(
        stale.message().contains("the object has been modified"),
        "{stale:?}"
    );
    // A label change keeps the generation.
    let mut labelled = updated.clone();
    labelled["metadata"]["labels"]["tier"] = json!("front");
    let labelled = update(&cluster, leader, &labelled).await.expect("label");
    assert_eq!(labelled["metadata"]["generation"], 2);

    // Status is a separate subresource in both directions.
    let mut with_status = labelled.clone();
    with_status["status"] = json!({"replicas": 5, "readyReplicas": 2});
    with_status["spec"]["replicas"] = json!(9);
    let st = update_status(&cluster, f, &with_status)
        .await
        .expect("status");
    assert_eq!(st["status"]["readyReplicas"], 2);
    assert_eq!(st["spec"]["replicas"], 5, "status writes never touch spec");
    let mut spec_write = st.clone();
    spec_write["status"] = json!({"readyReplicas": 99});
    spec_write["spec"]["replicas"] = json!(4);
    let sp = update(&cluster, f, &spec_write).await.expect("spec update");
    assert_eq!(
        sp["status"]["readyReplicas"], 2,
        "spec writes never touch status"
    );
    assert_eq!(sp["spec"]["replicas"], 4);

    // Patches: merge and JSON patch; a no-op patch keeps the resourceVersion.
    let merged = patch(
        &cluster,
        f,
        "deployments.apps",
        "default",
        "web",
        pb::PatchType::Merge,
        &json!({"spec": {"replicas": 6}}),
    )
    .await
    .expect("merge patch");
    assert_eq!(merged["spec"]["replicas"], 6);
    let jp = patch(
        &cluster,
        leader,
        "deploy",
        "default",
        "web",
        pb::PatchType::Json,
        &json!([{"op": "replace", "path": "/spec/replicas", "value": 7}]),
    )
    .await
    .expect("json patch");
    assert_eq!(jp["spec"]["replicas"], 7);
    let same = patch(
        &cluster,
        f,
        "deploy",
        "default",
        "web",
        pb::PatchType::Merge,
        &json!({"spec": {"replicas": 7}}),
    )
    .await
    .expect("no-op patch");
    assert_eq!(
        same["metadata"]["resourceVersion"],
        jp["metadata"]["resourceVersion"]
    );

    // Immutable fields and validation list every offending path.
    let mut bad = jp.clone();
    bad["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
    bad["spec"]["replicas"] = json!(-1);
    let invalid = update(&cluster, f, &bad).await.unwrap_err();
    assert_eq!(reason(&invalid), "Invalid", "{invalid:?}");
    for path in ["spec.replicas", "spec.selector"] {
        assert!(
            invalid.message().contains(path),
            "{path} missing in {}",
            invalid.message()
        );
    }

    // generateName.
    let mut gen = pod("", "default", json!({"app": "gen"}));
    gen["metadata"] = json!({"generateName": "gen-", "namespace": "default"});
    let g = create(&cluster, f, &gen).await.expect("generateName");
    let gname = g["metadata"]["name"].as_str().unwrap();
    assert!(gname.starts_with("gen-") && gname.len() == 9, "{gname}");
    assert_eq!(g["status"]["phase"], "Pending");
    assert_eq!(g["spec"]["restartPolicy"], "Always");

    // Finalizers: delete marks, the last finalizer's removal deletes.
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["keel.test/hold"]}, "data": {"a": "1"}});
    create(&cluster, f, &cm).await.expect("configmap");
    let marked = delete(&cluster, f, "cm", "default", "held")
        .await
        .expect("delete");
    assert!(!marked.deleted);
    let held = get(&cluster, leader, "configmaps", "default", "held")
        .await
        .expect("still there");
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    cm = held.clone();
    cm["metadata"]["finalizers"] = json!([]);
    update(&cluster, f, &cm).await.expect("remove finalizer");
    let gone = get(&cluster, leader, "cm", "default", "held")
        .await
        .unwrap_err();
    assert_eq!(reason(&gone), "NotFound");
    assert_eq!(gone.message(), "configmaps \"held\" not found");

    // The propagation policy is recorded for the garbage collector.
    create(&cluster, f, &deployment("orphaned", 1))
        .await
        .expect("deployment");
    let orphaned = client(&cluster, f)
        .delete(pb::DeleteRequest {
            resource: "deployments".into(),
            namespace: "default".into(),
            name: "orphaned".into(),
            propagation_policy: "Orphan".into(),
            ..Default::default()
        })
        .await
        .expect("delete with Orphan")
        .into_inner();
    assert!(!orphaned.deleted);
    let kept = get(&cluster, leader, "deploy", "default", "orphaned")
        .await
        .expect("kept");
    assert_eq!(kept["metadata"]["finalizers"], json!(["orphan"]));
    let bad_policy = client(&cluster, f)
        .delete(pb::DeleteRequest {
            resource: "deployments".into(),
            namespace: "default".into(),
            name: "web".into(),
            propagation_policy: "Sideways".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&bad_policy), "BadRequest", "{bad_policy:?}");

    // Services: unique cluster IPs and node ports, without collisions.
    let svc = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name}, "spec": {"type": "NodePort", "selector": {"app": "web"},
        "ports": [{"port": 80}]}})
    };
    let (svc_a, svc_b) = (svc("a"), svc("b"));
    let (a, b) = tokio::join!(
        create(&cluster, f, &svc_a),
        create(&cluster, leader, &svc_b)
    );
    let (a, b) = (a.expect("svc a"), b.expect("svc b"));
    assert_ne!(a["spec"]["clusterIP"], b["spec"]["clusterIP"]);
    let port = |s: &Value| s["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
    assert_ne!(port(&a), port(&b));
    assert!((30000..=32767).contains(&port(&a)));
    let mut taken = svc("c");
    taken["spec"]["ports"][0]["nodePort"] = json!(port(&a));
    let dup = create(&cluster, f, &taken).await.unwrap_err();
    assert_eq!(reason(&dup), "Invalid", "{dup:?}");
    assert!(dup.message().contains("spec.ports[0].nodePort"), "{dup:?}");
    delete(&cluster, f, "svc", "default", "a")
        .await
        .expect("delete a");
    create(&cluster, f, &taken)
        .await
        .expect("the freed port can be taken");

    // Namespaces: objects need an existing, non-terminating namespace.
    let orphan = create(&cluster, f, &pod("p", "nowhere", json!({})))
        .await
        .unwrap_err();
    assert_eq!(reason(&orphan), "NotFound", "{orphan:?}");
    assert!(orphan
        .message()
        .contains("namespaces \"nowhere\" not found"));
    create(
        &cluster,
        f,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
    )
    .await
    .expect("namespace");
    create(&cluster, f, &pod("p", "team", json!({})))
        .await
        .expect("pod in team");
    let protected = delete(&cluster, f, "ns", "", "default").await.unwrap_err();
    assert_eq!(reason(&protected), "Forbidden");
    let d = delete(&cluster, f, "ns", "", "team")
        .await
        .expect("delete namespace");
    assert!(!d.deleted, "a namespace terminates first");
    let late = create(&cluster, f, &pod("q", "team", json!({})))
        .await
        .unwrap_err();
    assert_eq!(reason(&late), "Forbidden", "{late:?}");
    assert!(late.message().contains("being terminated"), "{late:?}");
    wait_until(
        Duration::from_secs(20),
        "namespace team to be gone",
        async || match get(&cluster, f, "ns", "", "team").await {
            Err(s) if reason(&s) == "NotFound" => Ok(()),
            other => anyhow::bail!("still {other:?}"),
        },
    )
    .await
    .expect("terminating namespace emptied and removed");
    let p = get(&cluster, f, "po", "team", "p").await.unwrap_err();
    assert_eq!(reason(&p), "NotFound");
    cluster.teardown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_list_and_watch_with_selectors() {
    let cluster = api_only_cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let f = follower(&cluster).await;
    for i in 0..7 {
        let tier = if i % 2 == 0 { "front" } else { "back" };
        create(
            &cluster,
            f,
            &pod(
                &format!("p{i}"),
                "default",
                json!({"app": "shop", "tier": tier}),
            ),
        )
        .await
        .expect("pod");
    }
    create(
        &cluster,
        f,
        &pod("other", "kube-system", json!({"app": "dns"})),
    )
    .await
    .expect("pod");

    // Label selectors, equality and set-based; all namespaces.
    let listing = |sel: &str, ns: &str| pb::ListRequest {
        resource: "pods".into(),
        namespace: ns.into(),
        label_selector: sel.into(),
        ..Default::default()
    };
    let (front, _) = list(&cluster, f, listing("app=shop,tier=front", "default"))
        .await
        .unwrap();
    assert_eq!(names(&front), ["p0", "p2", "p4", "p6"]);
    let (set, _) = list(&cluster, f, listing("tier in (back),app!=dns", ""))
        .await
        .unwrap();
    assert_eq!(names(&set), ["p1", "p3", "p5"]);
    let (all, all_resp) = list(&cluster, f, listing("", "")).await.unwrap();
    assert_eq!(all.len(), 8);
    assert_eq!(all_resp.kind, "PodList");
    let (by_field, _) = list(
        &cluster,
        f,
        pb::ListRequest {
            resource: "po".into(),
            field_selector: "metadata.namespace=kube-system,status.phase=Pending".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&by_field), ["other"]);
    let bad = list(
        &cluster,
        f,
        pb::ListRequest {
            resource: "pods".into(),
            field_selector: "spec.image=x".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&bad), "BadRequest", "{bad:?}");

    // Pagination: pages of 3 at one revision, even with writes in between.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut first_rv = String::new();
    loop {
        let (items, resp) = list(
            &cluster,
            f,
            pb::ListRequest {
                resource: "pods".into(),
                namespace: "default".into(),
                limit: 3,
                continue_token: token.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        if first_rv.is_empty() {
            first_rv = resp.resource_version.clone();
            create(&cluster, f, &pod("p9", "default", json!({"app": "shop"})))
                .await
                .unwrap();
        }
        assert_eq!(
            resp.resource_version, first_rv,
            "every page is read at one revision"
        );
        seen.extend(names(&items));
        if resp.continue_token.is_empty() {
            break;
        }
        token = resp.continue_token;
    }
    assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
    let (front_page, resp) = list(
        &cluster,
        f,
        pb::ListRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "tier=front".into(),
            limit: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(names(&front_page), ["p0", "p2"]);
    assert!(!resp.continue_token.is_empty());

    // Watch from a resourceVersion with a selector: ADDED, MODIFIED, and DELETED when the
    // object stops matching; bookmarks carry progress.
    let (_, now) = list(&cluster, f, listing("", "default")).await.unwrap();
    let mut w = client(&cluster, f)
        .watch(pb::WatchRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "tier=front".into(),
            resource_version: now.resource_version.clone(),
            allow_bookmarks: true,
            bookmark_interval_ms: 200,
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    create(&cluster, f, &pod("n1", "default", json!({"tier": "front"})))
        .await
        .unwrap();
    let mut p0 = get(&cluster, f, "pods", "default", "p0").await.unwrap();
    p0["metadata"]["labels"]["color"] = json!("red");
    update(&cluster, f, &p0).await.unwrap();
    p0 = get(&cluster, f, "pods", "default", "p0").await.unwrap();
    p0["metadata"]["labels"]["tier"] = json!("back");
    let left = update(&cluster, f, &p0).await.unwrap();
    delete(&cluster, f, "pods", "default", "p2").await.unwrap();
    let mut events = Vec::new();
    while events.len() < 4 {
        let (ty, obj) = next_watch_event(&mut w).await.expect("event");
        if ty != "BOOKMARK" {
            events.push((
                ty,
                obj["metadata"]["name"].as_str().unwrap().to_string(),
                obj,
            ));
        }
    }
    let summary: Vec<(&str, &str)> = events
        .iter()
        .map(|(t, n, _)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("ADDED", "n1"),
            ("MODIFIED", "p0"),
            ("DELETED", "p0"),
            ("DELETED", "p2")
        ]
    );
    assert_eq!(
        events[2].2["metadata"]["resourceVersion"],
        left["metadata"]["resourceVersion"]
    );
    let last_rv: u64 = events[3].2["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let bookmark_rv = wait_until(Duration::from_secs(10), "a bookmark", async || {
        let (ty, obj) = next_watch_event(&mut w).await?;
        anyhow::ensure!(ty == "BOOKMARK", "got {ty}");
        Ok(obj["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .parse::<u64>()?)
    })
    .await
    .expect("bookmark");
    assert!(
        bookmark_rv >= last_rv,
        "bookmark {bookmark_rv} < last event {last_rv}"
    );

    // Without a resourceVersion: ADDED for everything matching first.
    let mut fresh = client(&cluster, f)
        .watch(pb::WatchRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "tier=front".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut initial = Vec::new();
    for _ in 0..3 {
        let (ty, obj) = next_watch_event(&mut fresh).await.unwrap();
        assert_eq!(ty, "ADDED");
        initial.push(obj["metadata"]["name"].as_str().unwrap().to_string());
    }
    assert_eq!(initial, ["n1", "p4", "p6"]);

    // A compacted resourceVersion is "too old".
    let mut store = cluster.store_client(f).unwrap();
    let head: u64 = get(&cluster, f, "pods", "default", "n1").await.unwrap()["metadata"]
        ["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    store
        .compact(keel_proto::store::CompactRequest { revision: head })
        .await
        .expect("compact");
    let too_old = async {
        let mut s = client(&cluster, f)
            .watch(pb::WatchRequest {
                resource: "pods".into(),
                resource_version: "2".into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        next_watch_event(&mut s).await
    }
    .await
    .unwrap_err();
    assert_eq!(too_old.code(), tonic::Code::OutOfRange, "{too_old:?}");
    assert!(
        too_old.message().contains("too old resource version"),
        "{too_old:?}"
    );
    cluster.teardown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_batches_events_and_bad_input() {
    let cluster = api_only_cell(ClusterOptions {
        extra_args: vec!["--max-events".into(), "5".into()],
        ..Default::default()
    })
    .await;
    wait_bootstrapped(&cluster).await;
    let f = follower(&cluster).await;
    create(
        &cluster,
        f,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "q"}}),
    )
    .await
    .unwrap();
    create(&cluster, f, &pod("before", "q", json!({})))
        .await
        .unwrap();
    let quota = create(
        &cluster,
        f,
        &json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "compute", "namespace": "q"},
        "spec": {"hard": {"pods": "2", "requests.cpu": "1"}}}),
    )
    .await
    .expect("quota");
    assert_eq!(quota["status"]["used"]["pods"], "1", "{quota}");
    create(&cluster, f, &pod("second", "q", json!({})))
        .await
        .expect("within quota");
    let over = create(&cluster, f, &pod("third", "q", json!({})))
        .await
        .unwrap_err();
    assert_eq!(reason(&over), "Forbidden", "{over:?}");
    assert!(
        over.message()
            .contains("exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2"),
        "{over:?}"
    );
    let q = get(&cluster, f, "quota", "q", "compute").await.unwrap();
    assert_eq!(
        q["status"]["used"],
        json!({"pods": "2", "requests.cpu": "200m"})
    );
    delete(&cluster, f, "pods", "q", "before").await.unwrap();
    create(&cluster, f, &pod("third", "q", json!({})))
        .await
        .expect("room again after a delete");

    // Batches are atomic: one invalid write and nothing is written.
    let c = |name: &str| {
        pb::BatchWrite { write: Some(pb::batch_write::Write::Create(pb::CreateRequest {
        namespace: "default".into(),
        object: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
            .to_string().into_bytes(),
        dry_run: false })) }
    };
    let mut objects = client(&cluster, f);
    let failed = objects
        .batch(pb::BatchRequest {
            writes: vec![c("b1"), c("B_2")],
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&failed), "Invalid", "{failed:?}");
    assert_eq!(
        reason(&get(&cluster, f, "cm", "default", "b1").await.unwrap_err()),
        "NotFound"
    );
    let ok = objects
        .batch(pb::BatchRequest {
            writes: (0..50).map(|i| c(&format!("b{i}"))).collect(),
        })
        .await
        .expect("batch")
        .into_inner();
    assert_eq!(ok.results.len(), 50);
    assert!(
        ok.results.iter().all(|r| r.revision == ok.revision),
        "one log entry, one revision"
    );

    // Events never grow beyond the retention count.
    for i in 0..12 {
        create(
            &cluster,
            f,
            &json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("e{i}")},
            "involvedObject": {"kind": "Pod", "name": "x", "namespace": "default"},
            "reason": "Test", "message": format!("event {i}"), "type": "Normal"}),
        )
        .await
        .expect("event");
    }
    wait_until(Duration::from_secs(15), "events pruned to 5", async || {
        let (items, _) = list(
            &cluster,
            f,
            pb::ListRequest {
                resource: "events".into(),
                ..Default::default()
            },
        )
        .await?;
        anyhow::ensure!(items.len() <= 5, "{} events", items.len());
        Ok(names(&items))
    })
    .await
    .map(|kept| {
        assert!(
            kept.contains(&"e11".to_string()),
            "the newest stay: {kept:?}"
        )
    })
    .expect("pruned");

    // Bad input: clear errors, nothing stored.
    let bad_json = objects
        .create(pb::CreateRequest {
            object: b"{not json".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&bad_json), "BadRequest", "{bad_json:?}");
    let unknown = create(
        &cluster,
        f,
        &json!({"apiVersion": "v9", "kind": "Gizmo", "metadata": {"name": "g"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&unknown), "NotFound", "{unknown:?}");
    assert!(unknown.message().contains("Gizmo"), "{unknown:?}");
    let unknown_field = create(
        &cluster,
        f,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x"}, "dtaa": {}}),
    )
    .await
    .unwrap_err();
    assert!(
        unknown_field.message().contains("unknown field \"dtaa\""),
        "{unknown_field:?}"
    );
    let big = create(
        &cluster,
        f,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "big"}, "data": {"k": "x".repeat(2 << 20)}}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(reason(&big).as_str(), "Invalid" | "BadRequest"),
        "{big:?}"
    );
    let bad_rv = update(
        &cluster,
        f,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "b1", "namespace": "default", "resourceVersion": "1"}, "data": {}}),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&bad_rv), "Conflict");
    assert_eq!(
        get(&cluster, f, "cm", "default", "b1").await.unwrap()["data"]["k"],
        "v"
    );
    for name in ["x", "big"] {
        assert_eq!(
            reason(&get(&cluster, f, "cm", "default", name).await.unwrap_err()),
            "NotFound"
        );
    }
    cluster.teardown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_kill_between_writes_changes_nothing_visible() {
    let cluster = api_only_cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let f = follower(&cluster).await;
    let created = create(&cluster, f, &deployment("web", 2))
        .await
        .expect("create");
    let leader = cluster.leader_id().await.expect("leader");
    cluster.kill(leader).await.expect("kill");
    let survivor = cluster
        .live_ids()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap();
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(4);
    let after = wait_until(
        Duration::from_secs(15),
        "update after failover",
        async || {
            match update(&cluster, survivor, &scaled).await {
                Ok(v) => Ok(v),
                // An earlier attempt whose answer was lost may have applied it.
                Err(s) if reason(&s) == "Conflict" => {
                    let now = get(&cluster, survivor, "deploy", "default", "web").await?;
                    anyhow::ensure!(
                        now["spec"]["replicas"] == 4,
                        "conflict and not applied: {s:?}"
                    );
                    Ok(now)
                }
                Err(s) => Err(s.into()),
            }
        },
    )
    .await
    .expect("update lands on the new leader");
    assert_eq!(after["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(after["metadata"]["generation"], 2);
    for id in cluster.live_ids() {
        let got = get(&cluster, id, "deploy", "default", "web")
            .await
            .expect("get");
        assert_eq!(got, after, "replica {id} serves the same object");
    }
    cluster.teardown();
}
