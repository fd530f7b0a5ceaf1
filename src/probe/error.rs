//! Why an HTTP probe or the reading of a `ca_file` failed. A probe's failure becomes the words of
//! a report ("<url> failed: <why>"), so each message says what the probe saw, never the whole
//! URL (its problems are told without quoting it: it may hold credentials).

use crate::config::ProbeUrlError;
use std::path::PathBuf;

/// The hint added to a failed handshake with the web PKI, whose usual cause on a local endpoint
/// is the service's own certificate.
const OWN_CERTIFICATE: &str = " (a service with its own certificate: set health.ca_file to its \
                               CA or certificate, or health.tls_verify: false)";

/// Why one probe got no status code.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The configured URL cannot be probed (validation refuses such URLs; kept for safety).
    #[error("{url}: {why}")]
    Url { url: String, why: ProbeUrlError },
    /// Connecting, writing the request or reading the answer.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{host}: {why}")]
    ServerName {
        host: String,
        why: rustls::pki_types::InvalidDnsNameError,
    },
    /// The TLS handshake; `own_certificate` when the cause looks like the service's own
    /// certificate checked against the web PKI.
    #[error("{source}{}", if *own_certificate { OWN_CERTIFICATE } else { "" })]
    Handshake {
        source: std::io::Error,
        own_certificate: bool,
    },
    #[error(transparent)]
    CaFile(#[from] CaFileError),
    #[error("the connection closed without an answer")]
    Closed,
    #[error("the answer is not HTTP (no status line)")]
    NoStatusLine,
    /// The first line of the answer, which is not an HTTP status line.
    #[error("the answer is not HTTP: {0:?}")]
    NotHttp(String),
}

/// Why a health check's `ca_file` holds nothing the probe can trust.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    #[error("ca_file {}: {source}", path.display())]
    Pem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("ca_file {}: {source}", path.display())]
    Rejected {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("ca_file {}: no PEM certificate in it", path.display())]
    Empty { path: PathBuf },
}

/// Why a check command could not be run (at a look, or at `--check-config`): nothing is known
/// of the service then. Its program is named, never its arguments.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("user {0} does not exist on this host (create it, or name another)")]
    NoUser(String),
    #[error("{program} cannot be started: {source} (install it, or give its path)")]
    Program {
        program: String,
        source: std::io::Error,
    },
    #[error("{0} is not an executable file")]
    NotExecutable(String),
    #[error("no pipe for its output: {0}")]
    Pipe(std::io::Error),
}
