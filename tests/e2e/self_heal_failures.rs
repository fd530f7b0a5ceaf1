//! Layer 1 end to end, the hard cases: a unit that cannot start, a hung process, a mail server
//! that is down, a daemon killed mid-heal, and one service's failing heal next to another's.

use crate::support::*;
use mm_testbed::{Host, Testbed};
use std::time::{Duration, Instant};

const RESOLVED: &str = "✅ MiracleMax: example - RESOLVED";

fn add_unit(host: &Host, name: &str, body: &str) {
    host.write(&format!("/etc/systemd/system/{name}"), body)
        .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
}

#[test]
fn a_unit_that_cannot_start_gets_one_ladder_then_a_failed_email_and_is_left_alone() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    add_unit(
        host,
        "broken.service",
        "[Service]\nType=exec\nExecStart=/usr/local/bin/does-not-exist\n",
    );
    let _ = host.ssh(&["systemctl", "start", "broken.service"]);
    let services = format!(
        "{EXAMPLE}  - name: broken\n    healing_strategies: [service_restart, reset_failed]\n"
    );
    install_daemon(host, &test_config(host, &services));

    let mail = smtp.wait_for("❌ MiracleMax: broken - FAILED", Duration::from_secs(40));
    let body = &mail.body;
    assert!(
        body.starts_with("❌ ALL HEALING STRATEGIES FAILED\nService: broken\nHost: lab"),
        "{body}"
    );
    assert!(
        body.contains("Status: STILL DOWN after healing attempts\n"),
        "{body}"
    );
    assert!(
        body.contains("WHAT WAS TRIED:\n1. service_restart: broken.service did not become active: its restart job ended 'failed' (ActiveState=failed, Result=exit-code, ExecMainStatus=203)\n"),
        "{body}"
    );
    assert!(
        body.contains(
            "\n2. reset_failed: broken.service did not become active: its start job ended 'failed'"
        ),
        "{body}"
    );
    assert!(
        body.contains(
            "ROOT CAUSE: Configuration error: the service fails at start (status 203/EXEC)\n"
        ),
        "{body}"
    );
    let manual = format!(
        "MANUAL INTERVENTION REQUIRED:\n1. SSH to server: ssh root@{}\n2. Check logs: journalctl -u broken.service -n 100\n\
         3. Check status: systemctl status broken.service\n4. When it is fixed, let self-healing watch it again: miraclemax-self-heal reset broken\n",
        host.name
    );
    assert!(body.contains(&manual), "{body}");
    let journal = body
        .split("LAST JOURNAL LINES (broken.service):\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        journal.contains("does-not-exist"),
        "the unit's own journal lines are quoted: {journal}"
    );

    // The breaker is open: no further attempt within the window, however often it is looked at.
    std::thread::sleep(Duration::from_secs(5));
    let ev = events(host, "broken");
    assert_eq!(ev.iter().filter(|e| *e == "detected").count(), 1, "{ev:?}");
    assert_eq!(ev.last().map(String::as_str), Some("failed"), "{ev:?}");
    assert_eq!(smtp.count("❌ MiracleMax: broken - FAILED"), 1);
    assert_eq!(is_active(host, "broken.service"), "failed");

    // Status shows the open breaker and exits non-zero: a critical service is down.
    let out = host.ssh(&["miraclemax-status", "--json"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let broken = &json["services"][1];
    assert_eq!(broken["healing"], "failed");
    assert!(broken["breaker_open_until"].is_string(), "{broken}");
    assert_eq!(broken["last_incident"]["outcome"], "failed");
    assert_eq!(json["ok"], false);
}

#[test]
fn a_failing_heal_of_one_service_does_not_delay_another() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    // Never reports ready: each start attempt takes the whole start timeout (10 s here).
    add_unit(
        host,
        "stuck.service",
        "[Service]\nType=notify\nExecStart=/bin/sleep infinity\nTimeoutStartSec=60\n",
    );
    let services = format!("{EXAMPLE}  - name: stuck\n    healing_strategies: [service_restart]\n");
    install_daemon(host, &test_config(host, &services));
    wait_until(
        Duration::from_secs(20),
        "the heal of stuck to start",
        || events(host, "stuck").contains(&"detected".to_string()),
    );

    let started = Instant::now();
    kill_9(host, "example.service");
    let mail = smtp.wait_for(RESOLVED, Duration::from_secs(30));
    let took = started.elapsed();
    assert!(
        !events(host, "stuck").contains(&"failed".to_string()),
        "stuck is still being healed"
    );
    assert!(
        healing_secs(&mail.body) < 5.0,
        "example healed in its usual time: {}",
        mail.body
    );
    assert!(
        took < Duration::from_secs(9),
        "example healed before stuck's heal ended ({took:?})"
    );
}

#[test]
fn a_hung_process_is_killed_and_restarted() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    let services = "  - name: example\n    port: 8080\n    health: {path: /health, timeout: 1s}\n    healing_strategies: [kill_hung]\n";
    install_daemon(host, &test_config(host, services));

    let pid = main_pid(host, "example.service");
    host.ssh_ok(&["kill", "-STOP", &pid]).unwrap();
    let mail = smtp.wait_for(RESOLVED, Duration::from_secs(40));
    let body = &mail.body;
    assert!(
        body.contains(
            "✅ SUCCESS: Killed the hung process and restarted the service; it is now active"
        ),
        "{body}"
    );
    assert!(
        body.contains("1. Detected example was active but its health check failed: http://127.0.0.1:8080/health failed: no answer within 1s"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "2. Killed hung main process PID {pid} of example.service with SIGKILL\n"
        )),
        "{body}"
    );
    assert!(
        body.contains("ROOT CAUSE: Service hung: running but not answering"),
        "{body}"
    );
    assert_eq!(
        host.ssh_ok(&["curl", "-fsS", "-m", "2", "http://127.0.0.1:8080/health"])
            .unwrap(),
        "ok\n"
    );
}

#[test]
fn a_report_written_while_smtp_is_down_arrives_once_it_is_back() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let host = tb.host(0);
    let mut smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));

    smtp.pause();
    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    wait_until(Duration::from_secs(30), "the heal to finish", || {
        events(host, "example").contains(&"resolved".to_string())
    });
    std::thread::sleep(Duration::from_secs(2));
    let queued = host.ssh_ok(&["ls", "/var/lib/miraclemax/outbox"]).unwrap();
    assert!(
        queued.contains("-resolved.json"),
        "the report waits in the outbox: {queued}"
    );

    // A daemon restart in between loses nothing either.
    host.ssh_ok(&["systemctl", "restart", "miraclemax-self-heal.service"])
        .unwrap();
    smtp.resume();
    smtp.wait_for(RESOLVED, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(smtp.count(RESOLVED), 1, "delivered exactly once");
    let left = host.ssh_ok(&["ls", "/var/lib/miraclemax/outbox"]).unwrap();
    assert!(!left.contains(".json"), "outbox is empty: {left}");
}

#[test]
fn a_daemon_killed_mid_heal_resumes_the_incident_and_reports_it_once() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    // A long settle time keeps the heal open long enough to kill the daemon inside it.
    let config = test_config(host, EXAMPLE).replace("settle_time: 1s", "settle_time: 4s");
    install_daemon(host, &config);
    let daemon_pid = main_pid(host, "miraclemax-self-heal.service");

    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    wait_until(Duration::from_secs(10), "the heal to start", || {
        events(host, "example").contains(&"detected".to_string())
    });
    host.ssh_ok(&[
        "systemctl",
        "kill",
        "-s",
        "KILL",
        "miraclemax-self-heal.service",
    ])
    .unwrap();

    smtp.wait_for(RESOLVED, Duration::from_secs(40));
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(smtp.count(RESOLVED), 1, "the incident is reported once");
    let ev = events(host, "example");
    assert_eq!(
        ev.iter().filter(|e| *e == "detected").count(),
        1,
        "not detected twice: {ev:?}"
    );
    assert!(ev.contains(&"resumed".to_string()), "{ev:?}");
    assert_eq!(is_active(host, "miraclemax-self-heal.service"), "active");
    let new_pid = main_pid(host, "miraclemax-self-heal.service");
    assert_ne!(daemon_pid, new_pid, "systemd restarted the daemon");
    assert_eq!(is_active(host, "example.service"), "active");
}
