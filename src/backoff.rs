//! Waits that double after each failure, up to a ceiling: the one rule every retry of the host
//! core follows (status calls and connection rebuilds, report deliveries and channel set-ups,
//! Healthchecks API calls and pings). A function of the attempt's number rather than a retry
//! crate's driver (backon, backoff): those own the loop, and ours keep their count in a file
//! (the outbox, across restarts), against a run's deadline, or across a `select!`.

use std::time::Duration;

/// The wait before retry `n` (1 = the first retry): `first`, doubled `n - 1` times, at most
/// `max`. Never overflows, whatever `n`.
pub(crate) fn doubling(first: Duration, n: u32, max: Duration) -> Duration {
    first
        .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_retry_waits_twice_as_long_up_to_the_ceiling() {
        let s = Duration::from_secs;
        let waits: Vec<_> = (1..=6).map(|n| doubling(s(5), n, s(60))).collect();
        assert_eq!(waits, [s(5), s(10), s(20), s(40), s(60), s(60)]);
        assert_eq!(doubling(s(5), 0, s(60)), s(5), "retry 0 waits as the first");
        assert_eq!(doubling(s(5), u32::MAX, s(60)), s(60), "no overflow");
    }
}
