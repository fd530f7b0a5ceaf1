//! What the heartbeat can tell about this host without trusting the daemon's word alone: is
//! the self-healing daemon's process alive and its liveness stamp fresh (a wedged daemon stops
//! stamping), and is any critical service FAILED (healing gave up). When the daemon cannot
//! vouch for the services (dead, wedged, its state unreadable), its saved view is stale: the
//! services are then described as systemd shows them to the heartbeat itself, or as unknown
//! when systemd cannot be asked, never as the daemon last saw them. A daemon that is alive but
//! blind (systemd does not answer it about some services) fails the server check, and the
//! services it cannot see are described the same way.

use super::units::{UnitStates, Watched, own_view};
use crate::config::Config;
use crate::daemon::control::Control;
use crate::heal::incident::{human, now_ms};
use crate::heal::machine::Phase;
use crate::state::Dirs;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ServiceHealth {
    pub name: String,
    /// up, down, healing, FAILED or paused.
    pub state: String,
    pub critical: bool,
    /// Why its own check gets `/fail` (FAILED in the daemon's view; down or unknown in the
    /// heartbeat's own), first line of that check's body.
    pub reason: Option<String>,
    /// In the heartbeat's own view: what systemd said (`ActiveState=failed, SubState=failed`).
    pub detail: Option<String>,
    /// Seen by the heartbeat itself (the daemon cannot vouch for it), not the daemon's view.
    pub own: bool,
}

impl ServiceHealth {
    /// The service's line in the body, after its name.
    pub fn shown(&self) -> String {
        match (&self.detail, &self.reason) {
            (Some(d), _) => format!("{} ({d})", self.state),
            // The daemon's FAILED says why; the heartbeat's own "unknown" needs no more.
            (None, Some(r)) if self.state == "FAILED" => r.clone(),
            (None, _) => self.state.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Assessment {
    /// Reasons the server check must get `/fail`; empty means healthy.
    pub problems: Vec<String>,
    /// Whether the daemon is alive and looking.
    pub daemon_ok: bool,
    /// Whether `services` is the daemon's view (alive, looking, its state readable); when not,
    /// it is what the heartbeat saw itself.
    pub vouched: bool,
    pub daemon: String,
    pub services: Vec<ServiceHealth>,
    /// Some services are seen by the heartbeat itself, and systemd could not be asked: why.
    pub systemd_error: Option<String>,
    /// The services a live daemon says it cannot see (it is blind to them).
    pub unseen: Vec<String>,
    /// Host checks past a threshold, by name, in the daemon's view (empty when it cannot vouch).
    pub host_checks: Vec<(String, crate::host_checks::Held)>,
}

/// How old the daemon's stamp may be: three checks, and never less than a minute.
pub fn stale_after(config: &Config) -> Duration {
    (config.limits.check_interval * 3).max(Duration::from_secs(60))
}

fn assess(config: &Config, dirs: &Dirs) -> Assessment {
    let mut problems = Vec::new();
    let (daemon, daemon_ok) = match daemon_state(config, dirs) {
        Ok(s) => (s, true),
        Err(problem) => {
            let problem = problem.to_string();
            problems.push(problem.clone());
            (problem, false)
        }
    };
    let (state, state_ok) = match dirs.load_state() {
        Ok(s) => (s, true),
        Err(e) => {
            problems.push(format!("cannot read the daemon's state: {e}"));
            (Default::default(), false)
        }
    };
    let control = Control::new(&dirs.root);
    let now_s = now_ms() / 1000;
    let vouched = daemon_ok && state_ok;
    let host_checks = if vouched {
        said_by_the_daemon(config, &state, dirs, &mut problems)
    } else {
        Vec::new()
    };
    let unseen = if vouched && state.blind_since_ms.is_some() {
        state.blind_services.clone()
    } else {
        Vec::new()
    };
    let mut services = Vec::new();
    for svc in &config.services {
        let saved = state.services.get(svc.name.as_str());
        let phase = saved.map(|s| s.machine.phase.clone()).unwrap_or_default();
        let paused = control.paused_until(svc.name.as_str(), now_s);
        let (label, reason) = match phase {
            _ if paused.is_some() => ("paused", None),
            Phase::Failed { .. } => {
                let cause = saved
                    .and_then(|s| s.last.as_ref())
                    .map(|i| i.cause.to_string())
                    .unwrap_or_else(|| "healing failed".into());
                ("FAILED", Some(format!("{} is FAILED: {cause}", svc.name)))
            }
            Phase::Healing => ("healing", None),
            Phase::Failing { .. } => ("down", None),
            Phase::Healthy | Phase::Paused { .. } => ("up", None),
        };
        // A stale FAILED is no reason: [`assess_with`] asks systemd instead.
        if vouched
            && svc.critical
            && let Some(r) = &reason
        {
            problems.push(format!("critical service {r}"));
        }
        services.push(ServiceHealth {
            name: svc.name.to_string(),
            state: label.into(),
            critical: svc.critical,
            reason,
            // The ping body names a paused service with the end of its pause.
            detail: paused.map(|u| format!("until {}", crate::notify::report::utc(u * 1000))),
            own: false,
        });
    }
    Assessment {
        problems,
        daemon_ok,
        vouched,
        daemon,
        services,
        systemd_error: None,
        unseen,
        host_checks,
    }
}

/// The problems a live daemon's state tells of: it is blind, reports cannot leave, a host
/// check is past its critical threshold (the server check fails until it is back under it).
/// Returns the host checks past a threshold. (Stale figures of a dead daemon say nothing: that
/// daemon is the problem then.)
fn said_by_the_daemon(
    config: &Config,
    state: &crate::state::State,
    dirs: &Dirs,
    problems: &mut Vec<String>,
) -> Vec<(String, crate::host_checks::Held)> {
    if let Some(since) = state.blind_since_ms {
        let age = Duration::from_millis(now_ms().saturating_sub(since));
        problems.push(format!(
            "miraclemax-self-heal is blind: systemd has not answered about {} for {} ({})",
            state.blind_services.join(", "),
            human(age),
            state.blind_error.as_deref().unwrap_or("no error recorded")
        ));
    }
    problems.extend(reports_stuck(config, state, dirs, now_ms()));
    for (name, held) in &state.host_checks {
        if held.level == crate::host_checks::Level::Critical {
            problems.push(format!("host check {name} is CRITICAL: {}", held.said));
        }
    }
    state.host_checks.clone().into_iter().collect()
}

/// [`assess`], and for the services the daemon cannot vouch for (all of them when it is not
/// running or wedged, the ones it is blind to when it is alive), what systemd says of them.
pub async fn assess_with(config: &Config, dirs: &Dirs, systemd: &impl UnitStates) -> Assessment {
    let mut a = assess(config, dirs);
    let asked: Vec<usize> = (0..config.services.len())
        .filter(|&i| {
            !a.vouched
                || a.unseen
                    .iter()
                    .any(|u| u == config.services[i].name.as_str())
        })
        .collect();
    if asked.is_empty() {
        return a;
    }
    let units: Vec<String> = asked
        .iter()
        .map(|&i| config.services[i].unit.to_string())
        .collect();
    let states = systemd.states(&units).await;
    let control = Control::new(&dirs.root);
    let now_s = now_ms() / 1000;
    let services: Vec<Watched> = asked
        .iter()
        .map(|&i| {
            let s = &config.services[i];
            Watched {
                name: s.name.to_string(),
                critical: s.critical,
                paused: control.paused_until(s.name.as_str(), now_s).is_some(),
            }
        })
        .collect();
    a.systemd_error = states.as_ref().err().map(ToString::to_string);
    let (seen, problems) = own_view(&services, states);
    for (i, s) in asked.into_iter().zip(seen) {
        a.services[i] = s;
    }
    a.problems.extend(problems);
    a
}

/// How long a report may wait to leave the host, its channel failing each try, before the
/// server check fails: long enough for a mail server's restart or a short outage (the outbox
/// retries at least once a minute), short enough that a report nobody will read is noticed.
pub const REPORTS_LATE_AFTER: Duration = Duration::from_secs(30 * 60);

/// Reports that cannot leave the host, per queue (email's and each channel's): the channel
/// cannot be set up at all (at once: no retry fixes a missing password file by itself), or the
/// oldest report it refused has waited longer than [`REPORTS_LATE_AFTER`].
fn reports_stuck(
    config: &Config,
    state: &crate::state::State,
    dirs: &Dirs,
    now_ms: u64,
) -> Vec<String> {
    let mut problems = Vec::new();
    for w in crate::notify::queues::waiting_in(config, &dirs.outbox()) {
        if let Some(b) = state.blocked(&w.queue.name) {
            // Email's as before channels existed: "reports cannot leave this host: WHY".
            let through = match w.queue.name.as_str() {
                crate::notify::queues::EMAIL => String::new(),
                _ => format!(" through {}", w.queue.describe),
            };
            problems.push(format!(
                "reports cannot leave this host{through}: {} (since {}; {} waiting in the outbox)",
                b.error,
                crate::notify::report::utc(b.since_ms),
                w.reports.len()
            ));
        } else if let Some(late) = w.late(now_ms, REPORTS_LATE_AFTER) {
            problems.push(late);
        }
    }
    problems
}

/// Why the daemon is not vouching for the services: the server check's first problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum DaemonProblem {
    #[error("miraclemax-self-heal has not run on this host (no liveness stamp)")]
    NeverRan,
    /// `age` is the time since its last sign of life.
    #[error("miraclemax-self-heal is not running (last sign of life {} ago)", human(*age))]
    NotRunning { age: Duration },
    #[error(
        "miraclemax-self-heal is wedged: pid {pid} has not checked anything for {} (limit {})",
        human(*age),
        human(*limit)
    )]
    Wedged {
        pid: u32,
        age: Duration,
        limit: Duration,
    },
}

/// Ok(description) when the daemon is alive and looking; Err(the problem) otherwise.
fn daemon_state(config: &Config, dirs: &Dirs) -> Result<String, DaemonProblem> {
    let stamp = std::fs::read_to_string(dirs.alive()).map_err(|_| DaemonProblem::NeverRan)?;
    let pid: u32 = stamp
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let age = std::fs::metadata(dirs.alive())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .unwrap_or(Duration::MAX);
    if !crate::probe::procs::alive(pid) {
        return Err(DaemonProblem::NotRunning { age });
    }
    let limit = stale_after(config);
    if age > limit {
        return Err(DaemonProblem::Wedged { pid, age, limit });
    }
    Ok(format!(
        "miraclemax-self-heal running (pid {pid}, last check {} ago)",
        human(age)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::units::{SystemctlError, UnitState, tests::unit};

    /// systemd as a table, in the order asked.
    struct Table(Vec<UnitState>);

    impl UnitStates for Table {
        async fn states(&self, units: &[String]) -> Result<Vec<UnitState>, SystemctlError> {
            assert_eq!(units, ["web.service", "db.service", "cache.service"]);
            Ok(self.0.clone())
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_stamp_the_daemon_moves_as_seldom_as_it_may_is_never_stale() {
        for interval in ["1s", "10s", "5m"] {
            let config = crate::config::parse(
                &format!(
                    "monitored_services:\n  - name: web\nlimits:\n  check_interval: {interval}\n"
                ),
                std::path::Path::new("config.yaml"),
            )
            .unwrap();
            // A beat late on top of the longest gap between two moves: still fresh.
            let oldest = crate::daemon::STAMP_EVERY + Duration::from_secs(10);
            assert!(oldest * 2 < stale_after(&config), "{interval}");
        }
    }

    #[test]
    fn a_paused_service_is_named_paused_with_the_end_of_its_pause_and_fails_nothing() {
        let dir = std::env::temp_dir().join(format!("mm-health-paused-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let dirs = Dirs::new(&dir);
        dirs.create().unwrap();
        std::fs::write(
            dirs.alive(),
            format!("{} {}\n", std::process::id(), now_ms()),
        )
        .unwrap();
        let config = crate::config::parse(
            "monitored_services:\n  - name: web\n  - name: db\n",
            std::path::Path::new("config.yaml"),
        )
        .unwrap();
        Control::new(&dir).pause(Some("db"), 4_102_444_800).unwrap();
        let a = assess(&config, &dirs);
        let db = a.services.iter().find(|s| s.name == "db").unwrap();
        assert_eq!(db.shown(), "paused (until 2100-01-01 00:00:00 UTC)");
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        let body = super::super::body::render("web1", &a, "", &[], 10_000);
        assert!(body.contains("1 paused"), "{body}");
        assert!(
            body.contains("  db: paused (until 2100-01-01 00:00:00 UTC)\n"),
            "{body}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_dead_daemon_s_saved_states_are_replaced_by_what_systemd_says() {
        let dir = std::env::temp_dir().join(format!("mm-health-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let dirs = Dirs::new(&dir);
        dirs.create().unwrap();
        std::fs::write(dirs.alive(), "999999999 0\n").unwrap();
        let config = crate::config::parse(
            "monitored_services:\n  - name: web\n  - name: db\n  - name: cache\n    critical: false\n",
            std::path::Path::new("config.yaml"),
        )
        .unwrap();
        let systemd = Table(vec![
            unit("loaded", "active", "running"),
            unit("loaded", "activating", "auto-restart"),
            unit("loaded", "active", "exited"),
        ]);
        let a = block_on(assess_with(&config, &dirs, &systemd));
        assert!(!a.vouched);
        assert_eq!(
            a.services
                .iter()
                .map(|s| s.state.as_str())
                .collect::<Vec<_>>(),
            ["up", "down", "up"]
        );
        assert!(
            a.problems[0].starts_with("miraclemax-self-heal is not running"),
            "{:?}",
            a.problems
        );
        assert_eq!(
            a.problems[1..],
            ["critical service db is down (ActiveState=activating, SubState=auto-restart)"]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_blind_daemon_fails_the_check_and_only_its_unseen_services_are_asked_of_systemd() {
        let dir = std::env::temp_dir().join(format!("mm-health-blind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let dirs = Dirs::new(&dir);
        dirs.create().unwrap();
        std::fs::write(dirs.alive(), format!("{} 0\n", std::process::id())).unwrap();
        let st = crate::state::State {
            blind_since_ms: Some(now_ms() - 61_000),
            blind_services: vec!["db".into()],
            blind_error: Some("LimitsExceeded".into()),
            ..Default::default()
        };
        dirs.save_state(&st).unwrap();
        let config = crate::config::parse(
            "monitored_services:\n  - name: web\n  - name: db\n",
            std::path::Path::new("config.yaml"),
        )
        .unwrap();

        /// Answers only for db.service, down.
        struct OnlyDb;
        impl UnitStates for OnlyDb {
            async fn states(&self, units: &[String]) -> Result<Vec<UnitState>, SystemctlError> {
                assert_eq!(units, ["db.service"], "only the unseen service is asked");
                Ok(vec![unit("loaded", "failed", "failed")])
            }
        }
        let a = block_on(assess_with(&config, &dirs, &OnlyDb));
        assert!(a.vouched);
        assert_eq!(
            a.problems,
            [
                "miraclemax-self-heal is blind: systemd has not answered about db for 1 minute 1 seconds (LimitsExceeded)",
                "critical service db is down (ActiveState=failed, SubState=failed)"
            ]
        );
        let states: Vec<(&str, bool)> = a
            .services
            .iter()
            .map(|s| (s.state.as_str(), s.own))
            .collect();
        assert_eq!(states, [("up", false), ("down", true)]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_channel_that_cannot_be_set_up_or_refused_for_half_an_hour_fails_the_check_by_name() {
        let dir = std::env::temp_dir().join(format!("mm-health-queues-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let dirs = Dirs::new(&dir);
        dirs.create().unwrap();
        let config = crate::config::parse(
            "monitored_services: []\nnotifications:\n  email: {smtp_host: localhost, from: a@b.c, to: [d@e.f]}\n  \
             channels:\n    - {type: ntfy, name: phone, url: 'https://ntfy.example', topic: t}\n    \
             - {type: slack, name: team, url: 'https://hooks.slack.example/services/x'}\n",
            std::path::Path::new("config.yaml"),
        )
        .unwrap();
        let team = crate::notify::queues::channel_dir(&dirs.outbox(), "team");
        std::fs::create_dir_all(&team).unwrap();
        let queued = crate::notify::outbox::Queued {
            format: crate::formats::CURRENT,
            id: "r1".into(),
            email: crate::notify::report::Email {
                subject: "s".into(),
                body: "b".into(),
            },
            about: Default::default(),
            created_ms: 1_000_000,
            attempts: 3,
            next_try_ms: 0,
            last_error: Some("503 Service Unavailable".into()),
        };
        std::fs::write(team.join("r1.json"), serde_json::to_vec(&queued).unwrap()).unwrap();
        let mut st = crate::state::State::default();
        let blocked = crate::state::MailBlocked {
            since_ms: 1_000_000,
            error: "channel 'phone': cannot set up HTTP: no TLS roots".into(),
        };
        st.channels_blocked.insert("phone".into(), blocked);

        let early = reports_stuck(&config, &st, &dirs, 1_000_000 + 29 * 60_000);
        assert_eq!(early.len(), 1, "{early:?}");
        assert!(
            early[0].starts_with(
                "reports cannot leave this host through channel 'phone' (ntfy): channel 'phone': \
                 cannot set up HTTP: no TLS roots (since "
            ) && early[0].ends_with("; 0 waiting in the outbox)"),
            "{early:?}"
        );
        let late = reports_stuck(&config, &st, &dirs, 1_000_000 + 31 * 60_000);
        assert_eq!(late.len(), 2, "{late:?}");
        assert!(
            late[1]
                .starts_with("1 report(s) waiting for channel 'team' (slack), the oldest for 31 ")
                && late[1].ends_with("(503 Service Unavailable)"),
            "{late:?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
