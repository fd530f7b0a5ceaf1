//! miraclemax-status: what the self-healing daemon and the heartbeat know, on the host.

use clap::Parser;
use miraclemax::cli::{self, HostArgs};
use miraclemax::state::Dirs;
use std::process::ExitCode;

const NAME: &str = "miraclemax-status";

/// Shows the daemon's state and, per service, the unit state, port owner, last incident,
/// heals in the last 24 h, circuit breaker and pause. Exits 1 when a critical service is down.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    host: HostArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match miraclemax::config::load(&cli.host.config) {
        Ok(c) => c,
        Err(e) => return cli::fail(NAME, &e),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return cli::fail(NAME, &e),
    };
    let report = rt.block_on(miraclemax::status::gather(
        &config,
        &Dirs::new(&cli.host.state_dir),
    ));
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        );
    } else {
        print!("{}", miraclemax::status::table(&report));
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
