//! The daemon's side of the D-Bus connection: how it tells "I cannot see" from "it is down".
//! The system bus allows a connection 128 pending replies; with hundreds of workers looking at
//! once it refuses the rest (`LimitsExceeded`), so every call goes through `Limited`, which
//! lets at most `IN_FLIGHT` be in flight. A status call that fails is retried (`STATUS_ATTEMPTS`,
//! short pauses) before the worker calls the service unseen, never down. When no service can be
//! seen at all, the connection itself is suspect: `Rebuild` spaces out the attempts to rebuild
//! it (`Reconnect`), doubling the pause each time, and after `REBUILDS_BEFORE_EXIT` attempts
//! that did not bring sight back the daemon exits non-zero so systemd starts it afresh with a
//! new connection.

use crate::config::UnitName;
use crate::systemd::{ActiveState, ActiveStates, Job, SubState, SystemdError, UnitStatus, Units};
use futures_util::future::BoxFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// D-Bus calls in flight at once, well under the bus's 128 pending replies per connection.
pub(crate) const IN_FLIGHT: usize = 32;

/// Status calls made for one look before the service counts as unseen.
pub(crate) const STATUS_ATTEMPTS: u32 = 3;

/// Connection rebuilds that did not bring sight back before the daemon exits to be restarted.
pub(crate) const REBUILDS_BEFORE_EXIT: u32 = 6;

/// The longest pause between two rebuilds.
const REBUILD_PAUSE_MAX: Duration = Duration::from_secs(300);

/// Rebuilds a lost connection to systemd. The daemon's policy (when, how often) is `Rebuild`;
/// this is only the act (`Systemd::reconnect` in the daemon, a counter in tests).
pub(crate) trait Reconnect: Send + Sync {
    fn reconnect(&self) -> BoxFuture<'_, Result<(), SystemdError>>;
}

/// Why one call through `Limited` brought no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    #[error(transparent)]
    Systemd(#[from] SystemdError),
    #[error(
        "systemd did not answer about {unit} within {}",
        humantime::format_duration(*timeout)
    )]
    Timeout { unit: UnitName, timeout: Duration },
}

/// The pause before retry `attempt` (1, 2, ...) of a status call: an eighth of the check
/// interval, doubling, at most a second, so all the retries of one look fit well within it.
pub(crate) fn retry_pause(check_interval: Duration, attempt: u32) -> Duration {
    crate::backoff::doubling(check_interval / 8, attempt, Duration::from_secs(1))
}

/// `Units` with at most `IN_FLIGHT` calls in flight; the others wait their turn.
pub(crate) struct Limited {
    inner: Arc<dyn Units>,
    permits: Semaphore,
}

impl Limited {
    pub(crate) fn new(inner: Arc<dyn Units>, permits: usize) -> Limited {
        Limited {
            inner,
            permits: Semaphore::new(permits),
        }
    }

    /// The unit's status, waiting for a free slot first; the call itself (not the wait) may
    /// take at most `timeout`.
    pub(crate) async fn status_within(
        &self,
        unit: &UnitName,
        timeout: Duration,
    ) -> Result<UnitStatus, CallError> {
        self.within(unit, timeout, self.inner.status(unit)).await
    }

    /// As `status_within`, for the unit's active and sub state only.
    pub(crate) async fn active_state_within(
        &self,
        unit: &UnitName,
        timeout: Duration,
    ) -> Result<(ActiveState, SubState), CallError> {
        self.within(unit, timeout, self.inner.active_state(unit))
            .await
    }

    async fn within<T>(
        &self,
        unit: &UnitName,
        timeout: Duration,
        f: impl Future<Output = Result<T, SystemdError>>,
    ) -> Result<T, CallError> {
        let _permit = self.permits.acquire().await;
        match tokio::time::timeout(timeout, f).await {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(CallError::Timeout {
                unit: unit.clone(),
                timeout,
            }),
        }
    }

    async fn call<T>(&self, f: impl Future<Output = T>) -> T {
        // Never closed, so a permit always comes.
        let _permit = self.permits.acquire().await;
        f.await
    }
}

impl Units for Limited {
    fn subscribe(&self) -> BoxFuture<'_, Result<(), SystemdError>> {
        Box::pin(self.call(self.inner.subscribe()))
    }

    fn status<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<UnitStatus, SystemdError>> {
        Box::pin(self.call(self.inner.status(unit)))
    }

    fn active_state<'a>(
        &'a self,
        unit: &'a UnitName,
    ) -> BoxFuture<'a, Result<(ActiveState, SubState), SystemdError>> {
        Box::pin(self.call(self.inner.active_state(unit)))
    }

    fn watch<'a>(
        &'a self,
        unit: &'a UnitName,
    ) -> BoxFuture<'a, Result<ActiveStates, SystemdError>> {
        Box::pin(self.call(self.inner.watch(unit)))
    }

    fn restart<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>> {
        Box::pin(self.call(self.inner.restart(unit, timeout)))
    }

    fn start<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>> {
        Box::pin(self.call(self.inner.start(unit, timeout)))
    }

    fn stop<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>> {
        Box::pin(self.call(self.inner.stop(unit)))
    }

    fn reset_failed<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>> {
        Box::pin(self.call(self.inner.reset_failed(unit)))
    }

    fn kill_main<'a>(
        &'a self,
        unit: &'a UnitName,
        signal: i32,
    ) -> BoxFuture<'a, Result<(), SystemdError>> {
        Box::pin(self.call(self.inner.kill_main(unit, signal)))
    }

    fn wait_active<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<bool, SystemdError>> {
        Box::pin(self.call(self.inner.wait_active(unit, timeout)))
    }

    /// journalctl, not D-Bus: not limited.
    fn journal<'a>(&'a self, unit: &'a UnitName, lines: u32) -> BoxFuture<'a, Vec<String>> {
        self.inner.journal(unit, lines)
    }
}

/// When to rebuild the connection while nothing can be seen.
pub(crate) struct Rebuild {
    base: Duration,
    state: Mutex<RebuildState>,
}

#[derive(Default)]
struct RebuildState {
    /// Rebuilds since sight was last restored.
    tries: u32,
    next_at: Option<Instant>,
}

/// What a worker that found nothing visible should do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RebuildTurn {
    /// Not yet: another worker is on it or the pause has not passed.
    Wait,
    /// Rebuild now; this is try number n (1, 2, ...).
    Rebuild(u32),
    /// Enough tries failed: the daemon should exit and be restarted.
    GiveUp(u32),
}

impl Rebuild {
    /// Pauses start at the check interval (at most a second) and double, up to 5 minutes.
    pub(crate) fn new(check_interval: Duration) -> Rebuild {
        Rebuild {
            base: check_interval.min(Duration::from_secs(1)),
            state: Mutex::default(),
        }
    }

    /// Claims the next rebuild if its time has come.
    pub(crate) fn turn(&self) -> RebuildTurn {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if st.next_at.is_some_and(|t| now < t) {
            return RebuildTurn::Wait;
        }
        if st.tries >= REBUILDS_BEFORE_EXIT {
            return RebuildTurn::GiveUp(st.tries);
        }
        let pause = crate::backoff::doubling(self.base, st.tries + 1, REBUILD_PAUSE_MAX);
        st.tries += 1;
        st.next_at = Some(now + pause);
        RebuildTurn::Rebuild(st.tries)
    }

    /// Something was seen: the connection works.
    pub(crate) fn sight_restored(&self) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = RebuildState::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::fake::{FakeHost, Faulty};

    #[tokio::test]
    async fn no_more_than_the_limit_of_calls_are_in_flight_at_once() {
        let host = Arc::new(FakeHost::new());
        host.active("x.service");
        let faulty = Faulty::new(&host);
        faulty.status_takes(Duration::from_millis(20));
        let limited = Arc::new(Limited::new(faulty.clone(), IN_FLIGHT));
        let unit = UnitName::parse("x.service").unwrap();
        let calls = (0..100).map(|_| {
            let (limited, unit) = (limited.clone(), unit.clone());
            tokio::spawn(async move { limited.status(&unit).await.is_ok() })
        });
        for call in futures_util::future::join_all(calls).await {
            assert!(call.unwrap(), "every call is answered in turn");
        }
        assert_eq!(faulty.max_in_flight(), IN_FLIGHT);
    }

    #[test]
    fn rebuilds_are_spaced_out_and_end_in_giving_up() {
        let r = Rebuild::new(Duration::from_millis(1));
        assert_eq!(r.turn(), RebuildTurn::Rebuild(1));
        assert_eq!(r.turn(), RebuildTurn::Wait, "not before its pause");
        for n in 2..=REBUILDS_BEFORE_EXIT {
            std::thread::sleep(Duration::from_millis(1 << (n - 1)));
            assert_eq!(r.turn(), RebuildTurn::Rebuild(n));
        }
        std::thread::sleep(Duration::from_millis(1 << REBUILDS_BEFORE_EXIT));
        assert_eq!(r.turn(), RebuildTurn::GiveUp(REBUILDS_BEFORE_EXIT));
        r.sight_restored();
        assert_eq!(
            r.turn(),
            RebuildTurn::Rebuild(1),
            "a fresh start once it sees"
        );
    }

    #[test]
    fn status_retries_fit_within_the_check_interval() {
        let interval = Duration::from_secs(10);
        let total: Duration = (1..STATUS_ATTEMPTS).map(|a| retry_pause(interval, a)).sum();
        assert!(total < interval / 2, "{total:?}");
        assert_eq!(
            retry_pause(Duration::from_millis(80), 1),
            Duration::from_millis(10)
        );
        assert_eq!(
            retry_pause(Duration::from_millis(80), 2),
            Duration::from_millis(20)
        );
    }
}
