//! keelctl: the command-line client of a Keel cell.

use clap::Parser;
use keel_control_plane::cli::kube::{report, AlreadyReported};
use keel_control_plane::cli::{run, Cli};

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        if e.downcast_ref::<AlreadyReported>().is_none() {
            report(&e);
        }
        std::process::exit(1);
    }
}
