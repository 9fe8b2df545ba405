//! keel-agent: the node agent.

use clap::Parser;
use keel_node_agent::{agent, config::AgentArgs};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = AgentArgs::parse();
    if let Err(e) = agent::run(args).await {
        eprintln!("keel-agent: {e:#}");
        std::process::exit(1);
    }
}
