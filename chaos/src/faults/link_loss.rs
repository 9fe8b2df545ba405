//! Random packet loss on every link to and from one replica.

use futures::future::LocalBoxFuture as BoxFuture;

use super::{Fault, FaultEnv, Target};
use crate::network::LinkState;

/// Drops `percent` of the packets on every link to and from the chosen replica.
#[derive(Debug)]
pub struct LinkLossFault {
    pub target: Target,
    pub percent: u8,
    lossy: Vec<(u64, u64)>,
}

impl LinkLossFault {
    pub fn new(target: Target, percent: u8) -> Self {
        LinkLossFault {
            target,
            percent: percent.clamp(1, 99),
            lossy: Vec::new(),
        }
    }
}

impl Fault for LinkLossFault {
    fn name(&self) -> String {
        format!("loss-{}", self.target.as_str())
    }

    fn hits_leader(&self) -> bool {
        false
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let lab = env.lab(&self.name())?;
            let (id, what) = self.target.pick(env).await?;
            for other in env.cluster.ids().into_iter().filter(|o| *o != id) {
                for (from, to) in [(id, other), (other, id)] {
                    lab.set_link(from, to, LinkState::Lossy(self.percent))?;
                    self.lossy.push((from, to));
                }
            }
            Ok(format!("{what}, {}% loss", self.percent))
        })
    }

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let lab = env.lab(&self.name())?;
            for (from, to) in std::mem::take(&mut self.lossy) {
                lab.set_link(from, to, LinkState::Open)?;
            }
            Ok(())
        })
    }
}
