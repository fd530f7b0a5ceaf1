//! A service's resource rules, `limits:` in its entry: memory, CPU, tasks and open files, read
//! from the unit's own cgroup at each look, and how many looks in a row (`for`) a rule must
//! hold before it counts. What Monit writes as `if totalmem > 1 GB for 3 cycles then restart`:
//!
//! ```yaml
//! limits: {memory: 1GiB, cpu: 90%, tasks: 500, fds: 2000, for: 3}
//! ```
//!
//! Sizes take `KiB`/`MiB`/`GiB`/`TiB` (and `K`/`M`/`G`/`T`, as systemd's `MemoryMax=` reads
//! them) in powers of 1024, `kB`/`MB`/`GB`/`TB` in powers of 1000, or a number of bytes. CPU is
//! a percentage of one core, as `top` shows it: `250%` is two and a half cores.

use super::quote::quote;
use super::raw::Unknown;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::num::NonZeroU32;

pub const RESOURCE_KEYS: &[&str] = &["memory", "cpu", "tasks", "fds", "for", "action"];

/// Looks in a row a rule must hold when `for` is not given.
pub const DEFAULT_FOR_LOOKS: u32 = 3;
/// The most looks `for` may ask: a rule held longer than that is no longer a warning.
pub const MAX_FOR_LOOKS: i64 = 1000;

#[derive(Debug, Default, Deserialize)]
pub struct RawResourceRules {
    pub memory: Option<Size>,
    pub cpu: Option<Percent>,
    pub tasks: Option<i64>,
    pub fds: Option<i64>,
    #[serde(rename = "for")]
    pub for_looks: Option<i64>,
    pub action: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// A service's resource rules, each optional but at least one given.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRules {
    /// Bytes of the unit's cgroup `memory.current` (what systemd's `MemoryMax=` counts).
    pub memory: Option<u64>,
    /// CPU time between two looks, in percent of one core.
    pub cpu_percent: Option<f64>,
    /// The cgroup's `pids.current`: processes and threads.
    pub tasks: Option<u64>,
    /// File descriptors open in the unit's processes, together.
    pub fds: Option<u64>,
    /// Looks in a row over a rule before it counts: then an incident opens and the service's
    /// healing strategies run. Default 3.
    pub for_looks: NonZeroU32,
    /// What a rule crossed for its looks does: heal (the default) or only report.
    pub action: RuleAction,
}

/// `action:` of a service's resource rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleAction {
    /// Open an incident and run the service's healing strategies (`action: restart`).
    #[default]
    Heal,
    /// Report once when a rule has held for its looks, once when back under every rule; never
    /// act (`action: alert`).
    Alert,
}

/// Why `limits` was refused, one reason at a time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum RulesError {
    #[error("limits name no rule; give at least one of memory, cpu, tasks or fds")]
    Empty,
    #[error("limits.{key} {value} must be at least 1")]
    NotPositive { key: &'static str, value: i64 },
    #[error("limits.for {0} is out of range; give how many looks in a row, 1 to {MAX_FOR_LOOKS}")]
    ForRange(i64),
    #[error(
        "limits need a .service unit (its cgroup holds the processes they measure), not {}",
        quote(.0)
    )]
    NotAService(String),
    #[error(
        "limits.action {} is not one; write restart (heal, the default) or alert (only report)",
        quote(.0)
    )]
    Action(String),
}

/// The rules validated against the service's unit.
pub(crate) fn check(raw: RawResourceRules, unit: &str) -> Result<ResourceRules, RulesError> {
    let positive = |key: &'static str, v: Option<i64>| match v {
        Some(value) if value < 1 => Err(RulesError::NotPositive { key, value }),
        v => Ok(v.map(|v| v as u64)),
    };
    let tasks = positive("tasks", raw.tasks)?;
    let fds = positive("fds", raw.fds)?;
    let memory = raw.memory.map(|Size(b)| b);
    let cpu_percent = raw.cpu.map(|Percent(p)| p);
    if memory.is_none() && cpu_percent.is_none() && tasks.is_none() && fds.is_none() {
        return Err(RulesError::Empty);
    }
    let for_looks = match raw.for_looks {
        None => NonZeroU32::new(DEFAULT_FOR_LOOKS).expect("not zero"),
        Some(n) if (1..=MAX_FOR_LOOKS).contains(&n) => {
            NonZeroU32::new(n as u32).expect("checked above")
        }
        Some(n) => return Err(RulesError::ForRange(n)),
    };
    if !unit.ends_with(".service") {
        return Err(RulesError::NotAService(unit.to_string()));
    }
    let action = match raw.action.as_deref() {
        None | Some("restart") => RuleAction::Heal,
        Some("alert") => RuleAction::Alert,
        Some(other) => return Err(RulesError::Action(other.to_string())),
    };
    Ok(ResourceRules {
        memory,
        cpu_percent,
        tasks,
        fds,
        for_looks,
        action,
    })
}

/// A size in bytes, written `1GiB`, `512M`, `500 MB` or as a number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

/// A percentage of one CPU core, written `90%`, `90` or `250%`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percent(pub f64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as 512MiB or 1GiB")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                positive_size(v, &v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage of one CPU core such as 90%")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percent, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percent, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percent, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Percent, E> {
                parse_percent(v).map(Percent).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// The most a CPU rule may say: 1024 cores.
const MAX_PERCENT: f64 = 102_400.0;

/// A size or a percentage that could not be read, as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScalarError {
    #[error(
        "{} is not a size; write it like 512MiB or 1GiB (K, M, G, KiB, MiB, GiB: powers of 1024; kB, MB, GB: powers of 1000)",
        quote(.0)
    )]
    NotASize(String),
    #[error("{} is not a size above zero", quote(.0))]
    ZeroSize(String),
    #[error(
        "{} is not a CPU percentage; write it like 90% (of one core; 250% is two and a half cores)",
        quote(.0)
    )]
    NotAPercent(String),
}

fn positive_size(bytes: u64, written: &str) -> Result<Size, ScalarError> {
    if bytes == 0 {
        Err(ScalarError::ZeroSize(written.to_string()))
    } else {
        Ok(Size(bytes))
    }
}

/// `512MiB`, `1.5G`, `500 MB`, `1048576`: bytes.
pub fn parse_size(v: &str) -> Result<u64, ScalarError> {
    let t = v.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let not_a_size = || ScalarError::NotASize(v.to_string());
    let number: f64 = number.parse().map_err(|_| not_a_size())?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KiB" => 1024.0,
        "M" | "MiB" => 1024.0 * 1024.0,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return Err(not_a_size()),
    };
    let bytes = (number * scale).round();
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(not_a_size());
    }
    positive_size(bytes as u64, v).map(|Size(b)| b)
}

/// `90%`, `90`, `250%`: percent of one core.
pub fn parse_percent(v: &str) -> Result<f64, ScalarError> {
    let t = v.trim();
    let number = t.strip_suffix('%').unwrap_or(t).trim();
    match number.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= MAX_PERCENT => Ok(p),
        _ => Err(ScalarError::NotAPercent(v.to_string())),
    }
}

/// `1.3 GiB`, `512 MiB`, `980 KiB`, `12 B`: a size as reports show it.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = if value >= 100.0 || value.fract() < 0.05 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    };
    format!("{text} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<crate::Config, crate::ConfigError> {
        crate::parse(
            &format!("monitored_services:\n  - name: web\n    limits: {text}\n"),
            Path::new("config.yaml"),
        )
    }

    fn rules(text: &str) -> ResourceRules {
        parse(text).unwrap().services[0]
            .limits
            .clone()
            .expect("limits")
    }

    /// The whole message a refused `limits` gets.
    fn refusal(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn sizes_read_in_the_units_people_write() {
        for (text, bytes) in [
            ("1GiB", 1 << 30),
            ("1G", 1 << 30),
            ("512MiB", 512 << 20),
            ("1.5G", 3 << 29),
            ("500 MB", 500_000_000),
            ("2kB", 2000),
            ("64K", 64 << 10),
            ("1048576", 1 << 20),
            ("12B", 12),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in ["", "GiB", "1 GiBs", "-1G", "0", "1e3G", "1,5G", "1 gb"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn action_is_restart_by_default_or_alert() {
        assert_eq!(rules("{memory: 1GiB}").action, RuleAction::Heal);
        assert_eq!(
            rules("{memory: 1GiB, action: restart}").action,
            RuleAction::Heal
        );
        assert_eq!(
            rules("{memory: 1GiB, action: alert}").action,
            RuleAction::Alert
        );
        let e = refusal("{memory: 1GiB, action: reboot}");
        assert!(
            e.contains("service 'web'")
                && e.contains("limits.action 'reboot' is not one; write restart"),
            "{e}"
        );
    }

    #[test]
    fn cpu_is_a_percentage_of_one_core() {
        for (text, p) in [("90%", 90.0), ("90", 90.0), ("250 %", 250.0), ("0.5%", 0.5)] {
            assert_eq!(parse_percent(text), Ok(p), "{text}");
        }
        for bad in ["0%", "-5%", "ninety", "%", "200000%"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_service_takes_its_rules_with_for_three_looks_by_default() {
        let r = rules("{memory: 1GiB, cpu: 90%, tasks: 500, fds: 2000}");
        assert_eq!(
            r,
            ResourceRules {
                memory: Some(1 << 30),
                cpu_percent: Some(90.0),
                tasks: Some(500),
                fds: Some(2000),
                for_looks: NonZeroU32::new(3).unwrap(),
                action: RuleAction::Heal,
            }
        );
        let r = rules("{memory: 300M, for: 5}");
        assert_eq!((r.memory, r.for_looks.get()), (Some(300 << 20), 5));
    }

    #[test]
    fn nonsense_is_refused_naming_the_service_the_key_and_the_fix() {
        for (text, says) in [
            (
                "{}",
                "limits name no rule; give at least one of memory, cpu, tasks or fds",
            ),
            ("{tasks: 0}", "limits.tasks 0 must be at least 1"),
            ("{fds: -3}", "limits.fds -3 must be at least 1"),
            ("{memory: 1G, for: 0}", "limits.for 0 is out of range"),
            (
                "{memroy: 1G}",
                "unknown key 'memroy' (did you mean 'memory'?)",
            ),
        ] {
            let e = refusal(text);
            assert!(
                e.contains("service 'web'") && e.contains(says),
                "{text}: {e}"
            );
        }
        // A value that is no size at all: the file and its line, as for any type error.
        let e = refusal("{memory: lots}");
        assert!(
            e.contains("config.yaml") && e.contains("line 3") && e.contains("'lots' is not a size"),
            "{e}"
        );
        let e = crate::parse(
            "monitored_services:\n  - {name: web, unit: web.socket, limits: {memory: 1G}}\n",
            Path::new("config.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("limits need a .service unit"), "{e}");
    }

    #[test]
    fn reports_show_sizes_in_binary_units() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_bytes((13 << 30) / 10), "1.3 GiB");
        assert_eq!(human_bytes(512 << 20), "512 MiB");
        assert_eq!(human_bytes(31_457_280 + 524_288), "30.5 MiB");
    }
}
