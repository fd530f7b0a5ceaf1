//! A service's resource rules judged on one reading of its cgroup: which rules it crosses, and
//! the figures as reports say them ("memory 1.3 GiB above its limit of 1 GiB"). Pure: the
//! worker reads the cgroup and counts the looks in a row; this only compares.

use crate::config::{ResourceRules, human_bytes};
use crate::probe::usage::Usage;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Memory,
    Cpu,
    Tasks,
    Fds,
}

/// One rule crossed: the figure read and the rule's limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    pub resource: Resource,
    pub value: f64,
    pub limit: f64,
}

impl Crossing {
    /// "memory 1.3 GiB above its limit of 1 GiB".
    pub fn describe(&self) -> String {
        let name = name(self.resource);
        let (value, limit) = (
            show(self.resource, self.value),
            show(self.resource, self.limit),
        );
        format!("{name} {value} above its limit of {limit}")
    }

    /// What a rule of this resource held for long usually means.
    pub fn hint(&self) -> &'static str {
        match self.resource {
            Resource::Memory => "a leak?",
            Resource::Cpu => "spinning?",
            Resource::Tasks => "a process or thread leak?",
            Resource::Fds => "a file descriptor leak?",
        }
    }
}

fn name(r: Resource) -> &'static str {
    match r {
        Resource::Memory => "memory",
        Resource::Cpu => "CPU",
        Resource::Tasks => "tasks",
        Resource::Fds => "open files",
    }
}

fn show(r: Resource, v: f64) -> String {
    match r {
        Resource::Memory => human_bytes(v as u64),
        Resource::Cpu if v < 10.0 => format!("{v:.1} %"),
        Resource::Cpu => format!("{v:.0} %"),
        Resource::Tasks | Resource::Fds => format!("{v:.0}"),
    }
}

/// CPU use between two readings of `usage_usec`, `elapsed` apart: percent of one core. `None`
/// without a span to judge (the first reading, a counter that went back: a new cgroup).
pub fn cpu_percent(before_usec: u64, now_usec: u64, elapsed: Duration) -> Option<f64> {
    let used = now_usec.checked_sub(before_usec)?;
    let micros = elapsed.as_micros();
    (micros > 0).then(|| used as f64 * 100.0 / micros as f64)
}

/// The rules `usage` (and `cpu`, from `cpu_percent`) crosses, in the order memory, CPU,
/// tasks, open files. A figure not read crosses nothing.
pub fn crossed(rules: &ResourceRules, usage: &Usage, cpu: Option<f64>) -> Vec<Crossing> {
    let pairs = [
        (
            Resource::Memory,
            usage.memory.map(|v| v as f64),
            rules.memory.map(|v| v as f64),
        ),
        (Resource::Cpu, cpu, rules.cpu_percent),
        (
            Resource::Tasks,
            usage.tasks.map(|v| v as f64),
            rules.tasks.map(|v| v as f64),
        ),
        (
            Resource::Fds,
            usage.fds.map(|v| v as f64),
            rules.fds.map(|v| v as f64),
        ),
    ];
    pairs
        .into_iter()
        .filter_map(|(resource, value, limit)| match (value, limit) {
            (Some(value), Some(limit)) if value > limit => Some(Crossing {
                resource,
                value,
                limit,
            }),
            _ => None,
        })
        .collect()
}

/// The rules whose figure the reading lacks, each with where it is read from: a kernel
/// without that cgroup controller for the unit (cgroup v1, a container the controller was not
/// given to) judges nothing there, and that must be said, not passed over in silence.
pub fn unread(rules: &ResourceRules, usage: &Usage) -> Vec<&'static str> {
    let mut out = Vec::new();
    if rules.memory.is_some() && usage.memory.is_none() {
        out.push("memory");
    }
    if rules.cpu_percent.is_some() && usage.cpu_usec.is_none() {
        out.push("CPU");
    }
    if rules.tasks.is_some() && usage.tasks.is_none() {
        out.push("tasks");
    }
    if rules.fds.is_some() && usage.fds.is_none() {
        out.push("open files");
    }
    out
}

/// "memory 12 MiB, CPU 0.4 %": each figure a rule of `rules` reads, as read (or "unknown").
pub fn figures(rules: &ResourceRules, usage: &Usage, cpu: Option<f64>) -> String {
    let mut out = Vec::new();
    let mut add = |r: Resource, ruled: bool, value: Option<f64>| {
        if ruled {
            let v = value.map_or_else(|| "unknown".to_string(), |v| show(r, v));
            out.push(format!("{} {v}", name(r)));
        }
    };
    add(
        Resource::Memory,
        rules.memory.is_some(),
        usage.memory.map(|v| v as f64),
    );
    add(Resource::Cpu, rules.cpu_percent.is_some(), cpu);
    add(
        Resource::Tasks,
        rules.tasks.is_some(),
        usage.tasks.map(|v| v as f64),
    );
    add(
        Resource::Fds,
        rules.fds.is_some(),
        usage.fds.map(|v| v as f64),
    );
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::usage::Lacking;
    use std::num::NonZeroU32;

    fn rules() -> ResourceRules {
        ResourceRules {
            memory: Some(1 << 30),
            cpu_percent: Some(90.0),
            tasks: Some(500),
            fds: None,
            for_looks: NonZeroU32::new(3).unwrap(),
            action: crate::config::resources::RuleAction::Heal,
        }
    }

    #[test]
    fn a_reading_crosses_the_rules_it_is_above_and_says_so_with_both_figures() {
        let usage = Usage {
            memory: Some((13 << 30) / 10),
            cpu_usec: Some(0),
            tasks: Some(12),
            fds: Some(5000),
            summed: false,
            lacking: Lacking::NONE,
        };
        let c = crossed(&rules(), &usage, Some(99.5));
        let said: Vec<String> = c
            .iter()
            .map(|c| format!("{} {}", c.describe(), c.hint()))
            .collect();
        assert_eq!(
            said,
            [
                "memory 1.3 GiB above its limit of 1 GiB a leak?",
                "CPU 100 % above its limit of 90 % spinning?",
            ]
        );
        // fds has no rule; tasks is under its own; a figure not read crosses nothing.
        assert!(crossed(&rules(), &Usage::default(), None).is_empty());
        assert!(
            crossed(
                &rules(),
                &Usage {
                    memory: Some(1 << 30),
                    ..usage
                },
                Some(90.0)
            )
            .is_empty()
        );
    }

    #[test]
    fn cpu_is_the_time_used_over_the_time_passed_and_nothing_without_a_span() {
        let second = Duration::from_secs(1);
        assert_eq!(cpu_percent(1_000_000, 1_500_000, second), Some(50.0));
        assert_eq!(cpu_percent(0, 2_500_000, second), Some(250.0));
        assert_eq!(
            cpu_percent(5, 1, second),
            None,
            "a new cgroup starts again from zero"
        );
        assert_eq!(cpu_percent(0, 1, Duration::ZERO), None);
    }

    #[test]
    fn a_ruled_figure_not_read_is_named() {
        let usage = Usage {
            memory: None,
            cpu_usec: Some(5),
            tasks: None,
            fds: None,
            summed: false,
            lacking: Lacking::NONE,
        };
        assert_eq!(unread(&rules(), &usage), ["memory", "tasks"]);
        assert!(unread(&rules(), &FULL).is_empty());
    }

    const FULL: Usage = Usage {
        memory: Some(1),
        cpu_usec: Some(1),
        tasks: Some(1),
        fds: Some(1),
        summed: false,
        lacking: Lacking::NONE,
    };

    #[test]
    fn figures_name_only_what_a_rule_reads() {
        let usage = Usage {
            memory: Some(12 << 20),
            cpu_usec: Some(1),
            tasks: None,
            fds: Some(9),
            summed: false,
            lacking: Lacking::NONE,
        };
        assert_eq!(
            figures(&rules(), &usage, Some(0.4)),
            "memory 12 MiB, CPU 0.4 %, tasks unknown"
        );
    }
}
