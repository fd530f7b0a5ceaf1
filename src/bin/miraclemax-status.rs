//! miraclemax-status: what the self-healing daemon and the heartbeat know, on the host.

use clap::Parser;
use miraclemax::cli::{self, ConfigArg};
use std::process::ExitCode;

const NAME: &str = "miraclemax-status";

/// Shows the daemon's state and, per service, the unit state, port owner, last incident,
/// heals in the last 24 h, circuit breaker and pause, plus the heartbeat's last ping.
/// Exits non-zero when a critical service is down.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = miraclemax::config::load(&cli.config.config) {
        return cli::fail(NAME, &e.into());
    }
    let _ = cli.json;
    cli::not_built_yet(NAME, "the status report")
}
