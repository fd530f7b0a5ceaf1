//! Proof that every worker is looking, for an honest watchdog. Each worker stamps the time at
//! every look and every healing step; the main loop tells systemd's watchdog (and the heartbeat,
//! through the liveness stamp) that the daemon is alive only while every stamp is younger than
//! `bound`, the longest a working worker can go between two stamps. A worker stuck on a call
//! that never returns thus gets the daemon restarted instead of leaving its service unwatched.

use crate::config::Config;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long a worker waiting on the disk (its report being queued) still counts as making
/// progress: a slow disk delays reports, not the watchdog; one silent for longer is stuck, and
/// so is the worker waiting on it.
pub(crate) const DISK_PATIENCE: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(crate) struct Progress {
    stamps: Mutex<BTreeMap<String, Instant>>,
}

impl Progress {
    /// The worker is making progress now.
    pub(crate) fn stamp(&self, worker: &str) {
        let mut stamps = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
        stamps.insert(worker.to_string(), Instant::now());
    }

    /// The worker ended as asked: no longer expected to stamp.
    pub(crate) fn leave(&self, worker: &str) {
        let mut stamps = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
        stamps.remove(worker);
    }

    /// Awaits `work` for `worker`, stamping it every `every` meanwhile, for at most `patience`
    /// (then only awaits it: a wait that outlasts it shows as a stall).
    pub(crate) async fn waiting<T>(
        &self,
        worker: &str,
        every: Duration,
        patience: Duration,
        work: impl Future<Output = T>,
    ) -> T {
        let mut work = std::pin::pin!(work);
        let until = Instant::now() + patience;
        loop {
            self.stamp(worker);
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return work.await;
            }
            if let Ok(done) = tokio::time::timeout(every.min(left), work.as_mut()).await {
                return done;
            }
        }
    }

    /// The worker silent the longest, if longer than `bound`, and for how long.
    pub(crate) fn stalled(&self, bound: Duration) -> Option<(String, Duration)> {
        let stamps = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
        stamps
            .iter()
            .map(|(w, at)| (w.clone(), at.elapsed()))
            .max_by_key(|(_, age)| *age)
            .filter(|(_, age)| *age > bound)
    }
}

/// The longest a working worker goes without stamping, derived from the limits:
/// - waiting for its next look: `check_interval`;
/// - one look: up to `STATUS_ATTEMPTS` status calls of at most `probe_timeout` each with their
///   retry pauses, the port check, and the HTTP probe (its own timeout), plus a wait for a
///   D-Bus call slot, which a heal holds at most `start_timeout`;
/// - one healing step: SIGTERM and SIGKILL with `kill_grace` each, a start or restart job of at
///   most `start_timeout`, `settle_time`, and the verifying probes;
/// - a panicked worker's restart pause.
///
/// A worker waiting for its report to be written stamps while it waits (`Progress::waiting`,
/// for up to `DISK_PATIENCE`), as one waiting for a turn to heal does.
///
/// With the default limits (10 s, 5 s, 30 s, 3 s, 5 s) that is under two minutes.
pub(crate) fn bound(config: &Config) -> Duration {
    let l = &config.limits;
    let http = config
        .services
        .iter()
        .filter_map(|s| s.health.as_ref().map(|h| h.timeout))
        .max()
        .unwrap_or_default();
    let pauses = l.check_interval.min(Duration::from_secs(1)) * 8;
    l.check_interval
        + l.probe_timeout * (super::bus::STATUS_ATTEMPTS + 1)
        + http * 2
        + l.start_timeout * 2
        + l.kill_grace * 2
        + l.settle_time
        + pauses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_with_the_default_limits_is_under_two_minutes() {
        let config = crate::daemon::fake::config("monitored_services:\n  - name: x\n");
        let b = bound(&config);
        assert!(
            b > Duration::from_secs(60) && b < Duration::from_secs(120),
            "{b:?}"
        );
    }

    #[tokio::test]
    async fn a_worker_silent_longer_than_the_bound_is_named() {
        let p = Progress::default();
        p.stamp("a");
        p.stamp("b");
        assert_eq!(p.stalled(Duration::from_millis(30)), None);
        tokio::time::sleep(Duration::from_millis(40)).await;
        p.stamp("b");
        let (who, age) = p.stalled(Duration::from_millis(30)).expect("a is stalled");
        assert_eq!(who, "a");
        assert!(age >= Duration::from_millis(40));
        p.leave("a");
        assert_eq!(p.stalled(Duration::from_millis(30)), None);
    }

    #[tokio::test]
    async fn a_worker_waiting_is_making_progress_for_as_long_as_its_patience() {
        let p = Progress::default();
        let bound = Duration::from_millis(50);
        let slow = tokio::time::sleep(Duration::from_millis(200));
        let watch = async {
            let mut stalled = None;
            for _ in 0..15 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                stalled = stalled.or(p.stalled(bound));
            }
            stalled
        };
        let ((), stalled) = tokio::join!(
            p.waiting("a", Duration::from_millis(10), Duration::from_secs(1), slow),
            watch
        );
        assert_eq!(stalled, None, "a waits: not stalled");

        let stuck = std::future::pending::<()>();
        let patience = Duration::from_millis(40);
        let waited = tokio::time::timeout(
            Duration::from_millis(200),
            p.waiting("a", Duration::from_millis(10), patience, stuck),
        );
        assert!(waited.await.is_err());
        let (who, age) = p
            .stalled(bound)
            .expect("a wait past its patience is a stall");
        assert_eq!(who, "a");
        assert!(age >= Duration::from_millis(150), "{age:?}");
    }
}
