//! One test host of the matrix as its scenario sees it: the host, its SMTP server (which
//! requires the login the inventory gives), its server check on the shared Healthchecks
//! stand-in, and waits that fail with what was seen instead of panicking, so that one
//! scenario's failure is reported beside the others' results.

use mm_testbed::Host;
use mm_testbed::anyhow::{Result, bail};
use mm_testbed::healthchecks::{Flip, Healthchecks, Ping};
use mm_testbed::smtp::{Mail, Smtp};
use std::time::{Duration, Instant};

pub const TEST: &str = "failure_modes::the_coverage_matrix_holds_on_real_hosts";

pub struct Lab<'a> {
    pub host: &'a mut Host,
    pub smtp: Smtp,
    pub hc: &'a Healthchecks,
    /// The server check's UUID (the deploy created it through the Management API).
    pub uuid: String,
}

pub fn wait(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if f()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl Lab<'_> {
    pub fn name(&self) -> String {
        self.host.name.clone()
    }

    pub fn ssh(&self, args: &[&str]) -> Result<String> {
        self.host.ssh_ok(args)
    }

    pub fn is_active(&self, unit: &str) -> String {
        self.host
            .ssh(&["systemctl", "is-active", unit])
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }

    /// Waits until `unit` is active; how long it took.
    pub fn until_active(&self, unit: &str, timeout: Duration) -> Result<Duration> {
        let t = Instant::now();
        wait(
            timeout,
            &format!("{unit} active on {}", self.name()),
            || Ok(self.is_active(unit) == "active"),
        )?;
        Ok(t.elapsed())
    }

    pub fn mail(&self, subject: &str, timeout: Duration) -> Result<Mail> {
        self.smtp.wait_for(subject, timeout)
    }

    /// The server check's counted success and fail pings, oldest first.
    pub fn pings(&self) -> Vec<Ping> {
        self.hc
            .pings()
            .into_iter()
            .filter(|p| p.check == self.uuid && (p.kind == "success" || p.kind == "fail"))
            .collect()
    }

    /// The first success or fail ping after the first `seen`, within `timeout`.
    pub fn ping_after(&self, seen: usize, timeout: Duration) -> Result<Ping> {
        wait(timeout, &format!("a ping from {}", self.name()), || {
            Ok(self.pings().len() > seen)
        })?;
        Ok(self.pings()[seen].clone())
    }

    /// The check's flips since the first `seen`, waiting until there are `n` more.
    pub fn flips_after(&self, seen: usize, n: usize, timeout: Duration) -> Result<Vec<Flip>> {
        let flips = self.hc.wait_for_flips(&self.uuid, seen + n, timeout);
        if flips.len() < seen + n {
            bail!(
                "{}: {} flip(s) of its check within {timeout:?}, expected {}: {flips:?}",
                self.name(),
                flips.len() - seen.min(flips.len()),
                n
            );
        }
        Ok(flips[seen..].to_vec())
    }

    /// The server check's status as the receiver holds it (new, up, grace, down).
    pub fn status(&self) -> String {
        self.hc
            .checks()
            .into_iter()
            .find(|c| c.uuid == self.uuid)
            .map(|c| c.status)
            .unwrap_or_default()
    }

    /// `r`'s value, or a panic with the error and the end of the daemon's journal (for the
    /// focused tests that run one scenario on their own hosts).
    pub fn or_journal<T>(&self, r: Result<T>) -> T {
        r.unwrap_or_else(|e| {
            panic!(
                "{}: {e:#}\n{}",
                self.name(),
                self.ssh(&["journalctl", "-t", "miraclemax-self-heal", "-n", "40"])
                    .unwrap_or_default()
            )
        })
    }

    pub fn flips(&self) -> usize {
        self.hc
            .flips()
            .iter()
            .filter(|f| f.check == self.uuid)
            .count()
    }

    /// Runs the heartbeat now, as cron would, until a run is not skipped for cron's own
    /// (both take the same lock); its printout.
    pub fn heartbeat_now(&self) -> Result<String> {
        let mut out = String::new();
        wait(
            Duration::from_secs(90),
            "a heartbeat run of its own",
            || {
                let o = self.host.ssh(&["/usr/local/bin/miraclemax-heartbeat"])?;
                out = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                Ok(!out.contains("another miraclemax-heartbeat run is in progress"))
            },
        )?;
        Ok(out)
    }

    /// The daemon's events for a service, as `event` names.
    pub fn events(&self, service: &str) -> Vec<String> {
        crate::support::events(self.host, service)
    }

    /// `kill -9` of the unit's main process; returns once its new process is active, after
    /// how long.
    pub fn kill_9_until_healed(&self, unit: &str) -> Result<Duration> {
        let pid = self.main_pid(unit)?;
        let t = Instant::now();
        self.ssh(&["systemctl", "kill", "-s", "KILL", "--kill-whom=main", unit])?;
        wait(Duration::from_secs(30), &format!("{unit} healed"), || {
            Ok(self.is_active(unit) == "active" && self.main_pid(unit)? != pid)
        })?;
        Ok(t.elapsed())
    }

    pub fn main_pid(&self, unit: &str) -> Result<String> {
        Ok(self
            .ssh(&["systemctl", "show", "-P", "MainPID", unit])?
            .trim()
            .to_string())
    }
}

/// The seconds in a report's `HEALING TIME: 1.2 seconds` line.
pub fn healing_time(body: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix("HEALING TIME: "))
        .and_then(|t| t.strip_suffix(" seconds"))
        .and_then(|t| t.parse().ok())
}

/// What follows `prefix` on the body's line starting with it.
pub fn line_of<'a>(body: &'a str, prefix: &str) -> &'a str {
    body.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or("")
}
