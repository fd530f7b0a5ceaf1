//! `Units`: the daemon's seam to systemd. The healing ladder and the workers hold an
//! `Arc<dyn Units>` instead of the D-Bus connection, so the failure paths that are hard to
//! provoke on a real host (a D-Bus error, a restart that leaves the unit failed, a restart job
//! still running, a unit stuck activating) are unit-tested against a scripted systemd. `Systemd` implements it by calling
//! its own methods, unchanged; the journal tail lives here too, so tests never spawn journalctl.

use super::{ActiveState, Job, SubState, Systemd, SystemdError, UnitStatus};
use crate::config::UnitName;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use std::time::Duration;

/// A stream of a unit's new ActiveState, one item per change.
pub type ActiveStates = BoxStream<'static, ActiveState>;

/// What the daemon asks of systemd. Object-safe: every method returns a boxed future.
pub trait Units: Send + Sync {
    /// Asks systemd to send change signals (needed for `watch` on some versions).
    fn subscribe(&self) -> BoxFuture<'_, Result<(), SystemdError>>;

    /// A snapshot of the unit's state.
    fn status<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<UnitStatus, SystemdError>>;

    /// The unit's ActiveState and SubState only: for a look that knows the rest of the unit's
    /// status from an earlier one and needs only to know it is still running.
    fn active_state<'a>(
        &'a self,
        unit: &'a UnitName,
    ) -> BoxFuture<'a, Result<(ActiveState, SubState), SystemdError>> {
        Box::pin(async move { self.status(unit).await.map(|s| (s.active(), s.sub_state)) })
    }

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

    fn active_state<'a>(
        &'a self,
        unit: &'a UnitName,
    ) -> BoxFuture<'a, Result<(ActiveState, SubState), SystemdError>> {
        Box::pin(Systemd::active_state(self, unit))
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
    let mut cmd = tokio::process::Command::new("journalctl");
    cmd.args(["-u", unit.as_str(), "-n"])
        .arg(lines.to_string())
        .args(["--no-pager", "-o", "short-iso"]);
    output_lines(cmd, Duration::from_secs(5)).await
}

/// The lines a command prints, or a line saying it did not answer within `deadline`; a
/// command that misses the deadline is killed, never left behind (kill_on_drop).
async fn output_lines(mut cmd: tokio::process::Command, deadline: Duration) -> Vec<String> {
    let out = cmd
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .output();
    match tokio::time::timeout(deadline, out).await {
        Ok(Ok(o)) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        _ => vec!["(journalctl did not answer)".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PIDs of live (not zombie) processes whose command line is exactly `argv`.
    fn running(argv: &[&str]) -> Vec<u32> {
        let want: Vec<u8> = argv
            .iter()
            .flat_map(|a| [a.as_bytes(), b"\0"].concat())
            .collect();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok() == Some(want.clone()))
            .filter(|pid| crate::probe::procs::alive(*pid))
            .collect()
    }

    #[tokio::test]
    async fn a_journal_command_past_its_deadline_is_killed_not_left_behind() {
        // A stand-in for a journalctl that hangs, with an argument no other process has.
        let argv = ["sleep", "31.4159"];
        let mut cmd = tokio::process::Command::new(argv[0]);
        cmd.arg(argv[1]);
        let lines = output_lines(cmd, Duration::from_millis(300)).await;
        assert_eq!(lines, ["(journalctl did not answer)"]);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !running(&argv).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the hung command still runs: {:?}",
                running(&argv)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn a_journal_command_that_answers_gives_its_lines() {
        let mut cmd = tokio::process::Command::new("printf");
        cmd.arg("one\ntwo\n");
        assert_eq!(
            output_lines(cmd, Duration::from_secs(5)).await,
            ["one", "two"]
        );
    }
}
