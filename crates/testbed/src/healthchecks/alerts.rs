//! The server's alert loop, as the contract notes describe it: a check's status follows its
//! pings (success: up; `/fail` or an exit status 1-255: down at once) and the clock (past its
//! timeout: grace; past timeout + grace with no ping: down). Each change to down, and each
//! return from down to up, is a flip: what a real server emails as "DOWN | name" and
//! "UP | name". Only the Management API's checks have a timeout and grace, so only they flip.

use super::Inner;
use std::time::{Duration, Instant};

/// How often the loop looks at the clock (the real server: every 2 s).
pub(super) const SCAN: Duration = Duration::from_millis(500);

/// A status change that a real server notifies about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    /// The check's UUID.
    pub check: String,
    pub at: Instant,
    /// "down" or "up".
    pub status: String,
    /// "ping" (a /fail or a success) or "late" (no ping within timeout + grace).
    pub cause: String,
}

/// A counted ping of `check` of this kind ("success", "fail", "start", "log", an exit status).
pub(super) fn on_ping(inner: &mut Inner, check: &str, kind: &str, now: Instant) {
    let Some(i) = inner.checks.iter().position(|c| c.uuid == check) else {
        return;
    };
    let to = match kind {
        "start" | "log" => return,
        "success" => "up",
        _ => "down",
    };
    inner.last_ping.insert(check.to_string(), now);
    let from = std::mem::replace(&mut inner.checks[i].status, to.to_string());
    if to == "down" && from != "down" || to == "up" && from == "down" {
        inner.flips.push(Flip {
            check: check.to_string(),
            at: now,
            status: to.into(),
            cause: "ping".into(),
        });
    }
}

/// One pass of the loop: up -> grace past the timeout, -> down past timeout + grace.
pub(super) fn scan(inner: &mut Inner, now: Instant) {
    let mut flips = Vec::new();
    for c in &mut inner.checks {
        if c.status != "up" && c.status != "grace" {
            continue;
        }
        let Some(last) = inner.last_ping.get(&c.uuid) else {
            continue;
        };
        let quiet = now.duration_since(*last).as_secs_f64();
        if quiet > (c.timeout + c.grace) as f64 {
            c.status = "down".into();
            flips.push(Flip {
                check: c.uuid.clone(),
                at: now,
                status: "down".into(),
                cause: "late".into(),
            });
        } else if quiet > c.timeout as f64 {
            c.status = "grace".into();
        }
    }
    inner.flips.extend(flips);
}
