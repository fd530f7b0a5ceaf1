//! Layer 2 end to end: the heartbeat installed as a root crontab entry on a real host pings a
//! Healthchecks-contract receiver on the test network, and turns into /fail with the reason
//! when the self-healing daemon stops. On a Debian 12 and a Debian 13 host at once: each
//! release's cron runs it.

use crate::support::*;
use mm_testbed::healthchecks::Healthchecks;
use mm_testbed::{Host, Testbed};
use std::net::IpAddr;
use std::time::Duration;

#[test]
fn the_cron_heartbeat_pings_with_a_summary_and_fails_when_the_daemon_stops() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    on_each_host(&tb, heartbeat_from_cron);
}

fn heartbeat_from_cron(host: &Host) {
    let _smtp = Smtp::start(host.gateway());
    let hc = Healthchecks::start(IpAddr::V4(host.gateway())).unwrap();
    let url = hc.add_check();
    let config = format!(
        "{}heartbeat:\n  ping_url: {url}\n",
        test_config(host, EXAMPLE)
    );
    install_daemon(host, &config);
    // Every minute here; the playbook installs */5.
    host.write(
        "/root/heartbeat.cron",
        "* * * * * /usr/local/bin/miraclemax-heartbeat --quiet\n",
    )
    .unwrap();
    host.ssh_ok(&["crontab", "/root/heartbeat.cron"]).unwrap();
    assert!(
        host.ssh_ok(&["crontab", "-l"])
            .unwrap()
            .contains("miraclemax-heartbeat")
    );

    let pings = hc.wait_for_pings(1, Duration::from_secs(90));
    assert!(!pings.is_empty(), "cron ran the heartbeat within 90 s");
    let first = &pings[0];
    assert_eq!(first.kind, "success", "{}", first.body);
    assert!(first.rid.is_some());
    assert!(
        first
            .body
            .starts_with(&format!("host: {}\nuptime: ", host.name)),
        "{}",
        first.body
    );
    assert!(
        first
            .body
            .contains("services: 1 up, 0 down, 0 paused\n  example: up\n"),
        "{}",
        first.body
    );
    let log = host
        .ssh_ok(&["cat", "/var/log/healthcheck-heartbeat.log"])
        .unwrap();
    assert!(log.contains("server=ok delivered"), "{log}");
    assert!(
        !log.contains(url.rsplit('/').next().unwrap()),
        "ping URL redacted: {log}"
    );
    let status = host.ssh_ok(&["miraclemax-status", "--json"]).unwrap();
    assert!(status.contains("\"last_signal\": \"ok\""), "{status}");

    // By hand, as the user guide says: it prints what it checked and sent, and logs to journald.
    let by_hand = host
        .ssh_ok(&["/usr/local/bin/miraclemax-heartbeat"])
        .unwrap();
    assert!(
        by_hand.starts_with("checked: healthy\nsent to http://"),
        "{by_hand}"
    );
    assert!(
        by_hand.contains("server check: success delivered in "),
        "{by_hand}"
    );
    let journal = host
        .ssh_ok(&[
            "journalctl",
            "-t",
            "miraclemax-heartbeat",
            "--no-pager",
            "-o",
            "cat",
        ])
        .unwrap();
    assert!(journal.contains("server=ok delivered"), "{journal}");

    host.ssh_ok(&["systemctl", "stop", "miraclemax-self-heal.service"])
        .unwrap();
    let n = hc.pings().len();
    let pings = hc.wait_for_pings(n + 1, Duration::from_secs(90));
    let next = &pings[n];
    assert_eq!(next.kind, "fail", "{}", next.body);
    assert!(
        next.body
            .starts_with("FAIL: miraclemax-self-heal is not running"),
        "{}",
        next.body
    );
    // What it says of the services comes from systemd, asked by the heartbeat itself, not
    // from the dead daemon's last saved view.
    assert!(
        next.body.contains(
            "services (seen by the heartbeat itself; the daemon cannot vouch for them): 1 up, 0 down, 0 unknown, 0 paused\n"
        ),
        "{}",
        next.body
    );
}
