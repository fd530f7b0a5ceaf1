//! What a unit uses now, from its own cgroup: `memory.current`, `cpu.stat`'s `usage_usec`,
//! `pids.current` (or, where the cgroup lacks a controller, its processes' own figures), and
//! (only when a rule asks) the file descriptors its processes hold, counted from their fd
//! tables. A look reads these few files of the one unit, never the host's whole process table,
//! so its cost does not grow with the host.

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
    /// A figure was summed from the unit's processes: its cgroup lacks that controller.
    pub summed: bool,
    /// The controller files the unit's cgroup was found without (or, when the reading was told
    /// so, taken to be without), for the next reading to skip.
    pub lacking: Lacking,
}

/// What a unit's cgroup may lack: the controller files of a controller it was not given (a
/// container without the memory or pids controller; `cpu.stat` is in every cgroup v2 group),
/// and cgroups below its own (only `Delegate=` units make them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lacking {
    pub memory: bool,
    pub tasks: bool,
    /// No cgroup below its own: its processes are all in its own cgroup.procs, and cgroup.stat
    /// need not be read to know it. Only said of a reading that found its processes.
    pub descendants: bool,
}

impl Lacking {
    /// Every file there (or not looked for yet).
    pub const NONE: Lacking = Lacking {
        memory: false,
        tasks: false,
        descendants: false,
    };

    /// Worth remembering for the next readings: it says something and came from a reading that
    /// found the unit's processes (a cgroup gone between systemd's answer and the reading lacks
    /// every file).
    pub fn worth_remembering(usage: &Usage) -> bool {
        (usage.summed || usage.lacking.descendants) && usage.lacking != Lacking::NONE
    }
}

/// Which figures to read: only those a rule judges, so a look reads no file it does not need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    pub memory: bool,
    pub cpu: bool,
    pub tasks: bool,
    pub fds: bool,
    /// Files the cgroup lacked at an earlier reading: their figures are summed from the
    /// processes straight away, without a failed open of a long path at every look.
    pub lacking: Lacking,
}

impl Wanted {
    pub fn of(rules: &crate::config::ResourceRules) -> Wanted {
        Wanted {
            memory: rules.memory.is_some(),
            cpu: rules.cpu_percent.is_some(),
            tasks: rules.tasks.is_some(),
            fds: rules.fds.is_some(),
            lacking: Lacking::default(),
        }
    }
}

/// Reads the unit whose cgroup is `control_group` (`/system.slice/web.service`). Blocking.
///
/// A figure whose controller the unit's cgroup does not have (a container not given the memory
/// or pids controller, a host that does not enable it) is summed from the unit's own processes
/// instead, as Monit's `totalmem` and `totalcpu` are: their resident memory, their CPU time and
/// their threads, from each one's /proc/PID/stat. Resident memory leaves out the page cache that
/// `memory.current` counts, and CPU time so summed loses what a process took before it exited.
pub fn read(control_group: &str, wanted: Wanted) -> Usage {
    if control_group.is_empty() {
        return Usage::default();
    }
    let dir = Path::new("/sys/fs/cgroup").join(control_group.trim_start_matches('/'));
    // `None`: not wanted. `Some(None)`: wanted, and the cgroup has no such file (or is known to
    // lack it).
    let text = |want: bool, lacks: bool, file: &str| {
        want.then(|| {
            (!lacks)
                .then(|| super::kernfs::read(dir.join(file)))
                .flatten()
        })
    };
    let number = |t: Option<String>| t.and_then(|t| t.trim().parse().ok());
    let memory = text(wanted.memory, wanted.lacking.memory, "memory.current").map(number);
    let cpu_usec = text(wanted.cpu, false, "cpu.stat").map(|t| t.and_then(|t| usage_usec(&t)));
    let tasks = text(wanted.tasks, wanted.lacking.tasks, "pids.current").map(number);
    let from_processes = [memory, cpu_usec, tasks]
        .iter()
        .any(|figure| matches!(figure, Some(None)));
    let (pids, leaf) = if from_processes || wanted.fds {
        let (pids, leaf) = super::port::cgroup_processes(control_group, wanted.lacking.descendants);
        (Some(pids), leaf)
    } else {
        (None, false)
    };
    let summed = match &pids {
        Some(pids) if from_processes => processes_sum(pids),
        _ => Usage::default(),
    };
    let found = pids.as_ref().is_some_and(|p| !p.is_empty());
    Usage {
        memory: memory.and_then(|m| m.or(summed.memory)),
        cpu_usec: cpu_usec.and_then(|c| c.or(summed.cpu_usec)),
        tasks: tasks.and_then(|t| t.or(summed.tasks)),
        fds: pids.filter(|_| wanted.fds).and_then(|pids| open_fds(&pids)),
        summed: summed != Usage::default(),
        lacking: Lacking {
            memory: memory == Some(None),
            tasks: tasks == Some(None),
            descendants: leaf && found,
        },
    }
}

/// `usage_usec` from a cgroup's cpu.stat.
fn usage_usec(cpu_stat: &str) -> Option<u64> {
    cpu_stat
        .lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse().ok())
}

/// The resident memory, CPU time and threads of `pids` together, from their /proc/PID/stat;
/// each `None` when not one of them could be read (the unit has no process left).
fn processes_sum(pids: &[i32]) -> Usage {
    let page = rustix::param::page_size() as u64;
    let tick_usec = 1_000_000 / rustix::param::clock_ticks_per_second().max(1);
    let mut sum: Option<ProcessStat> = None;
    for stat in pids.iter().filter_map(|pid| {
        let text = super::kernfs::read(format!("/proc/{pid}/stat"))?;
        process_stat(&text)
    }) {
        let s = sum.get_or_insert_with(ProcessStat::default);
        s.cpu_ticks += stat.cpu_ticks;
        s.threads += stat.threads;
        s.rss_pages += stat.rss_pages;
    }
    sum.map_or_else(Usage::default, |s| Usage {
        memory: Some(s.rss_pages * page),
        cpu_usec: Some(s.cpu_ticks * tick_usec),
        tasks: Some(s.threads),
        summed: true,
        ..Usage::default()
    })
}

/// What /proc/PID/stat says of one process's use.
#[derive(Debug, Default, PartialEq, Eq)]
struct ProcessStat {
    /// utime + stime (fields 14 and 15), in clock ticks.
    cpu_ticks: u64,
    /// num_threads (field 20).
    threads: u64,
    /// rss (field 24), in pages.
    rss_pages: u64,
}

/// Parses /proc/PID/stat. The command (field 2) is in parentheses and may hold spaces and
/// parentheses itself: the fields are counted after its last `)`.
fn process_stat(text: &str) -> Option<ProcessStat> {
    let (_, rest) = text.rsplit_once(')')?;
    // rest starts with field 3 (the state): field N is at index N - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(ProcessStat {
        cpu_ticks: field(14)? + field(15)?,
        threads: field(20)?,
        rss_pages: field(24)?,
    })
}

/// The fds of the processes `pids`; `None` when it has none left to count.
fn open_fds(pids: &[i32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    Some(pids.iter().filter_map(|&pid| fd_count(pid)).sum())
}

/// How many files process `pid` has open. Linux 6.2 and later give it as the size of
/// /proc/PID/fd: one `statx` instead of opening the folder, listing it and closing it at every
/// look. An older kernel says 0 there, and the folder is listed.
fn fd_count(pid: i32) -> Option<u64> {
    let dir = format!("/proc/{pid}/fd");
    match std::fs::metadata(&dir).ok()?.len() {
        0 => std::fs::read_dir(&dir).ok().map(|e| e.count() as u64),
        n => Some(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_files_are_counted_whatever_the_kernel() {
        use std::process::{Command, Stdio};
        // stdin, stdout and stderr, and nothing of its own.
        let mut child = Command::new("sleep")
            .arg("60")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // Until its exec the child still holds the pipe that reports a failed exec.
        while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap() != "sleep\n" {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let listed = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count() as u64;
        // Its three, and whatever the test runner let it inherit (a jobserver's pipe).
        assert!(listed >= 3);
        assert_eq!(fd_count(pid), Some(listed));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(fd_count(pid), None);
    }

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
            lacking: Lacking::NONE,
        };
        let u = read(&own, all);
        assert!(u.fds.is_some_and(|n| n >= 3), "{u:?} in {own}");
        // From the controller or, without it, summed from the processes: there either way.
        assert!(u.memory.is_some_and(|b| b > 0), "{u:?}");
        assert!(u.tasks.is_some_and(|n| n >= 1), "{u:?}");
        assert!(u.cpu_usec.is_some(), "{u:?}");
        let has = |file: &str| {
            Path::new("/sys/fs/cgroup")
                .join(own.trim_start_matches('/'))
                .join(file)
                .exists()
        };
        assert_eq!(
            u.summed,
            !(has("memory.current") && has("pids.current")),
            "{u:?}"
        );
        // No cgroup.stat (a cgroup v1 hierarchy mounted there): taken to have some below.
        let stat = std::fs::read_to_string(
            Path::new("/sys/fs/cgroup")
                .join(own.trim_start_matches('/'))
                .join("cgroup.stat"),
        )
        .unwrap_or_default();
        assert_eq!(
            u.lacking,
            Lacking {
                memory: !has("memory.current"),
                tasks: !has("pids.current"),
                descendants: stat.contains("nr_descendants 0\n"),
            }
        );
        // Told the cgroup lacks memory.current and cgroups below: summed from the processes,
        // not opened, and its own processes read as before.
        let told = Lacking {
            memory: true,
            tasks: false,
            descendants: true,
        };
        let summed = read(
            &own,
            Wanted {
                lacking: told,
                ..all
            },
        );
        assert!(summed.summed && summed.lacking.memory, "{summed:?}");
        if has("cgroup.stat") {
            assert!(
                summed.lacking.descendants && summed.fds.is_some_and(|n| n >= 3),
                "{summed:?}"
            );
        }
        assert!(summed.memory.is_some_and(|b| b > 0), "{summed:?}");
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

    #[test]
    fn a_process_stat_is_read_after_its_command_whatever_the_command_holds() {
        // pid (comm) state ppid ... utime=14 stime=15 ... num_threads=20 ... rss=24
        let line = "42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 \
                    1234 100000000 2048 18446744073709551615";
        assert_eq!(
            process_stat(line),
            Some(ProcessStat {
                cpu_ticks: 300,
                threads: 7,
                rss_pages: 2048,
            })
        );
        assert_eq!(process_stat("42 (cut short) S 1 42"), None);
        assert_eq!(process_stat("no command at all"), None);
    }

    #[test]
    fn processes_are_summed_into_memory_cpu_and_threads() {
        // A sleeping child: its figures hold still between two reads once they are there (the
        // kernel's resident count of a process just started may still read 0 for a moment).
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let mut one = processes_sum(&[pid]);
        for _ in 0..100 {
            let again = processes_sum(&[pid]);
            if again == one && one.memory.is_some_and(|b| b > 0) {
                break;
            }
            one = again;
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let two = processes_sum(&[pid, pid]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(one.summed);
        assert!(one.memory.is_some_and(|b| b > 0), "{one:?}");
        assert_eq!(one.tasks, Some(1), "{one:?}");
        assert_eq!(two.memory, one.memory.map(|b| 2 * b));
        assert_eq!(two.tasks, Some(2));
        assert_eq!(two.cpu_usec, one.cpu_usec.map(|u| 2 * u));
        // A PID that is no process: nothing to sum, so nothing read.
        assert_eq!(processes_sum(&[i32::MAX]), Usage::default());
        assert_eq!(processes_sum(&[]), Usage::default());
    }
}
