//! The rows of a service running but failing its users in a way its state does not show: its
//! memory leaking, its CPU spinning (resource rules), its queries refused or hanging while its
//! port stays open (a check command). Each fault is set off in a service deployed with its
//! rule or check, on the host's default or short interval, and the row says what was seen.

use super::lab::{Lab, TEST, healing_time, line_of, secs, wait};
use super::layer1::{logs_in_ping, nth_mail, resolved};
use mm_testbed::anyhow::{Result, ensure};
use mm_testbed::matrix::Row;
use std::time::{Duration, Instant};

/// Grows by 5 MiB of resident memory every half second once /run/mm-leak appears (up to
/// 300 MiB); a fresh process does not leak.
pub const LEAKY: &str = r#"#!/usr/bin/python3
import os, time
held = []
leaking = False
while True:
    if os.path.exists("/run/mm-leak"):
        os.unlink("/run/mm-leak")
        leaking = True
    if leaking and len(held) < 60:
        held.append(bytearray(b"x") * (5 << 20))
    time.sleep(0.5)
"#;

/// Spins one core once /run/mm-spin appears; a fresh process does not.
pub const SPINNER: &str = r#"#!/usr/bin/python3
import os, time
while True:
    if os.path.exists("/run/mm-spin"):
        os.unlink("/run/mm-spin")
        while True:
            pass
    time.sleep(0.5)
"#;

/// A queue answering PING with PONG on 127.0.0.1:8095. SIGUSR2: it answers "ERR not ready"
/// from then on (refusing work, its port open); SIGUSR1: it accepts and never answers.
pub const QUEUE: &str = r#"#!/usr/bin/python3
import signal, socket
mode = ["ok"]
signal.signal(signal.SIGUSR2, lambda *a: mode.__setitem__(0, "refuse"))
signal.signal(signal.SIGUSR1, lambda *a: mode.__setitem__(0, "hang"))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8095))
s.listen(16)
hung = []
while True:
    c, _ = s.accept()
    if mode[0] == "hang":
        hung.append(c)
        continue
    c.recv(64)
    c.sendall(b"PONG\n" if mode[0] == "ok" else b"ERR not ready\n")
    c.close()
"#;

/// The queue's check command: asks PING, exits 2 unless the answer is PONG; no timeout of
/// its own.
pub const QUEUE_PING: &str = r#"#!/usr/bin/python3
import socket, sys
s = socket.create_connection(("127.0.0.1", 8095))
s.sendall(b"PING\n")
answer = s.makefile().readline().strip()
if answer != "PONG":
    print("queue answered %r" % answer, file=sys.stderr)
    sys.exit(2)
"#;

/// The services and rules host 0 watches for these rows.
pub const RULED: &str = "  - {name: leaky, critical: false, limits: {memory: 64MiB, for: 2}}\n  \
                         - {name: spinner, critical: false, limits: {cpu: 50%, for: 2}}\n";

/// The service host 1 watches with a check command, as nobody, 3 s at most.
pub const CHECKED: &str = "  - {name: queue, port: 8095, critical: false, health: {command: \
                           [/usr/local/bin/mm-queue-ping], user: nobody, timeout: 3s}}\n";

/// One fault set off by `trigger` in `unit`: waits for its RESOLVED report, checks the unit
/// runs a new process, and that no second report follows within `quiet` (the new process is
/// within its rule). The report's body and the time from the fault to it.
fn healed_once(
    lab: &Lab,
    unit: &str,
    trigger: &[&str],
    quiet: Duration,
) -> Result<(String, Duration, String)> {
    let service = unit.trim_end_matches(".service");
    let seen = lab.pings().len();
    let subject = resolved(service);
    let before = lab.main_pid(unit)?;
    let t = Instant::now();
    lab.ssh(trigger)?;
    let mail = nth_mail(lab, &subject, 1, Duration::from_secs(120))?;
    let took = t.elapsed();
    ensure!(lab.is_active(unit) == "active", "{unit} active again");
    ensure!(lab.main_pid(unit)? != before, "{unit} runs a new process");
    std::thread::sleep(quiet);
    ensure!(
        lab.smtp.count(&subject) == 1,
        "one report per incident: {} '{subject}' within {quiet:?} of the first",
        lab.smtp.count(&subject)
    );
    let restarts = lab
        .events(service)
        .iter()
        .filter(|e| e.as_str() == "resolved")
        .count();
    ensure!(restarts == 1, "{service}: {restarts} heals, expected 1");
    let ping = logs_in_ping(lab, seen, &[service])?;
    Ok((mail.body, took, ping))
}

pub fn memory_leak(lab: &Lab) -> Result<Row> {
    let (body, took, ping) = healed_once(
        lab,
        "leaky.service",
        &["touch", "/run/mm-leak"],
        Duration::from_secs(30),
    )?;
    let cause = line_of(&body, "ROOT CAUSE: ");
    ensure!(
        cause.starts_with("Resource limit: memory ")
            && cause.ends_with("above its limit of 64 MiB for 2 checks: a leak?"),
        "root cause: {body}"
    );
    let after = body
        .lines()
        .find(|l| l.contains("After the heal: memory "))
        .unwrap_or_default()
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ' ');
    ensure!(
        after.ends_with("within its limits"),
        "figures after: {body}"
    );
    Ok(Row {
        id: "13-memory-leak".into(),
        failure: "Memory leak".into(),
        injected: "the service grows its resident memory by 10 MiB/s, under the rule \
                   `limits: {memory: 64MiB, for: 2}` (default 10 s interval)"
            .into(),
        self_healing: format!(
            "Restarted once (service_restart) after 2 looks over the rule, verified within it; \
             root cause: {cause}; {after}"
        ),
        healthchecks: format!("Logs in ping: the next heartbeat lists the heal ({ping})"),
        received: format!("1 email '{}', none after", resolved("leaky")),
        recovery: format!(
            "{} from the leak's start to the report (HEALING TIME {} s)",
            secs(took),
            healing_time(&body).unwrap_or(f64::NAN)
        ),
        test: TEST.into(),
    })
}

pub fn cpu_spin(lab: &Lab) -> Result<Row> {
    let (body, took, ping) = healed_once(
        lab,
        "spinner.service",
        &["touch", "/run/mm-spin"],
        Duration::from_secs(30),
    )?;
    let cause = line_of(&body, "ROOT CAUSE: ");
    ensure!(
        cause.starts_with("Resource limit: CPU ")
            && cause.ends_with("above its limit of 50 % for 2 checks: spinning?"),
        "root cause: {body}"
    );
    let after = body
        .lines()
        .find(|l| l.contains("After the heal: CPU "))
        .unwrap_or_default()
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ' ');
    ensure!(
        after.ends_with("within its limits"),
        "figures after: {body}"
    );
    Ok(Row {
        id: "14-cpu-spin".into(),
        failure: "CPU spin".into(),
        injected: "the service spins one core (a busy loop), under the rule `limits: {cpu: 50%, \
                   for: 2}` (default 10 s interval)"
            .into(),
        self_healing: format!(
            "Restarted once (service_restart) after 2 looks over the rule, verified within it; \
             root cause: {cause}; {after}"
        ),
        healthchecks: format!("Logs in ping: the next heartbeat lists the heal ({ping})"),
        received: format!("1 email '{}', none after", resolved("spinner")),
        recovery: format!(
            "{} from the spin's start to the report (HEALING TIME {} s)",
            secs(took),
            healing_time(&body).unwrap_or(f64::NAN)
        ),
        test: TEST.into(),
    })
}

/// The queue refuses work with its port open, then (once healed) hangs: each healed through
/// its check command. Two rows.
#[allow(clippy::too_many_lines)] // two faults injected in turn, each consequence checked in the order it happens
pub fn check_command(lab: &Lab) -> Result<Vec<Row>> {
    let subject = resolved("queue");
    let seen = lab.pings().len();
    let pid = lab.main_pid("queue.service")?;
    let t = Instant::now();
    lab.ssh(&[
        "systemctl",
        "kill",
        "-s",
        "USR2",
        "--kill-whom=main",
        "queue.service",
    ])?;
    let refused = nth_mail(lab, &subject, 1, Duration::from_secs(60))?;
    let refused_took = t.elapsed();
    ensure!(
        lab.is_active("queue.service") == "active",
        "queue active again"
    );
    let refused_cause = line_of(&refused.body, "ROOT CAUSE: ").to_string();
    ensure!(
        refused_cause
            == "Health check failing: running, but its check command \
                /usr/local/bin/mm-queue-ping exited with status 2: queue answered 'ERR not ready'",
        "root cause: {}",
        refused.body
    );
    ensure!(
        refused.body.contains(
            "queue.service is active, port 8095 is listening, check command \
                               /usr/local/bin/mm-queue-ping exited 0"
        ),
        "verified by the check: {}",
        refused.body
    );
    ensure!(lab.main_pid("queue.service")? != pid, "a new queue process");

    let t = Instant::now();
    lab.ssh(&[
        "systemctl",
        "kill",
        "-s",
        "USR1",
        "--kill-whom=main",
        "queue.service",
    ])?;
    let hung = nth_mail(lab, &subject, 2, Duration::from_secs(60))?;
    let hung_took = t.elapsed();
    ensure!(
        lab.is_active("queue.service") == "active",
        "queue active again"
    );
    let hung_cause = line_of(&hung.body, "ROOT CAUSE: ").to_string();
    ensure!(
        hung_cause
            == "Health check failing: running, but its check command \
                /usr/local/bin/mm-queue-ping did not finish within 3s and was killed with its \
                process group",
        "root cause: {}",
        hung.body
    );
    // No check left behind: every run is gone by its timeout (the healthy ones at once).
    wait(
        Duration::from_secs(10),
        "no check command older than its timeout",
        || {
            let ages = lab
                .host
                .ssh(&["ps", "-C", "mm-queue-ping", "-o", "etimes=,user="])?;
            let ages = String::from_utf8_lossy(&ages.stdout).to_string();
            Ok(ages.lines().all(|l| {
                let mut f = l.split_whitespace();
                let age: u64 = f.next().and_then(|a| a.parse().ok()).unwrap_or(0);
                age <= 4 && f.next() == Some("nobody")
            }))
        },
    )?;
    let ping = logs_in_ping(lab, seen, &["queue"])?;
    let row = |id: &str, failure: &str, injected: &str, cause: &str, took, body: &str| Row {
        id: id.into(),
        failure: failure.into(),
        injected: injected.into(),
        self_healing: format!(
            "Restarted (service_restart), verified by the same check command; root cause: {cause}"
        ),
        healthchecks: format!("Logs in ping: the heartbeats list the heals ({ping})"),
        received: format!("1 email '{subject}'"),
        recovery: format!(
            "{} from the fault to the report (HEALING TIME {} s)",
            secs(took),
            healing_time(body).unwrap_or(f64::NAN)
        ),
        test: TEST.into(),
    };
    Ok(vec![
        row(
            "15-check-command-fails",
            "Check command fails (port open)",
            "a queue service keeps its port open but answers ERR to every query; its check \
             command (`health.command`, run as nobody, 2 s interval) exits 2",
            &refused_cause,
            refused_took,
            &refused.body,
        ),
        row(
            "16-check-command-hangs",
            "Check command hangs",
            "the queue accepts connections and never answers; its check command waits with no \
             timeout of its own (`health.timeout: 3s`)",
            &format!("{hung_cause}; no check process outlived its timeout"),
            hung_took,
            &hung.body,
        ),
    ])
}
