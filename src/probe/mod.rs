//! Probes: is a TCP port listening and who holds it, and does an HTTP endpoint answer with the
//! expected status. Each probe has a timeout and reports what it saw, for decisions and reports.
//! The daemon reads the process table through `procs::Processes`, so tests can fake it.

mod error;
pub(crate) mod http;
pub(crate) mod port;
mod sockets;
pub(crate) mod usage;
pub use error::{CaFileError, ProbeError};
// Public for `procs::alive`, which the test infrastructure uses too.
pub mod procs;

/// Whether a health check's `ca_file` holds certificates the probe can trust, read as the
/// probe reads it (for `--check-config`).
pub fn check_ca_file(path: &std::path::Path) -> Result<(), CaFileError> {
    http::read_ca_file(path).map(drop)
}
