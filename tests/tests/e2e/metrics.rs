//! `keel-server --metrics-listen` on every replica of a 3-replica cell with 4 hollow agents:
//! `/healthz` and `/readyz` answer 200 everywhere, `/metrics` is well-formed OpenMetrics text
//! (checked line by line: HELP/TYPE/EOF comments, `name{labels} value` samples of declared
//! families, `# EOF` last), every replica reports the same Raft term, exactly one reports
//! `keel_raft_is_leader 1` (the leader the cell agrees on), the applied index grows with
//! writes, and the followers' `keel_node_agents_reporting` / `keel_node_nodes_owned` each sum
//! to the number of agents (the leader owns none while it has followers).
//!
//! Each replica binds its metrics port on 127.0.0.1:0 and logs the address it got
//! (`serving /metrics ... bound=ADDR`), which is where the test reads it.

use std::collections::BTreeMap;
use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions, LocalCluster};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::agent_support::spawn_agent;
use crate::objects_support::*;
use crate::support::cell;

const AGENTS: usize = 4;

/// One HTTP/1.1 GET with `Connection: close`: (status code, body).
async fn http_get(addr: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let exchange = async {
        let mut conn = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        conn.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).await?;
        anyhow::Ok(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange).await??;
    let text = String::from_utf8(raw)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no header end in {text:?}"))?;
    let code = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bad status line in {head:?}"))?;
    Ok((code, body.to_string()))
}

fn metric_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `k="v",k2="v2"` (no escapes are expected in Keel's label values); `Err` on anything else.
fn labels_ok(labels: &str) -> Result<(), String> {
    for pair in labels.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("label {pair:?} has no '='"))?;
        if !metric_name_ok(key) || key.contains(':') {
            return Err(format!("bad label name {key:?}"));
        }
        let inner = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| format!("label value {value:?} not quoted"))?;
        if inner.contains('"') || inner.contains('\\') {
            return Err(format!("label value {value:?} needs escapes"));
        }
    }
    Ok(())
}

/// Parses OpenMetrics text strictly; returns every sample (`name{labels}` -> value).
fn parse_openmetrics(text: &str) -> Result<BTreeMap<String, f64>, String> {
    const TYPES: [&str; 8] = [
        "counter",
        "gauge",
        "histogram",
        "summary",
        "unknown",
        "info",
        "stateset",
        "gaugehistogram",
    ];
    const SUFFIXES: [&str; 6] = ["", "_total", "_bucket", "_count", "_sum", "_created"];
    let lines: Vec<&str> = text.lines().collect();
    if lines.last() != Some(&"# EOF") {
        return Err("the text does not end with # EOF".into());
    }
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for (n, line) in lines[..lines.len() - 1].iter().enumerate() {
        let at = |why: String| format!("line {}: {why}: {line:?}", n + 1);
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (kind, name, rest) = (parts.next(), parts.next(), parts.next());
            let name = name.ok_or_else(|| at("a comment without a name".into()))?;
            if !metric_name_ok(name) {
                return Err(at(format!("bad family name {name:?}")));
            }
            match (kind, rest) {
                (Some("HELP"), Some(_)) | (Some("UNIT"), _) => {}
                (Some("TYPE"), Some(t)) if TYPES.contains(&t) => {
                    if families.insert(name.to_string(), t.to_string()).is_some() {
                        return Err(at("a family declared twice".into()));
                    }
                }
                _ => return Err(at("an unknown comment".into())),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| at("a sample without a value".into()))?;
        let value: f64 = value
            .parse()
            .map_err(|_| at(format!("value {value:?} is not a number")))?;
        let name = match series.split_once('{') {
            Some((name, rest)) => {
                let labels = rest
                    .strip_suffix('}')
                    .ok_or_else(|| at("labels not closed".into()))?;
                labels_ok(labels).map_err(at)?;
                name
            }
            None => series,
        };
        if !metric_name_ok(name) {
            return Err(at(format!("bad metric name {name:?}")));
        }
        let declared = SUFFIXES.iter().any(|s| {
            name.strip_suffix(s)
                .is_some_and(|family| families.contains_key(family))
        });
        if !declared {
            return Err(at(format!("{name} belongs to no declared family")));
        }
        if samples.insert(series.to_string(), value).is_some() {
            return Err(at("a series repeated".into()));
        }
    }
    Ok(samples)
}

#[test]
fn the_openmetrics_check_refuses_malformed_text() {
    let good = "# HELP keel_x An x.\n# TYPE keel_x gauge\nkeel_x 3\n# TYPE keel_h histogram\n\
                keel_h_bucket{le=\"1.0\"} 2\nkeel_h_count 2\nkeel_h_sum 0.5\n# EOF";
    let parsed = parse_openmetrics(good).expect("well-formed");
    assert_eq!(parsed["keel_x"], 3.0);
    assert_eq!(parsed["keel_h_bucket{le=\"1.0\"}"], 2.0);
    for bad in [
        "# TYPE keel_x gauge\nkeel_x 3\n",
        "# TYPE keel_x gauge\nkeel_x three\n# EOF",
        "# TYPE keel_x gauge\nkeel_y 3\n# EOF",
        "# TYPE keel_x gauge\nkeel_x{a=b} 3\n# EOF",
        "# TYPE keel_x gauge\nkeel_x{a=\"b\" 3\n# EOF",
        "# TYPE keel_x gauge\nkeel_x 3\nkeel_x 4\n# EOF",
        "# TYPE keel_x sometype\nkeel_x 3\n# EOF",
        "# TYPE keel_x gauge\n\nkeel_x 3\n# EOF",
    ] {
        assert!(parse_openmetrics(bad).is_err(), "{bad:?}");
    }
}

/// The metrics address replica `id` logged, once it has.
async fn metrics_addr(cluster: &LocalCluster, id: u64) -> String {
    let log = cluster.log_path(id).expect("log path");
    wait_until(
        Duration::from_secs(10),
        format!("replica {id} logs its metrics address"),
        async || {
            let text = std::fs::read_to_string(&log)?;
            let line = text
                .lines()
                .find(|l| l.contains("serving /metrics"))
                .ok_or_else(|| anyhow::anyhow!("not logged yet"))?;
            // Drop ANSI styling, then take the `bound=` field.
            let mut plain = String::new();
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    chars.by_ref().find(|c| c.is_ascii_alphabetic());
                } else {
                    plain.push(c);
                }
            }
            let addr = plain
                .split_whitespace()
                .find_map(|w| w.strip_prefix("bound="))
                .ok_or_else(|| anyhow::anyhow!("no bound= in {plain:?}"))?;
            Ok(addr.to_string())
        },
    )
    .await
    .expect("the metrics address is logged")
}

async fn scrape(addr: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let (code, body) = http_get(addr, "/metrics").await?;
    anyhow::ensure!(code == 200, "/metrics answered {code}: {body}");
    parse_openmetrics(&body).map_err(anyhow::Error::msg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_serves_health_readiness_and_consistent_metrics() {
    let cluster = cell(ClusterOptions {
        extra_args: vec!["--metrics-listen".into(), "127.0.0.1:0".into()],
        rust_log: Some("info".into()),
        ..Default::default()
    })
    .await;
    wait_bootstrapped(&cluster).await;
    let mut addrs = BTreeMap::new();
    for id in cluster.ids() {
        addrs.insert(id, metrics_addr(&cluster, id).await);
    }
    eprintln!("metrics addresses: {addrs:?}");
    let servers = cluster.addrs();
    let _agents: Vec<_> = (0..AGENTS)
        .map(|i| spawn_agent(&cluster, &format!("node-{i}"), &servers, &[]))
        .collect();

    for (id, addr) in &addrs {
        let health = http_get(addr, "/healthz").await.expect("healthz");
        assert_eq!(health, (200, "ok\n".to_string()), "replica {id} /healthz");
        let ready = http_get(addr, "/readyz").await.expect("readyz");
        assert_eq!(ready, (200, "ok\n".to_string()), "replica {id} /readyz");
        let (code, _) = http_get(addr, "/nothing").await.expect("404");
        assert_eq!(code, 404);
    }

    // Term and leadership agree with the cell.
    let leader = cluster.leader_id().await.expect("a leader");
    let before = wait_until(
        Duration::from_secs(10),
        "one term and one leader in the metrics",
        async || {
            let mut seen = BTreeMap::new();
            for (id, addr) in &addrs {
                seen.insert(*id, scrape(addr).await?);
            }
            let terms: Vec<f64> = seen.values().map(|m| m["keel_raft_term"]).collect();
            anyhow::ensure!(terms.iter().all(|t| *t == terms[0]), "terms {terms:?}");
            let leaders: Vec<u64> = seen
                .iter()
                .filter(|(_, m)| m["keel_raft_is_leader"] == 1.0)
                .map(|(id, _)| *id)
                .collect();
            anyhow::ensure!(
                leaders == [leader],
                "leaders by metrics {leaders:?}, cell: {leader}"
            );
            Ok(seen)
        },
    )
    .await
    .expect("consistent Raft metrics");
    for (id, m) in &before {
        assert!(
            m["keel_raft_term"] >= 1.0 && m["keel_raft_is_leader"] <= 1.0,
            "replica {id}: {m:?}"
        );
        assert!(
            m["keel_raft_applied_index"] <= m["keel_raft_committed_index"]
                && m["keel_raft_committed_index"] <= m["keel_raft_last_log_index"],
            "replica {id}: applied <= committed <= last log"
        );
    }

    // Writes move every replica's applied index.
    for i in 0..20 {
        create(
            &cluster,
            1,
            &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("m-{i}"), "namespace": "default"},
                "data": {"i": i.to_string()}}),
        )
        .await
        .expect("configmap");
    }
    wait_until(
        Duration::from_secs(10),
        "the applied index grows everywhere",
        async || {
            for (id, addr) in &addrs {
                let m = scrape(addr).await?;
                let (was, now) = (
                    before[id]["keel_raft_applied_index"],
                    m["keel_raft_applied_index"],
                );
                anyhow::ensure!(now >= was + 20.0, "replica {id}: applied {was} -> {now}");
            }
            Ok(())
        },
    )
    .await
    .expect("applied indexes grow");

    // The agents: every one reports to one follower, which owns its node.
    let per_replica = wait_until(
        Duration::from_secs(30),
        "the followers own and hear every agent",
        async || {
            let mut per = BTreeMap::new();
            for (id, addr) in &addrs {
                let m = scrape(addr).await?;
                per.insert(
                    *id,
                    (m["keel_node_agents_reporting"], m["keel_node_nodes_owned"]),
                );
            }
            let followers = per.iter().filter(|(id, _)| **id != leader);
            let (reporting, owned) =
                followers.fold((0.0, 0.0), |(r, o), (_, (a, b))| (r + a, o + b));
            anyhow::ensure!(
                reporting == AGENTS as f64 && owned == AGENTS as f64 && per[&leader] == (0.0, 0.0),
                "per replica (agents reporting, nodes owned): {per:?}"
            );
            Ok(per)
        },
    )
    .await
    .expect("the node gauges add up");
    eprintln!("(agents reporting, nodes owned) by replica, leader {leader}: {per_replica:?}");
    // The creates went through replica 1, which timed each.
    let m1 = scrape(&addrs[&1]).await.expect("scrape replica 1");
    let creates = m1
        .get(
            "keel_api_request_seconds_count{service=\"keel.objects.v1.Objects\",method=\"Create\"}",
        )
        .copied();
    assert!(
        creates.is_some_and(|n| n >= 20.0),
        "timed creates on replica 1: {creates:?}"
    );
    cluster.teardown();
}
