//! The `host_checks` section: what the daemon watches on the host itself, beside its services.
//! Free space and inodes per file system, memory and swap in use, and memory pressure (the
//! kernel's PSI, where it has it), each with a warning and a critical threshold in percent:
//!
//! ```yaml
//! host_checks:
//!   disks:
//!     - path: /
//!     - {path: /var/lib/postgresql, space: {warn: 80%, critical: 90%}}
//!   memory: {warn: 90%, critical: 97%}
//!   swap: {warn: 50%, critical: 90%}
//!   pressure: {warn: 20%, critical: 50%}
//! ```
//!
//! Crossing a threshold is reported, never acted on. Off when the section is absent: a host
//! pays for what its inventory asks.

use super::quote::quote;
use super::raw::Unknown;
use super::scalar::Span;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub const HOST_CHECK_KEYS: &[&str] = &["interval", "step", "disks", "memory", "swap", "pressure"];
pub const DISK_KEYS: &[&str] = &["path", "space", "inodes"];
pub const THRESHOLD_KEYS: &[&str] = &["warn", "critical"];

/// How often the host is read when `interval` is not given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// How many more points a check past a threshold must worsen to be reported again.
pub const DEFAULT_STEP: f64 = 5.0;
/// A disk's space and inodes when its entry names no thresholds (df's view of a full disk).
pub const DISK_DEFAULT: Thresholds = Thresholds {
    warn: Some(85.0),
    critical: Some(95.0),
};

#[derive(Debug, Default, Deserialize)]
pub struct RawHostChecks {
    pub interval: Option<Span>,
    pub step: Option<Share>,
    pub disks: Option<Vec<RawDisk>>,
    pub memory: Option<RawThresholds>,
    pub swap: Option<RawThresholds>,
    pub pressure: Option<RawThresholds>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawDisk {
    pub path: Option<String>,
    pub space: Option<RawThresholds>,
    pub inodes: Option<RawThresholds>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawThresholds {
    pub warn: Option<Share>,
    pub critical: Option<Share>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// A share of a whole in percent, `85%` or `85`, from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share(pub f64);

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Share, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Share;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage from 0 to 100, like 85%")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Share, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Share, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Share, E> {
                share(v).ok_or_else(|| E::custom(NotAShare(v.to_string())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Share, E> {
                let t = v.trim();
                t.strip_suffix('%')
                    .unwrap_or(t)
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(share)
                    .ok_or_else(|| E::custom(NotAShare(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

fn share(v: f64) -> Option<Share> {
    (0.0..=100.0).contains(&v).then_some(Share(v))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is not a percentage from 0 to 100; write it like 85%", quote(.0))]
pub struct NotAShare(String);

/// A check's two thresholds, in percent; at least one is set, and warn is below critical.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub warn: Option<f64>,
    pub critical: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Disk {
    /// An absolute path; its file system is the one measured (as `df PATH` shows it).
    pub path: PathBuf,
    pub space: Thresholds,
    pub inodes: Thresholds,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostChecks {
    pub interval: Duration,
    /// Points a check must worsen past its last report to be reported again.
    pub step: f64,
    pub disks: Vec<Disk>,
    /// Memory in use: what `MemAvailable` leaves of `MemTotal` (`free`'s "available").
    pub memory: Option<Thresholds>,
    /// Swap in use, of the swap there is (none judged on a host without swap).
    pub swap: Option<Thresholds>,
    /// PSI's `some avg60` for memory: the share of the last minute some task waited for memory.
    pub pressure: Option<Thresholds>,
}

/// Why a part of `host_checks` was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum HostCheckError {
    #[error("needs at least one of warn or critical, like {{warn: 85%, critical: 95%}}")]
    NoThreshold,
    #[error("warn {warn}% is not below critical {critical}%; a warning comes before the alarm")]
    Order { warn: f64, critical: f64 },
    #[error("missing required key 'path'; give the file system's mount point, like /var")]
    NoPath,
    #[error("{} is not an absolute path; give the mount point, like /var", quote(.0))]
    NotAbsolute(String),
    #[error("{} is listed twice; each path once", quote(.0))]
    Twice(String),
    #[error("interval {} is too short; read the host at most once a second", humantime::format_duration(*.0))]
    Interval(Duration),
    #[error("step {0}% must be above 0")]
    Step(f64),
}

impl Thresholds {
    fn check(raw: &RawThresholds) -> Result<Thresholds, HostCheckError> {
        let (warn, critical) = (raw.warn.map(|s| s.0), raw.critical.map(|s| s.0));
        match (warn, critical) {
            (None, None) => Err(HostCheckError::NoThreshold),
            (Some(warn), Some(critical)) if warn >= critical => {
                Err(HostCheckError::Order { warn, critical })
            }
            _ => Ok(Thresholds { warn, critical }),
        }
    }
}

/// The path a disk entry names, checked.
fn disk_path(raw: Option<&str>) -> Result<PathBuf, HostCheckError> {
    match raw {
        None | Some("") => Err(HostCheckError::NoPath),
        Some(p) if !p.starts_with('/') => Err(HostCheckError::NotAbsolute(p.to_string())),
        Some(p) => Ok(PathBuf::from(p)),
    }
}

fn interval(raw: Option<Span>) -> Result<Duration, HostCheckError> {
    match raw.map(|s| s.0) {
        None => Ok(DEFAULT_INTERVAL),
        Some(d) if d < Duration::from_secs(1) => Err(HostCheckError::Interval(d)),
        Some(d) => Ok(d),
    }
}

fn step(raw: Option<Share>) -> Result<f64, HostCheckError> {
    match raw.map(|s| s.0) {
        None => Ok(DEFAULT_STEP),
        Some(s) if s <= 0.0 => Err(HostCheckError::Step(s)),
        Some(s) => Ok(s),
    }
}

/// The section validated, every problem added to `p` (its section is `host_checks`).
pub(crate) fn validate(
    raw: RawHostChecks,
    p: &mut super::validate::Problems,
) -> Option<HostChecks> {
    const OBJECT: &str = "host_checks";
    let before = p.len();
    p.unknown_keys(OBJECT, &raw.unknown, HOST_CHECK_KEYS);
    let interval = interval(raw.interval).map_err(|e| p.add_key(OBJECT, "interval", e.to_string()));
    let step = step(raw.step).map_err(|e| p.add_key(OBJECT, "step", e.to_string()));
    let mut thresholds = |key: &str, raw: Option<RawThresholds>| {
        let raw = raw?;
        p.unknown_keys(&format!("{OBJECT}.{key}"), &raw.unknown, THRESHOLD_KEYS);
        Thresholds::check(&raw)
            .map_err(|e| p.add_key(OBJECT, key, e.to_string()))
            .ok()
    };
    let memory = thresholds("memory", raw.memory);
    let swap = thresholds("swap", raw.swap);
    let pressure = thresholds("pressure", raw.pressure);
    let disks = disks(raw.disks.unwrap_or_default(), p);
    if p.len() > before {
        return None;
    }
    Some(HostChecks {
        interval: interval.ok()?,
        step: step.ok()?,
        disks,
        memory,
        swap,
        pressure,
    })
}

fn disks(raw: Vec<RawDisk>, p: &mut super::validate::Problems) -> Vec<Disk> {
    let mut out: Vec<Disk> = Vec::with_capacity(raw.len());
    for (i, d) in raw.into_iter().enumerate() {
        let object = match &d.path {
            Some(path) => format!("host_checks disk {}", quote(path)),
            None => format!("host_checks.disks[{i}]"),
        };
        p.unknown_keys(&object, &d.unknown, DISK_KEYS);
        let path = match disk_path(d.path.as_deref()) {
            Ok(path) if out.iter().any(|o| o.path == path) => {
                p.add_key(
                    &object,
                    "disks",
                    HostCheckError::Twice(path.display().to_string()).to_string(),
                );
                continue;
            }
            Ok(path) => path,
            Err(e) => {
                p.add_key(&object, "disks", e.to_string());
                continue;
            }
        };
        let mut thresholds = |key: &str, raw: Option<RawThresholds>| match raw {
            None => Some(DISK_DEFAULT),
            Some(raw) => {
                p.unknown_keys(&format!("{object} {key}"), &raw.unknown, THRESHOLD_KEYS);
                Thresholds::check(&raw)
                    .map_err(|e| p.add_key(&format!("{object} {key}"), "disks", e.to_string()))
                    .ok()
            }
        };
        let (Some(space), Some(inodes)) =
            (thresholds("space", d.space), thresholds("inodes", d.inodes))
        else {
            continue;
        };
        out.push(Disk {
            path,
            space,
            inodes,
        });
    }
    out
}

#[cfg(test)]
mod tests;
