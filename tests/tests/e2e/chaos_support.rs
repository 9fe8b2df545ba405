//! Running `keel-chaos run` as a child process from an e2e test: bounded in time, with its report
//! and the tails of its output for assertion messages.

use std::{
    fs::File,
    path::Path,
    process::{Command, ExitStatus, Stdio},
    time::Duration,
};

use keel_chaos::{find_binary, wait_until};

/// What one `keel-chaos run` left behind.
pub struct ChaosRun {
    pub status: ExitStatus,
    /// report.json.
    pub report: serde_json::Value,
    /// The last lines of stdout and stderr, for assertion messages.
    pub log: String,
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs `keel-chaos run --out <temp dir> ARGS`, killing it if it takes longer than `limit`.
pub async fn run_keel_chaos(args: &[&str], limit: Duration) -> ChaosRun {
    let bin = find_binary("keel-chaos").expect("keel-chaos is built");
    let out = tempfile::Builder::new()
        .prefix("keel-chaos-e2e-")
        .tempdir()
        .unwrap();
    let (stdout, stderr) = (out.path().join("stdout.txt"), out.path().join("stderr.txt"));
    let mut child = Command::new(&bin)
        .arg("run")
        .arg("--out")
        .arg(out.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let finished = wait_until(limit, "keel-chaos run to finish", async || {
        child
            .try_wait()?
            .ok_or_else(|| anyhow::anyhow!("still running"))
    })
    .await;
    let status = match finished {
        Ok(status) => status,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{e:#}\n--- stderr ---\n{}", tail(&stderr, 40));
        }
    };
    let log = format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        tail(&stdout, 60),
        tail(&stderr, 40)
    );
    let report = std::fs::read_to_string(out.path().join("report.json"))
        .unwrap_or_else(|e| panic!("no report.json ({e})\n{log}"));
    let report = serde_json::from_str(&report).unwrap();
    ChaosRun {
        status,
        report,
        log,
    }
}

/// The checker called `name` in a report.
pub fn checker<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checkers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no checker {name} in {}", report["checkers"]))
}

/// Fails unless the process runs as root (network namespaces need it; CI runs as root).
pub fn assert_root(what: &str) {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "{what} needs root for network namespaces (CI runs as root)"
    );
}
