//! `Nft`: the thin shell around the `nft` binary (Debian's nftables) — a script applied as one
//! transaction (`nft -f -`: all of it or none of it), and the agent's table removed.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// `nft` failed to run or refused a script.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("running {bin}: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("{bin} -f - failed ({status}): {stderr}")]
    Refused {
        bin: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

/// The `nft` binary.
#[derive(Debug, Clone)]
pub struct Nft {
    bin: PathBuf,
}

impl Default for Nft {
    fn default() -> Self {
        Nft { bin: "nft".into() }
    }
}

impl Nft {
    pub fn new(bin: impl Into<PathBuf>) -> Nft {
        Nft { bin: bin.into() }
    }

    /// Runs `script` as one nft transaction.
    pub async fn apply(&self, script: &str) -> Result<(), NftError> {
        let bin = self.bin.display().to_string();
        let spawn = |source| NftError::Spawn {
            bin: bin.clone(),
            source,
        };
        let mut child = tokio::process::Command::new(&self.bin)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes()).await.map_err(spawn)?;
        }
        let out = child.wait_with_output().await.map_err(spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(NftError::Refused {
                bin,
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    /// Removes table `ip <table>` if it exists (blocking: also used from `Drop`).
    pub fn delete_table_blocking(&self, table: &str) -> Result<(), NftError> {
        let bin = self.bin.display().to_string();
        let spawn = |source| NftError::Spawn {
            bin: bin.clone(),
            source,
        };
        // Create-then-delete in one transaction: no error when it is already gone.
        let script = format!("table ip {table}\n{}", super::ruleset::delete_script(table));
        let mut child = std::process::Command::new(&self.bin)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes()).map_err(spawn)?;
        }
        let out = child.wait_with_output().map_err(spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(NftError::Refused {
                bin,
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }
}
