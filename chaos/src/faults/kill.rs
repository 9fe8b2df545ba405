//! SIGKILL a replica; healing restarts it on its data dir.

use futures::future::LocalBoxFuture as BoxFuture;

use super::{Fault, FaultEnv, Target};

/// Kills the chosen replica with SIGKILL (it loses nothing it acknowledged: its log is fsync'd)
/// and restarts it when healed.
#[derive(Debug)]
pub struct KillFault {
    pub target: Target,
    victim: Option<u64>,
}

impl KillFault {
    pub fn new(target: Target) -> Self {
        KillFault {
            target,
            victim: None,
        }
    }
}

impl Fault for KillFault {
    fn name(&self) -> String {
        format!("kill-{}", self.target.as_str())
    }

    fn hits_leader(&self) -> bool {
        self.target == Target::Leader
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let (id, what) = self.target.pick(env).await?;
            env.cluster.kill(id).await?;
            self.victim = Some(id);
            Ok(what)
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
