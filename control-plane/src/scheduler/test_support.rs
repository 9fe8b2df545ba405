//! Builders for the Node and Pod objects the scheduler tests feed in.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, Node, NodeAffinity, NodeCondition, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, NodeSpec, NodeStatus, Pod, PodAffinityTerm,
    PodAntiAffinity, PodSpec, PodStatus, PreferredSchedulingTerm, ResourceRequirements, Taint,
    Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use super::{ClusterView, NodeInfo, PodInfo};

pub fn q(s: &str) -> Quantity {
    Quantity(s.to_string())
}

pub struct NodeBuilder(Node);

/// A Ready node with 4 CPUs, 8Gi and 110 pods allocatable.
pub fn node(name: &str) -> NodeBuilder {
    NodeBuilder(Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some([("kubernetes.io/hostname".to_string(), name.to_string())].into()),
            ..Default::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            allocatable: Some(
                [("cpu", "4"), ("memory", "8Gi"), ("pods", "110")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), q(v)))
                    .collect(),
            ),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".to_string(),
                status: "True".to_string(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    })
}

impl NodeBuilder {
    fn alloc(mut self, key: &str, value: &str) -> Self {
        if let Some(s) = self.0.status.as_mut() {
            s.allocatable
                .get_or_insert_with(BTreeMap::new)
                .insert(key.to_string(), q(value));
        }
        self
    }
    pub fn cpu(self, v: &str) -> Self {
        self.alloc("cpu", v)
    }
    pub fn memory(self, v: &str) -> Self {
        self.alloc("memory", v)
    }
    pub fn pods(self, v: &str) -> Self {
        self.alloc("pods", v)
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(k.to_string(), v.to_string());
        self
    }
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        if let Some(spec) = self.0.spec.as_mut() {
            spec.taints.get_or_insert_with(Vec::new).push(Taint {
                key: key.to_string(),
                value: (!value.is_empty()).then(|| value.to_string()),
                effect: effect.to_string(),
                time_added: None,
            });
        }
        self
    }
    pub fn unschedulable(mut self) -> Self {
        if let Some(spec) = self.0.spec.as_mut() {
            spec.unschedulable = Some(true);
        }
        self
    }
    /// Sets the Ready condition's status, or removes it with `None`.
    pub fn ready(mut self, status: Option<&str>) -> Self {
        if let Some(s) = self.0.status.as_mut() {
            s.conditions = status.map(|st| {
                vec![NodeCondition {
                    type_: "Ready".to_string(),
                    status: st.to_string(),
                    ..Default::default()
                }]
            });
        }
        self
    }
    pub fn build(self) -> Node {
        self.0
    }
    pub fn info(self) -> NodeInfo {
        NodeInfo::from_node(&self.0)
    }
}

pub struct PodBuilder(Pod);

/// A pod in `default` with one container and no requests.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder(Pod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("default".to_string()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".to_string(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    })
}

impl PodBuilder {
    fn spec(&mut self) -> &mut PodSpec {
        self.0.spec.get_or_insert_with(PodSpec::default)
    }
    fn request(mut self, key: &str, v: &str) -> Self {
        let c = &mut self.spec().containers[0];
        c.resources
            .get_or_insert_with(ResourceRequirements::default)
            .requests
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), q(v));
        self
    }
    pub fn cpu(self, v: &str) -> Self {
        self.request("cpu", v)
    }
    pub fn memory(self, v: &str) -> Self {
        self.request("memory", v)
    }
    /// Adds a container (or a restartable init container when `sidecar`, else a plain init
    /// container when `init`) with these requests.
    pub fn extra_container(mut self, cpu: &str, memory: &str, init: bool, sidecar: bool) -> Self {
        let c = Container {
            name: "x".to_string(),
            restart_policy: sidecar.then(|| "Always".to_string()),
            resources: Some(ResourceRequirements {
                requests: Some(
                    [("cpu", cpu), ("memory", memory)]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), q(v)))
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        if init || sidecar {
            self.spec()
                .init_containers
                .get_or_insert_with(Vec::new)
                .push(c);
        } else {
            self.spec().containers.push(c);
        }
        self
    }
    pub fn namespace(mut self, ns: &str) -> Self {
        self.0.metadata.namespace = Some(ns.to_string());
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(k.to_string(), v.to_string());
        self
    }
    pub fn owner(mut self, uid: &str) -> Self {
        self.0.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "apps/v1".to_string(),
            kind: "ReplicaSet".to_string(),
            name: format!("rs-{uid}"),
            uid: uid.to_string(),
            controller: Some(true),
            block_owner_deletion: None,
        }]);
        self
    }
    pub fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.spec()
            .node_selector
            .get_or_insert_with(BTreeMap::new)
            .insert(k.to_string(), v.to_string());
        self
    }
    pub fn toleration(mut self, key: &str, op: &str, value: &str, effect: &str) -> Self {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        self.spec()
            .tolerations
            .get_or_insert_with(Vec::new)
            .push(Toleration {
                key: some(key),
                operator: some(op),
                value: some(value),
                effect: some(effect),
                toleration_seconds: None,
            });
        self
    }
    pub fn host_port(mut self, ip: &str, protocol: &str, port: i32) -> Self {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        self.spec().containers[0]
            .ports
            .get_or_insert_with(Vec::new)
            .push(ContainerPort {
                container_port: 8080,
                host_port: Some(port),
                host_ip: some(ip),
                protocol: some(protocol),
                name: None,
            });
        self
    }
    fn node_affinity(&mut self) -> &mut NodeAffinity {
        self.spec()
            .affinity
            .get_or_insert_with(Affinity::default)
            .node_affinity
            .get_or_insert_with(NodeAffinity::default)
    }
    /// Adds a required node-affinity term with one expression.
    pub fn required_term(mut self, key: &str, op: &str, values: &[&str]) -> Self {
        let term = term(key, op, values);
        self.node_affinity()
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(|| NodeSelector {
                node_selector_terms: Vec::new(),
            })
            .node_selector_terms
            .push(term);
        self
    }
    pub fn preferred_term(mut self, weight: i32, key: &str, op: &str, values: &[&str]) -> Self {
        let preference = term(key, op, values);
        self.node_affinity()
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(PreferredSchedulingTerm { preference, weight });
        self
    }
    /// Adds a required anti-affinity term selecting `k=v` on `topology_key`.
    pub fn anti_affinity(mut self, k: &str, v: &str, topology_key: &str) -> Self {
        self.spec()
            .affinity
            .get_or_insert_with(Affinity::default)
            .pod_anti_affinity
            .get_or_insert_with(PodAntiAffinity::default)
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(PodAffinityTerm {
                label_selector: Some(LabelSelector {
                    match_labels: Some([(k.to_string(), v.to_string())].into()),
                    match_expressions: None,
                }),
                topology_key: topology_key.to_string(),
                ..Default::default()
            });
        self
    }
    pub fn bound_to(mut self, node: &str) -> Self {
        self.spec().node_name = Some(node.to_string());
        self
    }
    pub fn phase(mut self, phase: &str) -> Self {
        self.0.status = Some(PodStatus {
            phase: Some(phase.to_string()),
            ..Default::default()
        });
        self
    }
    pub fn build(self) -> Pod {
        self.0
    }
    pub fn info(self) -> PodInfo {
        PodInfo::from_pod(&self.0)
    }
}

fn term(key: &str, op: &str, values: &[&str]) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: Some(vec![NodeSelectorRequirement {
            key: key.to_string(),
            operator: op.to_string(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
        }]),
        match_fields: None,
    }
}

/// A view of these nodes and pods.
pub fn view(nodes: Vec<NodeBuilder>, pods: Vec<PodBuilder>) -> ClusterView {
    let nodes: Vec<Node> = nodes.into_iter().map(NodeBuilder::build).collect();
    let pods: Vec<Pod> = pods.into_iter().map(PodBuilder::build).collect();
    ClusterView::build(&nodes, &pods)
}
