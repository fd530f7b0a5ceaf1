//! Why a healing step did not bring the service back: the words of a FAILED report's step, so
//! each names the unit and what systemd or the probe said.

use crate::config::UnitName;
use crate::systemd::{JobResult, SystemdError};
use std::time::Duration;

/// A restart or start job that did not leave the unit active.
#[derive(Debug, thiserror::Error)]
pub(super) enum JobError {
    #[error(transparent)]
    Systemd(#[from] SystemdError),
    /// `state` is the unit's state after the job (or why it could not be read).
    #[error("{unit} did not become active: its {verb} job ended '{result}' ({state})")]
    Ended {
        unit: UnitName,
        verb: &'static str,
        result: JobResult,
        state: String,
    },
    #[error(
        "{unit} did not become active: its {verb} job was still running after {timeout:?} ({state})"
    )]
    StillRunning {
        unit: UnitName,
        verb: &'static str,
        timeout: Duration,
        state: String,
    },
}

/// The first thing found wrong when a healed service is checked.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unhealthy {
    #[error(transparent)]
    Systemd(#[from] SystemdError),
    /// `status` is systemd's record of the unit, described.
    #[error("{unit} did not become active ({status})")]
    NotActive { unit: UnitName, status: String },
    /// `holder` describes the process that holds the port.
    #[error("port {port} is held by {holder}, not by {unit}")]
    PortHeldByOther {
        port: u16,
        holder: String,
        unit: UnitName,
    },
    #[error("nothing listens on port {port}")]
    PortFree { port: u16 },
    /// Its health check failed: why.
    #[error("{0}")]
    Health(String),
}
