//! The CI chaos smoke: `keel-chaos run --scenario smoke` — leader kills, a leader isolation, a
//! majority/minority split, a one-way cut and pauses, under a recorded workload — must pass every
//! checker, write its report, and leave no network namespace behind.

use std::{
    fs::File,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use keel_chaos::{find_binary, wait_until};

/// The whole run (cell start, ~65 s of faults, checks) must end within this.
const RUN_LIMIT: Duration = Duration::from_secs(240);

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_smoke_passes_every_checker() {
    let bin = find_binary("keel-chaos").expect("keel-chaos is built");
    let out = tempfile::Builder::new()
        .prefix("keel-chaos-smoke-")
        .tempdir()
        .unwrap();
    let seed = std::env::var("KEEL_CHAOS_SEED").unwrap_or_else(|_| "1".to_string());
    // As root the replicas get network namespaces (every fault); otherwise only process faults.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut args = vec!["run", "--seed", &seed, "--out"];
    let out_dir = out.path().to_str().unwrap().to_string();
    args.push(&out_dir);
    if root {
        args.extend(["--scenario", "smoke", "--network", "netns"]);
    } else {
        args.extend([
            "--scenario",
            "pause",
            "--duration",
            "60s",
            "--network",
            "loopback",
        ]);
    }
    let (stdout, stderr) = (out.path().join("stdout.txt"), out.path().join("stderr.txt"));
    let mut child = Command::new(&bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();

    let finished = wait_until(RUN_LIMIT, "keel-chaos run to finish", async || {
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
    assert!(status.success(), "keel-chaos failed ({status})\n{log}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["passed"], true, "{log}");
    assert_eq!(report["metrics"]["violations_total"], 0, "{log}");
    let checkers = report["checkers"].as_array().unwrap();
    assert_eq!(checkers.len(), 6, "{log}");
    let faults = report["faults"].as_array().unwrap();
    assert!(faults.len() >= 5, "only {} faults ran\n{log}", faults.len());
    for f in faults {
        assert!(
            f["errors"].as_array().unwrap().is_empty(),
            "fault {} failed: {}\n{log}",
            f["name"],
            f["errors"]
        );
    }
    assert!(
        report["metrics"]["failover_all"]["count"].as_u64().unwrap() >= 2,
        "{log}"
    );
    assert!(report["command"]
        .as_str()
        .unwrap()
        .starts_with("keel-chaos run --scenario"));
    assert!(std::fs::read_to_string(&stdout)
        .unwrap()
        .contains("reproduce: keel-chaos run"));
    for picture in ["timeline.png", "timeline.svg"] {
        assert!(
            out.path().join(picture).is_file(),
            "{picture} missing\n{log}"
        );
    }
    let leftovers: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with(&format!("kc{pid}-")))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        leftovers.is_empty(),
        "namespaces left behind: {leftovers:?}"
    );
}
