//! `miraclemax-status`: one look at everything the host knows: the daemon, each service's unit,
//! port owner, last probe, last incident, heals in the last 24 h, breaker and pause, and the
//! heartbeat's last ping. A table for people, JSON for machines.

use crate::config::Config;
use crate::daemon::control::Control;
use crate::heal::incident::{Outcome, now_ms};
use crate::heal::machine::Phase;
use crate::probe::port;
use crate::state::Dirs;
use crate::systemd::Systemd;
use serde::Serialize;
use std::fmt::Write;

pub const DAEMON_UNIT: &str = "miraclemax-self-heal.service";

#[derive(Debug, Serialize)]
pub struct Report {
    pub host: String,
    pub daemon: Daemon,
    pub services: Vec<ServiceReport>,
    /// The host checks configured (`None`: none) and those past a threshold.
    pub host_checks: Option<HostChecksReport>,
    /// The heartbeat's last run; `None` before its first.
    pub heartbeat: Option<HeartbeatReport>,
    /// Whether every critical service is up (the exit code says the same).
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct Daemon {
    pub active_state: String,
    pub pid: u32,
    /// Seconds since the daemon last proved it is looping (its liveness stamp).
    pub last_alive_secs: Option<u64>,
    /// Set while the daemon cannot see some services (systemd does not answer about them): it
    /// heals nothing it cannot see.
    pub blind: Option<Blindness>,
    /// The last time one of its workers panicked (and was restarted).
    pub last_worker_panic: Option<WorkerPanicReport>,
    /// Set while email cannot be set up: reports wait in the outbox.
    pub mail_blocked: Option<MailBlockedReport>,
    /// The outbox's queues (email's, each channel's) that hold reports or whose channel cannot
    /// be set up; empty while every report has left.
    pub outbox: Vec<QueueReport>,
}

/// One queue of the outbox with reports waiting, or whose channel cannot be set up.
#[derive(Debug, Serialize)]
pub struct QueueReport {
    /// `email` or the channel's name.
    pub channel: String,
    /// "the mail server", "channel 'phone' (ntfy)".
    pub describe: String,
    pub waiting: usize,
    /// When the oldest waiting report was queued.
    pub oldest: Option<String>,
    /// What the channel answered the last time it refused the oldest report it refused.
    pub last_error: Option<String>,
    /// Set while the channel cannot be set up.
    pub blocked: Option<BlockedReport>,
}

#[derive(Debug, Serialize)]
pub struct BlockedReport {
    pub since: String,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct HostChecksReport {
    /// How many checks are configured (a disk is two: space and inodes).
    pub checks: usize,
    pub past: Vec<HostCheckReport>,
}

/// A host check past a threshold.
#[derive(Debug, Serialize)]
pub struct HostCheckReport {
    pub name: String,
    /// `WARNING` or `CRITICAL`.
    pub level: String,
    /// When it crossed its first threshold.
    pub since: String,
    /// Its figure and thresholds: `91.2 % used (9.1 GiB used, 0.9 GiB free; warning at 85 %)`.
    pub said: String,
}

#[derive(Debug, Serialize)]
pub struct MailBlockedReport {
    pub since: String,
    pub error: String,
    /// Reports waiting in the outbox.
    pub waiting: usize,
}

#[derive(Debug, Serialize)]
pub struct Blindness {
    pub since: String,
    pub services: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WorkerPanicReport {
    pub service: String,
    pub at: String,
    pub message: String,
    /// Panics of that worker within the daemon's panic window, this one included.
    pub recent: u32,
}

#[derive(Debug, Serialize)]
pub struct HeartbeatReport {
    pub last_run: String,
    /// "ok" or "fail": what the last run told Healthchecks.
    pub last_signal: String,
    pub delivered: bool,
    pub error: Option<String>,
    pub last_success: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ServiceReport {
    pub name: String,
    pub unit: String,
    pub critical: bool,
    pub active_state: String,
    pub sub_state: String,
    pub port: Option<u16>,
    pub port_owner: Option<String>,
    pub last_probe: Option<String>,
    /// For how long the looks have found `last_probe` (the daemon looks every check interval
    /// while it is alive; the state file is written only when what it sees changes).
    pub last_probe_secs: Option<u64>,
    /// healthy, failing, healing, failed (breaker open), paused, or blind (the daemon cannot
    /// see it: systemd does not answer about it).
    pub healing: String,
    pub breaker_open_until: Option<String>,
    pub paused_until: Option<String>,
    pub heals_24h: usize,
    pub last_incident: Option<IncidentReport>,
    /// Its TLS certificate as last read: `valid until 2027-02-01 10:00:00 UTC (serial AB12,
    /// R11)`, `EXPIRING ...`, `EXPIRED ...`, `not read: ...`; `None` before the first read.
    pub certificate: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IncidentReport {
    pub id: String,
    pub outcome: String,
    pub detected_at: String,
    pub root_cause: String,
    pub healing_time_secs: Option<f64>,
}

pub async fn gather(config: &Config, dirs: &Dirs) -> Report {
    let now = now_ms();
    let systemd = Systemd::connect().await.ok();
    let state = dirs.load_state().unwrap_or_default();
    let control = Control::new(&dirs.root);
    let unit_status = |u: crate::config::UnitName| {
        let sd = systemd.clone();
        async move {
            match sd {
                Some(sd) => sd.status(&u).await.unwrap_or_default(),
                None => Default::default(),
            }
        }
    };
    let daemon_unit = crate::config::UnitName::parse(DAEMON_UNIT).expect("valid unit name");
    let d = unit_status(daemon_unit).await;
    let alive = std::fs::metadata(dirs.alive())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map(|e| e.as_secs());
    let day_ago = now.saturating_sub(24 * 3600 * 1000);
    let events = dirs.events_since(day_ago);

    let mut services = Vec::with_capacity(config.services.len());
    for svc in &config.services {
        let st = unit_status(svc.unit.clone()).await;
        services.push(service_report(svc, &st, &state, &control, &events, now));
    }
    // A service paused for maintenance is expected to be down: it does not fail the check.
    let ok = services
        .iter()
        .all(|s| !s.critical || s.active_state == "active" || s.healing == "paused");
    let heartbeat = heartbeat_report(dirs);
    // Read once: email's queue gives the blocked line's count too.
    let queues = outbox(config, &state, dirs);
    Report {
        heartbeat,
        host_checks: host_checks_report(config, &state),
        host: config.host.clone().unwrap_or_else(crate::daemon::hostname),
        daemon: Daemon {
            active_state: match d.active_state {
                crate::systemd::ActiveState::None => "unknown".into(),
                known => known.to_string(),
            },
            pid: d.main_pid,
            last_alive_secs: alive,
            blind: state.blind_since_ms.map(|since| Blindness {
                since: crate::notify::report::utc(since),
                services: state.blind_services.clone(),
                error: state.blind_error.clone(),
            }),
            last_worker_panic: state.last_worker_panic.as_ref().map(|p| WorkerPanicReport {
                service: p.service.clone(),
                at: crate::notify::report::utc(p.at_ms),
                message: p.message.clone(),
                recent: p.recent,
            }),
            mail_blocked: state.mail_blocked.as_ref().map(|b| MailBlockedReport {
                since: crate::notify::report::utc(b.since_ms),
                error: b.error.clone(),
                waiting: queues
                    .iter()
                    .find(|q| q.channel == crate::notify::queues::EMAIL)
                    .map_or(0, |q| q.waiting),
            }),
            outbox: queues,
        },
        services,
        ok,
    }
}

/// The host checks configured and those the daemon holds past a threshold.
fn host_checks_report(config: &Config, state: &crate::state::State) -> Option<HostChecksReport> {
    config.host_checks.as_ref().map(|h| HostChecksReport {
        checks: crate::host_checks::checks(h).len(),
        past: state
            .host_checks
            .iter()
            .map(|(name, held)| HostCheckReport {
                name: name.clone(),
                level: held.level.word().into(),
                since: crate::notify::report::utc(held.since_ms),
                said: held.said.clone(),
            })
            .collect(),
    })
}

/// One watched service: systemd's view (`st`), the daemon's saved state, the operator's pause
/// and the day's heals (`events`).
fn service_report(
    svc: &crate::config::Service,
    st: &crate::systemd::UnitStatus,
    state: &crate::state::State,
    control: &Control,
    events: &[crate::state::Event],
    now: u64,
) -> ServiceReport {
    let saved = state
        .services
        .get(svc.name.as_str())
        .cloned()
        .unwrap_or_default();
    let port = svc.port.map(|p| p.get());
    let port_owner = port.and_then(|p| port::listeners(p).first().map(|l| l.describe()));
    let paused = control.paused_until(svc.name.as_str(), now / 1000);
    let healing = if paused.is_some() {
        "paused"
    } else if state.blind_services.iter().any(|s| s == svc.name.as_str()) {
        "blind"
    } else {
        saved.machine.phase.name()
    };
    let breaker = match saved.machine.phase {
        Phase::Failed { until } if until * 1000 > now => {
            Some(crate::notify::report::utc(until * 1000))
        }
        _ => None,
    };
    let last = saved
        .open
        .as_deref()
        .or(saved.last.as_deref())
        .map(incident_report);
    ServiceReport {
        name: svc.name.to_string(),
        unit: svc.unit.to_string(),
        critical: svc.critical,
        active_state: st.active_state.to_string(),
        sub_state: st.sub_state.to_string(),
        port,
        port_owner,
        last_probe: saved.last_probe.clone(),
        last_probe_secs: (saved.last_probe_ms > 0)
            .then(|| now.saturating_sub(saved.last_probe_ms) / 1000),
        healing: healing.into(),
        breaker_open_until: breaker,
        paused_until: paused.map(|u| crate::notify::report::utc(u * 1000)),
        heals_24h: events
            .iter()
            .filter(|e| e.service == svc.name.as_str() && e.event == "resolved")
            .count(),
        last_incident: last,
        certificate: saved.certificate.as_deref().map(certificate_line),
    }
}

/// A certificate as status shows it.
fn certificate_line(c: &crate::certificates::Seen) -> String {
    let state = if c.expired {
        "EXPIRED "
    } else if c.warned {
        "EXPIRING "
    } else {
        ""
    };
    let known = format!(
        "{state}valid until {} (serial {}{})",
        crate::notify::report::utc(c.not_after_ms),
        c.serial,
        if c.issuer.is_empty() {
            String::new()
        } else {
            format!(", {}", c.issuer)
        }
    );
    match (&c.error, c.serial.is_empty()) {
        (Some(e), true) => format!("not read: {e}"),
        (Some(e), false) => format!("{known}; last read failed: {e}"),
        (None, _) => known,
    }
}

/// The service's open incident, or its last one.
fn incident_report(i: &crate::heal::incident::Incident) -> IncidentReport {
    IncidentReport {
        id: i.id.clone(),
        outcome: match i.outcome {
            Outcome::Open => "healing".into(),
            Outcome::Resolved { .. } => "resolved".into(),
            Outcome::Failed { .. } => "failed".into(),
            Outcome::Flapping { .. } => "failed (breaker)".into(),
        },
        detected_at: crate::notify::report::utc(i.detected_at_ms),
        root_cause: i.cause.to_string(),
        healing_time_secs: i
            .healing_time()
            .map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
    }
}

/// The heartbeat's last run, once it has run.
fn heartbeat_report(dirs: &Dirs) -> Option<HeartbeatReport> {
    let hb = crate::heartbeat::load_record(dirs);
    (hb.last_run_ms > 0).then(|| HeartbeatReport {
        last_run: crate::notify::report::utc(hb.last_run_ms),
        last_signal: hb.last_signal.clone(),
        delivered: hb.last_delivered,
        error: hb.last_error.clone(),
        last_success: (hb.last_success_ms > 0)
            .then(|| crate::notify::report::utc(hb.last_success_ms)),
    })
}

/// The queues with reports waiting or a channel that cannot be set up.
fn outbox(config: &Config, state: &crate::state::State, dirs: &Dirs) -> Vec<QueueReport> {
    let utc = crate::notify::report::utc;
    crate::notify::queues::waiting_in(config, &dirs.outbox())
        .into_iter()
        .filter_map(|w| {
            let blocked = state.blocked(&w.queue.name).map(|b| BlockedReport {
                since: utc(b.since_ms),
                error: b.error.clone(),
            });
            if w.reports.is_empty() && blocked.is_none() {
                return None;
            }
            Some(QueueReport {
                oldest: w.reports.first().map(|q| utc(q.created_ms)),
                last_error: w.oldest_refused().and_then(|q| q.last_error.clone()),
                waiting: w.reports.len(),
                channel: w.queue.name,
                describe: w.queue.describe,
                blocked,
            })
        })
        .collect()
}

/// A line for each queue whose channel cannot be set up or has refused a report (email's
/// blocked set-up has its own line, as before channels existed).
fn outbox_lines(out: &mut String, queues: &[QueueReport]) {
    for q in queues {
        match (&q.blocked, &q.last_error) {
            (Some(_), _) if q.channel == crate::notify::queues::EMAIL => {}
            (Some(b), _) => {
                let _ = writeln!(
                    out,
                    "REPORTS BLOCKED for {} since {}: {}; {} waiting, sent once it can be set up",
                    q.describe, b.since, b.error, q.waiting
                );
            }
            (None, Some(e)) => {
                let _ = writeln!(
                    out,
                    "REPORTS WAITING for {}: {}, the oldest since {}, tried again at least once a minute; it answered: {e}",
                    q.describe,
                    q.waiting,
                    q.oldest.as_deref().unwrap_or("?")
                );
            }
            (None, None) => {}
        }
    }
}

/// The report for people: the daemon's lines, one row per service, the heartbeat's line.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    daemon_lines(&mut out, r);
    let header = [
        "SERVICE",
        "UNIT STATE",
        "PORT / OWNER",
        "HEALING",
        "HEALS 24H",
        "CRITICAL",
        "LAST INCIDENT",
    ];
    let rows = r.services.iter().map(service_row).collect();
    out.push_str(&crate::config::table::render(header, rows));
    host_check_lines(&mut out, r.host_checks.as_ref());
    for s in &r.services {
        if let Some(c) = s.certificate.as_deref().filter(|c| c.starts_with("EXPIR")) {
            let _ = writeln!(out, "Certificate of {}: {c}", s.name);
        }
    }
    match &r.heartbeat {
        None => out.push_str("Heartbeat: no run yet\n"),
        Some(h) => {
            let delivered = if h.delivered {
                "delivered".to_string()
            } else {
                format!("NOT delivered: {}", h.error.as_deref().unwrap_or("?"))
            };
            let _ = writeln!(
                out,
                "Heartbeat: last run {} sent {} ({delivered})",
                h.last_run, h.last_signal
            );
        }
    }
    if !r.ok {
        out.push_str("A critical service is down.\n");
    }
    out
}

/// The daemon's own lines: alive or not, blind, reports blocked or queued, a worker's panic.
fn daemon_lines(out: &mut String, r: &Report) {
    let alive = r
        .daemon
        .last_alive_secs
        .map_or("never".to_string(), |s| format!("{s}s ago"));
    let _ = writeln!(
        out,
        "MiracleMax on {}: self-healing daemon {} (pid {}, last check {alive})",
        r.host, r.daemon.active_state, r.daemon.pid
    );
    if let Some(b) = &r.daemon.blind {
        let _ = writeln!(
            out,
            "BLIND since {}: systemd does not answer about {} ({}); nothing it cannot see is healed",
            b.since,
            b.services.join(", "),
            b.error.as_deref().unwrap_or("no error recorded")
        );
    }
    if let Some(m) = &r.daemon.mail_blocked {
        let _ = writeln!(
            out,
            "REPORTS BLOCKED since {}: {}; {} waiting in the outbox, sent once email works again",
            m.since, m.error, m.waiting
        );
    }
    outbox_lines(out, &r.daemon.outbox);
    if let Some(p) = &r.daemon.last_worker_panic {
        let _ = writeln!(
            out,
            "Last worker panic: {} at {} ({}), restarted; {} within the panic window",
            p.service, p.at, p.message, p.recent
        );
    }
}

/// One line for the host checks when all are within their thresholds, else one per check past
/// one.
fn host_check_lines(out: &mut String, h: Option<&HostChecksReport>) {
    let Some(h) = h else { return };
    if h.past.is_empty() {
        let _ = writeln!(out, "Host checks: all {} within their thresholds", h.checks);
    }
    for c in &h.past {
        let _ = writeln!(
            out,
            "Host check {}: {} since {}: {}",
            c.name, c.level, c.since, c.said
        );
    }
}

/// One service's row of the table.
fn service_row(s: &ServiceReport) -> [String; 7] {
    let state = if s.sub_state.is_empty() {
        s.active_state.clone()
    } else {
        format!("{} ({})", s.active_state, s.sub_state)
    };
    let port = match (s.port, &s.port_owner) {
        (Some(p), Some(o)) => format!("{p} {o}"),
        (Some(p), None) => format!("{p} (free)"),
        _ => "-".into(),
    };
    let healing = match (&s.paused_until, &s.breaker_open_until) {
        (Some(u), _) => format!("paused until {u}"),
        (None, Some(u)) => format!("FAILED, breaker open until {u}"),
        _ => s.healing.clone(),
    };
    let last = s.last_incident.as_ref().map_or("-".to_string(), |i| {
        let t = i
            .healing_time_secs
            .map_or(String::new(), |t| format!(" in {t}s"));
        format!("{} {}{t}: {}", i.outcome, i.detected_at, i.root_cause)
    });
    let critical = if s.critical { "yes" } else { "no" };
    [
        s.name.clone(),
        state,
        port,
        healing,
        s.heals_24h.to_string(),
        critical.into(),
        last,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(blind: Option<Blindness>) -> Report {
        Report {
            host: "web1".into(),
            daemon: Daemon {
                active_state: "active".into(),
                pid: 42,
                last_alive_secs: Some(3),
                blind,
                last_worker_panic: None,
                mail_blocked: None,
                outbox: Vec::new(),
            },
            services: Vec::new(),
            host_checks: None,
            heartbeat: None,
            ok: true,
        }
    }

    #[test]
    fn a_blind_daemon_says_so_under_its_own_line_and_in_json() {
        let r = report(Some(Blindness {
            since: "2025-01-01 00:00:00 UTC".into(),
            services: vec!["api".into(), "web".into()],
            error: Some("org.freedesktop.DBus.Error.LimitsExceeded: too many".into()),
        }));
        let table = table(&r);
        let second = table.lines().nth(1).unwrap();
        assert_eq!(
            second,
            "BLIND since 2025-01-01 00:00:00 UTC: systemd does not answer about api, web \
             (org.freedesktop.DBus.Error.LimitsExceeded: too many); nothing it cannot see is healed"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["daemon"]["blind"]["services"][1], "web");
        let seeing = serde_json::to_value(report(None)).unwrap();
        assert!(seeing["daemon"]["blind"].is_null());
    }

    #[test]
    fn a_channel_that_cannot_be_set_up_or_refuses_reports_has_its_own_line() {
        let mut r = report(None);
        r.daemon.outbox = vec![
            QueueReport {
                channel: "phone".into(),
                describe: "channel 'phone' (ntfy)".into(),
                waiting: 2,
                oldest: Some("2025-01-01 00:00:00 UTC".into()),
                last_error: None,
                blocked: Some(BlockedReport {
                    since: "2025-01-01 00:00:01 UTC".into(),
                    error: "no TLS roots".into(),
                }),
            },
            QueueReport {
                channel: "team".into(),
                describe: "channel 'team' (slack)".into(),
                waiting: 1,
                oldest: Some("2025-01-01 00:00:02 UTC".into()),
                last_error: Some("503 Service Unavailable".into()),
                blocked: None,
            },
            QueueReport {
                channel: "email".into(),
                describe: "the mail server".into(),
                waiting: 1,
                oldest: Some("2025-01-01 00:00:03 UTC".into()),
                last_error: None,
                blocked: None,
            },
        ];
        let table = table(&r);
        let lines: Vec<&str> = table.lines().skip(1).take(2).collect();
        assert_eq!(
            lines,
            [
                "REPORTS BLOCKED for channel 'phone' (ntfy) since 2025-01-01 00:00:01 UTC: no TLS roots; 2 waiting, sent once it can be set up",
                "REPORTS WAITING for channel 'team' (slack): 1, the oldest since 2025-01-01 00:00:02 UTC, tried again at least once a minute; it answered: 503 Service Unavailable",
            ]
        );
        assert!(!table.contains("the mail server"), "{table}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["daemon"]["outbox"][0]["blocked"]["error"],
            "no TLS roots"
        );
    }
}
