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

#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
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

/// One cause, one alert: with the daemon stopped, only the server check goes DOWN; each service's
/// own check reports what systemd says of it (running), so it stays up. Started again, the server
/// check comes UP, and no service check ever flipped.
#[test]
#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn a_stopped_daemon_takes_down_the_server_check_only_and_the_service_checks_stay_up() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let host = tb.host(0);
    let _smtp = Smtp::start(host.gateway());
    start_second_service(host);
    let hc = Healthchecks::start(IpAddr::V4(host.gateway())).unwrap();
    let [server, example, second] = api_checks(&hc, ["server", "example", "second"]);
    let services = format!(
        "{EXAMPLE}  - name: second\n    port: 8081\n    healing_strategies: [service_restart]\n"
    );
    let config = format!(
        "{}heartbeat:\n  ping_url: {server}\n  services:\n    - {{name: example, ping_url: {example}}}\n    - {{name: second, ping_url: {second}}}\n",
        test_config(host, &services)
    );
    install_daemon(host, &config);
    let uuid = |url: &str| url.rsplit('/').next().unwrap().to_string();
    let beat = || {
        host.ssh_ok(&["/usr/local/bin/miraclemax-heartbeat", "--quiet"])
            .unwrap()
    };
    wait_until(Duration::from_secs(20), "the daemon looking", || {
        host.ssh_ok(&["miraclemax-status", "--json"])
            .is_ok_and(|s| s.contains("\"second\""))
    });
    beat();
    let statuses = || {
        let checks = hc.checks();
        [&server, &example, &second].map(|u| {
            checks
                .iter()
                .find(|c| c.uuid == uuid(u))
                .expect("the check")
                .status
                .clone()
        })
    };
    assert_eq!(statuses(), ["up", "up", "up"]);

    host.ssh_ok(&["systemctl", "stop", "miraclemax-self-heal.service"])
        .unwrap();
    beat();
    assert_eq!(statuses(), ["down", "up", "up"]);
    let pings = hc.pings();
    let last = |u: &str| {
        pings
            .iter()
            .rev()
            .find(|p| p.check == uuid(u))
            .expect("pinged")
            .clone()
    };
    assert_eq!(last(&server).kind, "fail", "{}", last(&server).body);
    for u in [&example, &second] {
        let p = last(u);
        assert_eq!(p.kind, "success", "{}", p.body);
        assert!(
            p.body.contains(
                "seen by the heartbeat itself (the self-healing daemon cannot vouch for it)"
            ),
            "{}",
            p.body
        );
    }

    host.ssh_ok(&["systemctl", "start", "miraclemax-self-heal.service"])
        .unwrap();
    wait_until(Duration::from_secs(20), "the daemon looking again", || {
        host.ssh(&["/usr/local/bin/miraclemax-heartbeat", "--quiet"])
            .is_ok_and(|o| o.status.success())
    });
    assert_eq!(statuses(), ["up", "up", "up"]);
    let flipped: Vec<String> = hc.flips().into_iter().map(|f| f.check).collect();
    assert_eq!(
        flipped,
        [uuid(&server), uuid(&server)],
        "one DOWN and one UP, of the server check only"
    );
}
