//! Renders an incident into the email the user's guide describes (RESOLVED or FAILED). The
//! templates ship in `templates/email/` and are built in; a file of the same name in the host's
//! template directory (/etc/miraclemax/templates) overrides one.

use crate::heal::incident::{Incident, Outcome, human};
use minijinja::{Environment, UndefinedBehavior, context};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

pub const TEMPLATE_DIR: &str = "/etc/miraclemax/templates";
const RESOLVED: &str = include_str!("../../templates/email/resolved.txt.j2");
const FAILED: &str = include_str!("../../templates/email/failed.txt.j2");

/// A rendered email, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

/// Where the report is from: the host's name and how a human reaches it.
pub struct Origin<'a> {
    pub host: &'a str,
    pub ssh_target: &'a str,
    pub heal_window: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    // The causes are in the messages, not chained, so each is printed once.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("email template {name}: {error}")]
    Template {
        name: String,
        error: minijinja::Error,
    },
    #[error(
        "email template {name}: the first line must be 'Subject: ...' followed by a blank line"
    )]
    NoSubject { name: String },
}

/// Renders the report for an incident: the host's own template when there is one in
/// `template_dir`, else the built-in one. A host template that fails to render is logged and the
/// built-in one is used, so a broken customisation never costs a report.
pub fn render(inc: &Incident, origin: &Origin, template_dir: &Path) -> Result<Email, ReportError> {
    let (name, builtin) = match inc.outcome {
        Outcome::Resolved { .. } => ("resolved.txt.j2", RESOLVED),
        _ => ("failed.txt.j2", FAILED),
    };
    match std::fs::read_to_string(template_dir.join(name)) {
        Ok(custom) => render_source(inc, origin, name, &custom).or_else(|e| {
            tracing::error!(
                "{}: {e}; sending the built-in report instead",
                template_dir.display()
            );
            render_source(inc, origin, name, builtin)
        }),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::error!(
                    "cannot read {}: {e}; sending the built-in report instead",
                    template_dir.join(name).display()
                );
            }
            render_source(inc, origin, name, builtin)
        }
    }
}

/// Checks an email template file before it is installed: it must render, with the first line
/// `Subject: ...`, for both a RESOLVED and a FAILED incident (every variable is defined in one
/// or the other only as the templates document).
pub fn check_template(path: &Path) -> Result<(), ReportError> {
    let source = std::fs::read_to_string(path).map_err(|error| ReportError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let name = path.display().to_string();
    let origin = Origin {
        host: "example-host",
        ssh_target: "root@example-host",
        heal_window: std::time::Duration::from_secs(900),
    };
    // Every shape a real incident takes: with and without domain, port, attempts and journal.
    let resolved = Outcome::Resolved {
        at_ms: 1_000_001_200,
        strategy: "port_conflict".into(),
    };
    let failed = Outcome::Failed {
        at_ms: 1_000_030_000,
    };
    let flapping = Outcome::Flapping {
        at_ms: 1_000_000_000,
        recent_heals: 3,
    };
    for (outcome, full) in [
        (resolved.clone(), true),
        (resolved, false),
        (failed.clone(), true),
        (failed, false),
        (flapping, false),
    ] {
        render_source(&sample(outcome, full), &origin, &name, &source)?;
    }
    Ok(())
}

fn sample(outcome: Outcome, full: bool) -> Incident {
    let some = |s: &str| full.then(|| s.to_string());
    let many = |s: &str| if full { vec![s.to_string()] } else { vec![] };
    Incident {
        id: "example-1000000000".into(),
        service: "example".into(),
        unit: "example.service".into(),
        domain: some("example.org"),
        port: full.then_some(8080),
        detected_at_ms: 1_000_000_000,
        detected: "Detected example was inactive".into(),
        cause: crate::heal::cause::Cause::Stopped,
        steps: many("Executed: systemctl restart example.service -> job failed after 0.6 s"),
        attempts: if full {
            vec![crate::heal::incident::Attempt {
                strategy: "service_restart".into(),
                ok: false,
                detail: "example.service did not become active: its restart job ended 'failed' \
                         (ActiveState=failed, Result=exit-code, ExecMainStatus=1)"
                    .into(),
            }]
        } else {
            vec![]
        },
        outcome,
        journal: many("example.service: Main process exited, code=exited, status=1"),
    }
}

fn render_source(
    inc: &Incident,
    origin: &Origin,
    name: &str,
    source: &str,
) -> Result<Email, ReportError> {
    let mut env = environment();
    let err = |error| ReportError::Template {
        name: name.into(),
        error,
    };
    env.add_template(name, source).map_err(err)?;

    let mut steps = vec![inc.detected.clone()];
    steps.extend(inc.steps.iter().cloned());
    let (strategy, recent_heals) = match &inc.outcome {
        Outcome::Resolved { strategy, .. } => (strategy.as_str(), 0),
        Outcome::Flapping { recent_heals, .. } => ("", *recent_heals),
        _ => ("", 0),
    };
    let mut manual = vec![
        format!("SSH to server: ssh {}", origin.ssh_target),
        format!("Check logs: journalctl -u {} -n 100", inc.unit),
        format!("Check status: systemctl status {}", inc.unit),
    ];
    if let Some(port) = inc.port {
        manual.push(format!(
            "See who holds its port: ss -ltnp 'sport = :{port}'"
        ));
    }
    manual.push(format!(
        "When it is fixed, let self-healing watch it again: miraclemax-self-heal reset {}",
        inc.service
    ));
    let until_ms = match inc.outcome {
        Outcome::Failed { at_ms } | Outcome::Flapping { at_ms, .. } => {
            at_ms + origin.heal_window.as_millis() as u64
        }
        _ => inc.detected_at_ms,
    };

    let text = env
        .get_template(name)
        .and_then(|t| {
            t.render(context! {
                id => &inc.id,
                service => &inc.service,
                unit => &inc.unit,
                domain => &inc.domain,
                port => inc.port,
                host => origin.host,
                ssh_target => origin.ssh_target,
                success => success_line(strategy),
                steps => steps,
                attempts => minijinja::value::Serde(&inc.attempts),
                cause => inc.cause.to_string(),
                healing_time => inc.healing_time().map(human).unwrap_or_default(),
                flapping => matches!(inc.outcome, Outcome::Flapping { .. }),
                recent_heals => recent_heals,
                window => human_window(origin.heal_window),
                until => utc(until_ms),
                manual => manual,
                journal => minijinja::value::Serde(&inc.journal),
            })
        })
        .map_err(err)?;
    split_subject(&text, name)
}

/// Renders a built-in template (a host check's, a certificate's report) with `ctx`.
pub(crate) fn render_builtin(
    name: &str,
    source: &str,
    ctx: minijinja::Value,
) -> Result<Email, ReportError> {
    let err = |error| ReportError::Template {
        name: name.into(),
        error,
    };
    let mut env = environment();
    env.add_template(name, source).map_err(err)?;
    let text = env
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(err)?;
    split_subject(&text, name)
}

/// The environment every report template renders in: undefined variables are errors, blocks
/// take their line with them, the last newline is kept.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("static syntax settings are valid"),
    );
    env
}

/// A rendered template's `Subject: ...` line and the body after the blank line.
pub(crate) fn split_subject(text: &str, name: &str) -> Result<Email, ReportError> {
    let (first, body) = text
        .split_once("\n\n")
        .ok_or(ReportError::NoSubject { name: name.into() })?;
    let subject = first
        .strip_prefix("Subject: ")
        .ok_or(ReportError::NoSubject { name: name.into() })?;
    Ok(Email {
        subject: subject.trim().to_string(),
        body: body.to_string(),
    })
}

fn success_line(strategy: &str) -> &'static str {
    match strategy {
        "port_conflict" => "Freed its port and restarted the service; it is now active",
        "reset_failed" => {
            "Cleared systemd's failed state and started the service; it is now active"
        }
        "dependency_restart" => {
            "Started its dependencies and restarted the service; it is now active"
        }
        "kill_hung" => "Killed the hung process and restarted the service; it is now active",
        _ => "Service restarted and is now active",
    }
}

pub fn human_window(d: Duration) -> String {
    let m = d.as_secs() / 60;
    if m == 1 && d.as_secs() == 60 {
        "1 minute".into()
    } else if m > 0 && d.as_secs().is_multiple_of(60) {
        format!("{m} minutes")
    } else {
        human(d)
    }
}

/// `2026-11-28 11:52:03 UTC` from unix milliseconds (civil-from-days, no time zone database).
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{human_window, utc};

    #[test]
    fn a_window_reads_in_words() {
        use std::time::Duration;
        assert_eq!(human_window(Duration::from_secs(60)), "1 minute");
        assert_eq!(human_window(Duration::from_secs(900)), "15 minutes");
    }

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_867_923_000), "2026-11-28 12:12:03 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
