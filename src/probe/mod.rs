//! Probes: is a TCP port listening and who holds it, does an HTTP endpoint answer with the
//! expected status, does a check command exit 0. Each probe has a timeout and reports what it saw, for decisions and reports.
//! The daemon reads the process table through `procs::Processes`, so tests can fake it.

pub mod certificate;
pub(crate) mod command;
mod error;
pub(crate) mod health;
pub mod host;
pub(crate) mod http;
mod kernfs;
pub(crate) mod port;
mod readings;
mod sockets;
#[cfg(test)]
mod test_tls;
pub(crate) mod usage;
pub use error::{CaFileError, CommandError, ProbeError};
// Public for `procs::alive`, which the test infrastructure uses too.
pub mod procs;

/// Whether a health check's `ca_file` holds certificates the probe can trust, read as the
/// probe reads it (for `--check-config`).
pub fn check_ca_file(path: &std::path::Path) -> Result<(), CaFileError> {
    http::read_ca_file(path).map(drop)
}

/// Whether a check command can be run on this host as configured: its program an executable
/// file, its user known (for `--check-config`, at deploy).
pub fn check_command(check: &crate::config::CommandCheck) -> Result<(), CommandError> {
    use std::os::unix::fs::PermissionsExt as _;
    let program = check.program();
    let meta = std::fs::metadata(program).map_err(|source| CommandError::Program {
        program: program.to_string(),
        source,
    })?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(CommandError::NotExecutable(program.to_string()));
    }
    match &check.user {
        Some(user) if uzers::get_user_by_name(user).is_none() => {
            Err(CommandError::NoUser(user.clone()))
        }
        _ => Ok(()),
    }
}
