//! A short human summary of a validated configuration, printed by `--check-config` so an
//! operator sees what the programs will act on, and which config.d fragments were merged.
//! Secrets appear redacted.

use crate::{Config, HealthTarget};
use std::fmt::Write;

pub fn config_summary(c: &Config) -> String {
    let mut out = String::new();
    if c.fragments.is_empty() {
        out.push_str("fragments: none\n");
    } else {
        let _ = writeln!(out, "fragments: {}", c.fragments.join(", "));
    }
    for note in &c.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out, "{} monitored service(s):", c.services.len());
    for s in &c.services {
        let strategies: Vec<&str> = s.healing_strategies.iter().map(|k| k.as_str()).collect();
        let _ = write!(out, "  {} ({})", s.name, s.unit);
        if let Some(p) = s.port {
            let _ = write!(out, " port {p}");
        }
        if let Some(d) = &s.domain {
            let _ = write!(out, " domain {d}");
        }
        if let Some(h) = &s.health {
            let port = s.port.map_or(0, |p| p.get());
            let _ = match &h.target {
                HealthTarget::Url(u) => write!(out, " health {u} -> {}", h.expected_status),
                HealthTarget::Path(p) => {
                    write!(out, " health 127.0.0.1:{port}{p} -> {}", h.expected_status)
                }
                // The program only: its arguments may hold a password.
                HealthTarget::Command(c) => match &c.user {
                    Some(u) => write!(out, " health command {} as {u}", c.program()),
                    None => write!(out, " health command {}", c.program()),
                },
            };
        }
        let crit = if s.critical {
            "critical"
        } else {
            "not critical"
        };
        let _ = writeln!(out, ", {crit}, strategies: {}", strategies.join(" > "));
    }
    match &c.email {
        Some(e) => {
            let _ = writeln!(
                out,
                "email: to {} via {}:{} ({})",
                e.to.join(", "),
                e.smtp_host,
                e.smtp_port,
                e.tls.as_str()
            );
        }
        None => out.push_str("email: off\n"),
    }
    for ch in &c.channels {
        let _ = writeln!(
            out,
            "channel {}: {} to {}",
            ch.name,
            ch.kind.type_name(),
            ch.kind.shown()
        );
    }
    match &c.heartbeat {
        Some(h) => {
            let _ = writeln!(
                out,
                "heartbeat: {} (+{} service check(s))",
                h.ping_url.redacted(),
                h.services.len()
            );
        }
        None => out.push_str("heartbeat: off\n"),
    }
    host_checks_line(&mut out, c.host_checks.as_ref());
    let l = &c.limits;
    let _ = writeln!(
        out,
        "limits: check every {:?}, act after {} failed probes, at most {} heals per {:?}",
        l.check_interval, l.failures_before_action, l.heal_attempts, l.heal_window
    );
    out
}

/// `host checks: disk /, disk /var, memory every 1m`, or off.
fn host_checks_line(out: &mut String, h: Option<&crate::HostChecks>) {
    let Some(h) = h else {
        out.push_str("host checks: off\n");
        return;
    };
    let mut parts: Vec<String> = h
        .disks
        .iter()
        .map(|d| format!("disk {}", d.path.display()))
        .collect();
    for (name, t) in [
        ("memory", h.memory),
        ("swap", h.swap),
        ("pressure", h.pressure),
    ] {
        if t.is_some() {
            parts.push(name.into());
        }
    }
    let _ = writeln!(
        out,
        "host checks: {} every {}",
        parts.join(", "),
        humantime::format_duration(h.interval)
    );
}
