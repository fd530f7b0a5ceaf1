//! The healer on a real host when its own footing goes: the system bus restarted under it, the
//! daemon itself frozen, the daemon killed in the middle of sending a report. It must neither
//! go quiet nor cry wolf: no healthy service restarted, no report lost, none sent twice under
//! two identities.

use crate::support::*;
use mm_testbed::Testbed;
use std::time::{Duration, Instant};

const RESOLVED: &str = "✅ MiracleMax: example - RESOLVED";
const DAEMON: &str = "miraclemax-self-heal.service";

#[test]
fn restarting_the_system_bus_heals_nothing_and_healing_works_after_it() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));
    let daemon_pid = main_pid(host, DAEMON);

    host.ssh_ok(&["systemctl", "restart", "dbus.service"])
        .unwrap();
    // Long enough for every look of the 1 s check interval to meet the lost connection.
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(is_active(host, "example.service"), "active");
    let healed: Vec<String> = events(host, "example")
        .into_iter()
        .filter(|e| e == "detected" || e == "failed")
        .collect();
    assert_eq!(
        healed,
        Vec::<String>::new(),
        "a healthy service was blamed for the bus"
    );
    assert_eq!(smtp.0.messages().len(), 0, "no report for a bus restart");

    // The daemon sees again (on a rebuilt connection, or restarted by systemd) and heals.
    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    let mail = smtp.wait_for(RESOLVED, Duration::from_secs(60));
    assert!(
        mail.body.contains("systemctl restart example.service"),
        "{}",
        mail.body
    );
    assert_eq!(is_active(host, "example.service"), "active");
    eprintln!(
        "daemon PID before the bus restart {daemon_pid}, after {}",
        main_pid(host, DAEMON)
    );
}

#[test]
fn a_frozen_daemon_is_restarted_by_the_watchdog_within_fifteen_seconds() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));
    let frozen = main_pid(host, DAEMON);
    host.ssh_ok(&["kill", "-STOP", &frozen]).unwrap();
    let start = Instant::now();
    wait_until(Duration::from_secs(30), "a new daemon", || {
        let pid = main_pid(host, DAEMON);
        pid != frozen && pid != "0" && is_active(host, DAEMON) == "active"
    });
    let took = start.elapsed();
    eprintln!("frozen daemon replaced after {took:?}");
    // WatchdogSec=8, TimeoutAbortSec=4, RestartSec=2, with a second for the SSH round trips.
    assert!(took < Duration::from_secs(16), "took {took:?}");
    // And the new one heals.
    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    smtp.wait_for(RESOLVED, Duration::from_secs(60));
}

#[test]
fn a_daemon_killed_inside_the_smtp_exchange_sends_the_report_once_after_its_restart() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));

    smtp.freeze();
    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    // The report is queued and the daemon connects: it now waits for a greeting that never
    // comes, inside the exchange.
    wait_until(
        Duration::from_secs(30),
        "the daemon's SMTP connection",
        || {
            host.ssh_ok(&["ss", "-Htn", "state", "established", "( dport = :2525 )"])
                .map(|o| !o.trim().is_empty())
                .unwrap_or(false)
        },
    );
    assert_eq!(is_active(host, "example.service"), "active");
    host.ssh_ok(&["systemctl", "kill", "-s", "KILL", DAEMON])
        .unwrap();
    smtp.thaw();

    let first = smtp.wait_for(RESOLVED, Duration::from_secs(60));
    assert!(
        first.message_id.ends_with(&format!("@{}", host.name)),
        "{}",
        first.message_id
    );
    // Let a second copy arrive if one were coming.
    std::thread::sleep(Duration::from_secs(6));
    let copies = smtp.all(RESOLVED);
    assert!(
        !copies.is_empty() && copies.len() <= 2,
        "{} copies",
        copies.len()
    );
    for c in &copies {
        assert_eq!(
            c.message_id, first.message_id,
            "every copy is the same message"
        );
    }
}

#[test]
fn the_daemon_runs_with_only_the_privileges_it_needs() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let host = tb.host(0);
    install_daemon(host, &test_config(host, EXAMPLE));
    let pid = main_pid(host, "miraclemax-self-heal.service");
    let status = host
        .ssh_ok(&["cat", &format!("/proc/{pid}/status")])
        .unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {status}"))
            .trim()
            .to_string()
    };
    // CAP_DAC_READ_SEARCH (2), CAP_KILL (5), CAP_SETGID (6) and CAP_SETUID (7) (a check
    // command started as its user), CAP_SYS_PTRACE (19): nothing else, even as root; every
    // one effective on both releases (systemd 257 drops CAP_SETUID when a unit sets User=).
    assert_eq!(field("CapBnd"), "00000000000800e4");
    assert_eq!(field("CapEff"), "00000000000800e4");
    assert_eq!(field("NoNewPrivs"), "1");
    assert_eq!(field("Seccomp"), "2", "a system call filter");
    // The file system is read-only to it but for its state folder, which is root-only.
    let mounts = host
        .ssh_ok(&["cat", &format!("/proc/{pid}/mountinfo")])
        .unwrap();
    let root = mounts
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .unwrap_or_else(|| panic!("{mounts}"));
    assert!(
        root.split_whitespace().nth(5).unwrap().starts_with("ro"),
        "{root}"
    );
    let state = host
        .ssh_ok(&["stat", "-c", "%a %U", "/var/lib/miraclemax"])
        .unwrap();
    assert_eq!(state.trim(), "700 root");
}
