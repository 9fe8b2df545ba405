//! Pods' configuration and health on real containerd, as root: a cell, a local registry with the
//! demo images, and one keel-agent with its own containerd (as in containerd_pods.rs).
//! - env from a ConfigMap and a Secret (configMapKeyRef, secretKeyRef, envFrom with a prefix, an
//!   optional reference to a missing ConfigMap left out) is what the container sees;
//! - configMap, secret (with an item path and mode) and emptyDir (medium Memory) volumes hold
//!   the right files, on tmpfs where they should be, read-only where they should be, with a
//!   subPath mount; the configMap and secret files follow updates of their objects;
//! - a missing ConfigMap in env → CreateContainerConfigError with the kubelet's message and a
//!   Failed event, and the pod starts once the ConfigMap exists; a missing ConfigMap volume →
//!   FailedMount (message and event); a subPath escaping its volume → CreateContainerConfigError;
//!   the agent keeps running through all of it;
//! - a failing liveness probe kills and restarts the container (restartCount grows, Killing
//!   event); a failing readiness probe keeps Ready=False and the pod out of the Service's
//!   endpoints addresses, and once it passes the pod is Ready and in them;
//! - deleting the pods removes their volume directories and tmpfs mounts.
//!
//! Checks inside containers go through CRI ExecSync on the agent's containerd socket.
//! Everything started here is stopped by pid.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use keel_chaos::cri_node::{registry_with_images, run_repo_script, CriAgent, CriAgentOptions};
use keel_chaos::{free_port, wait_until, ClusterOptions, LocalCluster};
use keel_node_agent::containerd::bridge_name;
use keel_node_agent::runtime::cri_client::CriClient;
use keel_proto::objects::ListRequest;
use serde_json::{json, Value};

use crate::objects_support::*;
use crate::support::cell;

const NODE: &str = "cfg-node";

fn start_cri_agent(cluster: &LocalCluster, root: &Path, registry: &str) -> CriAgent {
    CriAgent::start(&CriAgentOptions {
        node_name: NODE.into(),
        servers: cluster.addrs(),
        root: root.to_path_buf(),
        registry: registry.into(),
        rust_log: std::env::var("KEEL_AGENT_LOG").unwrap_or_else(|_| "info".into()),
        extra_args: vec![],
        log: cluster.root().join("agent-cfg.log"),
    })
    .expect("keel-agent starts")
}

/// Waits until pod `name` satisfies `ok` (given its status); returns the pod.
async fn wait_pod(
    cluster: &LocalCluster,
    name: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    wait_until(
        Duration::from_secs(60),
        format!("pod {name}: {what}"),
        async || {
            let p = get(cluster, 1, "pods", "default", name).await?;
            anyhow::ensure!(ok(&p["status"]), "status now: {}", p["status"]);
            Ok(p)
        },
    )
    .await
    .expect("pod reaches the state")
}

fn condition(status: &Value, ty: &str) -> String {
    status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == ty))
        .and_then(|c| c["status"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn running(status: &Value) -> bool {
    status["phase"] == "Running" && status["containerStatuses"][0]["state"]["running"].is_object()
}

fn container_id(pod: &Value) -> String {
    pod["status"]["containerStatuses"][0]["containerID"]
        .as_str()
        .and_then(|id| id.strip_prefix("containerd://"))
        .expect("a containerd container ID")
        .to_string()
}

/// `sh -c script` in the container through CRI ExecSync: exit code and stdout.
async fn exec(cri: &CriClient, id: &str, script: &str) -> (i32, String) {
    let r = cri
        .runtime
        .clone()
        .exec_sync(k8s_cri::v1::ExecSyncRequest {
            container_id: id.to_string(),
            cmd: vec!["sh".into(), "-c".into(), script.into()],
            timeout: 10,
        })
        .await
        .expect("ExecSync")
        .into_inner();
    (r.exit_code, String::from_utf8_lossy(&r.stdout).into_owned())
}

/// `sh -c script` that must succeed; its stdout.
async fn exec_ok(cri: &CriClient, id: &str, script: &str) -> String {
    let (code, out) = exec(cri, id, script).await;
    assert_eq!(code, 0, "`{script}` exited with {code}: {out}");
    out
}

/// Events about pod `name` with `reason`.
async fn events(cluster: &LocalCluster, name: &str, reason: &str) -> Vec<Value> {
    let (items, _) = list(
        cluster,
        1,
        ListRequest {
            resource: "events".into(),
            namespace: "default".into(),
            ..Default::default()
        },
    )
    .await
    .expect("list events");
    items
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == name && e["reason"] == reason)
        .collect()
}

async fn wait_event(cluster: &LocalCluster, name: &str, reason: &str, contains: &str) {
    wait_until(
        Duration::from_secs(30),
        format!("a {reason} event for {name}"),
        async || {
            let found = events(cluster, name, reason).await;
            anyhow::ensure!(
                found
                    .iter()
                    .any(|e| e["message"].as_str().unwrap_or("").contains(contains)),
                "events: {found:?}"
            );
            Ok(())
        },
    )
    .await
    .expect("event recorded");
}

/// Addresses and notReadyAddresses IPs of Endpoints `name`.
async fn endpoint_ips(
    cluster: &LocalCluster,
    name: &str,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let e = get(cluster, 1, "endpoints", "default", name).await?;
    let ips = |field: &str| -> Vec<String> {
        e["subsets"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s[field].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a["ip"].as_str().map(str::to_string))
            .collect()
    };
    Ok((ips("addresses"), ips("notReadyAddresses")))
}

async fn update_data(cluster: &LocalCluster, resource: &str, name: &str, key: &str, value: &str) {
    let mut obj = get(cluster, 1, resource, "default", name)
        .await
        .expect("object");
    obj["data"][key] = json!(value);
    update(cluster, 1, &obj).await.expect("update");
}

fn mounted(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(&*path.to_string_lossy()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_volumes_and_probes_on_containerd() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "containerd pods need root (CI runs as root)"
    );
    // Phase 1: packages, a cell, the registry with images, one agent with its containerd.
    run_repo_script("install-node-deps.sh", &[]).expect("node packages");
    // A pod CIDR range of its own: containerd tests may run side by side on this host.
    let cluster = cell(ClusterOptions {
        extra_args: vec!["--cluster-cidr".into(), "10.247.0.0/16".into()],
        ..Default::default()
    })
    .await;
    let registry_port = free_port().expect("a free port");
    let registry = format!("127.0.0.1:{registry_port}");
    let _registry = registry_with_images(&cluster.root().join("registry"), registry_port)
        .await
        .expect("registry with the demo images");
    wait_bootstrapped(&cluster).await;
    let root: PathBuf = cluster.root().join("agent-cfg");
    let mut agent = start_cri_agent(&cluster, &root, &registry);
    let cri = CriClient::new(&root.join("containerd/containerd.sock"));
    wait_until(Duration::from_secs(30), "the node registered", async || {
        let n = get(&cluster, 1, "nodes", "", NODE).await?;
        anyhow::ensure!(n["spec"]["podCIDR"].is_string(), "no pod CIDR: {n}");
        Ok(())
    })
    .await
    .expect("node");
    cri.wait_ready(Duration::from_secs(30))
        .await
        .expect("the agent's containerd answers CRI");
    let app = format!("{registry}/keel/app:1");

    // Phase 2: env and volumes from a ConfigMap and a Secret.
    create(
        &cluster,
        1,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "app-config"}, "data": {"greeting": "hello", "app.conf": "v1"}}),
    )
    .await
    .expect("configmap");
    create(
        &cluster,
        1,
        &json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "app-secret"}, "data": {"password": "czNjcmV0"}}),
    )
    .await
    .expect("secret");
    let cfg_pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cfg"},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "app", "image": app, "command": ["sh", "-c", "env > /data/env && exec sleep 3600"],
            "env": [
                {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "password"}}},
                {"name": "MAYBE", "valueFrom": {"configMapKeyRef": {"name": "nowhere", "key": "k", "optional": true}}}],
            "envFrom": [{"configMapRef": {"name": "app-config"}, "prefix": "CFG_"},
                        {"secretRef": {"name": "app-secret"}}],
            "volumeMounts": [
                {"name": "cfg", "mountPath": "/etc/cfg"},
                {"name": "sec", "mountPath": "/etc/sec"},
                {"name": "scratch", "mountPath": "/data"},
                {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"}]}],
        "volumes": [
            {"name": "cfg", "configMap": {"name": "app-config"}},
            {"name": "sec", "secret": {"secretName": "app-secret",
                "items": [{"key": "password", "path": "pw", "mode": 0o400}]}},
            {"name": "scratch", "emptyDir": {"medium": "Memory"}}]}});
    let cfg_uid = create(&cluster, 1, &cfg_pod).await.expect("pod cfg")["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let pod = wait_pod(&cluster, "cfg", "Running", running).await;
    let id = container_id(&pod);
    let env = wait_until(Duration::from_secs(10), "the env file", async || {
        let (code, out) = exec(&cri, &id, "cat /data/env").await;
        anyhow::ensure!(code == 0 && out.contains("GREETING="), "{code}: {out}");
        Ok(out)
    })
    .await
    .expect("env written");
    let lines: Vec<&str> = env.lines().collect();
    for want in [
        "GREETING=hello",
        "PASSWORD=s3cret",
        "CFG_greeting=hello",
        "password=s3cret",
    ] {
        assert!(lines.contains(&want), "{want} in the env: {lines:?}");
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("MAYBE=")),
        "an optional reference to a missing ConfigMap is left out: {lines:?}"
    );
    assert_eq!(exec_ok(&cri, &id, "cat /etc/cfg/greeting").await, "hello");
    assert_eq!(exec_ok(&cri, &id, "cat /etc/cfg/app.conf").await, "v1");
    assert_eq!(
        exec_ok(&cri, &id, "cat /etc/app.conf").await,
        "v1",
        "subPath"
    );
    assert_eq!(exec_ok(&cri, &id, "cat /etc/sec/pw").await, "s3cret");
    let ls = exec_ok(&cri, &id, "ls -lL /etc/sec/pw").await;
    assert!(ls.starts_with("-r--------"), "item mode 0400: {ls}");
    assert!(
        exec_ok(&cri, &id, "ls -a /etc/cfg")
            .await
            .contains("..data"),
        "the atomic writer's layout"
    );
    let mounts = exec_ok(&cri, &id, "cat /proc/mounts").await;
    assert!(
        mounts.contains(" /data tmpfs "),
        "emptyDir Memory is tmpfs: {mounts}"
    );
    assert!(
        mounts.contains(" /etc/sec tmpfs "),
        "secrets live on tmpfs: {mounts}"
    );
    let (code, _) = exec(&cri, &id, "echo x > /etc/cfg/new").await;
    assert_ne!(code, 0, "configMap volumes are read-only");
    exec_ok(&cri, &id, "echo x > /data/new").await;

    // Phase 3: the files follow updates of the ConfigMap and the Secret.
    update_data(&cluster, "configmaps", "app-config", "app.conf", "v2").await;
    update_data(
        &cluster,
        "secrets",
        "app-secret",
        "password",
        "bmV3cGFzcw==",
    )
    .await;
    wait_until(
        Duration::from_secs(30),
        "volume files updated",
        async || {
            let conf = exec(&cri, &id, "cat /etc/cfg/app.conf").await.1;
            let pw = exec(&cri, &id, "cat /etc/sec/pw").await.1;
            anyhow::ensure!(
                conf == "v2" && pw == "newpass",
                "app.conf {conf:?}, pw {pw:?}"
            );
            Ok(())
        },
    )
    .await
    .expect("files follow their objects");

    // Phase 4: bad references wait with a clear reason and an event; the agent carries on.
    let pod_with = |name: &str, extra: Value| {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
                "name": "app", "image": app, "command": ["sleep", "3600"]}]}});
        for (k, v) in extra.as_object().unwrap() {
            if k == "volumes" {
                p["spec"]["volumes"] = v.clone();
            } else {
                p["spec"]["containers"][0][k] = v.clone();
            }
        }
        p
    };
    create(
        &cluster,
        1,
        &pod_with(
            "nocfg",
            json!({"env": [
        {"name": "K", "valueFrom": {"configMapKeyRef": {"name": "late-config", "key": "k"}}}]}),
        ),
    )
    .await
    .expect("pod nocfg");
    create(
        &cluster,
        1,
        &pod_with(
            "novol",
            json!({
        "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}],
        "volumes": [{"name": "cfg", "configMap": {"name": "no-such-config"}}]}),
        ),
    )
    .await
    .expect("pod novol");
    create(
        &cluster,
        1,
        &pod_with(
            "escape",
            json!({
        "volumeMounts": [{"name": "d", "mountPath": "/d", "subPath": "../../etc"}],
        "volumes": [{"name": "d", "emptyDir": {}}]}),
        ),
    )
    .await
    .expect("pod escape");
    let waiting = |reason: &'static str, message: &'static str| {
        move |s: &Value| {
            let w = &s["containerStatuses"][0]["state"]["waiting"];
            s["phase"] == "Pending"
                && w["reason"] == reason
                && w["message"].as_str().unwrap_or("").contains(message)
                && condition(s, "Ready") == "False"
        }
    };
    wait_pod(
        &cluster,
        "nocfg",
        "CreateContainerConfigError",
        waiting(
            "CreateContainerConfigError",
            "couldn't get configMap default/late-config: configmaps \"late-config\" not found",
        ),
    )
    .await;
    wait_event(
        &cluster,
        "nocfg",
        "Failed",
        "configmaps \"late-config\" not found",
    )
    .await;
    wait_pod(
        &cluster,
        "novol",
        "FailedMount",
        waiting(
            "ContainerCreating",
            "MountVolume.SetUp failed for volume \"cfg\" : configmap \"no-such-config\" not found",
        ),
    )
    .await;
    wait_event(
        &cluster,
        "novol",
        "FailedMount",
        "configmap \"no-such-config\" not found",
    )
    .await;
    wait_pod(
        &cluster,
        "escape",
        "subPath refused",
        waiting(
            "CreateContainerConfigError",
            "must be a relative path inside it",
        ),
    )
    .await;
    assert!(agent.is_running(), "the agent runs on");
    create(
        &cluster,
        1,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "late-config"}, "data": {"k": "here now"}}),
    )
    .await
    .expect("late configmap");
    let late = wait_pod(
        &cluster,
        "nocfg",
        "Running once its ConfigMap exists",
        running,
    )
    .await;
    assert_eq!(
        exec_ok(&cri, &container_id(&late), "echo -n $K").await,
        "here now"
    );

    // Phase 5: a failing liveness probe kills and restarts the container.
    create(&cluster, 1, &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "live"},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "app", "image": app,
            "command": ["sh", "-c", "echo ok > /tmp/health && exec sleep 3600"],
            "livenessProbe": {"exec": {"command": ["sh", "-c", "read x < /tmp/health && test \"$x\" = ok"]},
                "periodSeconds": 1, "failureThreshold": 2}}]}}))
    .await
    .expect("pod live");
    let live = wait_pod(&cluster, "live", "Running and Ready", |s| {
        running(s) && condition(s, "Ready") == "True"
    })
    .await;
    assert_eq!(live["status"]["containerStatuses"][0]["restartCount"], 0);
    let first = container_id(&live);
    exec_ok(&cri, &first, "echo bad > /tmp/health").await;
    let restarted = wait_pod(&cluster, "live", "restarted by its liveness probe", |s| {
        let c = &s["containerStatuses"][0];
        c["restartCount"].as_i64().unwrap_or(0) >= 1
            && c["lastState"]["terminated"].is_object()
            && running(s)
    })
    .await;
    assert_ne!(container_id(&restarted), first, "a new container runs");
    wait_event(
        &cluster,
        "live",
        "Killing",
        "failed liveness probe, will be restarted",
    )
    .await;
    wait_event(&cluster, "live", "Unhealthy", "Liveness probe failed").await;

    // Phase 6: readiness gates Ready and the Service's endpoints.
    create(
        &cluster,
        1,
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gate"},
        "spec": {"selector": {"app": "gate"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
    )
    .await
    .expect("service");
    create(&cluster, 1, &json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "gate", "labels": {"app": "gate"}},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "app", "image": app,
            "command": ["sh", "-c", "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www"],
            "readinessProbe": {"httpGet": {"path": "/ready.html", "port": 8080}, "periodSeconds": 1}}]}}))
    .await
    .expect("pod gate");
    let gate = wait_pod(&cluster, "gate", "Running", |s| {
        running(s) && s["podIP"].is_string()
    })
    .await;
    let ip = gate["status"]["podIP"].as_str().unwrap().to_string();
    // The endpoints controller lists the pod, and as not ready.
    wait_until(
        Duration::from_secs(30),
        "gate in notReadyAddresses",
        async || {
            let (ready, not_ready) = endpoint_ips(&cluster, "gate").await?;
            anyhow::ensure!(
                not_ready.contains(&ip) && !ready.contains(&ip),
                "{ready:?} / {not_ready:?}"
            );
            Ok(())
        },
    )
    .await
    .expect("not ready endpoints");
    // Several probe periods later it is still not ready.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = get(&cluster, 1, "pods", "default", "gate")
        .await
        .expect("gate");
    assert_eq!(
        condition(&still["status"], "Ready"),
        "False",
        "{}",
        still["status"]
    );
    assert_eq!(condition(&still["status"], "ContainersReady"), "False");
    assert_eq!(still["status"]["containerStatuses"][0]["ready"], false);
    let (ready, _) = endpoint_ips(&cluster, "gate").await.expect("endpoints");
    assert!(
        !ready.contains(&ip),
        "an unready pod is not an address: {ready:?}"
    );
    wait_event(
        &cluster,
        "gate",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 404",
    )
    .await;
    exec_ok(&cri, &container_id(&still), "echo ok > /www/ready.html").await;
    wait_pod(&cluster, "gate", "Ready", |s| {
        condition(s, "Ready") == "True" && s["containerStatuses"][0]["ready"] == true
    })
    .await;
    wait_until(Duration::from_secs(30), "gate in addresses", async || {
        let (ready, not_ready) = endpoint_ips(&cluster, "gate").await?;
        anyhow::ensure!(
            ready.contains(&ip) && !not_ready.contains(&ip),
            "{ready:?} / {not_ready:?}"
        );
        Ok(())
    })
    .await
    .expect("ready endpoints");

    // Phase 7: deleting the pods removes their volumes.
    let cfg_dir = root.join("pod-volumes").join(&cfg_uid);
    let sec_dir = cfg_dir.join("volumes/secret/sec");
    assert!(
        mounted(&sec_dir),
        "the secret volume is a tmpfs on the node"
    );
    for name in ["cfg", "nocfg", "novol", "escape", "live", "gate"] {
        delete(&cluster, 1, "pods", "default", name)
            .await
            .expect("delete");
    }
    for name in ["cfg", "nocfg", "novol", "escape", "live", "gate"] {
        wait_until(
            Duration::from_secs(30),
            format!("{name} removed"),
            async || match get(&cluster, 1, "pods", "default", name).await {
                Err(s) if reason(&s) == "NotFound" => Ok(()),
                other => anyhow::bail!("still there: {:?}", other.map(|p| p["metadata"].clone())),
            },
        )
        .await
        .expect("pod removed");
    }
    assert!(!cfg_dir.exists(), "{} removed", cfg_dir.display());
    assert!(!mounted(&sec_dir), "the tmpfs is unmounted");

    agent
        .stop(Duration::from_secs(20))
        .await
        .expect("the agent stops on SIGTERM");
    let _ = Command::new("ip")
        .args(["link", "delete", &bridge_name(NODE)])
        .status();
    cluster.teardown();
}
