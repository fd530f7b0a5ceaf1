//! What the footprint benchmark does on a test host: the cheap services (`fp@.service`, one
//! `mm-listen` each), reading a process's memory and CPU from /proc, systemd's timestamps.

use mm_testbed::Host;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BASE_PORT: u16 = 20000;
pub const LISTEN: &str = "/usr/local/bin/mm-listen";

pub fn unit(i: usize) -> String {
    format!("fp@{i}.service")
}

pub fn port(i: usize) -> u16 {
    BASE_PORT + i as u16
}

/// Builds `mm-listen` (std only) with the toolchain's rustc next to this build: a second
/// `cargo build` would wait for the lock the running `cargo bench` holds.
pub fn build_listener() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let out = exe.parent().unwrap().join("footprint-mm-listen");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/testbed/src/bin/mm-listen.rs");
    let rustc = Path::new(env!("CARGO")).with_file_name("rustc");
    let rustc = if rustc.is_file() {
        rustc
    } else {
        "rustc".into()
    };
    let status = std::process::Command::new(rustc)
        .args(["--edition", "2024", "-O", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("rustc runs");
    assert!(status.success(), "cannot build {}", src.display());
    out
}

/// The template unit and its binary; no `Restart=` (healing is the healers' job) and no start
/// limit (the rounds restart units far more often than systemd's default allows).
pub fn install_services(host: &Host, listener: &Path) {
    host.copy(listener, LISTEN).unwrap();
    host.write(
        "/etc/systemd/system/fp@.service",
        &format!(
            "[Unit]\nDescription=footprint bench service %i (port {BASE_PORT}+%i)\nStartLimitIntervalSec=0\n\n\
             [Service]\nType=notify\nNotifyAccess=main\nExecStart={LISTEN} {BASE_PORT} %i /run/fp-%i.pid\n"
        ),
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
}

/// Starts services 1..=n (those already running stay as they are).
pub fn start_services(host: &Host, n: usize) {
    let units: Vec<String> = (1..=n).map(unit).collect();
    for chunk in units.chunks(100) {
        let mut argv = vec!["systemctl", "start"];
        argv.extend(chunk.iter().map(String::as_str));
        host.ssh_ok(&argv).unwrap();
    }
}

/// A process's counters: CPU ticks (user + system, its own and its reaped children's), the
/// host's uptime, memory in KiB, its threads (and how many of them are MiracleMax's blocking
/// pool, started on demand), and the bytes it has written to files so far (`write_bytes` of
/// /proc/PID/io: pages it dirtied, not sockets).
pub struct ProcSample {
    pub ticks: u64,
    /// CPU time of the healer's whole unit in microseconds (`usage_usec` of its cgroup's
    /// cpu.stat: every thread, exited ones and children included), when it runs as a unit.
    pub cpu_usec: Option<u64>,
    pub uptime: f64,
    pub rss_kib: u64,
    pub anon_kib: u64,
    pub hwm_kib: u64,
    pub threads: u64,
    pub pool_threads: u64,
    pub write_bytes: u64,
}

pub fn main_pid(host: &Host, unit: &str) -> u32 {
    host.ssh_ok(&["systemctl", "show", "-P", "MainPID", unit])
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

pub fn sample(host: &Host, pid: u32) -> ProcSample {
    let text = host
        .ssh_ok(&[
            "cat",
            "/proc/uptime",
            &format!("/proc/{pid}/stat"),
            &format!("/proc/{pid}/status"),
            &format!("/proc/{pid}/io"),
        ])
        .unwrap();
    let comms = host
        .ssh_ok(&[
            "sh",
            "-c",
            "cat /proc/\"$1\"/task/*/comm",
            "sh",
            &pid.to_string(),
        ])
        .unwrap();
    // The process's cgroup ("0::/system.slice/NAME.service"), then that cgroup's CPU time.
    let cgroup = host
        .ssh_ok(&["cat", &format!("/proc/{pid}/cgroup")])
        .unwrap();
    let cpu_usec = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .filter(|path| path.ends_with(".service"))
        .and_then(|path| {
            let stat = host
                .ssh_ok(&["cat", &format!("/sys/fs/cgroup{path}/cpu.stat")])
                .ok()?;
            stat.lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .and_then(|v| v.trim().parse().ok())
        });
    let mut lines = text.lines();
    let uptime = lines
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let stat = lines.next().unwrap();
    // Fields after the command name: state is field 3, utime..cstime are fields 14-17.
    let after: Vec<u64> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = after[11] + after[12] + after[13] + after[14];
    // "Key: value [kB]" lines of status and io.
    let kib = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    ProcSample {
        ticks,
        cpu_usec,
        uptime,
        rss_kib: kib("VmRSS:"),
        anon_kib: kib("RssAnon:"),
        hwm_kib: kib("VmHWM:"),
        threads: kib("Threads:"),
        pool_threads: comms
            .lines()
            .filter(|c| *c == miraclemax::daemon::BLOCKING_THREADS)
            .count() as u64,
        write_bytes: kib("write_bytes:"),
    }
}

/// CPU of one core used between two samples, in %: from the unit's cgroup in microseconds
/// where both samples have it, else from the process's clock ticks (10 ms each).
pub fn cpu_pct(a: &ProcSample, b: &ProcSample, clk_tck: f64) -> f64 {
    let secs = match (a.cpu_usec, b.cpu_usec) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e6,
        _ => (b.ticks - a.ticks) as f64 / clk_tck,
    };
    secs / (b.uptime - a.uptime) * 100.0
}

/// Offset from CLOCK_MONOTONIC to the wall clock, in µs (the machine and its test hosts share
/// both clocks).
pub fn mono_to_wall_us() -> i128 {
    let mono = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let mono_us = mono.tv_sec as i128 * 1_000_000 + mono.tv_nsec as i128 / 1000;
    let wall_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i128;
    wall_us - mono_us
}

/// One unit's state and systemd's monotonic timestamps (µs), converted to wall-clock ms.
#[derive(Clone, Debug, Default)]
pub struct UnitTimes {
    pub active: bool,
    pub inactive_enter: f64,
    pub inactive_exit: f64,
    pub active_enter: f64,
}

pub fn times(host: &Host, units: &[String]) -> Vec<UnitTimes> {
    let mut argv = vec![
        "systemctl",
        "show",
        "--property=ActiveState,InactiveEnterTimestampMonotonic,InactiveExitTimestampMonotonic,ActiveEnterTimestampMonotonic",
    ];
    argv.extend(units.iter().map(String::as_str));
    let out = host.ssh_ok(&argv).unwrap();
    let offset = mono_to_wall_us() as f64 / 1000.0;
    out.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let get = |k: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}=")))
                    .unwrap_or("")
                    .to_string()
            };
            let ms = |k: &str| get(k).parse::<f64>().unwrap_or(0.0) / 1000.0 + offset;
            UnitTimes {
                active: get("ActiveState") == "active",
                inactive_enter: ms("InactiveEnterTimestampMonotonic"),
                inactive_exit: ms("InactiveExitTimestampMonotonic"),
                active_enter: ms("ActiveEnterTimestampMonotonic"),
            }
        })
        .collect()
}

pub fn times1(host: &Host, unit: &str) -> UnitTimes {
    times(host, &[unit.to_string()]).remove(0)
}

/// Waits until each unit is active again with an activation later than `after` (wall ms);
/// returns each unit's times, `None` for those that did not come back within `timeout`.
pub fn wait_active(
    host: &Host,
    units: &[String],
    after: f64,
    timeout: Duration,
) -> Vec<Option<UnitTimes>> {
    let deadline = Instant::now() + timeout;
    loop {
        let t = times(host, units);
        let back = |u: &UnitTimes| u.active && u.active_enter > after;
        if t.iter().all(back) || Instant::now() > deadline {
            return t.into_iter().map(|u| back(&u).then_some(u)).collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The wall-clock ms a host-side `date +%s%N` printed on the first line of `out`.
pub fn host_ms(out: &str) -> f64 {
    out.lines().next().unwrap().trim().parse::<f64>().unwrap() / 1e6
}
