//! Many failures in the same instant, on a real host: twenty copies of the example app, two or
//! all twenty of them killed with one `kill -9`, round after round. Every incident must end
//! RESOLVED: a restart is judged by the job systemd ran, never by the state the crash left, so
//! no report may say FAILED (the false FAILED of a restart systemd had already queued).

use crate::support::*;
use mm_testbed::Host;
use mm_testbed::Testbed;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const APPS: usize = 20;

fn app(i: usize) -> String {
    format!("app{i:02}")
}

/// Twenty copies of the example app, app01..app20 on ports 8101..8120, started; their entries
/// for monitored_services.
fn start_apps(host: &Host) -> String {
    let mut services = String::new();
    for i in 1..=APPS {
        host.write(
            &format!("/etc/systemd/system/{}.service", app(i)),
            &format!(
                "[Service]\nType=notify\nNotifyAccess=main\n\
                 ExecStart=/usr/bin/python3 /usr/local/bin/mm-example-app {}\n",
                8100 + i
            ),
        )
        .unwrap();
        services.push_str(&format!(
            "  - name: {}\n    port: {}\n    healing_strategies: [service_restart]\n",
            app(i),
            8100 + i
        ));
    }
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    let units: Vec<String> = (1..=APPS).map(|i| format!("{}.service", app(i))).collect();
    let mut start = vec!["systemctl", "start"];
    start.extend(units.iter().map(String::as_str));
    host.ssh_ok(&start).unwrap();
    services
}

/// Each app's last incident id and outcome, from `miraclemax-status --json`.
fn last_incidents(host: &Host) -> BTreeMap<String, (String, String)> {
    let json = host.ssh_ok(&["miraclemax-status", "--json"]).unwrap();
    let report: Value = serde_json::from_str(&json).unwrap();
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let inc = &s["last_incident"];
            Some((
                s["name"].as_str()?.to_string(),
                (
                    inc["id"].as_str().unwrap_or("").to_string(),
                    inc["outcome"].as_str().unwrap_or("").to_string(),
                ),
            ))
        })
        .collect()
}

/// Kills the main processes of `victims` with one `kill -9`, then waits until each has a new,
/// closed incident. Returns the outcomes.
fn storm(host: &Host, victims: &[String]) -> Vec<(String, String)> {
    let before = last_incidents(host);
    let pids: Vec<String> = victims
        .iter()
        .map(|v| main_pid(host, &format!("{v}.service")))
        .collect();
    let mut kill = vec!["kill", "-9"];
    kill.extend(pids.iter().map(String::as_str));
    host.ssh_ok(&kill).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = last_incidents(host);
        let closed: Vec<(String, String)> = victims
            .iter()
            .filter_map(|v| {
                let (id, outcome) = now.get(v)?;
                (Some(id) != before.get(v).map(|(id, _)| id) && !id.is_empty())
                    .then(|| (v.clone(), outcome.clone()))
            })
            .collect();
        if closed.len() == victims.len() {
            return closed;
        }
        assert!(
            Instant::now() < deadline,
            "after killing {victims:?}, only these incidents closed within 60 s: {closed:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_and_twenty_services_killed_in_the_same_instant_a_hundred_times_each_are_all_resolved() {
    let rounds: usize = std::env::var("MM_STORM_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100);
    let tb = Testbed::start(1).unwrap();
    let host = tb.host(0);
    let smtp = Smtp::start(host.gateway());
    let services = start_apps(host);
    // A fragment lifts the breaker for the storm: every kill here is a real, new failure.
    host.write(
        "/etc/miraclemax/config.d/90-storm.yaml",
        "limits:\n  heal_attempts: 100000\n  heal_window: 1m\n",
    )
    .unwrap();
    install_daemon(host, &test_config(host, &services));

    let all: Vec<String> = (1..=APPS).map(app).collect();
    let mut kills = 0;
    let mut not_resolved = Vec::new();
    for round in 0..rounds {
        for victims in [&all[round % APPS..][..2.min(APPS - round % APPS)], &all[..]] {
            kills += victims.len();
            for (service, outcome) in storm(host, victims) {
                if outcome != "resolved" {
                    not_resolved.push(format!("round {round}: {service} {outcome}"));
                }
            }
        }
    }
    assert_eq!(
        not_resolved,
        Vec::<String>::new(),
        "false FAILED or unhealed"
    );

    // What the user received: one RESOLVED report per kill, and not one FAILED.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let subjects: Vec<String> = smtp.0.messages().into_iter().map(|m| m.subject).collect();
        let failed: Vec<&String> = subjects.iter().filter(|s| s.contains("FAILED")).collect();
        assert_eq!(failed, Vec::<&String>::new());
        let resolved = subjects
            .iter()
            .filter(|s| s.ends_with("- RESOLVED"))
            .count();
        if resolved == kills {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{resolved} of {kills} RESOLVED reports arrived within 5 minutes"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}
