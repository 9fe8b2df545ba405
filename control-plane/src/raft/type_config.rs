//! The openraft type configuration: log payloads are store `Command`s, nodes are `BasicNode`
//! addresses, and snapshots are files on disk.

use crate::store::{Command, CommandResponse};

/// Replica id (`--id`).
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// Keel's Raft types.
    pub TypeConfig:
        D = Command,
        R = CommandResponse,
        NodeId = NodeId,
        Node = openraft::BasicNode,
);

/// The Raft handle of one replica.
pub type KeelRaft = openraft::Raft<TypeConfig, crate::raft::state_machine::KeelStateMachine>;
