//! What the heartbeat can tell about this host without trusting the daemon's word alone: is
//! the self-healing daemon's process alive and its liveness stamp fresh (a wedged daemon stops
//! stamping), and is any critical service FAILED (healing gave up).

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
    /// For a FAILED service: why, for its own check's `/fail` body.
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Assessment {
    /// Reasons the server check must get `/fail`; empty means healthy.
    pub problems: Vec<String>,
    /// Whether the daemon is alive and looking, so its view of the services can be trusted.
    pub daemon_ok: bool,
    pub daemon: String,
    pub services: Vec<ServiceHealth>,
}

/// How old the daemon's stamp may be: three checks, and never less than a minute.
pub fn stale_after(config: &Config) -> Duration {
    (config.limits.check_interval * 3).max(Duration::from_secs(60))
}

pub fn assess(config: &Config, dirs: &Dirs) -> Assessment {
    let mut problems = Vec::new();
    let (daemon, daemon_ok) = match daemon_state(config, dirs) {
        Ok(s) => (s, true),
        Err(problem) => {
            problems.push(problem.clone());
            (problem, false)
        }
    };
    let state = match dirs.load_state() {
        Ok(s) => s,
        Err(e) => {
            problems.push(format!("cannot read the daemon's state: {e}"));
            Default::default()
        }
    };
    let control = Control::new(&dirs.root);
    let now_s = now_ms() / 1000;
    let mut services = Vec::new();
    for svc in &config.services {
        let saved = state.services.get(svc.name.as_str());
        let phase = saved.map(|s| s.machine.phase.clone()).unwrap_or_default();
        let paused = control.paused_until(svc.name.as_str(), now_s).is_some();
        let (label, reason) = match phase {
            _ if paused => ("paused", None),
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
        if svc.critical
            && let Some(r) = &reason
        {
            problems.push(format!("critical service {r}"));
        }
        services.push(ServiceHealth {
            name: svc.name.to_string(),
            state: label.into(),
            critical: svc.critical,
            reason,
        });
    }
    Assessment {
        problems,
        daemon_ok,
        daemon,
        services,
    }
}

/// Ok(description) when the daemon is alive and looking; Err(the problem) otherwise.
fn daemon_state(config: &Config, dirs: &Dirs) -> Result<String, String> {
    let stamp = std::fs::read_to_string(dirs.alive()).map_err(|_| {
        "miraclemax-self-heal has not run on this host (no liveness stamp)".to_string()
    })?;
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
    if !process_alive(pid) {
        return Err(format!(
            "miraclemax-self-heal is not running (last sign of life {} ago)",
            human(age)
        ));
    }
    let limit = stale_after(config);
    if age > limit {
        return Err(format!(
            "miraclemax-self-heal is wedged: pid {pid} has not checked anything for {} (limit {})",
            human(age),
            human(limit)
        ));
    }
    Ok(format!(
        "miraclemax-self-heal running (pid {pid}, last check {} ago)",
        human(age)
    ))
}

fn process_alive(pid: u32) -> bool {
    pid > 0
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").and_then(|(_, r)| r.chars().next()))
            .is_some_and(|state| state != 'Z')
}
