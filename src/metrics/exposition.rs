//! The Prometheus text exposition (format 0.0.4, what node_exporter's textfile collector
//! parses) of what the daemon knows: HELP and TYPE for every family, `miraclemax_` names in
//! base units (seconds), `_total` counters, one sample per service and label set, counters
//! present at 0 from the start so a rate over them needs no first incident. Pure: the figures
//! kept in memory and the daemon's state in, text out.

use super::{Figures, Histogram, OUTCOMES};
use crate::config::Config;
use crate::heal::machine::Phase;
use crate::state::State;
use std::fmt::Write;

/// The states of `miraclemax_service_state`, one of which is 1 for each service.
pub const STATES: [&str; 6] = ["healthy", "failing", "healing", "failed", "paused", "blind"];

pub fn render(config: &Config, state: &State, f: &Figures) -> String {
    let mut out = String::new();
    daemon_families(&mut out, config, state, f);
    service_families(&mut out, config, state, f);
    heal_families(&mut out, config, f);
    out
}

/// The daemon as a whole: up, started, watchdog, D-Bus sight, and the report queues.
fn daemon_families(o: &mut String, config: &Config, state: &State, f: &Figures) {
    family(
        o,
        "miraclemax_daemon_up",
        "gauge",
        "Whether miraclemax-self-heal is running (0 once it stopped in order).",
    );
    sample(o, "miraclemax_daemon_up", &[], bit(f.daemon_up));
    family(
        o,
        "miraclemax_daemon_start_time_seconds",
        "gauge",
        "When the running miraclemax-self-heal started, in seconds since the epoch.",
    );
    sample(
        o,
        "miraclemax_daemon_start_time_seconds",
        &[],
        state.daemon_started_ms as f64 / 1000.0,
    );
    family(
        o,
        "miraclemax_watchdog_fed",
        "gauge",
        "1 while every worker shows progress, so systemd's watchdog is fed; 0 while one is stuck.",
    );
    sample(o, "miraclemax_watchdog_fed", &[], bit(f.watchdog_fed));
    let blind = state.blind_services.len();
    family(
        o,
        "miraclemax_dbus_connected",
        "gauge",
        "1 while systemd answers over D-Bus about at least one watched service.",
    );
    let connected = config.services.is_empty() || blind < config.services.len();
    sample(o, "miraclemax_dbus_connected", &[], bit(connected));
    family(
        o,
        "miraclemax_blind_services",
        "gauge",
        "Watched services systemd does not answer about (the daemon heals none of them).",
    );
    sample(o, "miraclemax_blind_services", &[], blind as f64);
    let queues = crate::notify::queues::names(config);
    family(
        o,
        "miraclemax_reports_blocked",
        "gauge",
        "1 while reports cannot leave the host through a channel because it cannot be set up (channel=\"email\": email).",
    );
    for q in &queues {
        let blocked = state.blocked(q).is_some();
        sample(
            o,
            "miraclemax_reports_blocked",
            &[("channel", q)],
            bit(blocked),
        );
    }
    if let Some(depth) = &f.outbox_depth {
        family(
            o,
            "miraclemax_outbox_reports",
            "gauge",
            "Reports queued in the outbox, not yet accepted by their channel.",
        );
        for q in &queues {
            let n = depth.get(*q).copied().unwrap_or(0);
            sample(o, "miraclemax_outbox_reports", &[("channel", q)], n as f64);
        }
    }
}

/// Each service's state: up, healing state, breaker, probe time.
fn service_families(o: &mut String, config: &Config, state: &State, f: &Figures) {
    let all = |_: &str| true;
    per_service(
        o,
        config,
        "miraclemax_service_up",
        "gauge",
        "1 if the last look found the service healthy (unit active, port and HTTP probe answering).",
        all,
        |o, name| {
            if let Some(up) = f.services.get(name).and_then(|s| s.up) {
                sample(o, "miraclemax_service_up", &[("service", name)], bit(up));
            }
        },
    );
    per_service(
        o,
        config,
        "miraclemax_service_state",
        "gauge",
        "The service's healing state: 1 for the one it is in (healthy, failing, healing, failed, paused, blind).",
        all,
        |o, name| {
            let now = service_state(state, f, name);
            for s in STATES {
                let labels = [("service", name), ("state", s)];
                sample(o, "miraclemax_service_state", &labels, bit(s == now));
            }
        },
    );
    per_service(
        o,
        config,
        "miraclemax_breaker_open",
        "gauge",
        "1 while the circuit breaker leaves the service alone (too many heals in the window, or healing failed).",
        all,
        |o, name| {
            let open = matches!(phase(state, name), Phase::Failed { .. });
            sample(
                o,
                "miraclemax_breaker_open",
                &[("service", name)],
                bit(open),
            );
        },
    );
    per_service(
        o,
        config,
        "miraclemax_probe_duration_seconds",
        "gauge",
        "How long the last look at the service took (systemd's state, the port's owner, the HTTP probe).",
        |name| f.services.get(name).and_then(|s| s.probe_seconds).is_some(),
        |o, name| {
            let secs = f.services[name].probe_seconds.unwrap_or_default();
            sample(
                o,
                "miraclemax_probe_duration_seconds",
                &[("service", name)],
                secs,
            );
        },
    );
}

/// What healing did: incidents and attempts by outcome and strategy, and how long it took.
fn heal_families(o: &mut String, config: &Config, f: &Figures) {
    let all = |_: &str| true;
    per_service(
        o,
        config,
        "miraclemax_heals_total",
        "counter",
        "Incidents closed, by outcome (resolved, failed, flapping) and the strategy that resolved it (none otherwise).",
        all,
        |o, name| {
            let s = f.services.get(name);
            let svc = config.service(name).expect("configured");
            for outcome in OUTCOMES {
                let strategies: Vec<&str> = if outcome == "resolved" {
                    svc.healing_strategies.iter().map(|s| s.as_str()).collect()
                } else {
                    vec!["none"]
                };
                for strategy in strategies {
                    let n = s.map_or(0, |s| s.heals_of(outcome, strategy));
                    let labels = [
                        ("service", name),
                        ("outcome", outcome),
                        ("strategy", strategy),
                    ];
                    sample(o, "miraclemax_heals_total", &labels, n as f64);
                }
            }
        },
    );
    per_service(
        o,
        config,
        "miraclemax_heal_attempts_total",
        "counter",
        "Healing strategies run, by strategy and result (ok, failed).",
        all,
        |o, name| {
            let s = f.services.get(name);
            let svc = config.service(name).expect("configured");
            for strategy in svc.healing_strategies.iter().map(|s| s.as_str()) {
                for (result, ok) in [("ok", true), ("failed", false)] {
                    let n = s.map_or(0, |s| s.attempts_of(strategy, ok));
                    let labels = [
                        ("service", name),
                        ("strategy", strategy),
                        ("result", result),
                    ];
                    sample(o, "miraclemax_heal_attempts_total", &labels, n as f64);
                }
            }
        },
    );
    histogram(
        o,
        config,
        f,
        "miraclemax_detection_duration_seconds",
        "From the first look that found the service wrong to the decision to heal it.",
        |s| &s.detection,
    );
    histogram(
        o,
        config,
        f,
        "miraclemax_healing_duration_seconds",
        "From detection to the verified fix, for resolved incidents (the report's HEALING TIME).",
        |s| &s.healing,
    );
}

fn phase(state: &State, name: &str) -> Phase {
    state
        .services
        .get(name)
        .map(|s| s.machine.phase.clone())
        .unwrap_or_default()
}

fn service_state(state: &State, f: &Figures, name: &str) -> &'static str {
    if state.blind_services.iter().any(|s| s == name) {
        return "blind";
    }
    if f.services.get(name).is_some_and(|s| s.paused) {
        return "paused";
    }
    phase(state, name).name()
}

fn histogram(
    o: &mut String,
    config: &Config,
    f: &Figures,
    name: &str,
    help: &str,
    of: impl Fn(&super::ServiceFigures) -> &Histogram,
) {
    per_service(
        o,
        config,
        name,
        "histogram",
        help,
        |_| true,
        |o, svc| {
            let empty = Histogram::default();
            let h = f.services.get(svc).map_or(&empty, &of);
            let mut cumulative = 0;
            for (i, le) in super::BUCKETS.iter().enumerate() {
                cumulative += h.counts[i];
                let le = format!("{le:?}");
                let labels = [("service", svc), ("le", le.as_str())];
                sample(o, &format!("{name}_bucket"), &labels, cumulative as f64);
            }
            let labels = [("service", svc), ("le", "+Inf")];
            sample(o, &format!("{name}_bucket"), &labels, h.count as f64);
            sample(o, &format!("{name}_sum"), &[("service", svc)], h.sum);
            sample(
                o,
                &format!("{name}_count"),
                &[("service", svc)],
                h.count as f64,
            );
        },
    );
}

/// One family with a sample (or several) per configured service that `has` one.
fn per_service(
    o: &mut String,
    config: &Config,
    name: &str,
    kind: &str,
    help: &str,
    has: impl Fn(&str) -> bool,
    each: impl Fn(&mut String, &str),
) {
    let names: Vec<&str> = config
        .services
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| has(n))
        .collect();
    if names.is_empty() {
        return;
    }
    family(o, name, kind, help);
    for n in names {
        each(o, n);
    }
}

fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

fn sample(o: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    o.push_str(name);
    if !labels.is_empty() {
        o.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(o, "{k}=\"{}\"", escape(v));
        }
        o.push('}');
    }
    let _ = writeln!(o, " {value}");
}

/// A label value as the text format writes it: backslash, double quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn bit(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

#[cfg(test)]
mod tests;
