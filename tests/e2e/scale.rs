//! Soundness at scale, on a real host: five hundred watched services, all healthy, for ten
//! minutes (MM_SOAK_SECS to change it). The daemon must restart none of them, report nothing,
//! never be blind, and still heal the one that is then killed. Before, the bus refused calls
//! at this size and the refusals were taken for failures: healthy services were restarted.
//! A Debian 12 and a Debian 13 host soak at the same time, so both releases' systemd are
//! covered in the same ten minutes.

use crate::support::*;
use mm_testbed::{Host, Testbed};
use serde_json::Value;
use std::time::Duration;

const SERVICES: usize = 500;

#[test]
fn five_hundred_healthy_services_watched_for_ten_minutes_get_no_heal_and_a_kill_is_still_healed() {
    let soak: u64 = std::env::var("MM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let tb = Testbed::start_on(&BOTH).unwrap();
    on_each_host(&tb, |host| soak_on(host, soak));
}

#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn soak_on(host: &Host, soak: u64) {
    let smtp = Smtp::start(host.gateway());
    // One template unit, five hundred instances: cheap services, since their own memory is
    // not the healer's.
    host.write(
        "/etc/systemd/system/soak@.service",
        "[Service]\nType=exec\nExecStart=/bin/sleep infinity\n",
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    let units: Vec<String> = (1..=SERVICES)
        .map(|i| format!("soak@{i}.service"))
        .collect();
    let mut start = vec!["systemctl", "start"];
    start.extend(units.iter().map(String::as_str));
    host.ssh_ok(&start).unwrap();
    let mut services = String::new();
    for (i, unit) in units.iter().enumerate() {
        services.push_str(&format!(
            "  - name: soak{}\n    unit: {unit}\n    healing_strategies: [service_restart]\n",
            i + 1
        ));
    }
    // The default check interval and probe timeout, as a user with this many services would
    // run them (the tests' 1 s timeout is for speed, and on a machine loaded by other tests'
    // hosts systemd may take longer than that to answer about one of five hundred units).
    host.write(
        "/etc/miraclemax/config.d/90-scale.yaml",
        "limits:\n  check_interval: 10s\n  probe_timeout: 5s\n",
    )
    .unwrap();
    install_daemon(host, &test_config(host, &services));
    // Once every service has been looked at, nothing changes: nothing may be written.
    wait_until(Duration::from_secs(60), "every service looked at", || {
        host.ssh_ok(&["miraclemax-status", "--json"])
            .ok()
            .and_then(|o| serde_json::from_str::<Value>(&o).ok())
            .is_some_and(|r| {
                r["services"].as_array().is_some_and(|s| {
                    s.len() == SERVICES && s.iter().all(|s| !s["last_probe"].is_null())
                })
            })
    });
    std::thread::sleep(Duration::from_secs(2));
    host.ssh_ok(&["touch", "/run/soak-start"]).unwrap();

    std::thread::sleep(Duration::from_secs(soak));

    assert_eq!(
        written_since(host, "/run/soak-start"),
        Vec::<String>::new(),
        "nothing changed, so nothing was written"
    );

    let out = host.ssh(&["miraclemax-status", "--json"]).unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "every service is up: {report}");
    assert_eq!(
        report["daemon"]["blind"],
        Value::Null,
        "the daemon saw all along"
    );
    // No file at all is the best answer: nothing happened to any service, nor to the daemon.
    let events = host
        .ssh_ok(&["cat", "/var/lib/miraclemax/events.jsonl"])
        .unwrap_or_default();
    let acted: Vec<&str> = events
        .lines()
        .filter(|l| {
            [
                "\"detected\"",
                "\"blind\"",
                "\"breaker_open\"",
                "\"worker_panicked\"",
            ]
            .iter()
            .any(|e| l.contains(e))
        })
        .collect();
    assert_eq!(
        acted,
        Vec::<&str>::new(),
        "nothing happened, so nothing was done"
    );
    assert_eq!(
        smtp.0.messages().len(),
        0,
        "no report about healthy services"
    );

    // Still healing at this size.
    kill_9(host, "soak@250.service");
    smtp.wait_for("✅ MiracleMax: soak250 - RESOLVED", Duration::from_secs(60));
    assert_eq!(is_active(host, "soak@250.service"), "active");
}

/// The files under the daemon's state folder changed since `since` (a file on the host), but
/// the liveness stamp: its time is touched every few seconds, by design.
fn written_since(host: &Host, since: &str) -> Vec<String> {
    let changed = host
        .ssh_ok(&["find", "/var/lib/miraclemax", "-type", "f", "-newer", since])
        .unwrap();
    changed
        .lines()
        .filter(|f| *f != "/var/lib/miraclemax/alive")
        .map(str::to_string)
        .collect()
}
