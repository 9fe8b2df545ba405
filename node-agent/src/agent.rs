//! `run`: register the node (retrying on every replica until one answers), then follow the pods
//! bound to it and report status, forever.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use keel_proto::node::node_plane_client::NodePlaneClient;
use keel_proto::node::RegisterRequest;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::cell_client::CellClient;
use crate::config::{AgentArgs, RuntimeKind};
use crate::containerd::node_setup::start_node_runtime;
use crate::node_api::{self, NodeAgentService};
use crate::node_object::node_object;
use crate::pod_sync::{self, IpPool};
use crate::pods::cluster_api::CellObjects;
use crate::reporter;
use crate::retry_backoff::RetryBackoff;
use crate::runtime::cri::{CriOptions, CriRuntime};
use crate::runtime::fake::FakeRuntime;
use crate::runtime::ContainerRuntime;

/// Runs the agent — or, with `--hollow-nodes N`, N hollow agents sharing this process.
pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    if args.hollow_nodes <= 1 {
        return run_node(args).await;
    }
    anyhow::ensure!(
        args.runtime == RuntimeKind::Fake,
        "--hollow-nodes needs --runtime fake"
    );
    let mut nodes = tokio::task::JoinSet::new();
    for i in 0..args.hollow_nodes {
        let mut one = args.clone();
        one.node_name = format!("{}-{i}", args.node_name);
        one.hollow_nodes = 1;
        // Each hollow node serves its usage on a port of its own.
        one.agent_port = 0;
        nodes.spawn(run_node(one));
    }
    while let Some(done) = nodes.join_next().await {
        done??;
    }
    Ok(())
}

/// Runs one node's agent until the process exits.
async fn run_node(mut args: AgentArgs) -> anyhow::Result<()> {
    // The agent's own API listens before the node registers, so the Node carries its port.
    let api_listener = TcpListener::bind((args.node_ip.as_str(), args.agent_port))
        .await
        .with_context(|| format!("binding {}:{}", args.node_ip, args.agent_port))?;
    args.agent_port = api_listener.local_addr()?.port();
    let cell = CellClient::new(args.servers())?;
    let started = SystemTime::now();
    let (node, interval) = register(&cell, &args, started).await;
    let cidr = node
        .pointer("/spec/podCIDR")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("the cell gave node {} no pod CIDR", args.node_name))?
        .to_string();
    tracing::info!(node = %args.node_name, %cidr, replica = %cell.current(), "registered");
    let ips = IpPool::new(&cidr)?;
    match args.runtime {
        RuntimeKind::Fake => {
            let runtime = FakeRuntime::new();
            serve_api(
                api_listener,
                NodeAgentService::hollow(&args.node_name, runtime.clone()),
            );
            drive(cell, args, runtime, ips, started, interval).await
        }
        RuntimeKind::Cri => {
            // Dropping the supervisor (on return, or when a signal ends `drive`) stops
            // containerd by its pid; its containers live on in their shims.
            let (cri, _supervisor) = start_node_runtime(&args, &cidr).await?;
            let options = CriOptions {
                log_root: args.root_dir().join("pods"),
                node_name: args.node_name.clone(),
                volume_root: args.root_dir().join("pod-volumes"),
            };
            let log_root = options.log_root.clone();
            let objects = CellObjects::new(cell.clone(), args.node_name.clone());
            let runtime = CriRuntime::start(cri.clone(), options, Arc::new(objects)).await?;
            let api = NodeAgentService::new(&args.node_name, runtime.clone(), cri, log_root);
            serve_api(api_listener, api);
            drive(cell, args, runtime, ips, started, interval).await
        }
    }
}

/// Serves the agent's own API (logs, exec, usage) on `listener` in the background.
fn serve_api<R: ContainerRuntime>(listener: TcpListener, api: NodeAgentService<R>) {
    tracing::info!(port = ?listener.local_addr().ok(), "serving the agent API");
    tokio::spawn(async move {
        if let Err(e) = node_api::serve(listener, api).await {
            tracing::error!(error = %e, "the agent API stopped");
        }
    });
}

/// Follows the node's pods and reports status until a task fails or SIGTERM/SIGINT arrives.
async fn drive<R: ContainerRuntime>(
    cell: CellClient,
    args: AgentArgs,
    runtime: R,
    ips: IpPool,
    started: SystemTime,
    interval: Duration,
) -> anyhow::Result<()> {
    let proxy = crate::proxy::Proxier::from_args(&args)?;
    let sync = tokio::spawn(pod_sync::run(
        cell.clone(),
        args.node_name.clone(),
        runtime.clone(),
        ips,
    ));
    let reports = tokio::spawn(reporter::run(cell, args, runtime, started, interval));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = sync => r?,
        r = reports => r?,
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
    }
    if let Some(proxy) = proxy {
        proxy.stop().await;
    }
    Ok(())
}

async fn register(cell: &CellClient, args: &AgentArgs, started: SystemTime) -> (Value, Duration) {
    let body = node_object(args, started).to_string().into_bytes();
    let mut backoff = RetryBackoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        let attempt = async {
            let mut client = NodePlaneClient::new(cell.channel()?);
            let r = client
                .register(RegisterRequest { node: body.clone() })
                .await?
                .into_inner();
            // The Node is stored either way; a redirect names the node's owner, which the
            // agent reports to and watches from from now on.
            if let Some(redirect) = r.redirect {
                cell.redirect(&redirect.address);
            }
            let node: Value = serde_json::from_slice(&r.node)?;
            anyhow::Ok((
                node,
                Duration::from_millis(u64::from(r.report_interval_ms.max(100))),
            ))
        }
        .await;
        match attempt {
            Ok(done) => return done,
            Err(e) => {
                tracing::warn!(replica = %cell.current(), error = %e, "registration failed; retrying");
                cell.rotate();
                tokio::time::sleep(backoff.next_pause()).await;
            }
        }
    }
}
