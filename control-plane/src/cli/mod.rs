//! keelctl: command-line client for a Keel cell. `store` commands speak to the raw key-value
//! store (operators), `cluster` commands administer the cell.

pub mod cluster_cmd;
pub mod connect;
pub mod store_cmd;

use clap::{Parser, Subcommand};

/// keelctl — talk to a Keel cell.
#[derive(Debug, Parser)]
#[command(name = "keelctl", version)]
pub struct Cli {
    /// Replica addresses (HOST:PORT, comma separated); any replica serves any request.
    #[arg(
        long,
        global = true,
        env = "KEEL_SERVERS",
        default_value = "127.0.0.1:7001"
    )]
    pub servers: String,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Cell administration: status, membership, leadership, snapshots.
    #[command(subcommand)]
    Cluster(cluster_cmd::ClusterCommand),
    /// Raw key-value store access (for operators).
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let servers = connect::parse_servers(&cli.servers)?;
    match cli.command {
        Command::Cluster(c) => cluster_cmd::run(c, &servers, cli.output).await,
        Command::Store(c) => store_cmd::run(c, &servers, cli.output).await,
    }
}
