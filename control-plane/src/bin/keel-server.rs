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
    // Failpoints: armed from FAILPOINTS (e.g. `raft-log-fsync=sleep(200)`) when built with them.
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    #[cfg(not(feature = "failpoints"))]
    if std::env::var_os("FAILPOINTS").is_some() {
        tracing::warn!("FAILPOINTS is ignored: keel-server was built without feature failpoints");
    }
    let args = ServerArgs::parse();
    if let Err(e) = run(args).await {
        eprintln!("keel-server: {e:#}");
        std::process::exit(1);
    }
}
