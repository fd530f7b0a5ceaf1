//! What a unit uses now, from its own cgroup: `memory.current`, `cpu.stat`'s `usage_usec`,
//! `pids.current`, and (only when a rule asks) the file descriptors its processes hold, counted
//! from their fd tables. A look reads these few files of the one unit, never the host's whole
//! process table, so its cost does not grow with the host.

use std::path::Path;

/// One reading; a figure the kernel did not give (no such controller, the unit just stopped)
/// is `None` and judged by no rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes charged to the cgroup, page cache included (what `MemoryMax=` limits).
    pub memory: Option<u64>,
    /// CPU time of every process of the cgroup since it was created, in microseconds.
    pub cpu_usec: Option<u64>,
    /// Processes and threads.
    pub tasks: Option<u64>,
    /// File descriptors open in its processes, together.
    pub fds: Option<u64>,
}

/// Which figures to read: only those a rule judges, so a look reads no file it does not need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    pub memory: bool,
    pub cpu: bool,
    pub tasks: bool,
    pub fds: bool,
}

impl Wanted {
    pub fn of(rules: &crate::config::ResourceRules) -> Wanted {
        Wanted {
            memory: rules.memory.is_some(),
            cpu: rules.cpu_percent.is_some(),
            tasks: rules.tasks.is_some(),
            fds: rules.fds.is_some(),
        }
    }
}

/// Reads the unit whose cgroup is `control_group` (`/system.slice/web.service`). Blocking.
pub fn read(control_group: &str, wanted: Wanted) -> Usage {
    if control_group.is_empty() {
        return Usage::default();
    }
    let dir = Path::new("/sys/fs/cgroup").join(control_group.trim_start_matches('/'));
    let text = |want: bool, file: &str| {
        want.then(|| std::fs::read_to_string(dir.join(file)).ok())
            .flatten()
    };
    let number = |want: bool, file: &str| text(want, file).and_then(|t| t.trim().parse().ok());
    Usage {
        memory: number(wanted.memory, "memory.current"),
        cpu_usec: text(wanted.cpu, "cpu.stat").and_then(|t| usage_usec(&t)),
        tasks: number(wanted.tasks, "pids.current"),
        fds: wanted.fds.then(|| open_fds(control_group)).flatten(),
    }
}

/// `usage_usec` from a cgroup's cpu.stat.
fn usage_usec(cpu_stat: &str) -> Option<u64> {
    cpu_stat
        .lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse().ok())
}

/// The fds of every process of the cgroup; `None` when it has none left to count.
fn open_fds(control_group: &str) -> Option<u64> {
    let pids = super::port::cgroup_pids(control_group);
    if pids.is_empty() {
        return None;
    }
    let count = pids
        .iter()
        .filter_map(|pid| std::fs::read_dir(format!("/proc/{pid}/fd")).ok())
        .map(|entries| entries.count() as u64)
        .sum();
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_from_usage_usec() {
        let stat = "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n";
        assert_eq!(usage_usec(stat), Some(1_234_567));
        assert_eq!(usage_usec("user_usec 5\n"), None);
    }

    #[test]
    fn this_process_own_cgroup_reads_as_figures() {
        // The test runs in some cgroup (v2 on every host the project supports): its own.
        let Some(own) = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("0::").map(str::to_string))
            })
        else {
            return; // not cgroup v2: nothing to read here
        };
        let all = Wanted {
            memory: true,
            cpu: true,
            tasks: true,
            fds: true,
        };
        let u = read(&own, all);
        assert!(u.fds.is_some_and(|n| n >= 3), "{u:?} in {own}");
        if Path::new("/sys/fs/cgroup")
            .join(own.trim_start_matches('/'))
            .join("memory.current")
            .exists()
        {
            assert!(u.memory.is_some_and(|b| b > 0), "{u:?}");
        }
        assert_eq!(read("", all), Usage::default());
        let memory_only = read(
            &own,
            Wanted {
                memory: true,
                ..Wanted::default()
            },
        );
        assert_eq!((memory_only.cpu_usec, memory_only.fds), (None, None));
    }
}
