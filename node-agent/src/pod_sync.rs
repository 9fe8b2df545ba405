//! Following the pods bound to this node and making the runtime match: list (the full desired
//! set, and a resourceVersion), reconcile everything, then watch from that resourceVersion and
//! reconcile each changed pod (starts run in tasks of their own, so pods start side by side). A pod marked for deletion is stopped within its grace period and
//! then deleted for good (grace 0, uid precondition), as the kubelet does. Any stream error makes
//! the agent list again, on the next replica.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use keel_proto::objects::objects_client::ObjectsClient;
use keel_proto::objects::{DeleteRequest, ListRequest, WatchRequest};
use tonic::transport::Channel;

use crate::cell_client::CellClient;
use crate::runtime::ContainerRuntime;

/// The addresses in use, and each pod's.
type Leases = (BTreeSet<u32>, BTreeMap<String, Ipv4Addr>);

/// Pod IPs from the node's pod CIDR (`.1` is the gateway), one per running pod (for runtimes
/// that do not assign IPs themselves).
#[derive(Clone)]
pub struct IpPool {
    inner: Arc<Mutex<Leases>>,
    first: u32,
    last: u32,
}

impl IpPool {
    /// Hosts of `cidr` ("10.244.3.0/24") from `.2` to the last before broadcast.
    pub fn new(cidr: &str) -> anyhow::Result<IpPool> {
        let (net, prefix) = cidr
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("pod CIDR {cidr:?} is not a CIDR"))?;
        let net: Ipv4Addr = net.parse()?;
        let prefix: u32 = prefix.parse()?;
        anyhow::ensure!(
            (8..=30).contains(&prefix),
            "pod CIDR {cidr}: prefix out of range"
        );
        let base = u32::from(net);
        let size = 1u32 << (32 - prefix);
        Ok(IpPool {
            inner: Arc::default(),
            first: base + 2,
            last: base + size - 2,
        })
    }

    /// The pod's IP, allocating one if it has none.
    pub fn get_or_allocate(&self, uid: &str) -> anyhow::Result<Ipv4Addr> {
        let mut g = self
            .inner
            .lock()
            .map_err(|_| anyhow::anyhow!("ip pool poisoned"))?;
        if let Some(ip) = g.1.get(uid) {
            return Ok(*ip);
        }
        let ip = (self.first..=self.last)
            .find(|ip| !g.0.contains(ip))
            .ok_or_else(|| anyhow::anyhow!("no pod IP left"))?;
        g.0.insert(ip);
        g.1.insert(uid.to_string(), Ipv4Addr::from(ip));
        Ok(Ipv4Addr::from(ip))
    }

    pub fn release(&self, uid: &str) {
        if let Ok(mut g) = self.inner.lock() {
            if let Some(ip) = g.1.remove(uid) {
                g.0.remove(&u32::from(ip));
            }
        }
    }
}

/// Runs until the process exits.
pub async fn run<R: ContainerRuntime>(cell: CellClient, node: String, runtime: R, ips: IpPool) {
    let mut pause = Duration::from_millis(100);
    loop {
        match follow(&cell, &node, &runtime, &ips).await {
            Ok(()) => pause = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(replica = %cell.current(), error = %e, "pod watch failed; moving on");
                cell.rotate();
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

async fn follow<R: ContainerRuntime>(
    cell: &CellClient,
    node: &str,
    runtime: &R,
    ips: &IpPool,
) -> anyhow::Result<()> {
    let mut client = ObjectsClient::new(cell.channel()?);
    let selector = format!("spec.nodeName={node}");
    let listed = client
        .list(ListRequest {
            resource: "pods".into(),
            field_selector: selector.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut desired = BTreeMap::new();
    for item in &listed.items {
        let pod: Pod = serde_json::from_slice(item)?;
        desired.insert(pod.metadata.uid.clone().unwrap_or_default(), pod);
    }
    for state in runtime.list().await {
        if !desired.contains_key(&state.uid) {
            stop(runtime, ips, &state.uid, Duration::ZERO).await;
        }
    }
    let mut starting = Starts::default();
    for pod in desired.values() {
        reconcile(&mut client, runtime, ips, pod, &mut starting).await;
    }
    let mut stream = client
        .watch(WatchRequest {
            resource: "pods".into(),
            field_selector: selector,
            resource_version: listed.resource_version,
            allow_bookmarks: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    while let Some(event) = stream.message().await? {
        if event.r#type == "BOOKMARK" {
            continue;
        }
        let pod: Pod = serde_json::from_slice(&event.object)?;
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if event.r#type == "DELETED" {
            starting.finish(&uid).await;
            stop(runtime, ips, &uid, Duration::ZERO).await;
        } else {
            reconcile(&mut client, runtime, ips, &pod, &mut starting).await;
        }
    }
    anyhow::bail!("the pod watch ended")
}

async fn stop<R: ContainerRuntime>(runtime: &R, ips: &IpPool, uid: &str, grace: Duration) {
    if let Err(e) = runtime.stop_pod(uid, grace).await {
        tracing::warn!(uid, error = %e, "stopping a pod failed");
    }
    ips.release(uid);
}

/// The pod starts in flight, the last task per pod uid: pods start side by side, while the
/// calls for one pod keep their order (each start task first awaits the pod's previous one; a
/// stop waits for them).
#[derive(Default)]
struct Starts {
    tasks: HashMap<String, tokio::task::JoinHandle<()>>,
}

impl Starts {
    /// Waits for the start of pod `uid` in flight, if any.
    async fn finish(&mut self, uid: &str) {
        if let Some(task) = self.tasks.remove(uid) {
            let _ = task.await;
        }
        self.tasks.retain(|_, t| !t.is_finished());
    }
}

/// Makes the runtime match one pod: start it (in a task of its own), or stop and finally
/// delete it when it is terminating.
async fn reconcile<R: ContainerRuntime>(
    client: &mut ObjectsClient<Channel>,
    runtime: &R,
    ips: &IpPool,
    pod: &Pod,
    starting: &mut Starts,
) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let (ns, name) = (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    );
    if pod.metadata.deletion_timestamp.is_some() {
        starting.finish(&uid).await;
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .unwrap_or(0)
            .max(0) as u64;
        stop(runtime, ips, &uid, Duration::from_secs(grace)).await;
        let done = client
            .delete(DeleteRequest {
                resource: "pods".into(),
                namespace: ns.clone(),
                name: name.clone(),
                grace_period_seconds: Some(0),
                uid: uid.clone(),
                ..Default::default()
            })
            .await;
        if let Err(e) = done {
            if e.code() != tonic::Code::NotFound {
                tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "final delete failed");
            }
        }
        return;
    }
    let (runtime, ips, pod, task_uid) = (runtime.clone(), ips.clone(), pod.clone(), uid.clone());
    let previous = starting.tasks.remove(&uid);
    let task = tokio::spawn(async move {
        // The pod's previous start first (the watch loop never waits for it).
        if let Some(previous) = previous {
            let _ = previous.await;
        }
        let result = async {
            let ip = if runtime.assigns_pod_ips() {
                None
            } else {
                Some(ips.get_or_allocate(&task_uid)?)
            };
            runtime.start_pod(&pod, ip).await?;
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "starting a pod failed");
        }
    });
    starting.tasks.retain(|_, t| !t.is_finished());
    starting.tasks.insert(uid, task);
}
