//! Certificate expiry: the certificate each service serves for its domain, read once a day
//! (and once more the moment the one last read expires), is reported `warn_days` before it
//! expires (EXPIRING), once it has expired (EXPIRED), and when a certificate that was reported
//! has been replaced by one that is not (RENEWED). A certificate is known by its serial
//! number: each report is sent once per certificate, whatever restarts come between.

pub mod report;

use crate::probe::certificate::Served;
use serde::{Deserialize, Serialize};

pub const DAY_MS: u64 = 24 * 3600 * 1000;

/// What the daemon last read of a service's certificate (kept in the service's state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Seen {
    /// When it was last read (or tried), ms since the epoch.
    pub read_ms: u64,
    /// The certificate read last; empty serial before the first read that worked.
    pub serial: String,
    pub not_after_ms: u64,
    pub issuer: String,
    /// The EXPIRING and EXPIRED reports of this certificate were queued.
    pub warned: bool,
    pub expired: bool,
    /// Why the last read failed (`None`: it worked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What to report about a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Expiring,
    Expired,
    /// A certificate reported as expiring or expired was replaced by one that is not.
    Renewed,
}

impl Notice {
    pub fn word(self) -> &'static str {
        match self {
            Notice::Expiring => "EXPIRING",
            Notice::Expired => "EXPIRED",
            Notice::Renewed => "RENEWED",
        }
    }
}

/// When the next read is due: a day after the last, or the moment the certificate last read
/// expires if that comes first (and its expiry was not reported yet).
pub fn next_read_ms(seen: Option<&Seen>) -> u64 {
    let Some(s) = seen else { return 0 };
    let daily = s.read_ms + DAY_MS;
    if s.serial.is_empty() || s.expired || s.not_after_ms <= s.read_ms {
        daily
    } else {
        daily.min(s.not_after_ms)
    }
}

/// Whether a read is due at `now_ms`: its time has come, or the clock was set back past the
/// last read (which would otherwise wait for the clock to catch up).
pub fn due(seen: Option<&Seen>, now_ms: u64) -> bool {
    next_read_ms(seen) <= now_ms || seen.is_some_and(|s| s.read_ms > now_ms)
}

/// A certificate read at `now_ms`, judged against what was seen before: the new entry and
/// what to report.
pub fn judge(
    before: Option<&Seen>,
    served: &Served,
    warn_days: u32,
    now_ms: u64,
) -> (Seen, Option<Notice>) {
    let same = before.filter(|b| b.serial == served.serial && !b.serial.is_empty());
    let mut seen = Seen {
        read_ms: now_ms,
        serial: served.serial.clone(),
        not_after_ms: served.not_after_ms,
        issuer: served.issuer.clone(),
        warned: same.is_some_and(|b| b.warned),
        expired: same.is_some_and(|b| b.expired),
        error: None,
    };
    let warn_from = served
        .not_after_ms
        .saturating_sub(u64::from(warn_days) * DAY_MS);
    let notice = if now_ms >= served.not_after_ms {
        (!seen.expired).then_some(Notice::Expired)
    } else if now_ms >= warn_from {
        (!seen.warned).then_some(Notice::Expiring)
    } else if same.is_none() && before.is_some_and(|b| b.warned || b.expired) {
        Some(Notice::Renewed)
    } else {
        None
    };
    match notice {
        Some(Notice::Expired) => (seen.warned, seen.expired) = (true, true),
        Some(Notice::Expiring) => seen.warned = true,
        _ => {}
    }
    (seen, notice)
}

/// A read that failed: the last certificate seen is kept, with why.
pub fn failed(before: Option<&Seen>, why: String, now_ms: u64) -> Seen {
    Seen {
        read_ms: now_ms,
        error: Some(why),
        ..before.cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
