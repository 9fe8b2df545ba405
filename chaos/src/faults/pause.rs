//! SIGSTOP a replica (it keeps its sockets and answers nothing); healing continues it.

use futures::future::LocalBoxFuture as BoxFuture;

use super::{Fault, FaultEnv, Target};

/// Stops the chosen replica with SIGSTOP; SIGCONT when healed. Scheduled for longer than the
/// election timeout, a paused leader is replaced and comes back as a stale leader that must step
/// down.
#[derive(Debug)]
pub struct PauseFault {
    pub target: Target,
    victim: Option<u64>,
}

impl PauseFault {
    pub fn new(target: Target) -> Self {
        PauseFault {
            target,
            victim: None,
        }
    }
}

impl Fault for PauseFault {
    fn name(&self) -> String {
        format!("pause-{}", self.target.as_str())
    }

    fn hits_leader(&self) -> bool {
        self.target == Target::Leader
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let (id, what) = self.target.pick(env).await?;
            env.cluster.pause(id)?;
            self.victim = Some(id);
            Ok(what)
        })
    }

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match self.victim.take() {
                Some(id) => env.cluster.resume(id),
                None => Ok(()),
            }
        })
    }
}
