//! Check commands on real hosts, with the daemon's real unit (its sandbox, its capabilities):
//! a queue that keeps its port open but refuses work is healed through its check command run
//! as nobody, and a check that hangs is killed with its process group at its timeout. On a
//! Debian 12 and a Debian 13 host, whose systemd versions grant the unit's privileges
//! differently.

use crate::failure_modes::rules::{QUEUE, QUEUE_PING};
use crate::support::*;
use mm_testbed::Testbed;
use std::time::Duration;

const RESOLVED: &str = "✅ MiracleMax: queue - RESOLVED";

#[test]
fn a_service_refusing_work_on_an_open_port_and_a_hung_check_are_healed_through_its_check_command() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    std::thread::scope(|s| {
        for host in tb.hosts() {
            s.spawn(move || refused_then_hung(host));
        }
    });
}

/// The whole scenario on one host.
#[allow(clippy::too_many_lines)] // two faults injected in turn, each consequence checked in the order it happens
fn refused_then_hung(host: &mm_testbed::Host) {
    let smtp = Smtp::start(host.gateway());
    for (path, text) in [
        ("/usr/local/bin/mm-queue", QUEUE),
        ("/usr/local/bin/mm-queue-ping", QUEUE_PING),
    ] {
        host.write(path, text).unwrap();
        host.ssh_ok(&["chmod", "755", path]).unwrap();
    }
    host.write(
        "/etc/systemd/system/queue.service",
        "[Service]\nExecStart=/usr/local/bin/mm-queue\n",
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    host.ssh_ok(&["systemctl", "start", "queue.service"])
        .unwrap();
    let services = format!(
        "{EXAMPLE}  - name: queue\n    port: 8095\n    health:\n      command: \
         [/usr/local/bin/mm-queue-ping]\n      user: nobody\n      timeout: 3s\n"
    );
    install_daemon(host, &test_config(host, &services));
    let mut status = String::new();
    let healthy = "check command /usr/local/bin/mm-queue-ping exited 0";
    for _ in 0..100 {
        let out = host
            .ssh(&["cat", "/var/lib/miraclemax/state.json"])
            .unwrap();
        status = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if status.contains(healthy) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        status.contains(healthy),
        "{status}\n{}",
        host.ssh_ok(&["journalctl", "-t", "miraclemax-self-heal", "-n", "30"])
            .unwrap_or_default()
    );

    let before = host
        .ssh_ok(&["systemctl", "show", "-P", "MainPID", "queue.service"])
        .unwrap();
    host.ssh_ok(&[
        "systemctl",
        "kill",
        "-s",
        "USR2",
        "--kill-whom=main",
        "queue.service",
    ])
    .unwrap();
    let mail = smtp.wait_for(RESOLVED, Duration::from_secs(40));
    assert!(
        mail.body.contains(
            "ROOT CAUSE: Health check failing: running, but its check command \
             /usr/local/bin/mm-queue-ping exited with status 2: queue answered 'ERR not ready'\n"
        ),
        "{}",
        mail.body
    );
    assert!(
        mail.body
            .contains("Detected queue was active but its health check failed: check command"),
        "{}",
        mail.body
    );
    assert_ne!(
        host.ssh_ok(&["systemctl", "show", "-P", "MainPID", "queue.service"])
            .unwrap(),
        before
    );

    host.ssh_ok(&[
        "systemctl",
        "kill",
        "-s",
        "USR1",
        "--kill-whom=main",
        "queue.service",
    ])
    .unwrap();
    wait_until(Duration::from_secs(40), "a second report", || {
        smtp.count(RESOLVED) >= 2
    });
    let hung = smtp
        .0
        .messages()
        .into_iter()
        .filter(|m| m.subject == RESOLVED)
        .nth(1)
        .unwrap();
    assert!(
        hung.body.contains(
            "ROOT CAUSE: Health check failing: running, but its check command \
             /usr/local/bin/mm-queue-ping did not finish within 3s and was killed with its \
             process group\n"
        ),
        "{}",
        hung.body
    );
    // Every check ran as nobody, and none outlived its timeout.
    let left = host
        .ssh_ok(&["ps", "-C", "mm-queue-ping", "-o", "etimes=,user="])
        .unwrap_or_default();
    for line in left.lines() {
        let mut f = line.split_whitespace();
        let age: u64 = f.next().unwrap().parse().unwrap();
        assert!(age <= 4, "a check older than its timeout: {line}");
        assert_eq!(f.next(), Some("nobody"), "{line}");
    }
    assert_eq!(is_active(host, "queue.service"), "active");
}
