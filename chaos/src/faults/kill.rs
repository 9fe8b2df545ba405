//! SIGKILL a replica; healing restarts it on its data dir.

use futures::future::LocalBoxFuture as BoxFuture;

use super::{Fault, FaultEnv, Target};

/// Kills the chosen replica with SIGKILL (it loses nothing it acknowledged: its log is fsync'd)
/// and restarts it when healed.
#[derive(Debug)]
pub struct KillFault {
    pub target: Target,
    victim: Option<u64>,
    hit_leader: bool,
}

impl KillFault {
    pub fn new(target: Target) -> Self {
        KillFault {
            target,
            victim: None,
            hit_leader: target == Target::Leader,
        }
    }
}

impl Fault for KillFault {
    fn name(&self) -> String {
        format!("kill-{}", self.target.as_str())
    }

    fn hits_leader(&self) -> bool {
        self.hit_leader
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let victim = self.target.pick_victim(env).await?;
            env.cluster.kill(victim.id).await?;
            self.victim = Some(victim.id);
            self.hit_leader = victim.is_leader;
            Ok(victim.what)
        })
    }

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match self.victim.take() {
                Some(id) => env.cluster.restart(id).await,
                None => Ok(()),
            }
        })
    }
}
