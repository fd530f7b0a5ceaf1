//! One reading of a host check: its figure in percent and the line a report carries, or why
//! there is none (no swap, a kernel without PSI, a file system that counts no inodes).

use super::{Check, Kind};
use crate::config::{Thresholds, human_bytes};
use crate::probe::host;

/// A check's figure and what it means in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub percent: f64,
    /// `9.1 GiB used, 0.9 GiB free`.
    pub detail: String,
}

/// What one look at a check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Look {
    Read(Reading),
    /// The host has nothing to judge (no swap, no PSI, no inode count): why.
    Nothing(String),
    /// The figure could not be read: why.
    Failed(String),
}

/// Reads every check: blocking (statvfs, /proc), so off the runtime thread. /proc/meminfo is
/// read once for memory and swap.
pub fn all(checks: &[Check]) -> Vec<Look> {
    let mut meminfo = None;
    checks
        .iter()
        .map(|c| match &c.kind {
            Kind::Space(path) | Kind::Inodes(path) => disk(&c.kind, path),
            Kind::Memory | Kind::Swap => {
                let m = meminfo.get_or_insert_with(host::memory);
                memory(&c.kind, m)
            }
            Kind::Pressure => pressure(),
        })
        .collect()
}

fn disk(kind: &Kind, path: &std::path::Path) -> Look {
    let d = match host::disk(path) {
        Ok(d) => d,
        Err(e) => return Look::Failed(format!("cannot measure {}: {e}", path.display())),
    };
    match kind {
        Kind::Space(_) => Look::Read(Reading {
            percent: d.space_percent(),
            detail: format!(
                "{} used, {} free",
                human_bytes(d.used),
                human_bytes(d.available)
            ),
        }),
        _ => match (d.inodes, d.inodes_percent()) {
            (Some((used, total)), Some(percent)) => Look::Read(Reading {
                percent,
                detail: format!("{used} of {total} inodes used"),
            }),
            _ => Look::Nothing(format!(
                "the file system of {} counts no inodes",
                path.display()
            )),
        },
    }
}

fn memory(kind: &Kind, m: &std::io::Result<host::MemoryUse>) -> Look {
    let m = match m {
        Ok(m) => m,
        Err(e) => return Look::Failed(e.to_string()),
    };
    if *kind == Kind::Memory {
        return Look::Read(Reading {
            percent: m.percent(),
            detail: format!(
                "{} of {} in use, {} available",
                human_bytes(m.used()),
                human_bytes(m.total),
                human_bytes(m.available)
            ),
        });
    }
    match m.swap_percent() {
        Some(percent) => Look::Read(Reading {
            percent,
            detail: format!(
                "{} of {} swap in use",
                human_bytes(m.swap_used()),
                human_bytes(m.swap_total)
            ),
        }),
        None => Look::Nothing("the host has no swap".into()),
    }
}

fn pressure() -> Look {
    match host::pressure() {
        Ok(Some(percent)) => Look::Read(Reading {
            percent,
            detail: format!("some task waited for memory {percent:.1} % of the last minute"),
        }),
        Ok(None) => Look::Nothing(format!(
            "the kernel keeps no memory pressure figures ({} is missing or PSI is off)",
            host::PRESSURE_FILE
        )),
        Err(e) => Look::Failed(format!("cannot read {}: {e}", host::PRESSURE_FILE)),
    }
}

/// `91.2 % used (9.1 GiB used, 0.9 GiB free; warning at 85 %, critical at 95 %)`.
pub fn said(kind: &Kind, r: &Reading, t: &Thresholds) -> String {
    let what = match kind {
        Kind::Space(_) | Kind::Inodes(_) | Kind::Swap => "used",
        Kind::Memory => "in use",
        Kind::Pressure => "pressure",
    };
    let mut limits = Vec::new();
    if let Some(w) = t.warn {
        limits.push(format!("warning at {} %", number(w)));
    }
    if let Some(c) = t.critical {
        limits.push(format!("critical at {} %", number(c)));
    }
    format!(
        "{:.1} % {what} ({}; {})",
        r.percent,
        r.detail,
        limits.join(", ")
    )
}

/// `85`, `99.5`: a threshold as written.
pub fn number(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}
