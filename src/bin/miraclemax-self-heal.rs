//! miraclemax-self-heal: the per-server self-healing daemon (run by systemd).

use clap::Parser;
use miraclemax::cli::{self, ConfigArg, summary::config_summary};
use std::process::ExitCode;

const NAME: &str = "miraclemax-self-heal";

/// Watches the systemd services listed in the configuration, heals them with their configured
/// strategies (restart, free a taken port, ...), verifies the fix and reports what it did by
/// email and to journald (`journalctl -t miraclemax-self-heal`).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArg,
    /// Validate the configuration, print what it describes and exit (0 when valid).
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match miraclemax::config::load(&cli.config.config) {
        Ok(c) => c,
        Err(e) => return cli::fail(NAME, &e.into()),
    };
    if cli.check_config {
        print!(
            "{}: configuration OK\n{}",
            cli.config.config.display(),
            config_summary(&config)
        );
        return ExitCode::SUCCESS;
    }
    cli::not_built_yet(NAME, "the healing daemon")
}
