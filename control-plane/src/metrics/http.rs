//! The metrics port: a minimal HTTP/1.1 server (one request per connection, then close) serving
//! `/metrics`, `/healthz` and `/readyz`. Scrapers and probes send one small GET, so a hand-written
//! responder on tokio avoids enabling hyper's HTTP/1 server just for this.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::ServerState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::metrics::{global, health, set_u64, Metrics};
use crate::raft::KeelRaft;

/// Samples values kept elsewhere into the registry's gauges just before a scrape.
pub type Sampler = Arc<dyn Fn(&Metrics) + Send + Sync>;

/// What the endpoint reads: the Raft node and a sampler for the node plane's gauges.
#[derive(Clone)]
pub struct Endpoint {
    pub raft: KeelRaft,
    pub sample_nodes: Sampler,
}

/// Binds `addr` and serves until the process exits.
pub async fn serve(addr: SocketAddr, endpoint: Endpoint) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), answer(conn, &endpoint)).await;
            });
        }
    });
    Ok(local)
}

async fn answer(mut conn: TcpStream, endpoint: &Endpoint) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = if method != "GET" && method != "HEAD" {
        (405, "text/plain", "only GET\n".to_string())
    } else {
        route(path, endpoint)
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    conn.write_all(response.as_bytes()).await?;
    conn.shutdown().await
}

/// Status, content type and body for `path`.
fn route(path: &str, endpoint: &Endpoint) -> (u16, &'static str, String) {
    let rx = endpoint.raft.metrics();
    let m = rx.borrow_watched().clone();
    match path {
        "/metrics" => {
            let metrics = global();
            set_u64(&metrics.raft_term, m.current_term);
            set_u64(&metrics.raft_last_log_index, m.last_log_index.unwrap_or(0));
            set_u64(
                &metrics.raft_committed_index,
                m.local_committed.as_ref().map(|l| l.index()).unwrap_or(0),
            );
            set_u64(
                &metrics.raft_applied_index,
                m.last_applied.as_ref().map(|l| l.index()).unwrap_or(0),
            );
            metrics
                .raft_is_leader
                .set(i64::from(m.state == ServerState::Leader));
            (endpoint.sample_nodes)(metrics);
            (
                200,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                metrics.render(),
            )
        }
        "/healthz" => match health::healthz(&m) {
            Ok(()) => (200, "text/plain", "ok\n".into()),
            Err(why) => (500, "text/plain", format!("{why}\n")),
        },
        "/readyz" => match health::readyz(&m) {
            Ok(()) => (200, "text/plain", "ok\n".into()),
            Err(why) => (503, "text/plain", format!("{why}\n")),
        },
        _ => (404, "text/plain", "not found\n".into()),
    }
}
