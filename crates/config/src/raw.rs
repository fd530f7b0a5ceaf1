//! The configuration file exactly as written, before validation. Every field is optional and
//! every mapping keeps the keys it does not know, so that validation (not the YAML parser) can
//! say which service holds a typo or misses a field, and suggest the fix.

use super::scalar::{Argv, Flag, Secret, Span};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;

/// Keys a mapping did not recognise, kept to report them by name.
pub type Unknown = BTreeMap<String, IgnoredAny>;

#[derive(Debug, Default, Deserialize)]
pub struct RawConfig {
    pub host: Option<String>,
    pub ssh_target: Option<String>,
    pub monitored_services: Option<Vec<RawService>>,
    pub notifications: Option<RawNotifications>,
    pub heartbeat: Option<RawHeartbeat>,
    pub limits: Option<RawLimits>,
    pub protected_processes: Option<Vec<String>>,
    pub metrics: Option<super::metrics::RawMetrics>,
    pub host_checks: Option<super::host_checks::RawHostChecks>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawService {
    pub name: Option<String>,
    pub unit: Option<String>,
    pub port: Option<i64>,
    pub domain: Option<String>,
    pub health: Option<RawHealth>,
    pub critical: Option<Flag>,
    pub healing_strategies: Option<Vec<String>>,
    pub depends_on: Option<Vec<String>>,
    pub limits: Option<super::resources::RawResourceRules>,
    pub certificate: Option<super::certificate::RawCertificate>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawHealth {
    pub url: Option<String>,
    pub path: Option<String>,
    pub command: Option<Argv>,
    pub user: Option<String>,
    pub expected_status: Option<i64>,
    pub timeout: Option<Span>,
    pub ca_file: Option<String>,
    pub tls_verify: Option<Flag>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawNotifications {
    pub email: Option<RawEmail>,
    pub channels: Option<Vec<super::channels::RawChannel>>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawEmail {
    pub enabled: Option<Flag>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i64>,
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<String>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawHeartbeat {
    pub ping_url: Option<Secret>,
    pub services: Option<Vec<RawServicePing>>,
    pub timeout: Option<Span>,
    pub deadline: Option<Span>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawServicePing {
    pub name: Option<String>,
    pub ping_url: Option<Secret>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawLimits {
    pub check_interval: Option<Span>,
    pub failures_before_action: Option<i64>,
    pub heal_attempts: Option<i64>,
    pub heal_window: Option<Span>,
    pub probe_timeout: Option<Span>,
    pub start_timeout: Option<Span>,
    pub settle_time: Option<Span>,
    pub kill_grace: Option<Span>,
    pub max_concurrent_heals: Option<i64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// The keys each mapping accepts, for "did you mean" hints and the list in the message.
pub const TOP_KEYS: &[&str] = &[
    "host",
    "ssh_target",
    "monitored_services",
    "notifications",
    "heartbeat",
    "limits",
    "protected_processes",
    "metrics",
    "host_checks",
];
pub const SERVICE_KEYS: &[&str] = &[
    "name",
    "unit",
    "port",
    "domain",
    "health",
    "critical",
    "healing_strategies",
    "depends_on",
    "limits",
    "certificate",
];
pub const HEALTH_KEYS: &[&str] = &[
    "url",
    "path",
    "command",
    "user",
    "expected_status",
    "timeout",
    "ca_file",
    "tls_verify",
];
pub const NOTIFICATION_KEYS: &[&str] = &["email", "channels"];
pub const EMAIL_KEYS: &[&str] = &[
    "enabled",
    "smtp_host",
    "smtp_port",
    "tls",
    "username",
    "password_file",
    "from",
    "to",
];
pub const HEARTBEAT_KEYS: &[&str] = &["ping_url", "services", "timeout", "deadline"];
pub const SERVICE_PING_KEYS: &[&str] = &["name", "ping_url"];
pub const LIMIT_KEYS: &[&str] = &[
    "check_interval",
    "failures_before_action",
    "heal_attempts",
    "heal_window",
    "probe_timeout",
    "start_timeout",
    "settle_time",
    "kill_grace",
    "max_concurrent_heals",
];
