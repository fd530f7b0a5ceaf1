//! The rows only layer 2 can answer (the healer itself broken, systemd hung, the server
//! frozen, off or cut off) and the ones about the reporting paths (SMTP down, Healthchecks
//! slow). Each scenario injects the fault on a deployed host and returns the row it saw.

use super::lab::{Lab, TEST, line_of, secs, wait};
use mm_testbed::Host;
use mm_testbed::anyhow::{Result, ensure};
use mm_testbed::healthchecks::{Flip, Ping};
use mm_testbed::matrix::Row;
use std::time::{Duration, Instant};

/// The check's period and grace on these hosts (the roles' defaults: 300 and 600).
pub const PERIOD: u64 = 60;
pub const GRACE: u64 = 60;

/// What the receiver saw around a fault: the check going down, and up once it was undone.
struct Escalation {
    down: Flip,
    /// From the fault to DOWN.
    down_after: Duration,
    /// From the last ping before DOWN to DOWN (when the pings stopped).
    quiet: Option<Duration>,
    /// The ping that took it down, when it was a /fail.
    fail: Option<Ping>,
    /// From undoing the fault to UP.
    up_after: Duration,
    /// The first ping after the fault was undone.
    back: Ping,
}

fn escalation(
    lab: &mut Lab,
    inject: impl FnOnce(&mut Host) -> Result<()>,
    undo: impl FnOnce(&mut Host) -> Result<()>,
) -> Result<Escalation> {
    // Cron pings every minute: wait for one, so the check is up and the crontab works.
    let seen = lab.pings().len();
    lab.ping_after(seen, Duration::from_secs(100))?;
    let flips = lab.flips();
    let t0 = Instant::now();
    inject(lab.host)?;
    let down = lab
        .flips_after(flips, 1, Duration::from_secs(PERIOD + GRACE + 100))?
        .remove(0);
    ensure!(down.status == "down", "{down:?}");
    let before: Vec<Ping> = lab
        .pings()
        .into_iter()
        .filter(|p| p.at <= down.at)
        .collect();
    let last = before.last().cloned();
    let (quiet, fail) = match down.cause.as_str() {
        "late" => (last.map(|p| down.at.duration_since(p.at)), None),
        _ => (None, last),
    };
    let t1 = Instant::now();
    undo(lab.host)?;
    let up = lab
        .flips_after(flips + 1, 1, Duration::from_secs(200))?
        .remove(0);
    ensure!(up.status == "up", "{up:?}");
    let back = lab
        .pings()
        .into_iter()
        .find(|p| p.at > t1)
        .expect("the ping that took it up");
    Ok(Escalation {
        down_after: down.at.duration_since(t0),
        down,
        quiet,
        fail,
        up_after: up.at.duration_since(t1),
        back,
    })
}

impl Escalation {
    fn healthchecks(&self) -> String {
        let how = match (&self.quiet, &self.fail) {
            (Some(q), _) => format!(
                "Pings stopped; the check went DOWN {} after the last ping (period {PERIOD} s + grace {GRACE} s)",
                secs(*q)
            ),
            (None, Some(p)) => format!(
                "The next heartbeat sent /fail ({}); the check went DOWN at once",
                p.body.lines().next().unwrap_or("")
            ),
            (None, None) => format!("The check went DOWN ({})", self.down.cause),
        };
        format!(
            "{how}, {} after the fault; UP {} after it was undone",
            secs(self.down_after),
            secs(self.up_after)
        )
    }

    /// The first ping back's line about the previous run.
    fn back_line(&self) -> String {
        let mut lines: Vec<&str> = self
            .back
            .body
            .lines()
            .filter(|l| {
                l.starts_with("previous heartbeat: ") || l.starts_with("the host restarted")
            })
            .collect();
        lines.truncate(2);
        lines.join(" / ")
    }

    fn received(&self) -> String {
        format!(
            "Healthchecks' DOWN email, then UP; the first ping back says \"{}\"",
            self.back_line()
        )
    }
}

pub fn systemd_hang(lab: &mut Lab) -> Result<Row> {
    let e = escalation(lab, |h| h.freeze_systemd(), |h| h.thaw_systemd())?;
    lab.until_active("miraclemax-self-heal.service", Duration::from_secs(60))?;
    lab.until_active("example.service", Duration::from_secs(30))?;
    Ok(Row {
        id: "5-systemd-hang".into(),
        failure: "Systemd hang".into(),
        injected: "PID 1 (systemd) frozen with SIGSTOP from outside the host; every other \
                   process runs on"
            .into(),
        self_healing: "Cannot fix: it heals through systemd, which does not answer".into(),
        healthchecks: e.healthchecks(),
        received: e.received(),
        recovery: format!(
            "needs you (or a reboot); once systemd ran again, the check was UP in {}",
            secs(e.up_after)
        ),
        test: TEST.into(),
    })
}

pub fn server_crash(lab: &mut Lab) -> Result<Row> {
    let e = escalation(lab, |h| h.freeze(), |h| h.thaw())?;
    ensure!(
        e.back.body.contains("previous heartbeat: "),
        "the first ping back says when the previous ran: {}",
        e.back.body
    );
    lab.until_active("miraclemax-self-heal.service", Duration::from_secs(60))?;
    Ok(Row {
        id: "6-server-crash".into(),
        failure: "Server crash".into(),
        injected: "every process of the host frozen at once (a hung kernel or hypervisor)".into(),
        self_healing: "Cannot fix: it is frozen with the rest".into(),
        healthchecks: e.healthchecks(),
        received: e.received(),
        recovery: format!(
            "needs you (a reset); the check was UP {} after the host ran again",
            secs(e.up_after)
        ),
        test: TEST.into(),
    })
}

pub fn power_outage(lab: &mut Lab) -> Result<Row> {
    let e = escalation(lab, |h| h.power_cut(), |h| h.power_on())?;
    ensure!(
        e.back
            .body
            .contains("the host restarted since the previous heartbeat"),
        "the first ping back says the host restarted: {}",
        e.back.body
    );
    lab.until_active("miraclemax-self-heal.service", Duration::from_secs(60))?;
    lab.until_active("example.service", Duration::from_secs(30))?;
    Ok(Row {
        id: "7-power-outage".into(),
        failure: "Power outage".into(),
        injected: "every process of the host killed at the same instant, no shutdown; then \
                   booted again from the same disk"
            .into(),
        self_healing: "Cannot fix: off with the host; back at boot (enabled unit), watching again"
            .into(),
        healthchecks: e.healthchecks(),
        received: e.received(),
        recovery: format!(
            "needs the power back; from power-on to UP {} (boot included)",
            secs(e.up_after)
        ),
        test: TEST.into(),
    })
}

pub fn network_down(lab: &mut Lab) -> Result<Row> {
    let subject = "✅ MiracleMax: example - RESOLVED";
    let reports = lab.smtp.count(subject);
    let mut healed = None;
    let e = escalation(
        lab,
        |h| {
            h.link_down()?;
            // Layer 1 goes on without the network: a crash now is healed at once (seen from
            // the host's console), and its report waits in the outbox.
            let pid =
                |h: &Host| h.console(&["systemctl", "show", "-P", "MainPID", "example.service"]);
            let before = pid(h)?;
            h.console(&[
                "systemctl",
                "kill",
                "-s",
                "KILL",
                "--kill-whom=main",
                "example.service",
            ])?;
            let t = Instant::now();
            wait(
                Duration::from_secs(30),
                "example healed while cut off",
                || {
                    let active = h.console(&["systemctl", "is-active", "example.service"]);
                    Ok(active.is_ok_and(|o| o.trim() == "active") && pid(h)? != before)
                },
            )?;
            healed = Some(t.elapsed());
            Ok(())
        },
        |h| h.link_up(),
    );
    let e = match e {
        Ok(e) => e,
        Err(err) => {
            let _ = lab.host.link_up();
            return Err(err);
        }
    };
    let mail = lab.mail(subject, Duration::from_secs(120))?;
    ensure!(lab.smtp.count(subject) == reports + 1, "one report");
    ensure!(
        e.back.body.contains("previous heartbeat: "),
        "{}",
        e.back.body
    );
    Ok(Row {
        id: "8-network-down".into(),
        failure: "Network down".into(),
        injected: "the host's network link cut on the machine's side; meanwhile example.service \
                   killed with kill -9"
            .into(),
        self_healing: format!(
            "Cannot fix the network; healed the crash meanwhile in {} and kept its report until \
             the mail server could be reached",
            secs(healed.unwrap_or_default())
        ),
        healthchecks: e.healthchecks(),
        received: format!(
            "{}; the RESOLVED email of the crash after the link returned (HEALING TIME {})",
            e.received(),
            line_of(&mail.body, "HEALING TIME: ")
        ),
        recovery: format!(
            "needs the network back; UP {} after the link returned",
            secs(e.up_after)
        ),
        test: TEST.into(),
    })
}
