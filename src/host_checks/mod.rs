//! Host checks: the host's disks, memory, swap and memory pressure against the thresholds of
//! `host_checks`. What is judged here is only when to speak, never an action: a check is
//! reported when it crosses a threshold (WARNING, CRITICAL), again when it worsens `step`
//! points past its last report, and once when it is back under its thresholds (RECOVERED).
//! It leaves a level only once it is `HYSTERESIS` points under that level's threshold, so a
//! figure wavering on a threshold is not reported at every look.
//!
//! A check past a threshold is kept in the state (`State::host_checks`, by name): a restart
//! does not report it again, the heartbeat fails the server check while one is CRITICAL, and
//! status shows it. A check within its thresholds has no entry: nothing is written at rest.

pub mod read;
pub mod report;

use crate::config::{HostChecks, Thresholds};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Points under a threshold a figure must fall to leave the level that threshold starts.
pub const HYSTERESIS: f64 = 2.0;

/// What a check measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Space(PathBuf),
    Inodes(PathBuf),
    Memory,
    Swap,
    Pressure,
}

/// One check: what it measures and its thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub kind: Kind,
    pub thresholds: Thresholds,
}

impl Check {
    /// Its name in reports, status and the state: `disk space on /var`, `memory`.
    pub fn name(&self) -> String {
        match &self.kind {
            Kind::Space(p) => format!("disk space on {}", p.display()),
            Kind::Inodes(p) => format!("inodes on {}", p.display()),
            Kind::Memory => "memory".into(),
            Kind::Swap => "swap".into(),
            Kind::Pressure => "memory pressure".into(),
        }
    }
}

/// Every check the section asks for, disks first (space, then inodes), in the order written.
pub fn checks(cfg: &HostChecks) -> Vec<Check> {
    let mut out = Vec::new();
    for d in &cfg.disks {
        out.push(Check {
            kind: Kind::Space(d.path.clone()),
            thresholds: d.space,
        });
        out.push(Check {
            kind: Kind::Inodes(d.path.clone()),
            thresholds: d.inodes,
        });
    }
    for (kind, t) in [
        (Kind::Memory, cfg.memory),
        (Kind::Swap, cfg.swap),
        (Kind::Pressure, cfg.pressure),
    ] {
        if let Some(thresholds) = t {
            out.push(Check { kind, thresholds });
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Critical,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
        }
    }
}

/// A check past a threshold, as the state keeps it. Figures in tenths of a percent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Held {
    pub level: Level,
    /// When it first crossed a threshold (ms since the epoch).
    pub since_ms: u64,
    /// Its figure when it was last reported, and the worst seen since `since_ms`.
    pub reported: u32,
    pub worst: u32,
    /// The last report's line: `91.2 % used (9.1 GiB used, 0.9 GiB free; warning at 85 %)`.
    pub said: String,
}

/// What a reading changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It crossed into this level (from a lower one).
    Crossed(Level),
    /// Same level, `step` points or more past its last report.
    Worse,
    /// Back under every threshold.
    Recovered,
}

/// A reading judged: the state's new entry (`None`: within its thresholds) and what to report.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub next: Option<Held>,
    pub report: Option<Change>,
}

/// A figure in tenths of a percent, as the state keeps it.
pub fn tenths(percent: f64) -> u32 {
    (percent * 10.0).round().clamp(0.0, 1000.0) as u32
}

/// The level `percent` is at, given the level held so far (a level is left only
/// `HYSTERESIS` points under its threshold).
pub fn level(percent: f64, t: &Thresholds, held: Level) -> Level {
    let past = |threshold: Option<f64>, level: Level| {
        let margin = if held >= level { HYSTERESIS } else { 0.0 };
        threshold.is_some_and(|x| percent >= x - margin)
    };
    if past(t.critical, Level::Critical) {
        Level::Critical
    } else if past(t.warn, Level::Warning) {
        Level::Warning
    } else {
        Level::Ok
    }
}

/// Judges a reading of `percent` against the check's thresholds and what was held. `said` is
/// the line a report would carry; `now_ms` the reading's time.
pub fn judge(
    held: Option<&Held>,
    percent: f64,
    t: &Thresholds,
    step: f64,
    said: impl FnOnce() -> String,
    now_ms: u64,
) -> Verdict {
    let was = held.map_or(Level::Ok, |h| h.level);
    let now = level(percent, t, was);
    let figure = tenths(percent);
    let Some(h) = held else {
        if now == Level::Ok {
            return Verdict {
                next: None,
                report: None,
            };
        }
        return Verdict {
            next: Some(Held {
                level: now,
                since_ms: now_ms,
                reported: figure,
                worst: figure,
                said: said(),
            }),
            report: Some(Change::Crossed(now)),
        };
    };
    if now == Level::Ok {
        return Verdict {
            next: None,
            report: Some(Change::Recovered),
        };
    }
    let mut next = h.clone();
    next.level = now;
    next.worst = next.worst.max(figure);
    let report = if now > was {
        Some(Change::Crossed(now))
    } else if now == was && f64::from(figure) >= f64::from(h.reported) + step * 10.0 {
        Some(Change::Worse)
    } else {
        None
    };
    if report.is_some() {
        next.reported = figure;
    }
    if report.is_some() || now != was {
        next.said = said();
    }
    Verdict {
        next: Some(next),
        report,
    }
}

#[cfg(test)]
mod tests;
