//! Running one probe, as the kubelet's prober does: exec through CRI ExecSync (exit code 0),
//! httpGet to the pod IP (status 200–399; a plain HTTP/1.1 GET with the kubelet's user agent,
//! only the status line is read), tcpSocket (the connection opens) — each within its timeout.
//! A failure comes back with the message the kubelet puts in its Unhealthy event.

use std::time::Duration;

use k8s_cri::v1 as cri;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::probe_state::{ProbeAction, ProbeSpec};
use crate::runtime::cri_client::CriClient;

/// Where a probe runs.
pub struct ProbeTarget<'a> {
    pub cri: &'a CriClient,
    pub container_id: &'a str,
    pub pod_ip: &'a str,
}

/// Runs `spec` once; Err carries why it failed.
pub async fn run_probe(spec: &ProbeSpec, target: &ProbeTarget<'_>) -> Result<(), String> {
    let timeout = spec.timeout;
    match &spec.action {
        ProbeAction::Invalid(message) => Err(message.clone()),
        ProbeAction::Exec(cmd) => exec(cmd, timeout, target).await,
        ProbeAction::HttpGet {
            host,
            port,
            path,
            headers,
        } => {
            let host = host.as_deref().unwrap_or(target.pod_ip);
            within(timeout, http_get(host, *port, path, headers)).await
        }
        ProbeAction::TcpSocket { host, port } => {
            let host = host.as_deref().unwrap_or(target.pod_ip);
            within(timeout, async {
                TcpStream::connect((host, *port))
                    .await
                    .map(drop)
                    .map_err(|e| format!("dial tcp {host}:{port}: {e}"))
            })
            .await
        }
    }
}

async fn within(
    timeout: Duration,
    f: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    tokio::time::timeout(timeout, f)
        .await
        .unwrap_or_else(|_| Err(format!("timeout after {}s", timeout.as_secs())))
}

async fn exec(cmd: &[String], timeout: Duration, t: &ProbeTarget<'_>) -> Result<(), String> {
    let req = cri::ExecSyncRequest {
        container_id: t.container_id.to_string(),
        cmd: cmd.to_vec(),
        timeout: i64::try_from(timeout.as_secs()).unwrap_or(1),
    };
    // The runtime enforces the timeout; the margin only guards against a runtime that hangs.
    let mut client = t.cri.runtime.clone();
    let call = client.exec_sync(req);
    let r = match tokio::time::timeout(timeout + Duration::from_secs(2), call).await {
        Err(_) => return Err(format!("command {cmd:?} timed out")),
        Ok(Err(s)) => return Err(format!("command {cmd:?}: {}", s.message())),
        Ok(Ok(r)) => r.into_inner(),
    };
    if r.exit_code == 0 {
        return Ok(());
    }
    let out = String::from_utf8_lossy(if r.stdout.is_empty() {
        &r.stderr
    } else {
        &r.stdout
    });
    Err(format!(
        "command {cmd:?} exited with {}: {}",
        r.exit_code,
        out.trim()
    ))
}

async fn http_get(
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
) -> Result<(), String> {
    let url = format!("http://{host}:{port}{path}");
    let mut s = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("Get \"{url}\": dial tcp {host}:{port}: {e}"))?;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("Get \"{url}\": {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while !buf.contains(&b'\n') && buf.len() < 4096 {
        let n = s
            .read(&mut chunk)
            .await
            .map_err(|e| format!("Get \"{url}\": {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let code =
        status_code(&line).ok_or_else(|| format!("Get \"{url}\": malformed HTTP response"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}

/// The status code of an HTTP/1.x status line.
fn status_code(text: &str) -> Option<u16> {
    let line = text.lines().next()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pods::probe_state::ProbeKind;
    use tokio::net::TcpListener;

    fn spec(action: ProbeAction) -> ProbeSpec {
        ProbeSpec {
            kind: ProbeKind::Readiness,
            action,
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            success_threshold: 1,
            failure_threshold: 1,
        }
    }

    /// Serves one HTTP response per connection with `status`, `n` times.
    async fn server(status: &'static str, n: usize) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            for _ in 0..n {
                let (mut s, _) = l.accept().await.unwrap();
                let mut b = [0u8; 1024];
                let _ = s.read(&mut b).await;
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        port
    }

    #[test]
    fn status_lines_parse() {
        assert_eq!(status_code("HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_code("SSH-2.0\r\n"), None);
    }

    #[tokio::test]
    async fn http_and_tcp_probes_reach_their_port() {
        let cri = CriClient::new(std::path::Path::new("/nonexistent.sock"));
        let t = ProbeTarget {
            cri: &cri,
            container_id: "c",
            pod_ip: "127.0.0.1",
        };
        let ok = server("200 OK", 2).await;
        let http = |port| {
            spec(ProbeAction::HttpGet {
                host: None,
                port,
                path: "/healthz".into(),
                headers: vec![],
            })
        };
        assert_eq!(run_probe(&http(ok), &t).await, Ok(()));
        assert_eq!(
            run_probe(
                &spec(ProbeAction::TcpSocket {
                    host: None,
                    port: ok
                }),
                &t
            )
            .await,
            Ok(())
        );
        let bad = server("503 Service Unavailable", 1).await;
        assert_eq!(
            run_probe(&http(bad), &t).await,
            Err("HTTP probe failed with statuscode: 503".into())
        );
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        assert!(run_probe(
            &spec(ProbeAction::TcpSocket {
                host: None,
                port: closed
            }),
            &t
        )
        .await
        .is_err());
        assert!(run_probe(&spec(ProbeAction::Invalid("x".into())), &t)
            .await
            .is_err());
    }
}
