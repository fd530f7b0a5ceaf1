//! `miraclemax.stack.drill`: a fire drill for one watched service. It stops the unit the way an
//! operator or a crash would, waits for miraclemax-self-heal to detect, heal and verify it, and
//! reports how long that took, from the daemon's own incident record. It refuses to start when
//! healing could not happen (daemon down, service paused, breaker open, service already down),
//! and if healing does not come within `timeout` it starts the unit itself before failing, so a
//! drill never leaves a service down. Check mode reports what it would do and stops nothing.

use super::spec::{Default, Opt, Spec};
use super::{Args, ModuleError};
use miraclemax::config::Config;
use miraclemax::heal::incident::{Incident, Outcome};
use miraclemax::state::Dirs;
use miraclemax::status::{DAEMON_UNIT, Report};
use miraclemax::systemd::Systemd;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

const DEFAULT_TIMEOUT_SECS: i64 = 120;

/// What `plugins/modules/drill.yml` documents.
pub const SPEC: Spec = Spec {
    module: "drill",
    options: &[
        Opt::str("service").required(),
        Opt::int("timeout").default(Default::Int(DEFAULT_TIMEOUT_SECS)),
        Opt::path("config").default(Default::Str(miraclemax::config::DEFAULT_PATH)),
        Opt::path("state_dir").default(Default::Str(miraclemax::state::DEFAULT_DIR)),
    ],
};

pub fn run(args: &Args) -> Result<Map<String, Value>, ModuleError> {
    let args = &args.validate(&SPEC)?;
    let (path, dirs) = args.host_paths()?;
    // Required and defaulted in SPEC, so present once validated.
    let name = args.str("service")?.unwrap_or_default();
    let timeout = args.int("timeout")?.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(1..=3600).contains(&timeout) {
        return Err(ModuleError::refused(format!(
            "timeout {timeout} is out of range 1-3600 (seconds)"
        )));
    }
    let config = miraclemax::config::load(&path)?;
    if config.service(&name).is_none() {
        let watched: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
        return Err(ModuleError::refused(format!(
            "service '{name}' is not watched in {} (watched: {}): drill one of those, or add it \
             to monitored_services and deploy first",
            path.display(),
            if watched.is_empty() {
                "none".to_string()
            } else {
                watched.join(", ")
            }
        )));
    }
    let before = super::block_on(miraclemax::status::gather(&config, &dirs))?;
    let stale = miraclemax::heartbeat::health::stale_after(&config);
    let unit = ready(&before, &name, stale)?;
    reserve(&config, &dirs, &name)?;
    let mut out = Map::new();
    out.insert("service".into(), json!(name));
    out.insert("unit".into(), json!(unit));
    out.insert("changed".into(), json!(true));
    if args.check_mode() {
        out.insert(
            "msg".into(),
            json!(format!(
                "would stop {unit} and wait up to {timeout} s for miraclemax-self-heal to heal it"
            )),
        );
        return Ok(out);
    }
    let timeout = Duration::from_secs(timeout as u64);
    let healed = match super::block_on(drill(&config, &dirs, &name, timeout))? {
        Ok(h) => h,
        // The unit was stopped: the task changed the host, and failed.
        Err(Stopped(msg)) => {
            out.insert("failed".into(), json!(true));
            out.insert("msg".into(), json!(msg));
            return Ok(out);
        }
    };
    let secs = |d: Duration| (d.as_secs_f64() * 10.0).round() / 10.0;
    let daemon = healed.incident.healing_time().map(secs);
    out.insert(
        "msg".into(),
        json!(format!(
            "{unit} was stopped and miraclemax-self-heal healed it in {} s ({})",
            daemon.unwrap_or(secs(healed.downtime)),
            healed.incident.cause
        )),
    );
    out.insert("healing_time_secs".into(), json!(daemon));
    out.insert("downtime_secs".into(), json!(secs(healed.downtime)));
    out.insert("incident".into(), json!(healed.incident.id));
    out.insert(
        "root_cause".into(),
        json!(healed.incident.cause.to_string()),
    );
    out.insert("steps".into(), json!(healed.incident.steps));
    let email = email_outcome(&config, &dirs, &format!("{}-resolved", healed.incident.id));
    out.insert("email".into(), json!(email));
    Ok(out)
}

/// Whether the RESOLVED report reached the SMTP server: `sent`, `queued` (with the outbox's
/// last error, if any) after waiting a little for the daemon to send it, or `not configured`.
fn email_outcome(config: &Config, dirs: &Dirs, report: &str) -> String {
    if config.email.is_none() {
        return "not configured".into();
    }
    let outbox = dirs.outbox();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if outbox.join("sent").join(report).exists() {
            return "sent".into();
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let error = std::fs::read_to_string(outbox.join(format!("{report}.json")))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["last_error"].as_str().map(String::from));
    match error {
        Some(e) => format!("queued (last try: {e})"),
        None => "queued".into(),
    }
}

/// The unit to stop, once everything a heal needs is in place; otherwise why not.
fn ready(r: &Report, name: &str, stale: Duration) -> Result<String, ModuleError> {
    if r.daemon.active_state != "active" {
        return Err(ModuleError::refused(format!(
            "{DAEMON_UNIT} is {} on this host: nothing would heal {name}, so the drill did not \
             stop it. Start the daemon first (systemctl start {DAEMON_UNIT})",
            r.daemon.active_state
        )));
    }
    if r.daemon.last_alive_secs.is_none_or(|s| s > stale.as_secs()) {
        return Err(ModuleError::refused(format!(
            "{DAEMON_UNIT} is active but has not looked at its services for {}: it may be \
             stuck, so the drill did not stop {name}. See journalctl -u {DAEMON_UNIT}",
            r.daemon
                .last_alive_secs
                .map_or("ever".to_string(), |s| format!("{s} s"))
        )));
    }
    let s = r
        .services
        .iter()
        .find(|s| s.name == name)
        .expect("a configured service is in the report");
    if let Some(until) = &s.paused_until {
        return Err(ModuleError::refused(format!(
            "healing of {name} is paused until {until}: resume it first \
             (miraclemax-self-heal resume {name})"
        )));
    }
    if let Some(until) = &s.breaker_open_until {
        return Err(ModuleError::refused(format!(
            "the circuit breaker of {name} is open until {until}: reset it first \
             (miraclemax-self-heal reset {name})"
        )));
    }
    if s.active_state != "active" || s.healing != "healthy" {
        return Err(ModuleError::refused(format!(
            "{} is {} and its healing phase is {} before the drill: a drill needs a healthy \
             service (see miraclemax-status)",
            s.unit, s.active_state, s.healing
        )));
    }
    Ok(s.unit.clone())
}

/// Refuses a drill that would use the last heal the circuit breaker allows in its window, so a
/// real failure right after the drill is still healed.
fn reserve(config: &Config, dirs: &Dirs, name: &str) -> Result<(), ModuleError> {
    let limits = &config.limits;
    let now = miraclemax::heal::incident::now_ms() / 1000;
    let recent = dirs
        .load_state()
        .ok()
        .and_then(|s| s.services.get(name).cloned())
        .map_or(0, |s| {
            s.machine
                .heals
                .iter()
                .filter(|t| now.saturating_sub(**t) < limits.heal_window.as_secs())
                .count() as u32
        });
    if recent + 1 >= limits.heal_attempts.get() {
        return Err(ModuleError::refused(format!(
            "{name} was healed {recent} time(s) in the last {}; the breaker allows {} per \
             window, and a drill now would leave no heal for a real failure. Try again later",
            miraclemax::notify::report::human_window(limits.heal_window),
            limits.heal_attempts
        )));
    }
    Ok(())
}

/// Why a drill failed after it had stopped the unit.
struct Stopped(String);

struct Healed {
    incident: Incident,
    downtime: Duration,
}

async fn drill(
    config: &Config,
    dirs: &Dirs,
    name: &str,
    timeout: Duration,
) -> Result<Healed, Stopped> {
    let svc = config.service(name).expect("checked by the caller");
    let latest = |dirs: &Dirs| -> Option<Incident> {
        let state = dirs.load_state().ok()?;
        let s = state.services.get(name)?;
        s.open.clone().or_else(|| s.last.clone()).map(|i| *i)
    };
    let before = latest(dirs).map(|i| i.id);
    let sd = Systemd::connect()
        .await
        .map_err(|e| Stopped(format!("nothing was stopped: {e}")))?;
    let started = Instant::now();
    if let Err(e) = sd.stop(&svc.unit).await {
        let state = restore(&sd, svc).await;
        return Err(Stopped(format!(
            "stopping {} failed ({e}); it is now {state}",
            svc.unit
        )));
    }
    let mut healing = None;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(i) = latest(dirs).filter(|i| Some(&i.id) != before.as_ref()) {
            match i.outcome {
                Outcome::Open => healing = Some(i.id),
                Outcome::Resolved { .. } => {
                    return Ok(Healed {
                        incident: i,
                        downtime: started.elapsed(),
                    });
                }
                Outcome::Failed { .. } | Outcome::Flapping { .. } => {
                    let state = restore(&sd, svc).await;
                    return Err(Stopped(format!(
                        "miraclemax-self-heal could not heal {name} (incident {}, {}); the \
                         drill started {} itself and it is now {state}. See the FAILED email, \
                         miraclemax-status and journalctl -u {DAEMON_UNIT}",
                        i.id, i.cause, svc.unit
                    )));
                }
            }
        }
        if started.elapsed() >= timeout {
            // Starting the unit in the middle of the daemon's own heal would fight it.
            if let Some(id) = healing {
                return Err(Stopped(format!(
                    "{} is still being healed after {} s (incident {id} is open); the drill \
                     leaves it to miraclemax-self-heal. See miraclemax-status",
                    svc.unit,
                    timeout.as_secs()
                )));
            }
            let state = restore(&sd, svc).await;
            return Err(Stopped(format!(
                "{} was not healed within {} s of the drill stopping it; the drill started it \
                 itself and it is now {state}. See miraclemax-status and journalctl -u \
                 {DAEMON_UNIT}",
                svc.unit,
                timeout.as_secs()
            )));
        }
    }
}

/// Starts the unit the drill stopped; returns its state afterwards.
async fn restore(sd: &Systemd, svc: &miraclemax::config::Service) -> String {
    if sd.start(&svc.unit).await.is_ok() {
        let _ = sd.wait_active(&svc.unit, Duration::from_secs(30)).await;
    }
    sd.status(&svc.unit)
        .await
        .map(|s| s.active_state.to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}
