//! Reaching the cell: the first replica of the list that answers.

use std::time::Duration;

use anyhow::{bail, Context};
use tonic::transport::{Channel, Endpoint};

/// Parses the `--servers` list.
pub fn parse_servers(s: &str) -> anyhow::Result<Vec<String>> {
    let list: Vec<String> = s
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    if list.is_empty() {
        bail!("--servers is empty; give at least one HOST:PORT");
    }
    Ok(list)
}

/// Connects to the first replica that accepts a connection.
pub async fn connect_any(servers: &[String]) -> anyhow::Result<Channel> {
    let mut errors = Vec::new();
    for s in servers {
        match connect_one(s).await {
            Ok(ch) => return Ok(ch),
            Err(e) => errors.push(format!("{s}: {e:#}")),
        }
    }
    bail!("no replica reachable: {}", errors.join("; "))
}

/// Connects to one replica.
pub async fn connect_one(addr: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{addr}"))
        .with_context(|| format!("bad address {addr}"))?
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))
}
