//! keel-proto: Keel's wire protocols (generated tonic/prost code) and pure helpers on the wire types.
//! No IO lives here.

/// The replicated key-value store API (`keel.store.v1`).
pub mod store {
    tonic::include_proto!("keel.store.v1");
}

/// Cluster administration (`keel.cluster.v1`).
pub mod cluster {
    tonic::include_proto!("keel.cluster.v1");
}

/// The replica-to-replica plane (`keel.raft.v1`).
pub mod raft {
    tonic::include_proto!("keel.raft.v1");
}

/// Kubernetes objects on the store (`keel.objects.v1`).
pub mod objects {
    tonic::include_proto!("keel.objects.v1");
}

/// The node plane: agents registering and reporting (`keel.node.v1`).
pub mod node {
    tonic::include_proto!("keel.node.v1");
}

/// The node agent's own API: logs, exec and resource usage, served by each agent
/// (`keel.agent.v1`).
pub mod agent {
    tonic::include_proto!("keel.agent.v1");
}

pub mod keys;
