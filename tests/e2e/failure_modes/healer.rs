//! The user's "Self-heal bug" row: the healer itself stopped, wedged, misconfigured or gone.
//! Layer 1 cannot fix itself (except a wedge, which systemd's watchdog ends); the next
//! heartbeat must say so with `/fail` and the reason, so Healthchecks emails DOWN.

use super::lab::{Lab, TEST, secs, wait};
use mm_testbed::anyhow::{Result, ensure};
use mm_testbed::matrix::Row;
use std::time::{Duration, Instant};

const DAEMON: &str = "miraclemax-self-heal.service";
const BIN: &str = "/usr/local/bin/miraclemax-self-heal";

/// Runs the heartbeat now (the run cron makes each minute); the server check must get /fail
/// starting with `reason` and go DOWN. Its first line.
fn fails_with(lab: &Lab, reason: &str) -> Result<String> {
    let seen = lab.pings().len();
    let out = lab.heartbeat_now()?;
    let ping = lab
        .pings()
        .into_iter()
        .skip(seen)
        .find(|p| p.kind == "fail")
        .ok_or_else(|| {
            mm_testbed::anyhow::anyhow!("no /fail ping; the heartbeat printed: {out}")
        })?;
    ensure!(ping.body.starts_with(reason), "{}", ping.body);
    wait(Duration::from_secs(10), "the check DOWN", || {
        Ok(lab.status() == "down")
    })?;
    Ok(ping.body.lines().next().unwrap_or("").to_string())
}

/// After the fix: the daemon runs and the next heartbeat takes the check UP again.
fn recovers(lab: &Lab) -> Result<()> {
    lab.until_active(DAEMON, Duration::from_secs(30))?;
    wait(Duration::from_secs(30), "the daemon looking again", || {
        Ok(lab
            .host
            .ssh(&["miraclemax-status"])
            .is_ok_and(|o| o.status.success()))
    })?;
    lab.heartbeat_now()?;
    wait(Duration::from_secs(10), "the check UP", || {
        Ok(lab.status() == "up")
    })
}

pub fn self_heal_bug(lab: &Lab) -> Result<Row> {
    let mut said = Vec::new();

    lab.ssh(&["systemctl", "stop", DAEMON])?;
    said.push(fails_with(
        lab,
        "FAIL: miraclemax-self-heal is not running",
    )?);
    lab.ssh(&["systemctl", "start", DAEMON])?;
    recovers(lab)?;

    // Wedged: systemd's watchdog sees no progress and restarts it.
    let before = lab.main_pid(DAEMON)?;
    lab.ssh(&["kill", "-STOP", &before])?;
    let t = Instant::now();
    wait(
        Duration::from_secs(40),
        "the watchdog to restart the wedged daemon",
        || Ok(lab.main_pid(DAEMON)? != before && lab.is_active(DAEMON) == "active"),
    )?;
    let watchdog = t.elapsed();
    let restarted = lab.ssh(&[
        "journalctl",
        "-u",
        DAEMON,
        "--no-pager",
        "-o",
        "cat",
        "--grep",
        "[Ww]atchdog",
    ])?;
    ensure!(
        !restarted.trim().is_empty(),
        "the journal says the watchdog acted"
    );
    recovers(lab)?;

    // Its configuration corrupted on disk; it is restarted (a reboot, a deploy) and cannot start.
    let good = lab.ssh(&["cat", "/etc/miraclemax/config.yaml"])?;
    lab.host
        .write("/etc/miraclemax/config.yaml", "monitored_services: [oops\n")?;
    let _ = lab.host.ssh(&["systemctl", "restart", DAEMON]);
    said.push(fails_with(
        lab,
        "FAIL: the configuration cannot be loaded, so miraclemax-self-heal cannot (re)start with it: /etc/miraclemax/config.yaml",
    )?);
    lab.host.write("/etc/miraclemax/config.yaml", &good)?;
    lab.ssh(&["systemctl", "reset-failed", DAEMON])?;
    lab.ssh(&["systemctl", "restart", DAEMON])?;
    recovers(lab)?;

    // Its binary deleted, then it dies: systemd cannot start it again.
    lab.ssh(&["cp", "-p", BIN, "/root/miraclemax-self-heal.saved"])?;
    lab.ssh(&["rm", BIN])?;
    lab.ssh(&["systemctl", "kill", "-s", "KILL", DAEMON])?;
    wait(Duration::from_secs(20), "the daemon gone", || {
        Ok(lab.is_active(DAEMON) != "active")
    })?;
    said.push(fails_with(
        lab,
        "FAIL: miraclemax-self-heal is not running",
    )?);
    lab.ssh(&["cp", "-p", "/root/miraclemax-self-heal.saved", BIN])?;
    lab.ssh(&["systemctl", "reset-failed", DAEMON])?;
    lab.ssh(&["systemctl", "restart", DAEMON])?;
    recovers(lab)?;

    Ok(Row {
        id: "2-self-heal-bug".into(),
        failure: "Self-heal bug".into(),
        injected: "the daemon stopped; wedged with SIGSTOP; its config.yaml corrupted on disk \
                   and the daemon restarted; its binary deleted and the daemon killed"
            .into(),
        self_healing: format!(
            "Cannot fix itself. A wedge is ended by systemd's watchdog, which restarted it in {}",
            secs(watchdog)
        ),
        healthchecks: format!(
            "The next heartbeat sent /fail with the reason: \"{}\"; the check went DOWN at once",
            said.join("\"; \"")
        ),
        received: "Healthchecks' DOWN email with that reason for each, UP once it was fixed".into(),
        recovery: "needs you: start it, restore the file or the binary (a deploy does both)".into(),
        test: TEST.into(),
    })
}
