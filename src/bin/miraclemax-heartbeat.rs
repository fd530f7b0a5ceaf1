//! miraclemax-heartbeat: the external heartbeat, run by root's crontab every 5 minutes.

use clap::Parser;
use miraclemax::cli::{self, HostArgs};
use std::process::ExitCode;

const NAME: &str = "miraclemax-heartbeat";

/// Pings this server's Healthchecks check (and each per-service check) with a summary of the
/// host, or `/fail` with the reason when the self-healing daemon or a critical service is down.
/// Appends one line per run to /var/log/healthcheck-heartbeat.log.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    host: HostArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = miraclemax::config::load(&cli.host.config) {
        return cli::fail(NAME, &e.into());
    }
    cli::not_built_yet(NAME, "the Healthchecks ping")
}
