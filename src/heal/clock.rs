//! `Clock`: the daemon's seam to wall-clock time. Incident ids, detection and healing times,
//! the circuit breaker's window, pauses and report queue times are all read from the clock in
//! the context, so a test can set the time and step over a 15-minute window in a microsecond.
//! Waiting (sleeps, timeouts) stays with tokio's own timer.

/// Milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        super::incident::now_ms()
    }
}
