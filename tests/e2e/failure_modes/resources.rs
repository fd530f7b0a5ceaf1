//! The rows of a service that is up and answering but failing the people who use it: a memory
//! leak and a CPU spin, seen through the service's resource rules (`limits:`) and healed by a
//! restart. Both services wait for a file before they misbehave, and a restarted one does not
//! misbehave again (the file is gone), so each fault is exactly one incident.

use super::lab::{Lab, TEST, line_of, secs, wait};
use mm_testbed::anyhow::{Result, ensure};
use mm_testbed::matrix::Row;
use std::time::{Duration, Instant};

/// Grows by 1 MiB every 20 ms to 100 MiB once /run/mm-leak appears, then holds it.
pub const LEAKY: &str = r#"#!/usr/bin/python3
import os, time
held = []
while True:
    if os.path.exists("/run/mm-leak"):
        os.remove("/run/mm-leak")
        for _ in range(100):
            held.append(b"x" * (1 << 20))
            time.sleep(0.02)
    time.sleep(0.2)
"#;

/// Spins on one core once /run/mm-spin appears.
pub const SPINNER: &str = r#"#!/usr/bin/python3
import os, time
while True:
    if os.path.exists("/run/mm-spin"):
        os.remove("/run/mm-spin")
        while True:
            pass
    time.sleep(0.2)
"#;

/// The two services as host_vars list them.
pub const SERVICES: &str = "  - {name: leaky, critical: false, limits: {memory: 40MiB, for: 2}}\n  \
     - {name: spinner, critical: false, limits: {cpu: 50%, for: 2}}\n";

/// How long after its report a service is watched for a second incident: two looks and more.
const QUIET: Duration = Duration::from_secs(25);

struct Seen {
    cause: String,
    after: String,
    took: Duration,
}

/// Touches `trigger`, waits for the service's RESOLVED report, and checks it was one incident:
/// a new process, one restart, no second report after two more looks.
fn heal_once(lab: &Lab, service: &str, trigger: &str) -> Result<Seen> {
    let unit = format!("{service}.service");
    let subject = format!("✅ MiracleMax: {service} - RESOLVED");
    let before = lab.main_pid(&unit)?;
    let t = Instant::now();
    lab.ssh(&["touch", trigger])?;
    let mail = lab.mail(&subject, Duration::from_secs(90))?;
    let took = t.elapsed();
    ensure!(lab.is_active(&unit) == "active", "{unit} active again");
    ensure!(lab.main_pid(&unit)? != before, "{unit} runs a new process");
    let restarts = mail
        .body
        .matches(&format!("Executed: systemctl restart {unit}"))
        .count();
    ensure!(restarts == 1, "one restart, not {restarts}: {}", mail.body);
    let after = mail
        .body
        .lines()
        .find_map(|l| {
            l.split_once(". After the heal: ")
                .map(|(_, a)| a.to_string())
        })
        .unwrap_or_default();
    ensure!(
        after.ends_with(": within its limits"),
        "the figures after the heal: {}",
        mail.body
    );
    std::thread::sleep(QUIET);
    let detected = lab
        .events(service)
        .iter()
        .filter(|e| *e == "detected")
        .count();
    ensure!(
        detected == 1 && lab.smtp.count(&subject) == 1,
        "one incident: {detected} detected, {} reports",
        lab.smtp.count(&subject)
    );
    Ok(Seen {
        cause: line_of(&mail.body, "ROOT CAUSE: ").to_string(),
        after,
        took,
    })
}

pub fn memory_leak(lab: &Lab) -> Result<Row> {
    let seen = heal_once(lab, "leaky", "/run/mm-leak")?;
    ensure!(
        seen.cause.starts_with("Resource limit: memory ")
            && seen
                .cause
                .ends_with("above its limit of 40 MiB for 2 checks: a leak?"),
        "root cause: {}",
        seen.cause
    );
    Ok(row(
        "13-memory-leak",
        "Memory leak (service up and answering)",
        "leaky.service grows by 1 MiB every 20 ms to 100 MiB and holds it; its rule: \
         limits: {memory: 40MiB, for: 2}",
        "leaky",
        &seen,
    ))
}

pub fn cpu_spin(lab: &Lab) -> Result<Row> {
    // The leak's host is quiet again before the spin starts.
    wait(Duration::from_secs(10), "spinner active", || {
        Ok(lab.is_active("spinner.service") == "active")
    })?;
    let seen = heal_once(lab, "spinner", "/run/mm-spin")?;
    ensure!(
        seen.cause.starts_with("Resource limit: CPU ")
            && seen
                .cause
                .ends_with("above its limit of 50 % for 2 checks: spinning?"),
        "root cause: {}",
        seen.cause
    );
    Ok(row(
        "14-cpu-spin",
        "CPU spin (service up and answering)",
        "spinner.service loops on one core; its rule: limits: {cpu: 50%, for: 2}",
        "spinner",
        &seen,
    ))
}

fn row(id: &str, failure: &str, injected: &str, service: &str, seen: &Seen) -> Row {
    Row {
        id: id.into(),
        failure: failure.into(),
        injected: injected.into(),
        self_healing: format!(
            "Restarted once (service_restart), verified healthy; root cause: {}; after the heal: {}",
            seen.cause, seen.after
        ),
        healthchecks: "Not involved: the server and its daemon are up".into(),
        received: format!("1 email '✅ MiracleMax: {service} - RESOLVED'; no second incident"),
        recovery: format!(
            "{} from the fault to the report (default 10 s looks, two in a row over the rule)",
            secs(seen.took)
        ),
        test: TEST.into(),
    }
}
