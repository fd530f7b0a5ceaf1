//! Operating the daemon: reloading its configuration (and refusing a bad one), pausing it for
//! maintenance, and its circuit breaker stopping a flapping service from being restarted forever.

use crate::support::*;
use mm_testbed::Testbed;
use std::time::Duration;

#[test]
fn a_reload_adds_a_service_and_a_bad_config_is_refused_while_the_old_one_keeps_working() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));
    start_second_service(host);

    let second = "  - name: second\n    port: 8081\n";
    host.write(
        "/etc/miraclemax/config.yaml",
        &test_config(host, &format!("{EXAMPLE}{second}")),
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "reload", "miraclemax-self-heal.service"])
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the new service to be looked at",
        || {
            host.ssh_ok(&["miraclemax-status", "--json"])
                .map(|s| {
                    s.contains("\"name\": \"second\"") && s.contains("second.service is active")
                })
                .unwrap_or(false)
        },
    );
    host.ssh_ok(&["systemctl", "stop", "second.service"])
        .unwrap();
    smtp.wait_for("✅ MiracleMax: second - RESOLVED", Duration::from_secs(30));

    // An invalid file: `systemctl reload` fails with the validation message and the daemon
    // keeps the configuration it has; a raw SIGHUP is refused the same way.
    host.write(
        "/etc/miraclemax/config.yaml",
        &test_config(
            host,
            &format!("{EXAMPLE}{}", second.replace("8081", "70000")),
        ),
    )
    .unwrap();
    let out = host
        .ssh(&["systemctl", "reload", "miraclemax-self-heal.service"])
        .unwrap();
    assert!(!out.status.success(), "reload of a bad config must fail");
    host.ssh_ok(&[
        "systemctl",
        "kill",
        "-s",
        "HUP",
        "--kill-whom=main",
        "miraclemax-self-heal.service",
    ])
    .unwrap();
    let refused = "configuration not reloaded, keeping the running one: /etc/miraclemax/config.yaml: service 'second': port 70000 is out of range 1-65535";
    wait_until(
        Duration::from_secs(10),
        "the refusal in the journal",
        || {
            host.ssh_ok(&[
                "journalctl",
                "-t",
                "miraclemax-self-heal",
                "--no-pager",
                "-o",
                "cat",
            ])
            .unwrap()
            .contains(refused)
        },
    );
    assert_eq!(is_active(host, "miraclemax-self-heal.service"), "active");
    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    smtp.wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(30));
}

#[test]
fn a_paused_service_is_left_alone_until_resumed() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    install_daemon(host, &test_config(host, EXAMPLE));

    let said = host
        .ssh_ok(&["miraclemax-self-heal", "pause", "example", "--for", "30m"])
        .unwrap();
    assert!(
        said.starts_with("healing of example paused until "),
        "{said}"
    );
    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        is_active(host, "example.service"),
        "inactive",
        "not healed while paused"
    );
    let json = host.ssh_ok(&["miraclemax-status", "--json"]).unwrap();
    assert!(json.contains("\"healing\": \"paused\""), "{json}");

    assert_eq!(
        host.ssh_ok(&["miraclemax-self-heal", "resume", "example"])
            .unwrap(),
        "healing of example resumed\n"
    );
    smtp.wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(30));
    assert_eq!(is_active(host, "example.service"), "active");
}

#[test]
fn a_flapping_service_trips_the_breaker_and_gets_one_failed_email() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    let config = test_config(host, EXAMPLE).replace("limits:\n", "limits:\n  heal_attempts: 2\n");
    install_daemon(host, &config);

    for round in 1..=2 {
        host.ssh_ok(&["systemctl", "stop", "example.service"])
            .unwrap();
        wait_until(Duration::from_secs(30), "the heal", || {
            smtp.count("✅ MiracleMax: example - RESOLVED") == round
        });
    }
    host.ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    let mail = smtp.wait_for("❌ MiracleMax: example - FAILED", Duration::from_secs(30));
    assert!(
        mail.body.contains(
            "Healing stopped: example needed healing 2 times within 15 minutes, the most allowed."
        ),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("2. Healed 2 times before, at "),
        "{}",
        mail.body
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(is_active(host, "example.service"), "inactive", "left alone");
    assert_eq!(
        smtp.count("❌ MiracleMax: example - FAILED"),
        1,
        "one email, not one per look"
    );

    host.ssh_ok(&["miraclemax-self-heal", "reset", "example"])
        .unwrap();
    wait_until(Duration::from_secs(30), "the heal after the reset", || {
        smtp.count("✅ MiracleMax: example - RESOLVED") == 3
    });
    assert_eq!(is_active(host, "example.service"), "active");
}
