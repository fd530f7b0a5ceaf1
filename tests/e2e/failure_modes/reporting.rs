//! The rows about the reporting paths themselves: the mail server down for ten minutes, and
//! Healthchecks hanging. Neither may lose a report, pile up heartbeat runs or slow a heal.

use super::lab::{Lab, TEST, healing_time, line_of, secs};
use mm_testbed::anyhow::{Result, ensure};
use mm_testbed::healthchecks::Forced;
use mm_testbed::matrix::Row;
use std::time::{Duration, Instant};

const RESOLVED: &str = "✅ MiracleMax: example - RESOLVED";

pub fn smtp_down(lab: &mut Lab) -> Result<Row> {
    let down_for = Duration::from_secs(600);
    let before = lab.smtp.count(RESOLVED);
    lab.smtp.pause();
    let t = Instant::now();
    let healed = lab.kill_9_until_healed("example.service")?;
    std::thread::sleep(down_for.saturating_sub(t.elapsed()));
    let retries = lab.ssh(&[
        "journalctl",
        "-t",
        "miraclemax-self-heal",
        "--no-pager",
        "-o",
        "cat",
        "--grep",
        "not sent to the mail server \\(attempt",
    ])?;
    let attempts = retries.lines().count();
    ensure!(attempts >= 2, "retried while down: {retries}");
    lab.smtp.resume()?;
    let back = Instant::now();
    let mail = lab.mail(RESOLVED, Duration::from_secs(120))?;
    let delay = back.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    ensure!(lab.smtp.count(RESOLVED) == before + 1, "exactly one report");
    let late = mail
        .body
        .lines()
        .find(|l| l.to_lowercase().contains("late"))
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(Row {
        id: "9-smtp-down".into(),
        failure: "Mail server down for 10 minutes".into(),
        injected: "the SMTP server stopped for 10 min; meanwhile example.service killed with \
                   kill -9"
            .into(),
        self_healing: format!(
            "Healed in {} as usual; the report waited in the outbox ({attempts} tries, at least \
             once a minute)",
            secs(healed)
        ),
        healthchecks: "Unaffected: the heartbeat does not depend on mail".into(),
        received: format!(
            "The one RESOLVED email, {} after the server came back{}",
            secs(delay),
            if late.is_empty() {
                String::new()
            } else {
                format!(", saying \"{late}\"")
            }
        ),
        recovery: format!(
            "service: {}; report: delivered {} after SMTP returned, none lost or doubled",
            secs(healed),
            secs(delay)
        ),
        test: TEST.into(),
    })
}

pub fn healthchecks_slow(lab: &Lab) -> Result<Row> {
    let url = format!("{}/ping/{}", lab.hc.origin(), lab.uuid);
    let seen = lab.pings().len();
    lab.ping_after(seen, Duration::from_secs(100))?;
    // Every request to this host's check hangs, for three cron minutes.
    for _ in 0..60 {
        lab.hc.force_on(&url, Forced::Hang);
    }
    let start = Instant::now();
    let from = lab.hc.received().len();
    std::thread::sleep(Duration::from_secs(40));
    lab.kill_9_until_healed("example.service")?;
    let mail = lab.mail(RESOLVED, Duration::from_secs(60))?;
    let heal = healing_time(&mail.body).unwrap_or(f64::NAN);
    ensure!(heal < 10.0, "healing not delayed: {}", mail.body);
    std::thread::sleep(Duration::from_secs(180).saturating_sub(start.elapsed()));
    lab.hc.clear_forced();
    let window = start.elapsed();

    // Runs never overlap: each run's requests (one run id) come before the next run's.
    let rids: Vec<String> = lab.hc.received()[from..]
        .iter()
        .filter(|r| r.target.contains(&lab.uuid))
        .filter_map(|r| r.target.split("rid=").nth(1).map(|s| s.to_string()))
        .collect();
    let mut runs: Vec<&String> = Vec::new();
    for rid in &rids {
        if runs.last() != Some(&rid) {
            ensure!(!runs.contains(&rid), "runs interleaved: {rids:?}");
            runs.push(rid);
        }
    }
    let minutes = window.as_secs() / 60;
    ensure!(
        (runs.len() as u64) < minutes,
        "{} runs in {minutes} cron minutes: the lock let none be skipped",
        runs.len()
    );
    let seen = lab.pings().len();
    let back = lab.ping_after(seen, Duration::from_secs(150))?;
    let previous = line_of(&back.body, "previous heartbeat: ").to_string();
    ensure!(previous.contains("not delivered"), "{}", back.body);
    Ok(Row {
        id: "12-healthchecks-slow".into(),
        failure: "Healthchecks hanging".into(),
        injected: "every request to the host's check left unanswered for 3 min; meanwhile \
                   example.service killed with kill -9"
            .into(),
        self_healing: format!(
            "Healed as usual (HEALING TIME {heal} s): it never waits on Healthchecks"
        ),
        healthchecks: format!(
            "{} heartbeat run(s) reached it in {minutes} cron minutes, never two at once (the \
             lock skipped cron's others), each ended by its deadline; the first ping delivered \
             after says \"previous heartbeat: {previous}\"",
            runs.len()
        ),
        received: "RESOLVED email as usual; Healthchecks shows the check late if it lasts past \
                   period + grace"
            .into(),
        recovery: format!("heal: {heal} s; pings delivered again at the next run"),
        test: TEST.into(),
    })
}
