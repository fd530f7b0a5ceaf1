//! What the binaries share: how an error is printed and which exit code it maps to, and the
//! `--config` option. Each binary stays a thin shell around the library.

pub use crate::config::summary;

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct HostArgs {
    /// The agent configuration file; the config.d/*.yaml fragments beside it are merged over it.
    #[arg(long, short = 'c', value_name = "FILE", default_value = crate::config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// Where the daemon keeps state, events and the email outbox.
    #[arg(long, value_name = "DIR", default_value = crate::state::DEFAULT_DIR)]
    pub state_dir: PathBuf,
}

/// Prints `PROGRAM: error: ...` (the error and its causes, `: `-separated, every line of a
/// multi-line one) and returns exit code 1.
pub fn fail(program: &str, err: &(dyn std::error::Error + 'static)) -> ExitCode {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    for line in text.lines() {
        eprintln!("{program}: error: {line}");
    }
    ExitCode::FAILURE
}
