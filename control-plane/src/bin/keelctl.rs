//! keelctl: the command-line client of a Keel cell.

use clap::Parser;
use keel_control_plane::cli::kube::exec::CommandExited;
use keel_control_plane::cli::kube::{report, AlreadyReported};
use keel_control_plane::cli::{run, Cli};

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        if let Some(exited) = e.downcast_ref::<CommandExited>() {
            // kubectl's wording and exit code for a command that failed inside the container.
            eprintln!("{exited}");
            std::process::exit(exited.0);
        }
        if e.downcast_ref::<AlreadyReported>().is_none() {
            report(&e);
        }
        std::process::exit(1);
    }
}
