//! Logging to journald with structured fields. Every healing action is one entry with
//! SYSLOG_IDENTIFIER=miraclemax-self-heal and the fields SERVICE, EVENT, INCIDENT, STRATEGY and
//! RESULT, plus OBJECT_SYSTEMD_UNIT=<service>-self-heal.service, which is what makes
//! `journalctl -u <service>-self-heal` show one service's healing history.

use crate::config::Service;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Sends tracing events to journald when it is there, else (with `stderr_fallback`) to stderr.
/// Only our own events at info and above get through; libraries only when they warn. A program
/// run by cron passes false: cron mails whatever reaches stderr.
pub fn init(identifier: &str, stderr_fallback: bool) {
    let filter = || {
        Targets::new()
            .with_target("miraclemax", tracing::Level::INFO)
            .with_default(tracing::Level::WARN)
    };
    let journald = std::path::Path::new("/run/systemd/journal/socket")
        .exists()
        .then(|| tracing_journald::layer().ok())
        .flatten()
        .map(|l| {
            l.with_syslog_identifier(identifier.to_string())
                .with_field_prefix(None)
                .with_filter(filter())
        });
    let stderr = (journald.is_none() && stderr_fallback).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_filter(filter())
    });
    let _ = tracing_subscriber::registry()
        .with(journald)
        .with(stderr)
        .try_init();
}

/// One healing event, logged with the fields operators filter on.
pub fn event(
    svc: &Service,
    event: &str,
    incident: &str,
    strategy: Option<&str>,
    result: &str,
    message: &str,
) {
    let unit = format!("{}-self-heal.service", svc.name);
    tracing::info!(
        service = svc.name.as_str(),
        event,
        incident,
        strategy = strategy.unwrap_or(""),
        result,
        object_systemd_unit = unit.as_str(),
        "{}: {message}",
        svc.name
    );
}
