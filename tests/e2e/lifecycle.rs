//! What is taken away stops cleanly: a service taken out of the inventory has its Healthchecks
//! check paused (or deleted) by the next deploy of the real playbook, so the removal never
//! reports the service DOWN, and adding it back resumes the check.

use crate::ansible_deploy::{inventory, playbook, recap, succeeded, vault};
use crate::mmctl::mmctl_out;
use crate::support::*;
use mm_testbed::Testbed;
use mm_testbed::healthchecks::{API_KEY, Check, Healthchecks};
use serde_json::json;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const EXAMPLE: &str = r#"{"name": "example", "port": 8080, "domain": "example.lab.test", "critical": true,
    "healing_strategies": ["service_restart", "port_conflict", "kill_hung"], "health": {"path": "/health"}}"#;

/// The inventory's services: example always, second when `with_second`; both with a check of
/// their own whose period and grace are the least Healthchecks takes (60 s each), pinged by cron
/// every minute as such a period needs (the default, every five minutes, would let every check
/// go late between two deploys).
fn services(with_second: bool) -> String {
    let example: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    let mut monitored = vec![example];
    let mut checked = vec!["example"];
    if with_second {
        monitored.push(json!({"name": "second", "port": 8081}));
        checked.push("second");
    }
    json!({
        "monitored_services": monitored,
        "healthcheck_services": checked,
        "heartbeat_timeout": 60,
        "heartbeat_grace": 60,
        "heartbeat_cron_minute": "*",
    })
    .to_string()
}

fn check(hc: &Healthchecks, slug: &str) -> Option<Check> {
    hc.checks().into_iter().find(|c| c.slug == slug)
}

#[test]
#[allow(clippy::too_many_lines)] // one user story on a real host, told in the order it happens
fn a_removed_services_check_is_paused_by_the_next_deploy_and_never_reports_it_down() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let h = tb.host(0);
    let _smtp = Smtp::start(h.gateway());
    let hc = Healthchecks::start(IpAddr::V4(h.gateway())).unwrap();
    start_second_service(h);
    let inv = inventory(tb.hosts());
    let password = vault(&inv, &format!("vault_healthchecks_api_key: {API_KEY}\n"));
    let api_url = format!("heartbeat_api_url={}", hc.api_url);
    let deploy = |services: &str, extra: &[&str]| {
        let mut args = vec![
            "-e",
            &api_url,
            "--vault-password-file",
            password.to_str().unwrap(),
            "-e",
            services,
        ];
        args.extend_from_slice(extra);
        playbook(&inv, "deploy-complete-monitoring.yml", &args)
    };
    let (both, one) = (services(true), services(false));
    succeeded(&deploy(&both, &[]));
    let second_slug = format!("{}-second", h.name);
    let example_slug = format!("{}-example", h.name);
    let second = check(&hc, &second_slug).expect("second's check created");
    assert_eq!(hc.checks().len(), 3, "{:?}", hc.checks());

    // Taken out of the inventory: --check says what would happen and does nothing.
    let writes = hc.writes();
    let dry = succeeded(&deploy(&one, &["--check"]));
    assert!(
        dry.contains(&format!(
            "Would pause the Healthchecks check of second (slug {second_slug})"
        )),
        "{dry}"
    );
    assert_eq!(
        hc.writes(),
        writes,
        "--check writes nothing to Healthchecks"
    );
    assert_ne!(check(&hc, &second_slug).unwrap().status, "paused");

    let removed_at = Instant::now();
    let out = succeeded(&deploy(&one, &[]));
    assert!(
        out.contains(&format!(
            "Paused the Healthchecks check of second (slug {second_slug})"
        )),
        "{out}"
    );
    assert_eq!(check(&hc, &second_slug).unwrap().status, "paused");
    let example = check(&hc, &example_slug).unwrap();
    assert_eq!(
        example.status, "up",
        "the other check untouched: {example:?}"
    );
    let status = h.ssh_ok(&["miraclemax-status", "--json"]).unwrap();
    assert!(!status.contains("\"second\""), "{status}");
    let fragment = h
        .ssh_ok(&["cat", "/etc/miraclemax/config.d/50-heartbeat.yaml"])
        .unwrap();
    assert!(!fragment.contains("second"), "{fragment}");

    // The same inventory again: nothing to change, nothing written.
    let writes = hc.writes();
    let again = deploy(&one, &[]);
    succeeded(&again);
    assert_eq!(
        recap(&again)[0].1,
        0,
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(hc.writes(), writes);

    // Past the removed check's period and grace, with the heartbeat running as cron would:
    // the other checks stay up, and the removed one never flipped.
    let until = Instant::now() + Duration::from_secs(150);
    while Instant::now() < until {
        h.ssh_ok(&["/usr/local/bin/miraclemax-heartbeat", "--quiet"])
            .unwrap();
        std::thread::sleep(Duration::from_secs(20));
    }
    let flips = hc.flips();
    assert!(
        flips
            .iter()
            .all(|f| f.check != second.uuid || f.at < removed_at),
        "the removed service's check never flipped: {flips:?}"
    );
    assert!(flips.iter().all(|f| f.status != "down"), "{flips:?}");
    assert_eq!(check(&hc, &second_slug).unwrap().status, "paused");
    assert_eq!(check(&hc, &example_slug).unwrap().status, "up");

    // Added back: its check is resumed. Taken out with heartbeat_removed_checks=absent: deleted.
    succeeded(&deploy(&both, &[]));
    let back = check(&hc, &second_slug).unwrap();
    assert_eq!(back.uuid, second.uuid, "the same check, its history kept");
    assert_ne!(back.status, "paused");
    let out = succeeded(&deploy(&one, &["-e", "heartbeat_removed_checks=absent"]));
    assert!(
        out.contains(&format!(
            "Deleted the Healthchecks check of second (slug {second_slug})"
        )),
        "{out}"
    );
    assert!(check(&hc, &second_slug).is_none(), "{:?}", hc.checks());
    assert!(check(&hc, &example_slug).is_some());

    // Without an API key the checks are pinged by URL alone, and a removed service's check
    // cannot be paused: the deploy says so by name, and asks nothing of the API.
    let urls = [hc.add_check(), hc.add_check(), hc.add_check()];
    let by_url = |with_second: bool| {
        let mut v: serde_json::Value = serde_json::from_str(&services(with_second)).unwrap();
        let checked = [("example", &urls[1]), ("second", &urls[2])];
        v["healthcheck_services"] = checked[..1 + usize::from(with_second)]
            .iter()
            .map(|(name, url)| json!({"name": name, "ping_url": url}))
            .collect();
        v["heartbeat_api_key"] = json!("");
        v["heartbeat_ping_url"] = json!(urls[0]);
        v.to_string()
    };
    succeeded(&deploy(&by_url(true), &[]));
    let writes = hc.writes();
    let out = succeeded(&deploy(&by_url(false), &[]));
    assert!(
        out.contains(
            "WARNING: second is no longer in healthcheck_services, and without a Healthchecks \
             API key (heartbeat_api_key) its check cannot be paused: pause it in Healthchecks, \
             or it reports second DOWN after its period and grace."
        ),
        "{out}"
    );
    assert_eq!(
        hc.writes(),
        writes,
        "nothing asked of the API without a key"
    );
}

/// Whether `path` exists on the host.
fn exists(h: &mm_testbed::Host, path: &str) -> bool {
    h.ssh(&["test", "-e", path]).unwrap().status.success()
}

#[test]
#[allow(clippy::too_many_lines)] // one user story on a real host, told in the order it happens
fn remove_monitoring_takes_miraclemax_off_a_host_pauses_its_checks_and_a_deploy_brings_it_back() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let h = tb.host(0);
    let smtp = Smtp::start(h.gateway());
    let hc = Healthchecks::start(IpAddr::V4(h.gateway())).unwrap();
    let inv = inventory(tb.hosts());
    let password = vault(&inv, &format!("vault_healthchecks_api_key: {API_KEY}\n"));
    let api_url = format!("heartbeat_api_url={}", hc.api_url);
    let one = services(false);
    let base = [
        "-e",
        &api_url,
        "--vault-password-file",
        password.to_str().unwrap(),
        "-e",
        &one,
    ];
    let run = |name: &str, extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        playbook(&inv, name, &args)
    };
    succeeded(&run("deploy-complete-monitoring.yml", &[]));
    let slugs = [h.name.clone(), format!("{}-example", h.name)];
    let statuses = || {
        slugs
            .iter()
            .map(|s| check(&hc, s).map(|c| c.status))
            .collect::<Vec<_>>()
    };
    assert!(
        statuses().iter().all(|s| s.as_deref() == Some("up")),
        "{:?}",
        statuses()
    );
    let installed = [
        "/etc/miraclemax",
        "/usr/local/bin/miraclemax-self-heal",
        "/usr/local/bin/miraclemax-status",
        "/usr/local/bin/miraclemax-heartbeat",
        "/usr/local/lib/miraclemax",
    ];

    // Without hosts named, nothing is touched.
    let unnamed = run("remove-monitoring.yml", &[]);
    assert!(!unnamed.status.success());
    let said = String::from_utf8_lossy(&unnamed.stdout);
    assert!(
        said.contains("Name the hosts to take MiracleMax off"),
        "{said}"
    );
    assert_eq!(is_active(h, "miraclemax-self-heal.service"), "active");

    // --check says what it would do and does nothing.
    let target = format!("miraclemax_hosts={}", h.name);
    let writes = hc.writes();
    let dry = succeeded(&run("remove-monitoring.yml", &["-e", &target, "--check"]));
    assert!(
        dry.contains(&format!("Would pause the Healthchecks check {}:", h.name)),
        "{dry}"
    );
    assert_eq!(hc.writes(), writes);
    assert_eq!(is_active(h, "miraclemax-self-heal.service"), "active");
    assert!(installed.iter().all(|p| exists(h, p)));

    let out = succeeded(&run("remove-monitoring.yml", &["-e", &target]));
    for slug in &slugs {
        assert!(
            out.contains(&format!("Paused the Healthchecks check {slug}:")),
            "{out}"
        );
    }
    assert_eq!(
        statuses(),
        [Some("paused".to_string()), Some("paused".to_string())]
    );
    assert!(
        !h.ssh(&["systemctl", "cat", "miraclemax-self-heal"])
            .unwrap()
            .status
            .success(),
        "the unit is gone"
    );
    for path in installed {
        assert!(!exists(h, path), "{path} removed");
    }
    let crontab = String::from_utf8_lossy(&h.ssh(&["crontab", "-l"]).unwrap().stdout).to_string();
    assert!(!crontab.contains("miraclemax"), "{crontab}");
    assert!(
        exists(h, "/var/lib/miraclemax"),
        "the state is kept unless asked"
    );

    // Again, through mmctl: nothing left to change, nothing written to Healthchecks. A group
    // that reaches the host without naming it is refused first.
    let pw = password.to_str().unwrap();
    let group = mmctl_out(
        &inv,
        &["uninstall", "miraclemax", "--vault-password-file", pw],
    );
    assert_eq!(group.status.code(), Some(1));
    let said = String::from_utf8_lossy(&group.stderr);
    assert!(
        said.contains("'miraclemax' reaches 1 host(s) it does not name"),
        "{said}"
    );
    let writes = hc.writes();
    let again = mmctl_out(
        &inv,
        &[
            "uninstall",
            &h.name,
            "--vault-password-file",
            pw,
            "-e",
            &api_url,
        ],
    );
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        said.contains(&format!("mmctl: {}: ok, nothing to change", h.name)),
        "no change the second time: {said}"
    );
    assert_eq!(hc.writes(), writes);

    // A deploy brings it back: the checks resumed, and it heals.
    succeeded(&run("deploy-complete-monitoring.yml", &[]));
    assert!(
        statuses().iter().all(|s| s.as_deref() != Some("paused")),
        "{:?}",
        statuses()
    );
    wait_until(
        Duration::from_secs(20),
        "the daemon watching example",
        || {
            h.ssh_ok(&["miraclemax-status", "--json"])
                .is_ok_and(|s| s.contains("example.service is active"))
        },
    );
    h.ssh_ok(&["systemctl", "stop", "example.service"]).unwrap();
    smtp.wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(30));
    assert_eq!(is_active(h, "example.service"), "active");
}
