//! The Endpoints controller: for every Service with a selector, an Endpoints object of the same
//! name listing the matching pods that have an IP — ready ones under `addresses`, the others
//! under `notReadyAddresses` — with the Service's ports resolved against each pod (a named
//! `targetPort` is looked up in the pod's container ports, so pods may differ). Services without
//! a selector keep hand-written Endpoints; a Service's Endpoints go when the Service goes.
//!
//! [`desired_endpoints`] is pure; [`EndpointsController`] is the reconciler around it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::objects::KindId;

use super::context::{ControllerContext, Write};
use super::informer::{InformerEvent, ObjectRef};
use super::reconciler::{run_reconciler, Action, ReconcileError, Reconciler};
use super::work_queue::WorkQueue;

fn selector_matches(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    !selector.is_empty()
        && selector
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

pub fn pod_is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn resolve_port(target: Option<&IntOrString>, port: i32, pod: &Pod) -> Option<i32> {
    match target {
        None => Some(port),
        Some(IntOrString::Int(p)) => Some(*p),
        Some(IntOrString::String(name)) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port),
    }
}

/// The Endpoints `service` should have given the `pods` of its namespace; `None` when the
/// Service has no selector (its Endpoints are not ours).
pub fn desired_endpoints(service: &Service, pods: &[Arc<Pod>]) -> Option<Endpoints> {
    let spec = service.spec.as_ref()?;
    let selector = spec.selector.as_ref().filter(|s| !s.is_empty())?;
    // Pods grouped by their resolved port list: one subset per distinct list.
    let mut subsets: BTreeMap<Vec<(String, i32, String)>, EndpointSubset> = BTreeMap::new();
    for pod in pods.iter().filter(|p| selector_matches(selector, p)) {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) else {
            continue;
        };
        let ports: Option<Vec<(String, i32, String)>> = spec
            .ports
            .iter()
            .flatten()
            .map(|p| {
                resolve_port(p.target_port.as_ref(), p.port, pod).map(|resolved| {
                    (
                        p.name.clone().unwrap_or_default(),
                        resolved,
                        p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    )
                })
            })
            .collect();
        let Some(ports) = ports else { continue };
        let address = EndpointAddress {
            ip,
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: pod.metadata.namespace.clone(),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let subset = subsets
            .entry(ports.clone())
            .or_insert_with(|| EndpointSubset {
                ports: Some(
                    ports
                        .iter()
                        .map(|(name, port, protocol)| EndpointPort {
                            name: (!name.is_empty()).then(|| name.clone()),
                            port: *port,
                            protocol: Some(protocol.clone()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            });
        let list = if pod_is_ready(pod) {
            subset.addresses.get_or_insert_with(Vec::new)
        } else {
            subset.not_ready_addresses.get_or_insert_with(Vec::new)
        };
        list.push(address);
    }
    let mut subsets: Vec<EndpointSubset> = subsets.into_values().collect();
    for s in &mut subsets {
        for list in [&mut s.addresses, &mut s.not_ready_addresses]
            .into_iter()
            .flatten()
        {
            list.sort_by(|a, b| a.ip.cmp(&b.ip));
        }
    }
    Some(Endpoints {
        metadata: ObjectMeta {
            name: service.metadata.name.clone(),
            namespace: service.metadata.namespace.clone(),
            labels: service.metadata.labels.clone(),
            ..Default::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    })
}

pub struct EndpointsController {
    ctx: ControllerContext,
}

impl Reconciler for EndpointsController {
    fn name(&self) -> &'static str {
        "endpoints"
    }

    async fn reconcile(&self, key: &ObjectRef) -> Result<Action, ReconcileError> {
        let informers = &self.ctx.informers;
        let existing = informers.endpoints.get(key);
        let Some(service) = informers.services.get(key) else {
            // The Service is gone: so are the Endpoints we made for it.
            if let Some(e) = existing {
                self.ctx
                    .write(vec![Write::delete(KindId::Endpoints, &e.metadata, None)])
                    .await?;
            }
            return Ok(Action::Done);
        };
        let pods = informers.pods.list_namespace(&key.namespace);
        let Some(mut desired) = desired_endpoints(&service, &pods) else {
            return Ok(Action::Done);
        };
        let write = match existing {
            None => Write::create(&desired)?,
            Some(e)
                if e.subsets == desired.subsets && e.metadata.labels == desired.metadata.labels =>
            {
                return Ok(Action::Done)
            }
            Some(e) => {
                desired.metadata = ObjectMeta {
                    labels: desired.metadata.labels.clone(),
                    ..e.metadata.clone()
                };
                Write::update(&desired)?
            }
        };
        self.ctx.write(vec![write]).await?;
        Ok(Action::Done)
    }

    fn all_keys(&self) -> Vec<ObjectRef> {
        let informers = &self.ctx.informers;
        let mut keys: Vec<ObjectRef> = informers
            .services
            .list()
            .iter()
            .map(|s| ObjectRef::of(&s.metadata))
            .collect();
        keys.extend(
            informers
                .endpoints
                .list()
                .iter()
                .map(|e| ObjectRef::of(&e.metadata)),
        );
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, resync: Duration) {
    let queue: WorkQueue<ObjectRef> = WorkQueue::new();
    {
        let q = queue.clone();
        ctx.informers.services.on_change(move |c| {
            let s = match c {
                InformerEvent::Applied { new, .. } => new,
                InformerEvent::Deleted(s) => s,
            };
            q.add(ObjectRef::of(&s.metadata));
        });
    }
    {
        let (q, services) = (queue.clone(), ctx.informers.services.clone());
        ctx.informers.pods.on_change(move |c| {
            let (old, new) = match c {
                InformerEvent::Applied { old, new } => (old.as_deref(), Some(new.as_ref())),
                InformerEvent::Deleted(p) => (Some(p.as_ref()), None),
            };
            let Some(ns) = new.or(old).and_then(|p| p.metadata.namespace.clone()) else {
                return;
            };
            for service in services.list_namespace(&ns) {
                let Some(selector) = service.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
                    continue;
                };
                if old.is_some_and(|p| selector_matches(selector, p))
                    || new.is_some_and(|p| selector_matches(selector, p))
                {
                    q.add(ObjectRef::of(&service.metadata));
                }
            }
        });
    }
    let token = ctx.token.clone();
    let controller = Arc::new(EndpointsController { ctx });
    run_reconciler(controller, queue, 2, resync, token).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ip: Option<&str>, ready: bool, port_name: &str, port: i32) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "default", "uid": name, "labels": {"app": "web"}},
                "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i", "ports": [{"name": port_name, "containerPort": port}]}]},
                "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
            }))
            .unwrap(),
        )
    }

    fn service(target: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": target}]}
        }))
        .unwrap()
    }

    #[test]
    fn ready_and_not_ready_pods_are_listed_apart_and_ipless_pods_left_out() {
        let pods = vec![
            pod("b", Some("10.0.0.2"), true, "http", 8080),
            pod("a", Some("10.0.0.1"), true, "http", 8080),
            pod("c", Some("10.0.0.3"), false, "http", 8080),
            pod("d", None, true, "http", 8080),
        ];
        let e = desired_endpoints(&service(json!(8080)), &pods).unwrap();
        let subsets = e.subsets.unwrap();
        assert_eq!(subsets.len(), 1);
        let ips: Vec<_> = subsets[0]
            .addresses
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.ip.as_str())
            .collect();
        assert_eq!(ips, vec!["10.0.0.1", "10.0.0.2"]);
        let not_ready: Vec<_> = subsets[0]
            .not_ready_addresses
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.ip.as_str())
            .collect();
        assert_eq!(not_ready, vec!["10.0.0.3"]);
        assert_eq!(subsets[0].ports.as_ref().unwrap()[0].port, 8080);
    }

    #[test]
    fn a_named_target_port_resolves_per_pod() {
        let pods = vec![
            pod("a", Some("10.0.0.1"), true, "http", 8080),
            pod("b", Some("10.0.0.2"), true, "http", 9090),
            pod("c", Some("10.0.0.3"), true, "other", 7070),
        ];
        let e = desired_endpoints(&service(json!("http")), &pods).unwrap();
        let mut ports: Vec<i32> = e
            .subsets
            .unwrap()
            .iter()
            .map(|s| s.ports.as_ref().unwrap()[0].port)
            .collect();
        ports.sort();
        assert_eq!(
            ports,
            vec![8080, 9090],
            "a pod without the named port is left out"
        );
    }

    #[test]
    fn a_service_without_selector_is_not_ours() {
        let s: Service = serde_json::from_value(
            json!({"metadata": {"name": "x"}, "spec": {"ports": [{"port": 80}]}}),
        )
        .unwrap();
        assert!(desired_endpoints(&s, &[]).is_none());
    }
}
