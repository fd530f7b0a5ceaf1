//! Healing latency on a real systemd host, side by side with the peers a user would otherwise
//! rely on: systemd's own `Restart=always` (kill -9 only: it does not undo a stop) and Monit
//! polling every second (its fastest setting; Debian's default is every 120 s).
//!
//! For each way of breaking `example.service` (stop, kill -9) and each healer it measures, from
//! systemd's own timestamps: time from the unit going down to active again, and the healer's
//! overhead = that time minus the service's own start time. For MiracleMax it also reports
//! detection latency (unit down -> the daemon's `detected` event). Prints medians and ratios.
//!
//! Run as root: `cargo bench --bench heal_latency` (ROUNDS=N to change the 7 rounds).

#[path = "../tests/e2e/support.rs"]
mod support;

use mm_testbed::{Host, Release, Testbed};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::*;

struct Times {
    inactive_enter: u64,
    inactive_exit: u64,
    active_enter: u64,
}

fn times(host: &Host) -> Times {
    let out = host
        .ssh_ok(&[
            "systemctl",
            "show",
            "--property=InactiveEnterTimestampMonotonic,InactiveExitTimestampMonotonic,ActiveEnterTimestampMonotonic",
            "example.service",
        ])
        .unwrap();
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Times {
        inactive_enter: get("InactiveEnterTimestampMonotonic"),
        inactive_exit: get("InactiveExitTimestampMonotonic"),
        active_enter: get("ActiveEnterTimestampMonotonic"),
    }
}

/// Offset from CLOCK_MONOTONIC to the wall clock, in µs (host and test hosts share both).
fn mono_to_wall_us() -> i128 {
    let mono = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let mono_us = mono.tv_sec as i128 * 1_000_000 + mono.tv_nsec as i128 / 1000;
    let wall_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i128;
    wall_us - mono_us
}

fn wait_active_after(host: &Host, before: u64) -> Times {
    let mut t = times(host);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !(t.active_enter > before && is_active(host, "example.service") == "active") {
        if std::time::Instant::now() > deadline {
            let status = host
                .ssh(&["systemctl", "status", "--no-pager", "example.service"])
                .unwrap();
            panic!(
                "example.service did not come back:\n{}",
                String::from_utf8_lossy(&status.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
        t = times(host);
    }
    t
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn own_start_ms(host: &Host, rounds: usize) -> f64 {
    let mut v = Vec::new();
    for _ in 0..rounds {
        host.ssh_ok(&["systemctl", "stop", "example.service"])
            .unwrap();
        host.ssh_ok(&["systemctl", "start", "example.service"])
            .unwrap();
        let t = times(host);
        v.push((t.active_enter - t.inactive_exit) as f64 / 1000.0);
    }
    median(v)
}

fn break_it(host: &Host, how: &str) {
    match how {
        "stop" => {
            host.ssh_ok(&["systemctl", "stop", "example.service"])
                .unwrap();
        }
        _ => kill_9(host, "example.service"),
    }
}

/// Breaks the service `rounds` times; returns (down -> active ms) per round.
fn measure(
    host: &Host,
    healer: &str,
    how: &str,
    rounds: usize,
    mut detected_ms: impl FnMut(u64) -> Option<f64>,
) -> (Vec<f64>, Vec<f64>) {
    eprintln!("measuring {healer}: {how} x {rounds}");
    let (mut heal, mut detect) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let before = times(host).active_enter;
        break_it(host, how);
        let t = wait_active_after(host, before);
        heal.push((t.active_enter - t.inactive_enter) as f64 / 1000.0);
        if let Some(d) = detected_ms(t.inactive_enter) {
            detect.push(d);
        }
        std::thread::sleep(Duration::from_millis(1500)); // let the healer settle
    }
    (heal, detect)
}

fn peak_kib(host: &Host, program: &str) -> String {
    let pid = host
        .ssh_ok(&["pgrep", "-o", "-x", program])
        .unwrap_or_default();
    host.ssh_ok(&["grep", "VmHWM", &format!("/proc/{}/status", pid.trim())])
        .map(|s| s.split_whitespace().nth(1).unwrap_or("?").to_string())
        .unwrap_or_else(|_| "?".into())
}

#[allow(clippy::too_many_lines)] // the benchmark's scenario, its steps in the order they run on the hosts
fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    // Debian 12, the release the recorded latencies were measured on.
    let tb = Testbed::start_on(&[Release::Bookworm]).expect("the testbed needs root");
    let host = tb.host(0);
    let _smtp = Smtp::start(host.gateway());
    let config = test_config(
        host,
        "  - name: example\n    port: 8080\n    health: {path: /health}\n",
    )
    .replace("limits:\n", "limits:\n  heal_attempts: 1000\n");
    // The benchmark restarts the unit far more often than systemd's default start limit allows.
    host.write(
        "/etc/systemd/system/example.service.d/bench.conf",
        "[Unit]\nStartLimitIntervalSec=0\n",
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    install_daemon(host, &config);
    let offset = mono_to_wall_us();

    host.ssh_ok(&["miraclemax-self-heal", "pause", "--all", "--for", "1h"])
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let own = own_start_ms(host, rounds);
    host.ssh_ok(&["miraclemax-self-heal", "resume", "--all"])
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));

    let mut rows: Vec<(String, String, f64, Option<f64>, String)> = Vec::new();
    let mut seen = 0usize; // detected events already matched to a round
    for how in ["stop", "kill -9"] {
        let (heal, detect) = measure(host, "MiracleMax", how, rounds, |inactive_mono| {
            let text = host
                .ssh_ok(&["cat", "/var/lib/miraclemax/events.jsonl"])
                .unwrap();
            let detected: Vec<u64> = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["event"] == "detected")
                .filter_map(|v| v["time_ms"].as_u64())
                .collect();
            let t = *detected.get(seen)?;
            seen += 1;
            Some((t as i128 * 1000 - (inactive_mono as i128 + offset)) as f64 / 1000.0)
        });
        rows.push((
            "MiracleMax".into(),
            how.into(),
            median(heal),
            Some(median(detect)),
            peak_kib(host, "miraclemax-self"),
        ));
    }
    host.ssh_ok(&["systemctl", "stop", "miraclemax-self-heal.service"])
        .unwrap();

    // Peer 1: systemd's own Restart=always, RestartSec=0 (kill -9 only: a stop is final).
    host.write(
        "/etc/systemd/system/example.service.d/restart.conf",
        "[Service]\nRestart=always\nRestartSec=0\n",
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    let (heal, _) = measure(host, "systemd Restart=always", "kill -9", rounds, |_| None);
    rows.push((
        "systemd Restart=always".into(),
        "kill -9".into(),
        median(heal),
        None,
        "-".into(),
    ));
    host.ssh_ok(&["rm", "/etc/systemd/system/example.service.d/restart.conf"])
        .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();

    // Peer 2: Monit at its fastest cycle (1 s), restarting through systemd.
    host.write(
        "/etc/monit/conf.d/example",
        "check process example matching \"mm-example-app\"\n  start program = \"/usr/bin/systemctl start example.service\"\n  stop program = \"/usr/bin/systemctl stop example.service\"\n",
    )
    .unwrap();
    host.ssh_ok(&[
        "sed",
        "-i",
        "s/^set daemon .*/set daemon 1/",
        "/etc/monit/monitrc",
    ])
    .unwrap();
    host.ssh_ok(&["systemctl", "restart", "monit.service"])
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    for how in ["stop", "kill -9"] {
        let (heal, _) = measure(host, "Monit", how, rounds, |_| None);
        rows.push((
            "Monit (set daemon 1)".into(),
            how.into(),
            median(heal),
            None,
            peak_kib(host, "monit"),
        ));
    }
    host.ssh_ok(&["systemctl", "stop", "monit.service"])
        .unwrap();

    use std::fmt::Write as _;
    let mut out = String::new();
    writeln!(
        out,
        "Healing latency, median of {rounds} rounds on a testbed host (example.service starts in {own:.0} ms by itself)\n"
    )
    .unwrap();
    writeln!(
        out,
        "{:<24} {:<8} {:>14} {:>13} {:>12} {:>16} {:>14}",
        "healer",
        "break",
        "down->active",
        "overhead",
        "detection",
        "overhead ratio",
        "peak RSS KiB"
    )
    .unwrap();
    for how in ["stop", "kill -9"] {
        let ours = rows
            .iter()
            .find(|r| r.0 == "MiracleMax" && r.1 == how)
            .map(|r| r.2 - own)
            .unwrap_or(f64::NAN);
        for r in rows.iter().filter(|r| r.1 == how) {
            let overhead = r.2 - own;
            writeln!(
                out,
                "{:<24} {:<8} {:>11.0} ms {:>10.0} ms {:>12} {:>15.2}x {:>14}",
                r.0,
                r.1,
                r.2,
                overhead,
                r.3.map_or("-".into(), |d| format!("{d:.0} ms")),
                overhead / ours,
                r.4
            )
            .unwrap();
        }
    }
    writeln!(
        out,
        "\noverhead = down->active minus the service's own start time; ratio = this healer's overhead / MiracleMax's"
    )
    .unwrap();
    let down_active = |healer: &str| {
        rows.iter()
            .find(|r| r.0 == healer && r.1 == "kill -9")
            .map(|r| r.2)
    };
    if let (Some(ours), Some(systemd)) = (
        down_active("MiracleMax"),
        down_active("systemd Restart=always"),
    ) {
        writeln!(
            out,
            "kill -9, down->active: MiracleMax {ours:.0} ms, systemd's own Restart=always {systemd:.0} ms in the same run ({:.2}x)",
            ours / systemd
        )
        .unwrap();
    }
    print!("\n{out}");
    let at = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/heal_latency.md");
    std::fs::write(
        &path,
        format!(
            "# Healing latency\n\nFrom `cargo bench --bench heal_latency`, {at} UTC (written by the benchmark).\n\n```\n{out}```\n"
        ),
    )
    .unwrap();
    eprintln!("wrote {}", path.display());
}
