//! The rows of the host itself failing its services: a disk filling up. A small file system
//! (a 10 MiB tmpfs at /home/data) is watched by `host_checks` with a warning at 50 % and a
//! critical threshold at 80 %; it is filled past each in turn, then freed.

use super::lab::{Lab, TEST, line_of, secs};
use mm_testbed::anyhow::{Result, ensure};
use mm_testbed::matrix::Row;
use std::time::{Duration, Instant};

pub const DATA: &str = "/home/data";

/// The host_checks section both the matrix's inventory and the focused test give.
pub const HOST_CHECKS: &str =
    "{interval: 2s, disks: [{path: /home/data, space: {warn: 50%, critical: 80%}}]}";

/// Mounts the small file system the disk checks watch (before the deploy, whose
/// `--check-config` refuses a path that is not there).
pub fn mount_data(host: &mm_testbed::Host) {
    host.ssh_ok(&["mkdir", "-p", DATA]).unwrap();
    host.ssh_ok(&["mount", "-t", "tmpfs", "-o", "size=10m", "tmpfs", DATA])
        .unwrap();
}

fn subject(lab: &Lab, word: &str) -> String {
    let icon = match word {
        "RECOVERED" => "✅",
        "CRITICAL" => "🔴",
        _ => "⚠️",
    };
    format!(
        "{icon} MiracleMax: {}: disk space on {DATA} - {word}",
        lab.name()
    )
}

/// The next heartbeat run's ping (run now, as cron would).
fn ping_now(lab: &Lab) -> Result<mm_testbed::healthchecks::Ping> {
    let seen = lab.pings().len();
    lab.heartbeat_now()?;
    lab.ping_after(seen, Duration::from_secs(30))
}

#[allow(clippy::too_many_lines)] // one fault told in the order it happens: warning, critical, the heartbeat's /fail, recovery
pub fn disk_full(lab: &Lab) -> Result<Row> {
    let flips = lab.flips();
    let t0 = Instant::now();
    lab.ssh(&["fallocate", "-l", "6M", &format!("{DATA}/fill-1")])?;
    let warning = lab.mail(&subject(lab, "WARNING"), Duration::from_secs(30))?;
    let warned = t0.elapsed();
    let now = line_of(&warning.body, "NOW: ");
    ensure!(
        now.starts_with("60.0 % used (") && now.ends_with("warning at 50 %, critical at 80 %)"),
        "WARNING report: {}",
        warning.body
    );
    ensure!(
        warning
            .body
            .contains("nothing was done to the host; host checks only report"),
        "{}",
        warning.body
    );
    let ping = ping_now(lab)?;
    ensure!(
        ping.kind == "success"
            && ping.body.contains(&format!(
                "host checks past a threshold:\n  disk space on {DATA}: WARNING 60.0 % used"
            )),
        "heartbeat while only warned: {} {}",
        ping.kind,
        ping.body
    );

    lab.ssh(&["fallocate", "-l", "3M", &format!("{DATA}/fill-2")])?;
    let critical = lab.mail(&subject(lab, "CRITICAL"), Duration::from_secs(30))?;
    ensure!(
        line_of(&critical.body, "NOW: ").starts_with("90.0 % used (")
            && critical
                .body
                .contains("the heartbeat tells Healthchecks this server is failing (/fail)"),
        "CRITICAL report: {}",
        critical.body
    );
    let failing = ping_now(lab)?;
    let fail_line = format!("FAIL: host check disk space on {DATA} is CRITICAL: 90.0 % used");
    ensure!(
        failing.kind == "fail" && failing.body.starts_with(&fail_line),
        "heartbeat past critical: {} {}",
        failing.kind,
        failing.body
    );
    let down = lab
        .flips_after(flips, 1, Duration::from_secs(30))?
        .remove(0);
    ensure!(down.status == "down", "{down:?}");

    let freed = Instant::now();
    lab.ssh(&["rm", &format!("{DATA}/fill-1"), &format!("{DATA}/fill-2")])?;
    let recovered = lab.mail(&subject(lab, "RECOVERED"), Duration::from_secs(30))?;
    let recovery = freed.elapsed();
    ensure!(
        line_of(&recovered.body, "NOW: ").starts_with("0.0 % used (")
            && recovered.body.contains("at most 90.0 %"),
        "RECOVERED report: {}",
        recovered.body
    );
    let ok = ping_now(lab)?;
    ensure!(
        ok.kind == "success" && !ok.body.contains("host checks past a threshold"),
        "heartbeat after recovery: {} {}",
        ok.kind,
        ok.body
    );
    let up = lab
        .flips_after(flips, 2, Duration::from_secs(30))?
        .remove(1);
    ensure!(up.status == "up", "{up:?}");
    // Ten more readings: nothing is said again.
    std::thread::sleep(Duration::from_secs(20));
    let counts: Vec<usize> = ["WARNING", "CRITICAL", "RECOVERED"]
        .iter()
        .map(|w| lab.smtp.count(&subject(lab, w)))
        .collect();
    ensure!(
        counts == [1, 1, 1],
        "reports WARNING/CRITICAL/RECOVERED: {counts:?}"
    );
    Ok(Row {
        id: "17-disk-full".into(),
        failure: "Disk full".into(),
        injected: format!(
            "a 10 MiB file system at {DATA} filled to 60 %, then 90 %, then freed, under \
             `host_checks: {HOST_CHECKS}`"
        ),
        self_healing: format!(
            "Nothing done to the host (host checks only report); one report at each threshold: \
             \"NOW: {now}\", then 90.0 % CRITICAL, then RECOVERED"
        ),
        healthchecks: format!(
            "The heartbeat past critical sent /fail (\"{fail_line} ...\"): the server check \
             went DOWN, and UP with the first heartbeat after the recovery"
        ),
        received: format!(
            "1 email each: '{}', '{}', '{}'; none after",
            subject(lab, "WARNING"),
            subject(lab, "CRITICAL"),
            subject(lab, "RECOVERED")
        ),
        recovery: format!(
            "WARNING {} after the disk passed 50 %; RECOVERED {} after it was freed",
            secs(warned),
            secs(recovery)
        ),
        test: TEST.into(),
    })
}
