//! keel-server: one replica of a Keel cell.

use clap::Parser;
use keel_control_plane::server::{run, ServerArgs};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = ServerArgs::parse();
    if let Err(e) = run(args).await {
        eprintln!("keel-server: {e:#}");
        std::process::exit(1);
    }
}
