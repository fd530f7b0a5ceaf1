//! The breakages, one round each: a `kill -9`, a `systemctl stop`, ten `kill -9` at once, a
//! stray process on a stopped service's port, a hung (SIGSTOPped) process. Each returns what
//! systemd's timestamps (and MiracleMax's events) say; nothing here judges.

use super::healers::{HUNG, Healer, Kind};
use super::lab::{self, unit};
use std::time::Duration;

/// Port conflict and stray: service 2's stop starts a stray listener on its port.
pub const CONFLICT: usize = 2;
/// Ten at once: services 11..=20.
pub const TEN: std::ops::RangeInclusive<usize> = 11..=20;

#[derive(Default, Debug)]
pub struct Round {
    /// Broken -> active again, ms; None if not healed within the time allowed.
    pub heal_ms: Option<f64>,
    /// Broken -> noticed, ms (MiracleMax: its `detected` event; Monit: its restart reaching
    /// systemd, as it says nothing before acting).
    pub detect_ms: Option<f64>,
    /// Port conflict only: the stray still held the port when the round ended.
    pub stray_held: bool,
}

/// How long a healer gets to heal a kill or a stop (Monit acts on a 30 s cycle).
const ALLOWED: Duration = Duration::from_secs(100);

/// Time for the healer to finish the incident (MiracleMax verifies for `settle_time`, 3 s).
fn settle() {
    std::thread::sleep(Duration::from_secs(4));
}

/// `kill -9` of the main process (`how` = "kill") or `systemctl stop` ("stop") of service `i`.
pub fn break_one(h: &Healer, i: usize, how: &str) -> Round {
    let u = unit(i);
    // The moment it went down. A killed unit stays loaded (failed), so systemd's own timestamp
    // serves, read before a restart can move it; a stopped template instance is unloaded at
    // once, timestamps and all, so there it is the host clock as `systemctl stop` returns.
    let down = if how == "kill" {
        crate::support::kill_9(h.host, &u);
        lab::times1(h.host, &u).inactive_enter
    } else {
        let out = h
            .host
            .ssh_ok(&["sh", "-c", "systemctl stop \"$1\" && date +%s%N", "sh", &u])
            .unwrap();
        lab::host_ms(&out)
    };
    let back = lab::wait_active(h.host, std::slice::from_ref(&u), down, ALLOWED).remove(0);
    let round = Round {
        heal_ms: back.as_ref().map(|t| t.active_enter - down),
        detect_ms: match h.kind {
            Kind::MiracleMax => h.detected_ms(i, down - 5.0).map(|t| t - down),
            Kind::Monit => back.as_ref().map(|t| t.inactive_exit - down),
        },
        stray_held: false,
    };
    restore(h, &[i]);
    round
}

/// Ten services killed in one command: how many came back, the spread of their return, and
/// (MiracleMax) how many were reported RESOLVED.
pub struct Ten {
    pub healed: usize,
    pub resolved: Option<usize>,
    pub spread_ms: Option<f64>,
    pub last_ms: Option<f64>,
}

pub fn ten_at_once(h: &Healer) -> Ten {
    let units: Vec<String> = TEN.map(unit).collect();
    let mut argv = vec!["systemctl", "kill", "-s", "KILL", "--kill-whom=main"];
    argv.extend(units.iter().map(String::as_str));
    h.host.ssh_ok(&argv).unwrap();
    let down = lab::times(h.host, &units);
    let first_down = down
        .iter()
        .map(|t| t.inactive_enter)
        .fold(f64::INFINITY, f64::min);
    let back = lab::wait_active(h.host, &units, first_down, ALLOWED);
    let active: Vec<f64> = back.iter().flatten().map(|t| t.active_enter).collect();
    let max = active.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = active.iter().copied().fold(f64::INFINITY, f64::min);
    let all = active.len() == units.len();
    // Each incident closes after its settle time; its report is queued then.
    let resolved = h.resolved(
        &TEN.collect::<Vec<_>>(),
        first_down,
        Duration::from_secs(30),
    );
    restore(h, &TEN.collect::<Vec<_>>());
    Ten {
        healed: active.len(),
        resolved,
        spread_ms: all.then_some(max - min),
        last_ms: all.then_some(max - first_down),
    }
}

/// Service 2 is stopped, and as it stops a stray listener (a transient unit, outside the
/// service's cgroup) takes its port: how long until the service owns its port again.
pub fn port_conflict(h: &Healer, timeout: Duration) -> Round {
    let u = unit(CONFLICT);
    let dropin = format!("/etc/systemd/system/{u}.d/stray.conf");
    h.host
        .write(
            &dropin,
            &format!(
                "[Service]\nExecStopPost=-/usr/bin/systemd-run --quiet --collect --unit fp-stray \
                 -p Type=notify -p NotifyAccess=main {} {} {CONFLICT}\n",
                lab::LISTEN,
                lab::BASE_PORT
            ),
        )
        .unwrap();
    h.host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    // The stray is bound before the unit counts as stopped (ExecStopPost runs first).
    let out = h
        .host
        .ssh_ok(&["sh", "-c", "systemctl stop \"$1\" && date +%s%N", "sh", &u])
        .unwrap();
    let t0 = lab::host_ms(&out);
    let back = lab::wait_active(h.host, std::slice::from_ref(&u), t0, timeout).remove(0);
    let round = Round {
        heal_ms: back.as_ref().map(|t| t.active_enter - t0),
        detect_ms: match h.kind {
            Kind::MiracleMax => h
                .detected_ms(CONFLICT, t0 - 50.0)
                .map(|t| (t - t0).max(0.0)),
            Kind::Monit => None,
        },
        stray_held: stray_holds_port(h),
    };
    h.host
        .ssh_ok(&["rm", "-rf", &format!("/etc/systemd/system/{u}.d")])
        .unwrap();
    h.host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    let _ = h.host.ssh(&["systemctl", "stop", "fp-stray.service"]);
    restore(h, &[CONFLICT]);
    round
}

/// Whether the stray is still there, holding the port.
fn stray_holds_port(h: &Healer) -> bool {
    let out = h
        .host
        .ssh(&["systemctl", "is-active", "fp-stray.service"])
        .unwrap();
    out.status.success()
}

/// Service 1's main process is stopped with SIGSTOP: it holds its port, accepts connections
/// (the kernel does), answers nothing.
pub fn hung(h: &Healer) -> Round {
    let u = unit(HUNG);
    let pid = lab::main_pid(h.host, &u).to_string();
    let out = h
        .host
        .ssh_ok(&["sh", "-c", "date +%s%N && kill -STOP \"$1\"", "sh", &pid])
        .unwrap();
    let t0 = lab::host_ms(&out);
    let back = lab::wait_active(
        h.host,
        std::slice::from_ref(&u),
        t0,
        Duration::from_secs(150),
    )
    .remove(0);
    let round = Round {
        heal_ms: back.as_ref().map(|t| t.active_enter - t0),
        detect_ms: match h.kind {
            Kind::MiracleMax => h.detected_ms(HUNG, t0).map(|t| t - t0),
            // Monit's restart stops the unit first, and systemd unloads it with its timestamps.
            Kind::Monit => None,
        },
        stray_held: false,
    };
    if back.is_none() {
        let _ = h.host.ssh(&["kill", "-CONT", &pid]);
    }
    restore(h, &[HUNG]);
    round
}

/// After a round: let the healer finish, then make sure the services are up and answering
/// (starting any the healer left down), so the next round starts from the same place.
pub fn restore(h: &Healer, services: &[usize]) {
    settle();
    for &i in services {
        let u = unit(i);
        if lab::times1(h.host, &u).active {
            continue;
        }
        eprintln!("footprint: {}: {u} was left down; starting it", h.name());
        let _ = h.host.ssh(&["systemctl", "reset-failed", &u]);
        h.host.ssh_ok(&["systemctl", "start", &u]).unwrap();
    }
}
