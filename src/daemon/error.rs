//! Why the daemon stopped with an error: it could not start (configuration, state folder,
//! D-Bus, signals), or it must exit so that systemd restarts it afresh (workers panicking again
//! and again, a D-Bus connection that cannot be rebuilt). The binary prints it with its causes
//! and exits non-zero.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot create {}", path.display())]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Systemd(#[from] crate::systemd::SystemdError),
    /// Signal handlers, the outbox folder, the monotonic clock.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The daemon's own verdict that it must exit to be restarted (the reason, as logged).
    #[error("{0}")]
    MustRestart(String),
}
