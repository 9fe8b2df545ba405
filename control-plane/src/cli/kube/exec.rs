//! `keelctl exec POD [-c CONTAINER] -- COMMAND [ARGS...]`: runs a command in a running container
//! through the agent of the pod's node (CRI ExecSync), prints its stdout and stderr, and exits
//! with the command's exit code, as kubectl does ("command terminated with exit code N").

use std::io::Write;

use clap::Args;
use keel_proto::agent::ExecRequest;

use super::node_agent::target;
use super::KubeContext;

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// POD or pod/POD.
    pub pod: String,
    /// The container (default: the only one, else the first).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Seconds before the command is stopped (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub timeout: i64,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// The command ran and exited with a non-zero code: keelctl exits with the same code.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("command terminated with exit code {0}")]
pub struct CommandExited(pub i32);

pub async fn run(args: ExecArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let mut t = target(ctx, &args.pod, args.container.as_deref()).await?;
    let out = t
        .agent
        .exec(ExecRequest {
            pod: Some(t.pod.clone()),
            container: t.container.clone(),
            command: args.command,
            timeout_seconds: args.timeout,
        })
        .await
        .map_err(|s| anyhow::anyhow!("{}", s.message()))?
        .into_inner();
    std::io::stdout().lock().write_all(&out.stdout)?;
    std::io::stderr().lock().write_all(&out.stderr)?;
    if out.exit_code != 0 {
        return Err(CommandExited(out.exit_code).into());
    }
    Ok(())
}
