//! The rows layer 1 answers: the app crashes, the port is taken, its own config is broken, it
//! restarts in a loop, many services fall at once. Each scenario injects the fault on a
//! deployed host and returns the row it saw.

use super::lab::{Lab, TEST, healing_time, line_of, secs, wait};
use mm_testbed::anyhow::{Result, bail, ensure};
use mm_testbed::matrix::Row;
use mm_testbed::smtp::Mail;
use std::time::{Duration, Instant};

pub fn resolved(service: &str) -> String {
    format!("✅ MiracleMax: {service} - RESOLVED")
}

fn failed(service: &str) -> String {
    format!("❌ MiracleMax: {service} - FAILED")
}

/// The `n`th (1-based) email with this subject.
pub fn nth_mail(lab: &Lab, subject: &str, n: usize, timeout: Duration) -> Result<Mail> {
    wait(timeout, &format!("email #{n} '{subject}'"), || {
        Ok(lab.smtp.count(subject) >= n)
    })?;
    Ok(lab
        .smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject == subject)
        .nth(n - 1)
        .expect("counted"))
}

/// The heartbeats after the first `seen` pings list each heal of `healed` (the user's "Logs in
/// ping"): each ping lists the events since the last successful one, so a heal shows in the
/// first ping after it. The line naming the first service.
pub fn logs_in_ping(lab: &Lab, seen: usize, healed: &[&str]) -> Result<String> {
    let listed = |service: &str| -> Option<String> {
        let needle = format!(" {service} resolved: ");
        lab.pings()
            .into_iter()
            .skip(seen)
            .filter(|p| p.kind == "success")
            .find_map(|p| {
                p.body
                    .lines()
                    .find(|l| l.contains(&needle))
                    .map(str::to_string)
            })
    };
    wait(
        Duration::from_secs(150),
        "heartbeats listing every heal",
        || Ok(healed.iter().all(|s| listed(s).is_some())),
    )?;
    Ok(listed(healed[0]).unwrap_or_default().trim().to_string())
}

pub fn app_crash(lab: &Lab) -> Result<Row> {
    let seen = lab.pings().len();
    let subject = resolved("shop");
    let faults: [(&str, &[&str]); 3] = [
        (
            "kill -9 of the main process",
            &[
                "systemctl",
                "kill",
                "-s",
                "KILL",
                "--kill-whom=main",
                "shop.service",
            ],
        ),
        (
            "exit 1 (the app's own error exit)",
            &[
                "systemctl",
                "kill",
                "-s",
                "USR1",
                "--kill-whom=main",
                "shop.service",
            ],
        ),
        (
            "SIGKILL of every process of the unit, as the OOM killer sends",
            &["systemctl", "kill", "-s", "KILL", "shop.service"],
        ),
    ];
    let mut causes = Vec::new();
    let mut times = Vec::new();
    for (i, (_, cmd)) in faults.iter().enumerate() {
        let before = lab.main_pid("shop.service")?;
        lab.ssh(cmd)?;
        let mail = nth_mail(lab, &subject, i + 1, Duration::from_secs(40))?;
        ensure!(
            lab.is_active("shop.service") == "active",
            "shop active again"
        );
        ensure!(lab.main_pid("shop.service")? != before, "a new process");
        let cause = line_of(&mail.body, "ROOT CAUSE: ").to_string();
        let want = ["signal 9", "status 1", "signal 9"][i];
        ensure!(
            cause.contains(want) || cause.contains(&want.replace("signal 9", "SIGKILL")),
            "root cause of fault {i}: {}",
            mail.body
        );
        causes.push(cause);
        times.push(healing_time(&mail.body).unwrap_or(f64::NAN));
    }
    let ping = logs_in_ping(lab, seen, &["shop"])?;
    Ok(Row {
        id: "1-app-crash".into(),
        failure: "App crash".into(),
        injected: faults.map(|(how, _)| how).join("; "),
        self_healing: format!(
            "Restarted each time (service_restart), verified healthy; root causes: {}",
            causes.join("; ")
        ),
        healthchecks: format!("Logs in ping: the next heartbeat lists the heals ({ping})"),
        received: format!("3 emails '{subject}'"),
        recovery: format!(
            "{} (HEALING TIME of each report)",
            times
                .iter()
                .map(|t| format!("{t:.1} s"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        test: TEST.into(),
    })
}

#[allow(clippy::too_many_lines)] // one fault injected and its every consequence checked, in the order they happen
pub fn port_conflict(lab: &Lab) -> Result<Row> {
    let seen = lab.pings().len();
    let pids = |unit: &str| lab.main_pid(unit);
    let sshd = lab.ssh(&["pgrep", "-o", "-x", "sshd"])?.trim().to_string();
    let daemon = pids("miraclemax-self-heal.service")?;
    // A unit nobody configured, killed: not the healer's business.
    lab.ssh(&[
        "systemd-run",
        "--unit=unwatched",
        "--",
        "/bin/sleep",
        "1000",
    ])?;
    lab.ssh(&["systemctl", "kill", "-s", "KILL", "unwatched.service"])?;
    lab.ssh(&["miraclemax-self-heal", "pause", "example", "--for", "10m"])?;
    lab.ssh(&["systemctl", "stop", "example.service"])?;
    for (unit, port) in [("stray", "8080"), ("bystander", "8099")] {
        lab.ssh(&[
            "systemd-run",
            &format!("--unit={unit}"),
            "--",
            "/usr/bin/python3",
            "-m",
            "http.server",
            port,
        ])?;
    }
    wait(
        Duration::from_secs(15),
        "the stray process to listen",
        || {
            Ok(lab
                .host
                .ssh(&["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:8080/"])
                .is_ok_and(|o| o.status.success()))
        },
    )?;
    let stray = pids("stray.service")?;
    let t = Instant::now();
    lab.ssh(&["miraclemax-self-heal", "resume", "example"])?;
    let mail = lab.mail(&resolved("example"), Duration::from_secs(40))?;
    let took = t.elapsed();
    ensure!(
        lab.is_active("example.service") == "active",
        "example active"
    );
    ensure!(
        lab.is_active("stray.service") != "active",
        "the stray process was killed"
    );
    ensure!(
        lab.is_active("bystander.service") == "active",
        "the bystander lives"
    );
    ensure!(
        pids("miraclemax-self-heal.service")? == daemon,
        "the daemon lives"
    );
    ensure!(
        lab.ssh(&["pgrep", "-o", "-x", "sshd"])?.trim() == sshd,
        "sshd lives"
    );
    ensure!(
        lab.is_active("unwatched.service") != "active" && lab.events("unwatched").is_empty(),
        "a unit not in monitored_services is left alone"
    );
    ensure!(
        mail.body.contains(&format!("pid {stray}")) || mail.body.contains(&format!("PID {stray}")),
        "the report names the killed process {stray}: {}",
        mail.body
    );
    let ping = logs_in_ping(lab, seen, &["example"])?;
    Ok(Row {
        id: "3-port-conflict".into(),
        failure: "Port conflict".into(),
        injected: "example.service stopped and a stray python http.server started on its port \
                   8080 (another on 8099 as a bystander)"
            .into(),
        self_healing: format!(
            "port_conflict killed the stray process (pid {stray}) and started the unit; the \
             bystander, sshd, PID 1 and the daemon itself untouched, and a killed unit \
             that is not in monitored_services left down; {}",
            line_of(&mail.body, "ROOT CAUSE: ")
        ),
        healthchecks: format!("Logs in ping: the next heartbeat lists the heal ({ping})"),
        received: format!(
            "1 email '{}' naming the killed process",
            resolved("example")
        ),
        recovery: format!(
            "{} from the resume to the report (HEALING TIME {} s)",
            secs(took),
            healing_time(&mail.body).unwrap_or(f64::NAN)
        ),
        test: TEST.into(),
    })
}

#[allow(clippy::too_many_lines)] // one fault injected and its every consequence checked, in the order they happen
pub fn config_error(lab: &Lab) -> Result<Row> {
    lab.host.write("/etc/billing.conf", "port = eighty\n")?;
    lab.ssh(&["systemctl", "kill", "-s", "KILL", "billing.service"])?;
    let mail = lab.mail(&failed("billing"), Duration::from_secs(60))?;
    let journal = mail
        .body
        .split("LAST JOURNAL LINES (billing.service):\n")
        .nth(1)
        .unwrap_or("");
    ensure!(
        journal.contains("billing: /etc/billing.conf line 1: 'eighty' is not a port number"),
        "the service's own error lines are quoted: {}",
        mail.body
    );
    let cause = line_of(&mail.body, "ROOT CAUSE: ").to_string();
    ensure!(cause.contains("Configuration error"), "{}", mail.body);
    // The breaker is open: no attempt until its window ends, however often it is looked at.
    std::thread::sleep(Duration::from_secs(10));
    let detected = lab
        .events("billing")
        .iter()
        .filter(|e| *e == "detected")
        .count();
    ensure!(
        detected == 1,
        "one attempt while the breaker is open: {:?}",
        lab.events("billing")
    );
    ensure!(lab.smtp.count(&failed("billing")) == 1, "one FAILED email");
    // Escalated: the next heartbeat fails the server check with the reason.
    let seen = lab.pings().len();
    lab.heartbeat_now()?;
    let escalated = lab
        .pings()
        .into_iter()
        .skip(seen)
        .find(|p| p.kind == "fail");
    let Some(escalated) = escalated else {
        bail!("no /fail after the FAILED report: {:?}", lab.pings().last());
    };
    let reason = escalated.body.lines().next().unwrap_or("").to_string();
    ensure!(
        reason.starts_with("FAIL: ") && reason.contains("billing"),
        "{}",
        escalated.body
    );
    wait(Duration::from_secs(10), "the check DOWN", || {
        Ok(lab.status() == "down")
    })?;

    // Fixed by a human, who resets nothing: the daemon tries again when its window ends.
    lab.host.write("/etc/billing.conf", "port = 8091\n")?;
    let fixed = Instant::now();
    let healed = lab.mail(&resolved("billing"), Duration::from_secs(150))?;
    let took = fixed.elapsed();
    ensure!(
        lab.is_active("billing.service") == "active",
        "billing active"
    );
    lab.heartbeat_now()?;
    wait(Duration::from_secs(10), "the check UP", || {
        Ok(lab.status() == "up")
    })?;
    Ok(Row {
        id: "4-config-error".into(),
        failure: "Config error".into(),
        injected: "the service's own config file made invalid (port = eighty), then the \
                   service crashed, so every restart fails at start (exit 78)"
            .into(),
        self_healing: format!(
            "Tried its strategies once, then the breaker stopped retrying ({cause}); when the \
             file was fixed it healed the service at the end of heal_window, with no reset"
        ),
        healthchecks: format!(
            "Escalated: the next heartbeat sent /fail (\"{reason}\"), the check went DOWN; UP \
             again at the first heartbeat after the heal"
        ),
        received: format!(
            "1 email '{}' quoting the service's own error line and Healthchecks' DOWN, then '{}' \
             and UP once fixed",
            failed("billing"),
            resolved("billing")
        ),
        recovery: format!(
            "{} from the fix to the report (heal_window 60 s here, 15 min by default); \
             HEALING TIME {} s",
            secs(took),
            healing_time(&healed.body).unwrap_or(f64::NAN)
        ),
        test: TEST.into(),
    })
}

pub fn restart_loop(lab: &Lab) -> Result<Row> {
    // From now on it exits 4 s after each start.
    lab.ssh(&["touch", "/run/looper-broken"])?;
    let start = Instant::now();
    lab.ssh(&["systemctl", "kill", "-s", "KILL", "looper.service"])?;
    let mail = lab.mail(&failed("looper"), Duration::from_secs(90))?;
    ensure!(
        mail.body.contains("needed healing 3 times within"),
        "{}",
        mail.body
    );
    // Left alone for the rest of the window: no restart, no second report.
    std::thread::sleep(Duration::from_secs(15));
    let heals = lab
        .events("looper")
        .iter()
        .filter(|e| *e == "detected")
        .count();
    let restarts = lab.smtp.count(&resolved("looper"));
    ensure!(lab.smtp.count(&failed("looper")) == 1, "one FAILED report");
    ensure!(
        restarts <= 3,
        "{restarts} heals, more than heal_attempts (3)"
    );
    ensure!(lab.is_active("looper.service") != "active", "left alone");
    lab.ssh(&["miraclemax-self-heal", "pause", "looper", "--for", "1h"])?;
    Ok(Row {
        id: "10-restart-loop".into(),
        failure: "Restart loop".into(),
        injected: "a service that exits 4 s after each start".into(),
        self_healing: format!(
            "{restarts} restarts (heal_attempts: 3 per heal_window), then the breaker tripped \
             and it was left alone ({heals} incidents opened)"
        ),
        healthchecks: "looper is not critical here, so the server check stays up (a critical \
                       one is escalated as under Config error)"
            .into(),
        received: format!(
            "{restarts} emails '{}' then exactly 1 '{}' (\"{}\")",
            resolved("looper"),
            failed("looper"),
            mail.body
                .lines()
                .find(|l| l.contains("needed healing"))
                .unwrap_or("")
                .trim()
        ),
        recovery: format!(
            "breaker tripped {} after the first start",
            secs(start.elapsed())
        ),
        test: TEST.into(),
    })
}

/// Kills `victims` in one systemctl call; how long until each has its RESOLVED report.
fn storm(lab: &Lab, victims: &[String]) -> Result<Duration> {
    let before: Vec<usize> = victims
        .iter()
        .map(|v| lab.smtp.count(&resolved(v)))
        .collect();
    let mut cmd = vec!["systemctl", "kill", "-s", "KILL", "--kill-whom=main"];
    let units: Vec<String> = victims.iter().map(|v| format!("{v}.service")).collect();
    cmd.extend(units.iter().map(String::as_str));
    let t = Instant::now();
    lab.ssh(&cmd)?;
    wait(
        Duration::from_secs(90),
        "every victim's RESOLVED email",
        || {
            Ok(victims
                .iter()
                .zip(&before)
                .all(|(v, n)| lab.smtp.count(&resolved(v)) > *n))
        },
    )?;
    for v in victims {
        if lab.is_active(&format!("{v}.service")) != "active" {
            bail!("{v} is not active after its report");
        }
    }
    Ok(t.elapsed())
}

pub fn incidents_at_once(lab: &Lab) -> Result<Row> {
    let apps: Vec<String> = (1..=10).map(|i| format!("app{i:02}")).collect();
    let seen = lab.pings().len();
    let two = storm(lab, &apps[..2])?;
    let ten = storm(lab, &apps)?;
    let names: Vec<&str> = apps.iter().map(String::as_str).collect();
    let ping = logs_in_ping(lab, seen, &names)?;
    let waited = lab
        .smtp
        .messages()
        .iter()
        .filter(|m| m.subject.starts_with("✅ MiracleMax: app") && m.body.contains("Waited "))
        .count();
    Ok(Row {
        id: "11-incidents-at-once".into(),
        failure: "Two, then ten incidents at once".into(),
        injected: "kill -9 of 2, then of 10 services in the same systemctl call".into(),
        self_healing: format!(
            "Every service healed, at most 4 acting at a time (max_concurrent_heals); {waited} heal(s) \
             waited their turn and their reports say so"
        ),
        healthchecks: format!("Logs in ping: the next heartbeat lists all ten ({ping}, ...)"),
        received: "One RESOLVED email per service per incident (2, then 10)".into(),
        recovery: format!(
            "all healed and reported in {} (2) and {} (10)",
            secs(two),
            secs(ten)
        ),
        test: TEST.into(),
    })
}
