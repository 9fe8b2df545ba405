//! Clock skew on one replica: restart it under libfaketime (Debian's `faketime` package) with its
//! wall clock shifted, then restart it with the true clock.

use std::path::{Path, PathBuf};

use futures::future::LocalBoxFuture as BoxFuture;

use super::{Fault, FaultEnv, Target};

/// Where Debian's libfaketime lives (the variant for multi-threaded programs).
const LIBFAKETIME_PATHS: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
];

/// The libfaketime shared object, if installed (`scripts/install-build-deps.sh faketime`).
pub fn libfaketime() -> anyhow::Result<PathBuf> {
    LIBFAKETIME_PATHS
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "libfaketime is not installed: run scripts/install-build-deps.sh faketime"
            )
        })
}

/// The environment that runs a process with its wall clock (CLOCK_REALTIME) shifted by
/// `offset_secs`, leaving its monotonic clock alone (Raft timers use that one).
pub fn skewed_clock_env(offset_secs: i64) -> anyhow::Result<Vec<(String, String)>> {
    Ok(vec![
        ("LD_PRELOAD".into(), libfaketime()?.display().to_string()),
        ("FAKETIME".into(), format!("{offset_secs:+}")),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
    ])
}

/// Restarts the chosen replica with its wall clock `offset_secs` off (SIGKILL, then start under
/// libfaketime); healing restarts it with the true clock.
#[derive(Debug)]
pub struct ClockSkewFault {
    pub target: Target,
    pub offset_secs: i64,
    victim: Option<u64>,
}

impl ClockSkewFault {
    pub fn new(target: Target, offset_secs: i64) -> Self {
        ClockSkewFault {
            target,
            offset_secs,
            victim: None,
        }
    }
}

impl Fault for ClockSkewFault {
    fn name(&self) -> String {
        format!("clock-skew-{}", self.target.as_str())
    }

    /// No failover is timed: a restarted leader usually resumes its own term (its vote is
    /// durable) before the followers' election timeout, so "first write after" would only time
    /// the restart.
    fn hits_leader(&self) -> bool {
        false
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let skew = skewed_clock_env(self.offset_secs)?;
            let victim = self.target.pick_victim(env).await?;
            self.victim = Some(victim.id);
            env.cluster.restart_with_env(victim.id, skew).await?;
            Ok(format!(
                "{} restarted with its wall clock {:+} s off",
                victim.what, self.offset_secs
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_shifts_only_the_wall_clock() {
        let Ok(lib) = libfaketime() else {
            // Without the package the fault refuses to run; nothing else to check here.
            assert!(skewed_clock_env(5).is_err());
            return;
        };
        let env = skewed_clock_env(-90).unwrap();
        assert!(env.contains(&("LD_PRELOAD".into(), lib.display().to_string())));
        assert!(env.contains(&("FAKETIME".into(), "-90".into())));
        assert!(env.contains(&("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into())));
        assert_eq!(
            skewed_clock_env(3600).unwrap()[1],
            ("FAKETIME".into(), "+3600".into())
        );
    }
}
