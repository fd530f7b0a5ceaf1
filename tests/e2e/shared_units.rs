//! One unit, two hands on it, on real hosts of both releases: a dependent's dependency_restart
//! and the dependency's own heal both start the same unit (systemd merges the two into one job,
//! which both follow to its end), and an operator's or a deploy's `systemctl restart` takes a
//! watched unit down for a moment on purpose. Neither may give a FAILED report, and a restart
//! someone else asked for is no incident at all.

use crate::support::*;
use mm_testbed::{Host, Testbed};
use std::time::Duration;

/// How many times the dependency is stopped under its dependent.
const ROUNDS: usize = 5;

/// `dep-a` (a moment to start, each start counted in /run/dep-a.starts) and `dep-b`, which
/// requires it, both started; their entries for monitored_services.
fn start_pair(host: &Host) -> String {
    host.write(
        "/etc/systemd/system/dep-a.service",
        &notify_unit(
            "StartLimitIntervalSec=0\n",
            "ExecStartPre=/bin/sh -c 'echo start >> /run/dep-a.starts; sleep 0.3'\n",
        ),
    )
    .unwrap();
    host.write(
        "/etc/systemd/system/dep-b.service",
        &notify_unit(
            "Requires=dep-a.service\nAfter=dep-a.service\nStartLimitIntervalSec=0\n",
            "",
        ),
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    host.ssh_ok(&["systemctl", "start", "dep-b.service"])
        .unwrap();
    "  - name: dep-a\n    healing_strategies: [service_restart]\n  - name: dep-b\n    \
     depends_on: [dep-a.service]\n    healing_strategies: [dependency_restart, service_restart]\n"
        .to_string()
}

fn starts_of_a(host: &Host) -> usize {
    host.ssh_ok(&["cat", "/run/dep-a.starts"])
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn a_dependency_started_by_its_own_heal_and_its_dependents_is_resolved_twice_never_failed() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    on_each_host(&tb, |host| {
        let smtp = Smtp::start(host.gateway());
        let services = start_pair(host);
        // Every round is a new failure: the breaker (3 heals in its window) is lifted.
        host.write(
            "/etc/miraclemax/config.d/90-rounds.yaml",
            "limits:\n  heal_attempts: 1000\n",
        )
        .unwrap();
        install_daemon(host, &test_config(host, &services));
        let subject = |s: &str| format!("✅ MiracleMax: {s} - RESOLVED");
        for round in 1..=ROUNDS {
            let (a, b) = (smtp.count(&subject("dep-a")), smtp.count(&subject("dep-b")));
            let starts = starts_of_a(host);
            // Stopping A stops B with it (Requires=): both workers see their unit down.
            host.ssh_ok(&["systemctl", "stop", "dep-a.service"])
                .unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !(smtp.count(&subject("dep-a")) > a && smtp.count(&subject("dep-b")) > b) {
                if std::time::Instant::now() > deadline {
                    let journal = host
                        .ssh_ok(&["journalctl", "-n", "60", "--no-pager"])
                        .unwrap_or_default();
                    let subjects: Vec<String> =
                        smtp.0.messages().into_iter().map(|m| m.subject).collect();
                    panic!(
                        "round {round}: no RESOLVED reports of both within 60 s; reports: \
                         {subjects:?}; events of dep-a {:?}, dep-b {:?}; journal:\n{journal}",
                        events(host, "dep-a"),
                        events(host, "dep-b")
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let failed: Vec<String> = smtp
                .0
                .messages()
                .into_iter()
                .map(|m| m.subject)
                .filter(|s| s.contains("FAILED"))
                .collect();
            assert_eq!(failed, Vec::<String>::new(), "round {round}");
            assert_eq!(is_active(host, "dep-a.service"), "active");
            assert_eq!(is_active(host, "dep-b.service"), "active");
            let started = starts_of_a(host) - starts;
            assert!(
                (1..=2).contains(&started),
                "round {round}: dep-a started {started} times"
            );
            // The next round begins with both incidents closed (their settle time passed).
            wait_until(Duration::from_secs(20), "both incidents closed", || {
                let done = |s: &str| events(host, s).last().is_some_and(|e| e == "resolved");
                done("dep-a") && done("dep-b")
            });
        }
    });
}

#[test]
fn a_hundred_operator_restarts_of_a_watched_service_open_no_incident() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    on_each_host(&tb, |host| {
        let smtp = Smtp::start(host.gateway());
        // An operator may restart as often as they like: systemd's start rate limit (5 in
        // 10 s) is lifted, as the storm tests do, so only the healer's judgement is tested.
        host.write(
            "/etc/systemd/system/example.service.d/restarts.conf",
            "[Unit]\nStartLimitIntervalSec=0\n",
        )
        .unwrap();
        host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
        install_daemon(host, &test_config(host, EXAMPLE));
        wait_until(Duration::from_secs(10), "the example to be watched", || {
            events(host, "example").is_empty()
                && host
                    .ssh_ok(&["miraclemax-status", "--json"])
                    .is_ok_and(|s| s.contains("example.service is active"))
        });
        let before = main_pid(host, "example.service");
        // As an operator's loop or a deploy would: each restart waits for its job.
        host.ssh_ok(&[
            "sh",
            "-c",
            "for i in $(seq 100); do systemctl restart \"$1\" || exit 1; sleep 0.1; done",
            "sh",
            "example.service",
        ])
        .unwrap();
        assert_ne!(main_pid(host, "example.service"), before);
        // Looks go on every second; give them a few after the last restart.
        std::thread::sleep(Duration::from_secs(4));
        assert_eq!(events(host, "example"), Vec::<String>::new());
        let mails: Vec<String> = smtp.0.messages().into_iter().map(|m| m.subject).collect();
        assert_eq!(mails, Vec::<String>::new());
        assert_eq!(is_active(host, "example.service"), "active");
    });
}
