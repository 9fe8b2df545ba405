//! Running one system tool (`ip`, `nft`, `tc`) to completion within a time limit, with its
//! stderr quoted in the error.

use std::{
    io::{Read, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;

/// Longest one tool call may take before it is killed.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two checks of whether the tool has exited.
const POLL: Duration = Duration::from_millis(2);

/// Runs `program args`, feeding `stdin` if given, and returns its stdout. Fails (quoting stderr)
/// on a non-zero exit, and kills the tool if it runs longer than 10 s.
pub fn run_tool(program: &str, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
    let shown = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting `{shown}`"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .with_context(|| format!("writing the input of `{shown}`"))?;
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > TOOL_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("`{shown}` did not finish within {TOOL_TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut out)?;
    }
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut err)?;
    }
    anyhow::ensure!(
        status.success(),
        "`{shown}` failed ({status}): {}",
        err.trim()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_stdout_and_quotes_stderr_on_failure() {
        assert_eq!(run_tool("cat", &[], Some("hi")).unwrap(), "hi");
        let err = run_tool("sh", &["-c", "echo nope >&2; exit 3"], None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("nope") && msg.contains("sh -c"), "{msg}");
    }
}
