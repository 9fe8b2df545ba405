//! Waiting for a condition with a deadline: the only way tests and tools here wait (no bare sleeps).

use std::{fmt, time::Duration};

use tokio::time::Instant;

/// Shortest and longest pause between two checks of a condition.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// An error a probe returns to stop [`wait_until`] at once (the condition can no longer become
/// true, e.g. the process being waited on has exited). Any other error means "not yet".
#[derive(Debug)]
pub struct WaitAbort(pub String);

impl fmt::Display for WaitAbort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WaitAbort {}

/// Calls `probe` until it returns `Ok`, and returns that value; fails once `timeout` has passed.
///
/// `Err` from the probe means "not yet": the last one is quoted in the timeout error, which also
/// names `what` was awaited. An error that is a [`WaitAbort`] ends the wait at once. A probe still
/// running at the deadline is cancelled, so the wait never outlives `timeout` by more than a poll.
/// Checks back off from 5 ms to 100 ms apart.
///
/// ```no_run
/// # async fn demo(cluster: &keel_chaos::LocalCluster) -> anyhow::Result<()> {
/// use std::time::Duration;
/// let status = keel_chaos::wait_until(Duration::from_secs(5), "replica 2 to apply revision 10", async || {
///     let s = cluster.status(2).await?;
///     anyhow::ensure!(s.revision >= 10, "replica 2 is at revision {}", s.revision);
///     Ok(s)
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn wait_until<T, F>(
    timeout: Duration,
    what: impl fmt::Display,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: AsyncFnMut() -> anyhow::Result<T>,
{
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pause = FIRST_PAUSE;
    let mut checks: u64 = 0;
    let last = loop {
        checks += 1;
        let err = match tokio::time::timeout_at(deadline, probe()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(err)) if err.is::<WaitAbort>() => {
                return Err(err.context(format!(
                    "gave up waiting for {what} after {:?}",
                    started.elapsed()
                )));
            }
            Ok(Err(err)) => err,
            Err(_) => break anyhow::anyhow!("the last check was still running at the deadline"),
        };
        let now = Instant::now();
        if now >= deadline {
            break err;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    };
    let last = format!("{last:#}");
    Err(anyhow::anyhow!(
        "timed out after {timeout:?} waiting for {what} ({checks} checks); last check: {last}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_ok() {
        let mut n = 0;
        let v = wait_until(Duration::from_secs(5), "n to reach 3", async || {
            n += 1;
            anyhow::ensure!(n >= 3, "n is {n}");
            Ok(n)
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn times_out_naming_what_and_the_last_error() {
        let err = wait_until(
            Duration::from_millis(50),
            "the moon",
            async || -> anyhow::Result<()> { anyhow::bail!("still cheese") },
        )
        .await
        .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("the moon"), "{msg}");
        assert!(msg.contains("still cheese"), "{msg}");
    }

    #[tokio::test]
    async fn abort_stops_at_once() {
        let started = std::time::Instant::now();
        let err = wait_until(
            Duration::from_secs(10),
            "x",
            async || -> anyhow::Result<()> { Err(WaitAbort("process exited".into()).into()) },
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(format!("{err:#}").contains("process exited"));
    }

    #[tokio::test]
    async fn a_hanging_probe_is_cut_at_the_deadline() {
        let started = std::time::Instant::now();
        let err = wait_until(
            Duration::from_millis(100),
            "a hang",
            async || -> anyhow::Result<()> {
                futures::future::pending::<()>().await;
                Ok(())
            },
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(format!("{err:#}").contains("still running"));
    }
}
