//! `Units`: the daemon's seam to systemd. The healing ladder and the workers hold an
//! `Arc<dyn Units>` instead of the D-Bus connection, so the failure paths that are hard to
//! provoke on a real host (a D-Bus error, a restart that leaves the unit failed, a restart job
//! still running, a unit stuck activating) are unit-tested against a scripted systemd. `Systemd` implements it by calling
//! its own methods, unchanged; the journal tail lives here too, so tests never spawn journalctl.

use super::{Job, Systemd, SystemdError, UnitStatus};
use crate::config::UnitName;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use std::time::Duration;

/// A stream of a unit's new ActiveState, one item per change.
pub type ActiveStates = BoxStream<'static, String>;

/// What the daemon asks of systemd. Object-safe: every method returns a boxed future.
pub trait Units: Send + Sync {
    /// Asks systemd to send change signals (needed for `watch` on some versions).
    fn subscribe(&self) -> BoxFuture<'_, Result<(), SystemdError>>;

    /// A snapshot of the unit's state.
    fn status<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<UnitStatus, SystemdError>>;

    /// The unit's ActiveState changes, as they happen.
    fn watch<'a>(&'a self, unit: &'a UnitName)
    -> BoxFuture<'a, Result<ActiveStates, SystemdError>>;

    /// Queues a restart job and waits, at most `timeout`, for systemd to finish it. The unit's
    /// state is worth reading only once the job is done: before, it may be the crash's.
    fn restart<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>>;

    /// As `restart`, for a start job.
    fn start<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>>;

    fn stop<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>>;

    fn reset_failed<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>>;

    /// Sends a signal to the unit's main process only.
    fn kill_main<'a>(
        &'a self,
        unit: &'a UnitName,
        signal: i32,
    ) -> BoxFuture<'a, Result<(), SystemdError>>;

    /// True once the unit is `active`; false when it settled in `failed`/`inactive` or the
    /// timeout passed.
    fn wait_active<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<bool, SystemdError>>;

    /// The unit's last `lines` journal lines, for a FAILED report. Never fails: a journal that
    /// does not answer is a line saying so.
    fn journal<'a>(&'a self, unit: &'a UnitName, lines: u32) -> BoxFuture<'a, Vec<String>>;
}

impl Units for Systemd {
    fn subscribe(&self) -> BoxFuture<'_, Result<(), SystemdError>> {
        Box::pin(Systemd::subscribe(self))
    }

    fn status<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<UnitStatus, SystemdError>> {
        Box::pin(Systemd::status(self, unit))
    }

    fn watch<'a>(
        &'a self,
        unit: &'a UnitName,
    ) -> BoxFuture<'a, Result<ActiveStates, SystemdError>> {
        Box::pin(async move { Ok(Systemd::watch(self, unit).await?.boxed()) })
    }

    fn restart<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>> {
        Box::pin(Systemd::restart_job(self, unit, timeout))
    }

    fn start<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>> {
        Box::pin(Systemd::start_job(self, unit, timeout))
    }

    fn stop<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>> {
        Box::pin(Systemd::stop(self, unit))
    }

    fn reset_failed<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>> {
        Box::pin(Systemd::reset_failed(self, unit))
    }

    fn kill_main<'a>(
        &'a self,
        unit: &'a UnitName,
        signal: i32,
    ) -> BoxFuture<'a, Result<(), SystemdError>> {
        Box::pin(Systemd::kill_main(self, unit, signal))
    }

    fn wait_active<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<bool, SystemdError>> {
        Box::pin(Systemd::wait_active(self, unit, timeout))
    }

    fn journal<'a>(&'a self, unit: &'a UnitName, lines: u32) -> BoxFuture<'a, Vec<String>> {
        Box::pin(journal_lines(unit, lines))
    }
}

/// `journalctl -u UNIT -n LINES`, bounded to 5 seconds.
async fn journal_lines(unit: &UnitName, lines: u32) -> Vec<String> {
    // kill_on_drop: a journalctl that misses the deadline below is killed, never left behind.
    let out = tokio::process::Command::new("journalctl")
        .kill_on_drop(true)
        .args(["-u", unit.as_str(), "-n"])
        .arg(lines.to_string())
        .args(["--no-pager", "-o", "short-iso"])
        .output();
    match tokio::time::timeout(Duration::from_secs(5), out).await {
        Ok(Ok(o)) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        _ => vec!["(journalctl did not answer)".into()],
    }
}
