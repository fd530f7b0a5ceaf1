//! Many failures in the same instant, on a real host: twenty small services, two or all twenty
//! of them killed with one `kill -9`, round after round. Every incident must end
//! RESOLVED: a restart is judged by the job systemd ran, never by the state the crash left, so
//! no report may say FAILED (the false FAILED of a restart systemd had already queued).
//! On a Debian 12 and a Debian 13 host at the same time: each release's systemd queues and
//! reports the restarts its own way.

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

/// Twenty services app01..app20, started; their entries for monitored_services. Each is
/// `Type=notify` (activating until it says it is ready, as real daemons are) and cheap to
/// start, so a round costs the healer's work, not the services' own start-up.
fn start_apps(host: &Host) -> String {
    let mut services = String::new();
    for i in 1..=APPS {
        host.write(
            &format!("/etc/systemd/system/{}.service", app(i)),
            // No start rate limit: systemd's own (5 starts in 10 s) would rightly refuse the
            // storm's restarts, and this test is about the healer's judgement.
            &notify_unit("StartLimitIntervalSec=0\n", ""),
        )
        .unwrap();
        services.push_str(&format!(
            "  - name: {}\n    healing_strategies: [service_restart]\n",
            app(i)
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
    // It exits 1 while a critical service is down: the JSON is printed all the same.
    let out = host.ssh(&["miraclemax-status", "--json"]).unwrap();
    let json = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("miraclemax-status --json ({e}): {json}"));
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
    let mut show = vec!["systemctl", "show", "-p", "MainPID", "--value"];
    let units: Vec<String> = victims.iter().map(|v| format!("{v}.service")).collect();
    show.extend(units.iter().map(String::as_str));
    let pids: Vec<String> = host
        .ssh_ok(&show)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(pids.len(), victims.len(), "{pids:?}");
    for (v, pid) in victims.iter().zip(&pids) {
        if pid == "0" {
            let out = host
                .ssh(&[
                    "systemctl",
                    "status",
                    "--no-pager",
                    "-n",
                    "30",
                    &format!("{v}.service"),
                ])
                .unwrap();
            panic!(
                "{v} is not running before the kill:\n{}\nits events: {:?}",
                String::from_utf8_lossy(&out.stdout),
                events(host, v)
            );
        }
    }
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
                // A new incident, no longer open ("healing").
                (Some(id) != before.get(v).map(|(id, _)| id)
                    && !id.is_empty()
                    && outcome != "healing")
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
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_and_twenty_services_killed_in_the_same_instant_a_hundred_times_each_are_all_resolved() {
    let rounds: usize = std::env::var("MM_STORM_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100);
    let tb = Testbed::start_on(&BOTH).unwrap();
    on_each_host(&tb, |host| storms_on(host, rounds));
}

fn storms_on(host: &Host, rounds: usize) {
    let smtp = Smtp::start(host.gateway());
    let services = start_apps(host);
    // A fragment lifts the breaker for the storm (every kill here is a real, new failure) and
    // drops the settle time, so rounds follow each other quickly.
    host.write(
        "/etc/miraclemax/config.d/90-storm.yaml",
        "limits:\n  heal_attempts: 100000\n  heal_window: 1m\n  settle_time: 0s\n",
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
    let deadline = Instant::now()
        + Duration::from_secs(
            std::env::var("MM_STORM_MAIL_SECS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(300),
        );
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
        if Instant::now() >= deadline {
            let journal = host
                .ssh_ok(&[
                    "journalctl",
                    "-u",
                    "miraclemax-self-heal",
                    "-n",
                    "40",
                    "--no-pager",
                ])
                .unwrap_or_default();
            let outbox = host
                .ssh_ok(&["ls", "-R", "/var/lib/miraclemax/outbox"])
                .unwrap_or_default();
            let stored: Vec<_> = std::fs::read_dir(smtp.0.maildir.join("new"))
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            eprintln!("daemon journal:\n{journal}\noutbox:\n{outbox}\nstored: {stored:?}");
            if let Some(f) = stored.first() {
                eprintln!("{}", String::from_utf8_lossy(&std::fs::read(f).unwrap()));
            }
        }
        assert!(
            Instant::now() < deadline,
            "{resolved} of {kills} RESOLVED reports arrived within 5 minutes; the first subjects: {:?}",
            &subjects[..subjects.len().min(5)]
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}
