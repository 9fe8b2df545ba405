//! The `Fault` trait: inject, then heal.

use futures::future::LocalBoxFuture as BoxFuture;

use super::FaultEnv;

/// One fault. `inject` chooses its victims and breaks something, returning a description of what
/// it hit (e.g. `"replica 2 (leader, term 5)"`); `heal` undoes exactly that. A fault is injected
/// at most once and healed at most once, in that order. The futures are not `Send`: the runner
/// awaits them in place (LocalCluster's waits borrow across awaits in ways `Send` can't express).
pub trait Fault: Send {
    /// The fault's kind for reports, e.g. `kill-leader`, `partition-isolate-leader`.
    fn name(&self) -> String;

    /// Whether the fault takes the leader away (so the time to the next committed write is a
    /// failover time).
    fn hits_leader(&self) -> bool;

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>>;

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>>;
}
