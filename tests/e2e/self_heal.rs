//! Layer 1 end to end: the daemon installed on real systemd hosts heals what breaks and the
//! report that reaches a real SMTP server says exactly what happened.

use crate::support::*;
use mm_testbed::Testbed;
use std::time::Duration;

const RESOLVED: &str = "✅ MiracleMax: example - RESOLVED";

#[test]
#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn a_stopped_service_is_restarted_and_a_resolved_email_says_how() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));

    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    let mail = smtp.wait_for(RESOLVED, Duration::from_secs(30));
    assert_eq!(is_active(host, "example.service"), "active");

    let body = &mail.body;
    assert!(
        body.starts_with("Service: example (example.lab.test)\nHost: lab"),
        "{body}"
    );
    assert!(
        body.contains("✅ SUCCESS: Service restarted and is now active\n"),
        "{body}"
    );
    assert!(body.contains("HOW IT WAS FIXED:\n1. Detected example was inactive (ActiveState=inactive, Result=success"), "{body}");
    assert!(
        body.contains("\n2. Executed: systemctl restart example.service -> job done in "),
        "{body}"
    );
    assert!(
        body.contains("\n3. Verified: example.service is active, port 8080 is listening, http://127.0.0.1:8080/health answered 200\n"),
        "{body}"
    );
    assert!(body.contains("ROOT CAUSE: Service was stopped (systemctl stop, or its main process exited cleanly or on SIGTERM)\n"), "{body}");
    let secs = healing_secs(body);
    assert!(
        (1.0..30.0).contains(&secs),
        "healing time {secs} includes the 1 s settle time"
    );
    assert_eq!(mail.to, "ops@example.org");

    // The incident is in the journal under the daemon's tag, the per-service unit name and its id.
    let id = body
        .lines()
        .find_map(|l| l.strip_prefix("Incident: "))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let journal = |args: &[&str]| {
        host.ssh_ok(&[&["journalctl", "--no-pager", "-o", "cat"], args].concat())
            .unwrap()
    };
    wait_until(
        Duration::from_secs(10),
        "journald to have the entries",
        || journal(&["-u", "example-self-heal"]).contains("example: healed by service_restart"),
    );
    assert!(
        journal(&["-t", "miraclemax-self-heal"]).contains("example: Detected example was inactive")
    );
    let noise = journal(&["-t", "miraclemax-self-heal", "-p", "info..debug"]);
    assert!(
        !noise.contains("connect"),
        "library debug output stays out of the journal: {noise}"
    );
    let by_id = journal(&["-t", "miraclemax-self-heal", &format!("INCIDENT={id}")]);
    assert!(
        by_id.contains("example: Detected") && by_id.contains("example: healed"),
        "{by_id}"
    );

    // miraclemax-status reports it, as JSON and as a table, and exits 0 with everything up.
    let json: serde_json::Value =
        serde_json::from_str(&host.ssh_ok(&["miraclemax-status", "--json"]).unwrap()).unwrap();
    let svc = &json["services"][0];
    assert_eq!(json["daemon"]["active_state"], "active");
    assert_eq!(svc["name"], "example");
    assert_eq!(svc["active_state"], "active");
    assert_eq!(svc["healing"], "healthy");
    assert_eq!(svc["heals_24h"], 1);
    assert_eq!(svc["last_incident"]["id"], id.as_str());
    assert_eq!(svc["last_incident"]["outcome"], "resolved");
    assert!(
        svc["port_owner"].as_str().unwrap().contains("python3"),
        "{svc}"
    );
    let table = host.ssh_ok(&["miraclemax-status"]).unwrap();
    assert!(table.contains("self-healing daemon active"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("example ") && l.contains("resolved")),
        "{table}"
    );
}

#[test]
fn a_kill_9_is_healed_and_the_root_cause_names_signal_9() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));

    kill_9(host, "example.service");
    let mail = smtp.wait_for(RESOLVED, Duration::from_secs(30));
    assert_eq!(is_active(host, "example.service"), "active");
    assert!(
        mail.body.contains(
            "ROOT CAUSE: Service was killed: main process killed by signal 9 (SIGKILL)\n"
        ),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains(
            "1. Detected example was failed (ActiveState=failed, Result=signal, ExecMainStatus=9)"
        ),
        "{}",
        mail.body
    );
}

#[test]
fn a_stray_process_on_the_port_is_killed_and_named_in_the_email() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));

    host.ssh_ok(&["miraclemax-self-heal", "pause", "example", "--for", "10m"])
        .unwrap();
    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    host.ssh_ok(&[
        "systemd-run",
        "--unit=stray",
        "--",
        "/usr/bin/python3",
        "-m",
        "http.server",
        "8080",
    ])
    .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the stray process to listen",
        || {
            host.ssh(&["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:8080/"])
                .map(|o| o.status.success())
                .unwrap_or(false)
        },
    );
    let stray_pid = main_pid(host, "stray.service");
    host.ssh_ok(&["miraclemax-self-heal", "resume", "example"])
        .unwrap();

    let mail = smtp.wait_for(RESOLVED, Duration::from_secs(40));
    assert_eq!(is_active(host, "example.service"), "active");
    assert_eq!(
        is_active(host, "stray.service"),
        "inactive",
        "exactly the stray process was killed"
    );
    let owner = main_pid(host, "example.service");
    let listening = host.ssh_ok(&["ss", "-Hltnp", "sport = :8080"]).unwrap();
    assert!(
        listening.contains(&format!("pid={}", owner.trim())),
        "example owns port 8080: {listening}"
    );

    let body = &mail.body;
    let holder = format!("PID {stray_pid} (/usr/bin/python3 -m http.server 8080, user root)");
    assert!(
        body.contains(&format!("and its port 8080 was held by {holder}")),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "Found port 8080 held by {holder} outside example.service"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!("Killed PID {stray_pid} (python3) with SIGTERM")),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "ROOT CAUSE: Port conflict: port 8080 was held by {holder}, outside the service"
        )),
        "{body}"
    );
    assert!(
        body.contains("✅ SUCCESS: Freed its port and restarted the service; it is now active"),
        "{body}"
    );
}

/// Reports cannot go silent: with the SMTP password file gone when the first report is due,
/// the report waits in the outbox, `miraclemax-status` and the heartbeat say why, and once the
/// file is back it is delivered, by the same daemon process (no restart).
#[test]
fn a_report_path_that_cannot_be_set_up_is_shown_retried_and_delivered_once_fixed() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let smtp =
        mm_testbed::smtp::Smtp::start_with_auth(host.gateway(), "mm", "correct-horse").unwrap();
    let hc = mm_testbed::healthchecks::Healthchecks::start(std::net::IpAddr::V4(host.gateway()))
        .unwrap();
    let password = "/etc/miraclemax/smtp-password";
    host.write(password, "correct-horse\n").unwrap();
    host.ssh_ok(&["chmod", "600", password]).unwrap();
    let config = test_config(host, EXAMPLE).replace(
        "    to: [ops@example.org]\n",
        &format!("    to: [ops@example.org]\n    username: mm\n    password_file: {password}\n"),
    ) + &format!("heartbeat:\n  ping_url: {}\n", hc.add_check());
    install_daemon(host, &config);
    let pid = main_pid(host, "miraclemax-self-heal.service");

    // The file goes before any report is due; then a failure needs one.
    host.ssh_ok(&["mv", password, "/root/smtp-password.away"])
        .unwrap();
    kill_9(host, "example.service");
    wait_until(Duration::from_secs(30), "the report path blocked", || {
        host.ssh_ok(&["miraclemax-status"])
            .is_ok_and(|s| s.contains("REPORTS BLOCKED since"))
    });
    let status = host.ssh_ok(&["miraclemax-status"]).unwrap();
    assert!(
        status.contains(&format!("cannot read password_file {password}"))
            && status.contains("1 waiting in the outbox"),
        "{status}"
    );
    let beat = host.ssh(&["/usr/local/bin/miraclemax-heartbeat"]).unwrap();
    let said = String::from_utf8_lossy(&beat.stdout);
    assert!(
        said.contains(
            "FAIL: reports cannot leave this host: notifications.email: cannot read password_file"
        ),
        "{said}"
    );
    assert_eq!(smtp.count(RESOLVED), 0);
    assert_eq!(
        is_active(host, "example.service"),
        "active",
        "healed all the same"
    );

    // Back: delivered by the same process, and the block is over.
    host.ssh_ok(&["mv", "/root/smtp-password.away", password])
        .unwrap();
    smtp.wait_for(RESOLVED, Duration::from_secs(90)).unwrap();
    assert_eq!(main_pid(host, "miraclemax-self-heal.service"), pid);
    wait_until(Duration::from_secs(10), "the block over", || {
        host.ssh_ok(&["miraclemax-status"])
            .is_ok_and(|s| !s.contains("REPORTS BLOCKED"))
    });
    let journal = host
        .ssh_ok(&["journalctl", "-t", "miraclemax-self-heal", "--no-pager"])
        .unwrap();
    assert!(
        journal.contains("reports cannot leave this host")
            && journal.contains("email is set up again"),
        "{journal}"
    );
}
