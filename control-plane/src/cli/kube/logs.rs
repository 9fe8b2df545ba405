//! `keelctl logs POD [-c CONTAINER] [-f] [-p] [--tail N] [--since D]`: a container's log, read by
//! the agent of the pod's node from the CRI log files (see [`super::node_agent`]).

use std::io::Write;

use clap::Args;
use keel_proto::agent::LogsRequest;

use super::node_agent::target;
use super::rollout::parse_timeout;
use super::KubeContext;

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// POD or pod/POD.
    pub pod: String,
    /// The container (default: the only one, else the first).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Keep streaming new lines until the container stops.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The log of the container's previous run.
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Only the last N lines (-1: all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Only lines newer than this duration (5s, 2m, 1h).
    #[arg(long)]
    pub since: Option<String>,
}

pub async fn run(args: LogsArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let since_seconds = match &args.since {
        None => 0,
        Some(s) => parse_timeout(s)
            .map_err(|_| {
                anyhow::anyhow!("invalid --since {s:?}: use a duration like 30s, 5m or 1h")
            })?
            .map_or(0, |d| d.as_secs().max(1) as i64),
    };
    let mut t = target(ctx, &args.pod, args.container.as_deref()).await?;
    let mut stream = t
        .agent
        .logs(LogsRequest {
            pod: Some(t.pod.clone()),
            container: t.container.clone(),
            follow: args.follow,
            previous: args.previous,
            tail_lines: args.tail,
            since_seconds,
        })
        .await
        .map_err(|s| anyhow::anyhow!("{}", s.message()))?
        .into_inner();
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream
        .message()
        .await
        .map_err(|s| anyhow::anyhow!("{}", s.message()))?
    {
        out.write_all(&chunk.data)?;
        out.flush()?;
    }
    Ok(())
}
