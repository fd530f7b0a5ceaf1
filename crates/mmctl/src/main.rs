//! mmctl: the controller CLI that edits the inventory and drives the deploys.

use clap::{Parser, Subcommand};
use miraclemax::cli::{self, summary::config_summary};
use std::path::PathBuf;
use std::process::ExitCode;

const NAME: &str = "mmctl";

/// Manage a MiracleMax fleet from its Ansible inventory: validate what each host will receive,
/// add and remove monitored services, render configs, deploy and run drills.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Validate an agent configuration file (as a host receives it at /etc/miraclemax/config.yaml)
    /// merged with the config.d/*.yaml fragments beside it, as the host programs read it.
    CheckConfig {
        /// The main file to check; fragments are read from config.d/ in its folder.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Cmd::CheckConfig { file } => match miraclemax::config::load(&file) {
            Ok(c) => {
                print!(
                    "{}: configuration OK\n{}",
                    file.display(),
                    config_summary(&c)
                );
                ExitCode::SUCCESS
            }
            Err(e) => cli::fail(NAME, &e.into()),
        },
    }
}
