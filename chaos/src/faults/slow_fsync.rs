//! Slow disk on one replica through keel-server's `raft-log-fsync` failpoint: restart it with
//! every Raft log fsync delayed, then restart it without.
//!
//! The failpoints exist when `keel-control-plane`'s feature `failpoints` is on (the workspace
//! build turns it on through `keel-tests`) and are armed only by `FAILPOINTS` at the replica's
//! start. Known points: `raft-log-fsync` (`sleep(MS)` delays every fsync; `return` fails it,
//! which stops the replica with exit code 74).

use futures::future::LocalBoxFuture as BoxFuture;

use super::{Fault, FaultEnv, Target};

/// The environment that starts a replica with `spec` (`name=action;...`) armed.
pub fn failpoints_env(spec: &str) -> Vec<(String, String)> {
    vec![("FAILPOINTS".to_string(), spec.to_string())]
}

/// Restarts the chosen replica with its Raft log fsyncs `delay_ms` late; healing restarts it
/// with a normal disk.
#[derive(Debug)]
pub struct SlowFsyncFault {
    pub target: Target,
    pub delay_ms: u64,
    victim: Option<u64>,
}

impl SlowFsyncFault {
    pub fn new(target: Target, delay_ms: u64) -> Self {
        SlowFsyncFault {
            target,
            delay_ms,
            victim: None,
        }
    }
}

impl Fault for SlowFsyncFault {
    fn name(&self) -> String {
        format!("slow-fsync-{}", self.target.as_str())
    }

    /// No failover is timed: the restart is part of the injection (see `ClockSkewFault`).
    fn hits_leader(&self) -> bool {
        false
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let victim = self.target.pick_victim(env).await?;
            self.victim = Some(victim.id);
            let spec = format!("raft-log-fsync=sleep({})", self.delay_ms);
            env.cluster
                .restart_with_env(victim.id, failpoints_env(&spec))
                .await?;
            Ok(format!(
                "{} restarted with fsyncs {} ms late",
                victim.what, self.delay_ms
            ))
        })
    }

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match self.victim.take() {
                Some(id) => env.cluster.restart_with_env(id, Vec::new()).await,
                None => Ok(()),
            }
        })
    }
}
