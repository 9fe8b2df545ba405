//! A slow link: everything one replica sends goes through a token bucket (tc `tbf`).

use futures::future::LocalBoxFuture as BoxFuture;

use super::{Fault, FaultEnv, Target};

/// Rate-limits everything the chosen replica sends to `kbit` kbit/s; queued packets wait up to
/// 2 s, which is how this kernel (no netem) delays a link.
#[derive(Debug)]
pub struct LinkSlowFault {
    pub target: Target,
    pub kbit: u32,
    victim: Option<u64>,
}

impl LinkSlowFault {
    pub fn new(target: Target, kbit: u32) -> Self {
        LinkSlowFault {
            target,
            kbit: kbit.max(8),
            victim: None,
        }
    }
}

impl Fault for LinkSlowFault {
    fn name(&self) -> String {
        format!("slow-{}", self.target.as_str())
    }

    fn hits_leader(&self) -> bool {
        false
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let lab = env.lab(&self.name())?;
            let (id, what) = self.target.pick(env).await?;
            lab.set_rate_limit(id, Some(self.kbit))?;
            self.victim = Some(id);
            Ok(format!("{what}, {} kbit/s out", self.kbit))
        })
    }

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let lab = env.lab(&self.name())?;
            match self.victim.take() {
                Some(id) => lab.set_rate_limit(id, None),
                None => Ok(()),
            }
        })
    }
}
